//! criterion benchmarks: vrrp_wire.
//!
//! The receive path runs `validate` for every advert on the segment and the send path `emit`s
//! once per interval per instance; both are budgeted at 20 ns for a v3 IPv4 advert so that VRRP
//! never shows up next to the health checkers in a profile. A running router sends with
//! `AdvertTemplate::emit` (the advert encoded once, re-sent by copy), benchmarked too.
//!
//! Wall-clock nanoseconds are noisy on a shared machine; instruction counts are not. With
//! `VRRP_WIRE_LOOP=N` set, the bench skips criterion and runs each v3 IPv4 operation N times in
//! a function of its own (`count_validate`, `count_emit`, `count_template_emit`), for
//! `valgrind --tool=callgrind` to count (see vrrp-core/BENCHMARKS.md).

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use criterion::{criterion_group, Criterion};
use vrrp_core::wire::{
    validate, Advert, AdvertRepr, AdvertTemplate, Auth, Family, RxMeta, RxPolicy, Version,
    MULTICAST_V4, MULTICAST_V6,
};

/// keepalived 2.2.7's v3 IPv4 advert from vrrp-core/tests/golden/v3_ipv4.txt: VRID 61,
/// priority 200, 50 cs, VIPs 192.0.2.120, 198.51.100.120, 192.0.2.121.
const V3_IPV4: [u8; 20] = [
    0x31, 0x3d, 0xc8, 0x03, 0x00, 0x32, 0xb4, 0x55, 0xc0, 0x00, 0x02, 0x78, 0xc6, 0x33, 0x64, 0x78,
    0xc0, 0x00, 0x02, 0x79,
];

const V3_IPV4_VIPS: [IpAddr; 3] = [
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, 120)),
    IpAddr::V4(Ipv4Addr::new(198, 51, 100, 120)),
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, 121)),
];

const V3_IPV6_VIPS: [IpAddr; 2] = [
    IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x71)),
    IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 0x71)),
];

fn v3_ipv4_meta() -> RxMeta {
    RxMeta {
        src: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
        dst: IpAddr::V4(MULTICAST_V4),
        ttl: 255,
    }
}

fn v3_ipv4_policy() -> RxPolicy<'static> {
    RxPolicy {
        version: Version::V3,
        vrid: 61,
        family: Family::V4,
        auth: Auth::None,
        interval_cs: 50,
        addresses: &V3_IPV4_VIPS,
        skip_check_adv_addr: false,
        last_master: None,
        unicast: false,
    }
}

fn v3_ipv4_repr() -> AdvertRepr<'static> {
    AdvertRepr {
        version: Version::V3,
        vrid: 61,
        priority: 200,
        interval_cs: 50,
        auth: Auth::None,
        addresses: &V3_IPV4_VIPS,
    }
}

fn v3_ipv4(c: &mut Criterion) {
    let meta = v3_ipv4_meta();
    let policy = v3_ipv4_policy();
    assert!(validate(&V3_IPV4, &meta, &policy).is_ok());
    c.bench_function("vrrp_wire/parse_validate_v3_ipv4", |b| {
        b.iter(|| {
            let advert = validate(black_box(&V3_IPV4), black_box(&meta), black_box(&policy));
            black_box(advert.map(|a| a.priority()))
        })
    });
    c.bench_function("vrrp_wire/new_checked_v3_ipv4", |b| {
        b.iter(|| black_box(Advert::new_checked(black_box(&V3_IPV4[..]), Family::V4).is_ok()))
    });

    let repr = v3_ipv4_repr();
    let mut buf = [0u8; 64];
    assert_eq!(repr.emit(&mut buf, meta.src, meta.dst), Ok(V3_IPV4.len()));
    assert_eq!(buf[..V3_IPV4.len()], V3_IPV4);
    c.bench_function("vrrp_wire/emit_v3_ipv4", |b| {
        b.iter(|| black_box(black_box(&repr).emit(&mut buf, black_box(meta.src), meta.dst)))
    });

    let template = AdvertTemplate::new(&repr, meta.src).expect("encodable");
    let mut buf = [0u8; 64];
    assert_eq!(template.emit(200, meta.dst, &mut buf), Ok(V3_IPV4.len()));
    assert_eq!(buf[..V3_IPV4.len()], V3_IPV4);
    c.bench_function("vrrp_wire/template_emit_v3_ipv4", |b| {
        b.iter(|| black_box(black_box(&template).emit(black_box(200), meta.dst, &mut buf)))
    });
}

