//! SMTP replies and the SMTP_CHECK dialogue (`healthcheck::smtp`).
//!
//! Input: byte 0 = length of the HELO name (mod 32), then the name, then a byte that seeds the
//! chunk splits, then the server's bytes. Invariants beyond "no panic":
//! - `parse_reply`: a reply occupies `1..=input` bytes, its code is the first three digits, and
//!   parsing just those bytes gives the same reply (no look-ahead);
//! - `Dialogue`: stages only move forward, `Done` is final, and what it sends is only
//!   `HELO <name>` / `QUIT` lines, never a stray CR or LF (no command injection).
#![no_main]

use healthcheck::smtp::{parse_reply, Dialogue, Stage, Step, MAX_REPLY};
use libfuzzer_sys::fuzz_target;

fn rank(stage: Stage) -> u8 {
    match stage {
        Stage::Banner => 0,
        Stage::Helo => 1,
        Stage::Quit => 2,
        Stage::Done => 3,
    }
}

fn check_reply(buf: &[u8]) {
    match parse_reply(buf) {
        Ok(Some(reply)) => {
            assert!(reply.len >= 4 && reply.len <= buf.len(), "{reply:?}");
            let digits = std::str::from_utf8(&buf[..3]).expect("digits are ASCII");
            assert_eq!(digits.parse::<u16>().ok(), Some(reply.code));
            assert_eq!(parse_reply(&buf[..reply.len]), Ok(Some(reply)));
        }
        Ok(None) => assert!(buf.len() < MAX_REPLY),
        Err(_) => {}
    }
}

fn check_sent(bytes: &[u8], helo: &str) {
    let text = std::str::from_utf8(bytes).expect("the dialogue sends UTF-8");
    let body = text.strip_suffix("\r\n").expect("sent lines end in CRLF");
    for line in body.split("\r\n") {
        assert!(!line.contains(['\r', '\n']), "stray line break in {text:?}");
        let helo_line = line
            .strip_prefix("HELO ")
            .is_some_and(|n| n.chars().eq(helo.chars().filter(|c| !c.is_control())));
        assert!(helo_line || line == "QUIT", "unexpected command {line:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    check_reply(data);

    let Some((&name_len, rest)) = data.split_first() else {
        return;
    };
    let name_len = usize::from(name_len % 32).min(rest.len());
    let (name, rest) = rest.split_at(name_len);
    let helo = String::from_utf8_lossy(name);
    let Some((&seed, server)) = rest.split_first() else {
        return;
    };
    check_reply(server);

    let mut dialogue = Dialogue::new(&helo);
    let mut chunks = Chunks::new(server, seed);
    let mut last = rank(dialogue.stage());
    for chunk in &mut chunks {
        let step = dialogue.feed(chunk);
        let now = rank(dialogue.stage());
        assert!(now >= last, "stage went back: {last} -> {now}");
        last = now;
        match step {
            Ok(Step::Done) => assert_eq!(dialogue.stage(), Stage::Done),
            Ok(Step::Send(bytes)) => check_sent(&bytes, &helo),
            Ok(Step::NeedInput) => assert_ne!(dialogue.stage(), Stage::Done),
            Err(_) => return,
        }
    }
    if dialogue.stage() == Stage::Done {
        assert_eq!(dialogue.feed(b"250 more\r\n"), Ok(Step::Done));
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
