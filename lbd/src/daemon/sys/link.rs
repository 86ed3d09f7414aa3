//! Link (and address) change notifications from rtnetlink, for track_interface
//! and for noticing a VIP removed behind our back. Event driven: no polling.

use std::io;

use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage, State};
use netlink_packet_route::RouteNetlinkMessage;

use super::addr::{parse_address, Address, RouteSocket};
use super::impl_source_via_fd;
use super::netlink::{Item, Mode, NetlinkSocket};

/// What the daemon needs to know about one interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkState {
    pub ifindex: u32,
    /// Empty only if the kernel omitted IFLA_IFNAME (it never does for NEWLINK).
    pub name: String,
    /// IFF_UP: administratively up (`ip link set up`).
    pub admin_up: bool,
    /// IFF_RUNNING and operational state not down: carrier present and usable.
    /// This is what keepalived's track_interface follows.
    pub oper_up: bool,
    pub mac: Option<[u8; 6]>,
    pub mtu: Option<u32>,
}

impl LinkState {
    /// Up in the sense that matters for VRRP: admin up and running.
    pub fn is_up(&self) -> bool {
        self.admin_up && self.oper_up
    }

    pub(crate) fn from_message(msg: &LinkMessage) -> Self {
        let mut name = String::new();
        let mut mtu = None;
        let mut oper = None;
        for attr in &msg.attributes {
            match attr {
                LinkAttribute::IfName(n) => name.clone_from(n),
                LinkAttribute::Mtu(m) => mtu = Some(*m),
                LinkAttribute::OperState(s) => oper = Some(u8::from(*s)),
                _ => {}
            }
        }
        Self::new(
            msg.header.index,
            msg.header.flags,
            name,
            mtu,
            oper,
            link_mac(msg),
        )
    }

    fn new(
        ifindex: u32,
        flags: LinkFlags,
        name: String,
        mtu: Option<u32>,
        oper: Option<u8>,
        mac: Option<[u8; 6]>,
    ) -> Self {
        let running = flags.contains(LinkFlags::Running);
        // IF_OPER_UNKNOWN is what drivers without carrier reporting (loopback,
        // some virtual devices) show; trust IFF_RUNNING for them.
        let oper_up = running
            && !matches!(
                oper.map(State::from),
                Some(State::Down | State::LowerLayerDown | State::NotPresent | State::Dormant)
            );
        LinkState {
            ifindex,
            name,
            admin_up: flags.contains(LinkFlags::Up),
            oper_up,
            mac,
            mtu,
        }
    }

    /// Minimal decoding of a raw `ifinfomsg` plus the four attributes we use, for
    /// messages the route crate refused (see `netlink::RawMessage`).
    fn from_raw(payload: &[u8]) -> Option<Self> {
        const IFINFOMSG_LEN: usize = 16;
        const IFLA_ADDRESS: u16 = 1;
        const IFLA_IFNAME: u16 = 3;
        const IFLA_MTU: u16 = 4;
        const IFLA_OPERSTATE: u16 = 16;
        const NLA_TYPE_MASK: u16 = 0x3fff;
        let hdr = payload.get(..IFINFOMSG_LEN)?;
        let ifindex = u32::from_ne_bytes([hdr[4], hdr[5], hdr[6], hdr[7]]);
        let flags =
            LinkFlags::from_bits_retain(u32::from_ne_bytes([hdr[8], hdr[9], hdr[10], hdr[11]]));
        let (mut name, mut mtu, mut oper, mut mac) = (String::new(), None, None, None);
        let mut rest = &payload[IFINFOMSG_LEN..];
        while rest.len() >= 4 {
            let len = usize::from(u16::from_ne_bytes([rest[0], rest[1]]));
            let ty = u16::from_ne_bytes([rest[2], rest[3]]) & NLA_TYPE_MASK;
            let data = rest.get(4..len)?;
            match ty {
                IFLA_IFNAME => {
                    let end = data.iter().position(|&b| b == 0).unwrap_or(data.len());
                    name = String::from_utf8_lossy(&data[..end]).into_owned();
                }
                IFLA_MTU if data.len() == 4 => {
                    mtu = Some(u32::from_ne_bytes([data[0], data[1], data[2], data[3]]))
                }
                IFLA_OPERSTATE if !data.is_empty() => oper = Some(data[0]),
                IFLA_ADDRESS => mac = <[u8; 6]>::try_from(data).ok(),
                _ => {}
            }
            let advance = (len + 3) & !3;
            rest = rest.get(advance.max(4)..).unwrap_or(&[]);
        }
        Some(Self::new(ifindex, flags, name, mtu, oper, mac))
    }
}

