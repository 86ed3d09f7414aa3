//! DNS_CHECK: one query over UDP; up if a matching NOERROR response arrives within `connect_timeout`.

use std::io;
use std::time::{Duration, Instant};

use mio::net::UdpSocket;
use mio::Registry;

use super::down;
use crate::checker::{Checker, Context, Progress};
use crate::dns::{encode_query, parse_response, DnsError, RecordType};
use crate::endpoint::Endpoint;
use crate::outcome::{CheckOutcome, FailureKind};
use crate::rng::XorShift;

/// A DNS_CHECK.
pub struct DnsCheck {
    endpoint: Endpoint,
    timeout: Duration,
    name: String,
    qtype: RecordType,
    sock: Option<UdpSocket>,
    query: Vec<u8>,
    sent: bool,
    deadline: Instant,
    rng: XorShift,
}

impl DnsCheck {
    pub fn new(endpoint: Endpoint, timeout: Duration, name: String, qtype: RecordType) -> Self {
        DnsCheck {
            endpoint,
            timeout,
            name,
            qtype,
            sock: None,
            query: Vec::new(),
            sent: false,
            deadline: Instant::now(),
            rng: XorShift::from_entropy(),
        }
    }

    fn label(&self) -> String {
        self.endpoint.udp_label().to_string()
    }

    fn finish(&mut self, registry: &Registry, outcome: CheckOutcome) -> Progress {
        if let Some(mut s) = self.sock.take() {
            let _ = registry.deregister(&mut s);
        }
        Progress::Done(outcome)
    }

    fn fail(&mut self, registry: &Registry, kind: FailureKind, what: String) -> Progress {
        let outcome = down(
            kind,
            format!("DNS_CHECK to server {}: {what}.", self.label()),
        );
        self.finish(registry, outcome)
    }
}

impl Checker for DnsCheck {
    fn start(&mut self, cx: &mut Context<'_>) -> Progress {
        self.deadline = cx.now + self.timeout;
        self.sent = false;
        self.query = match encode_query(self.rng.next_u64() as u16, &self.name, self.qtype) {
            Ok(q) => q,
            Err(e) => return self.fail(cx.registry, FailureKind::Dns, e.to_string()),
        };
        let opened = self.endpoint.open_udp(cx.registry, cx.token);
        match opened {
            Ok(sock) => {
                self.sock = Some(sock);
                self.ready(cx)
            }
            Err(e) => self.fail(cx.registry, FailureKind::Connect, e.to_string()),
        }
    }

    fn ready(&mut self, cx: &mut Context<'_>) -> Progress {
        let Some(sock) = self.sock.as_ref() else {
            return Progress::Pending;
        };
        if !self.sent {
            match sock.send(&self.query) {
                Ok(_) => self.sent = true,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Progress::Pending,
                Err(e) => return self.fail(cx.registry, FailureKind::Connect, e.to_string()),
            }
        }
        loop {
            let Some(sock) = self.sock.as_ref() else {
                return Progress::Pending;
            };
            match sock.recv(cx.buf) {
                Ok(n) => match parse_response(&cx.buf[..n], &self.query) {
                    Ok(_) => return self.finish(cx.registry, CheckOutcome::Up),
                    // A late answer to an earlier query (or a spoof attempt): keep waiting for ours.
                    Err(DnsError::IdMismatch) => {}
                    Err(e) => return self.fail(cx.registry, FailureKind::Dns, e.to_string()),
                },
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Progress::Pending,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return self.fail(cx.registry, FailureKind::Connect, e.to_string()),
            }
        }
    }

    fn deadline(&self) -> Instant {
        self.deadline
    }

    fn timeout(&mut self, cx: &mut Context<'_>) -> Progress {
        self.fail(
            cx.registry,
            FailureKind::ReadTimeout,
            "timeout reading data".into(),
        )
    }

    fn cancel(&mut self, registry: &Registry) {
        if let Some(mut s) = self.sock.take() {
            let _ = registry.deregister(&mut s);
        }
    }

    fn describe(&self) -> String {
        format!("DNS_CHECK {} {} {}", self.label(), self.qtype, self.name)
    }
}
