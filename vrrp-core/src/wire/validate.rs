//! Receive validation of an advert: RFC 3768 §7.1 (v2) and RFC 5798 §7.1 (v3), as keepalived
//! 2.2.7 (`vrrp_check_packet` in `keepalived/vrrp/vrrp.c`, called from `vrrp_state_backup` /
//! `vrrp_state_master_rx`) applies them.
//!
//! Order of the checks: TTL, destination, well-formedness (version, type, length), version,
//! exact length, checksum, VRID, v2 authentication, v2 interval, address count, address list.
//! This is the RFC's order, with the checksum before every check of a field's value so that a
//! corrupted packet is counted as `checksum` rather than as a misleading mismatch. keepalived
//! checks auth, interval and the address count before the checksum; every packet one of them
//! drops is dropped here too, only the counter it lands in can differ for a packet that is both
//! corrupt and mismatched.
//!
//! Where keepalived differs from the RFCs, we follow keepalived, since we interoperate with it
//! (and the 2.2.7 binary's log strings confirm which code it runs):
//! - The address list is checked whatever the priority: RFC 3768 §7.1 lets an advert from the
//!   address owner (priority 255) through a mismatched list, keepalived drops it
//!   (`addr_list_err`, "not present in MASTER advert") and so do we.
//! - `vrrp_skip_check_adv_addr` (see [`RxPolicy::skip_check_adv_addr`]) skips both the count and
//!   the per-address check, but only for an advert from the master whose adverts were last
//!   accepted; keepalived logs and drops the others like any mismatch.
//! - The TTL check is skipped for unicast peers ([`RxPolicy::unicast`]): keepalived only enforces
//!   255 when no `unicast_peer` is configured, as unicast adverts may cross routers.
//! - A multicast instance drops unicast adverts and vice versa ("Expected multicast packet but
//!   received unicast packet").
//! - The length must be exactly what the address count implies ("vrrp packet too long/short").

use std::net::IpAddr;

use super::advert::{message_len, Advert, HEADER_LEN};
use super::checksum;
use super::{Auth, Family, Version, WireError, IP_PROTOCOL, TTL, TYPE_ADVERTISEMENT};

/// What the receive path knows from the IP layer.
#[derive(Debug, Clone, Copy)]
pub struct RxMeta {
    /// IP source: the sending router's primary address (and the v3 pseudo-header's source).
    pub src: IpAddr,
    /// IP destination: the multicast group, or us for unicast (the v3 pseudo-header's destination).
    pub dst: IpAddr,
    /// IPv4 TTL or IPv6 hop limit as received.
    pub ttl: u8,
}

/// The local virtual router's expectations (RFC 3768/5798 section 7.1).
#[derive(Debug, Clone, Copy)]
pub struct RxPolicy<'a> {
    /// Our configured version (`vrrp_version`).
    pub version: Version,
    /// Our virtual router ID.
    pub vrid: u8,
    /// Family of the instance; the IP header of the advert must agree.
    pub family: Family,
    /// Our configured v2 authentication; ignored for v3.
    pub auth: Auth,
    /// Our configured interval; v2 drops on mismatch, v3 does not check (the engine adopts the master's).
    pub interval_cs: u16,
    /// Configured VIPs, to compare with the advert's list.
    pub addresses: &'a [IpAddr],
    /// keepalived's vrrp_skip_check_adv_addr.
    ///
    /// keepalived skips the address count and list checks when the advert comes from the same
    /// master as the last accepted one (its `master_saddr`), since that master's list was
    /// already checked; an advert from any other source is checked in full. Effective only
    /// together with [`RxPolicy::last_master`].
    pub skip_check_adv_addr: bool,
    /// Source address of the master whose adverts we last accepted, if any (keepalived's
    /// `master_saddr`); the engine keeps it, this function has no state. keepalived only skips
    /// in BACKUP state (a master checks every advert it receives), so a master passes `None`.
    pub last_master: Option<IpAddr>,
    /// Unicast peers are configured (`unicast_peer`): keepalived does not require TTL 255 then,
    /// and expects a unicast destination instead of the multicast group.
    pub unicast: bool,
}

