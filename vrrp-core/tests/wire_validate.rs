//! One test per drop reason of `validate`, and per `emit` refusal: each builds the smallest advert
//! that trips exactly that check.

use std::net::IpAddr;

use vrrp_core::wire::{
    validate, Advert, AdvertRepr, Auth, Family, RxError, RxMeta, RxPolicy, Version, WireError,
    MULTICAST_V4, MULTICAST_V6,
};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

const V4_VIPS: [&str; 2] = ["192.0.2.100", "198.51.100.7"];
const V6_VIPS: [&str; 2] = ["2001:db8::100", "2001:db8:5::7"];

struct Case {
    vips: Vec<IpAddr>,
    meta: RxMeta,
    version: Version,
    family: Family,
    auth: Auth,
    interval_cs: u16,
}

impl Case {
    fn v2(auth: Auth) -> Self {
        Case {
            vips: V4_VIPS.iter().map(|s| ip(s)).collect(),
            meta: RxMeta {
                src: ip("192.0.2.1"),
                dst: IpAddr::V4(MULTICAST_V4),
                ttl: 255,
            },
            version: Version::V2,
            family: Family::V4,
            auth,
            interval_cs: 100,
        }
    }

    fn v3_v4() -> Self {
        Case {
            version: Version::V3,
            interval_cs: 50,
            ..Case::v2(Auth::None)
        }
    }

    fn v3_v6() -> Self {
        Case {
            vips: V6_VIPS.iter().map(|s| ip(s)).collect(),
            meta: RxMeta {
                src: ip("fe80::1"),
                dst: IpAddr::V6(MULTICAST_V6),
                ttl: 255,
            },
            version: Version::V3,
            family: Family::V6,
            auth: Auth::None,
            interval_cs: 100,
        }
    }

    /// What a correctly configured peer would send.
    fn msg(&self) -> Vec<u8> {
        let repr = AdvertRepr {
            version: self.version,
            vrid: 7,
            priority: 100,
            interval_cs: self.interval_cs,
            auth: self.auth,
            addresses: &self.vips,
        };
        let mut buf = vec![0; repr.buffer_len()];
        let n = repr.emit(&mut buf, self.meta.src, self.meta.dst).unwrap();
        assert_eq!(n, buf.len());
        buf
    }

    fn policy(&self) -> RxPolicy<'_> {
        RxPolicy {
            version: self.version,
            vrid: 7,
            family: self.family,
            auth: self.auth,
            interval_cs: self.interval_cs,
            addresses: &self.vips,
            skip_check_adv_addr: false,
            last_master: None,
            unicast: false,
        }
    }

    fn check(&self, msg: &[u8]) -> Result<(), RxError> {
        validate(msg, &self.meta, &self.policy()).map(|_| ())
    }
}

/// Rewrites the checksum after a deliberate edit, so that the edit and not the checksum is
/// what the validation trips on.
fn refill(msg: &mut [u8], family: Family, meta: &RxMeta) {
    Advert::new_unchecked(msg).fill_checksum(family, meta.src, meta.dst);
}

#[test]
fn well_formed_adverts_pass() {
    for case in [
        Case::v2(Auth::None),
        Case::v2(Auth::simple(b"pw")),
        Case::v3_v4(),
        Case::v3_v6(),
    ] {
        assert_eq!(case.check(&case.msg()), Ok(()));
    }
}

#[test]
fn ttl_other_than_255_is_dropped() {
    let mut case = Case::v3_v4();
    case.meta.ttl = 254;
    assert_eq!(case.check(&case.msg()), Err(RxError::Ttl(254)));
}

#[test]
fn unicast_skips_the_ttl_check_like_keepalived() {
    let mut case = Case::v3_v4();
    case.meta.ttl = 64;
    case.meta.dst = ip("192.0.2.2");
    let msg = case.msg();
    let policy = RxPolicy {
        unicast: true,
        ..case.policy()
    };
    assert_eq!(validate(&msg, &case.meta, &policy).map(|_| ()), Ok(()));
}

