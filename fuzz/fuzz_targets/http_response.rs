//! HTTP response heads and the streaming reader of HTTP_GET / SSL_GET (`healthcheck::http`).
//!
//! Input: byte 0 = knobs (bit 0: want the body digest; the rest seeds the chunk splits), then the
//! server's bytes. Invariants beyond "no panic":
//! - `parse_response_head`: a head's status is a valid code (100..=999), it occupies at most the
//!   input and [`MAX_HEAD`] bytes, and parsing just those bytes gives the same head;
//! - `ResponseReader`: feeding the bytes in arbitrary chunks gives exactly the outcome of feeding
//!   them at once (status, body length, digest or error), a digest is present iff it was asked
//!   for, and the body never exceeds a declared `Content-Length`.
#![no_main]

use healthcheck::http::{
    parse_response_head, FinishError, HeadError, ReadState, Response, ResponseReader, MAX_HEAD,
};
use libfuzzer_sys::fuzz_target;

/// How one read of a whole response ended.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Complete(Response),
    Head(HeadError),
    Closed(Result<Response, FinishError>),
}

/// Feeds `chunks` in order until the reader completes or fails, then closes the connection.
fn read<'a>(want_digest: bool, chunks: impl Iterator<Item = &'a [u8]>) -> Outcome {
    let mut reader = ResponseReader::new(want_digest);
    for chunk in chunks {
        match reader.feed(chunk) {
            Ok(ReadState::Incomplete) => {}
            Ok(ReadState::Complete(r)) => return Outcome::Complete(r),
            Err(e) => return Outcome::Head(e),
        }
    }
    Outcome::Closed(reader.finish())
}

/// A finished response agrees with the head parsed from the whole input `msg`.
fn check_response(r: &Response, want_digest: bool, msg: &[u8]) {
    assert_eq!(r.digest.is_some(), want_digest, "{r:?}");
    assert!((100..=999).contains(&r.status), "status {}", r.status);
    if let Ok(Some(h)) = parse_response_head(msg) {
        assert_eq!(h.status, r.status);
        if let Some(len) = h.content_length {
            assert!(
                r.body_len <= len,
                "{} body bytes, {len} declared",
                r.body_len
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&knobs, msg)) = data.split_first() else {
        return;
    };

    if let Ok(Some(head)) = parse_response_head(msg) {
        assert!(
            (100..=999).contains(&head.status),
            "status {} from {:?}",
            head.status,
            String::from_utf8_lossy(&msg[..head.head_len]),
        );
        assert!(head.head_len <= msg.len() && head.head_len <= MAX_HEAD);
        assert_eq!(parse_response_head(&msg[..head.head_len]), Ok(Some(head)));
    }

    let want_digest = knobs & 1 != 0;
    let whole = read(want_digest, std::iter::once(msg));
    let split = read(want_digest, Chunks::new(msg, knobs >> 1));
    assert_eq!(whole, split, "chunked read differs from whole read");
    match &whole {
        Outcome::Complete(r) | Outcome::Closed(Ok(r)) => check_response(r, want_digest, msg),
        Outcome::Head(_) | Outcome::Closed(Err(_)) => {}
    }
});

/// Splits `data` into chunks of 1..=64 bytes chosen by a xorshift generator seeded from the input.
struct Chunks<'a> {
    data: &'a [u8],
    state: u32,
}

impl<'a> Chunks<'a> {
    fn new(data: &'a [u8], seed: u8) -> Self {
        Chunks {
            data,
            state: 0x9e37_79b9 ^ u32::from(seed),
        }
    }
}

impl<'a> Iterator for Chunks<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.data.is_empty() {
            return None;
        }
        self.state ^= self.state << 13;
        self.state ^= self.state >> 17;
        self.state ^= self.state << 5;
        let n = (self.state % 64 + 1) as usize;
        let (chunk, rest) = self.data.split_at(n.min(self.data.len()));
        self.data = rest;
        Some(chunk)
    }
}