/// Every reason a received advert is dropped: the daemon counts and logs each by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RxError {
    /// Not a well-formed advert (truncated, unknown version or type, wrong length).
    #[error("malformed advert: {0}")]
    Wire(#[from] WireError),
    /// TTL / hop limit other than 255: the advert was routed, or forged off-link.
    #[error("TTL {0}, expected 255")]
    Ttl(u8),
    /// The IP header's family is not the instance's.
    #[error("advert of the wrong address family")]
    FamilyMismatch,
    /// Unicast destination on a multicast instance, or multicast on a unicast one.
    #[error("multicast/unicast destination does not match the configuration")]
    DestinationMismatch,
    /// A well-formed advert of the other version than ours.
    #[error("VRRP version {theirs:?}, ours is {ours:?}")]
    VersionMismatch {
        /// Our configured version.
        ours: Version,
        /// The advert's.
        theirs: Version,
    },
    /// Bad checksum.
    #[error("bad checksum")]
    Checksum,
    /// Another virtual router's advert.
    #[error("advert for VRID {0}")]
    VridMismatch(u8),
    /// v2 Auth Type that keepalived does not know (neither 0, 1 nor 2).
    #[error("invalid auth type {0}")]
    InvalidAuthType(u8),
    /// v2 Auth Type we know but do not implement: 2, IPsec AH (deprecated by RFC 3768).
    #[error("unsupported auth type {0}")]
    UnsupportedAuth(u8),
    /// v2 Auth Type other than ours.
    #[error("auth type {theirs}, ours is {ours}")]
    AuthTypeMismatch {
        /// Our auth type byte.
        ours: u8,
        /// The advert's.
        theirs: u8,
    },
    /// v2 simple password differs.
    #[error("wrong password")]
    AuthMismatch,
    /// v2 Adver Int differs from ours: two masters would otherwise coexist (RFC 3768 §7.1).
    #[error("interval {theirs} cs, ours is {ours} cs")]
    IntervalMismatch {
        /// Our interval, centiseconds.
        ours: u16,
        /// The advert's, centiseconds.
        theirs: u16,
    },
    /// Address count differs from our VIP count.
    #[error("{theirs} addresses, we have {ours}")]
    AddressCount {
        /// Our VIP count.
        ours: usize,
        /// Count IP Addrs of the advert.
        theirs: u8,
    },
    /// One of our VIPs is not in the advert's list.
    #[error("address list differs from ours")]
    AddressMismatch,
}

impl RxError {
    /// stable snake_case label for counters/metrics, e.g. "ttl", "checksum".
    ///
    /// Malformed adverts share the label of their [`WireError`] class so that a counter per label
    /// stays a small fixed set.
    pub fn label(&self) -> &'static str {
        match self {
            RxError::Wire(WireError::Truncated)
            | RxError::Wire(WireError::AddressCountMismatch { .. })
            | RxError::Wire(WireError::LengthMismatch { .. }) => "length",
            RxError::Wire(WireError::BadVersion(_)) => "bad_version",
            RxError::Wire(WireError::BadType(_)) => "bad_type",
            RxError::Wire(_) => "malformed",
            RxError::Ttl(_) => "ttl",
            RxError::FamilyMismatch => "family_mismatch",
            RxError::DestinationMismatch => "destination_mismatch",
            RxError::VersionMismatch { .. } => "version_mismatch",
            RxError::Checksum => "checksum",
            RxError::VridMismatch(_) => "vrid_mismatch",
            RxError::InvalidAuthType(_) => "invalid_auth_type",
            RxError::UnsupportedAuth(_) => "unsupported_auth",
            RxError::AuthTypeMismatch { .. } => "auth_type_mismatch",
            RxError::AuthMismatch => "auth_mismatch",
            RxError::IntervalMismatch { .. } => "interval_mismatch",
            RxError::AddressCount { .. } => "address_count",
            RxError::AddressMismatch => "address_mismatch",
        }
    }
}

/// Full receive validation of the raw VRRP message; returns the view on success. No allocation.
///
/// `msg` is exactly the IP payload (IPv4: `tot_len` minus the header; IPv6: the payload after
/// extension headers). See the module documentation for the order of the checks and where it
/// follows keepalived rather than the RFCs.
#[inline]
pub fn validate<'b>(
    msg: &'b [u8],
    meta: &RxMeta,
    policy: &RxPolicy<'_>,
) -> Result<Advert<&'b [u8]>, RxError> {
    match accept_v3(msg, meta, policy) {
        Some(advert) => Ok(advert),
        None => validate_in_full(msg, meta, policy),
    }
}