#[test]
fn destination_must_match_multicast_or_unicast_configuration() {
    let mut case = Case::v3_v6();
    case.meta.dst = ip("2001:db8::2");
    let msg = case.msg();
    assert_eq!(case.check(&msg), Err(RxError::DestinationMismatch));

    let multicast = Case::v2(Auth::None);
    let msg = multicast.msg();
    let unicast = RxPolicy {
        unicast: true,
        ..multicast.policy()
    };
    assert_eq!(
        validate(&msg, &multicast.meta, &unicast).map(|_| ()),
        Err(RxError::DestinationMismatch)
    );
}

#[test]
fn ip_header_of_the_other_family_is_dropped() {
    let case = Case::v3_v4();
    let msg = case.msg();
    let meta = RxMeta {
        src: ip("fe80::1"),
        dst: IpAddr::V6(MULTICAST_V6),
        ttl: 255,
    };
    assert_eq!(
        validate(&msg, &meta, &case.policy()),
        Err(RxError::FamilyMismatch)
    );
}

#[test]
fn shorter_than_the_header_is_truncated() {
    let case = Case::v3_v4();
    let msg = case.msg();
    assert_eq!(
        case.check(&msg[..7]),
        Err(RxError::Wire(WireError::Truncated))
    );
    assert_eq!(case.check(&[]), Err(RxError::Wire(WireError::Truncated)));
}

#[test]
fn unknown_version_is_malformed() {
    let case = Case::v3_v4();
    let mut msg = case.msg();
    msg[0] = 0x41;
    assert_eq!(
        case.check(&msg),
        Err(RxError::Wire(WireError::BadVersion(4)))
    );
}

#[test]
fn unknown_type_is_malformed() {
    let case = Case::v3_v4();
    let mut msg = case.msg();
    msg[0] = 0x32;
    assert_eq!(case.check(&msg), Err(RxError::Wire(WireError::BadType(2))));
}

#[test]
fn v2_over_ipv6_is_malformed() {
    let v2 = Case::v2(Auth::None);
    let msg = v2.msg();
    let case = Case {
        version: Version::V2,
        ..Case::v3_v6()
    };
    assert_eq!(case.check(&msg), Err(RxError::Wire(WireError::V2OverIpv6)));
}

#[test]
fn address_count_beyond_the_message_is_malformed() {
    let case = Case::v3_v4();
    let mut msg = case.msg();
    msg[3] = 3;
    assert_eq!(
        case.check(&msg),
        Err(RxError::Wire(WireError::AddressCountMismatch {
            count: 3,
            len: 16
        }))
    );
}

#[test]
fn trailing_bytes_are_a_length_mismatch() {
    let case = Case::v3_v4();
    let mut msg = case.msg();
    msg.extend_from_slice(&[0, 0, 0, 0]);
    let err = case.check(&msg).unwrap_err();
    assert_eq!(
        err,
        RxError::Wire(WireError::LengthMismatch {
            expected: 16,
            len: 20
        })
    );
    assert_eq!(err.label(), "length");
}

#[test]
fn other_version_is_a_version_mismatch() {
    let v2 = Case::v2(Auth::None);
    let case = Case::v3_v4();
    assert_eq!(
        case.check(&v2.msg()),
        Err(RxError::VersionMismatch {
            ours: Version::V3,
            theirs: Version::V2
        })
    );
}

#[test]
fn corrupted_message_fails_the_checksum() {
    for case in [Case::v2(Auth::None), Case::v3_v4(), Case::v3_v6()] {
        let mut msg = case.msg();
        msg[2] ^= 0x01;
        assert_eq!(case.check(&msg), Err(RxError::Checksum));
    }
}

#[test]
fn v3_checksum_covers_the_pseudo_header_and_v2_does_not() {
    let mut v3 = Case::v3_v4();
    let msg = v3.msg();
    v3.meta.src = ip("192.0.2.2");
    assert_eq!(v3.check(&msg), Err(RxError::Checksum));

    let mut v2 = Case::v2(Auth::None);
    let msg = v2.msg();
    v2.meta.src = ip("192.0.2.2");
    assert_eq!(v2.check(&msg), Ok(()));
}

