//! `lbd ipvs`: ipvsadm's everyday verbs over `ipvs-sys`, with ipvsadm's
//! output byte for byte (`list` == `ipvsadm -Ln`, `save` == `ipvsadm -Sn`)
//! and its option syntax for `add`/`edit`/`delete` and `restore`.
//!
//! Exit codes: 0 success, 1 the kernel refused or could not be reached,
//! 2 bad arguments or input (as ipvsadm's `fail(2, ...)`).

use clap::{Args, Subcommand};
use ipvs_sys::format::{self, ListOptions};
use ipvs_sys::rules::{self, RuleError};
use ipvs_sys::{Client, Request, ServiceKey};
use std::io::{Read, Write};
use std::process::ExitCode;
use std::time::Duration;

const RULE_HELP: &str = "\
ipvsadm's options, e.g.:
  service: -t|-u|--sctp-service ADDR:PORT | -f FWMARK [-6]
           [-s SCHEDULER] [-p [TIMEOUT]] [-M NETMASK] [--pe ENGINE] [-o] [-b FLAGS]
  server:  SERVICE -r ADDR[:PORT] [-g|-i|-m] [-w WEIGHT] [-x UPPER] [-y LOWER]
           [--tun-type ipip|gue|gre] [--tun-port PORT] [--tun-nocsum|--tun-csum|--tun-remcsum]
Addresses and ports are numeric; IPv6 as [2001:db8::1]:80.";

#[derive(Debug, Args)]
pub struct IpvsArgs {
    /// Seconds to wait for each reply from the kernel.
    #[arg(long, value_name = "SECS", default_value_t = 5, global = true)]
    pub reply_timeout: u64,
    #[command(subcommand)]
    pub command: IpvsCommand,
}

#[derive(Debug, Subcommand)]
pub enum IpvsCommand {
    /// Show the table, like `ipvsadm -Ln`.
    #[command(alias = "ls")]
    List(ListArgs),
    /// Print the table as rules, like `ipvsadm -Sn`.
    Save {
        /// Accepted for ipvsadm compatibility; output is always numeric.
        #[arg(short = 'n', long)]
        numeric: bool,
    },
    /// Apply rules in `ipvsadm -S` format read from stdin, in one batch.
    Restore,
    /// Add a virtual service, or a real server with -r.
    #[command(after_help = RULE_HELP)]
    Add(RuleArgs),
    /// Edit a virtual service, or a real server with -r.
    #[command(after_help = RULE_HELP)]
    Edit(RuleArgs),
    /// Delete a virtual service, or a real server with -r.
    #[command(after_help = RULE_HELP)]
    Delete(RuleArgs),
    /// Set the tcp, tcpfin and udp timeouts in seconds (0 = unchanged).
    Set {
        tcp: String,
        tcpfin: String,
        udp: String,
    },
    /// Zero the counters of every service, or of one (-t|-u|-f|--sctp-service).
    Zero(RuleArgs),
    /// Delete every virtual service (ipvsadm -C).
    Clear,
    /// Start a connection sync daemon: master|backup [--mcast-interface IF]
    /// [--syncid ID] [--sync-maxlen N] [--mcast-group IP] [--mcast-port P] [--mcast-ttl T].
    StartDaemon(RuleArgs),
    /// Stop a connection sync daemon: master|backup.
    StopDaemon(RuleArgs),
}

#[derive(Debug, Args)]
pub struct RuleArgs {
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        num_args = 0..,
        value_name = "OPTIONS"
    )]
    pub args: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Accepted for ipvsadm compatibility; output is always numeric.
    #[arg(short = 'n', long)]
    pub numeric: bool,
    /// Counters: connections, packets and bytes.
    #[arg(long)]
    pub stats: bool,
    /// Rates: connections, packets and bytes per second.
    #[arg(long)]
    pub rate: bool,
    /// Upper/lower connection thresholds.
    #[arg(long)]
    pub thresholds: bool,
    /// Persistent connection counts.
    #[arg(long)]
    pub persistent_conn: bool,
    /// Tunnel type, port and checksum options.
    #[arg(long)]
    pub tun_info: bool,
    /// Exact numbers instead of K/M/G/T.
    #[arg(long)]
    pub exact: bool,
    /// Kernel order instead of sorted.
    #[arg(long)]
    pub nosort: bool,
    /// Sorted output (the default; for compatibility).
    #[arg(long)]
    pub sort: bool,
    /// Show the connection timeouts instead.
    #[arg(long)]
    pub timeout: bool,
    /// Show the sync daemons instead.
    #[arg(long)]
    pub daemon: bool,
    /// Only this TCP service.
    #[arg(short = 't', long = "tcp-service", value_name = "ADDR:PORT")]
    pub tcp: Option<String>,
    /// Only this UDP service.
    #[arg(short = 'u', long = "udp-service", value_name = "ADDR:PORT")]
    pub udp: Option<String>,
    /// Only this SCTP service.
    #[arg(long = "sctp-service", value_name = "ADDR:PORT")]
    pub sctp: Option<String>,
    /// Only this firewall-mark service.
    #[arg(short = 'f', long = "fwmark-service", value_name = "MARK")]
    pub fwmark: Option<String>,
    /// The fwmark service is IPv6.
    #[arg(short = '6', long = "ipv6", requires = "fwmark")]
    pub ipv6: bool,
}

/// A failure and the exit code it maps to.
enum Failure {
    Usage(String),
    Kernel(String),
}