/// The interface's hardware address, if Ethernet-sized.
fn link_mac(msg: &LinkMessage) -> Option<[u8; 6]> {
    msg.attributes.iter().find_map(|a| match a {
        LinkAttribute::Address(bytes) => <[u8; 6]>::try_from(bytes.as_slice()).ok(),
        _ => None,
    })
}

/// One notification, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetEvent {
    /// RTM_NEWLINK: a link appeared or its flags/state changed (may repeat a state).
    Link(LinkState),
    /// RTM_DELLINK: the interface is gone.
    LinkRemoved { ifindex: u32, name: String },
    /// RTM_NEWADDR (only if subscribed to addresses).
    AddrAdded(Address),
    /// RTM_DELADDR (only if subscribed): e.g. an operator removed one of our VIPs.
    AddrRemoved(Address),
    /// The kernel dropped notifications (ENOBUFS): re-dump links and addresses.
    Overrun,
}

/// Which notification groups to subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subscription {
    pub links: bool,
    pub ipv4_addrs: bool,
    pub ipv6_addrs: bool,
}

impl Subscription {
    pub const LINKS: Subscription = Subscription {
        links: true,
        ipv4_addrs: false,
        ipv6_addrs: false,
    };
    pub const ALL: Subscription = Subscription {
        links: true,
        ipv4_addrs: true,
        ipv6_addrs: true,
    };

    fn groups(self) -> u32 {
        let mut g = 0;
        if self.links {
            g |= libc::RTMGRP_LINK as u32;
        }
        if self.ipv4_addrs {
            g |= libc::RTMGRP_IPV4_IFADDR as u32;
        }
        if self.ipv6_addrs {
            g |= libc::RTMGRP_IPV6_IFADDR as u32;
        }
        g
    }
}

/// A non-blocking rtnetlink multicast listener. Register it with mio for
/// readability and call [`LinkMonitor::drain`] on every readiness event.
#[derive(Debug)]
pub struct LinkMonitor {
    sock: NetlinkSocket,
}

impl_source_via_fd!(LinkMonitor, sock);

impl LinkMonitor {
    /// Subscribes, then takes the initial snapshot of links, in that order, so that
    /// no change between the two is lost (at worst a state is reported twice).
    pub fn open(sub: Subscription) -> io::Result<(LinkMonitor, Vec<LinkState>)> {
        let sock = NetlinkSocket::open(Mode::Monitor {
            groups: sub.groups(),
        })?;
        let links = RouteSocket::open()?
            .list_links()
            .map_err(|e| io::Error::other(e.to_string()))?;
        Ok((LinkMonitor { sock }, links))
    }

