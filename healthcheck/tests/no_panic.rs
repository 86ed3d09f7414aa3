//! The pure parsers never panic and never exceed their memory bounds, whatever the peer sends.

use healthcheck::dns::{encode_query, parse_response, RecordType};
use healthcheck::http::{parse_response_head, ReadState, ResponseReader, MAX_HEAD};
use healthcheck::misc::CommandLine;
use healthcheck::smtp::{parse_reply, Dialogue};
use proptest::prelude::*;

proptest! {
    #[test]
    fn http_reader_any_chunks(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..512), 0..16),
                              digest in any::<bool>()) {
        let mut r = ResponseReader::new(digest);
        for c in &chunks {
            match r.feed(c) {
                Ok(ReadState::Incomplete) => {}
                Ok(ReadState::Complete(_)) | Err(_) => break,
            }
        }
        let _ = r.finish();
    }

    #[test]
    fn http_head_valid_prefixes(status in 100u16..1000, extra in "[ -~]{0,40}", len in proptest::option::of(0u64..100000)) {
        let mut head = format!("HTTP/1.1 {status} {extra}\r\n");
        if let Some(l) = len {
            head.push_str(&format!("Content-Length: {l}\r\n"));
        }
        head.push_str("\r\n");
        let parsed = parse_response_head(head.as_bytes()).unwrap().unwrap();
        prop_assert_eq!(parsed.status, status);
        prop_assert_eq!(parsed.content_length, len);
        prop_assert_eq!(parsed.head_len, head.len());
        // Every strict prefix is incomplete or (for the status line prefix) still plausible, never an error.
        for i in 0..head.len() {
            prop_assert!(parse_response_head(&head.as_bytes()[..i]).unwrap().is_none());
        }
        prop_assert!(head.len() < MAX_HEAD);
    }

    #[test]
    fn smtp_any_input(data in proptest::collection::vec(any::<u8>(), 0..2048), split in 0usize..2048) {
        let _ = parse_reply(&data);
        let mut d = Dialogue::new("x");
        let at = split.min(data.len());
        if d.feed(&data[..at]).is_ok() {
            let _ = d.feed(&data[at..]);
        }
    }

    #[test]
    fn dns_any_response(resp in proptest::collection::vec(any::<u8>(), 0..600), name in "[a-z]{1,10}(\\.[a-z]{1,10}){0,3}") {
        let q = encode_query(0x1234, &name, RecordType::A).unwrap();
        let _ = parse_response(&resp, &q);
        // A response that starts like ours but carries garbage after the header must not panic either.
        let mut mixed = q.clone();
        mixed[2] |= 0x80;
        mixed.extend_from_slice(&resp);
        let _ = parse_response(&mixed, &q);
    }

    #[test]
    fn command_line_any(line in "\\PC{0,80}") {
        if let Ok(cmd) = CommandLine::parse(&line) {
            prop_assert!(!cmd.argv().is_empty());
        }
    }
}
