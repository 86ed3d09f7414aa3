//! SMTP_CHECK: for every configured host, connect, read the 220 greeting, `HELO`, expect 250, `QUIT`,
//! read the answer. All hosts must pass (keepalived checks them in turn and fails on the first error).
//! Failure sentences are keepalived 2.2's (`SMTP_CHECK Bad greeting banner from server [ip]:tcp:25`).

use std::time::{Duration, Instant};

use mio::Registry;

use super::down;
use crate::checker::{Checker, Context, Progress};
use crate::conn::{Conn, ConnError, ReadStep};
use crate::endpoint::Endpoint;
use crate::outcome::{CheckOutcome, FailureKind};
use crate::smtp::{Dialogue, Stage, Step};

struct Attempt {
    host: usize,
    conn: Conn,
    connected: bool,
    dialogue: Dialogue,
}

/// An SMTP_CHECK.
pub struct SmtpCheck {
    hosts: Vec<Endpoint>,
    connect_timeout: Duration,
    helo_name: String,
    attempt: Option<Attempt>,
    deadline: Instant,
}

impl SmtpCheck {
    pub fn new(hosts: Vec<Endpoint>, connect_timeout: Duration, helo_name: String) -> Self {
        SmtpCheck {
            hosts,
            connect_timeout,
            helo_name,
            attempt: None,
            deadline: Instant::now(),
        }
    }

    fn label(&self, host: usize) -> String {
        self.hosts
            .get(host)
            .map(|h| h.tcp_label().to_string())
            .unwrap_or_default()
    }

    fn finish(&mut self, registry: &Registry, outcome: CheckOutcome) -> Progress {
        if let Some(a) = self.attempt.take() {
            a.conn.close(registry);
        }
        Progress::Done(outcome)
    }

    fn open(&mut self, cx: &mut Context<'_>, host: usize) -> Progress {
        let Some(ep) = self.hosts.get(host).copied() else {
            return Progress::Done(CheckOutcome::Up);
        };
        self.deadline = cx.now + self.connect_timeout;
        match Conn::connect(&ep, cx, None) {
            Ok(conn) => {
                self.attempt = Some(Attempt {
                    host,
                    conn,
                    connected: false,
                    dialogue: Dialogue::new(&self.helo_name),
                });
                self.ready(cx)
            }
            Err(_) => Progress::Done(down(
                FailureKind::Connect,
                format!(
                    "SMTP_CHECK Error connecting to server {}.",
                    self.label(host)
                ),
            )),
        }
    }

    fn io_error(&mut self, registry: &Registry, host: usize, e: ConnError) -> Progress {
        let outcome = down(
            FailureKind::Io,
            format!(
                "Error reading data from SMTP server {}: {e}.",
                self.label(host)
            ),
        );
        self.finish(registry, outcome)
    }
}

impl Checker for SmtpCheck {
    fn start(&mut self, cx: &mut Context<'_>) -> Progress {
        self.open(cx, 0)
    }

    fn ready(&mut self, cx: &mut Context<'_>) -> Progress {
        loop {
            let Some(a) = self.attempt.as_mut() else {
                return Progress::Pending;
            };
            let host = a.host;
            if !a.connected {
                match a.conn.poll_connect() {
                    Ok(false) => return Progress::Pending,
                    Ok(true) => {
                        a.connected = true;
                        // The dialogue gets its own connect_timeout budget, not re-armed by trickled bytes.
                        self.deadline = cx.now + self.connect_timeout;
                    }
                    Err(_) => {
                        let outcome = down(
                            FailureKind::Connect,
                            format!(
                                "SMTP_CHECK Error connecting to server {}.",
                                self.label(host)
                            ),
                        );
                        return self.finish(cx.registry, outcome);
                    }
                }
            }
            if let Err(e) = a.conn.flush() {
                return self.io_error(cx.registry, host, e);
            }
            match a.conn.read(cx.buf) {
                Ok(ReadStep::WouldBlock) => return Progress::Pending,
                Ok(ReadStep::Eof) => {
                    let outcome = down(
                        FailureKind::Io,
                        format!(
                            "SMTP_CHECK Read failure from server {}: connection closed.",
                            self.label(host)
                        ),
                    );
                    return self.finish(cx.registry, outcome);
                }
                Ok(ReadStep::Data(n)) => match a.dialogue.feed(&cx.buf[..n]) {
                    Ok(Step::NeedInput) => {}
                    Ok(Step::Send(bytes)) => a.conn.queue(&bytes),
                    Ok(Step::Done) => {
                        if let Some(a) = self.attempt.take() {
                            a.conn.close(cx.registry);
                        }
                        return self.open(cx, host + 1);
                    }
                    Err(e) => {
                        let what = match a.dialogue.stage() {
                            Stage::Banner => "Bad greeting banner",
                            _ => "Bad HELO response",
                        };
                        let outcome = down(
                            FailureKind::Protocol,
                            format!("SMTP_CHECK {what} from server {} ({e}).", self.label(host)),
                        );
                        return self.finish(cx.registry, outcome);
                    }
                },
                Err(e) => return self.io_error(cx.registry, host, e),
            }
        }
    }

    fn deadline(&self) -> Instant {
        self.deadline
    }

    fn timeout(&mut self, cx: &mut Context<'_>) -> Progress {
        let (host, connected) = self
            .attempt
            .as_ref()
            .map_or((0, false), |a| (a.host, a.connected));
        let outcome = if connected {
            down(
                FailureKind::ReadTimeout,
                format!(
                    "Timeout reading data from SMTP server {}.",
                    self.label(host)
                ),
            )
        } else {
            down(
                FailureKind::ConnectTimeout,
                format!(
                    "SMTP_CHECK Connection timeout to server {}.",
                    self.label(host)
                ),
            )
        };
        self.finish(cx.registry, outcome)
    }

    fn cancel(&mut self, registry: &Registry) {
        if let Some(a) = self.attempt.take() {
            a.conn.close(registry);
        }
    }

    fn describe(&self) -> String {
        format!("SMTP_CHECK {}", self.label(0))
    }
}
