//! The running daemon: one mio loop driving vrrp-core, healthcheck and the kernel.

use crate::cli::DaemonArgs;
use std::process::ExitCode;

pub fn main(args: &DaemonArgs) -> ExitCode {
    eprintln!("daemon for {} is not built yet", args.config.display());
    ExitCode::FAILURE
}
