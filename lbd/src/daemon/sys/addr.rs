//! IP address add/delete/list through rtnetlink (what `ip addr` does).
//!
//! The daemon adds and removes virtual IPs as instances change state. Both
//! directions must be idempotent from the daemon's point of view: an address that
//! is already there (left by a killed earlier run, or by an operator) and an
//! address that is already gone are reported as distinct, expected outcomes
//! ([`AddrError::AlreadyExists`], [`AddrError::NotPresent`]) rather than failures.

use std::io;
use std::net::{IpAddr, Ipv4Addr};

use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage, AddressScope,
};
use netlink_packet_route::link::LinkMessage;
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use super::link::{decode, LinkState, NetEvent};
use super::netlink::{Item, Mode, NetlinkSocket, RequestError};

/// Address scope, as keepalived's `scope` keyword and `ip addr ... scope` spell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Scope {
    /// `global` (RT_SCOPE_UNIVERSE), the default.
    #[default]
    Global,
    Site,
    Link,
    Host,
    Nowhere,
}

impl Scope {
    /// Parses keepalived/iproute2 scope names (`global`, `site`, `link`, `host`,
    /// `nowhere`) and their numeric values (0, 200, 253, 254, 255).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "global" | "universe" | "0" => Scope::Global,
            "site" | "200" => Scope::Site,
            "link" | "253" => Scope::Link,
            "host" | "254" => Scope::Host,
            "nowhere" | "255" => Scope::Nowhere,
            _ => return None,
        })
    }

    fn to_netlink(self) -> AddressScope {
        match self {
            Scope::Global => AddressScope::Universe,
            Scope::Site => AddressScope::Site,
            Scope::Link => AddressScope::Link,
            Scope::Host => AddressScope::Host,
            Scope::Nowhere => AddressScope::Nowhere,
        }
    }

    fn from_netlink(s: AddressScope) -> Option<Self> {
        Some(match s {
            AddressScope::Universe => Scope::Global,
            AddressScope::Site => Scope::Site,
            AddressScope::Link => Scope::Link,
            AddressScope::Host => Scope::Host,
            AddressScope::Nowhere => Scope::Nowhere,
            _ => return None,
        })
    }
}

/// An address to add to (or remove from) an interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddrSpec {
    pub ifindex: u32,
    pub addr: IpAddr,
    /// 0..=32 for IPv4, 0..=128 for IPv6 (checked before anything is sent).
    pub prefix_len: u8,
    /// IPv4 only, at most 15 bytes. By convention (iproute2 and keepalived insist,
    /// the kernel does not) it starts with the interface name: `eth0:vip`.
    pub label: Option<String>,
    pub scope: Scope,
    /// IPv4 only: `brd`. `None` sends no broadcast attribute (as `ip addr add`).
    pub broadcast: Option<Ipv4Addr>,
    /// IPv6 only: add with IFA_F_NODAD so that a VIP is usable at once (as
    /// keepalived does); a VIP moving between routers would otherwise go through
    /// duplicate address detection and be tentative for a second or more.
    pub no_dad: bool,
}

impl AddrSpec {
    /// A plain address with defaults: global scope, no label, no broadcast,
    /// `no_dad` set for IPv6.
    pub fn new(ifindex: u32, addr: IpAddr, prefix_len: u8) -> Self {
        AddrSpec {
            ifindex,
            addr,
            prefix_len,
            label: None,
            scope: Scope::Global,
            broadcast: None,
            no_dad: addr.is_ipv6(),
        }
    }
}

/// An address found on an interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub ifindex: u32,
    pub addr: IpAddr,
    pub prefix_len: u8,
    pub label: Option<String>,
    /// `None` for scopes outside the named ones.
    pub scope: Option<Scope>,
    pub broadcast: Option<Ipv4Addr>,
    /// IFA_F_SECONDARY (IPv4) / temporary: not the interface's primary address.
    pub secondary: bool,
    /// IPv6 only: still in duplicate address detection, not yet usable as a source.
    pub tentative: bool,
}