impl From<ipvs_sys::Error> for Failure {
    fn from(e: ipvs_sys::Error) -> Self {
        Failure::Kernel(e.to_string())
    }
}

impl From<RuleError> for Failure {
    fn from(e: RuleError) -> Self {
        Failure::Usage(e.to_string())
    }
}

pub fn main(args: IpvsArgs) -> ExitCode {
    let timeout = Duration::from_secs(args.reply_timeout.max(1));
    match run(args.command, timeout) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(m)) => {
            eprintln!("lbd ipvs: {m}");
            ExitCode::from(2)
        }
        Err(Failure::Kernel(m)) => {
            eprintln!("lbd ipvs: {m}");
            ExitCode::from(1)
        }
    }
}

fn connect(timeout: Duration) -> Result<Client, Failure> {
    Ok(Client::with_timeout(timeout)?)
}

fn print(text: &str) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|_| out.flush())
        .map_err(|e| Failure::Kernel(format!("writing output: {e}")))
}

/// `add`/`edit`/`delete`: the service command, or the server one with -r.
fn with_command(service_cmd: &str, server_cmd: &str, args: &[String]) -> Vec<String> {
    let server = args.iter().any(|a| a == "-r" || a == "--real-server");
    let mut v = vec![if server { server_cmd } else { service_cmd }.to_owned()];
    v.extend(args.iter().cloned());
    v
}

fn run(cmd: IpvsCommand, timeout: Duration) -> Result<(), Failure> {
    let one = |argv: Vec<String>| -> Result<(), Failure> {
        let req = rules::parse_rule(&argv)?;
        connect(timeout)?.execute(&req)?;
        Ok(())
    };
    match cmd {
        IpvsCommand::List(l) => list(l, timeout),
        IpvsCommand::Save { .. } => {
            let table = connect(timeout)?.table()?;
            print(&format::save(&table))
        }
        IpvsCommand::Restore => restore(timeout),
        IpvsCommand::Add(a) => one(with_command("-A", "-a", &a.args)),
        IpvsCommand::Edit(a) => one(with_command("-E", "-e", &a.args)),
        IpvsCommand::Delete(a) => one(with_command("-D", "-d", &a.args)),
        IpvsCommand::Set { tcp, tcpfin, udp } => one(vec!["--set".into(), tcp, tcpfin, udp]),
        IpvsCommand::Zero(a) => one(with_command("-Z", "-Z", &a.args)),
        IpvsCommand::Clear => {
            connect(timeout)?.flush()?;
            Ok(())
        }
        IpvsCommand::StartDaemon(a) => {
            one(with_command("--start-daemon", "--start-daemon", &a.args))
        }
        IpvsCommand::StopDaemon(a) => one(with_command("--stop-daemon", "--stop-daemon", &a.args)),
    }
}

fn list(l: ListArgs, timeout: Duration) -> Result<(), Failure> {
    if (l.timeout || l.daemon) && (l.stats || l.rate || l.thresholds || l.persistent_conn) {
        return Err(Failure::Usage(
            "options conflicts in the list command".into(),
        ));
    }
    let opts = ListOptions {
        stats: l.stats,
        rate: l.rate,
        thresholds: l.thresholds,
        persistent_conn: l.persistent_conn,
        tun_info: l.tun_info,
        exact: l.exact,
        nosort: l.nosort,
    };
    let key: Option<ServiceKey> = match (&l.tcp, &l.udp, &l.sctp, &l.fwmark) {
        (None, None, None, None) => None,
        (Some(s), None, None, None) => Some(rules::parse_inet_service(ipvs_sys::Protocol::Tcp, s)?),
        (None, Some(s), None, None) => Some(rules::parse_inet_service(ipvs_sys::Protocol::Udp, s)?),
        (None, None, Some(s), None) => {
            Some(rules::parse_inet_service(ipvs_sys::Protocol::Sctp, s)?)
        }
        (None, None, None, Some(s)) => Some(rules::parse_fwmark(s, l.ipv6)?),
        _ => return Err(Failure::Usage("give at most one service to list".into())),
    };
    let mut c = connect(timeout)?;
    if let Some(key) = key {
        let entry = c.service(key)?;
        let dests = c.dests(key)?;
        return print(&format::list_service(
            &ipvs_sys::VirtualServer { entry, dests },
            &opts,
        ));
    }
    if l.timeout {
        return print(&format::timeouts(&c.timeouts()?));
    }
    if l.daemon {
        return print(&format::daemons(&c.daemons()?));
    }
    let info = c.info()?;
    let table = c.table()?;
    print(&format::list(&info, &table, &opts))
}

fn restore(timeout: Duration) -> Result<(), Failure> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| Failure::Usage(format!("reading stdin: {e}")))?;
    let parsed = rules::parse_rules(&text)
        .map_err(|(line, e)| Failure::Usage(format!("line {line}: {e}")))?;
    let (lines, reqs): (Vec<usize>, Vec<Request>) = parsed.into_iter().unzip();
    let report = connect(timeout)?.apply(&reqs)?;
    if report.failures.is_empty() {
        return Ok(());
    }
    let mut msg = String::new();
    for (i, e) in &report.failures {
        msg.push_str(&format!("line {}: {e}\n", lines[*i]));
    }
    msg.push_str(&format!(
        "{} of {} rules failed",
        report.failures.len(),
        reqs.len()
    ));
    Err(Failure::Kernel(msg))
}
