//! The running daemon: one mio loop driving vrrp-core and the kernel.
//!
//! * [`plan`]: configuration model -> what to run (interfaces and addresses resolved).
//! * [`runtime`]: the loop; applies the engines' events (VIPs, announcements, scripts).
//! * [`unit`]: a sync group or a lone router behind one interface.
//! * [`virtual_servers`]: health checks driving IPVS (adopt, apply, reload, stop).
//! * [`tracking`], [`timers`], [`signals`], [`drops`], [`logmsg`], [`dump`]: its parts.
//! * [`sys`]: sockets, netlink, scripts, files.

pub mod drops;
pub mod dump;
pub mod logging;
pub mod logmsg;
pub mod pidfile;
pub mod plan;
pub mod runtime;
pub mod script_user;
pub mod signals;
pub mod smtp_alert;
pub mod sys;
pub mod timers;
pub mod tracking;
pub mod unit;
pub mod virtual_servers;

use std::path::PathBuf;
use std::process::ExitCode;

use crate::cli::DaemonArgs;

pub fn main(args: &DaemonArgs) -> ExitCode {
    let sink = if args.log_console {
        logging::Sink::Console
    } else {
        logging::Sink::Syslog
    };
    logging::init(sink, args.log_detail);
    tracing::info!("Starting lbd {} (VRRP)", env!("CARGO_PKG_VERSION"));
    raise_nofile_limit();
    let options = crate::config::LoadOptions::default();
    let (mut loaded, source) = match crate::config::load_tracked(&args.config, &options) {
        Ok(l) => l,
        Err(e) => {
            if let crate::config::ConfigError::Invalid { diagnostics } = &e {
                for d in diagnostics {
                    tracing::error!("{d}");
                }
            }
            tracing::error!("{e}; not starting");
            return ExitCode::FAILURE;
        }
    };
    for w in &loaded.warnings {
        tracing::warn!("{w}");
    }
    for w in default_script_user(&mut loaded.config) {
        tracing::warn!("{w}");
    }
    tracing::info!("Configuration file {}", args.config.display());
    if let Some(mask) = args.umask {
        // SAFETY: umask(2) cannot fail.
        unsafe { libc::umask(mask as libc::mode_t) };
    }
    for (flag, file) in [
        ("--vrrp_pid", &args.vrrp_pid),
        ("--checkers_pid", &args.checkers_pid),
    ] {
        if let Some(f) = file {
            tracing::warn!(
                "{flag} {}: ignored, lbd is one process (its pid file is -p)",
                f.display()
            );
        }
    }
    if !args.dont_fork {
        // Buffered lines would otherwise go with the parent, or to the child's /dev/null.
        logging::flush();
        if let Err(e) = daemonize() {
            tracing::error!("cannot go to the background: {e}");
            return ExitCode::FAILURE;
        }
    }
    let pid_path = args
        .pid_file
        .clone()
        .unwrap_or_else(|| PathBuf::from(pidfile::DEFAULT_PID_FILE));
    let _pid_file = match pidfile::PidFile::create(&pid_path) {
        Ok(p) => p,
        Err(e) => {
            tracing::error!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let ops = crate::ops::OpsOptions {
        metrics: args.metrics,
        status_socket: args.status_socket.clone(),
    };
    let result = runtime::Runtime::new(args.config.clone(), loaded.config, Some(source)).and_then(
        |mut rt| {
            rt.open_ops(&ops).map_err(std::io::Error::other)?;
            if args.dont_release_vrrp {
                rt.keep_vrrp_on_stop();
            }
            if args.check_only {
                rt.disable_vrrp();
            }
            if !args.vrrp_only {
                rt.open_virtual_servers(args.remove_ipvs_on_stop)
                    .map_err(std::io::Error::other)?;
            }
            rt.run()
        },
    );
    let code = match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("fatal: {e}");
            ExitCode::FAILURE
        }
    };
    logging::flush();
    code
}

/// keepalived's `keepalived_script` default for scripts that name no user; its warnings.
pub fn default_script_user(cfg: &mut crate::config::Config) -> Vec<String> {
    let needs = script_user::Needs::of(cfg);
    default_script_user_with(cfg, &needs)
}

/// [`default_script_user`] with the virtual servers' part already known
/// ([`script_user::Needs`], kept by the runtime across in-place reloads).
pub fn default_script_user_with(
    cfg: &mut crate::config::Config,
    needs: &script_user::Needs,
) -> Vec<String> {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    script_user::apply_with(
        cfg,
        root,
        |u| sys::Credentials::lookup(u, None).is_ok(),
        needs,
    )
}

/// Every health check in flight holds a socket: 40,000 checkers whose servers time out need
/// thousands at once, far past the usual soft limit of 1,024 (systemd's default), and a check
/// failing with EMFILE would take a healthy server out. So the soft limit goes up to the hard
/// one, which stays the operator's (`LimitNOFILE=`); keepalived raises its own limit too.
fn raise_nofile_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct it is given.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0
        || lim.rlim_cur >= lim.rlim_max
    {
        return;
    }
    let soft = lim.rlim_cur;
    lim.rlim_cur = lim.rlim_max;
    // SAFETY: setrlimit only reads the struct; raising the soft limit up to the hard one is
    // always allowed.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } == 0 {
        tracing::debug!("open files limit raised from {soft} to {}", lim.rlim_max);
    } else {
        tracing::warn!(
            "cannot raise the open files limit from {soft}: {}",
            std::io::Error::last_os_error()
        );
    }
}

/// keepalived's default: detach from the terminal (fork, new session, stdio to /dev/null).
/// Done before any socket or thread exists.
fn daemonize() -> std::io::Result<()> {
    // SAFETY: single-threaded at this point; the parent only exits.
    match unsafe { libc::fork() } {
        -1 => return Err(std::io::Error::last_os_error()),
        0 => {}
        _ => std::process::exit(0),
    }
    // SAFETY: plain syscalls in the child.
    unsafe {
        if libc::setsid() == -1 {
            return Err(std::io::Error::last_os_error());
        }
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        if null >= 0 {
            libc::dup2(null, 0);
            libc::dup2(null, 1);
            libc::dup2(null, 2);
            if null > 2 {
                libc::close(null);
            }
        }
    }
    std::env::set_current_dir("/")
}
