//! Property tests of the codec: build -> parse round trips for every field (v2/v3, IPv4/IPv6,
//! auth), no panic on arbitrary bytes, and detection of any single corrupted byte.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;
use vrrp_core::wire::{
    validate, Advert, AdvertRepr, Auth, Family, RxError, RxMeta, RxPolicy, Version,
};

/// Everything an advert can carry, with the IP addresses around it.
#[derive(Debug, Clone)]
struct Spec {
    version: Version,
    family: Family,
    vrid: u8,
    priority: u8,
    interval_cs: u16,
    auth: Auth,
    addresses: Vec<IpAddr>,
    src: IpAddr,
    dst: IpAddr,
}

impl Spec {
    fn repr(&self) -> AdvertRepr<'_> {
        AdvertRepr {
            version: self.version,
            vrid: self.vrid,
            priority: self.priority,
            interval_cs: self.interval_cs,
            auth: self.auth,
            addresses: &self.addresses,
        }
    }

    fn emit(&self) -> Vec<u8> {
        let repr = self.repr();
        let mut buf = vec![0; repr.buffer_len()];
        let n = repr
            .emit(&mut buf, self.src, self.dst)
            .expect("valid spec emits");
        assert_eq!(n, buf.len());
        buf
    }

    fn meta(&self) -> RxMeta {
        RxMeta {
            src: self.src,
            dst: self.dst,
            ttl: 255,
        }
    }

    fn policy(&self) -> RxPolicy<'_> {
        RxPolicy {
            version: self.version,
            vrid: self.vrid,
            family: self.family,
            auth: self.auth,
            interval_cs: self.interval_cs,
            addresses: &self.addresses,
            skip_check_adv_addr: false,
            last_master: None,
            // Random destinations are mostly unicast; the policy follows them.
            unicast: !self.dst.is_multicast(),
        }
    }
}

fn v4() -> impl Strategy<Value = IpAddr> {
    any::<[u8; 4]>().prop_map(|o| IpAddr::V4(Ipv4Addr::from(o)))
}

fn v6() -> impl Strategy<Value = IpAddr> {
    any::<[u8; 16]>().prop_map(|o| IpAddr::V6(Ipv6Addr::from(o)))
}

fn auth() -> impl Strategy<Value = Auth> {
    prop_oneof![Just(Auth::None), any::<[u8; 8]>().prop_map(Auth::Simple)]
}

/// Address lists up to 20 long, plus now and then the maximum of 255.
fn addresses(addr: BoxedStrategy<IpAddr>) -> impl Strategy<Value = Vec<IpAddr>> {
    prop_oneof![
        9 => prop::collection::vec(addr.clone(), 0..20),
        1 => prop::collection::vec(addr, 255),
    ]
}

fn v2_spec() -> impl Strategy<Value = Spec> {
    (
        1..=255u8,
        any::<u8>(),
        1..=255u16,
        auth(),
        addresses(v4().boxed()),
        v4(),
        v4(),
    )
        .prop_map(|(vrid, priority, secs, auth, addresses, src, dst)| Spec {
            version: Version::V2,
            family: Family::V4,
            vrid,
            priority,
            interval_cs: secs * 100,
            auth,
            addresses,
            src,
            dst,
        })
}

fn v3_spec() -> impl Strategy<Value = Spec> {
    let family = prop_oneof![
        (addresses(v4().boxed()), v4(), v4()).prop_map(|(a, s, d)| (Family::V4, a, s, d)),
        (addresses(v6().boxed()), v6(), v6()).prop_map(|(a, s, d)| (Family::V6, a, s, d)),
    ];
    (1..=255u8, any::<u8>(), 1..=4095u16, family).prop_map(
        |(vrid, priority, interval_cs, (family, addresses, src, dst))| Spec {
            version: Version::V3,
            family,
            vrid,
            priority,
            interval_cs,
            auth: Auth::None,
            addresses,
            src,
            dst,
        },
    )
}

fn spec() -> impl Strategy<Value = Spec> {
    prop_oneof![v2_spec(), v3_spec()]
}

