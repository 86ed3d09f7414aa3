//! Entry points for fuzzers: feed arbitrary bytes to the decoders that read
//! kernel replies. They must never panic.

use crate::genl::GenlHeader;
use crate::msg;
use crate::netlink::{messages, Reply};
use crate::types::Family;

/// Decodes `buf` as a netlink reply datagram the way [`crate::Client`] does,
/// trying every IPVS decoder on each data message. Returns how many messages
/// decoded as something.
pub fn decode_reply(buf: &[u8]) -> usize {
    let mut ok = 0;
    for m in messages(buf) {
        let Ok(m) = m else { break };
        let Ok(reply) = Reply::parse(m) else { continue };
        if let Reply::Data { payload, .. } = reply {
            if GenlHeader::split(payload).is_err() {
                continue;
            }
            ok += usize::from(msg::decode_service_msg(payload).is_ok());
            ok += usize::from(msg::decode_dest_msg(payload, Family::V4).is_ok());
            ok += usize::from(msg::decode_dest_msg(payload, Family::V6).is_ok());
            ok += usize::from(msg::decode_daemon_msg(payload).is_ok());
            ok += usize::from(msg::decode_info(payload).is_ok());
            ok += usize::from(msg::decode_timeouts(payload).is_ok());
            ok += usize::from(crate::genl::decode_family_id(payload).is_ok());
        } else {
            ok += 1;
        }
    }
    ok
}

/// Parses `text` as `ipvsadm -R` input; must never panic either.
pub fn parse_rules(text: &[u8]) -> usize {
    match std::str::from_utf8(text) {
        Ok(t) => crate::rules::parse_rules(t).map(|r| r.len()).unwrap_or(0),
        Err(_) => 0,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(buf in prop::collection::vec(any::<u8>(), 0..512)) {
            super::decode_reply(&buf);
            super::parse_rules(&buf);
        }
    }
}
