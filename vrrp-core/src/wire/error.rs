//! Errors of the codec itself: a buffer that is not a VRRP advert, or a [`super::AdvertRepr`]
//! that cannot be put on the wire.

/// Why bytes are not a well-formed advert, or why a representation cannot be emitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// Shorter than the 8-byte fixed header.
    #[error("message shorter than the VRRP header")]
    Truncated,
    /// Version nibble is neither 2 nor 3.
    #[error("unknown VRRP version {0}")]
    BadVersion(u8),
    /// Type nibble is not 1 (ADVERTISEMENT), the only type defined.
    #[error("unknown VRRP message type {0}")]
    BadType(u8),
    /// A version 2 advert in IPv6: RFC 3768 defines v2 for IPv4 only.
    #[error("VRRPv2 is defined for IPv4 only")]
    V2OverIpv6,
    /// The message is too short for the number of addresses it announces.
    #[error("{count} addresses announced but the message has only {len} bytes")]
    AddressCountMismatch {
        /// Count IP Addrs field.
        count: u8,
        /// Bytes available.
        len: usize,
    },
    /// The message length is not exactly the one its address count implies.
    ///
    /// keepalived drops such packets ("Received packet length mismatch against expected").
    #[error("message is {len} bytes, expected {expected}")]
    LengthMismatch {
        /// 8 + count * address width (+ 8 for v2).
        expected: usize,
        /// Bytes received.
        len: usize,
    },
    /// Interval not representable: v2 needs whole seconds 1..=255 (100..=25500 cs), v3
    /// 1..=4095 cs (12 bits).
    #[error("advertisement interval {0} cs cannot be encoded")]
    BadInterval(u16),
    /// Addresses of both families in one advert, or the IP source/destination of another family
    /// than the addresses.
    #[error("addresses of mixed families")]
    MixedFamilies,
    /// More than 255 addresses: the count field is one byte.
    #[error("{0} addresses, at most 255 fit in an advert")]
    TooManyAddresses(usize),
    /// The caller's buffer cannot hold the message.
    #[error("buffer of {have} bytes, need {need}")]
    BufferTooSmall {
        /// Bytes the message needs.
        need: usize,
        /// Bytes the buffer has.
        have: usize,
    },
    /// Authentication requested for v3, which has no authentication field (RFC 5798 §9).
    #[error("VRRPv3 has no authentication")]
    AuthInV3,
    /// Virtual router ID 0; RFC 5798 §5.2.3 allows 1..=255.
    #[error("virtual router id 0 is not valid")]
    ZeroVrid,
}
