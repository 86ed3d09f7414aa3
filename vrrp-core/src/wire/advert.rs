//! [`Advert`]: a zero-copy view over the bytes of one VRRP message.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::checksum;
use super::{Family, Version, WireError, TYPE_ADVERTISEMENT};

/// Byte offsets of the fixed header (RFC 3768 §5.1, RFC 5798 §5.1).
mod field {
    pub(super) type Field = core::ops::Range<usize>;

    /// Version (high nibble) and Type (low nibble).
    pub(super) const VER_TYPE: usize = 0;
    pub(super) const VRID: usize = 1;
    pub(super) const PRIORITY: usize = 2;
    pub(super) const COUNT_ADDRS: usize = 3;
    /// v2: Auth Type.
    pub(super) const V2_AUTH_TYPE: usize = 4;
    /// v2: Adver Int, whole seconds.
    pub(super) const V2_ADVER_INT: usize = 5;
    /// v3: 4 reserved bits, then Max Adver Int in centiseconds (12 bits).
    pub(super) const V3_MAX_ADVER_INT: Field = 4..6;
    pub(super) const CHECKSUM: Field = 6..8;
    /// First address; the list runs for Count IP Addrs entries of the family's width.
    pub(super) const ADDRESSES: usize = 8;
}

/// Length of the fixed header that precedes the address list.
pub const HEADER_LEN: usize = field::ADDRESSES;
/// Length of the v2 Authentication Data that follows the address list. keepalived always sends
/// it in v2, zeroed when the auth type is 0, so it is part of every v2 message.
pub const V2_AUTH_DATA_LEN: usize = 8;
/// Mask of the 12-bit v3 Max Adver Int; the top 4 bits are reserved (sent as 0, ignored).
const V3_INTERVAL_MASK: u16 = 0x0fff;

