//! `lbd` as a library: the config parser, the daemon and the `ipvs` subcommand,
//! so that fuzz targets, tests and benches reach them without a process.

pub mod cli;
pub mod config;
pub mod daemon;
pub mod ipvs_cmd;
pub mod lvs;
pub mod ops;
pub mod plan_cmd;
pub mod track_value;

use clap::Parser;
use std::process::ExitCode;

/// Entry point shared by the binary.
pub fn run() -> ExitCode {
    let cli = cli::Cli::parse();
    if let Some(name) = &cli.signum {
        return match daemon::signals::signum(name) {
            Some(n) => {
                println!("{n}");
                ExitCode::SUCCESS
            }
            None => {
                eprintln!(
                    "lbd: unknown --signum '{name}': expected STOP, RELOAD, DATA, STATS, STATS_CLEAR or JSON"
                );
                ExitCode::FAILURE
            }
        };
    }
    match cli.command {
        Some(cli::Command::Ipvs(args)) => ipvs_cmd::main(args),
        Some(cli::Command::Status(args)) => ops::status_cmd::main(&args),
        Some(cli::Command::Plan(args)) => plan_cmd::main(&args),
        None if cli.daemon.config_test => config::check_main(&cli.daemon),
        None => daemon::main(&cli.daemon),
    }
}
