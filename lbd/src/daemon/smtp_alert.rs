//! `smtp_alert`: the e-mail keepalived sends on a VRRP state change, and the SMTP dialogue
//! that delivers it.
//!
//! Sans-IO: [`Dialogue`] consumes the server's bytes and produces the client's; the runtime
//! owns the socket and the deadline. Kept apart so the dialogue is tested without a network
//! and a slow or broken mail server can never stall VRRP.
//!
//! The message follows keepalived 2.2.7: `HELO`, `MAIL FROM`, one `RCPT TO` per
//! `notification_email`, `DATA` with `Date`/`From`/`Subject`/`X-Mailer`/`To` headers, a one-line
//! body, `QUIT`.

use std::time::Duration;

use vrrp_core::State;

use crate::config::GlobalDefs;

/// keepalived's default `smtp_connect_timeout`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// A server reply longer than this without an end of line is not SMTP.
const MAX_REPLY: usize = 4096;

/// Why a mail could not be delivered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmtpError {
    #[error("server answered {code} to {stage}: {text}")]
    Rejected {
        stage: Stage,
        code: u16,
        text: String,
    },
    #[error("malformed reply during {stage}")]
    Malformed { stage: Stage },
    #[error("connection closed during {stage}")]
    Closed { stage: Stage },
    #[error("no recipients (notification_email is empty)")]
    NoRecipients,
}

/// Where the dialogue is: the command whose reply is awaited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Banner,
    Helo,
    MailFrom,
    /// `RCPT TO` for recipient index `.0`.
    RcptTo(usize),
    Data,
    Body,
    Quit,
    Done,
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stage::Banner => f.write_str("the greeting"),
            Stage::Helo => f.write_str("HELO"),
            Stage::MailFrom => f.write_str("MAIL FROM"),
            Stage::RcptTo(i) => write!(f, "RCPT TO #{}", i + 1),
            Stage::Data => f.write_str("DATA"),
            Stage::Body => f.write_str("the message"),
            Stage::Quit => f.write_str("QUIT"),
            Stage::Done => f.write_str("the end"),
        }
    }
}

/// One alert e-mail, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub helo: String,
    pub from: String,
    /// Never empty (checked by [`Dialogue::new`]).
    pub to: Vec<String>,
    pub subject: String,
    pub body: String,
    /// RFC 5322 date, e.g. `Mon, 23 Nov 2026 18:40:00 +0000`.
    pub date: String,
}