/// The common case of a running segment in a few dozen instructions: a v3 advert from a peer
/// configured like us, its header, length and address list exactly what we would send.
///
/// Only accepts: `None` means "not this case" (v2, a rejection, VIPs listed in another
/// order...), and [`validate_in_full`] then decides and names the reason. Everything accepted
/// here passes every check of [`validate_in_full`] (the `wire_validate` tests compare the two
/// on arbitrary packets): TTL, families, multicast vs unicast, version and type, VRID, exact
/// length, checksum with the pseudo-header, address count and list. What makes it cheap is
/// comparing whole fields against the expected values instead of decoding them first, and
/// summing the checksum straight from the addresses' integer form.
#[inline]
pub(crate) fn accept_v3<'b>(
    msg: &'b [u8],
    meta: &RxMeta,
    policy: &RxPolicy<'_>,
) -> Option<Advert<&'b [u8]>> {
    accept_v3_header(msg, meta, policy).map(|_| Advert::new_unchecked(msg))
}

/// The unfolded sum of the packet's source and destination (the v3 pseudo-header's
/// addresses) and whether it was sent to a multicast group; `None` when the addresses are not
/// of `family`. Shared by the fast accept paths.
#[inline]
pub(crate) fn pseudo_addresses(meta: &RxMeta, family: Family) -> Option<(u64, bool)> {
    match (meta.src, meta.dst, family) {
        (IpAddr::V4(src), IpAddr::V4(dst), Family::V4) => Some((
            u64::from(u32::from(src)) + u64::from(u32::from(dst)),
            dst.is_multicast(),
        )),
        (IpAddr::V6(_), IpAddr::V6(dst), Family::V6) => Some((
            checksum::address_sum(meta.src) + checksum::address_sum(meta.dst),
            dst.is_multicast(),
        )),
        _ => None,
    }
}

/// [`accept_v3`], returning the accepted message's fixed header as one big-endian word (see
/// [`HeaderWord`]): the engine reads the priority and interval from it without the bounds
/// checks of a slice, and a word comes back in a register.
#[inline]
pub(crate) fn accept_v3_header(
    msg: &[u8],
    meta: &RxMeta,
    policy: &RxPolicy<'_>,
) -> Option<HeaderWord> {
    if policy.version != Version::V3 || (!policy.unicast && meta.ttl != TTL) {
        return None;
    }
    let (addresses_sum, multicast) = pseudo_addresses(meta, policy.family)?;
    if multicast == policy.unicast {
        return None;
    }
    let (&header, list) = msg.split_first_chunk::<HEADER_LEN>()?;
    let header = HeaderWord(u64::from_be_bytes(header));
    let count = header.count_addrs();
    if header.ver_type() != V3_ADVERTISEMENT
        || header.vrid() != policy.vrid
        || list.len() != usize::from(count) * policy.family.addr_len()
    {
        return None;
    }
    // The header as two 32-bit words (see checksum::sum), and the pseudo-header.
    let mut acc = (header.0 >> 32)
        + (header.0 & 0xffff_ffff)
        + addresses_sum
        + u64::from(IP_PROTOCOL)
        + msg.len() as u64;
    if policy.skip_check_adv_addr && policy.last_master == Some(meta.src) {
        acc += checksum::sum(list);
    } else {
        // One walk compares each address with ours (in order: a permutation goes to the full
        // path) and adds it to the checksum.
        if usize::from(count) != policy.addresses.len() {
            return None;
        }
        // `list` is `count` addresses of `family` wide, as many as ours: the walks below
        // pair each of ours with one of theirs; a VIP of ours of the other family fails.
        match policy.family {
            Family::V4 => {
                for (ours, theirs) in policy.addresses.iter().zip(list.chunks_exact(4)) {
                    let (IpAddr::V4(ours), Ok(theirs)) = (ours, <[u8; 4]>::try_from(theirs)) else {
                        return None;
                    };
                    let theirs = u32::from_be_bytes(theirs);
                    if theirs != u32::from(*ours) {
                        return None;
                    }
                    acc += u64::from(theirs);
                }
            }
            Family::V6 => {
                for (ours, theirs) in policy.addresses.iter().zip(list.chunks_exact(16)) {
                    let (IpAddr::V6(ours), Ok(theirs)) = (ours, <[u8; 16]>::try_from(theirs))
                    else {
                        return None;
                    };
                    if theirs != ours.octets() {
                        return None;
                    }
                    acc += checksum::sum(&theirs);
                }
            }
        }
    }
    if !checksum::verifies(acc) {
        return None;
    }
    Some(header)
}