    /// Reads all pending notifications (until the socket would block) into `out`.
    ///
    /// Kernel overruns are reported in-band as [`NetEvent::Overrun`]; other socket
    /// errors are returned.
    pub fn drain(&mut self, out: &mut Vec<NetEvent>) -> io::Result<()> {
        loop {
            match self.sock.drain(|m| {
                if let Some(ev) = decode(m) {
                    out.push(ev)
                }
            }) {
                Ok(()) => return Ok(()),
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    out.push(NetEvent::Overrun);
                    // The socket stays usable after ENOBUFS; keep reading.
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// RTM_NEWLINK / RTM_DELLINK message types, for raw messages.
const RTM_NEWLINK: u16 = 16;
const RTM_DELLINK: u16 = 17;

pub(crate) fn decode(item: Item<'_>) -> Option<NetEvent> {
    let msg = match item {
        Item::Route(m) => m,
        Item::Raw(raw) => {
            let state = LinkState::from_raw(raw.payload)?;
            return match raw.message_type {
                RTM_NEWLINK => Some(NetEvent::Link(state)),
                RTM_DELLINK => Some(NetEvent::LinkRemoved {
                    ifindex: state.ifindex,
                    name: state.name,
                }),
                _ => None,
            };
        }
    };
    match msg {
        RouteNetlinkMessage::NewLink(l) => Some(NetEvent::Link(LinkState::from_message(&l))),
        RouteNetlinkMessage::DelLink(l) => {
            let s = LinkState::from_message(&l);
            Some(NetEvent::LinkRemoved {
                ifindex: s.ifindex,
                name: s.name,
            })
        }
        RouteNetlinkMessage::NewAddress(a) => parse_address(&a).map(NetEvent::AddrAdded),
        RouteNetlinkMessage::DelAddress(a) => parse_address(&a).map(NetEvent::AddrRemoved),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(ty: u16, data: &[u8]) -> Vec<u8> {
        let len = 4 + data.len();
        let mut v = Vec::new();
        v.extend_from_slice(&(len as u16).to_ne_bytes());
        v.extend_from_slice(&ty.to_ne_bytes());
        v.extend_from_slice(data);
        v.resize((len + 3) & !3, 0);
        v
    }

    fn ifinfomsg(index: u32, flags: u32) -> Vec<u8> {
        let mut v = vec![0u8; 16];
        v[4..8].copy_from_slice(&index.to_ne_bytes());
        v[8..12].copy_from_slice(&flags.to_ne_bytes());
        v
    }

    #[test]
    fn raw_fallback_decodes_what_we_need() {
        let mut m = ifinfomsg(7, 0x1 | 0x40 | 0x10000);
        m.extend(attr(3, b"eth0\0"));
        m.extend(attr(4, &1500u32.to_ne_bytes()));
        m.extend(attr(16, &[6]));
        m.extend(attr(1, &[2, 0, 0, 0, 0, 1]));
        m.extend(attr(0x8000 | 99, &[1, 2, 3])); // nested flag, unknown type
        let s = LinkState::from_raw(&m).unwrap();
        assert_eq!(s.ifindex, 7);
        assert_eq!(s.name, "eth0");
        assert_eq!(s.mtu, Some(1500));
        assert_eq!(s.mac, Some([2, 0, 0, 0, 0, 1]));
        assert!(s.is_up());
        let down = decode(Item::Raw(super::super::netlink::RawMessage {
            message_type: RTM_DELLINK,
            payload: &m,
        }));
        assert_eq!(
            down,
            Some(NetEvent::LinkRemoved {
                ifindex: 7,
                name: "eth0".into()
            })
        );
    }

    #[test]
    fn raw_fallback_survives_garbage() {
        assert!(LinkState::from_raw(&[0; 10]).is_none());
        let mut m = ifinfomsg(1, 0);
        m.extend_from_slice(&[200, 0, 3, 0, b'x']); // attribute longer than the message
        assert!(LinkState::from_raw(&m).is_none());
        let mut m = ifinfomsg(1, 0);
        m.extend_from_slice(&[2, 0, 3, 0, 0, 0, 0, 0]); // attribute shorter than its header
        assert!(LinkState::from_raw(&m).is_none());
    }

    #[test]
    fn oper_state_down_means_not_up() {
        let mut m = ifinfomsg(1, 0x1 | 0x40);
        m.extend(attr(16, &[2])); // IF_OPER_DOWN
        let s = LinkState::from_raw(&m).unwrap();
        assert!(s.admin_up && !s.oper_up);
    }
}
