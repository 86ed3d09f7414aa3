//! HTTP_GET and SSL_GET: fetch each configured URL; the service is up if every URL answers with an
//! accepted status code and, when a digest is configured, a body whose MD5 matches.
//!
//! All URLs are checked in one attempt, one connection each, in order (keepalived's `fast_recovery`
//! behaviour), so that a state change never waits `delay_loop` per URL.

use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::Registry;
use rustls::pki_types::ServerName;

use super::down;
use crate::checker::{Checker, Context, Progress};
use crate::conn::{Conn, ConnError, ReadStep};
use crate::endpoint::Endpoint;
use crate::http::{
    encode_request, host_for_ip, md5_hex, HttpProtocol, ReadState, Response, ResponseReader,
    StatusCodes,
};
use crate::outcome::{CheckOutcome, FailureKind};

/// One `url { }` block.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UrlCheck {
    pub path: String,
    /// Expected MD5 of the body, hex (any case).
    pub digest: Option<String>,
    /// Accepted status codes. `None`: 200-299 (keepalived's default, also when a digest is given).
    pub status_codes: Option<StatusCodes>,
    /// Host header for this URL, overriding the checker's.
    pub virtualhost: Option<String>,
}

impl UrlCheck {
    /// `path` checked for a 2xx status.
    pub fn new(path: impl Into<String>) -> Self {
        UrlCheck {
            path: path.into(),
            digest: None,
            status_codes: None,
            virtualhost: None,
        }
    }
}

/// TLS state shared by all attempts of one SSL_GET.
#[derive(Clone)]
pub(crate) struct TlsClient {
    pub(crate) config: Arc<rustls::ClientConfig>,
    pub(crate) server_name: ServerName<'static>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Connecting,
    Exchanging,
}

struct Attempt {
    url: usize,
    conn: Conn,
    phase: Phase,
    reader: ResponseReader,
}

/// An HTTP_GET or SSL_GET.
pub struct HttpCheck {
    endpoint: Endpoint,
    connect_timeout: Duration,
    urls: Vec<UrlCheck>,
    virtualhost: Option<String>,
    protocol: HttpProtocol,
    tls: Option<TlsClient>,
    attempt: Option<Attempt>,
    deadline: Instant,
}

impl HttpCheck {
    pub(crate) fn new(
        endpoint: Endpoint,
        connect_timeout: Duration,
        urls: Vec<UrlCheck>,
        virtualhost: Option<String>,
        protocol: HttpProtocol,
        tls: Option<TlsClient>,
    ) -> Self {
        HttpCheck {
            endpoint,
            connect_timeout,
            urls,
            virtualhost,
            protocol,
            tls,
            attempt: None,
            deadline: Instant::now(),
        }
    }

    fn label(&self) -> String {
        self.endpoint.tcp_label().to_string()
    }

    fn finish(&mut self, registry: &Registry, outcome: CheckOutcome) -> Progress {
        if let Some(a) = self.attempt.take() {
            a.conn.close(registry);
        }
        Progress::Done(outcome)
    }

    /// Open the connection for URL `url`.
    fn open(&mut self, cx: &mut Context<'_>, url: usize) -> Progress {
        self.deadline = cx.now + self.connect_timeout;
        let tls = match &self.tls {
            Some(t) => match rustls::ClientConnection::new(t.config.clone(), t.server_name.clone())
            {
                Ok(c) => Some(c),
                Err(e) => {
                    return Progress::Done(down(
                        FailureKind::Tls,
                        format!("SSL setup error for server {}: {e}.", self.label()),
                    ))
                }
            },
            None => None,
        };
        match Conn::connect(&self.endpoint, cx, tls) {
            Ok(conn) => {
                let want_digest = self.urls.get(url).is_some_and(|u| u.digest.is_some());
                self.attempt = Some(Attempt {
                    url,
                    conn,
                    phase: Phase::Connecting,
                    reader: ResponseReader::new(want_digest),
                });
                self.ready(cx)
            }
            Err(e) => Progress::Done(down(
                FailureKind::Connect,
                format!("Error connecting server {}: {e}.", self.label()),
            )),
        }
    }

    fn io_failure(&self, err: ConnError, handshaking: bool) -> CheckOutcome {
        match err {
            ConnError::Tls(e) if handshaking => down(
                FailureKind::Tls,
                format!("SSL handshake error to server {}: {e}.", self.label()),
            ),
            ConnError::Tls(e) => down(
                FailureKind::Tls,
                format!("SSL read error from server {}: {e}.", self.label()),
            ),
            ConnError::Io(e) => down(
                FailureKind::Io,
                format!("Read error from server {}: {e}.", self.label()),
            ),
        }
    }

