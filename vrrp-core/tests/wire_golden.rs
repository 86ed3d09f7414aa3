//! Golden vectors: real adverts from keepalived 2.2.7, captured by `tests/golden_capture.sh`
//! (see `tests/golden/README.md`). Each must parse, pass `validate` against the configuration it
//! was sent with, show every configured field, and be reproduced byte for byte by `emit`.

use std::net::IpAddr;

use vrrp_core::wire::{validate, Advert, AdvertRepr, Auth, Family, RxMeta, RxPolicy, Version, TTL};

/// One captured advert.
struct Capture {
    src: IpAddr,
    dst: IpAddr,
    ttl: u8,
    msg: Vec<u8>,
}

fn parse_capture(text: &str) -> Capture {
    let mut src = None;
    let mut dst = None;
    let mut ttl = None;
    let mut msg = None;
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let (key, value) = line.split_once(' ').expect("key value");
        match key {
            "src" => src = Some(value.parse().unwrap()),
            "dst" => dst = Some(value.parse().unwrap()),
            "ttl" => ttl = Some(value.parse().unwrap()),
            "msg" => {
                let bytes = (0..value.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&value[i..i + 2], 16).unwrap())
                    .collect();
                msg = Some(bytes)
            }
            other => panic!("unknown key {other}"),
        }
    }
    Capture {
        src: src.unwrap(),
        dst: dst.unwrap(),
        ttl: ttl.unwrap(),
        msg: msg.unwrap(),
    }
}

/// The keepalived configuration of one instance (mirrors the script's keepalived.conf).
struct Instance {
    name: &'static str,
    version: Version,
    family: Family,
    vrid: u8,
    priority: u8,
    interval_cs: u16,
    auth: Auth,
    vips: &'static [&'static str],
}

const INSTANCES: &[Instance] = &[
    Instance {
        name: "v2_ipv4_none",
        version: Version::V2,
        family: Family::V4,
        vrid: 51,
        priority: 150,
        interval_cs: 100,
        auth: Auth::None,
        vips: &["192.0.2.100", "192.0.2.101"],
    },
    Instance {
        name: "v2_ipv4_pass",
        version: Version::V2,
        family: Family::V4,
        vrid: 52,
        priority: 100,
        interval_cs: 200,
        auth: Auth::Simple(*b"1111\0\0\0\0"),
        vips: &["192.0.2.110"],
    },
    Instance {
        name: "v2_ipv4_passlong",
        version: Version::V2,
        family: Family::V4,
        vrid: 53,
        priority: 254,
        interval_cs: 300,
        auth: Auth::Simple(*b"secret12"),
        vips: &["192.0.2.115", "198.51.100.115", "192.0.2.116"],
    },
    Instance {
        name: "v3_ipv4",
        version: Version::V3,
        family: Family::V4,
        vrid: 61,
        priority: 200,
        interval_cs: 50,
        auth: Auth::None,
        vips: &["192.0.2.120", "198.51.100.120", "192.0.2.121"],
    },
    Instance {
        name: "v3_ipv6",
        version: Version::V3,
        family: Family::V6,
        vrid: 71,
        priority: 120,
        interval_cs: 100,
        auth: Auth::None,
        vips: &["2001:db8::71", "2001:db8:1::71"],
    },
];

fn golden(name: &str) -> Capture {
    let path = format!("{}/tests/golden/{name}.txt", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    parse_capture(&text)
}

/// Checks one capture against its instance; `priority` is the configured one or 0 (shutdown).
fn check(inst: &Instance, file: &str, priority: u8) {
    let cap = golden(file);
    let vips: Vec<IpAddr> = inst.vips.iter().map(|v| v.parse().unwrap()).collect();
    assert_eq!(cap.ttl, TTL, "{file}");

    let meta = RxMeta {
        src: cap.src,
        dst: cap.dst,
        ttl: cap.ttl,
    };
    let policy = RxPolicy {
        version: inst.version,
        vrid: inst.vrid,
        family: inst.family,
        auth: inst.auth,
        interval_cs: inst.interval_cs,
        addresses: &vips,
        skip_check_adv_addr: false,
        last_master: None,
        unicast: false,
    };
    let advert = validate(&cap.msg, &meta, &policy).unwrap_or_else(|e| panic!("{file}: {e}"));

    assert_eq!(advert.version(), Some(inst.version), "{file}");
    assert_eq!(advert.vrid(), inst.vrid, "{file}");
    assert_eq!(advert.priority(), priority, "{file}");
    assert_eq!(usize::from(advert.count_addrs()), vips.len(), "{file}");
    assert_eq!(advert.interval_cs(), inst.interval_cs, "{file}");
    assert_eq!(advert.auth_type(), inst.auth.type_byte(), "{file}");
    match inst.auth {
        Auth::Simple(pw) => assert_eq!(advert.auth_data(), Some(&pw[..]), "{file}"),
        Auth::None => assert_eq!(advert.auth_data(), None, "{file}"),
    }
    assert!(
        advert.addresses(inst.family).eq(vips.iter().copied()),
        "{file}"
    );
    for (i, vip) in vips.iter().enumerate() {
        assert_eq!(advert.address(inst.family, i), *vip, "{file}");
    }
    assert!(advert.verify_checksum(cap.src, cap.dst), "{file}");

    let repr = AdvertRepr {
        version: inst.version,
        vrid: inst.vrid,
        priority,
        interval_cs: inst.interval_cs,
        auth: inst.auth,
        addresses: &vips,
    };
    assert_eq!(repr.buffer_len(), cap.msg.len(), "{file}");
    let mut buf = [0xa5u8; 512];
    let n = repr.emit(&mut buf, cap.src, cap.dst).unwrap();
    assert_eq!(
        &buf[..n],
        &cap.msg[..],
        "{file}: emit differs from keepalived"
    );
    // The bytes after the message are untouched.
    assert!(buf[n..].iter().all(|b| *b == 0xa5), "{file}");
}

#[test]
fn keepalived_adverts_parse_validate_and_reemit() {
    for inst in INSTANCES {
        check(inst, inst.name, inst.priority);
    }
}

#[test]
fn keepalived_shutdown_adverts_have_priority_zero() {
    for inst in INSTANCES {
        check(inst, &format!("{}_shutdown", inst.name), 0);
    }
}

#[test]
fn keepalived_v2_auth_none_still_carries_eight_zero_bytes() {
    let cap = golden("v2_ipv4_none");
    // 8 header + 2 * 4 addresses + 8 authentication bytes.
    assert_eq!(cap.msg.len(), 24);
    assert!(cap.msg[16..].iter().all(|b| *b == 0));
    let advert = Advert::new_checked(&cap.msg[..], Family::V4).unwrap();
    assert_eq!(advert.auth_type(), 0);
}

#[test]
fn golden_with_wrong_password_is_rejected() {
    let inst = &INSTANCES[1];
    let cap = golden(inst.name);
    let vips: Vec<IpAddr> = inst.vips.iter().map(|v| v.parse().unwrap()).collect();
    let policy = RxPolicy {
        version: inst.version,
        vrid: inst.vrid,
        family: inst.family,
        auth: Auth::simple(b"1112"),
        interval_cs: inst.interval_cs,
        addresses: &vips,
        skip_check_adv_addr: false,
        last_master: None,
        unicast: false,
    };
    let meta = RxMeta {
        src: cap.src,
        dst: cap.dst,
        ttl: cap.ttl,
    };
    let err = validate(&cap.msg, &meta, &policy).unwrap_err();
    assert_eq!(err.label(), "auth_mismatch");
}
