//! [`AdvertTemplate`]: an advert encoded once and re-sent by copy.
//!
//! A master sends the same advert every interval: only the priority (0 when it resigns, or a
//! tracker moved it) and, for v3, the destination in the checksum's pseudo-header can differ
//! between two sends. keepalived builds its packet once and patches it likewise. The template
//! holds the encoded message and the one's-complement sum of its constant part, so a send is a
//! copy, one byte and an incremental checksum (RFC 1624): the same bytes as
//! [`AdvertRepr::emit`] at a fraction of the cost.

use std::net::IpAddr;

use super::advert::{Advert, HEADER_LEN};
use super::{checksum, AdvertRepr, Family, Version, WireError, MULTICAST_V4, MULTICAST_V6};

/// An advert of one virtual router, ready to be sent with any priority to any destination of
/// its family. Built once from the router's configuration; the [`wire`](crate::wire) module
/// documentation says why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdvertTemplate {
    /// The fixed header with Priority and Checksum zero, read big-endian: a send patches both
    /// into it and writes it with one store.
    header: u64,
    /// The rest of the message (the address list, and v2's authentication data).
    rest: Box<[u8]>,
    version: Version,
    family: Family,
    /// Unfolded checksum sum of `bytes` and, for v3, of the pseudo-header's source, protocol
    /// and length: everything but the priority and the destination.
    partial: u64,
    /// `partial` with the family's multicast group added (v3), folded: a send to the group
    /// adds the priority to it with one end-around carry.
    group: u16,
}

impl AdvertTemplate {
    /// Encodes `repr` (its `priority` is ignored: each send names one) as sent from `src`.
    ///
    /// Fails on the errors of [`AdvertRepr::check`] that do not depend on the destination.
    pub fn new(repr: &AdvertRepr<'_>, src: IpAddr) -> Result<Self, WireError> {
        let family = repr.check_from(src)?;
        let mut bytes = vec![0u8; repr.message_len(family)].into_boxed_slice();
        let mut advert = Advert::new_unchecked(&mut bytes[..]);
        repr.write_fields(&mut advert);
        advert.set_priority(0);
        advert.set_checksum(0);
        let mut partial = checksum::sum(&bytes);
        if repr.version == Version::V3 {
            partial += checksum::pseudo_header_from(src, bytes.len());
        }
        let (header, rest) = bytes
            .split_first_chunk::<HEADER_LEN>()
            .expect("a message has its fixed header");
        let group = match (repr.version, family) {
            (Version::V2, _) => partial,
            (Version::V3, Family::V4) => partial + checksum::address_sum(IpAddr::V4(MULTICAST_V4)),
            (Version::V3, Family::V6) => partial + checksum::address_sum(IpAddr::V6(MULTICAST_V6)),
        };
        Ok(AdvertTemplate {
            header: u64::from_be_bytes(*header),
            rest: rest.into(),
            version: repr.version,
            family,
            partial,
            group: checksum::fold(group),
        })
    }

    /// The template sending to `group` with [`AdvertTemplate::emit_to_group`] instead of the
    /// family's VRRP group (keepalived's `vrrp_mcast_group4/6`, `mcast_dst_ip`): for v3 the
    /// group is in the checksum's pseudo-header.
    pub fn with_group(mut self, group: IpAddr) -> Result<Self, WireError> {
        if Family::of(&group) != self.family {
            return Err(WireError::MixedFamilies);
        }
        let sum = match self.version {
            Version::V2 => self.partial,
            Version::V3 => self.partial + checksum::address_sum(group),
        };
        self.group = checksum::fold(sum);
        Ok(self)
    }

    /// Length of the message, what [`AdvertTemplate::emit`] writes.
    pub fn len(&self) -> usize {
        HEADER_LEN + self.rest.len()
    }

    /// Never true: an advert has at least its 8-byte header. For clippy's `len_without_is_empty`.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Writes the advert with `priority` for `dst` into `buf`, byte for byte what
    /// [`AdvertRepr::emit`] writes for the same representation, source and destination.
    /// Returns the bytes written.
    #[inline]
    pub fn emit(&self, priority: u8, dst: IpAddr, buf: &mut [u8]) -> Result<usize, WireError> {
        let mut acc = self.partial + (u64::from(priority) << 8);
        if self.version == Version::V3 {
            if Family::of(&dst) != self.family {
                return Err(WireError::MixedFamilies);
            }
            acc += checksum::address_sum(dst);
        }
        self.write(priority, checksum::complement(acc), buf)
    }

    /// [`AdvertTemplate::emit`] to the family's VRRP multicast group ([`super::MULTICAST_V4`],
    /// [`super::MULTICAST_V6`]) or the one of [`AdvertTemplate::with_group`], the destination of every advert but unicast ones: the checksum
    /// is the precomputed sum plus the priority, with one end-around carry.
    #[inline]
    pub fn emit_to_group(&self, priority: u8, buf: &mut [u8]) -> Result<usize, WireError> {
        // `group` is a folded sum, 1..=0xffff (a message's sum is never zero); adding at most
        // 0xff00 and the carry once more gives the fold of the whole sum (see checksum::fold).
        let sum = u32::from(self.group) + (u32::from(priority) << 8);
        // The carry brings the sum back to 16 bits, so the cast is lossless.
        let folded = ((sum & 0xffff) + (sum >> 16)) as u16;
        self.write(priority, !folded, buf)
    }