#[inline(never)]
fn count_validate(n: u64) {
    let (meta, policy) = (v3_ipv4_meta(), v3_ipv4_policy());
    for _ in 0..n {
        let advert = validate(black_box(&V3_IPV4), black_box(&meta), black_box(&policy));
        assert_eq!(black_box(advert.map(|a| a.priority())), Ok(200));
    }
}

#[inline(never)]
fn count_emit(n: u64) {
    let (meta, repr) = (v3_ipv4_meta(), v3_ipv4_repr());
    let mut buf = [0u8; 64];
    for _ in 0..n {
        let len = black_box(&repr).emit(&mut buf, black_box(meta.src), meta.dst);
        assert_eq!(black_box(len), Ok(V3_IPV4.len()));
    }
}

#[inline(never)]
fn count_template_emit(n: u64) {
    let meta = v3_ipv4_meta();
    let template = AdvertTemplate::new(&v3_ipv4_repr(), meta.src).expect("encodable");
    let mut buf = [0u8; 64];
    for _ in 0..n {
        let len = black_box(&template).emit(black_box(200), meta.dst, &mut buf);
        assert_eq!(black_box(len), Ok(V3_IPV4.len()));
    }
}

fn others(c: &mut Criterion) {
    let v2 = AdvertRepr {
        version: Version::V2,
        vrid: 52,
        priority: 100,
        interval_cs: 100,
        auth: Auth::simple(b"1111"),
        addresses: &V3_IPV4_VIPS,
    };
    let src = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    let dst = IpAddr::V4(MULTICAST_V4);
    let mut msg = [0u8; 64];
    let n = v2.emit(&mut msg, src, dst).unwrap_or(0);
    let meta = RxMeta { src, dst, ttl: 255 };
    let policy = RxPolicy {
        version: Version::V2,
        vrid: 52,
        family: Family::V4,
        auth: v2.auth,
        interval_cs: 100,
        addresses: &V3_IPV4_VIPS,
        skip_check_adv_addr: false,
        last_master: None,
        unicast: false,
    };
    assert!(validate(&msg[..n], &meta, &policy).is_ok());
    c.bench_function("vrrp_wire/parse_validate_v2_pass", |b| {
        b.iter(|| black_box(validate(black_box(&msg[..n]), &meta, &policy).is_ok()))
    });

    let v6 = AdvertRepr {
        version: Version::V3,
        auth: Auth::None,
        addresses: &V3_IPV6_VIPS,
        ..v2
    };
    let src = IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1));
    let dst = IpAddr::V6(MULTICAST_V6);
    let mut msg = [0u8; 64];
    let n = v6.emit(&mut msg, src, dst).unwrap_or(0);
    let meta = RxMeta { src, dst, ttl: 255 };
    let policy = RxPolicy {
        version: Version::V3,
        family: Family::V6,
        auth: Auth::None,
        addresses: &V3_IPV6_VIPS,
        ..policy
    };
    assert!(validate(&msg[..n], &meta, &policy).is_ok());
    c.bench_function("vrrp_wire/parse_validate_v3_ipv6", |b| {
        b.iter(|| black_box(validate(black_box(&msg[..n]), &meta, &policy).is_ok()))
    });
    let mut buf = [0u8; 64];
    c.bench_function("vrrp_wire/emit_v3_ipv6", |b| {
        b.iter(|| black_box(black_box(&v6).emit(&mut buf, black_box(src), dst)))
    });
}

criterion_group!(group, v3_ipv4, others);

fn main() {
    if let Some(n) = std::env::var("VRRP_WIRE_LOOP")
        .ok()
        .and_then(|n| n.parse().ok())
    {
        count_validate(n);
        count_emit(n);
        count_template_emit(n);
        return;
    }
    group();
    Criterion::default().configure_from_args().final_summary();
}
