//! UDP_CHECK: send a datagram; an ICMP unreachable (seen as ECONNREFUSED on the connected socket) means
//! down. With `require_reply` a matching reply must arrive within `connect_timeout`; without it, silence
//! until the timeout means up.

use std::io;
use std::time::{Duration, Instant};

use mio::net::UdpSocket;
use mio::Registry;

use super::down;
use crate::checker::{Checker, Context, Progress};
use crate::endpoint::Endpoint;
use crate::outcome::{CheckOutcome, FailureKind};

/// What a reply must look like (keepalived's `require_reply`, `min_reply_length`, `max_reply_length`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReplyRule {
    /// The reply must start with these bytes, compared up to the shorter of the two (keepalived semantics).
    pub prefix: Vec<u8>,
    pub min_len: usize,
    pub max_len: usize,
}

impl ReplyRule {
    pub fn accepts(&self, reply: &[u8]) -> bool {
        let n = reply.len().min(self.prefix.len());
        (self.min_len..=self.max_len).contains(&reply.len()) && reply[..n] == self.prefix[..n]
    }
}

/// A UDP_CHECK.
pub struct UdpCheck {
    endpoint: Endpoint,
    timeout: Duration,
    payload: Vec<u8>,
    require_reply: Option<ReplyRule>,
    sock: Option<UdpSocket>,
    sent: bool,
    deadline: Instant,
}

impl UdpCheck {
    pub fn new(
        endpoint: Endpoint,
        timeout: Duration,
        payload: Vec<u8>,
        require_reply: Option<ReplyRule>,
    ) -> Self {
        UdpCheck {
            endpoint,
            timeout,
            payload,
            require_reply,
            sock: None,
            sent: false,
            deadline: Instant::now(),
        }
    }

    fn finish(&mut self, registry: &Registry, outcome: CheckOutcome) -> Progress {
        if let Some(mut s) = self.sock.take() {
            let _ = registry.deregister(&mut s);
        }
        Progress::Done(outcome)
    }

    fn fail(&mut self, registry: &Registry, kind: FailureKind, what: &str) -> Progress {
        let outcome = down(
            kind,
            format!("UDP check to server {} {what}.", self.endpoint.udp_label()),
        );
        self.finish(registry, outcome)
    }
}

impl Checker for UdpCheck {
    fn start(&mut self, cx: &mut Context<'_>) -> Progress {
        self.deadline = cx.now + self.timeout;
        self.sent = false;
        let opened = self.endpoint.open_udp(cx.registry, cx.token);
        match opened {
            Ok(sock) => {
                self.sock = Some(sock);
                self.ready(cx)
            }
            Err(_) => self.fail(cx.registry, FailureKind::Connect, "failed to connect"),
        }
    }

    fn ready(&mut self, cx: &mut Context<'_>) -> Progress {
        let Some(sock) = self.sock.as_ref() else {
            return Progress::Pending;
        };
        if !self.sent {
            match sock.send(&self.payload) {
                Ok(_) => self.sent = true,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Progress::Pending,
                Err(_) => return self.fail(cx.registry, FailureKind::Connect, "failed to send"),
            }
        }
        loop {
            let Some(sock) = self.sock.as_ref() else {
                return Progress::Pending;
            };
            match sock.recv(cx.buf) {
                Ok(n) => {
                    let ok = match &self.require_reply {
                        Some(r) => r.accepts(&cx.buf[..n]),
                        None => true,
                    };
                    return if ok {
                        self.finish(cx.registry, CheckOutcome::Up)
                    } else {
                        self.fail(
                            cx.registry,
                            FailureKind::Protocol,
                            "received an unexpected reply",
                        )
                    };
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Progress::Pending,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                    return self.fail(cx.registry, FailureKind::Connect, "port unreachable")
                }
                Err(_) => return self.fail(cx.registry, FailureKind::Connect, "failed"),
            }
        }
    }

    fn deadline(&self) -> Instant {
        self.deadline
    }

    fn timeout(&mut self, cx: &mut Context<'_>) -> Progress {
        if self.require_reply.is_some() {
            self.fail(
                cx.registry,
                FailureKind::ReadTimeout,
                "timed out waiting for a reply",
            )
        } else {
            self.finish(cx.registry, CheckOutcome::Up)
        }
    }

    fn cancel(&mut self, registry: &Registry) {
        if let Some(mut s) = self.sock.take() {
            let _ = registry.deregister(&mut s);
        }
    }

    fn describe(&self) -> String {
        format!("UDP_CHECK {}", self.endpoint.udp_label())
    }
}
