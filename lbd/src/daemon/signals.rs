//! POSIX signals as mio events (signal-hook's self-pipe), mapped to what the daemon does.

use mio::{Interest, Registry, Token};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGUSR1};
use signal_hook_mio::v1_0::Signals;
use std::io;

/// What a signal asks for, keepalived's meanings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// SIGTERM / SIGINT: priority-0 adverts, VIPs removed, notify_stop, exit 0.
    Stop,
    /// SIGHUP: re-read the configuration.
    Reload,
    /// SIGUSR1: write the state dump.
    Dump,
}

pub struct SignalSource {
    signals: Signals,
}

impl SignalSource {
    pub fn new() -> io::Result<Self> {
        Ok(Self {
            signals: Signals::new([SIGTERM, SIGINT, SIGHUP, SIGUSR1])?,
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
                SIGUSR1 => Request::Dump,
                _ => continue,
            };
            out.push(req);
        }
    }
}
