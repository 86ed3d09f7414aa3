//! TCP_CHECK: the service is up if a TCP connection can be established within `connect_timeout`.

use std::time::{Duration, Instant};

use mio::Registry;

use super::down;
use crate::checker::{Checker, Context, Progress};
use crate::conn::Conn;
use crate::endpoint::Endpoint;
use crate::outcome::{CheckOutcome, FailureKind};

/// A TCP_CHECK.
pub struct TcpCheck {
    endpoint: Endpoint,
    connect_timeout: Duration,
    /// Boxed: only an attempt in flight has one, and an idle checker (nearly all of tens of
    /// thousands) then pays a pointer for it rather than its 64 bytes.
    attempt: Option<Box<Attempt>>,
}

/// A connection being made.
struct Attempt {
    conn: Conn,
    deadline: Instant,
}

impl TcpCheck {
    pub fn new(endpoint: Endpoint, connect_timeout: Duration) -> Self {
        TcpCheck {
            endpoint,
            connect_timeout,
            attempt: None,
        }
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
            format!("TCP connection to {} failed.", self.endpoint.tcp_label()),
        )
    }
}

impl Checker for TcpCheck {
    fn start(&mut self, cx: &mut Context<'_>) -> Progress {
        let deadline = cx.now + self.connect_timeout;
        match Conn::connect(&self.endpoint, cx, None) {
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
            format!("TCP connection to {} timedout.", self.endpoint.tcp_label()),
        );
        self.finish(cx.registry, outcome)
    }

    fn cancel(&mut self, registry: &Registry) {
        if let Some(a) = self.attempt.take() {
            a.conn.close(registry);
        }
    }

    fn describe(&self) -> String {
        format!("TCP_CHECK {}", self.endpoint.tcp_label())
    }
}
