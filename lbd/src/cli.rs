//! Command line: keepalived's daemon flags (so existing unit files work) plus subcommands.

use clap::{ArgAction, Args, Parser, Subcommand};
use std::path::PathBuf;

/// Default configuration path, as keepalived's.
pub const DEFAULT_CONFIG: &str = "/etc/keepalived/keepalived.conf";

#[derive(Debug, Parser)]
#[command(
    name = "lbd",
    version,
    about = "keepalived.conf-compatible VRRP + IPVS daemon",
    // keepalived's `-V` is --dont-release-vrrp, so the version is `-v` as in keepalived.
    disable_version_flag = true
)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// Print the version and exit.
    #[arg(short = 'v', long = "version", action = ArgAction::Version)]
    pub version: Option<bool>,
    /// Print the signal number keepalived uses for STOP, RELOAD, DATA, STATS, STATS_CLEAR or
    /// JSON (lbd answers to the same signals) and exit.
    #[arg(long = "signum", value_name = "SIGFUNC")]
    pub signum: Option<String>,
    #[command(flatten)]
    pub daemon: DaemonArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// keepalived's flags, same letters and long names.
#[derive(Debug, Args, Clone)]
pub struct DaemonArgs {
    /// Configuration file.
    #[arg(short = 'f', long = "use-file", value_name = "FILE", default_value = DEFAULT_CONFIG)]
    pub config: PathBuf,
    /// Check the configuration and exit (non-zero on errors).
    #[arg(short = 't', long = "config-test")]
    pub config_test: bool,
    /// Stay in the foreground.
    #[arg(short = 'n', long = "dont-fork")]
    pub dont_fork: bool,
    /// Log to the console (stderr).
    #[arg(short = 'l', long = "log-console")]
    pub log_console: bool,
    /// Detailed log messages.
    #[arg(short = 'D', long = "log-detail")]
    pub log_detail: bool,
    /// Syslog facility (0-7, local0..local7); accepted for compatibility.
    #[arg(short = 'S', long = "log-facility", value_name = "N")]
    pub log_facility: Option<String>,
    /// PID file.
    #[arg(short = 'p', long = "pid", value_name = "FILE")]
    pub pid_file: Option<PathBuf>,
    /// Run only the VRRP side.
    #[arg(short = 'P', long = "vrrp")]
    pub vrrp_only: bool,
    /// Run only the health-check / IPVS side.
    #[arg(short = 'C', long = "check")]
    pub check_only: bool,
    /// On stop, remove the virtual servers from IPVS (keepalived's behaviour). By default
    /// they stay, so a restarted daemon adopts them without dropping a connection.
    #[arg(long = "remove-ipvs-on-stop")]
    pub remove_ipvs_on_stop: bool,
    /// keepalived's --dont-release-vrrp: on stop, leave the VIPs in place and send no
    /// priority-0 advert (for a restart that must not move the VIPs; the next lbd adopts them).
    #[arg(short = 'V', long = "dont-release-vrrp")]
    pub dont_release_vrrp: bool,
    /// keepalived's --dont-release-ipvs. lbd leaves IPVS in place on stop by default; accepted so
    /// keepalived command lines work, and refused together with --remove-ipvs-on-stop.
    #[arg(
        short = 'I',
        long = "dont-release-ipvs",
        conflicts_with = "remove_ipvs_on_stop"
    )]
    pub dont_release_ipvs: bool,
    /// File-creation mask (numeric, e.g. 0077), as keepalived's --umask.
    #[arg(short = 'u', long = "umask", value_name = "MASK", value_parser = parse_umask)]
    pub umask: Option<u32>,
    /// keepalived's flags that have nothing to do in lbd's single process (no child processes to
    /// respawn, no BFD, no separate syslog switch): accepted so existing unit files start.
    #[arg(short = 'R', long = "dont-respawn")]
    pub dont_respawn: bool,
    #[arg(short = 'B', long = "no_bfd")]
    pub no_bfd: bool,
    #[arg(short = 'G', long = "no-syslog")]
    pub no_syslog: bool,
    #[arg(long = "all")]
    pub all: bool,
    /// keepalived's per-child pid files: lbd is one process, whose pid file is `-p`. Accepted
    /// with a warning so keepalived command lines keep working.
    #[arg(short = 'r', long = "vrrp_pid", value_name = "FILE")]
    pub vrrp_pid: Option<PathBuf>,
    #[arg(short = 'c', long = "checkers_pid", value_name = "FILE")]
    pub checkers_pid: Option<PathBuf>,
    /// Serve Prometheus metrics on ADDR:PORT (`/metrics`); off by default.
    #[arg(long = "metrics", value_name = "ADDR:PORT")]
    pub metrics: Option<std::net::SocketAddr>,
    /// Unix socket `lbd status` talks to (root only, 0600).
    #[arg(long = "status-socket", value_name = "PATH", default_value = crate::ops::control::DEFAULT_PATH)]
    pub status_socket: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// ipvsadm's everyday verbs over ipvs-sys.
    Ipvs(crate::ipvs_cmd::IpvsArgs),
    /// Ask the running daemon for its state (VRRP instances, priorities, masters).
    Status(crate::ops::status_cmd::StatusArgs),
    /// Print what a reload to a new configuration would change in IPVS and in addresses.
    Plan(crate::plan_cmd::PlanArgs),
}

/// keepalived reads the mask with strtoul(.., 0): `0077` is octal, `63` decimal, `0x3f` hex.
fn parse_umask(s: &str) -> Result<u32, String> {
    let parsed = if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u32::from_str_radix(hex, 16)
    } else if s.len() > 1 && s.starts_with('0') {
        u32::from_str_radix(&s[1..], 8)
    } else {
        s.parse()
    };
    match parsed {
        Ok(m) if m <= 0o777 => Ok(m),
        _ => Err(format!(
            "expected a file mode mask between 0 and 0777 (e.g. 0077), got '{s}'"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keepalived_command_lines_parse() {
        let cli = Cli::try_parse_from([
            "lbd",
            "--dont-fork",
            "-V",
            "-I",
            "-R",
            "-G",
            "-u",
            "0077",
            "-r",
            "/run/v.pid",
        ])
        .unwrap();
        assert!(cli.daemon.dont_release_vrrp && cli.daemon.dont_release_ipvs);
        assert_eq!(cli.daemon.umask, Some(0o77));
        assert!(Cli::try_parse_from(["lbd", "-I", "--remove-ipvs-on-stop"]).is_err());
        assert!(Cli::try_parse_from(["lbd", "-u", "0999"]).is_err());
        let v = Cli::try_parse_from(["lbd", "-v"]).unwrap_err();
        assert_eq!(v.kind(), clap::error::ErrorKind::DisplayVersion);
    }

    #[test]
    fn umask_bases() {
        assert_eq!(parse_umask("0x3f"), Ok(0o77));
        assert_eq!(parse_umask("63"), Ok(0o77));
        assert_eq!(parse_umask("0"), Ok(0));
        assert!(parse_umask("abc").is_err());
    }
}
