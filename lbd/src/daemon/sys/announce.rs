//! Gratuitous ARP and unsolicited IPv6 neighbour advertisements for VIPs.
//!
//! When an instance becomes master, hosts and switches on the link must learn
//! that the VIP now lives at our MAC. Both announcements are built as whole
//! Ethernet frames and sent through one send-only `AF_PACKET` socket, as
//! keepalived does, rather than through an ICMPv6 socket for the NA: the frame
//! goes out even while the VIP is still being configured (no dependence on the
//! address being usable as a source or on routing), and the Ethernet source can
//! be a VMAC rather than the interface's own address.
//!
//! Frame layout follows keepalived 2.2.7 (captured with tcpdump):
//! * GARP: ARP *request*, Ethernet broadcast, sender = target = VIP, sender MAC
//!   ours, target MAC broadcast.
//! * NA: to ff02::1 / 33:33:00:00:00:01 from the VIP, hop limit 255, Override
//!   set, Solicited clear, Router as configured, Target Link-Layer Address option.

use std::fmt;
use std::io;
use std::mem::{size_of, zeroed};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use pnet_packet::arp::{ArpHardwareTypes, ArpOperations, MutableArpPacket};
use pnet_packet::ethernet::{EtherTypes, MutableEthernetPacket};
use pnet_packet::icmpv6::ndp::{MutableNeighborAdvertPacket, NdpOptionTypes, NeighborAdvertFlags};
use pnet_packet::icmpv6::{Icmpv6Code, Icmpv6Types};
use pnet_packet::ip::IpNextHeaderProtocols;
use pnet_packet::ipv6::MutableIpv6Packet;
use pnet_packet::MutablePacket;

use super::{cvt, impl_source_via_fd};

const ETH_HDR: usize = 14;
const ARP_LEN: usize = 28;
/// Ethernet + ARP (the NIC pads to the 60-byte minimum).
pub const GARP_FRAME_LEN: usize = ETH_HDR + ARP_LEN;
const IPV6_HDR: usize = 40;
/// NA header (24) + one Target Link-Layer Address option (8).
const NA_LEN: usize = 24 + 8;
/// Ethernet + IPv6 + NA with the TLLA option.
pub const NA_FRAME_LEN: usize = ETH_HDR + IPV6_HDR + NA_LEN;

const BROADCAST_MAC: [u8; 6] = [0xff; 6];
/// All-nodes multicast ff02::1 and its Ethernet mapping (RFC 2464).
const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
const ALL_NODES_MAC: [u8; 6] = [0x33, 0x33, 0, 0, 0, 1];

/// What was announced, for the log line keepalived users grep for.
///
/// `Display` gives exactly `Sending gratuitous ARP on eth0 for 192.0.2.100`
/// (IPv4) or `Sending unsolicited Neighbour Advert on eth0 for 2001:db8::1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Announcement<'a> {
    pub ifname: &'a str,
    pub addr: IpAddr,
}

impl fmt::Display for Announcement<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.addr {
            IpAddr::V4(a) => write!(f, "Sending gratuitous ARP on {} for {}", self.ifname, a),
            IpAddr::V6(a) => write!(
                f,
                "Sending unsolicited Neighbour Advert on {} for {}",
                self.ifname, a
            ),
        }
    }
}

/// Builds a gratuitous ARP request frame announcing `vip` at `mac`.
pub fn build_garp(mac: [u8; 6], vip: Ipv4Addr) -> [u8; GARP_FRAME_LEN] {
    let mut frame = [0u8; GARP_FRAME_LEN];
    if let Some(mut eth) = MutableEthernetPacket::new(&mut frame) {
        eth.set_destination(BROADCAST_MAC.into());
        eth.set_source(mac.into());
        eth.set_ethertype(EtherTypes::Arp);
        if let Some(mut arp) = MutableArpPacket::new(eth.payload_mut()) {
            arp.set_hardware_type(ArpHardwareTypes::Ethernet);
            arp.set_protocol_type(EtherTypes::Ipv4);
            arp.set_hw_addr_len(6);
            arp.set_proto_addr_len(4);
            arp.set_operation(ArpOperations::Request);
            arp.set_sender_hw_addr(mac.into());
            arp.set_sender_proto_addr(vip);
            arp.set_target_hw_addr(BROADCAST_MAC.into());
            arp.set_target_proto_addr(vip);
        }
    }
    frame
}