#[test]
fn other_vrid_is_dropped() {
    let case = Case::v3_v6();
    let mut msg = case.msg();
    msg[1] = 8;
    refill(&mut msg, case.family, &case.meta);
    assert_eq!(case.check(&msg), Err(RxError::VridMismatch(8)));
}

#[test]
fn unknown_auth_type_is_invalid() {
    let case = Case::v2(Auth::None);
    let mut msg = case.msg();
    msg[4] = 3;
    refill(&mut msg, case.family, &case.meta);
    assert_eq!(case.check(&msg), Err(RxError::InvalidAuthType(3)));
}

#[test]
fn ah_auth_is_unsupported() {
    let case = Case::v2(Auth::None);
    let mut msg = case.msg();
    msg[4] = 2;
    refill(&mut msg, case.family, &case.meta);
    let err = case.check(&msg).unwrap_err();
    assert_eq!(err, RxError::UnsupportedAuth(2));
    assert_eq!(err.label(), "unsupported_auth");
}

#[test]
fn auth_type_other_than_ours_is_dropped() {
    let none = Case::v2(Auth::None);
    let pass = Case::v2(Auth::simple(b"1111"));
    assert_eq!(
        none.check(&pass.msg()),
        Err(RxError::AuthTypeMismatch { ours: 0, theirs: 1 })
    );
    assert_eq!(
        pass.check(&none.msg()),
        Err(RxError::AuthTypeMismatch { ours: 1, theirs: 0 })
    );
}

#[test]
fn wrong_password_is_dropped() {
    let sender = Case::v2(Auth::simple(b"1111"));
    let receiver = Case::v2(Auth::simple(b"1112"));
    assert_eq!(receiver.check(&sender.msg()), Err(RxError::AuthMismatch));
}

#[test]
fn passwords_equal_on_their_first_eight_bytes_match_as_in_keepalived() {
    let sender = Case::v2(Auth::simple(b"secret12345"));
    let receiver = Case::v2(Auth::simple(b"secret12xyz"));
    assert_eq!(receiver.check(&sender.msg()), Ok(()));
}

#[test]
fn v2_interval_mismatch_is_dropped() {
    let sender = Case {
        interval_cs: 300,
        ..Case::v2(Auth::None)
    };
    let receiver = Case::v2(Auth::None);
    assert_eq!(
        receiver.check(&sender.msg()),
        Err(RxError::IntervalMismatch {
            ours: 100,
            theirs: 300
        })
    );
}

#[test]
fn v3_interval_mismatch_is_accepted() {
    let sender = Case {
        interval_cs: 300,
        ..Case::v3_v4()
    };
    let receiver = Case::v3_v4();
    assert_eq!(receiver.check(&sender.msg()), Ok(()));
}

#[test]
fn address_count_other_than_ours_is_dropped() {
    let mut sender = Case::v3_v4();
    sender.vips.pop();
    let receiver = Case::v3_v4();
    assert_eq!(
        receiver.check(&sender.msg()),
        Err(RxError::AddressCount { ours: 2, theirs: 1 })
    );
}

#[test]
fn skip_check_adv_addr_also_skips_the_count_for_the_known_master() {
    let mut sender = Case::v3_v4();
    sender.vips.pop();
    let msg = sender.msg();
    let receiver = Case::v3_v4();
    let skipping = RxPolicy {
        skip_check_adv_addr: true,
        last_master: Some(receiver.meta.src),
        ..receiver.policy()
    };
    assert!(validate(&msg, &receiver.meta, &skipping).is_ok());
    let new_master = RxPolicy {
        last_master: Some(ip("192.0.2.77")),
        ..skipping
    };
    assert_eq!(
        validate(&msg, &receiver.meta, &new_master).map(|_| ()),
        Err(RxError::AddressCount { ours: 2, theirs: 1 })
    );
}

#[test]
fn address_list_other_than_ours_is_dropped() {
    let mut sender = Case::v3_v6();
    sender.vips[1] = ip("2001:db8:5::8");
    let receiver = Case::v3_v6();
    assert_eq!(receiver.check(&sender.msg()), Err(RxError::AddressMismatch));
}

