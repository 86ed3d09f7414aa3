//! Fuzzes the VRRP advert codec on arbitrary bytes: `Advert::new_checked`, every accessor on what
//! it accepts, and `validate` with a policy and IP metadata derived from the input, so that the
//! deeper checks (auth, interval, address list) are reached too. Invariants checked beyond "no
//! panic": an accepted advert satisfies `new_checked`, has a good checksum, and re-emits to the
//! same bytes.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use libfuzzer_sys::fuzz_target;
use vrrp_core::wire::{
    validate, Advert, AdvertRepr, Auth, Family, RxMeta, RxPolicy, Version, MULTICAST_V4,
    MULTICAST_V6,
};

/// Addresses a policy can hold; the largest advert has 255.
const MAX_ADDRS: usize = 255;

fuzz_target!(|data: &[u8]| {
    // First byte: knobs for the policy; the rest is the message.
    let Some((&knobs, msg)) = data.split_first() else {
        return;
    };
    let family = if knobs & 1 == 0 {
        Family::V4
    } else {
        Family::V6
    };

    for fam in [Family::V4, Family::V6] {
        if let Ok(advert) = Advert::new_checked(msg, fam) {
            let _ = (
                advert.version(),
                advert.vrid(),
                advert.priority(),
                advert.count_addrs(),
            );
            let _ = (advert.auth_type(), advert.interval_cs(), advert.checksum());
            let _ = (advert.auth_data(), advert.message_len(fam));
            for i in 0..usize::from(advert.count_addrs()) {
                let _ = advert.address(fam, i);
            }
            assert_eq!(
                advert.addresses(fam).count(),
                usize::from(advert.count_addrs())
            );
        }
    }

    let unicast = knobs & 32 != 0;
    let (src, dst) = match (family, unicast) {
        (Family::V4, false) => (
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
            IpAddr::V4(MULTICAST_V4),
        ),
        (Family::V4, true) => (
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)),
        ),
        (Family::V6, false) => (
            IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1)),
            IpAddr::V6(MULTICAST_V6),
        ),
        (Family::V6, true) => (
            IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
            IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2)),
        ),
    };
    // The policy mirrors the message where the knobs say so, so that valid adverts are common.
    let view = Advert::new_unchecked(msg);
    let header_ok = msg.len() >= 8;
    let version = if knobs & 2 == 0 {
        Version::V3
    } else {
        Version::V2
    };
    let mut addrs = [IpAddr::V4(Ipv4Addr::UNSPECIFIED); MAX_ADDRS];
    let mut n = 0;
    for a in view.addresses(family) {
        addrs[n] = a;
        n += 1;
    }
    let auth = match view.auth_data() {
        Some(bytes) if knobs & 4 == 0 => {
            let mut pw = [0u8; 8];
            pw.copy_from_slice(bytes);
            Auth::Simple(pw)
        }
        _ => Auth::None,
    };
    let policy = RxPolicy {
        version,
        vrid: if header_ok { view.vrid() } else { 1 },
        family,
        auth,
        interval_cs: if header_ok { view.interval_cs() } else { 100 },
        addresses: &addrs[..n],
        skip_check_adv_addr: knobs & 8 != 0,
        last_master: (knobs & 16 != 0).then_some(src),
        unicast,
    };
    let meta = RxMeta {
        src,
        dst,
        ttl: if knobs & 64 == 0 { 255 } else { knobs },
    };

    match validate(msg, &meta, &policy) {
        Ok(advert) => {
            assert!(Advert::new_checked(msg, family).is_ok());
            assert!(advert.verify_checksum(src, dst));
            // An accepted advert re-emits to itself, except for what the receiver ignores (v3
            // reserved bits, v2 auth data with type 0) and the checksum, whose 0x0000 and 0xffff
            // are the same one's-complement value (verified above instead).
            let repr = AdvertRepr {
                version,
                vrid: advert.vrid(),
                priority: advert.priority(),
                interval_cs: advert.interval_cs(),
                auth: if advert.auth_type() == 0 {
                    Auth::None
                } else {
                    auth
                },
                addresses: &addrs[..n],
            };
            let mut out = [0u8; 8 + MAX_ADDRS * 16 + 8];
            if let Ok(len) = repr.emit(&mut out, src, dst) {
                let ignored_bits_clear = match version {
                    Version::V3 => msg[4] & 0xf0 == 0,
                    Version::V2 => {
                        advert.auth_type() != 0 || msg[len - 8..].iter().all(|b| *b == 0)
                    }
                };
                if ignored_bits_clear {
                    assert_eq!(out[..6], msg[..6]);
                    assert_eq!(out[8..len], msg[8..]);
                }
            }
        }
        Err(e) => {
            let _ = e.label();
        }
    }
});
