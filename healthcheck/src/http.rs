//! HTTP/1.x for HTTP_GET and SSL_GET, as pure functions: request encoding, response head parsing,
//! incremental response reading with bounded memory and an MD5 of the body.
//!
//! No I/O here, so the parsers can be fuzzed directly.

use std::fmt;
use std::str::FromStr;

use md5::{Digest, Md5};

/// Largest accepted response head (status line + headers). A server sending more is broken or hostile.
pub const MAX_HEAD: usize = 64 * 1024;

/// HTTP version used for requests (keepalived's `http_protocol`: `1.0`, `1.0C`, `1.1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum HttpProtocol {
    /// `HTTP/1.0`, keepalived's default.
    #[default]
    V1_0,
    /// `HTTP/1.0` plus `Connection: close`.
    V1_0C,
    /// `HTTP/1.1` (always with `Connection: close`).
    V1_1,
}

/// Encode the GET request keepalived sends, byte for byte: request line, `User-Agent`, then
/// `Connection: close` for 1.0C and 1.1, then `Host`.
///
/// `host` is the Host header value (the `virtualhost`, or the target address). The port is appended
/// unless it is the scheme's default, as browsers and keepalived do. HTTP/1.1 requires the Host
/// header, which every version sends anyway; `Connection: close` makes a 1.1 server end the
/// response by closing, so a checker never waits on a kept-alive connection.
pub fn encode_request(
    path: &str,
    host: &str,
    port: u16,
    tls: bool,
    proto: HttpProtocol,
) -> Vec<u8> {
    let default_port = if tls { 443 } else { 80 };
    let version = match proto {
        HttpProtocol::V1_1 => "1.1",
        _ => "1.0",
    };
    let mut req = format!("GET {path} HTTP/{version}\r\nUser-Agent: KeepAliveClient\r\n");
    if proto != HttpProtocol::V1_0 {
        req.push_str("Connection: close\r\n");
    }
    req.push_str("Host: ");
    req.push_str(host);
    if port != default_port {
        req.push_str(&format!(":{port}"));
    }
    req.push_str("\r\n\r\n");
    req.into_bytes()
}

/// Host header for an IP target: IPv6 literals are bracketed.
pub fn host_for_ip(ip: std::net::IpAddr) -> String {
    match ip {
        std::net::IpAddr::V4(v4) => v4.to_string(),
        std::net::IpAddr::V6(v6) => format!("[{v6}]"),
    }
}

/// The parts of a response head a checker needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseHead {
    /// Status code from the status line.
    pub status: u16,
    /// `Content-Length`, if present and valid (absent with chunked coding or read-to-close).
    pub content_length: Option<u64>,
    /// Bytes of the head, including the blank line; the body starts here.
    pub head_len: usize,
}

/// Ways a response head can be unacceptable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HeadError {
    #[error("malformed HTTP status line")]
    BadStatusLine,
    #[error("malformed HTTP header line")]
    BadHeader,
    #[error("invalid Content-Length")]
    BadContentLength,
    #[error("HTTP response head larger than {MAX_HEAD} bytes")]
    TooLarge,
}

/// Parse a response head from the start of `buf`.
///
/// `Ok(None)` means more bytes are needed. Both CRLF and bare LF line ends are accepted (keepalived is
/// lenient too). The head is capped at [`MAX_HEAD`].
pub fn parse_response_head(buf: &[u8]) -> Result<Option<ResponseHead>, HeadError> {
    let Some(head_len) = find_head_end(buf) else {
        return if buf.len() >= MAX_HEAD {
            Err(HeadError::TooLarge)
        } else {
            // Reject garbage early rather than waiting for a blank line that may never come.
            check_status_prefix(buf)?;
            Ok(None)
        };
    };
    if head_len > MAX_HEAD {
        return Err(HeadError::TooLarge);
    }
    let head = &buf[..head_len];
    let mut lines = head
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let status_line = lines.next().ok_or(HeadError::BadStatusLine)?;
    let status = parse_status_line(status_line)?;
    let mut content_length = None;
    let mut chunked = false;
    for line in lines {
        if line.is_empty() {
            continue;
        }
        let colon = line
            .iter()
            .position(|&b| b == b':')
            .ok_or(HeadError::BadHeader)?;
        let name = &line[..colon];
        if name.is_empty() || name.iter().any(|b| !is_token_char(*b)) {
            return Err(HeadError::BadHeader);
        }
        let value = trim(&line[colon + 1..]);
        if name.eq_ignore_ascii_case(b"content-length") {
            let v = std::str::from_utf8(value)
                .ok()
                .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|s| s.parse::<u64>().ok())
                .ok_or(HeadError::BadContentLength)?;
            if content_length.is_some_and(|old| old != v) {
                return Err(HeadError::BadContentLength);
            }
            content_length = Some(v);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            chunked = true;
        }
    }
    Ok(Some(ResponseHead {
        status,
        // With a transfer coding the length is the connection's (RFC 9112 section 6.3).
        content_length: if chunked { None } else { content_length },
        head_len,
    }))
}

