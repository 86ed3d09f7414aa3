//! Two raw VRRP sockets in two namespaces exchanging real adverts (built by
//! vrrp-core), over IPv4 and IPv6, multicast and unicast. Needs root.

mod sys_support;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use lbd::daemon::sys::{AddrSpec, OpenError, RouteSocket, RxPacket, VrrpSocket};
use mio::{Events, Interest, Poll, Token};
use sys_support::{in_netns, ip_in, is_root, NetnsPair};
use vrrp_core::wire::{Advert, AdvertRepr, Auth, Family, Version, MULTICAST_V4, MULTICAST_V6};

fn open(ns: &str, ifname: &str, family: Family) -> VrrpSocket {
    let ifname = ifname.to_owned();
    in_netns(ns, move || {
        VrrpSocket::open(&ifname, family).expect("open vrrp socket")
    })
}

fn advert(src: IpAddr, dst: IpAddr, vip: IpAddr) -> Vec<u8> {
    let addrs = [vip];
    let repr = AdvertRepr {
        version: Version::V3,
        vrid: 51,
        priority: 150,
        interval_cs: 100,
        auth: Auth::None,
        addresses: &addrs,
    };
    let mut buf = vec![0u8; repr.buffer_len()];
    let n = repr.emit(&mut buf, src, dst).expect("emit");
    buf.truncate(n);
    buf
}

/// Waits (through mio, as the daemon will) for one packet on `sock`.
fn receive(sock: &mut VrrpSocket, buf: &mut [u8]) -> RxPacket {
    let mut poll = Poll::new().unwrap();
    poll.registry()
        .register(sock, Token(7), Interest::READABLE)
        .unwrap();
    let mut events = Events::with_capacity(4);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(p) = sock.recv(buf).unwrap() {
            poll.registry().deregister(sock).unwrap();
            return p;
        }
        assert!(std::time::Instant::now() < deadline, "no packet received");
        if let Err(e) = poll.poll(&mut events, Some(Duration::from_millis(200))) {
            assert_eq!(e.kind(), std::io::ErrorKind::Interrupted, "poll: {e}");
        }
    }
}

fn exchange(
    pair: &NetnsPair,
    family: Family,
    src: IpAddr,
    dst: IpAddr,
    expect_ttl: u8,
) -> RxPacket {
    let tx = open(&pair.a, &pair.if_a, family);
    let mut rx = open(&pair.b, &pair.if_b, family);
    let vip = match family {
        Family::V4 => IpAddr::V4(Ipv4Addr::new(192, 0, 2, 100)),
        Family::V6 => IpAddr::V6("2001:db8::100".parse().unwrap()),
    };
    let msg = advert(src, dst, vip);
    tx.send(dst, Some(src), &msg).expect("send");
    let mut buf = [0u8; 2048];
    let p = receive(&mut rx, &mut buf);
    assert_eq!(p.src, src);
    assert_eq!(p.dst, dst);
    assert_eq!(p.ttl, expect_ttl);
    assert_eq!(p.ifindex, rx.ifindex());
    if family == Family::V4 {
        // IP header as sent: TOS 0xc0 (internetwork control), as keepalived.
        assert_eq!(buf[1], 0xc0);
    }
    let payload = &buf[p.payload.clone()];
    assert_eq!(payload, &msg[..]);
    // The v3 checksum covers the pseudo-header: it only verifies with the exact
    // source and destination the receive path reported.
    let adv = Advert::new_checked(payload, family).expect("well-formed advert");
    assert!(adv.verify_checksum(p.src, p.dst));
    assert_eq!(adv.vrid(), 51);
    assert_eq!(rx.malformed(), 0);
    p
}

#[test]
fn ipv4_multicast_unicast_and_source_selection() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let pair = NetnsPair::new("v4");
    let a1 = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    exchange(&pair, Family::V4, a1, IpAddr::V4(MULTICAST_V4), 255);
    exchange(&pair, Family::V4, a1, "192.0.2.2".parse().unwrap(), 255);

    // A second address on a: the packet must leave with the source we ask for,
    // not the interface's primary.
    ip_in(
        &pair.a,
        &["addr", "add", "192.0.2.11/24", "dev", &pair.if_a],
    );
    exchange(
        &pair,
        Family::V4,
        "192.0.2.11".parse().unwrap(),
        IpAddr::V4(MULTICAST_V4),
        255,
    );
}