/// What changed state: an instance or a sync group (keepalived words them differently).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject<'a> {
    Instance(&'a str),
    Group(&'a str),
}

/// Whether keepalived mails about a transition to `state` at all: not about FAULT with
/// `no_email_faults`, never about stopping (see [`vrrp_mail`]).
pub fn mails_about(global: &GlobalDefs, state: State) -> bool {
    match state {
        State::Fault => !global.no_email_faults,
        State::Master | State::Backup => true,
        State::Initialize => false,
    }
}

/// Builds keepalived's alert for `what` entering `state`; `None` for states keepalived does
/// not mail about (stopping).
pub fn vrrp_mail(
    global: &GlobalDefs,
    hostname: &str,
    what: Subject<'_>,
    state: State,
    date: String,
) -> Option<Mail> {
    let word = match state {
        State::Master => "MASTER",
        State::Backup => "BACKUP",
        State::Fault => "FAULT",
        State::Initialize => return None,
    };
    let router_id = global.router_id.as_deref().unwrap_or(hostname);
    let (subject, body) = match what {
        Subject::Instance(name) => (
            format!("[{router_id}] VRRP Instance {name} - Entering {word} state"),
            match state {
                State::Master => "=> VRRP Instance is now owning VRRP VIPs <=",
                State::Backup => "=> VRRP Instance is no longer owning VRRP VIPs <=",
                _ => "=> VRRP Instance is in FAULT state <=",
            },
        ),
        Subject::Group(name) => (
            format!("[{router_id}] VRRP Group {name} - Entering {word} state"),
            match state {
                State::Master => "=> All VRRP group instances are now in MASTER state <=",
                State::Backup => "=> All VRRP group instances are now in BACKUP state <=",
                _ => "=> All VRRP group instances are now in FAULT state <=",
            },
        ),
    };
    Some(envelope(global, hostname, &subject, body, date))
}

/// A checker-side alert ([`crate::lvs::mail`]): keepalived puts `[router_id] ` before its
/// subject as before the VRRP ones.
pub fn checker_mail(
    global: &GlobalDefs,
    hostname: &str,
    alert: &crate::lvs::mail::Alert,
    date: String,
) -> Mail {
    let router_id = global.router_id.as_deref().unwrap_or(hostname);
    let subject = format!("[{router_id}] {}", alert.subject);
    envelope(global, hostname, &subject, &alert.body, date)
}

/// The headers every alert shares.
fn envelope(global: &GlobalDefs, hostname: &str, subject: &str, body: &str, date: String) -> Mail {
    let router_id = global.router_id.as_deref().unwrap_or(hostname);
    let helo = global.smtp_helo_name.as_deref().unwrap_or(router_id);
    let from = global
        .notification_email_from
        .clone()
        .unwrap_or_else(|| format!("keepalived@{hostname}"));
    Mail {
        helo: clean(helo),
        from: clean(&from),
        to: global.notification_email.iter().map(|t| clean(t)).collect(),
        subject: clean(subject),
        body: body.to_owned(),
        date,
    }
}

/// Drops line breaks from a configured value so it cannot inject SMTP commands or headers.
fn clean(s: &str) -> String {
    s.replace(['\r', '\n'], "")
}

/// Formats a Unix time (UTC) as an RFC 5322 date.
pub fn rfc5322_date(unix_secs: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = unix_secs / 86_400;
    let rem = unix_secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    let weekday = DAYS.get((days % 7) as usize).copied().unwrap_or("Thu");
    let month = MONTHS
        .get(m.saturating_sub(1) as usize)
        .copied()
        .unwrap_or("Jan");
    format!(
        "{weekday}, {d:02} {month} {y} {:02}:{:02}:{:02} +0000",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 -> (year, month 1..=12, day 1..=31); Howard Hinnant's algorithm.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

/// The client side of one SMTP delivery.
#[derive(Debug)]
pub struct Dialogue {
    mail: Mail,
    stage: Stage,
    /// Server bytes not yet forming a complete reply.
    input: Vec<u8>,
    /// Client bytes the runtime still has to write.
    output: Vec<u8>,
}

impl Dialogue {
    pub fn new(mail: Mail) -> Result<Self, SmtpError> {
        if mail.to.is_empty() {
            return Err(SmtpError::NoRecipients);
        }
        Ok(Self {
            mail,
            stage: Stage::Banner,
            input: Vec::new(),
            output: Vec::new(),
        })
    }

    pub fn stage(&self) -> Stage {
        self.stage
    }

    pub fn is_done(&self) -> bool {
        self.stage == Stage::Done
    }

    pub fn subject(&self) -> &str {
        &self.mail.subject
    }

    /// Bytes to write to the server.
    pub fn pending_output(&self) -> &[u8] {
        &self.output
    }

    /// The runtime wrote `n` bytes of [`Self::pending_output`].
    pub fn consume_output(&mut self, n: usize) {
        self.output.drain(..n.min(self.output.len()));
    }

    /// The server closed its side.
    pub fn on_eof(&mut self) -> Result<(), SmtpError> {
        if self.is_done() {
            return Ok(());
        }
        // A server that hangs up after accepting the message delivered it.
        if self.stage == Stage::Quit {
            self.stage = Stage::Done;
            return Ok(());
        }
        Err(SmtpError::Closed { stage: self.stage })
    }

    /// Feeds bytes read from the server; advances over every complete reply.
    pub fn on_input(&mut self, bytes: &[u8]) -> Result<(), SmtpError> {
        self.input.extend_from_slice(bytes);
        while let Some((code, text)) = self.take_reply()? {
            self.on_reply(code, &text)?;
        }
        if self.input.len() > MAX_REPLY {
            return Err(SmtpError::Malformed { stage: self.stage });
        }
        Ok(())
    }

    /// Removes one complete (possibly multi-line) reply from the input.
    fn take_reply(&mut self) -> Result<Option<(u16, String)>, SmtpError> {
        let mut start = 0;
        let mut text = String::new();
        loop {
            let Some(nl) = self.input[start..].iter().position(|&b| b == b'\n') else {
                return Ok(None);
            };
            let line = &self.input[start..start + nl];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let malformed = SmtpError::Malformed { stage: self.stage };
            let code = line
                .get(..3)
                .filter(|c| c.iter().all(u8::is_ascii_digit))
                .and_then(|c| std::str::from_utf8(c).ok()?.parse::<u16>().ok())
                .ok_or(malformed.clone())?;
            let sep = line.get(3).copied();
            if !matches!(sep, None | Some(b' ') | Some(b'-')) {
                return Err(malformed);
            }
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(&String::from_utf8_lossy(line.get(4..).unwrap_or(&[])));
            start += nl + 1;
            if sep != Some(b'-') {
                self.input.drain(..start);
                return Ok(Some((code, text)));
            }
        }
    }

    fn on_reply(&mut self, code: u16, text: &str) -> Result<(), SmtpError> {
        let ok = match self.stage {
            Stage::Banner => code == 220,
            Stage::Helo | Stage::MailFrom | Stage::Body => code == 250,
            Stage::RcptTo(_) => code == 250 || code == 251,
            Stage::Data => code == 354,
            Stage::Quit => code == 221,
            // Anything after QUIT's answer is ignored.
            Stage::Done => return Ok(()),
        };
        if !ok {
            return Err(SmtpError::Rejected {
                stage: self.stage,
                code,
                text: text.to_owned(),
            });
        }
        self.stage = match self.stage {
            Stage::Banner => {
                self.send(&format!("HELO {}\r\n", self.mail.helo));
                Stage::Helo
            }
            Stage::Helo => {
                self.send(&format!("MAIL FROM:<{}>\r\n", self.mail.from));
                Stage::MailFrom
            }
            Stage::MailFrom => self.rcpt(0),
            Stage::RcptTo(i) if i + 1 < self.mail.to.len() => self.rcpt(i + 1),
            Stage::RcptTo(_) => {
                self.send("DATA\r\n");
                Stage::Data
            }
            Stage::Data => {
                let message = self.message();
                self.send(&message);
                Stage::Body
            }
            Stage::Body => {
                self.send("QUIT\r\n");
                Stage::Quit
            }
            Stage::Quit | Stage::Done => Stage::Done,
        };
        Ok(())
    }

    fn rcpt(&mut self, i: usize) -> Stage {
        let to = self.mail.to.get(i).cloned().unwrap_or_default();
        self.send(&format!("RCPT TO:<{to}>\r\n"));
        Stage::RcptTo(i)
    }

    /// Headers, body and the terminating dot (body lines starting with '.' are dot-stuffed).
    fn message(&self) -> String {
        let m = &self.mail;
        let mut s = format!(
            "Date: {}\r\nFrom: {}\r\nSubject: {}\r\nX-Mailer: Keepalived\r\nTo: {}\r\n\r\n",
            m.date,
            m.from,
            m.subject,
            m.to.join(", ")
        );
        for line in m.body.lines() {
            if line.starts_with('.') {
                s.push('.');
            }
            s.push_str(line);
            s.push_str("\r\n");
        }
        s.push_str(".\r\n");
        s
    }

    fn send(&mut self, s: &str) {
        self.output.extend_from_slice(s.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn global() -> GlobalDefs {
        GlobalDefs {
            router_id: Some("LVS_A".into()),
            notification_email: vec!["ops@example.org".into(), "noc@example.org".into()],
            notification_email_from: Some("lb@example.org".into()),
            ..GlobalDefs::default()
        }
    }

    fn mail(state: State) -> Mail {
        vrrp_mail(
            &global(),
            "host1",
            Subject::Instance("VI_1"),
            state,
            rfc5322_date(0),
        )
        .unwrap()
    }

    /// Feeds `reply`, returns what the client answered.
    fn step(d: &mut Dialogue, reply: &str) -> String {
        d.on_input(reply.as_bytes()).unwrap();
        let out = String::from_utf8(d.pending_output().to_vec()).unwrap();
        d.consume_output(out.len());
        out
    }

    #[test]
    fn master_subject_and_body_as_keepalived() {
        let m = mail(State::Master);
        assert_eq!(
            m.subject,
            "[LVS_A] VRRP Instance VI_1 - Entering MASTER state"
        );
        assert_eq!(m.body, "=> VRRP Instance is now owning VRRP VIPs <=");
        assert_eq!(m.helo, "LVS_A");
        assert!(vrrp_mail(
            &global(),
            "h",
            Subject::Instance("x"),
            State::Initialize,
            String::new()
        )
        .is_none());
        let g = vrrp_mail(
            &GlobalDefs::default(),
            "host1",
            Subject::Group("G1"),
            State::Backup,
            String::new(),
        )
        .unwrap();
        assert_eq!(g.subject, "[host1] VRRP Group G1 - Entering BACKUP state");
        assert_eq!(g.from, "keepalived@host1");
        assert_eq!(g.helo, "host1");
    }

    #[test]
    fn full_dialogue() {
        let mut d = Dialogue::new(mail(State::Master)).unwrap();
        assert_eq!(d.pending_output(), b"");
        assert_eq!(step(&mut d, "220 mx ESMTP\r\n"), "HELO LVS_A\r\n");
        // Multi-line reply, split across reads.
        assert_eq!(step(&mut d, "250-mx hello\r\n250-PIPE"), "");
        assert_eq!(
            step(&mut d, "LINING\r\n250 OK\r\n"),
            "MAIL FROM:<lb@example.org>\r\n"
        );
        assert_eq!(step(&mut d, "250 OK\r\n"), "RCPT TO:<ops@example.org>\r\n");
        assert_eq!(step(&mut d, "250 OK\r\n"), "RCPT TO:<noc@example.org>\r\n");
        assert_eq!(step(&mut d, "251 forwarded\r\n"), "DATA\r\n");
        let msg = step(&mut d, "354 go ahead\r\n");
        assert!(
            msg.starts_with("Date: Thu, 01 Jan 1970 00:00:00 +0000\r\nFrom: lb@example.org\r\n")
        );
        assert!(msg.contains("\r\nSubject: [LVS_A] VRRP Instance VI_1 - Entering MASTER state\r\n"));
        assert!(msg
            .contains("\r\nX-Mailer: Keepalived\r\nTo: ops@example.org, noc@example.org\r\n\r\n"));
        assert!(msg.ends_with("\r\n\r\n=> VRRP Instance is now owning VRRP VIPs <=\r\n.\r\n"));
        assert_eq!(step(&mut d, "250 queued\r\n"), "QUIT\r\n");
        assert!(!d.is_done());
        assert_eq!(step(&mut d, "221 bye\r\n"), "");
        assert!(d.is_done());
        assert_eq!(d.on_eof(), Ok(()));
    }

    #[test]
    fn rejections_and_garbage_are_errors() {
        let mut d = Dialogue::new(mail(State::Backup)).unwrap();
        step(&mut d, "220 hi\r\n");
        let e = d.on_input(b"554 go away\r\n").unwrap_err();
        assert_eq!(
            e,
            SmtpError::Rejected {
                stage: Stage::Helo,
                code: 554,
                text: "go away".into()
            }
        );

        let mut d = Dialogue::new(mail(State::Fault)).unwrap();
        assert_eq!(
            d.on_input(b"hello there\r\n"),
            Err(SmtpError::Malformed {
                stage: Stage::Banner
            })
        );

        let mut d = Dialogue::new(mail(State::Fault)).unwrap();
        assert_eq!(
            d.on_input(&[b'2'; MAX_REPLY + 1]),
            Err(SmtpError::Malformed {
                stage: Stage::Banner
            })
        );

        let mut d = Dialogue::new(mail(State::Master)).unwrap();
        step(&mut d, "220 hi\r\n");
        assert_eq!(d.on_eof(), Err(SmtpError::Closed { stage: Stage::Helo }));

        let mut m = mail(State::Master);
        m.to.clear();
        assert_eq!(Dialogue::new(m).unwrap_err(), SmtpError::NoRecipients);
    }

    #[test]
    fn checker_alerts_get_the_router_id() {
        let alert = crate::lvs::mail::Alert {
            subject:
                "Realserver [198.51.100.1]:tcp:80 of virtual server [192.0.2.100]:tcp:80 - DOWN"
                    .into(),
            body: "=> TCP CHECK failed on service <=".into(),
        };
        let m = checker_mail(&global(), "host1", &alert, rfc5322_date(0));
        assert_eq!(
            m.subject,
            "[LVS_A] Realserver [198.51.100.1]:tcp:80 of virtual server [192.0.2.100]:tcp:80 - DOWN"
        );
        assert_eq!(m.body, "=> TCP CHECK failed on service <=");
        assert_eq!(
            (m.helo.as_str(), m.from.as_str()),
            ("LVS_A", "lb@example.org")
        );
        let m = checker_mail(&GlobalDefs::default(), "host1", &alert, String::new());
        assert!(
            m.subject.starts_with("[host1] Realserver "),
            "{}",
            m.subject
        );
    }

    #[test]
    fn dates() {
        assert_eq!(rfc5322_date(0), "Thu, 01 Jan 1970 00:00:00 +0000");
        // 2024-02-29 12:34:56 UTC, a leap day.
        assert_eq!(
            rfc5322_date(1_709_210_096),
            "Thu, 29 Feb 2024 12:34:56 +0000"
        );
    }

    #[test]
    fn no_email_faults_silences_fault_only() {
        let mut g = global();
        assert!(mails_about(&g, State::Fault));
        g.no_email_faults = true;
        assert!(!mails_about(&g, State::Fault));
        assert!(mails_about(&g, State::Master) && mails_about(&g, State::Backup));
        assert!(!mails_about(&g, State::Initialize));
    }
}