#[test]
fn address_order_does_not_matter() {
    let mut sender = Case::v3_v4();
    sender.vips.reverse();
    assert_eq!(Case::v3_v4().check(&sender.msg()), Ok(()));
}

#[test]
fn owner_priority_does_not_exempt_the_address_check_like_keepalived() {
    let mut sender = Case::v2(Auth::None);
    sender.vips[0] = ip("192.0.2.99");
    let mut msg = sender.msg();
    msg[2] = 255;
    refill(&mut msg, Family::V4, &sender.meta);
    assert_eq!(
        Case::v2(Auth::None).check(&msg),
        Err(RxError::AddressMismatch)
    );
}

#[test]
fn skip_check_adv_addr_skips_only_for_the_known_master() {
    let mut sender = Case::v3_v4();
    sender.vips[1] = ip("192.0.2.200");
    let msg = sender.msg();
    let receiver = Case::v3_v4();
    let from_master = RxPolicy {
        skip_check_adv_addr: true,
        last_master: Some(receiver.meta.src),
        ..receiver.policy()
    };
    assert!(validate(&msg, &receiver.meta, &from_master).is_ok());

    let other_master = RxPolicy {
        last_master: Some(ip("192.0.2.9")),
        ..from_master
    };
    assert_eq!(
        validate(&msg, &receiver.meta, &other_master).map(|_| ()),
        Err(RxError::AddressMismatch)
    );
    let no_master = RxPolicy {
        last_master: None,
        ..from_master
    };
    assert_eq!(
        validate(&msg, &receiver.meta, &no_master).map(|_| ()),
        Err(RxError::AddressMismatch)
    );
    let option_off = RxPolicy {
        skip_check_adv_addr: false,
        ..from_master
    };
    assert_eq!(
        validate(&msg, &receiver.meta, &option_off).map(|_| ()),
        Err(RxError::AddressMismatch)
    );
}

#[test]
fn labels_are_distinct_snake_case() {
    let errors = [
        RxError::Wire(WireError::Truncated),
        RxError::Wire(WireError::BadVersion(4)),
        RxError::Wire(WireError::BadType(2)),
        RxError::Wire(WireError::V2OverIpv6),
        RxError::Ttl(1),
        RxError::FamilyMismatch,
        RxError::DestinationMismatch,
        RxError::VersionMismatch {
            ours: Version::V2,
            theirs: Version::V3,
        },
        RxError::Checksum,
        RxError::VridMismatch(1),
        RxError::InvalidAuthType(9),
        RxError::UnsupportedAuth(2),
        RxError::AuthTypeMismatch { ours: 0, theirs: 1 },
        RxError::AuthMismatch,
        RxError::IntervalMismatch {
            ours: 100,
            theirs: 200,
        },
        RxError::AddressCount { ours: 1, theirs: 2 },
        RxError::AddressMismatch,
    ];
    let mut labels: Vec<&str> = errors.iter().map(RxError::label).collect();
    assert!(labels
        .iter()
        .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_lowercase() || c == '_')));
    let n = labels.len();
    labels.sort_unstable();
    labels.dedup();
    assert_eq!(labels.len(), n, "labels must tell the reasons apart");
    assert_eq!(RxError::Ttl(0).label(), "ttl");
    assert_eq!(RxError::Checksum.label(), "checksum");
}

// --- emit refusals -------------------------------------------------------------------------

fn repr<'a>(
    version: Version,
    interval_cs: u16,
    auth: Auth,
    addresses: &'a [IpAddr],
) -> AdvertRepr<'a> {
    AdvertRepr {
        version,
        vrid: 1,
        priority: 100,
        interval_cs,
        auth,
        addresses,
    }
}

fn emit(r: &AdvertRepr<'_>, src: &str, dst: &str) -> Result<usize, WireError> {
    r.emit(&mut [0u8; 8192], ip(src), ip(dst))
}