/// Why an address operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum AddrError {
    /// EEXIST on add: the address is already on the interface (adopt it).
    #[error("address already present")]
    AlreadyExists,
    /// EADDRNOTAVAIL on delete: the address is not on the interface.
    #[error("address not present")]
    NotPresent,
    /// ENODEV: no interface with that index.
    #[error("no such interface")]
    NoSuchInterface,
    /// The spec was rejected before sending (prefix too long, label too long, ...).
    #[error("invalid address spec: {0}")]
    Invalid(&'static str),
    /// Any other kernel refusal (e.g. EINVAL, EPERM).
    #[error("kernel refused: {0}")]
    Kernel(io::Error),
    /// The netlink socket itself failed.
    #[error("netlink socket: {0}")]
    Io(io::Error),
}

impl From<RequestError> for AddrError {
    fn from(e: RequestError) -> Self {
        match e {
            RequestError::Nack(libc::EEXIST) => AddrError::AlreadyExists,
            RequestError::Nack(libc::EADDRNOTAVAIL) => AddrError::NotPresent,
            RequestError::Nack(libc::ENODEV) => AddrError::NoSuchInterface,
            RequestError::Nack(errno) => AddrError::Kernel(io::Error::from_raw_os_error(errno)),
            RequestError::Io(e) => AddrError::Io(e),
            RequestError::Inconsistent => AddrError::Io(io::Error::new(
                io::ErrorKind::Interrupted,
                "dump kept changing under us",
            )),
        }
    }
}

/// A NETLINK_ROUTE request socket for address and link queries.
///
/// Calls are synchronous but never wait on anything except the kernel's immediate
/// answer (see the netlink module), so the loop may call them inline.
#[derive(Debug)]
pub struct RouteSocket {
    sock: NetlinkSocket,
}

impl RouteSocket {
    pub fn open() -> io::Result<Self> {
        Ok(RouteSocket {
            sock: NetlinkSocket::open(Mode::Request)?,
        })
    }

    /// Adds an address; [`AddrError::AlreadyExists`] if it is already there.
    pub fn add_address(&mut self, spec: &AddrSpec) -> Result<(), AddrError> {
        let msg = build_message(spec, true)?;
        self.sock
            .request(
                RouteNetlinkMessage::NewAddress(msg),
                NLM_F_CREATE | NLM_F_EXCL,
            )
            .map_err(AddrError::from)
    }

    /// Deletes an address; [`AddrError::NotPresent`] if it was not there.
    ///
    /// Only the address and prefix length are matched (label, scope and broadcast
    /// are ignored), so a leftover with different attributes is still removed.
    pub fn del_address(&mut self, spec: &AddrSpec) -> Result<(), AddrError> {
        let msg = build_message(spec, false)?;
        self.sock
            .request(RouteNetlinkMessage::DelAddress(msg), 0)
            .map_err(AddrError::from)
    }

    /// Lists addresses, of one interface or (with `None`) of all of them.
    pub fn list_addresses(&mut self, ifindex: Option<u32>) -> Result<Vec<Address>, AddrError> {
        let req = RouteNetlinkMessage::GetAddress(AddressMessage::default());
        let out = self.sock.dump(req, |m| match m {
            Item::Route(RouteNetlinkMessage::NewAddress(a)) => {
                parse_address(&a).filter(|addr| ifindex.is_none_or(|i| i == addr.ifindex))
            }
            _ => None,
        })?;
        Ok(out)
    }

    /// Dumps every link with its state (the initial snapshot for track_interface).
    pub fn list_links(&mut self) -> Result<Vec<LinkState>, AddrError> {
        let req = RouteNetlinkMessage::GetLink(LinkMessage::default());
        let out = self.sock.dump(req, |m| match decode(m) {
            Some(NetEvent::Link(l)) => Some(l),
            _ => None,
        })?;
        Ok(out)
    }
}

