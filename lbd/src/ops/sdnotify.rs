//! systemd's notify protocol (`sd_notify(3)`): datagrams like `READY=1` to `$NOTIFY_SOCKET`,
//! and the watchdog (`WATCHDOG=1` every half of `$WATCHDOG_USEC`), sent from the event loop so
//! that a wedged loop stops the pings and systemd restarts us.
//!
//! Written directly on a non-blocking Unix datagram socket: a few lines, and the loop can never
//! block on systemd.

use std::ffi::OsString;
use std::io;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::{Duration, Instant};

/// Where and how often to notify, read once from the environment.
#[derive(Debug)]
pub struct Notifier {
    sock: UnixDatagram,
    addr: SocketAddr,
    watchdog: Option<Watchdog>,
}

#[derive(Debug, Clone, Copy)]
struct Watchdog {
    every: Duration,
    next: Instant,
}

impl Notifier {
    /// `None` when not started by systemd (no `$NOTIFY_SOCKET`). The variables are removed
    /// from the environment so that scripts we spawn do not inherit them and talk to systemd
    /// in our name.
    pub fn from_env(now: Instant) -> Option<Self> {
        let path = std::env::var_os("NOTIFY_SOCKET")?;
        let usec = std::env::var("WATCHDOG_USEC").ok();
        let wd_pid = std::env::var("WATCHDOG_PID").ok();
        // SAFETY (of the edition-2024 kind): the daemon is single-threaded when this runs.
        std::env::remove_var("NOTIFY_SOCKET");
        std::env::remove_var("WATCHDOG_USEC");
        std::env::remove_var("WATCHDOG_PID");
        let addr = match socket_addr(&path) {
            Ok(a) => a,
            Err(e) => {
                tracing::error!("NOTIFY_SOCKET {path:?}: {e}; not notifying systemd");
                return None;
            }
        };
        let sock = match UnixDatagram::unbound().and_then(|s| {
            s.set_nonblocking(true)?;
            Ok(s)
        }) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!("notify socket: {e}; not notifying systemd");
                return None;
            }
        };
        let every = watchdog_interval(usec.as_deref(), wd_pid.as_deref(), std::process::id());
        Some(Self {
            sock,
            addr,
            watchdog: every.map(|every| Watchdog {
                every,
                next: now + every,
            }),
        })
    }

    /// Sends one message (newline-separated `KEY=VALUE` assignments).
    pub fn send(&self, msg: &str) {
        if let Err(e) = self.sock.send_to_addr(msg.as_bytes(), &self.addr) {
            tracing::debug!("sd_notify {msg:?}: {e}");
        }
    }

    pub fn ready(&self, status: &str) {
        self.send(&format!("READY=1\nSTATUS={status}"));
    }

    /// `RELOADING=1` with the monotonic timestamp systemd ≥ 253 wants.
    pub fn reloading(&self) {
        self.send(&format!("RELOADING=1\nMONOTONIC_USEC={}", monotonic_usec()));
    }

    pub fn stopping(&self) {
        self.send("STOPPING=1");
    }

    /// When the next watchdog ping is due.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.watchdog.map(|w| w.next)
    }

    /// Pings the watchdog if due.
    pub fn on_timer(&mut self, now: Instant) {
        let Some(w) = self.watchdog.as_mut() else {
            return;
        };
        if now < w.next {
            return;
        }
        // From now, not from the missed deadline: no burst after a stall.
        w.next = now + w.every;
        self.send("WATCHDOG=1");
    }
}

/// Half of `WATCHDOG_USEC`, if it is meant for us (`WATCHDOG_PID` absent or ours).
fn watchdog_interval(usec: Option<&str>, pid: Option<&str>, ours: u32) -> Option<Duration> {
    if let Some(pid) = pid {
        if pid.trim().parse::<u32>().ok() != Some(ours) {
            return None;
        }
    }
    let usec: u64 = usec?.trim().parse().ok()?;
    (usec > 0).then(|| Duration::from_micros(usec / 2))
}

/// A path, or `@name` for the abstract namespace.
fn socket_addr(path: &OsString) -> io::Result<SocketAddr> {
    let bytes = path.as_bytes();
    match bytes.strip_prefix(b"@") {
        Some(name) => SocketAddr::from_abstract_name(name),
        None if bytes.starts_with(b"/") => SocketAddr::from_pathname(path),
        None => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "neither an absolute path nor @abstract",
        )),
    }
}

fn monotonic_usec() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is valid for writes.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    u64::try_from(ts.tv_sec).unwrap_or(0) * 1_000_000
        + u64::try_from(ts.tv_nsec).unwrap_or(0) / 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watchdog_interval_rules() {
        assert_eq!(
            watchdog_interval(Some("10000000"), None, 7),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            watchdog_interval(Some("10000000"), Some("7"), 7),
            Some(Duration::from_secs(5))
        );
        assert_eq!(watchdog_interval(Some("10000000"), Some("8"), 7), None);
        assert_eq!(watchdog_interval(Some("0"), None, 7), None);
        assert_eq!(watchdog_interval(Some("x"), None, 7), None);
        assert_eq!(watchdog_interval(None, None, 7), None);
    }

    #[test]
    fn addresses() {
        assert!(socket_addr(&OsString::from("/run/systemd/notify")).is_ok());
        assert!(socket_addr(&OsString::from("@abstract")).is_ok());
        assert!(socket_addr(&OsString::from("relative")).is_err());
        assert!(monotonic_usec() > 0);
    }
}
