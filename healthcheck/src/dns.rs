//! DNS_CHECK messages (RFC 1035): query encoding and response validation, as pure functions.

use std::fmt;
use std::str::FromStr;

/// Query types keepalived's DNS_CHECK accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordType {
    A,
    Ns,
    Cname,
    Soa,
    Mx,
    Txt,
    Aaaa,
}

impl RecordType {
    pub fn code(self) -> u16 {
        match self {
            RecordType::A => 1,
            RecordType::Ns => 2,
            RecordType::Cname => 5,
            RecordType::Soa => 6,
            RecordType::Mx => 15,
            RecordType::Txt => 16,
            RecordType::Aaaa => 28,
        }
    }
}

impl FromStr for RecordType {
    type Err = DnsError;

    fn from_str(s: &str) -> Result<Self, DnsError> {
        Ok(match s.to_ascii_uppercase().as_str() {
            "A" => RecordType::A,
            "NS" => RecordType::Ns,
            "CNAME" => RecordType::Cname,
            "SOA" => RecordType::Soa,
            "MX" => RecordType::Mx,
            "TXT" => RecordType::Txt,
            "AAAA" => RecordType::Aaaa,
            _ => return Err(DnsError::UnknownType),
        })
    }
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RecordType::A => "A",
            RecordType::Ns => "NS",
            RecordType::Cname => "CNAME",
            RecordType::Soa => "SOA",
            RecordType::Mx => "MX",
            RecordType::Txt => "TXT",
            RecordType::Aaaa => "AAAA",
        })
    }
}

/// Everything that can be wrong with a query name or a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DnsError {
    #[error("unknown DNS query type")]
    UnknownType,
    #[error("invalid query name")]
    BadName,
    #[error("response too short")]
    Truncated,
    #[error("response id does not match the query")]
    IdMismatch,
    #[error("message is not a response")]
    NotResponse,
    #[error("response opcode is not QUERY")]
    BadOpcode,
    #[error("RCODE {0}")]
    Rcode(u8),
    #[error("response question does not match the query")]
    QuestionMismatch,
    #[error("malformed name in response")]
    BadCompression,
}

const HEADER: usize = 12;
const CLASS_IN: u16 = 1;

/// Encode a recursive query for `name` (`.` is the root) with the given id.
pub fn encode_query(id: u16, name: &str, qtype: RecordType) -> Result<Vec<u8>, DnsError> {
    let mut msg = Vec::with_capacity(HEADER + name.len() + 6);
    msg.extend_from_slice(&id.to_be_bytes());
    // RD set, like keepalived (and dig): a recursive server can answer names it is not authoritative for.
    msg.extend_from_slice(&0x0100u16.to_be_bytes());
    msg.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
    encode_name(name, &mut msg)?;
    msg.extend_from_slice(&qtype.code().to_be_bytes());
    msg.extend_from_slice(&CLASS_IN.to_be_bytes());
    Ok(msg)
}

fn encode_name(name: &str, out: &mut Vec<u8>) -> Result<(), DnsError> {
    let trimmed = name.strip_suffix('.').unwrap_or(name);
    let start = out.len();
    if !trimmed.is_empty() {
        for label in trimmed.split('.') {
            let len = u8::try_from(label.len()).map_err(|_| DnsError::BadName)?;
            if len == 0 || len > 63 {
                return Err(DnsError::BadName);
            }
            out.push(len);
            out.extend_from_slice(label.as_bytes());
        }
    }
    out.push(0);
    if out.len() - start > 255 {
        return Err(DnsError::BadName);
    }
    Ok(())
}

/// What a valid response told us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer {
    /// Number of answer records.
    pub answers: u16,
    /// The TC bit: the answer was truncated (still a valid NOERROR reply for a health check).
    pub truncated: bool,
}

