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

use super::advert::{message_len, Advert};
use super::checksum;
use super::{Auth, Family, Version, WireError, TTL};

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
pub fn validate<'b>(
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
    if checksum::fold(acc) != 0xffff {
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
    let width = family.addr_len();
    theirs.len() == ours.len() * width
        && theirs.chunks_exact(width).zip(ours).all(|(t, o)| match o {
            IpAddr::V4(a) => t == a.octets(),
            IpAddr::V6(a) => t == a.octets(),
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
