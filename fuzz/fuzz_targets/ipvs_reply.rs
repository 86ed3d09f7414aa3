//! IPVS generic-netlink reply decoder: arbitrary datagrams go through every decoder the client
//! uses (`ipvs_sys::fuzzing::decode_reply`). Beyond "no panic": each decoded message is at least a
//! netlink header long and counts at most once per decoder, so the count is bounded by the input.
#![no_main]

use libfuzzer_sys::fuzz_target;

/// `struct nlmsghdr`: the smallest message `decode_reply` can count.
const NLMSG_HDRLEN: usize = 16;
/// Decoders `decode_reply` tries on each data message.
const DECODERS: usize = 7;

fuzz_target!(|data: &[u8]| {
    let decoded = ipvs_sys::fuzzing::decode_reply(data);
    assert!(
        decoded <= data.len() / NLMSG_HDRLEN * DECODERS,
        "{decoded} decodes from {} bytes",
        data.len()
    );
});
