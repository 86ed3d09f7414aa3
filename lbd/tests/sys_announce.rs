//! Gratuitous ARP and unsolicited NA: captured on the peer with a packet socket,
//! and accepted by the peer's kernel (its stale neighbour entry moves to our MAC).
//! Needs root.

mod sys_support;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::Command;
use std::time::{Duration, Instant};

use lbd::daemon::sys::{if_index, Announcement, Announcer, RouteSocket};
use pnet_packet::arp::{ArpOperations, ArpPacket};
use pnet_packet::ethernet::{EtherTypes, EthernetPacket};
use pnet_packet::icmpv6::ndp::{NeighborAdvertFlags, NeighborAdvertPacket};
use pnet_packet::icmpv6::Icmpv6Types;
use pnet_packet::ipv6::Ipv6Packet;
use pnet_packet::Packet;
use sys_support::{in_netns, ip_in, is_root, NetnsPair};

const FAKE_MAC: &str = "02:00:00:00:00:99";

/// A capturing AF_PACKET socket bound to one interface (all protocols).
fn capture(ns: &str, ifname: &str) -> OwnedFd {
    let ifname = ifname.to_owned();
    in_netns(ns, move || {
        let idx = if_index(&ifname).unwrap();
        let proto = (libc::ETH_P_ALL as u16).to_be();
        // SAFETY: plain socket/bind calls, results checked.
        unsafe {
            let fd = libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                i32::from(proto),
            );
            assert!(fd >= 0);
            let mut sa: libc::sockaddr_ll = std::mem::zeroed();
            sa.sll_family = libc::AF_PACKET as u16;
            sa.sll_protocol = proto;
            sa.sll_ifindex = idx as i32;
            let rc = libc::bind(
                fd,
                (&sa as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            );
            assert_eq!(rc, 0);
            OwnedFd::from_raw_fd(fd)
        }
    })
}

/// Reads frames until `pick` accepts one, or panics after 5 s.
fn next_frame(fd: &OwnedFd, mut pick: impl FnMut(&[u8]) -> bool) -> Vec<u8> {
    use std::os::fd::AsRawFd;
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut buf = [0u8; 2048];
    loop {
        // SAFETY: buf is valid for writes of its length.
        let n = unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n > 0 && pick(&buf[..n as usize]) {
            return buf[..n as usize].to_vec();
        }
        assert!(Instant::now() < deadline, "frame not captured");
        if n < 0 {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

fn mac_of(ns: &str, ifname: &str) -> (u32, [u8; 6]) {
    let ifname = ifname.to_owned();
    in_netns(ns, move || {
        let idx = if_index(&ifname).unwrap();
        let links = RouteSocket::open().unwrap().list_links().unwrap();
        let mac = links
            .iter()
            .find(|l| l.ifindex == idx)
            .unwrap()
            .mac
            .unwrap();
        (idx, mac)
    })
}

fn neigh_lladdr(ns: &str, addr: &str) -> String {
    let out = Command::new("ip")
        .args(["-n", ns, "neigh", "show", addr])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap()
}

fn fmt_mac(m: [u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Plants a stale neighbour entry on b with a wrong MAC, waits out the kernel's
/// neighbour lock time (1 s), and returns; an accepted announcement replaces it.
fn plant_stale(pair: &NetnsPair, addr: &str) {
    ip_in(
        &pair.b,
        &[
            "neigh", "replace", addr, "lladdr", FAKE_MAC, "dev", &pair.if_b, "nud", "stale",
        ],
    );
    std::thread::sleep(Duration::from_millis(1100));
}

#[test]
fn gratuitous_arp_reaches_and_updates_peer() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let pair = NetnsPair::new("ga");
    let (idx, mac) = mac_of(&pair.a, &pair.if_a);
    let vip = Ipv4Addr::new(192, 0, 2, 100);
    plant_stale(&pair, "192.0.2.100");
    let cap = capture(&pair.b, &pair.if_b);
    let ann = in_netns(&pair.a, || Announcer::open().unwrap());
    ann.gratuitous_arp(idx, mac, vip).unwrap();
    assert_eq!(
        Announcement {
            ifname: &pair.if_a,
            addr: IpAddr::V4(vip)
        }
        .to_string(),
        format!("Sending gratuitous ARP on {} for 192.0.2.100", pair.if_a)
    );

    let frame = next_frame(&cap, |f| {
        EthernetPacket::new(f).is_some_and(|e| e.get_ethertype() == EtherTypes::Arp)
    });
    let eth = EthernetPacket::new(&frame).unwrap();
    assert_eq!(eth.get_destination().octets(), [0xff; 6]);
    assert_eq!(eth.get_source().octets(), mac);
    let arp = ArpPacket::new(eth.payload()).unwrap();
    assert_eq!(arp.get_operation(), ArpOperations::Request);
    assert_eq!(arp.get_sender_hw_addr().octets(), mac);
    assert_eq!(arp.get_sender_proto_addr(), vip);
    assert_eq!(arp.get_target_proto_addr(), vip);

    let want = fmt_mac(mac);
    let updated = sys_support::poll_until(Duration::from_secs(3), || {
        let n = neigh_lladdr(&pair.b, "192.0.2.100");
        n.contains(&want).then_some(n)
    });
    assert!(
        updated.is_some(),
        "peer kept {}",
        neigh_lladdr(&pair.b, "192.0.2.100")
    );
}

#[test]
fn unsolicited_na_reaches_and_updates_peer() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let pair = NetnsPair::new("na");
    let (idx, mac) = mac_of(&pair.a, &pair.if_a);
    let vip: Ipv6Addr = "2001:db8::100".parse().unwrap();
    plant_stale(&pair, "2001:db8::100");
    let cap = capture(&pair.b, &pair.if_b);
    let ann = in_netns(&pair.a, || Announcer::open().unwrap());
    ann.announce(idx, mac, IpAddr::V6(vip), false).unwrap();

    let frame = next_frame(&cap, |f| {
        let Some(e) = EthernetPacket::new(f) else {
            return false;
        };
        if e.get_ethertype() != EtherTypes::Ipv6 {
            return false;
        }
        let Some(ip) = Ipv6Packet::new(e.payload()) else {
            return false;
        };
        ip.payload().first() == Some(&Icmpv6Types::NeighborAdvert.0)
    });
    let eth = EthernetPacket::new(&frame).unwrap();
    assert_eq!(eth.get_destination().octets(), [0x33, 0x33, 0, 0, 0, 1]);
    assert_eq!(eth.get_source().octets(), mac);
    let ip = Ipv6Packet::new(eth.payload()).unwrap();
    assert_eq!(ip.get_hop_limit(), 255);
    assert_eq!(ip.get_destination(), "ff02::1".parse::<Ipv6Addr>().unwrap());
    let na = NeighborAdvertPacket::new(ip.payload()).unwrap();
    assert_eq!(na.get_target_addr(), vip);
    assert_eq!(na.get_flags(), NeighborAdvertFlags::Override);
    assert_eq!(&na.packet()[24..26], &[2, 1]);
    assert_eq!(&na.packet()[26..32], &mac);

    // The peer's kernel validates checksum, hop limit and flags before it lets an
    // NA override a neighbour entry: an update proves the frame is right.
    let want = fmt_mac(mac);
    let updated = sys_support::poll_until(Duration::from_secs(3), || {
        let n = neigh_lladdr(&pair.b, "2001:db8::100");
        n.contains(&want).then_some(n)
    });
    assert!(
        updated.is_some(),
        "peer kept {}",
        neigh_lladdr(&pair.b, "2001:db8::100")
    );
}