/// Zero-copy view over a VRRP message (the IP payload; the IP header is the caller's).
///
/// Built with [`Advert::new_checked`], every accessor is total: none of them panics whatever the
/// bytes. [`Advert::new_unchecked`] skips the length checks, after which the fixed-field
/// accessors panic on a buffer shorter than [`HEADER_LEN`] (the smoltcp convention: unchecked
/// means the caller vouched for the length); [`Advert::addresses`], [`Advert::auth_data`] and
/// [`Advert::verify_checksum`] stay total regardless.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Advert<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Advert<T> {
    /// Wraps `buffer` without looking at it.
    pub const fn new_unchecked(buffer: T) -> Self {
        Advert { buffer }
    }

    /// Wraps `buffer` after checking it can be read as an advert of `family`: length >= header,
    /// version 2|3, type 1, v2 only over IPv4, and count_addrs * addr_len (+8 auth bytes for v2)
    /// fits the buffer.
    ///
    /// Trailing bytes are allowed here so that a view can sit on a larger buffer (as when
    /// emitting); [`super::validate`] is the one that insists on the exact length.
    pub fn new_checked(buffer: T, family: Family) -> Result<Self, WireError> {
        let advert = Self::new_unchecked(buffer);
        advert.check_len(family)?;
        Ok(advert)
    }

    /// The checks of [`Advert::new_checked`].
    pub fn check_len(&self, family: Family) -> Result<(), WireError> {
        let data = self.buffer.as_ref();
        let len = data.len();
        if len < HEADER_LEN {
            return Err(WireError::Truncated);
        }
        let version = match self.version() {
            Some(v) => v,
            None => return Err(WireError::BadVersion(self.version_number())),
        };
        if self.msg_type() != TYPE_ADVERTISEMENT {
            return Err(WireError::BadType(self.msg_type()));
        }
        if version == Version::V2 && family == Family::V6 {
            return Err(WireError::V2OverIpv6);
        }
        if len < message_len(version, family, self.count_addrs()) {
            return Err(WireError::AddressCountMismatch {
                count: self.count_addrs(),
                len,
            });
        }
        Ok(())
    }

    /// The raw Version nibble.
    #[inline]
    pub fn version_number(&self) -> u8 {
        self.buffer.as_ref()[field::VER_TYPE] >> 4
    }

    /// The Type nibble (1 for every valid advert).
    pub fn msg_type(&self) -> u8 {
        self.buffer.as_ref()[field::VER_TYPE] & 0x0f
    }

    /// Protocol version, `None` if the nibble is neither 2 nor 3.
    pub fn version(&self) -> Option<Version> {
        Version::from_number(self.version_number())
    }

    /// Virtual Router Identifier.
    #[inline]
    pub fn vrid(&self) -> u8 {
        self.buffer.as_ref()[field::VRID]
    }

    /// Priority: 255 for the address owner, 0 when the master resigns (RFC 5798 §5.2.4).
    #[inline]
    pub fn priority(&self) -> u8 {
        self.buffer.as_ref()[field::PRIORITY]
    }

    /// Count IP Addrs.
    #[inline]
    pub fn count_addrs(&self) -> u8 {
        self.buffer.as_ref()[field::COUNT_ADDRS]
    }

    /// v2: auth type byte; v3: 0 (the byte is part of the interval field there).
    pub fn auth_type(&self) -> u8 {
        match self.version() {
            Some(Version::V2) => self.buffer.as_ref()[field::V2_AUTH_TYPE],
            _ => 0,
        }
    }

    /// Advertisement interval in centiseconds: v2 seconds*100, v3 the 12-bit Max Adver Int.
    ///
    /// A message of unknown version reads as v3, the layout a future version is likelier to keep.
    #[inline]
    pub fn interval_cs(&self) -> u16 {
        let data = self.buffer.as_ref();
        if self.version_number() == Version::V2.number() {
            u16::from(data[field::V2_ADVER_INT]) * 100
        } else {
            let f = field::V3_MAX_ADVER_INT;
            u16::from_be_bytes([data[f.start], data[f.start + 1]]) & V3_INTERVAL_MASK
        }
    }

    /// The Checksum field as sent.
    pub fn checksum(&self) -> u16 {
        let data = self.buffer.as_ref();
        u16::from_be_bytes([data[field::CHECKSUM.start], data[field::CHECKSUM.start + 1]])
    }

    /// i-th address (caller guarantees i < count_addrs after new_checked).
    ///
    /// # Panics
    /// If the buffer ends before the i-th address, which [`Advert::new_checked`] with the same
    /// `family` rules out for every `i < count_addrs()`. [`Advert::addresses`] never panics.
    pub fn address(&self, family: Family, i: usize) -> IpAddr {
        let start = field::ADDRESSES + i * family.addr_len();
        read_address(
            &self.buffer.as_ref()[start..start + family.addr_len()],
            family,
        )
    }

    /// The address list, as many entries as Count IP Addrs says and the buffer holds.
    ///
    /// Total even on an unchecked buffer: a buffer too short for the header yields nothing.
    pub fn addresses(&self, family: Family) -> Addresses<'_> {
        Addresses {
            bytes: self.address_bytes(family),
            family,
        }
    }

    /// The raw address list: whole addresses only, as [`Advert::addresses`] walks them. Lets
    /// validation compare octets without building an `IpAddr` per entry.
    pub(crate) fn address_bytes(&self, family: Family) -> &[u8] {
        let data = self.buffer.as_ref();
        let count = data.get(field::COUNT_ADDRS).copied().unwrap_or(0);
        let available = data.len().saturating_sub(field::ADDRESSES) / family.addr_len();
        let n = available.min(usize::from(count));
        data.get(field::ADDRESSES..field::ADDRESSES + n * family.addr_len())
            .unwrap_or(&[])
    }

    /// v2 with auth: the 8 auth bytes; else None.
    ///
    /// "With auth" means an Auth Type other than 0: with type 0 the bytes are padding. Total
    /// even on an unchecked buffer (`None` when the bytes are not there).
    pub fn auth_data(&self) -> Option<&[u8]> {
        if self.buffer.as_ref().len() < HEADER_LEN
            || self.version() != Some(Version::V2)
            || self.auth_type() == 0
        {
            return None;
        }
        let start = field::ADDRESSES + usize::from(self.count_addrs()) * Family::V4.addr_len();
        self.buffer.as_ref().get(start..start + V2_AUTH_DATA_LEN)
    }

    /// Length of the message its header describes (8 + addresses (+ 8 for v2)), or `None` for an
    /// unknown version. The buffer may be longer (or, unchecked, shorter).
    pub fn message_len(&self, family: Family) -> Option<usize> {
        self.version()
            .map(|v| message_len(v, family, self.count_addrs()))
    }

    /// v2: plain RFC 1071 over the message. v3: with the IPv4/IPv6 pseudo-header (src,dst from the IP header).
    ///
    /// The sum runs over the message as its header describes it, so trailing bytes do not count;
    /// `false` for a message too short to hold itself, an unknown version, or `src`/`dst` of
    /// different families (v3).
    pub fn verify_checksum(&self, src: IpAddr, dst: IpAddr) -> bool {
        let data = self.buffer.as_ref();
        if data.len() < HEADER_LEN {
            return false;
        }
        let (acc, family) = match self.version() {
            Some(Version::V2) => (0, Family::V4),
            Some(Version::V3) => {
                let family = Family::of(&src);
                let len = message_len(Version::V3, family, self.count_addrs());
                match checksum::pseudo_header(src, dst, len) {
                    Some(acc) => (acc, family),
                    None => return false,
                }
            }
            None => return false,
        };
        let len = self.message_len(family).unwrap_or(usize::MAX);
        match data.get(..len) {
            Some(msg) => checksum::fold(acc + checksum::sum(msg)) == 0xffff,
            None => false,
        }
    }

    /// The buffer, back.
    pub fn into_inner(self) -> T {
        self.buffer
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Advert<T> {
    /// Sets Version and Type.
    pub fn set_version(&mut self, version: Version) {
        self.buffer.as_mut()[field::VER_TYPE] = version.number() << 4 | TYPE_ADVERTISEMENT;
    }

    /// Sets the Virtual Router Identifier.
    pub fn set_vrid(&mut self, vrid: u8) {
        self.buffer.as_mut()[field::VRID] = vrid;
    }

    /// Sets the Priority.
    #[inline]
    pub fn set_priority(&mut self, priority: u8) {
        self.buffer.as_mut()[field::PRIORITY] = priority;
    }

    /// Sets Count IP Addrs.
    pub fn set_count_addrs(&mut self, count: u8) {
        self.buffer.as_mut()[field::COUNT_ADDRS] = count;
    }

    /// v2: sets Auth Type and Adver Int (whole seconds).
    pub fn set_v2_auth_interval(&mut self, auth_type: u8, seconds: u8) {
        let data = self.buffer.as_mut();
        data[field::V2_AUTH_TYPE] = auth_type;
        data[field::V2_ADVER_INT] = seconds;
    }

    /// v3: sets Max Adver Int (centiseconds, top 4 reserved bits cleared).
    pub fn set_v3_interval(&mut self, cs: u16) {
        let bytes = (cs & V3_INTERVAL_MASK).to_be_bytes();
        self.buffer.as_mut()[field::V3_MAX_ADVER_INT].copy_from_slice(&bytes);
    }

    /// Sets the Checksum field verbatim.
    #[inline]
    pub fn set_checksum(&mut self, value: u16) {
        self.buffer.as_mut()[field::CHECKSUM].copy_from_slice(&value.to_be_bytes());
    }

    /// Writes the i-th address.
    ///
    /// # Panics
    /// If the buffer is too short for it (the emitter sizes the buffer first).
    pub fn set_address(&mut self, i: usize, addr: &IpAddr) {
        let data = self.buffer.as_mut();
        match addr {
            IpAddr::V4(a) => {
                let start = field::ADDRESSES + i * 4;
                data[start..start + 4].copy_from_slice(&a.octets());
            }
            IpAddr::V6(a) => {
                let start = field::ADDRESSES + i * 16;
                data[start..start + 16].copy_from_slice(&a.octets());
            }
        }
    }

    /// v2: the 8 bytes after the address list, whatever the auth type.
    ///
    /// # Panics
    /// If the buffer is too short for them.
    pub fn v2_auth_data_mut(&mut self) -> &mut [u8] {
        let start = field::ADDRESSES + usize::from(self.count_addrs()) * Family::V4.addr_len();
        &mut self.buffer.as_mut()[start..start + V2_AUTH_DATA_LEN]
    }

    /// Computes and stores the checksum of the message (v3: with the pseudo-header of
    /// `src`/`dst`, which the caller has checked are of the same family as the addresses).
    pub fn fill_checksum(&mut self, family: Family, src: IpAddr, dst: IpAddr) {
        self.set_checksum(0);
        let Some(version) = self.version() else {
            return;
        };
        let len = message_len(version, family, self.count_addrs());
        let acc = match version {
            Version::V2 => 0,
            Version::V3 => checksum::pseudo_header(src, dst, len).unwrap_or(0),
        };
        let sum = acc + checksum::sum(&self.buffer.as_ref()[..len]);
        self.set_checksum(!checksum::fold(sum));
    }
}

/// Length of a message of `version` announcing `count` addresses of `family`.
pub(crate) const fn message_len(version: Version, family: Family, count: u8) -> usize {
    let base = HEADER_LEN + count as usize * family.addr_len();
    match version {
        Version::V2 => base + V2_AUTH_DATA_LEN,
        Version::V3 => base,
    }
}

/// Decodes one address from exactly `family.addr_len()` bytes.
fn read_address(bytes: &[u8], family: Family) -> IpAddr {
    match family {
        Family::V4 => {
            let mut o = [0u8; 4];
            o.copy_from_slice(bytes);
            IpAddr::V4(Ipv4Addr::from(o))
        }
        Family::V6 => {
            let mut o = [0u8; 16];
            o.copy_from_slice(bytes);
            IpAddr::V6(Ipv6Addr::from(o))
        }
    }
}

/// Iterator over the address list of an [`Advert`], see [`Advert::addresses`].
#[derive(Debug, Clone)]
pub struct Addresses<'a> {
    /// Whole addresses only.
    bytes: &'a [u8],
    family: Family,
}

impl Iterator for Addresses<'_> {
    type Item = IpAddr;

    fn next(&mut self) -> Option<IpAddr> {
        let width = self.family.addr_len();
        if self.bytes.len() < width {
            return None;
        }
        let (head, rest) = self.bytes.split_at(width);
        self.bytes = rest;
        Some(read_address(head, self.family))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.bytes.len() / self.family.addr_len();
        (n, Some(n))
    }
}

impl ExactSizeIterator for Addresses<'_> {}