/// Validate `msg` as the response to `query` (as produced by [`encode_query`]).
///
/// Up means: same id, QR set, opcode QUERY, RCODE NOERROR, and exactly the question we asked (names
/// compared case-insensitively, compression pointers followed with loop protection).
pub fn parse_response(msg: &[u8], query: &[u8]) -> Result<Answer, DnsError> {
    if msg.len() < HEADER || query.len() < HEADER {
        return Err(DnsError::Truncated);
    }
    if msg[..2] != query[..2] {
        return Err(DnsError::IdMismatch);
    }
    let flags = u16::from_be_bytes([msg[2], msg[3]]);
    if flags & 0x8000 == 0 {
        return Err(DnsError::NotResponse);
    }
    if (flags >> 11) & 0xf != 0 {
        return Err(DnsError::BadOpcode);
    }
    let rcode = (flags & 0xf) as u8;
    if rcode != 0 {
        return Err(DnsError::Rcode(rcode));
    }
    let qdcount = u16::from_be_bytes([msg[4], msg[5]]);
    if qdcount != 1 {
        return Err(DnsError::QuestionMismatch);
    }
    let (qname, end) = read_name(msg, HEADER)?;
    let (want, want_end) = read_name(query, HEADER)?;
    let tail = msg.get(end..end + 4).ok_or(DnsError::Truncated)?;
    let want_tail = query
        .get(want_end..want_end + 4)
        .ok_or(DnsError::Truncated)?;
    if !qname.eq_ignore_ascii_case(&want) || tail != want_tail {
        return Err(DnsError::QuestionMismatch);
    }
    Ok(Answer {
        answers: u16::from_be_bytes([msg[6], msg[7]]),
        truncated: flags & 0x0200 != 0,
    })
}

/// Read a possibly compressed name at `pos`; returns its dotted-label bytes and the offset after it.
fn read_name(msg: &[u8], mut pos: usize) -> Result<(Vec<u8>, usize), DnsError> {
    let mut name = Vec::new();
    let mut end = None;
    // Each pointer must go strictly backwards, so loops are impossible; the count is a second guard.
    let mut jumps = 0;
    let mut limit = pos;
    loop {
        let len = *msg.get(pos).ok_or(DnsError::Truncated)?;
        match len & 0xc0 {
            0x00 => {
                if len == 0 {
                    return Ok((name, end.unwrap_or(pos + 1)));
                }
                let label = msg
                    .get(pos + 1..pos + 1 + usize::from(len))
                    .ok_or(DnsError::Truncated)?;
                name.extend_from_slice(label);
                name.push(b'.');
                if name.len() > 255 {
                    return Err(DnsError::BadCompression);
                }
                pos += 1 + usize::from(len);
            }
            0xc0 => {
                let lo = *msg.get(pos + 1).ok_or(DnsError::Truncated)?;
                let target = usize::from(u16::from_be_bytes([len & 0x3f, lo]));
                jumps += 1;
                if target >= limit || jumps > 64 {
                    return Err(DnsError::BadCompression);
                }
                end.get_or_insert(pos + 2);
                limit = target;
                pos = target;
            }
            _ => return Err(DnsError::BadCompression),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer_for(query: &[u8], rcode: u8) -> Vec<u8> {
        let mut r = query.to_vec();
        r[2] = 0x81;
        r[3] = 0x80 | rcode;
        r[7] = 1;
        // One A record using a compression pointer to the question name.
        r.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1]);
        r
    }

    #[test]
    fn round_trip_and_errors() {
        let q = encode_query(0x1234, "x.test", RecordType::A).unwrap();
        assert_eq!(&q[12..], b"\x01x\x04test\x00\x00\x01\x00\x01");
        let a = parse_response(&answer_for(&q, 0), &q).unwrap();
        assert_eq!(a.answers, 1);
        assert_eq!(
            parse_response(&answer_for(&q, 3), &q),
            Err(DnsError::Rcode(3))
        );
        let mut wrong_id = answer_for(&q, 0);
        wrong_id[1] ^= 1;
        assert_eq!(parse_response(&wrong_id, &q), Err(DnsError::IdMismatch));
        let other = encode_query(0x1234, "y.test", RecordType::A).unwrap();
        assert_eq!(
            parse_response(&answer_for(&other, 0), &q),
            Err(DnsError::QuestionMismatch)
        );
        assert_eq!(parse_response(&q, &q), Err(DnsError::NotResponse));
        for n in 0..q.len() {
            assert!(parse_response(&answer_for(&q, 0)[..n], &q).is_err());
        }
    }

    #[test]
    fn root_and_bad_names() {
        let q = encode_query(1, ".", RecordType::Soa).unwrap();
        assert_eq!(&q[12..], b"\x00\x00\x06\x00\x01");
        assert_eq!(
            encode_query(1, "a..b", RecordType::A),
            Err(DnsError::BadName)
        );
        assert_eq!(
            encode_query(1, &"a".repeat(64), RecordType::A),
            Err(DnsError::BadName)
        );
    }

    #[test]
    fn compression_loop_rejected() {
        let q = encode_query(7, "x.test", RecordType::A).unwrap();
        let mut r = q.clone();
        r[2] = 0x81;
        r[3] = 0x80;
        r.truncate(12);
        r.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
        assert_eq!(parse_response(&r, &q), Err(DnsError::BadCompression));
    }
}