#[test]
fn emit_refuses_unencodable_intervals() {
    let v4 = [ip("192.0.2.5")];
    for cs in [0, 50, 150, 25600] {
        let r = repr(Version::V2, cs, Auth::None, &v4);
        assert_eq!(
            emit(&r, "192.0.2.1", "224.0.0.18"),
            Err(WireError::BadInterval(cs))
        );
    }
    for cs in [0, 4096, u16::MAX] {
        let r = repr(Version::V3, cs, Auth::None, &v4);
        assert_eq!(
            emit(&r, "192.0.2.1", "224.0.0.18"),
            Err(WireError::BadInterval(cs))
        );
    }
    let r = repr(Version::V2, 25500, Auth::None, &v4);
    assert!(emit(&r, "192.0.2.1", "224.0.0.18").is_ok());
    let r = repr(Version::V3, 4095, Auth::None, &v4);
    assert!(emit(&r, "192.0.2.1", "224.0.0.18").is_ok());
}

#[test]
fn emit_refuses_mixed_families() {
    let mixed = [ip("192.0.2.5"), ip("2001:db8::5")];
    let r = repr(Version::V3, 100, Auth::None, &mixed);
    assert_eq!(
        emit(&r, "192.0.2.1", "224.0.0.18"),
        Err(WireError::MixedFamilies)
    );
    let v6 = [ip("2001:db8::5")];
    let r = repr(Version::V3, 100, Auth::None, &v6);
    assert_eq!(
        emit(&r, "192.0.2.1", "224.0.0.18"),
        Err(WireError::MixedFamilies)
    );
    assert_eq!(
        emit(&r, "fe80::1", "224.0.0.18"),
        Err(WireError::MixedFamilies)
    );
}

#[test]
fn emit_refuses_ipv6_in_v2() {
    let v6 = [ip("2001:db8::5")];
    let r = repr(Version::V2, 100, Auth::None, &v6);
    assert_eq!(emit(&r, "fe80::1", "ff02::12"), Err(WireError::V2OverIpv6));
}

#[test]
fn emit_refuses_more_than_255_addresses() {
    let many: Vec<IpAddr> = (0..256u16)
        .map(|i| IpAddr::from([192, 0, 2, i as u8]))
        .collect();
    let r = repr(Version::V3, 100, Auth::None, &many);
    assert_eq!(
        emit(&r, "192.0.2.1", "224.0.0.18"),
        Err(WireError::TooManyAddresses(256))
    );
    let r = repr(Version::V3, 100, Auth::None, &many[..255]);
    assert_eq!(emit(&r, "192.0.2.1", "224.0.0.18"), Ok(8 + 255 * 4));
}

#[test]
fn emit_refuses_a_short_buffer() {
    let v4 = [ip("192.0.2.5")];
    let r = repr(Version::V2, 100, Auth::None, &v4);
    let mut buf = [0u8; 19];
    assert_eq!(
        r.emit(&mut buf, ip("192.0.2.1"), ip("224.0.0.18")),
        Err(WireError::BufferTooSmall { need: 20, have: 19 })
    );
}

#[test]
fn emit_refuses_auth_in_v3() {
    let v4 = [ip("192.0.2.5")];
    let r = repr(Version::V3, 100, Auth::simple(b"x"), &v4);
    assert_eq!(
        emit(&r, "192.0.2.1", "224.0.0.18"),
        Err(WireError::AuthInV3)
    );
}

#[test]
fn emit_refuses_vrid_zero() {
    let v4 = [ip("192.0.2.5")];
    let r = AdvertRepr {
        vrid: 0,
        ..repr(Version::V3, 100, Auth::None, &v4)
    };
    assert_eq!(
        emit(&r, "192.0.2.1", "224.0.0.18"),
        Err(WireError::ZeroVrid)
    );
}

#[test]
fn empty_address_list_is_encodable() {
    let r = repr(Version::V3, 100, Auth::None, &[]);
    assert_eq!(r.buffer_len(), 8);
    assert_eq!(emit(&r, "fe80::1", "ff02::12"), Ok(8));
}

#[test]
fn auth_simple_truncates_and_pads_like_keepalived() {
    assert_eq!(Auth::simple(b"secret12345"), Auth::Simple(*b"secret12"));
    assert_eq!(Auth::simple(b"1111"), Auth::Simple(*b"1111\0\0\0\0"));
    assert_eq!(Auth::simple(b""), Auth::Simple([0; 8]));
}