/// The 8-byte fixed header of an advert read as one big-endian `u64`: byte 0 (version and
/// type) in the top bits, the checksum in the bottom 16.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HeaderWord(u64);

impl HeaderWord {
    /// The first 8 bytes of a message, read big-endian.
    pub(super) fn new(word: u64) -> Self {
        HeaderWord(word)
    }
    fn byte(self, i: u32) -> u8 {
        // Shifting the wanted byte to the bottom; the cast keeps exactly that byte.
        (self.0 >> (56 - 8 * i)) as u8
    }
    fn ver_type(self) -> u8 {
        self.byte(0)
    }
    fn vrid(self) -> u8 {
        self.byte(1)
    }
    pub(crate) fn priority(self) -> u8 {
        self.byte(2)
    }
    fn count_addrs(self) -> u8 {
        self.byte(3)
    }
    /// v3 Max Adver Int: the low 12 bits of bytes 4-5.
    pub(crate) fn v3_interval_cs(self) -> u16 {
        // The mask keeps 12 bits, so the cast is lossless.
        ((self.0 >> 16) & 0x0fff) as u16
    }
}

/// Version 3, type ADVERTISEMENT: the first byte of every v3 advert.
pub(super) const V3_ADVERTISEMENT: u8 = 3 << 4 | TYPE_ADVERTISEMENT;

/// [`validate`] step by step, in the order of the module documentation, naming the first
/// check that fails. Kept out of line: a running segment only comes here for the rare advert
/// the fast path does not take, and inlining it would make every caller pay its stack frame.
#[inline(never)]
pub(crate) fn validate_in_full<'b>(
    msg: &'b [u8],
    meta: &RxMeta,
    policy: &RxPolicy<'_>,
) -> Result<Advert<&'b [u8]>, RxError> {
    if !policy.unicast && meta.ttl != TTL {
        return Err(RxError::Ttl(meta.ttl));
    }
    let family = policy.family;
    if Family::of(&meta.src) != family || Family::of(&meta.dst) != family {
        return Err(RxError::FamilyMismatch);
    }
    if meta.dst.is_multicast() == policy.unicast {
        return Err(RxError::DestinationMismatch);
    }
    let advert = Advert::new_checked(msg, family)?;
    // new_checked accepted the version nibble.
    let Some(version) = advert.version() else {
        return Err(WireError::BadVersion(advert.version_number()).into());
    };
    if version != policy.version {
        return Err(RxError::VersionMismatch {
            ours: policy.version,
            theirs: version,
        });
    }
    let expected = message_len(version, family, advert.count_addrs());
    if msg.len() != expected {
        return Err(WireError::LengthMismatch {
            expected,
            len: msg.len(),
        }
        .into());
    }
    // Advert::verify_checksum, with what is known by now: `msg` is exactly the message, and
    // src and dst are both of `family`.
    let mut acc = checksum::sum(msg);
    if version == Version::V3 {
        acc += checksum::pseudo_header_from(meta.src, msg.len()) + checksum::address_sum(meta.dst);
    }
    if !checksum::verifies(acc) {
        return Err(RxError::Checksum);
    }
    if advert.vrid() != policy.vrid {
        return Err(RxError::VridMismatch(advert.vrid()));
    }
    if version == Version::V2 {
        check_v2_auth(&advert, &policy.auth)?;
        let theirs = advert.interval_cs();
        if theirs != policy.interval_cs {
            return Err(RxError::IntervalMismatch {
                ours: policy.interval_cs,
                theirs,
            });
        }
    }
    let same_master = policy.last_master == Some(meta.src);
    if !(policy.skip_check_adv_addr && same_master) {
        if usize::from(advert.count_addrs()) != policy.addresses.len() {
            return Err(RxError::AddressCount {
                ours: policy.addresses.len(),
                theirs: advert.count_addrs(),
            });
        }
        // keepalived's test: equal counts and every VIP of ours present. With distinct VIPs
        // of ours the two lists are then equal up to order.
        let theirs = advert.address_bytes(family);
        // Peers built from the same configuration list the VIPs in the same order, so try the
        // linear in-order comparison before the quadratic search.
        let ours_all_present = same_in_order(theirs, family, policy.addresses)
            || policy
                .addresses
                .iter()
                .all(|ours| contains(theirs, family, ours));
        if !ours_all_present {
            return Err(RxError::AddressMismatch);
        }
    }
    Ok(advert)
}

