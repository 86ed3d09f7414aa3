//! Delivering `smtp_alert` mails from the loop: one non-blocking TCP connection per mail,
//! driven by [`crate::daemon::smtp_alert::Dialogue`], bounded by `smtp_connect_timeout`.
//! Every failure is logged and dropped; VRRP never waits for mail.

use std::io::{Read, Write};
use std::net::SocketAddr;

use crate::config::SmtpHost;
use crate::daemon::smtp_alert::{self, Dialogue, Subject};

use super::*;

/// Tokens `SMTP_BASE..SMTP_END` are mail connections (below the scripts, above any socket slot).
pub(super) const SMTP_BASE: usize = 1 << 20;
const SMTP_END: usize = 1 << 21;
/// Mails in flight at once; more are dropped with a log line (a flapping router must not
/// open unbounded connections).
const MAX_IN_FLIGHT: usize = 64;

/// One mail being delivered.
#[derive(Debug)]
pub(super) struct Delivery {
    stream: mio::net::TcpStream,
    dialogue: Dialogue,
}

pub(super) fn owns(token: Token) -> bool {
    (SMTP_BASE..SMTP_END).contains(&token.0)
}

impl Runtime {
    /// Sends keepalived's alert for `what` entering `state`, if mail is configured.
    pub(super) fn smtp_alert(&mut self, what: Subject<'_>, state: State) {
        let Some(addr) = self.smtp_addr() else {
            return;
        };
        let (hostname, date) = host_and_date();
        let global = &self.config.global;
        let Some(mail) = smtp_alert::vrrp_mail(global, &hostname, what, state, date) else {
            return;
        };
        self.deliver(addr, mail);
    }

    /// Sends a checker-side alert (a real server or a quorum changed).
    pub(super) fn smtp_checker_alert(&mut self, alert: &crate::lvs::mail::Alert) {
        let Some(addr) = self.smtp_addr() else {
            return;
        };
        let (hostname, date) = host_and_date();
        let mail = smtp_alert::checker_mail(&self.config.global, &hostname, alert, date);
        self.deliver(addr, mail);
    }

    /// Where mail goes; `None` (logged) when it cannot go anywhere.
    fn smtp_addr(&self) -> Option<SocketAddr> {
        let Some(server) = self.config.global.smtp_server.as_ref() else {
            tracing::warn!("smtp_alert is set but global_defs has no smtp_server; no mail sent");
            return None;
        };
        match &server.host {
            SmtpHost::Addr(ip) => Some(SocketAddr::new(*ip, server.port)),
            SmtpHost::Name(name) => {
                // Resolving would block the loop; keepalived users give an address in practice.
                tracing::error!("smtp_server {name}: host names are not supported; no mail sent");
                None
            }
        }
    }

    /// Starts delivering `mail` to `addr` (one non-blocking connection).
    fn deliver(&mut self, addr: SocketAddr, mail: smtp_alert::Mail) {
        let timeout = self
            .config
            .global
            .smtp_connect_timeout
            .unwrap_or(smtp_alert::DEFAULT_TIMEOUT);
        let dialogue = match Dialogue::new(mail) {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!("smtp_alert: {e}; no mail sent");
                return;
            }
        };
        if self.smtp.len() >= MAX_IN_FLIGHT {
            tracing::error!(
                "smtp_alert: {MAX_IN_FLIGHT} mails already in flight; dropping \"{}\"",
                dialogue.subject()
            );
            return;
        }
        let mut stream = match mio::net::TcpStream::connect(addr) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!("smtp_alert: cannot connect to {addr}: {e}");
                return;
            }
        };
        let Some(token) = (SMTP_BASE..SMTP_END)
            .map(|i| Token(SMTP_BASE + (self.next_smtp + i) % (SMTP_END - SMTP_BASE)))
            .find(|t| !self.smtp.contains_key(t))
        else {
            return;
        };
        self.next_smtp = (token.0 - SMTP_BASE + 1) % (SMTP_END - SMTP_BASE);
        if let Err(e) = self.poll.registry().register(
            &mut stream,
            token,
            Interest::READABLE | Interest::WRITABLE,
        ) {
            tracing::error!("smtp_alert: cannot watch the connection to {addr}: {e}");
            return;
        }
        self.timers
            .set(TimerKey::Smtp(token.0), Some(Instant::now() + timeout));
        self.smtp.insert(token, Delivery { stream, dialogue });
    }

    /// Readiness on a mail connection: read replies, write commands, finish or fail.
    pub(super) fn on_smtp(&mut self, token: Token) {
        let Some(d) = self.smtp.get_mut(&token) else {
            return;
        };
        let result = pump(d);
        match result {
            Ok(false) => {}
            Ok(true) => {
                tracing::info!("SMTP alert successfully sent: \"{}\"", d.dialogue.subject());
                self.smtp_close(token);
            }
            Err(e) => {
                tracing::error!("SMTP alert \"{}\" not sent: {e}", d.dialogue.subject());
                self.smtp_close(token);
            }
        }
    }

    /// `smtp_connect_timeout` elapsed before the dialogue ended.
    pub(super) fn smtp_timeout(&mut self, token: usize) {
        let token = Token(token);
        if let Some(d) = self.smtp.get(&token) {
            tracing::error!(
                "SMTP alert \"{}\" not sent: timeout during {}",
                d.dialogue.subject(),
                d.dialogue.stage()
            );
            self.smtp_close(token);
        }
    }

    fn smtp_close(&mut self, token: Token) {
        if let Some(mut d) = self.smtp.remove(&token) {
            let _ = self.poll.registry().deregister(&mut d.stream);
        }
        self.timers.cancel(TimerKey::Smtp(token.0));
    }
}

/// This host's name (keepalived's default `router_id`) and the date of a mail sent now.
fn host_and_date() -> (String, String) {
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "localhost".to_owned());
    let unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    (hostname, smtp_alert::rfc5322_date(unix))
}

/// Errors of the connection and of the dialogue, for one log line.
#[derive(Debug, thiserror::Error)]
enum PumpError {
    #[error(transparent)]
    Io(#[from] io::Error),
    #[error(transparent)]
    Smtp(#[from] smtp_alert::SmtpError),
}

/// Moves bytes both ways until the socket would block; `Ok(true)` when the mail is through.
fn pump(d: &mut Delivery) -> Result<bool, PumpError> {
    if let Some(e) = d.stream.take_error()? {
        return Err(e.into());
    }
    let mut buf = [0u8; 1024];
    loop {
        // Write first: the dialogue may have output from the last reply.
        while !d.dialogue.pending_output().is_empty() {
            match d.stream.write(d.dialogue.pending_output()) {
                Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero).into()),
                Ok(n) => d.dialogue.consume_output(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // Not connected yet: wait for writability.
                Err(e) if e.kind() == io::ErrorKind::NotConnected => return Ok(false),
                Err(e) => return Err(e.into()),
            }
        }
        match d.stream.read(&mut buf) {
            Ok(0) => {
                d.dialogue.on_eof()?;
                return Ok(d.dialogue.is_done());
            }
            Ok(n) => {
                d.dialogue.on_input(buf.get(..n).unwrap_or(&[]))?;
                if d.dialogue.is_done() {
                    return Ok(true);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::NotConnected => return Ok(false),
            Err(e) => return Err(e.into()),
        }
    }
}
