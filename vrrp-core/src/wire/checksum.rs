//! The Internet checksum (RFC 1071) and the VRRPv3 pseudo-headers.
//!
//! VRRPv2 sums the VRRP message alone (RFC 3768 §5.3.8). VRRPv3 prepends the upper-layer
//! pseudo-header of the IP version in use (RFC 5798 §5.2.8): RFC 768-style for IPv4 (src, dst,
//! zero, protocol 112, 16-bit length) and RFC 8200 §8.1 for IPv6 (src, dst, 32-bit upper-layer
//! length, three zero bytes, next header 112).

use std::net::IpAddr;

use super::IP_PROTOCOL;

/// One's-complement sum of `data` as big-endian 16-bit words, an odd trailing byte padded with
/// zero, not yet folded.
///
/// Adds 32-bit words, half the iterations of 16-bit words; RFC 1071 §2(B) allows any word size
/// as the fold brings the carries back. Every VRRP message is a whole number of 32-bit words
/// (8-byte header, 4- or 16-byte addresses, 8 auth bytes), so the remainder is only there for
/// the general case. A `u64` accumulator of 32-bit values cannot overflow for any slice shorter
/// than 16 GiB, far beyond a VRRP message (at most 8 + 255 * 16 bytes).
pub(crate) fn sum(data: &[u8]) -> u64 {
    // `split_first_chunk` hands out fixed-size arrays: the loop body is one load, one byte swap
    // and one add, with no per-word bounds check (a VRRP message is a handful of words, so
    // the loop's overhead is most of its cost).
    let mut acc: u64 = 0;
    let mut rest = data;
    while let Some((word, tail)) = rest.split_first_chunk::<4>() {
        acc += u64::from(u32::from_be_bytes(*word));
        rest = tail;
    }
    match *rest {
        [a, b, c] => acc += u64::from(u16::from_be_bytes([a, b])) + (u64::from(c) << 8),
        [a, b] => acc += u64::from(u16::from_be_bytes([a, b])),
        [a] => acc += u64::from(a) << 8,
        _ => {}
    }
    acc
}

/// Folds a sum into 16 bits with end-around carry.
#[inline]
pub(crate) fn fold(acc: u64) -> u16 {
    // Two rounds bring any u64 to at most 0x1_fffe, a third to at most 0xffff.
    let acc = (acc & 0xffff_ffff) + (acc >> 32);
    let acc = (acc & 0xffff) + (acc >> 16);
    let acc = (acc & 0xffff) + (acc >> 16);
    let acc = (acc & 0xffff) + (acc >> 16);
    // The rounds above leave acc <= 0xffff, so the cast is lossless.
    acc as u16
}

/// Whether a message whose sum (checksum field included) is `acc` verifies: `fold(acc) == 0xffff`.
///
/// Folding keeps the value modulo 0xffff and yields 0 only for a zero sum, so this is a single
/// remainder by a constant (a multiplication and a few shifts) instead of four folding rounds,
/// on the path every received advert takes.
#[inline]
pub(crate) fn verifies(acc: u64) -> bool {
    acc != 0 && acc % 0xffff == 0
}

/// The checksum field for a message whose other words sum to `acc`: `!fold(acc)`, computed as
/// [`verifies`] is. For `acc > 0`, `fold(acc)` is `(acc - 1) % 0xffff + 1`.
#[inline]
pub(crate) fn complement(acc: u64) -> u16 {
    match acc.checked_sub(1) {
        // The remainder is below 0xffff, so the subtraction stays in 0..=0xfffe.
        Some(below) => 0xfffe - (below % 0xffff) as u16,
        None => 0xffff,
    }
}

/// Sum of the pseudo-header for a VRRPv3 message of `len` bytes between `src` and `dst`,
/// or `None` when the two addresses are of different families (no such IP packet exists).
///
/// Addresses are added as 32-bit words (see [`sum`]), straight from their integer form.
pub(crate) fn pseudo_header(src: IpAddr, dst: IpAddr, len: usize) -> Option<u64> {
    if src.is_ipv4() != dst.is_ipv4() {
        return None;
    }
    Some(pseudo_header_from(src, len) + address_sum(dst))
}

/// The part of the pseudo-header sum that does not depend on the destination: the source,
/// the protocol and the length. [`super::AdvertTemplate`] adds the destination per send.
pub(crate) fn pseudo_header_from(src: IpAddr, len: usize) -> u64 {
    address_sum(src) + u64::from(IP_PROTOCOL) + len as u64
}

