//! `lbd`: a keepalived.conf drop-in that runs VRRP and IPVS.
//!
//! The binary is three tools in one, dispatched by [`cli::Cli`]:
//! the daemon (keepalived's flags), `lbd ipvs` (ipvsadm's everyday verbs)
//! and operator helpers (`plan`, `status`).

mod cli;
mod config;
mod daemon;
mod ipvs_cmd;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match cli.command {
        Some(cli::Command::Ipvs(args)) => ipvs_cmd::main(args),
        None if cli.daemon.config_test => config::check_main(&cli.daemon),
        None => daemon::main(&cli.daemon),
    }
}