fn find_head_end(buf: &[u8]) -> Option<usize> {
    let limit = buf.len().min(MAX_HEAD + 4);
    let buf = &buf[..limit];
    let mut i = 0;
    while let Some(off) = buf[i..].iter().position(|&b| b == b'\n') {
        let nl = i + off;
        let rest = &buf[nl + 1..];
        if rest.first() == Some(&b'\n') {
            return Some(nl + 2);
        }
        if rest.starts_with(b"\r\n") {
            return Some(nl + 3);
        }
        i = nl + 1;
    }
    None
}

fn check_status_prefix(buf: &[u8]) -> Result<(), HeadError> {
    const PREFIX: &[u8] = b"HTTP/";
    let n = buf.len().min(PREFIX.len());
    if buf[..n] != PREFIX[..n] {
        return Err(HeadError::BadStatusLine);
    }
    Ok(())
}

fn parse_status_line(line: &[u8]) -> Result<u16, HeadError> {
    let rest = line
        .strip_prefix(b"HTTP/")
        .ok_or(HeadError::BadStatusLine)?;
    // "1.1 200 OK": version digits, a space, three digits, then a space or the end.
    let sp = rest
        .iter()
        .position(|&b| b == b' ')
        .ok_or(HeadError::BadStatusLine)?;
    let version = &rest[..sp];
    if version.is_empty() || !version.iter().all(|b| b.is_ascii_digit() || *b == b'.') {
        return Err(HeadError::BadStatusLine);
    }
    let code = &rest[sp + 1..];
    if code.len() < 3
        || !code[..3].iter().all(u8::is_ascii_digit)
        || code.get(3).is_some_and(|b| *b != b' ')
    {
        return Err(HeadError::BadStatusLine);
    }
    let status = code[..3]
        .iter()
        .fold(0u16, |acc, d| acc * 10 + u16::from(d - b'0'));
    // RFC 9110 §15: a status code is three digits, the first 1-5; 600-999 are tolerated
    // as private use, 000-099 are not status codes at all (found by the http_response fuzzer).
    if status < 100 {
        return Err(HeadError::BadStatusLine);
    }
    Ok(status)
}

fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// Accepted status codes: single codes and inclusive ranges (`status_code 200-299 302`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StatusCodes(Vec<(u16, u16)>);

impl StatusCodes {
    /// keepalived's default when neither status_code nor digest is given: 200-299.
    pub fn success() -> Self {
        StatusCodes(vec![(200, 299)])
    }

    pub fn contains(&self, code: u16) -> bool {
        self.0.iter().any(|&(lo, hi)| (lo..=hi).contains(&code))
    }
}

/// Why a status_code list did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid status_code item {0:?} (expected CODE or LOW-HIGH within 100-999)")]
pub struct StatusCodesError(pub String);

impl FromStr for StatusCodes {
    type Err = StatusCodesError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parse = |t: &str| t.parse::<u16>().ok().filter(|c| (100..=999).contains(c));
        let mut ranges = Vec::new();
        for item in s.split_ascii_whitespace() {
            let err = || StatusCodesError(item.to_owned());
            let range = match item.split_once('-') {
                Some((lo, hi)) => (parse(lo).ok_or_else(err)?, parse(hi).ok_or_else(err)?),
                None => {
                    let c = parse(item).ok_or_else(err)?;
                    (c, c)
                }
            };
            if range.0 > range.1 {
                return Err(err());
            }
            ranges.push(range);
        }
        if ranges.is_empty() {
            return Err(StatusCodesError(s.to_owned()));
        }
        Ok(StatusCodes(ranges))
    }
}

