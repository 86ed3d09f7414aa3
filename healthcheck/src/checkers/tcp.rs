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
    /// thousands) then pays a pointer for it rather than its 48 bytes.
    conn: Option<Box<Conn>>,
    deadline: Instant,
}

impl TcpCheck {
    pub fn new(endpoint: Endpoint, connect_timeout: Duration) -> Self {
        TcpCheck {
            endpoint,
            connect_timeout,
            conn: None,
            deadline: Instant::now(),
        }
    }

    fn finish(&mut self, registry: &Registry, outcome: CheckOutcome) -> Progress {
        if let Some(conn) = self.conn.take() {
            (*conn).close(registry);
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
        self.deadline = cx.now + self.connect_timeout;
        match Conn::connect(&self.endpoint, cx, None) {
            Ok(conn) => {
                self.conn = Some(Box::new(conn));
                self.ready(cx)
            }
            Err(_) => Progress::Done(self.failed()),
        }
    }

    fn ready(&mut self, cx: &mut Context<'_>) -> Progress {
        let Some(conn) = self.conn.as_mut() else {
            return Progress::Pending;
        };
        match conn.poll_connect() {
            Ok(false) => Progress::Pending,
            Ok(true) => self.finish(cx.registry, CheckOutcome::Up),
            Err(_) => {
                let outcome = self.failed();
                self.finish(cx.registry, outcome)
            }
        }
    }

    fn deadline(&self) -> Instant {
        self.deadline
    }

    fn timeout(&mut self, cx: &mut Context<'_>) -> Progress {
        let outcome = down(
            FailureKind::ConnectTimeout,
            format!("TCP connection to {} timedout.", self.endpoint.tcp_label()),
        );
        self.finish(cx.registry, outcome)
    }

    fn cancel(&mut self, registry: &Registry) {
        if let Some(conn) = self.conn.take() {
            (*conn).close(registry);
        }
    }

    fn describe(&self) -> String {
        format!("TCP_CHECK {}", self.endpoint.tcp_label())
    }
}