/// Builds an unsolicited neighbour advertisement frame for `vip` at `mac`.
///
/// `router` sets the R flag; keepalived sets it when the interface forwards
/// IPv6, so that hosts keep using us as a default router.
pub fn build_unsolicited_na(mac: [u8; 6], vip: Ipv6Addr, router: bool) -> [u8; NA_FRAME_LEN] {
    let mut frame = [0u8; NA_FRAME_LEN];
    if let Some(mut eth) = MutableEthernetPacket::new(&mut frame) {
        eth.set_destination(ALL_NODES_MAC.into());
        eth.set_source(mac.into());
        eth.set_ethertype(EtherTypes::Ipv6);
        if let Some(mut ip) = MutableIpv6Packet::new(eth.payload_mut()) {
            ip.set_version(6);
            ip.set_payload_length(NA_LEN as u16);
            ip.set_next_header(IpNextHeaderProtocols::Icmpv6);
            ip.set_hop_limit(255);
            ip.set_source(vip);
            ip.set_destination(ALL_NODES);
            if let Some(mut na) = MutableNeighborAdvertPacket::new(ip.payload_mut()) {
                na.set_icmpv6_type(Icmpv6Types::NeighborAdvert);
                na.set_icmpv6_code(Icmpv6Code(0));
                let mut flags = NeighborAdvertFlags::Override;
                if router {
                    flags |= NeighborAdvertFlags::Router;
                }
                na.set_flags(flags);
                na.set_target_addr(vip);
                let opts = &mut na.packet_mut()[24..];
                opts[0] = NdpOptionTypes::TargetLLAddr.0;
                opts[1] = 1; // length in units of 8 octets
                opts[2..8].copy_from_slice(&mac);
                let sum = pnet_packet::util::ipv6_checksum(
                    na.packet_mut(),
                    1,
                    &[],
                    &vip,
                    &ALL_NODES,
                    IpNextHeaderProtocols::Icmpv6,
                );
                na.set_checksum(sum);
            }
        }
    }
    frame
}

/// A send-only `AF_PACKET` socket for announcements on any interface.
///
/// Created with protocol 0, so the kernel queues no received frames to it.
#[derive(Debug)]
pub struct Announcer {
    fd: OwnedFd,
}

impl_source_via_fd!(Announcer, fd);