fn build_message(spec: &AddrSpec, add: bool) -> Result<AddressMessage, AddrError> {
    let max_prefix = if spec.addr.is_ipv4() { 32 } else { 128 };
    if spec.prefix_len > max_prefix {
        return Err(AddrError::Invalid("prefix length too long for the family"));
    }
    if spec.ifindex == 0 {
        return Err(AddrError::Invalid("interface index 0"));
    }
    let mut msg = AddressMessage::default();
    msg.header.prefix_len = spec.prefix_len;
    msg.header.index = spec.ifindex;
    msg.header.scope = spec.scope.to_netlink();
    match spec.addr {
        IpAddr::V4(_) => {
            msg.header.family = AddressFamily::Inet;
            msg.attributes.push(AddressAttribute::Local(spec.addr));
            if add {
                msg.attributes.push(AddressAttribute::Address(spec.addr));
                if let Some(label) = &spec.label {
                    if label.is_empty() || label.len() >= libc::IFNAMSIZ || label.contains('\0') {
                        return Err(AddrError::Invalid("label must be 1..=15 bytes"));
                    }
                    msg.attributes.push(AddressAttribute::Label(label.clone()));
                }
                if let Some(brd) = spec.broadcast {
                    msg.attributes.push(AddressAttribute::Broadcast(brd));
                }
            }
        }
        IpAddr::V6(_) => {
            if spec.label.is_some() || spec.broadcast.is_some() {
                return Err(AddrError::Invalid("label and broadcast are IPv4 only"));
            }
            msg.header.family = AddressFamily::Inet6;
            msg.attributes.push(AddressAttribute::Address(spec.addr));
            if add && spec.no_dad {
                msg.header.flags = AddressHeaderFlags::Nodad;
                msg.attributes
                    .push(AddressAttribute::Flags(AddressFlags::Nodad));
            }
        }
    }
    Ok(msg)
}

pub(crate) fn parse_address(msg: &AddressMessage) -> Option<Address> {
    let mut local = None;
    let mut address = None;
    let mut label = None;
    let mut broadcast = None;
    let mut flags = AddressFlags::from_bits_retain(u32::from(msg.header.flags.bits()));
    for attr in &msg.attributes {
        match attr {
            AddressAttribute::Local(a) => local = Some(*a),
            AddressAttribute::Address(a) => address = Some(*a),
            AddressAttribute::Label(l) => label = Some(l.clone()),
            AddressAttribute::Broadcast(b) => broadcast = Some(*b),
            AddressAttribute::Flags(f) => flags = *f,
            _ => {}
        }
    }
    // For IPv4, IFA_LOCAL is the interface's own address and IFA_ADDRESS the peer
    // on point-to-point links; IPv6 reports only IFA_ADDRESS unless there is a peer.
    let addr = local.or(address)?;
    Some(Address {
        ifindex: msg.header.index,
        addr,
        prefix_len: msg.header.prefix_len,
        label,
        scope: Scope::from_netlink(msg.header.scope),
        broadcast,
        secondary: flags.contains(AddressFlags::Secondary),
        tentative: flags.contains(AddressFlags::Tentative),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_names() {
        assert_eq!(Scope::parse("link"), Some(Scope::Link));
        assert_eq!(Scope::parse("global"), Some(Scope::Global));
        assert_eq!(Scope::parse("254"), Some(Scope::Host));
        assert_eq!(Scope::parse("galactic"), None);
    }

    #[test]
    fn rejects_bad_specs_before_sending() {
        let mut s = AddrSpec::new(1, "192.0.2.1".parse().unwrap(), 33);
        assert!(matches!(
            build_message(&s, true),
            Err(AddrError::Invalid(_))
        ));
        s.prefix_len = 24;
        s.label = Some("much-too-long-label".into());
        assert!(matches!(
            build_message(&s, true),
            Err(AddrError::Invalid(_))
        ));
        let mut v6 = AddrSpec::new(1, "2001:db8::1".parse().unwrap(), 64);
        v6.broadcast = Some(Ipv4Addr::BROADCAST);
        assert!(matches!(
            build_message(&v6, true),
            Err(AddrError::Invalid(_))
        ));
    }

    #[test]
    fn roundtrip_through_parse() {
        let mut s = AddrSpec::new(3, "192.0.2.10".parse().unwrap(), 24);
        s.label = Some("eth0:vip".into());
        s.broadcast = Some("192.0.2.255".parse().unwrap());
        s.scope = Scope::Link;
        let msg = build_message(&s, true).unwrap();
        let a = parse_address(&msg).unwrap();
        assert_eq!(a.addr, s.addr);
        assert_eq!(a.prefix_len, 24);
        assert_eq!(a.label.as_deref(), Some("eth0:vip"));
        assert_eq!(a.broadcast, s.broadcast);
        assert_eq!(a.scope, Some(Scope::Link));
        assert_eq!(a.ifindex, 3);
    }
}
