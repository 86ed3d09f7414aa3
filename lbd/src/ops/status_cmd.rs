//! `lbd status [--json] [--socket PATH]`: asks the running daemon and prints its answer.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::SystemTime;

use clap::Args;

use super::control::{self, ClientError};
use super::status::unix_ms;

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print the daemon's answer as JSON (one document).
    #[arg(long)]
    pub json: bool,
    /// The daemon's status socket.
    #[arg(long, value_name = "PATH", default_value = control::DEFAULT_PATH)]
    pub socket: PathBuf,
}

pub fn main(args: &StatusArgs) -> ExitCode {
    let status = match control::query(&args.socket) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("lbd status: {e}");
            return match e {
                ClientError::NoDaemon(_) | ClientError::PermissionDenied(_) => ExitCode::FAILURE,
                ClientError::Io { .. } | ClientError::BadAnswer(_) => ExitCode::from(2),
            };
        }
    };
    if args.json {
        match serde_json::to_string_pretty(&status) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                eprintln!("lbd status: {e}");
                return ExitCode::from(2);
            }
        }
    } else {
        print!("{}", status.render_text(unix_ms(SystemTime::now())));
    }
    ExitCode::SUCCESS
}