/// RFC 3768 §7.1 "MUST perform authentication specified by Auth Type", as keepalived does:
/// unknown types are invalid, AH is not implemented here, the type must be ours, and a simple
/// password must match on all 8 bytes.
fn check_v2_auth(advert: &Advert<&[u8]>, ours: &Auth) -> Result<(), RxError> {
    let theirs = advert.auth_type();
    match theirs {
        Auth::TYPE_NONE | Auth::TYPE_SIMPLE => {}
        Auth::TYPE_AH => return Err(RxError::UnsupportedAuth(theirs)),
        _ => return Err(RxError::InvalidAuthType(theirs)),
    }
    if theirs != ours.type_byte() {
        return Err(RxError::AuthTypeMismatch {
            ours: ours.type_byte(),
            theirs,
        });
    }
    if let Auth::Simple(password) = ours {
        let matches = advert
            .auth_data()
            .is_some_and(|theirs| constant_time_eq(theirs, password));
        if !matches {
            return Err(RxError::AuthMismatch);
        }
    }
    Ok(())
}

/// Whether the raw address list `theirs` of `family` is exactly `ours`, in the same order.
fn same_in_order(theirs: &[u8], family: Family, ours: &[IpAddr]) -> bool {
    if theirs.len() != ours.len() * family.addr_len() {
        return false;
    }
    let mut rest = theirs;
    ours.iter().all(|o| match (o, family) {
        (IpAddr::V4(a), Family::V4) => match rest.split_first_chunk::<4>() {
            Some((t, tail)) => {
                rest = tail;
                *t == a.octets()
            }
            None => false,
        },
        (IpAddr::V6(a), Family::V6) => match rest.split_first_chunk::<16>() {
            Some((t, tail)) => {
                rest = tail;
                *t == a.octets()
            }
            None => false,
        },
        _ => false,
    })
}

/// Whether the raw address list `theirs` of `family` holds `ours` (octet comparison, no
/// `IpAddr` built per entry: this runs for every advert on the segment).
fn contains(theirs: &[u8], family: Family, ours: &IpAddr) -> bool {
    match (family, ours) {
        (Family::V4, IpAddr::V4(a)) => {
            let a = u32::from(*a);
            theirs
                .chunks_exact(4)
                .any(|t| t.try_into().ok().map(u32::from_be_bytes) == Some(a))
        }
        (Family::V6, IpAddr::V6(a)) => {
            let a = u128::from(*a);
            theirs
                .chunks_exact(16)
                .any(|t| t.try_into().ok().map(u128::from_be_bytes) == Some(a))
        }
        _ => false,
    }
}

