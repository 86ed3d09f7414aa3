//! `lbd ipvs`: ipvsadm's everyday verbs.

use clap::Args;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct IpvsArgs {}

pub fn main(_args: IpvsArgs) -> ExitCode {
    eprintln!("lbd ipvs is not built yet");
    ExitCode::FAILURE
}