#[test]
fn ipv4_no_loopback_and_family_mismatch() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let pair = NetnsPair::new("lo4");
    let mut tx = open(&pair.a, &pair.if_a, Family::V4);
    let mut rx = open(&pair.b, &pair.if_b, Family::V4);
    let src: IpAddr = "192.0.2.1".parse().unwrap();
    let dst = IpAddr::V4(MULTICAST_V4);
    let msg = advert(src, dst, "192.0.2.100".parse().unwrap());
    tx.send(dst, Some(src), &msg).unwrap();
    let mut buf = [0u8; 2048];
    receive(&mut rx, &mut buf);
    // The peer got it; the sender must not hear its own advert.
    std::thread::sleep(Duration::from_millis(100));
    assert!(tx.recv(&mut buf).unwrap().is_none());
    let err = tx.send(IpAddr::V6(MULTICAST_V6), None, &msg).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(matches!(
        VrrpSocket::open("synonexist0", Family::V4),
        Err(OpenError::NoSuchInterface(_))
    ));
}

#[test]
fn ipv6_multicast_and_unicast() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let pair = NetnsPair::new("v6");
    let if_a = pair.if_a.clone();
    // VRRPv3 over IPv6 sends from the link-local address.
    let ll: Ipv6Addr = in_netns(&pair.a, move || {
        let idx = lbd::daemon::sys::if_index(&if_a).unwrap();
        let mut rt = RouteSocket::open().unwrap();
        rt.list_addresses(Some(idx))
            .unwrap()
            .into_iter()
            .find_map(|a| match a.addr {
                IpAddr::V6(v6) if v6.segments()[0] == 0xfe80 => Some(v6),
                _ => None,
            })
            .expect("link-local address")
    });
    exchange(
        &pair,
        Family::V6,
        IpAddr::V6(ll),
        IpAddr::V6(MULTICAST_V6),
        255,
    );
    exchange(
        &pair,
        Family::V6,
        "2001:db8::1".parse().unwrap(),
        "2001:db8::2".parse().unwrap(),
        255,
    );
    // Source selection among several global addresses.
    let if_a = pair.if_a.clone();
    in_netns(&pair.a, move || {
        let idx = lbd::daemon::sys::if_index(&if_a).unwrap();
        RouteSocket::open()
            .unwrap()
            .add_address(&AddrSpec::new(idx, "2001:db8::11".parse().unwrap(), 64))
            .unwrap();
    });
    exchange(
        &pair,
        Family::V6,
        "2001:db8::11".parse().unwrap(),
        IpAddr::V6(MULTICAST_V6),
        255,
    );
}

/// `vrrp_mcast_group4`: after `set_groups` the socket hears the configured group and no
/// longer the RFC's (MULTICAST_ALL is off, so nothing else is delivered either).
#[test]
fn set_groups_moves_the_membership() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let pair = NetnsPair::new("mg4");
    let tx = open(&pair.a, &pair.if_a, Family::V4);
    let mut rx = open(&pair.b, &pair.if_b, Family::V4);
    let group = IpAddr::V4(Ipv4Addr::new(224, 0, 0, 19));
    rx.set_groups(&[group]).expect("join 224.0.0.19");
    assert_eq!(rx.groups(), &[group]);
    let src: IpAddr = "192.0.2.1".parse().unwrap();
    let vip: IpAddr = "192.0.2.100".parse().unwrap();
    let mut buf = [0u8; 2048];
    let old = IpAddr::V4(MULTICAST_V4);
    tx.send(old, Some(src), &advert(src, old, vip)).unwrap();
    tx.send(group, Some(src), &advert(src, group, vip)).unwrap();
    let p = receive(&mut rx, &mut buf);
    assert_eq!(
        p.dst, group,
        "the advert to the left group was not delivered first"
    );
    std::thread::sleep(Duration::from_millis(100));
    assert!(rx.recv(&mut buf).unwrap().is_none());
    let err = rx.set_groups(&[IpAddr::V6(MULTICAST_V6)]).unwrap_err();
    assert!(matches!(err, OpenError::Io { .. }), "{err}");
}