impl fmt::Display for StatusCodes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (lo, hi)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            if lo == hi {
                write!(f, "{lo}")?;
            } else {
                write!(f, "{lo}-{hi}")?;
            }
        }
        Ok(())
    }
}

/// Lower-case hex of an MD5 digest, the form keepalived's `digest` keyword and genhash use.
pub fn md5_hex(digest: &[u8; 16]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// MD5 of a complete body, as genhash computes it (over the raw bytes after the head).
pub fn body_digest(body: &[u8]) -> [u8; 16] {
    Md5::digest(body).into()
}

/// Incremental response reader: buffers at most [`MAX_HEAD`] bytes of head, then streams the body
/// through MD5 (if wanted) without keeping it.
#[derive(Debug, Clone)]
pub struct ResponseReader {
    want_digest: bool,
    head_buf: Vec<u8>,
    head: Option<ResponseHead>,
    body_len: u64,
    md5: Md5,
}

/// Where a [`ResponseReader`] stands after a chunk of input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadState {
    /// More bytes are needed.
    Incomplete,
    /// Everything the check needs has arrived; stop reading.
    Complete(Response),
}

/// A response as far as the check is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    /// MD5 of the body, if a digest was requested.
    pub digest: Option<[u8; 16]>,
    pub body_len: u64,
}

impl ResponseReader {
    /// `want_digest`: read the whole body and hash it; otherwise the head alone completes the response.
    pub fn new(want_digest: bool) -> Self {
        ResponseReader {
            want_digest,
            head_buf: Vec::new(),
            head: None,
            body_len: 0,
            md5: Md5::new(),
        }
    }

    /// Feed received bytes.
    pub fn feed(&mut self, mut data: &[u8]) -> Result<ReadState, HeadError> {
        if self.head.is_none() {
            let room = (MAX_HEAD + 4).saturating_sub(self.head_buf.len());
            let take = data.len().min(room);
            self.head_buf.extend_from_slice(&data[..take]);
            match parse_response_head(&self.head_buf)? {
                None => {
                    return if take < data.len() {
                        Err(HeadError::TooLarge)
                    } else {
                        Ok(ReadState::Incomplete)
                    }
                }
                Some(head) => {
                    self.head = Some(head);
                    // Bytes of this chunk past the head belong to the body.
                    let already = self.head_buf.len() - take;
                    let body_start = head.head_len.saturating_sub(already);
                    data = &data[body_start.min(data.len())..];
                    self.head_buf = Vec::new();
                }
            }
        }
        let Some(head) = self.head else {
            return Ok(ReadState::Incomplete);
        };
        if !self.want_digest {
            return Ok(ReadState::Complete(self.response(head)));
        }
        let take = match head.content_length {
            Some(len) => data
                .len()
                .min(usize::try_from(len - self.body_len).unwrap_or(usize::MAX)),
            None => data.len(),
        };
        self.md5.update(&data[..take]);
        self.body_len += take as u64;
        if head.content_length == Some(self.body_len) {
            return Ok(ReadState::Complete(self.response(head)));
        }
        Ok(ReadState::Incomplete)
    }

    /// The peer closed the connection. Complete if the head arrived and no declared length is missing.
    pub fn finish(&mut self) -> Result<Response, FinishError> {
        let head = self.head.ok_or(FinishError::ClosedInHead)?;
        if let Some(len) = head.content_length {
            if self.want_digest && self.body_len < len {
                return Err(FinishError::ShortBody {
                    expected: len,
                    got: self.body_len,
                });
            }
        }
        Ok(self.response(head))
    }

    fn response(&self, head: ResponseHead) -> Response {
        Response {
            status: head.status,
            digest: self.want_digest.then(|| self.md5.clone().finalize().into()),
            body_len: self.body_len,
        }
    }
}

