//! PING_CHECK: one ICMP echo over a kernel ping socket; up if the matching reply arrives within
//! `connect_timeout`.
//!
//! Ping sockets need the process's group in `net.ipv4.ping_group_range` (keepalived widens it for root);
//! when the socket cannot be created the check reports down with that reason rather than guessing.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::net::UdpSocket;
use mio::{Interest, Registry};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use super::down;
use crate::checker::{Checker, Context, Progress};
use crate::icmp::{encode_echo_request, is_echo_reply};
use crate::outcome::{CheckOutcome, FailureKind};

const PAYLOAD: &[u8] = b"lbd-healthcheck";

/// A PING_CHECK.
pub struct PingCheck {
    target: std::net::IpAddr,
    timeout: Duration,
    sock: Option<UdpSocket>,
    seq: u16,
    sent: bool,
    deadline: Instant,
}

impl PingCheck {
    pub fn new(target: std::net::IpAddr, timeout: Duration) -> Self {
        PingCheck {
            target,
            timeout,
            sock: None,
            seq: 0,
            sent: false,
            deadline: Instant::now(),
        }
    }

    fn v6(&self) -> bool {
        self.target.is_ipv6()
    }

    fn open(&self) -> io::Result<UdpSocket> {
        let (domain, proto) = if self.v6() {
            (Domain::IPV6, Protocol::ICMPV6)
        } else {
            (Domain::IPV4, Protocol::ICMPV4)
        };
        let s = Socket::new(domain, Type::DGRAM.nonblocking().cloexec(), Some(proto))?;
        s.connect(&SockAddr::from(SocketAddr::new(self.target, 0)))?;
        Ok(UdpSocket::from_std(s.into()))
    }

    fn finish(&mut self, registry: &Registry, outcome: CheckOutcome) -> Progress {
        if let Some(mut s) = self.sock.take() {
            let _ = registry.deregister(&mut s);
        }
        Progress::Done(outcome)
    }

    fn fail(&mut self, registry: &Registry, kind: FailureKind, what: String) -> Progress {
        let outcome = down(kind, format!("PING_CHECK to [{}] {what}.", self.target));
        self.finish(registry, outcome)
    }
}

impl Checker for PingCheck {
    fn start(&mut self, cx: &mut Context<'_>) -> Progress {
        self.deadline = cx.now + self.timeout;
        self.seq = self.seq.wrapping_add(1);
        self.sent = false;
        let opened = self.open().and_then(|mut s| {
            cx.registry
                .register(&mut s, cx.token, Interest::READABLE | Interest::WRITABLE)?;
            Ok(s)
        });
        match opened {
            Ok(s) => {
                self.sock = Some(s);
                self.ready(cx)
            }
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => self.fail(
                cx.registry,
                FailureKind::Connect,
                format!("cannot open a ping socket (check net.ipv4.ping_group_range): {e}"),
            ),
            Err(e) => self.fail(cx.registry, FailureKind::Connect, format!("failed: {e}")),
        }
    }

    fn ready(&mut self, cx: &mut Context<'_>) -> Progress {
        let v6 = self.v6();
        let Some(sock) = self.sock.as_ref() else {
            return Progress::Pending;
        };
        if !self.sent {
            match sock.send(&encode_echo_request(v6, self.seq, PAYLOAD)) {
                Ok(_) => self.sent = true,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Progress::Pending,
                Err(e) => {
                    return self.fail(cx.registry, FailureKind::Connect, format!("failed: {e}"))
                }
            }
        }
        loop {
            let Some(sock) = self.sock.as_ref() else {
                return Progress::Pending;
            };
            match sock.recv(cx.buf) {
                Ok(n) if is_echo_reply(v6, &cx.buf[..n], self.seq, PAYLOAD) => {
                    return self.finish(cx.registry, CheckOutcome::Up)
                }
                // A late reply to an earlier attempt: keep waiting for ours.
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Progress::Pending,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return self.fail(cx.registry, FailureKind::Connect, format!("failed: {e}"))
                }
            }
        }
    }

    fn deadline(&self) -> Instant {
        self.deadline
    }

    fn timeout(&mut self, cx: &mut Context<'_>) -> Progress {
        self.fail(cx.registry, FailureKind::ReadTimeout, "timed out".into())
    }

    fn cancel(&mut self, registry: &Registry) {
        if let Some(mut s) = self.sock.take() {
            let _ = registry.deregister(&mut s);
        }
    }

    fn describe(&self) -> String {
        format!("PING_CHECK [{}]", self.target)
    }
}