/// Compares without an early exit, as keepalived's `memcmp_constant_time`, so response timing
/// does not reveal how much of a guessed password was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::expect::PeerAdvert;
    use crate::wire::AdvertRepr;
    use proptest::prelude::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    /// The addresses a case draws from: few, so that adverts and policies often agree.
    fn pool(family: Family, i: u8) -> IpAddr {
        match family {
            Family::V4 => IpAddr::V4(Ipv4Addr::new(192, 0, 2, i % 4)),
            Family::V6 => IpAddr::V6(Ipv6Addr::new(
                0x2001,
                0xdb8,
                0,
                0,
                0,
                0,
                0,
                u16::from(i % 4),
            )),
        }
    }

    fn multicast(family: Family) -> IpAddr {
        match family {
            Family::V4 => IpAddr::V4(super::super::MULTICAST_V4),
            Family::V6 => IpAddr::V6(super::super::MULTICAST_V6),
        }
    }

    /// 4,096 cases, or `PROPTEST_CASES` when set (a long run hunting rare cases).
    fn cases() -> u32 {
        std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(4096)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(cases()))]

        /// The fast paths never decide differently from the full validation: on valid adverts
        /// of either version and family, their corruptions, and mismatched expectations.
        /// [`PeerAdvert`], built from the policy, only accepts what the full validation
        /// accepts, with the same header.
        #[test]
        fn accept_v3_agrees_with_validate_in_full(
            v3 in any::<bool>(),
            v6 in any::<bool>(),
            sent_vrid in 1u8..3,
            our_vrid in 1u8..3,
            priority in any::<u8>(),
            sent in proptest::collection::vec(any::<u8>(), 0..4),
            ours in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..4)),
            src in any::<u8>(),
            unicast_dst in any::<bool>(),
            unicast_policy in any::<bool>(),
            ttl in prop_oneof![Just(255u8), any::<u8>()],
            other_family_meta in prop_oneof![4 => Just(false), 1 => Just(true)],
            skip in any::<bool>(),
            last_master_is_src in any::<bool>(),
            corrupt in proptest::option::of((any::<usize>(), any::<u8>())),
            truncate in proptest::option::of(any::<usize>()),
        ) {
            let family = if v6 && v3 { Family::V6 } else { Family::V4 };
            let version = if v3 { Version::V3 } else { Version::V2 };
            let sent: Vec<IpAddr> = sent.iter().map(|&i| pool(family, i)).collect();
            // `None`: we are configured like the sender.
            let ours: Vec<IpAddr> = match ours {
                Some(ours) => ours.iter().map(|&i| pool(family, i)).collect(),
                None => sent.clone(),
            };
            let src = pool(family, src.wrapping_add(1));
            let dst = if unicast_dst { pool(family, 200) } else { multicast(family) };
            let repr = AdvertRepr {
                version,
                vrid: sent_vrid,
                priority,
                interval_cs: 100,
                auth: Auth::None,
                addresses: &sent,
            };
            let mut buf = [0u8; 128];
            let n = repr.emit(&mut buf, src, dst).unwrap();
            if let Some((at, value)) = corrupt {
                buf[at % n] = value;
            }
            let msg = &buf[..truncate.map_or(n, |t| t % (n + 1))];
            let meta_family = if other_family_meta {
                if family == Family::V4 { Family::V6 } else { Family::V4 }
            } else {
                family
            };
            let dst = if other_family_meta { multicast(meta_family) } else { dst };
            let meta = RxMeta { src, dst, ttl };
            let policy = RxPolicy {
                version: Version::V3,
                vrid: our_vrid,
                family,
                auth: Auth::None,
                interval_cs: 100,
                addresses: &ours,
                skip_check_adv_addr: skip,
                last_master: last_master_is_src.then_some(src),
                unicast: unicast_policy,
            };
            let full = validate_in_full(msg, &meta, &policy);
            if let Some(fast) = accept_v3(msg, &meta, &policy) {
                prop_assert_eq!(Ok(fast), full);
            }
            if let Some(header) = PeerAdvert::new(&policy).and_then(|p| p.accept(msg, &meta)) {
                prop_assert_eq!(Ok(Advert::new_unchecked(msg)), full);
                prop_assert_eq!(Some(header), accept_v3_header(msg, &meta, &policy));
            }
            prop_assert_eq!(validate(msg, &meta, &policy), full);
        }
    }

    /// The fast path does take the common case (else the test above proves nothing about it).
    #[test]
    fn accept_v3_takes_a_peer_advert() {
        let vips = [pool(Family::V4, 1), pool(Family::V4, 2)];
        let src = pool(Family::V4, 3);
        let dst = multicast(Family::V4);
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
        let policy = RxPolicy {
            version: Version::V3,
            vrid: 9,
            family: Family::V4,
            auth: Auth::None,
            interval_cs: 1,
            addresses: &vips,
            skip_check_adv_addr: false,
            last_master: None,
            unicast: false,
        };
        assert!(accept_v3(&buf[..n], &meta, &policy).is_some());
        buf[n - 1] ^= 1;
        assert!(accept_v3(&buf[..n], &meta, &policy).is_none());
    }
}
