//! The SMTP_CHECK dialogue as a pure state machine: banner 220, `HELO name` / 250, `QUIT` / any reply.
//!
//! Replies may be multi-line (`250-first`, `250 last`, RFC 5321 section 4.2.1); keepalived 2.2 reads only
//! the first line and so rejects multi-line banners, which real servers do send.

/// Largest reply we buffer. RFC 5321 limits reply lines to 512 octets; multi-line banners and EHLO-style
/// chatter stay well below this.
pub const MAX_REPLY: usize = 16 * 1024;

/// A complete (possibly multi-line) reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    /// Bytes of input the reply occupied.
    pub len: usize,
}

/// A reply that is not SMTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    #[error("malformed SMTP reply line")]
    Malformed,
    #[error("SMTP reply lines disagree on the code")]
    CodeMismatch,
    #[error("SMTP reply longer than {MAX_REPLY} bytes")]
    TooLarge,
}

/// Parse one complete reply from the start of `buf`; `Ok(None)` if more bytes are needed.
pub fn parse_reply(buf: &[u8]) -> Result<Option<Reply>, ReplyError> {
    let mut pos = 0;
    let mut code = None;
    loop {
        let rest = &buf[pos..];
        let Some(nl) = rest.iter().position(|&b| b == b'\n') else {
            // Validate what we have of the line so that garbage fails fast.
            check_partial_line(rest)?;
            return if buf.len() >= MAX_REPLY {
                Err(ReplyError::TooLarge)
            } else {
                Ok(None)
            };
        };
        let line = &rest[..nl];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.len() < 3 || !line[..3].iter().all(u8::is_ascii_digit) {
            return Err(ReplyError::Malformed);
        }
        let this = line[..3]
            .iter()
            .fold(0u16, |a, d| a * 10 + u16::from(d - b'0'));
        if code.is_some_and(|c| c != this) {
            return Err(ReplyError::CodeMismatch);
        }
        code = Some(this);
        pos += nl + 1;
        if pos > MAX_REPLY {
            return Err(ReplyError::TooLarge);
        }
        match line.get(3) {
            Some(b'-') => continue,
            None | Some(b' ') => {
                return Ok(Some(Reply {
                    code: this,
                    len: pos,
                }))
            }
            Some(_) => return Err(ReplyError::Malformed),
        }
    }
}

fn check_partial_line(line: &[u8]) -> Result<(), ReplyError> {
    let digits = line.len().min(3);
    if !line[..digits].iter().all(u8::is_ascii_digit) {
        return Err(ReplyError::Malformed);
    }
    match line.get(3) {
        None | Some(b' ' | b'-' | b'\r') => Ok(()),
        Some(_) => Err(ReplyError::Malformed),
    }
}

/// Where the dialogue stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Waiting for the 220 greeting.
    Banner,
    /// Sent HELO, waiting for 250.
    Helo,
    /// Sent QUIT, waiting for any reply line (keepalived does not check the 221).
    Quit,
    /// Dialogue complete.
    Done,
}

/// What the dialogue wants next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Read more bytes.
    NeedInput,
    /// Send these bytes, then read more.
    Send(Vec<u8>),
    /// The server passed the check.
    Done,
}

/// The server's answer was not what the check expects at this stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DialogueError {
    #[error("bad server greeting (code {0})")]
    Banner(u16),
    #[error("bad HELO response (code {0})")]
    Helo(u16),
    #[error("{0}")]
    Reply(#[from] ReplyError),
}

/// The SMTP_CHECK dialogue, fed with received bytes.
#[derive(Debug, Clone)]
pub struct Dialogue {
    helo_name: String,
    stage: Stage,
    buf: Vec<u8>,
}

impl Dialogue {
    pub fn new(helo_name: &str) -> Self {
        Dialogue {
            // CR/LF in a configured name would inject commands; keep the name on one line.
            helo_name: helo_name.chars().filter(|c| !c.is_control()).collect(),
            stage: Stage::Banner,
            buf: Vec::new(),
        }
    }

    pub fn stage(&self) -> Stage {
        self.stage
    }

    /// Feed received bytes; returns what to do next.
    pub fn feed(&mut self, data: &[u8]) -> Result<Step, DialogueError> {
        let room = MAX_REPLY.saturating_sub(self.buf.len());
        self.buf.extend_from_slice(&data[..data.len().min(room)]);
        let mut out = Vec::new();
        if self.stage == Stage::Quit && self.buf.contains(&b'\n') {
            self.stage = Stage::Done;
        }
        if self.stage == Stage::Done {
            return Ok(Step::Done);
        }
        while let Some(reply) = parse_reply(&self.buf)? {
            self.buf.drain(..reply.len);
            match self.stage {
                Stage::Banner if reply.code == 220 => {
                    out.extend_from_slice(format!("HELO {}\r\n", self.helo_name).as_bytes());
                    self.stage = Stage::Helo;
                }
                Stage::Banner => return Err(DialogueError::Banner(reply.code)),
                Stage::Helo if reply.code == 250 => {
                    out.extend_from_slice(b"QUIT\r\n");
                    self.stage = Stage::Quit;
                }
                Stage::Helo => return Err(DialogueError::Helo(reply.code)),
                // Any answer to QUIT ends the dialogue.
                Stage::Quit | Stage::Done => {
                    self.stage = Stage::Done;
                    return Ok(Step::Done);
                }
            }
        }
        if data.len() > room {
            return Err(ReplyError::TooLarge.into());
        }
        Ok(if out.is_empty() {
            Step::NeedInput
        } else {
            Step::Send(out)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_dialogue_with_multiline_banner() {
        let mut d = Dialogue::new("lb1.example");
        assert_eq!(
            d.feed(b"220-mail.example ESMTP\r\n").unwrap(),
            Step::NeedInput
        );
        assert_eq!(
            d.feed(b"220 ready\r\n").unwrap(),
            Step::Send(b"HELO lb1.example\r\n".to_vec())
        );
        assert_eq!(
            d.feed(b"250 hi\r\n").unwrap(),
            Step::Send(b"QUIT\r\n".to_vec())
        );
        assert_eq!(d.feed(b"221 bye\r\n").unwrap(), Step::Done);
    }

    #[test]
    fn rejects_wrong_codes_and_garbage() {
        assert_eq!(
            Dialogue::new("x").feed(b"554 go away\r\n"),
            Err(DialogueError::Banner(554))
        );
        assert!(Dialogue::new("x").feed(b"HTTP/1.1 400\r\n").is_err());
        assert!(Dialogue::new("x").feed(b"SSH-2.0").is_err());
        assert_eq!(
            parse_reply(b"250-a\r\n251 b\r\n"),
            Err(ReplyError::CodeMismatch)
        );
        let huge = vec![b'2'; MAX_REPLY + 1];
        assert!(Dialogue::new("x").feed(&huge).is_err());
    }

    #[test]
    fn helo_name_cannot_inject() {
        let mut d = Dialogue::new("a\r\nRSET");
        assert_eq!(
            d.feed(b"220 x\r\n").unwrap(),
            Step::Send(b"HELO aRSET\r\n".to_vec())
        );
    }
}