/// Sum of an address as 32-bit words (one for IPv4, four for IPv6).
#[inline]
pub(crate) fn address_sum(addr: IpAddr) -> u64 {
    match addr {
        IpAddr::V4(a) => u64::from(u32::from(a)),
        IpAddr::V6(a) => words128(u128::from(a)),
    }
}

/// Sum of the four 32-bit words of a 128-bit value.
fn words128(x: u128) -> u64 {
    (0..4).map(|i| ((x >> (32 * i)) as u64) & 0xffff_ffff).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example of RFC 1071 §3: words 0001 f203 f4f5 f6f7 sum to ddf2 (folded).
    #[test]
    fn rfc1071_example() {
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(fold(sum(&data)), 0xddf2);
    }

    /// The 32-bit-word sum folds to the same value as a plain 16-bit-word sum, for every
    /// length remainder.
    #[test]
    fn wide_words_fold_like_16_bit_words() {
        let data: Vec<u8> = (0u8..=255)
            .map(|b| b.wrapping_mul(167).wrapping_add(13))
            .collect();
        for len in 0..data.len() {
            let narrow: u64 = data[..len]
                .chunks(2)
                .map(|w| u64::from(w[0]) << 8 | u64::from(*w.get(1).unwrap_or(&0)))
                .sum();
            assert_eq!(fold(sum(&data[..len])), fold(narrow), "length {len}");
        }
    }

    /// The remainder shortcuts agree with the folding rounds, around every multiple of 0xffff
    /// near the edges of the range and on a spread of sums.
    #[test]
    fn remainder_shortcuts_agree_with_fold() {
        let mut sums: Vec<u64> = vec![0, 1, 2, u64::MAX, u64::MAX - 1];
        for k in [1u64, 2, 3, 0x1_0000, 0x1234_5678, u64::MAX / 0xffff] {
            let m = k * 0xffff;
            sums.extend([m - 1, m, m.saturating_add(1)]);
        }
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            sums.push(x >> (x % 40));
        }
        for acc in sums {
            assert_eq!(verifies(acc), fold(acc) == 0xffff, "{acc:#x}");
            assert_eq!(complement(acc), !fold(acc), "{acc:#x}");
        }
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(fold(sum(&[0x12, 0x34, 0x56])), 0x1234 + 0x5600);
    }

    #[test]
    fn fold_handles_the_largest_sums() {
        assert_eq!(fold(u64::MAX), 0xffff);
        assert_eq!(fold(0x1_0000), 1);
        assert_eq!(fold(0xffff), 0xffff);
        assert_eq!(fold(0), 0);
        // 0x1234_5678_9abc_def0 = 0x1234 + 0x5678 + 0x9abc + 0xdef0 (mod 0xffff).
        assert_eq!(
            fold(0x1234_5678_9abc_def0),
            fold(0x1234 + 0x5678 + 0x9abc + 0xdef0)
        );
    }

    /// The integer shortcut sums the same words as the byte-wise RFC 8200 pseudo-header.
    #[test]
    fn pseudo_headers_match_their_byte_layout() {
        let s4: IpAddr = "192.0.2.1".parse().unwrap();
        let d4: IpAddr = "224.0.0.18".parse().unwrap();
        let mut v4 = vec![192, 0, 2, 1, 224, 0, 0, 18, 0, 112];
        v4.extend_from_slice(&20u16.to_be_bytes());
        assert_eq!(fold(pseudo_header(s4, d4, 20).unwrap()), fold(sum(&v4)));

        let s6: std::net::Ipv6Addr = "fe80::1".parse().unwrap();
        let d6: std::net::Ipv6Addr = "ff02::12".parse().unwrap();
        let mut v6 = Vec::new();
        v6.extend_from_slice(&s6.octets());
        v6.extend_from_slice(&d6.octets());
        v6.extend_from_slice(&70_000u32.to_be_bytes());
        v6.extend_from_slice(&[0, 0, 0, 112]);
        assert_eq!(
            fold(pseudo_header(s6.into(), d6.into(), 70_000).unwrap()),
            fold(sum(&v6))
        );
    }

    #[test]
    fn mixed_families_have_no_pseudo_header() {
        let v4: IpAddr = "192.0.2.1".parse().unwrap();
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        assert_eq!(pseudo_header(v4, v6, 8), None);
        assert!(pseudo_header(v6, v6, 8).is_some());
    }
}
