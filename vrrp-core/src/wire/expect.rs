//! [`PeerAdvert`]: the advert a peer configured like us sends, worked out once so that a router
//! accepts it with a few comparisons.
//!
//! Within a running segment nearly every advert a router receives is the same message but for
//! the priority, the interval and the checksum: the peers share the VRID, the version and the
//! VIP list. [`super::accept_v3_header`] finds that out from an [`RxPolicy`] at every packet,
//! walking our VIPs; a router's policy only changes with its configuration, so the router keeps
//! this instead: the header bytes to expect, the exact length, our list as it appears on the
//! wire and its share of the checksum. It is the receive-side counterpart of
//! [`super::AdvertTemplate`].

use std::net::IpAddr;

use super::checksum;
use super::validate::{HeaderWord, V3_ADVERTISEMENT};
use super::{Family, RxMeta, RxPolicy, Version, IP_PROTOCOL, TTL};

/// What an advert from a peer configured like us looks like, for a v3 router.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PeerAdvert {
    /// Bytes 0 (version and type), 1 (VRID) and 3 (count) of the header as the upper half of a
    /// [`HeaderWord`] holds them, the priority byte zero (see [`HEAD_MASK`]).
    head: u32,
    /// The exact message length.
    len: usize,
    /// Our VIPs in order, as the 32-bit words of the wire (native order: only compared).
    list: Box<[u32]>,
    /// One's-complement sum of `list`, the protocol and the length: the part of the checksum
    /// that does not depend on the header or the IP addresses.
    sum: u64,
    family: Family,
    unicast: bool,
}

/// The bytes of the upper half of a header word that [`PeerAdvert::head`] fixes: all but the
/// priority.
const HEAD_MASK: u32 = 0xffff_00ff;

impl PeerAdvert {
    /// The expectation of a router with `policy`, or `None` when it has none: a v2 router, or
    /// VIPs that no advert of its family can list (another family, more than 255).
    pub(crate) fn new(policy: &RxPolicy<'_>) -> Option<Self> {
        if policy.version != Version::V3 {
            return None;
        }
        let count = u8::try_from(policy.addresses.len()).ok()?;
        let mut bytes = Vec::with_capacity(policy.addresses.len() * policy.family.addr_len());
        for addr in policy.addresses {
            match (addr, policy.family) {
                (IpAddr::V4(a), Family::V4) => bytes.extend_from_slice(&a.octets()),
                (IpAddr::V6(a), Family::V6) => bytes.extend_from_slice(&a.octets()),
                _ => return None,
            }
        }
        let len = super::HEADER_LEN + bytes.len();
        let list: Box<[u32]> = bytes
            .chunks_exact(4)
            .map(|w| u32::from_ne_bytes([w[0], w[1], w[2], w[3]]))
            .collect();
        Some(PeerAdvert {
            head: u32::from_be_bytes([V3_ADVERTISEMENT, policy.vrid, 0, count]),
            len,
            list,
            sum: checksum::sum(&bytes) + u64::from(IP_PROTOCOL) + len as u64,
            family: policy.family,
            unicast: policy.unicast,
        })
    }

    /// `msg`'s fixed header if it is the expected advert, received as the policy this was built
    /// from requires (TTL, families, multicast or unicast) and with a valid checksum.
    ///
    /// Only accepts: `None` means "not this case", and the full validation decides. Everything
    /// accepted here passes [`super::validate_in_full`] with the policy this was built from,
    /// whatever its `last_master` (a test compares the two on arbitrary packets): the
    /// `skip_check_adv_addr` case only skips the list check, which this makes anyway.
    #[inline]
    pub(crate) fn accept(&self, msg: &[u8], meta: &RxMeta) -> Option<HeaderWord> {
        if !self.unicast && meta.ttl != TTL {
            return None;
        }
        let (addresses, multicast) = super::validate::pseudo_addresses(meta, self.family)?;
        if multicast == self.unicast || msg.len() != self.len {
            return None;
        }
        let (&header, list) = msg.split_first_chunk::<{ super::HEADER_LEN }>()?;
        let header = u64::from_be_bytes(header);
        let (high, low) = (header >> 32, header & 0xffff_ffff);
        // The shift leaves 32 bits, so the cast is lossless.
        if high as u32 & HEAD_MASK != self.head {
            return None;
        }
        // `list` is as long as ours: the length matched. One IPv4 VIP, the most common
        // configuration, is one comparison.
        let same = match (&*self.list, list) {
            (&[ours], &[a, b, c, d]) => u32::from_ne_bytes([a, b, c, d]) == ours,
            (ours, _) => list.chunks_exact(4).zip(ours).all(|(theirs, &ours)| {
                theirs.try_into().ok().map(u32::from_ne_bytes) == Some(ours)
            }),
        };
        if !same || !checksum::verifies(high + low + addresses + self.sum) {
            return None;
        }
        Some(HeaderWord::new(header))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{AdvertRepr, Auth, MULTICAST_V4, MULTICAST_V6};
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn policy<'a>(family: Family, vips: &'a [IpAddr]) -> RxPolicy<'a> {
        RxPolicy {
            version: Version::V3,
            vrid: 9,
            family,
            auth: Auth::None,
            interval_cs: 100,
            addresses: vips,
            skip_check_adv_addr: false,
            last_master: None,
            unicast: false,
        }
    }

    /// The common case is taken, in both families, and a flipped bit is not.
    #[test]
    fn takes_a_peer_advert() {
        let cases = [
            (
                Family::V4,
                vec![
                    IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
                    IpAddr::V4(Ipv4Addr::new(198, 51, 100, 2)),
                ],
                IpAddr::V4(Ipv4Addr::new(192, 0, 2, 3)),
                IpAddr::V4(MULTICAST_V4),
            ),
            (
                Family::V6,
                vec![IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1))],
                IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 3)),
                IpAddr::V6(MULTICAST_V6),
            ),
        ];
        for (family, vips, src, dst) in cases {
            let repr = AdvertRepr {
                version: Version::V3,
                vrid: 9,
                priority: 100,
                interval_cs: 1,
                auth: Auth::None,
                addresses: &vips,
            };
            let mut buf = [0u8; 64];
            let n = repr.emit(&mut buf, src, dst).unwrap();
            let meta = RxMeta { src, dst, ttl: TTL };
            let expect = PeerAdvert::new(&policy(family, &vips)).unwrap();
            let header = expect.accept(&buf[..n], &meta).unwrap();
            assert_eq!((header.priority(), header.v3_interval_cs()), (100, 1));
            for i in 0..n * 8 {
                let mut bad = buf;
                bad[i / 8] ^= 1 << (i % 8);
                assert!(expect.accept(&bad[..n], &meta).is_none(), "bit {i}");
            }
        }
    }

    /// No expectation where no advert can match: v2, or VIPs of the other family.
    #[test]
    fn none_for_v2_or_foreign_vips() {
        let v4 = [IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))];
        let v2 = RxPolicy {
            version: Version::V2,
            ..policy(Family::V4, &v4)
        };
        assert_eq!(PeerAdvert::new(&v2), None);
        assert_eq!(PeerAdvert::new(&policy(Family::V6, &v4)), None);
    }
}