impl Announcer {
    pub fn open() -> io::Result<Self> {
        // SAFETY: plain socket(2) call; result checked.
        let raw = cvt(unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                0,
            )
        })?;
        // SAFETY: fresh descriptor, exclusively ours.
        Ok(Announcer {
            fd: unsafe { OwnedFd::from_raw_fd(raw) },
        })
    }

    /// Sends the announcement suited to the address family of `addr`.
    pub fn announce(
        &self,
        ifindex: u32,
        mac: [u8; 6],
        addr: IpAddr,
        router: bool,
    ) -> io::Result<()> {
        match addr {
            IpAddr::V4(a) => self.gratuitous_arp(ifindex, mac, a),
            IpAddr::V6(a) => self.unsolicited_na(ifindex, mac, a, router),
        }
    }

    pub fn gratuitous_arp(&self, ifindex: u32, mac: [u8; 6], vip: Ipv4Addr) -> io::Result<()> {
        let frame = build_garp(mac, vip);
        self.send(ifindex, BROADCAST_MAC, libc::ETH_P_ARP, &frame)
    }

    pub fn unsolicited_na(
        &self,
        ifindex: u32,
        mac: [u8; 6],
        vip: Ipv6Addr,
        router: bool,
    ) -> io::Result<()> {
        let frame = build_unsolicited_na(mac, vip, router);
        self.send(ifindex, ALL_NODES_MAC, libc::ETH_P_IPV6, &frame)
    }

    fn send(&self, ifindex: u32, dst: [u8; 6], proto: libc::c_int, frame: &[u8]) -> io::Result<()> {
        // SAFETY: sockaddr_ll is plain data; zero is valid.
        let mut sa: libc::sockaddr_ll = unsafe { zeroed() };
        sa.sll_family = libc::AF_PACKET as u16;
        sa.sll_protocol = (proto as u16).to_be();
        sa.sll_ifindex = i32::try_from(ifindex)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "ifindex out of range"))?;
        sa.sll_halen = 6;
        sa.sll_addr[..6].copy_from_slice(&dst);
        // SAFETY: `frame` and `sa` are valid for the call; sizes are exact.
        let n = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                frame.as_ptr().cast(),
                frame.len(),
                0,
                (&sa as *const libc::sockaddr_ll).cast(),
                size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        if n as usize != frame.len() {
            return Err(io::Error::new(io::ErrorKind::WriteZero, "short send"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pnet_packet::arp::ArpPacket;
    use pnet_packet::ethernet::EthernetPacket;
    use pnet_packet::icmpv6::ndp::NeighborAdvertPacket;
    use pnet_packet::ipv6::Ipv6Packet;
    use pnet_packet::Packet;

    const MAC: [u8; 6] = [0x02, 0, 0x5e, 0, 1, 7];

    #[test]
    fn garp_fields() {
        let vip = Ipv4Addr::new(192, 0, 2, 100);
        let f = build_garp(MAC, vip);
        let eth = EthernetPacket::new(&f).unwrap();
        assert_eq!(eth.get_destination().octets(), BROADCAST_MAC);
        assert_eq!(eth.get_source().octets(), MAC);
        assert_eq!(eth.get_ethertype(), EtherTypes::Arp);
        let arp = ArpPacket::new(eth.payload()).unwrap();
        assert_eq!(arp.get_operation(), ArpOperations::Request);
        assert_eq!(arp.get_sender_hw_addr().octets(), MAC);
        assert_eq!(arp.get_sender_proto_addr(), vip);
        assert_eq!(arp.get_target_proto_addr(), vip);
        assert_eq!(arp.get_target_hw_addr().octets(), BROADCAST_MAC);
    }

    #[test]
    fn na_fields_and_checksum() {
        let vip: Ipv6Addr = "2001:db8::100".parse().unwrap();
        let f = build_unsolicited_na(MAC, vip, true);
        let eth = EthernetPacket::new(&f).unwrap();
        assert_eq!(eth.get_destination().octets(), ALL_NODES_MAC);
        let ip = Ipv6Packet::new(eth.payload()).unwrap();
        assert_eq!(ip.get_hop_limit(), 255);
        assert_eq!(ip.get_destination(), ALL_NODES);
        assert_eq!(usize::from(ip.get_payload_length()), NA_LEN);
        let na = NeighborAdvertPacket::new(ip.payload()).unwrap();
        assert_eq!(na.get_icmpv6_type(), Icmpv6Types::NeighborAdvert);
        assert_eq!(
            na.get_flags(),
            NeighborAdvertFlags::Override | NeighborAdvertFlags::Router
        );
        assert_eq!(na.get_target_addr(), vip);
        assert_eq!(&na.packet()[24..], &[2, 1, 0x02, 0, 0x5e, 0, 1, 7]);
        // A correct checksum makes the one's-complement sum over pseudo-header and
        // message come out as zero.
        let again = pnet_packet::util::ipv6_checksum(
            na.packet(),
            usize::MAX / 2,
            &[],
            &vip,
            &ALL_NODES,
            IpNextHeaderProtocols::Icmpv6,
        );
        assert_eq!(again, 0);
    }

    /// Frames captured with `tcpdump -xx` from keepalived 2.2.7 (MAC
    /// f2:08:15:a4:e1:fd): ours must be byte-identical.
    #[test]
    fn identical_to_keepalived() {
        let mac = [0xf2, 0x08, 0x15, 0xa4, 0xe1, 0xfd];
        let garp = "ffffffffffff f20815a4e1fd 0806 0001 0800 0604 0001 f20815a4e1fd c0000264 \
                    ffffffffffff c0000264";
        assert_eq!(
            build_garp(mac, Ipv4Addr::new(192, 0, 2, 100)).to_vec(),
            hex(garp)
        );
        let na = "333300000001 f20815a4e1fd 86dd 6000 0000 0020 3aff \
                  20010db8000000000000000000000100 ff020000000000000000000000000001 \
                  8800 0f83 20000000 20010db8000000000000000000000100 0201 f20815a4e1fd";
        let vip: Ipv6Addr = "2001:db8::100".parse().unwrap();
        assert_eq!(build_unsolicited_na(mac, vip, false).to_vec(), hex(na));
    }

    fn hex(s: &str) -> Vec<u8> {
        let digits: Vec<u8> = s.bytes().filter(u8::is_ascii_hexdigit).collect();
        digits
            .chunks(2)
            .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
            .collect()
    }

    #[test]
    fn log_line() {
        let a = Announcement {
            ifname: "eth0",
            addr: "192.0.2.100".parse().unwrap(),
        };
        assert_eq!(
            a.to_string(),
            "Sending gratuitous ARP on eth0 for 192.0.2.100"
        );
    }
}
