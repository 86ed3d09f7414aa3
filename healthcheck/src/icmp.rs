//! PING_CHECK messages: ICMP echo request/reply for the kernel's ping sockets, as pure functions.
//!
//! On a ping socket (`SOCK_DGRAM`/`IPPROTO_ICMP[V6]`) the kernel owns the identifier and the checksum,
//! so only the type, the sequence number and the payload are ours.

/// ICMP echo request type for the address family.
pub fn echo_request_type(v6: bool) -> u8 {
    if v6 {
        128
    } else {
        8
    }
}

/// Encode an echo request with sequence `seq` and `payload` (identifier and checksum left to the kernel).
pub fn encode_echo_request(v6: bool, seq: u16, payload: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(8 + payload.len());
    m.extend_from_slice(&[echo_request_type(v6), 0, 0, 0, 0, 0]);
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(payload);
    m
}

/// Whether `msg` (as read from a ping socket: the ICMP message without IP header) is the echo reply to
/// our request `seq` carrying `payload`.
pub fn is_echo_reply(v6: bool, msg: &[u8], seq: u16, payload: &[u8]) -> bool {
    let reply_type = if v6 { 129 } else { 0 };
    msg.len() >= 8
        && msg[0] == reply_type
        && msg[1] == 0
        && msg[6..8] == seq.to_be_bytes()
        && &msg[8..] == payload
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_matching() {
        let req = encode_echo_request(false, 7, b"lbd");
        assert_eq!(req, [8, 0, 0, 0, 0, 0, 0, 7, b'l', b'b', b'd']);
        let mut reply = req.clone();
        reply[0] = 0;
        assert!(is_echo_reply(false, &reply, 7, b"lbd"));
        assert!(!is_echo_reply(false, &reply, 8, b"lbd"));
        assert!(!is_echo_reply(false, &req, 7, b"lbd"));
        assert!(!is_echo_reply(false, &reply[..5], 7, b"lbd"));
        assert!(!is_echo_reply(true, &reply, 7, b"lbd"));
        reply[0] = 129;
        assert!(is_echo_reply(true, &reply, 7, b"lbd"));
    }
}
