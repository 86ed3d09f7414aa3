//! keepalived.conf: lexer, parser, typed model, diagnostics.

use crate::cli::DaemonArgs;
use std::process::ExitCode;

/// `lbd -t -f FILE`.
pub fn check_main(args: &DaemonArgs) -> ExitCode {
    eprintln!("config check of {} is not built yet", args.config.display());
    ExitCode::FAILURE
}