/// An address's 16-bit words summed modulo 0xffff: its whole contribution to a one's-complement
/// checksum (0x0000 and 0xffff are the same number there).
fn ones_complement_value(addr: IpAddr) -> u32 {
    let octets = match addr {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    };
    let sum: u32 = octets
        .chunks(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
        .sum();
    sum % 0xffff
}

fn arbitrary_policy_parts() -> impl Strategy<Value = (Version, Family, u8, Auth, u16, bool, bool)> {
    (
        prop_oneof![Just(Version::V2), Just(Version::V3)],
        prop_oneof![Just(Family::V4), Just(Family::V6)],
        any::<u8>(),
        auth(),
        any::<u16>(),
        any::<bool>(),
        any::<bool>(),
    )
}

/// 512 cases per property, or `PROPTEST_CASES` when set (a long run hunting rare cases).
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(512)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn emit_then_parse_round_trips_every_field(spec in spec()) {
        let msg = spec.emit();
        let advert = Advert::new_checked(&msg[..], spec.family).unwrap();
        prop_assert_eq!(advert.version(), Some(spec.version));
        prop_assert_eq!(advert.vrid(), spec.vrid);
        prop_assert_eq!(advert.priority(), spec.priority);
        prop_assert_eq!(usize::from(advert.count_addrs()), spec.addresses.len());
        prop_assert_eq!(advert.interval_cs(), spec.interval_cs);
        prop_assert_eq!(advert.auth_type(), spec.auth.type_byte());
        match spec.auth {
            Auth::Simple(pw) => prop_assert_eq!(advert.auth_data(), Some(&pw[..])),
            Auth::None => prop_assert_eq!(advert.auth_data(), None),
        }
        prop_assert!(advert.addresses(spec.family).eq(spec.addresses.iter().copied()));
        for (i, a) in spec.addresses.iter().enumerate() {
            prop_assert_eq!(advert.address(spec.family, i), *a);
        }
        prop_assert!(advert.verify_checksum(spec.src, spec.dst));
        prop_assert_eq!(advert.message_len(spec.family), Some(msg.len()));
        prop_assert!(validate(&msg, &spec.meta(), &spec.policy()).is_ok());
    }

    #[test]
    fn any_single_corrupted_byte_is_detected(spec in spec(), pos in any::<prop::sample::Index>(), flip in 1..=255u8) {
        let mut msg = spec.emit();
        let i = pos.index(msg.len());
        msg[i] ^= flip;
        let result = validate(&msg, &spec.meta(), &spec.policy());
        prop_assert!(result.is_err(), "corruption at byte {} accepted", i);
        // Bytes 0 (version/type) and 3 (count) change how the message reads, so another check
        // may fire first; any other byte can only be caught by the checksum, which must be: one
        // byte moves the one's-complement sum by d or d * 256 with 0 < |d| <= 255, never by a
        // multiple of 0xffff, so no single-byte change collides.
        if i != 0 && i != 3 {
            prop_assert_eq!(result.map(|_| ()), Err(RxError::Checksum));
            prop_assert!(!Advert::new_unchecked(&msg[..]).verify_checksum(spec.src, spec.dst));
        }
    }

    /// Another address in the pseudo-header fails the checksum exactly when its words sum to
    /// a different one's-complement value: the checksum cannot tell apart addresses whose sums
    /// collide (192.0.2.1 and 192.1.2.0, say; see `pseudo_header_collisions_verify`), and a
    /// random forgery hits one about once in 65,535 draws, so the property states both sides.
    #[test]
    fn v3_pseudo_header_binds_the_ip_addresses(spec in v3_spec(), other in any::<[u8; 16]>()) {
        let msg = spec.emit();
        let forged = match spec.src {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::new(other[0], other[1], other[2], other[3])),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::from(other)),
        };
        let advert = Advert::new_checked(&msg[..], spec.family).unwrap();
        // Swapping source and destination leaves the one's-complement sum unchanged, so the
        // forgery replaces one of them and keeps the other.
        for (original, src, dst) in [(spec.src, forged, spec.dst), (spec.dst, spec.src, forged)] {
            let collides = ones_complement_value(forged) == ones_complement_value(original);
            prop_assert_eq!(
                advert.verify_checksum(src, dst),
                collides,
                "{} in place of {}", forged, original
            );
        }
    }

    #[test]
    fn new_checked_and_accessors_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600), v6 in any::<bool>()) {
        let family = if v6 { Family::V6 } else { Family::V4 };
        if let Ok(advert) = Advert::new_checked(&bytes[..], family) {
            let _ = (advert.version(), advert.vrid(), advert.priority(), advert.auth_type());
            let _ = (advert.interval_cs(), advert.checksum(), advert.auth_data());
            for i in 0..usize::from(advert.count_addrs()) {
                let _ = advert.address(family, i);
            }
            prop_assert_eq!(advert.addresses(family).count(), usize::from(advert.count_addrs()));
            let src = IpAddr::V4(Ipv4Addr::LOCALHOST);
            let _ = advert.verify_checksum(src, src);
        }
        // The iterator and the length-independent accessors are total even unchecked.
        let unchecked = Advert::new_unchecked(&bytes[..]);
        let _ = unchecked.addresses(family).count();
        let _ = unchecked.auth_data().is_some();
        let _ = unchecked.verify_checksum(IpAddr::V6(Ipv6Addr::LOCALHOST), IpAddr::V6(Ipv6Addr::LOCALHOST));
    }

    #[test]
    fn validate_never_panics(
        bytes in prop::collection::vec(any::<u8>(), 0..600),
        (version, family, vrid, auth, interval_cs, skip, unicast) in arbitrary_policy_parts(),
        addrs in prop::collection::vec(prop_oneof![v4(), v6()], 0..4),
        src in prop_oneof![v4(), v6()],
        dst in prop_oneof![v4(), v6()],
        ttl in any::<u8>(),
    ) {
        let policy = RxPolicy {
            version, vrid, family, auth, interval_cs,
            addresses: &addrs,
            skip_check_adv_addr: skip,
            last_master: Some(src),
            unicast,
        };
        let meta = RxMeta { src, dst, ttl };
        if let Err(e) = validate(&bytes, &meta, &policy) {
            prop_assert!(!e.label().is_empty());
        }
    }

    /// Mutations of a valid advert reach the deeper checks that random bytes rarely do.
    #[test]
    fn validate_never_panics_on_mutated_adverts(spec in spec(), edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6), cut in any::<prop::sample::Index>()) {
        let mut msg = spec.emit();
        for (pos, value) in edits {
            let i = pos.index(msg.len());
            msg[i] = value;
        }
        let len = cut.index(msg.len() + 1);
        let _ = validate(&msg[..len], &spec.meta(), &spec.policy());
        let _ = validate(&msg, &spec.meta(), &spec.policy());
    }
}

/// The other side of `v3_pseudo_header_binds_the_ip_addresses`: an address whose words sum to
/// the same one's-complement value passes, as the Internet checksum allows (RFC 1071).
#[test]
fn pseudo_header_collisions_verify() {
    let spec = Spec {
        version: Version::V3,
        family: Family::V4,
        vrid: 1,
        priority: 100,
        interval_cs: 100,
        auth: Auth::None,
        addresses: vec![IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1))],
        src: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
        dst: IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18)),
    };
    let msg = spec.emit();
    let advert = Advert::new_checked(&msg[..], spec.family).unwrap();
    // 0xc000 + 0x0201 == 0xc001 + 0x0200.
    let twin = IpAddr::V4(Ipv4Addr::new(192, 1, 2, 0));
    assert_eq!(ones_complement_value(twin), ones_complement_value(spec.src));
    assert!(advert.verify_checksum(twin, spec.dst));
    assert!(!advert.verify_checksum(IpAddr::V4(Ipv4Addr::new(192, 1, 2, 1)), spec.dst));
}
