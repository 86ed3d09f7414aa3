//! Just enough HTTP/1.1 for a Prometheus scraper: `GET /metrics` (and `HEAD`), one response
//! with `Content-Length` and `Connection: close`. Headers are read and ignored; a request larger
//! than [`MAX_REQUEST`] is answered 431.

use super::server::{Parse, Protocol};

/// Request line plus headers; scrapers send a few hundred bytes.
pub const MAX_REQUEST: usize = 8 * 1024;

/// A request the loop answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricsRequest {
    /// HEAD: headers only.
    pub head: bool,
}

pub fn protocol() -> Protocol<MetricsRequest> {
    Protocol {
        max_request: MAX_REQUEST,
        parse,
        too_large: || error(431, "Request Header Fields Too Large"),
    }
}

fn parse(buf: &[u8]) -> Parse<MetricsRequest> {
    // The head ends at the first empty line (CRLF CRLF; a bare LF LF is tolerated).
    let Some(line_end) = buf.iter().position(|b| *b == b'\n') else {
        return Parse::Incomplete;
    };
    let complete = buf.windows(4).any(|w| w == b"\r\n\r\n") || buf.windows(2).any(|w| w == b"\n\n");
    if !complete {
        return Parse::Incomplete;
    }
    let line = buf[..line_end]
        .strip_suffix(b"\r")
        .unwrap_or(&buf[..line_end]);
    let mut parts = line.split(|b| *b == b' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Parse::Reply(error(400, "Bad Request"));
    };
    if !version.starts_with(b"HTTP/1.") {
        return Parse::Reply(error(505, "HTTP Version Not Supported"));
    }
    let path = target.split(|b| *b == b'?').next().unwrap_or(target);
    let head = match method {
        b"GET" => false,
        b"HEAD" => true,
        _ => return Parse::Reply(error(405, "Method Not Allowed")),
    };
    if path != b"/metrics" {
        return Parse::Reply(error(404, "Not Found"));
    }
    Parse::Request(MetricsRequest { head })
}

/// A `200 OK` response as its head and its body (empty for HEAD), sent one after the other:
/// a body of many megabytes is not copied behind the head.
pub fn ok(content_type: &str, body: Vec<u8>, head: bool) -> (Vec<u8>, Vec<u8>) {
    let out = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    (out, if head { Vec::new() } else { body })
}

fn error(code: u16, reason: &str) -> Vec<u8> {
    let body = format!("{code} {reason}\n");
    let mut out = format!(
        "HTTP/1.1 {code} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    if code == 405 {
        out.push_str("Allow: GET, HEAD\r\n");
    }
    out.push_str("\r\n");
    out.push_str(&body);
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status_of(p: Parse<MetricsRequest>) -> String {
        match p {
            Parse::Reply(b) => String::from_utf8(b)
                .unwrap()
                .lines()
                .next()
                .unwrap()
                .to_owned(),
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn requests() {
        assert_eq!(
            parse(b"GET /metrics HTTP/1.1\r\nHost: x"),
            Parse::Incomplete
        );
        assert_eq!(
            parse(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
            Parse::Request(MetricsRequest { head: false })
        );
        assert_eq!(
            parse(b"HEAD /metrics?x=1 HTTP/1.0\n\n"),
            Parse::Request(MetricsRequest { head: true })
        );
        assert_eq!(
            status_of(parse(b"GET / HTTP/1.1\r\n\r\n")),
            "HTTP/1.1 404 Not Found"
        );
        assert_eq!(
            status_of(parse(b"POST /metrics HTTP/1.1\r\n\r\n")),
            "HTTP/1.1 405 Method Not Allowed"
        );
        assert_eq!(
            status_of(parse(b"GET /metrics\r\n\r\n")),
            "HTTP/1.1 400 Bad Request"
        );
        assert_eq!(
            status_of(parse(b"GET /metrics SPDY/3\r\n\r\n")),
            "HTTP/1.1 505 HTTP Version Not Supported"
        );
        assert_eq!(status_of(parse(b"\r\n\r\n")), "HTTP/1.1 400 Bad Request");
    }

    #[test]
    fn responses() {
        let (r, body) = ok("text/plain", b"abc".to_vec(), false);
        assert!(r.ends_with(b"Content-Length: 3\r\nConnection: close\r\n\r\n"));
        assert_eq!(body, b"abc");
        let (h, body) = ok("text/plain", b"abc".to_vec(), true);
        assert!(h.ends_with(b"Content-Length: 3\r\nConnection: close\r\n\r\n"));
        assert!(body.is_empty());
    }
}
