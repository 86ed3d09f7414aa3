//! [`AdvertRepr`]: what to send, and how it goes on the wire.

use std::net::IpAddr;

use super::advert::{message_len, Advert, HEADER_LEN, V2_AUTH_DATA_LEN};
use super::{checksum, Auth, Family, Version, WireError, IP_PROTOCOL, TYPE_ADVERTISEMENT};

/// Largest v3 Max Adver Int: the field has 12 bits (RFC 5798 §5.2.7).
const V3_MAX_INTERVAL_CS: u16 = 0x0fff;
/// Largest v2 Adver Int: one byte of seconds (RFC 3768 §5.3.7).
const V2_MAX_INTERVAL_S: u16 = 255;

/// What to send; `emit` writes into the caller's buffer, no allocation.
///
/// There is no `parse` into this type: the address list would need an allocation (or a
/// lifetime into the packet) and the receive path has the zero-copy [`Advert`] for that.
#[derive(Debug, Clone, Copy)]
pub struct AdvertRepr<'a> {
    /// Protocol version.
    pub version: Version,
    /// Virtual router ID, 1..=255.
    pub vrid: u8,
    /// Priority; 0 announces that the master is leaving, 255 is the address owner.
    pub priority: u8,
    /// centiseconds; v2 must be a whole number of seconds 1..=255 (else WireError::BadInterval).
    /// v3: 1..=4095.
    pub interval_cs: u16,
    /// Must be [`Auth::None`] for V3.
    pub auth: Auth,
    /// One family, <= 255 of them; IPv4 only for v2.
    pub addresses: &'a [IpAddr],
}