    /// Judge a complete response against URL `url`; `None` means it passed.
    fn judge(&self, url: usize, resp: &Response) -> Option<CheckOutcome> {
        let u = self.urls.get(url)?;
        // keepalived 2.x always checks the status, against 200-299 unless status_code is given.
        let codes_ok = match &u.status_codes {
            Some(codes) => codes.contains(resp.status),
            None => StatusCodes::success().contains(resp.status),
        };
        if !codes_ok {
            return Some(down(
                FailureKind::HttpStatus,
                format!(
                    "HTTP status code error to {} url({}), status_code [{}].",
                    self.label(),
                    u.path,
                    resp.status
                ),
            ));
        }
        if let (Some(want), Some(got)) = (&u.digest, &resp.digest) {
            let got = md5_hex(got);
            if !want.eq_ignore_ascii_case(&got) {
                return Some(down(
                    FailureKind::Digest,
                    format!(
                        "MD5 digest error to {} url[{}], MD5SUM [{got}].",
                        self.label(),
                        u.path
                    ),
                ));
            }
        }
        None
    }

    fn complete(&mut self, cx: &mut Context<'_>, url: usize, resp: Response) -> Progress {
        if let Some(fail) = self.judge(url, &resp) {
            return self.finish(cx.registry, fail);
        }
        if let Some(a) = self.attempt.take() {
            a.conn.close(cx.registry);
        }
        if url + 1 < self.urls.len() {
            self.open(cx, url + 1)
        } else {
            Progress::Done(CheckOutcome::Up)
        }
    }
}

impl Checker for HttpCheck {
    fn start(&mut self, cx: &mut Context<'_>) -> Progress {
        if self.urls.is_empty() {
            // keepalived refuses such a checker at config time; here it simply has nothing to fail.
            return Progress::Done(CheckOutcome::Up);
        }
        self.open(cx, 0)
    }

    fn ready(&mut self, cx: &mut Context<'_>) -> Progress {
        let Some(a) = self.attempt.as_mut() else {
            return Progress::Pending;
        };
        if a.phase == Phase::Connecting {
            match a.conn.poll_connect() {
                Ok(false) => return Progress::Pending,
                Ok(true) => {
                    let Some(u) = self.urls.get(a.url) else {
                        return self.finish(cx.registry, CheckOutcome::Up);
                    };
                    let host = u
                        .virtualhost
                        .clone()
                        .or_else(|| self.virtualhost.clone())
                        .unwrap_or_else(|| host_for_ip(self.endpoint.connect.ip()));
                    let req = encode_request(
                        &u.path,
                        &host,
                        self.endpoint.connect.port(),
                        self.tls.is_some(),
                        self.protocol,
                    );
                    a.conn.queue(&req);
                    a.phase = Phase::Exchanging;
                    // The whole exchange (TLS handshake, request, response) gets one connect_timeout. keepalived
                    // re-arms the timer on every read; a fixed budget also defeats servers that trickle bytes.
                    self.deadline = cx.now + self.connect_timeout;
                }
                Err(e) => {
                    let outcome = down(
                        FailureKind::Connect,
                        format!("Error connecting server {}: {e}.", self.label()),
                    );
                    return self.finish(cx.registry, outcome);
                }
            }
        }
        loop {
            let Some(a) = self.attempt.as_mut() else {
                return Progress::Pending;
            };
            let handshaking = a.conn.is_handshaking();
            if let Err(e) = a.conn.flush() {
                let outcome = self.io_failure(e, handshaking);
                return self.finish(cx.registry, outcome);
            }
            let url = a.url;
            let step = a.conn.read(cx.buf);
            match step {
                Ok(ReadStep::WouldBlock) => return Progress::Pending,
                Ok(ReadStep::Data(n)) => match a.reader.feed(&cx.buf[..n]) {
                    Ok(ReadState::Incomplete) => {}
                    Ok(ReadState::Complete(resp)) => return self.complete(cx, url, resp),
                    Err(e) => {
                        let outcome = down(
                            FailureKind::Protocol,
                            format!("Invalid HTTP response from server {}: {e}.", self.label()),
                        );
                        return self.finish(cx.registry, outcome);
                    }
                },
                Ok(ReadStep::Eof) if handshaking => {
                    let outcome = down(
                        FailureKind::Tls,
                        format!(
                            "SSL handshake error to server {}: connection closed.",
                            self.label()
                        ),
                    );
                    return self.finish(cx.registry, outcome);
                }
                Ok(ReadStep::Eof) => match a.reader.finish() {
                    Ok(resp) => return self.complete(cx, url, resp),
                    Err(e) => {
                        let outcome = down(
                            FailureKind::Io,
                            format!("Read error from server {}: {e}.", self.label()),
                        );
                        return self.finish(cx.registry, outcome);
                    }
                },
                Err(e) => {
                    let outcome = self.io_failure(e, handshaking);
                    return self.finish(cx.registry, outcome);
                }
            }
        }
    }

    fn deadline(&self) -> Instant {
        self.deadline
    }

    fn timeout(&mut self, cx: &mut Context<'_>) -> Progress {
        let connecting = !matches!(&self.attempt, Some(a) if a.phase == Phase::Exchanging);
        let outcome = if connecting {
            down(
                FailureKind::ConnectTimeout,
                format!("Timeout connecting server {}.", self.label()),
            )
        } else {
            let proto = if self.tls.is_some() { "SSL" } else { "HTTP" };
            down(
                FailureKind::ReadTimeout,
                format!("Timeout {proto} read server {}.", self.label()),
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
        let kind = if self.tls.is_some() {
            "SSL_GET"
        } else {
            "HTTP_GET"
        };
        format!("{kind} {}", self.label())
    }
}