    /// Writes the message with `priority` and `checksum` into `buf`.
    #[inline]
    fn write(&self, priority: u8, checksum: u16, buf: &mut [u8]) -> Result<usize, WireError> {
        let len = self.len();
        let have = buf.len();
        let Some((header, rest)) = buf
            .get_mut(..len)
            .and_then(|out| out.split_first_chunk_mut::<HEADER_LEN>())
        else {
            return Err(WireError::BufferTooSmall { need: len, have });
        };
        // Priority is byte 2 of the header, the Checksum bytes 6-7.
        let word = self.header | u64::from(priority) << 40 | u64::from(checksum);
        *header = word.to_be_bytes();
        copy_short(rest, &self.rest);
        Ok(len)
    }
}

/// `out.copy_from_slice(src)`, without the call to `memcpy` for the lengths of a few IPv4
/// addresses: one 4-byte move, or two 8-byte moves that overlap, instead of a call that costs
/// more than the copy.
#[inline]
fn copy_short(out: &mut [u8], src: &[u8]) {
    let n = src.len();
    if n == out.len() && (4..=16).contains(&n) {
        if n < 8 {
            // n is 4..8 here: the first 4 bytes and the last 4, overlapping.
            out[..4].copy_from_slice(&src[..4]);
            out[n - 4..].copy_from_slice(&src[n - 4..]);
        } else {
            out[..8].copy_from_slice(&src[..8]);
            out[n - 8..].copy_from_slice(&src[n - 8..]);
        }
    } else {
        out.copy_from_slice(src);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Auth;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn v4(last: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, last))
    }

    fn v6(last: u16) -> IpAddr {
        IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, last))
    }

    /// Compares the template with `emit` for a few priorities and destinations.
    fn assert_same(repr: AdvertRepr<'_>, src: IpAddr, dsts: &[IpAddr]) {
        let template = AdvertTemplate::new(&repr, src).unwrap();
        for priority in 0..=255 {
            for &dst in dsts {
                let (mut a, mut b) = ([0u8; 256], [0u8; 256]);
                let want = AdvertRepr { priority, ..repr }.emit(&mut a, src, dst);
                let got = template.emit(priority, dst, &mut b);
                assert_eq!(got, want, "{priority} {dst}");
                assert_eq!(a, b, "{priority} {dst}");
                let group = match src {
                    IpAddr::V4(_) => IpAddr::V4(MULTICAST_V4),
                    IpAddr::V6(_) => IpAddr::V6(MULTICAST_V6),
                };
                let mut c = [0u8; 256];
                let want = AdvertRepr { priority, ..repr }.emit(&mut a, src, group);
                assert_eq!(template.emit_to_group(priority, &mut c), want, "{priority}");
                assert_eq!(a, c, "{priority} to the group");
                // Another group: the same bytes as emit to it.
                let other = template.clone().with_group(dst).unwrap();
                let want = AdvertRepr { priority, ..repr }.emit(&mut a, src, dst);
                assert_eq!(
                    other.emit_to_group(priority, &mut c),
                    want,
                    "{priority} {dst}"
                );
                assert_eq!(a, c, "{priority} to {dst} as the group");
            }
        }
    }

    #[test]
    fn matches_emit_v3_ipv4() {
        let vips = [v4(100), IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7))];
        let repr = AdvertRepr {
            version: Version::V3,
            vrid: 7,
            priority: 100,
            interval_cs: 1,
            auth: Auth::None,
            addresses: &vips,
        };
        let dsts = [IpAddr::V4(super::super::MULTICAST_V4), v4(2), v4(255)];
        assert_same(repr, v4(1), &dsts);
    }

    #[test]
    fn matches_emit_v3_ipv6() {
        let vips = [v6(0x100), v6(0xffff)];
        let repr = AdvertRepr {
            version: Version::V3,
            vrid: 255,
            priority: 100,
            interval_cs: 4095,
            auth: Auth::None,
            addresses: &vips,
        };
        let dsts = [IpAddr::V6(super::super::MULTICAST_V6), v6(2)];
        assert_same(repr, v6(1), &dsts);
    }

    #[test]
    fn matches_emit_v2_with_password() {
        let vips = [v4(100)];
        let repr = AdvertRepr {
            version: Version::V2,
            vrid: 1,
            priority: 100,
            interval_cs: 300,
            auth: Auth::simple(b"secret"),
            addresses: &vips,
        };
        assert_same(
            repr,
            v4(1),
            &[IpAddr::V4(super::super::MULTICAST_V4), v4(9)],
        );
    }

    #[test]
    fn rejects_what_emit_rejects() {
        let vips = [v4(100)];
        let repr = AdvertRepr {
            version: Version::V3,
            vrid: 1,
            priority: 100,
            interval_cs: 100,
            auth: Auth::None,
            addresses: &vips,
        };
        assert_eq!(
            AdvertTemplate::new(&AdvertRepr { vrid: 0, ..repr }, v4(1)),
            Err(WireError::ZeroVrid)
        );
        assert_eq!(
            AdvertTemplate::new(&repr, v6(1)),
            Err(WireError::MixedFamilies)
        );
        let template = AdvertTemplate::new(&repr, v4(1)).unwrap();
        let mut buf = [0u8; 64];
        assert_eq!(
            template.emit(100, v6(2), &mut buf),
            Err(WireError::MixedFamilies)
        );
        assert_eq!(
            template.emit(100, v4(2), &mut buf[..11]),
            Err(WireError::BufferTooSmall { need: 12, have: 11 })
        );
    }
}
