//! Command line: keepalived's daemon flags (so existing unit files work) plus subcommands.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Default configuration path, as keepalived's.
pub const DEFAULT_CONFIG: &str = "/etc/keepalived/keepalived.conf";

#[derive(Debug, Parser)]
#[command(
    name = "lbd",
    version,
    about = "keepalived.conf-compatible VRRP + IPVS daemon"
)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Cli {
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
