//! DNS_CHECK responses (`healthcheck::dns::parse_response`) against a query built by
//! `encode_query` from input-derived fields.
//!
//! Input: bytes 0-1 = query id, byte 2 = knobs (bits 0-2: record type, bit 7: the response
//! starts with the query's own header, so the fuzzer spends its time on the question section),
//! byte 3 = name length (mod 64), then the name, then the response. Invariants beyond "no panic":
//! - a query that encodes is at least a header, a root label and QTYPE/QCLASS, carries the id and
//!   echoed back with QR set (a minimal NOERROR response) is accepted with no answers;
//! - an accepted response has the query's id, QR set, opcode QUERY, RCODE 0, one question, and
//!   reports ANCOUNT and the TC bit as they are on the wire.
#![no_main]

use healthcheck::dns::{encode_query, parse_response, RecordType};
use libfuzzer_sys::fuzz_target;

const HEADER: usize = 12;
const TYPES: [RecordType; 7] = [
    RecordType::A,
    RecordType::Ns,
    RecordType::Cname,
    RecordType::Soa,
    RecordType::Mx,
    RecordType::Txt,
    RecordType::Aaaa,
];

fuzz_target!(|data: &[u8]| {
    let [id_hi, id_lo, knobs, name_len, rest @ ..] = data else {
        return;
    };
    let name_len = usize::from(name_len % 64).min(rest.len());
    let (name, rest) = rest.split_at(name_len);
    let name = String::from_utf8_lossy(name);
    let qtype = TYPES[usize::from(knobs & 7) % TYPES.len()];
    let id = u16::from_be_bytes([*id_hi, *id_lo]);

    let Ok(query) = encode_query(id, &name, qtype) else {
        return;
    };
    assert!(query.len() >= HEADER + 1 + 4);
    assert_eq!(query[..2], id.to_be_bytes());

    let mut echo = query.clone();
    echo[2] |= 0x80;
    let answer = parse_response(&echo, &query).expect("the echoed query is a valid response");
    assert_eq!((answer.answers, answer.truncated), (0, false));

    let msg = if knobs & 0x80 != 0 {
        let mut msg = echo[..HEADER].to_vec();
        msg.extend_from_slice(rest);
        msg
    } else {
        rest.to_vec()
    };
    if let Ok(answer) = parse_response(&msg, &query) {
        assert_eq!(msg[..2], query[..2]);
        let flags = u16::from_be_bytes([msg[2], msg[3]]);
        assert_eq!(flags & 0xf80f, 0x8000, "flags {flags:#06x}");
        assert_eq!(msg[4..6], [0, 1]);
        assert_eq!(answer.answers, u16::from_be_bytes([msg[6], msg[7]]));
        assert_eq!(answer.truncated, flags & 0x0200 != 0);
    }
});