/// The connection closed before the response was complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FinishError {
    #[error("connection closed before the end of the HTTP headers")]
    ClosedInHead,
    #[error("connection closed after {got} of {expected} body bytes")]
    ShortBody { expected: u64, got: u64 },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_head_and_body_digest_across_chunks() {
        let resp = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX: y\r\n\r\nhello";
        for split in 0..resp.len() {
            let mut r = ResponseReader::new(true);
            let mut state = r.feed(&resp[..split]).unwrap();
            if state == ReadState::Incomplete {
                state = r.feed(&resp[split..]).unwrap();
            }
            let ReadState::Complete(done) = state else {
                panic!("incomplete at split {split}")
            };
            assert_eq!(done.status, 200);
            assert_eq!(done.digest, Some(body_digest(b"hello")));
            assert_eq!(
                md5_hex(&body_digest(b"hello")),
                "5d41402abc4b2a76b9719d911017c592"
            );
        }
    }

    #[test]
    fn rejects_garbage_and_oversized_heads() {
        assert_eq!(
            parse_response_head(b"SSH-2.0-OpenSSH\r\n"),
            Err(HeadError::BadStatusLine)
        );
        assert_eq!(
            parse_response_head(b"HTTP/1.1 2x0 OK\r\n\r\n"),
            Err(HeadError::BadStatusLine)
        );
        // Fuzz regression (fuzz/regressions/http_response): 000-099 are not status codes.
        for line in [
            &b"HTTP/1.1 000 OK\r\n\r\n"[..],
            b"HTTP/1.1 002 OK\r\n\r\n",
            b"HTTP/1.0 099\r\n\r\n",
        ] {
            assert_eq!(parse_response_head(line), Err(HeadError::BadStatusLine));
        }
        assert_eq!(
            parse_response_head(b"HTTP/1.1 200 OK\r\nbad header\r\n\r\n"),
            Err(HeadError::BadHeader)
        );
        assert_eq!(
            parse_response_head(b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"),
            Err(HeadError::BadContentLength)
        );
        assert_eq!(
            parse_response_head(b"HTTP/1.0 404 Not Found\n\n")
                .unwrap()
                .unwrap()
                .status,
            404
        );
        let mut big = b"HTTP/1.1 200 OK\r\n".to_vec();
        while big.len() < MAX_HEAD + 10 {
            big.extend_from_slice(b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
        }
        let mut r = ResponseReader::new(false);
        assert_eq!(r.feed(&big), Err(HeadError::TooLarge));
    }

    #[test]
    fn status_code_ranges() {
        let s: StatusCodes = "200-299 302".parse().unwrap();
        assert!(s.contains(204) && s.contains(302) && !s.contains(301) && !s.contains(500));
        assert_eq!(s.to_string(), "200-299 302");
        assert!("300-200".parse::<StatusCodes>().is_err());
        assert!("abc".parse::<StatusCodes>().is_err());
        assert!("".parse::<StatusCodes>().is_err());
    }

    #[test]
    fn request_matches_keepalived() {
        let r = encode_request("/index.html", "192.0.2.1", 8080, false, HttpProtocol::V1_0);
        assert_eq!(
            r,
            b"GET /index.html HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: 192.0.2.1:8080\r\n\r\n"
        );
        let r = encode_request("/", "www.example", 80, false, HttpProtocol::V1_0C);
        assert_eq!(
            r,
            b"GET / HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: www.example\r\n\r\n"
        );
        let r = encode_request("/h", "[2001:db8::1]", 8443, true, HttpProtocol::V1_1);
        assert_eq!(
            r,
            b"GET /h HTTP/1.1\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: [2001:db8::1]:8443\r\n\r\n"
        );
    }

    #[test]
    fn close_in_head_and_short_body() {
        let mut r = ResponseReader::new(true);
        r.feed(b"HTTP/1.1 200 OK\r\nContent-Le").unwrap();
        assert_eq!(r.finish(), Err(FinishError::ClosedInHead));
        let mut r = ResponseReader::new(true);
        r.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
            .unwrap();
        assert!(matches!(r.finish(), Err(FinishError::ShortBody { .. })));
    }
}
