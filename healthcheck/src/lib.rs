//! Non-blocking real-server health checkers with keepalived's semantics.
//!
//! Every keepalived checker type (TCP_CHECK, HTTP_GET, SSL_GET, SMTP_CHECK, DNS_CHECK, MISC_CHECK,
//! UDP_CHECK, PING_CHECK) runs as a small state machine on one `mio` event loop: no thread per check, no fork per
//! check except MISC_CHECK's program. The layers are kept apart so each can be tested alone:
//!
//! - protocol logic as pure functions, fuzzable without sockets: [`http`], [`smtp`], [`dns`], [`misc`], [`icmp`];
//! - keepalived's retry/alpha policy as a pure state machine: [`policy`];
//! - the socket/process code, one module per checker: [`checkers`], behind the [`Checker`] trait that
//!   other crates can implement too;
//! - the [`HealthChecker`] runtime, which schedules attempts, deduplicates identical checks and emits
//!   [`HealthEvent`]s. Time is always passed in, so the daemon's loop (and tests) own the clock.
//!   On request it also keeps a [`Probe`] record of every attempt (result and duration), for
//!   metrics, in a bounded queue that never allocates once set up.
//!
//! # Semantics (keepalived 2.2 unless noted)
//!
//! - A success brings a server up at once; a failure is retried `retry` times (spaced by
//!   `delay_before_retry`), so a server goes down after `retry + 1` consecutive failed attempts. Then the
//!   next attempt waits `delay_loop`, measured from the end of the previous one.
//! - `alpha` starts servers down until their first success; otherwise they start up. The first attempt
//!   waits a random `[0, warmup]` (keepalived's default warmup is `delay_loop`).
//! - HTTP_GET/SSL_GET check every `url` block in one attempt (keepalived's `fast_recovery`); the
//!   digest is the MD5 of the raw body after the head (chunked bodies are hashed as received, like
//!   genhash); without a digest the attempt ends as soon as the status line is judged.
//! - Timeouts: `connect_timeout` bounds the connect, then bounds the whole exchange once connected
//!   (keepalived re-arms it per read; a fixed budget also stops servers that trickle one byte a second).
//!   Response heads are capped at 64 KiB, SMTP replies at 16 KiB; bodies are hashed, never stored.
//! - Connections are closed with a reset once the verdict is known (as HAProxy does), so that thousands
//!   of checks a second do not pile up TIME_WAIT sockets on the director.
//! - SSL_GET does not verify certificates unless a CA file is given (then it checks chain and name).
//! - MISC_CHECK runs the line without a shell unless it contains shell syntax, in its own process
//!   group, killed with the group after `misc_timeout` (default `delay_loop`), as the configured
//!   user and group ([`misc::RunAs`], keepalived's `user`/`script_user`) when one is given.
//! - Identical [`CheckSpec`]s added by several subscribers run once; events fan out to each.
//!
//! Load figures come from `cargo run --release -p healthcheck --example load -- http|lateness`.
//!
//! # Embedding in the daemon's loop
//!
//! ```
//! use std::time::Instant;
//! use healthcheck::mio::{Events, Poll};
//! use healthcheck::{Change, HealthChecker};
//!
//! /// One iteration of a daemon loop that also owns tokens below the runtime's `token_base`.
//! fn turn(poll: &mut Poll, events: &mut Events, hc: &mut HealthChecker) -> std::io::Result<()> {
//!     let timeout = hc.poll_timeout().map(|t| t.saturating_duration_since(Instant::now()));
//!     poll.poll(events, timeout)?;
//!     let now = Instant::now();
//!     hc.handle_timeout(now);
//!     for ev in events.iter() {
//!         if hc.owns(ev.token()) {
//!             hc.handle_event(ev, now);
//!         } // else: the daemon's own sockets (VRRP, netlink, signals)
//!     }
//!     while let Some(ev) = hc.poll_event() {
//!         match ev.change {
//!             Change::Up => { /* add the real server (or restore its weight) */ }
//!             Change::Down { reason } if ev.inhibit_on_failure => { let _ = reason; /* weight 0 */ }
//!             Change::Down { reason } => { let _ = reason; /* remove the real server */ }
//!             Change::WeightChanged { weight } => { let _ = weight; /* set the weight */ }
//!         }
//!     }
//!     // Only after `hc.record_probes(capacity)`: every attempt, for latency metrics.
//!     while let Some(p) = hc.poll_probe() {
//!         let _ = (p.subscriber, p.result.label(), p.duration.as_secs_f64());
//!     }
//!     Ok(())
//! }
//! ```
//!
//! # Example
//!
//! ```
//! use std::net::TcpListener;
//! use std::time::{Duration, Instant};
//! use healthcheck::{Change, CheckKind, CheckSpec, Endpoint, HealthChecker, Subscription, TcpConfig, Timing};
//!
//! // A server that does not listen any more: the check must report it down.
//! let addr = TcpListener::bind("127.0.0.1:0")?.local_addr()?;
//!
//! let mut poll = mio::Poll::new()?;
//! let mut hc = HealthChecker::new(poll.registry(), 1000)?;
//! let now = Instant::now();
//! let spec = CheckSpec {
//!     kind: CheckKind::Tcp(TcpConfig { endpoint: Endpoint::new(addr), connect_timeout: Duration::from_secs(1) }),
//!     timing: Timing::new(Duration::from_millis(100))
//!         .with_warmup(Duration::ZERO)
//!         .with_retry(1, Duration::from_millis(50)),
//! };
//! let reg = hc.add(spec, Subscription { id: 7, inhibit_on_failure: false }, now)?;
//! assert_eq!(reg.state, healthcheck::ServerState::Up); // no alpha: assumed up until proven down
//!
//! let mut reason = None;
//! hc.run_until(&mut poll, now + Duration::from_secs(5), |ev| {
//!     if let Change::Down { reason: r } = &ev.change {
//!         reason = Some(r.message.clone());
//!         return false;
//!     }
//!     true
//! })?;
//! assert_eq!(reason.as_deref(), Some(format!("TCP connection to [127.0.0.1]:tcp:{} failed.", addr.port()).as_str()));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod checker;
pub mod checkers;
mod conn;
pub mod dns;
pub mod endpoint;
pub mod http;
pub mod icmp;
pub mod misc;
pub mod outcome;
pub mod ping_range;
pub mod policy;
pub mod probe;
mod rng;
pub mod runtime;
pub mod smtp;
pub mod spec;
pub mod tls;

/// The mio version this crate registers with; embedders must drive the same one.
pub use mio;

pub use checker::{Checker, Context, Progress};
pub use endpoint::Endpoint;
pub use outcome::{CheckOutcome, Failure, FailureKind};
pub use policy::{HealthState, ServerState, Timing};
pub use probe::{Probe, ProbeResult};
pub use runtime::{Change, CheckId, HealthChecker, HealthEvent, Registration, Subscription};
pub use spec::{
    BuildError, CheckKind, CheckSpec, DnsConfig, HttpConfig, MiscConfig, PingConfig, SmtpConfig,
    TcpConfig, TlsOptions, UdpConfig, UrlCheck, DEFAULT_CONNECT_TIMEOUT,
};
