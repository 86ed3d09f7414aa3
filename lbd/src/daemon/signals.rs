//! POSIX signals as mio events (signal-hook's self-pipe), mapped to what the daemon does.

use mio::{Interest, Registry, Token};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGUSR1, SIGUSR2};
use signal_hook_mio::v1_0::Signals;
use std::io;

/// What a signal asks for, keepalived's meanings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// SIGTERM / SIGINT: priority-0 adverts, VIPs removed, notify_stop, exit 0.
    Stop,
    /// SIGHUP: re-read the configuration.
    Reload,
    /// SIGUSR1 (keepalived: data), SIGUSR2 (stats), SIGRTMIN+2 (JSON) and SIGRTMIN+29
    /// (stats and clear): write the state dump. lbd has one dump that holds all of it; the
    /// counters are not cleared because Prometheus counters must never go backwards.
    Dump,
}

/// keepalived's `--signum` names and the signal each one is, so scripts written as
/// `kill -s $(keepalived --signum=JSON) ...` keep working with `lbd --signum=JSON`.
pub fn signum(name: &str) -> Option<i32> {
    Some(match name.to_ascii_uppercase().as_str() {
        "STOP" => SIGTERM,
        "RELOAD" => SIGHUP,
        "DATA" => SIGUSR1,
        "STATS" => SIGUSR2,
        "STATS_CLEAR" => stats_clear_signal(),
        "JSON" => json_signal(),
        _ => return None,
    })
}

/// keepalived 2.2.7 sends its JSON dump on SIGRTMIN+2 (36 with glibc).
fn json_signal() -> i32 {
    libc::SIGRTMIN() + 2
}

/// keepalived 2.2.7's "stats and clear" signal, SIGRTMIN+29 (63 with glibc).
fn stats_clear_signal() -> i32 {
    libc::SIGRTMIN() + 29
}

pub struct SignalSource {
    signals: Signals,
}

impl SignalSource {
    pub fn new() -> io::Result<Self> {
        Ok(Self {
            signals: Signals::new([
                SIGTERM,
                SIGINT,
                SIGHUP,
                SIGUSR1,
                SIGUSR2,
                json_signal(),
                stats_clear_signal(),
            ])?,
        })
    }

    pub fn register(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        registry.register(&mut self.signals, token, Interest::READABLE)
    }

    /// Drains pending signals into `out` (in arrival order, duplicates folded by the kernel).
    pub fn drain(&mut self, out: &mut Vec<Request>) {
        for sig in self.signals.pending() {
            let req = match sig {
                SIGTERM | SIGINT => Request::Stop,
                SIGHUP => Request::Reload,
                SIGUSR1 | SIGUSR2 => Request::Dump,
                s if s == json_signal() || s == stats_clear_signal() => Request::Dump,
                _ => continue,
            };
            out.push(req);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signum_matches_keepalived_2_2_7() {
        // `keepalived --signum=X` on Debian 12 (glibc): 15 1 10 12 63 36.
        let got: Vec<_> = ["STOP", "RELOAD", "DATA", "STATS", "STATS_CLEAR", "json"]
            .iter()
            .map(|n| signum(n))
            .collect();
        assert_eq!(
            got,
            [Some(15), Some(1), Some(10), Some(12), Some(63), Some(36)]
        );
        assert_eq!(signum("BOGUS"), None);
    }
}
