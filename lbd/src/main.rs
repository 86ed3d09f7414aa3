//! `lbd`: a keepalived.conf drop-in that runs VRRP and IPVS.

fn main() -> std::process::ExitCode {
    lbd::run()
}
