//! VRRP advertisement wire format: VRRPv2 ([RFC 3768 §5]) and VRRPv3 ([RFC 5798 §5]), over IPv4 and
//! (v3 only) IPv6.
//!
//! The layout follows smoltcp: [`Advert`] is a zero-copy view over a buffer holding the VRRP message
//! (the IP payload; the IP header belongs to the caller), with explicit byte offsets; [`AdvertRepr`]
//! is the high-level description of an advert that [`AdvertRepr::emit`]s into a caller's buffer.
//! Neither allocates, so the daemon's receive and send paths stay allocation-free.
//! [`AdvertTemplate`] is the send path of a running router: the advert encoded once, re-sent by
//! copy with the priority and checksum patched.
//!
//! Receive validation ([`validate`]) implements the checks of RFC 3768 §7.1 / RFC 5798 §7.1 as
//! keepalived 2.2.7 applies them; every drop reason is a typed [`RxError`] with a stable
//! [`RxError::label`] so the daemon can count them per reason (keepalived's per-reason statistics).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |Version| Type  | Virtual Rtr ID|   Priority    | Count IP Addrs|
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Auth Type    |   Adver Int   |          Checksum             |  v2 (seconds)
//! | Rsvd  |  Max Adver Int (cs)   |          Checksum             |  v3 (centiseconds)
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |        Count IP Addrs x IPv4 (4 bytes) / IPv6 (16 bytes)      |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |          Authentication Data, 8 bytes (v2 only)               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! [RFC 3768 §5]: https://www.rfc-editor.org/rfc/rfc3768#section-5
//! [RFC 5798 §5]: https://www.rfc-editor.org/rfc/rfc5798#section-5

mod advert;
mod checksum;
mod error;
mod expect;
mod repr;
mod template;
mod validate;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub use advert::{Addresses, Advert, HEADER_LEN, V2_AUTH_DATA_LEN};
pub use error::WireError;
pub(crate) use expect::PeerAdvert;
pub use repr::AdvertRepr;
pub use template::AdvertTemplate;
pub(crate) use validate::{accept_v3_header, validate_in_full};
pub use validate::{validate, RxError, RxMeta, RxPolicy};

/// IP protocol number of VRRP (RFC 5798 §5.1.1.4); also the IPv6 next header in the v3 pseudo-header.
pub const IP_PROTOCOL: u8 = 112;
/// TTL / hop limit every advert is sent with and (multicast) must be received with (RFC 5798 §5.1.1.3).
pub const TTL: u8 = 255;
/// IPv4 multicast group of VRRP (RFC 5798 §5.1.1.2).
pub const MULTICAST_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// IPv6 multicast group of VRRP (RFC 5798 §5.1.2.2).
pub const MULTICAST_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);
/// The only VRRP message type, ADVERTISEMENT (RFC 5798 §5.2.2).
pub const TYPE_ADVERTISEMENT: u8 = 1;

/// Protocol version, carried in the high nibble of the first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// RFC 3768: IPv4 only, interval in seconds, optional simple-password authentication.
    V2,
    /// RFC 5798: IPv4 and IPv6, interval in centiseconds, no authentication, pseudo-header checksum.
    V3,
}

impl Version {
    /// The number on the wire.
    pub const fn number(self) -> u8 {
        match self {
            Version::V2 => 2,
            Version::V3 => 3,
        }
    }

    /// Inverse of [`Version::number`]; `None` for anything that is not 2 or 3.
    pub const fn from_number(n: u8) -> Option<Self> {
        match n {
            2 => Some(Version::V2),
            3 => Some(Version::V3),
            _ => None,
        }
    }
}

/// Address family of the advert; decides the width of each address in the list.
///
/// The message does not say which family it carries: the IP header it arrived in does, so the
/// caller passes it in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// IPv4: 4-byte addresses.
    V4,
    /// IPv6: 16-byte addresses (VRRPv3 only).
    V6,
}

impl Family {
    /// Width in bytes of one address of this family.
    pub const fn addr_len(self) -> usize {
        match self {
            Family::V4 => 4,
            Family::V6 => 16,
        }
    }

    /// The family of `addr`.
    pub const fn of(addr: &IpAddr) -> Self {
        match addr {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }
}

/// Authentication of a v2 advert. v3 has none (RFC 5798 removed it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Auth {
    /// Auth type 0: the 8 authentication bytes are sent as zeros and ignored on receive.
    None,
    /// keepalived's `auth_type PASS` (RFC 2338 type 1): up to 8 bytes, zero padded.
    Simple([u8; 8]),
}

impl Auth {
    /// Auth type 0, "no authentication" (RFC 3768 §5.3.6).
    pub const TYPE_NONE: u8 = 0;
    /// Auth type 1, simple text password (RFC 2338 §5.3.6.1, kept by keepalived).
    pub const TYPE_SIMPLE: u8 = 1;
    /// Auth type 2, IPsec AH (RFC 2338 §5.3.6.2); rejected on receive, never sent.
    pub const TYPE_AH: u8 = 2;

    /// A simple password as keepalived builds it from `auth_pass`: the first 8 bytes, the rest
    /// dropped (keepalived truncates and warns), shorter passwords zero padded.
    pub fn simple(password: &[u8]) -> Self {
        let mut data = [0u8; V2_AUTH_DATA_LEN];
        let n = password.len().min(V2_AUTH_DATA_LEN);
        data[..n].copy_from_slice(&password[..n]);
        Auth::Simple(data)
    }

    /// The Auth Type byte this authentication is sent with.
    pub const fn type_byte(&self) -> u8 {
        match self {
            Auth::None => Self::TYPE_NONE,
            Auth::Simple(_) => Self::TYPE_SIMPLE,
        }
    }
}
