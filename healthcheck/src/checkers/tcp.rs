//! TCP_CHECK: the service is up if a TCP connection can be established within `connect_timeout`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::Registry;

use super::down;
use crate::checker::{Checker, Context, Progress};
use crate::conn::Conn;
use crate::endpoint::Endpoint;
use crate::outcome::{CheckOutcome, FailureKind};
use crate::spec::{CheckKind, CheckSpec, TcpConfig};

/// A TCP_CHECK.
pub struct TcpCheck {
    target: Target,
    /// Boxed: only an attempt in flight has one, and an idle checker (nearly all of tens of
    /// thousands) then pays a pointer for it rather than its 64 bytes.
    attempt: Option<Box<Attempt>>,
}

/// Where a TCP_CHECK connects to: its own copy, or the spec the runtime already keeps for
/// it (tens of thousands of checkers then hold a pointer rather than a second copy).
enum Target {
    Own(Box<TcpConfig>),
    /// Always a [`CheckKind::Tcp`] spec ([`TcpCheck::of_spec`] checks).
    Spec(Arc<CheckSpec>),
}

/// A connection being made.
struct Attempt {
    conn: Conn,
    deadline: Instant,
}

impl TcpCheck {
    pub fn new(endpoint: Endpoint, connect_timeout: Duration) -> Self {
        TcpCheck {
            target: Target::Own(Box::new(TcpConfig {
                endpoint,
                connect_timeout,
            })),
            attempt: None,
        }
    }

    /// The check of `spec`, reading its target from it; `None` if it is not a TCP_CHECK.
    pub(crate) fn of_spec(spec: Arc<CheckSpec>) -> Option<Self> {
        matches!(spec.kind, CheckKind::Tcp(_)).then(|| TcpCheck {
            target: Target::Spec(spec),
            attempt: None,
        })
    }

    fn config(&self) -> &TcpConfig {
        match &self.target {
            Target::Own(c) => c,
            Target::Spec(s) => match &s.kind {
                CheckKind::Tcp(c) => c,
                _ => unreachable!("TcpCheck::of_spec takes only TCP specs"),
            },
        }
    }

    fn label(&self) -> impl std::fmt::Display + '_ {
        self.config().endpoint.tcp_label()
    }

    fn finish(&mut self, registry: &Registry, outcome: CheckOutcome) -> Progress {
        if let Some(a) = self.attempt.take() {
            a.conn.close(registry);
        }
        Progress::Done(outcome)
    }

    fn failed(&self) -> CheckOutcome {
        down(
            FailureKind::Connect,
            format!("TCP connection to {} failed.", self.label()),
        )
    }
}

impl Checker for TcpCheck {
    fn start(&mut self, cx: &mut Context<'_>) -> Progress {
        let target = self.config();
        let deadline = cx.now + target.connect_timeout;
        match Conn::connect(&target.endpoint, cx, None) {
            Ok(conn) => {
                self.attempt = Some(Box::new(Attempt { conn, deadline }));
                self.ready(cx)
            }
            Err(_) => Progress::Done(self.failed()),
        }
    }

    fn ready(&mut self, cx: &mut Context<'_>) -> Progress {
        let Some(a) = self.attempt.as_mut() else {
            return Progress::Pending;
        };
        match a.conn.poll_connect() {
            Ok(false) => Progress::Pending,
            Ok(true) => self.finish(cx.registry, CheckOutcome::Up),
            Err(_) => {
                let outcome = self.failed();
                self.finish(cx.registry, outcome)
            }
        }
    }

    fn deadline(&self) -> Instant {
        // Between attempts nothing is due; "now" is as good as any (the runtime asks only
        // while one is in flight).
        self.attempt
            .as_ref()
            .map_or_else(Instant::now, |a| a.deadline)
    }

    fn timeout(&mut self, cx: &mut Context<'_>) -> Progress {
        let outcome = down(
            FailureKind::ConnectTimeout,
            format!("TCP connection to {} timedout.", self.label()),
        );
        self.finish(cx.registry, outcome)
    }

    fn cancel(&mut self, registry: &Registry) {
        if let Some(a) = self.attempt.take() {
            a.conn.close(registry);
        }
    }

    fn describe(&self) -> String {
        format!("TCP_CHECK {}", self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Timing;
    use crate::spec::PingConfig;

    #[test]
    fn a_check_of_a_spec_reads_the_spec_and_takes_only_tcp() {
        let endpoint = Endpoint::new("192.0.2.7:8080".parse().unwrap());
        let timing = Timing::new(Duration::from_secs(5));
        let tcp = Arc::new(CheckSpec {
            kind: CheckKind::Tcp(TcpConfig {
                endpoint,
                connect_timeout: Duration::from_secs(2),
            }),
            timing,
        });
        let check = TcpCheck::of_spec(tcp).unwrap();
        assert_eq!(check.describe(), "TCP_CHECK [192.0.2.7]:tcp:8080");
        assert_eq!(check.config().connect_timeout, Duration::from_secs(2));
        let ping = Arc::new(CheckSpec {
            kind: CheckKind::Ping(PingConfig {
                target: endpoint.connect.ip(),
                connect_timeout: Duration::from_secs(2),
            }),
            timing,
        });
        assert!(TcpCheck::of_spec(ping).is_none());
    }
}