impl AdvertRepr<'_> {
    /// Bytes [`AdvertRepr::emit`] writes (for a representation that passes its checks).
    pub fn buffer_len(&self) -> usize {
        let family = self.addresses.first().map_or(Family::V4, Family::of);
        let count = self.addresses.len().min(usize::from(u8::MAX));
        // `count` is clamped to 255 above, so the narrowing is lossless.
        message_len(self.version, family, count as u8)
    }

    /// Checks the representation can be encoded and returns the family it is sent in.
    ///
    /// For v3 the family comes from `src` (it decides the pseudo-header), and `dst` and every
    /// address must agree with it. v2 ignores `src`/`dst` (its checksum has no pseudo-header)
    /// but carries IPv4 addresses only.
    pub fn check(&self, src: IpAddr, dst: IpAddr) -> Result<Family, WireError> {
        let family = self.check_from(src)?;
        if self.version == Version::V3 && Family::of(&dst) != family {
            return Err(WireError::MixedFamilies);
        }
        Ok(family)
    }

    /// [`AdvertRepr::check`] without the destination: everything a message sent from `src`
    /// must satisfy whatever its destination. [`super::AdvertTemplate`] checks the destination
    /// at each send instead.
    pub(crate) fn check_from(&self, src: IpAddr) -> Result<Family, WireError> {
        if self.vrid == 0 {
            return Err(WireError::ZeroVrid);
        }
        if self.addresses.len() > usize::from(u8::MAX) {
            return Err(WireError::TooManyAddresses(self.addresses.len()));
        }
        let family = match self.version {
            Version::V2 => {
                let seconds = self.interval_cs / 100;
                if self.interval_cs % 100 != 0 || seconds == 0 || seconds > V2_MAX_INTERVAL_S {
                    return Err(WireError::BadInterval(self.interval_cs));
                }
                if self.addresses.iter().any(|a| a.is_ipv6()) {
                    return Err(WireError::V2OverIpv6);
                }
                Family::V4
            }
            Version::V3 => {
                if self.interval_cs == 0 || self.interval_cs > V3_MAX_INTERVAL_CS {
                    return Err(WireError::BadInterval(self.interval_cs));
                }
                if self.auth != Auth::None {
                    return Err(WireError::AuthInV3);
                }
                let family = Family::of(&src);
                if self.addresses.iter().any(|a| Family::of(a) != family) {
                    return Err(WireError::MixedFamilies);
                }
                family
            }
        };
        Ok(family)
    }

    /// Writes the message and its checksum (v3 pseudo-header from src/dst). Returns bytes written.
    ///
    /// Only the first [`AdvertRepr::buffer_len`] bytes of `buf` are touched. The errors are
    /// those of [`AdvertRepr::check`], then [`WireError::BufferTooSmall`]; on an error the
    /// bytes may have been partly written.
    ///
    /// One pass: each address is checked, written and summed into the checksum in the same step
    /// (the words [`Advert::fill_checksum`] would sum afterwards), so neither the list nor the
    /// message is read twice. The header's two 32-bit words are summed as integers and stored
    /// once, with the checksum, at the end.
    pub fn emit(&self, buf: &mut [u8], src: IpAddr, dst: IpAddr) -> Result<usize, WireError> {
        if self.vrid == 0 {
            return Err(WireError::ZeroVrid);
        }
        let Ok(count) = u8::try_from(self.addresses.len()) else {
            return Err(WireError::TooManyAddresses(self.addresses.len()));
        };
        // The second header word (interval; Checksum zero while summing), the family, and
        // for v3 the pseudo-header's sum.
        let (second, family, pseudo) = match self.version {
            Version::V2 => {
                let seconds = self.interval_cs / 100;
                if self.interval_cs % 100 != 0 || seconds == 0 || seconds > V2_MAX_INTERVAL_S {
                    return Err(WireError::BadInterval(self.interval_cs));
                }
                // seconds <= 255 above, so the cast is lossless.
                let second = u32::from_be_bytes([self.auth.type_byte(), seconds as u8, 0, 0]);
                (second, Family::V4, 0)
            }
            Version::V3 => {
                if self.interval_cs == 0 || self.interval_cs > V3_MAX_INTERVAL_CS {
                    return Err(WireError::BadInterval(self.interval_cs));
                }
                if self.auth != Auth::None {
                    return Err(WireError::AuthInV3);
                }
                let family = Family::of(&src);
                let pseudo = checksum::address_sum(src) + checksum::address_sum(dst);
                (u32::from(self.interval_cs) << 16, family, pseudo)
            }
        };
        let len = message_len(self.version, family, count);
        let have = buf.len();
        let out = match buf.get_mut(..len) {
            Some(out) => out,
            // check() names a family mismatch before the buffer.
            None => {
                self.check(src, dst)?;
                return Err(WireError::BufferTooSmall { need: len, have });
            }
        };
        let Some((header, rest)) = out.split_first_chunk_mut::<HEADER_LEN>() else {
            return Err(WireError::BufferTooSmall { need: len, have });
        };
        let ver_type = self.version.number() << 4 | TYPE_ADVERTISEMENT;
        let first = u32::from_be_bytes([ver_type, self.vrid, self.priority, count]);
        let mut acc = u64::from(first) + u64::from(second);
        let (list, auth) = rest.split_at_mut(usize::from(count) * family.addr_len());
        match family {
            Family::V4 => {
                for (out, addr) in list.chunks_exact_mut(4).zip(self.addresses) {
                    let IpAddr::V4(a) = addr else {
                        return Err(self.family_error());
                    };
                    let word = u32::from(*a);
                    out.copy_from_slice(&word.to_be_bytes());
                    acc += u64::from(word);
                }
            }
            Family::V6 => {
                for (out, addr) in list.chunks_exact_mut(16).zip(self.addresses) {
                    let IpAddr::V6(a) = addr else {
                        return Err(self.family_error());
                    };
                    out.copy_from_slice(&a.octets());
                    acc += checksum::address_sum(*addr);
                }
            }
        }
        match self.version {
            Version::V2 => {
                // The 8 bytes after the list (message_len counted them).
                let data = match self.auth {
                    Auth::None => [0; V2_AUTH_DATA_LEN],
                    Auth::Simple(password) => password,
                };
                auth.copy_from_slice(&data);
                acc += checksum::sum(&data);
            }
            Version::V3 => {
                if Family::of(&dst) != family {
                    return Err(WireError::MixedFamilies);
                }
                acc += pseudo + u64::from(IP_PROTOCOL) + len as u64;
            }
        }
        let word =
            u64::from(first) << 32 | u64::from(second) | u64::from(checksum::complement(acc));
        *header = word.to_be_bytes();
        Ok(len)
    }

    /// What [`AdvertRepr::check`] reports for an address of the wrong family.
    #[cold]
    fn family_error(&self) -> WireError {
        match self.version {
            Version::V2 => WireError::V2OverIpv6,
            Version::V3 => WireError::MixedFamilies,
        }
    }

    /// Length of the message in `family`, for a representation that passed its checks.
    pub(crate) fn message_len(&self, family: Family) -> usize {
        // check() bounds the list to 255 entries.
        message_len(self.version, family, self.addresses.len() as u8)
    }

    /// Writes every field but the checksum into `advert`, which is exactly
    /// [`AdvertRepr::message_len`] long, for a representation that passed its checks.
    pub(crate) fn write_fields(&self, advert: &mut Advert<&mut [u8]>) {
        advert.set_version(self.version);
        advert.set_vrid(self.vrid);
        advert.set_priority(self.priority);
        // check() bounds the list to 255 entries.
        advert.set_count_addrs(self.addresses.len() as u8);
        match self.version {
            Version::V2 => {
                // check() bounds the interval to 1..=255 whole seconds.
                advert.set_v2_auth_interval(self.auth.type_byte(), (self.interval_cs / 100) as u8)
            }
            Version::V3 => advert.set_v3_interval(self.interval_cs),
        }
        for (i, addr) in self.addresses.iter().enumerate() {
            advert.set_address(i, addr);
        }
        if self.version == Version::V2 {
            let auth = advert.v2_auth_data_mut();
            match self.auth {
                Auth::None => auth.fill(0),
                Auth::Simple(password) => auth.copy_from_slice(&password),
            }
        }
    }
}
