//! The IPVS model: virtual services, destinations, statistics, timeouts and
//! the sync daemon, as typed values rather than the kernel's flag soup.

use crate::attr::{fwd, svc_flags, AF_INET, AF_INET6};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// Transport protocol of an address-based virtual service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
}

impl Protocol {
    pub fn number(self) -> u16 {
        match self {
            Protocol::Tcp => 6,
            Protocol::Udp => 17,
            Protocol::Sctp => 132,
        }
    }
    pub fn from_number(n: u16) -> Option<Self> {
        match n {
            6 => Some(Protocol::Tcp),
            17 => Some(Protocol::Udp),
            132 => Some(Protocol::Sctp),
            _ => None,
        }
    }
    /// ipvsadm's column name.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::Sctp => "SCTP",
        }
    }
}

/// Address family of a service or destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub fn af(self) -> u16 {
        match self {
            Family::V4 => AF_INET,
            Family::V6 => AF_INET6,
        }
    }
    pub fn from_af(af: u16) -> Option<Self> {
        match af {
            AF_INET => Some(Family::V4),
            AF_INET6 => Some(Family::V6),
            _ => None,
        }
    }
    pub fn of(addr: &IpAddr) -> Self {
        match addr {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }
}

/// What identifies a virtual service: protocol + address + port, or a
/// firewall mark (per family).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ServiceKey {
    Inet {
        protocol: Protocol,
        addr: SocketAddr,
    },
    Fwmark {
        family: Family,
        mark: u32,
    },
}

impl ServiceKey {
    pub fn family(&self) -> Family {
        match self {
            ServiceKey::Inet { addr, .. } => Family::of(&addr.ip()),
            ServiceKey::Fwmark { family, .. } => *family,
        }
    }
    pub fn tcp(addr: SocketAddr) -> Self {
        ServiceKey::Inet {
            protocol: Protocol::Tcp,
            addr,
        }
    }
    pub fn udp(addr: SocketAddr) -> Self {
        ServiceKey::Inet {
            protocol: Protocol::Udp,
            addr,
        }
    }
}

impl fmt::Display for ServiceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceKey::Inet { protocol, addr } => write!(f, "{} {}", protocol.name(), addr),
            ServiceKey::Fwmark {
                family: Family::V4,
                mark,
            } => write!(f, "FWM {mark}"),
            ServiceKey::Fwmark {
                family: Family::V6,
                mark,
            } => write!(f, "FWM {mark} IPv6"),
        }
    }
}

/// Persistence granularity: an IPv4 netmask (any mask, as ipvsadm's `-M`
/// accepts) or an IPv6 prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Netmask {
    V4(Ipv4Addr),
    V6(u8),
}

impl Netmask {
    /// The kernel's default: one client address per entry.
    pub fn host(family: Family) -> Self {
        match family {
            Family::V4 => Netmask::V4(Ipv4Addr::BROADCAST),
            Family::V6 => Netmask::V6(128),
        }
    }
    pub fn family(&self) -> Family {
        match self {
            Netmask::V4(_) => Family::V4,
            Netmask::V6(_) => Family::V6,
        }
    }
    /// The 32-bit value the kernel stores: the v4 mask in network order, or the
    /// v6 prefix length in host order.
    pub(crate) fn raw(&self) -> [u8; 4] {
        match self {
            Netmask::V4(m) => m.octets(),
            Netmask::V6(p) => u32::from(*p).to_ne_bytes(),
        }
    }
}

/// Client affinity: connections from one client (or netmask) stick to one
/// destination for `timeout` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Persistence {
    pub timeout: u32,
    pub netmask: Netmask,
}

/// The three scheduler-specific flag bits. Their meaning depends on the
/// scheduler: for `sh`/`mh` bit 1 is "fallback" and bit 2 is "port".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SchedFlags(u8);

impl SchedFlags {
    pub const NONE: SchedFlags = SchedFlags(0);
    pub const FLAG1: SchedFlags = SchedFlags(1);
    pub const FLAG2: SchedFlags = SchedFlags(2);
    pub const FLAG3: SchedFlags = SchedFlags(4);
    /// `sh-fallback` / `mh-fallback`.
    pub const FALLBACK: SchedFlags = SchedFlags::FLAG1;
    /// `sh-port` / `mh-port`.
    pub const PORT: SchedFlags = SchedFlags::FLAG2;

    pub fn contains(self, other: SchedFlags) -> bool {
        self.0 & other.0 == other.0
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    pub fn union(self, other: SchedFlags) -> SchedFlags {
        SchedFlags(self.0 | other.0)
    }
    pub(crate) fn to_kernel(self) -> u32 {
        u32::from(self.0 & 7) << 3
    }
    pub(crate) fn from_kernel(flags: u32) -> Self {
        SchedFlags(((flags >> 3) & 7) as u8)
    }
}

/// A virtual service as configured (no counters).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Service {
    pub key: ServiceKey,
    /// Scheduler module name without the `ip_vs_` prefix: rr, wrr, lc, wlc,
    /// lblc, lblcr, dh, sh, sed, nq, fo, ovf, mh, twos, or any other.
    pub scheduler: String,
    pub persistence: Option<Persistence>,
    /// One-packet scheduling (UDP): no connection entry per datagram.
    pub one_packet: bool,
    pub sched_flags: SchedFlags,
    /// Persistence engine (e.g. `sip`).
    pub pe_name: Option<String>,
}

impl Service {
    pub fn new(key: ServiceKey, scheduler: impl Into<String>) -> Self {
        Service {
            key,
            scheduler: scheduler.into(),
            persistence: None,
            one_packet: false,
            sched_flags: SchedFlags::NONE,
            pe_name: None,
        }
    }

    pub(crate) fn kernel_flags(&self) -> u32 {
        let mut f = self.sched_flags.to_kernel();
        if self.persistence.is_some() {
            f |= svc_flags::PERSISTENT;
        }
        if self.one_packet {
            f |= svc_flags::ONEPACKET;
        }
        f
    }
}

/// Checksum option of a GUE/GRE tunnel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TunnelCsum {
    #[default]
    None,
    Csum,
    RemoteCsum,
}

impl TunnelCsum {
    pub(crate) fn to_kernel(self) -> u16 {
        match self {
            TunnelCsum::None => crate::attr::tun_flags::NOCSUM,
            TunnelCsum::Csum => crate::attr::tun_flags::CSUM,
            TunnelCsum::RemoteCsum => crate::attr::tun_flags::REMCSUM,
        }
    }
    pub(crate) fn from_kernel(v: u16) -> Option<Self> {
        match v {
            0 => Some(TunnelCsum::None),
            1 => Some(TunnelCsum::Csum),
            2 => Some(TunnelCsum::RemoteCsum),
            _ => None,
        }
    }
}

/// Encapsulation of a tunnel destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Tunnel {
    #[default]
    Ipip,
    Gue {
        port: u16,
        csum: TunnelCsum,
    },
    Gre {
        csum: TunnelCsum,
    },
}

/// How packets reach a destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Forward {
    /// NAT (`-m`).
    Masq,
    /// The destination is this host.
    Local,
    /// Direct routing (`-g`).
    Route,
    /// IP-in-IP / GUE / GRE (`-i`).
    Tunnel(Tunnel),
}

impl Forward {
    pub(crate) fn method(&self) -> u32 {
        match self {
            Forward::Masq => fwd::MASQ,
            Forward::Local => fwd::LOCALNODE,
            Forward::Route => fwd::DROUTE,
            Forward::Tunnel(_) => fwd::TUNNEL,
        }
    }
    /// ipvsadm's column name.
    pub fn name(&self) -> &'static str {
        match self {
            Forward::Masq => "Masq",
            Forward::Local => "Local",
            Forward::Route => "Route",
            Forward::Tunnel(_) => "Tunnel",
        }
    }
}

/// A real server as configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Dest {
    pub addr: SocketAddr,
    pub forward: Forward,
    pub weight: u32,
    pub upper_threshold: u32,
    pub lower_threshold: u32,
}

impl Dest {
    pub fn new(addr: SocketAddr, forward: Forward, weight: u32) -> Self {
        Dest {
            addr,
            forward,
            weight,
            upper_threshold: 0,
            lower_threshold: 0,
        }
    }
}

/// Counters and rates, always 64-bit (from `*_STATS64` when the kernel has it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    pub conns: u64,
    pub inpkts: u64,
    pub outpkts: u64,
    pub inbytes: u64,
    pub outbytes: u64,
    pub cps: u64,
    pub inpps: u64,
    pub outpps: u64,
    pub inbps: u64,
    pub outbps: u64,
}

/// A service as dumped by the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceEntry {
    pub service: Service,
    pub stats: Stats,
}

/// A destination as dumped by the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestEntry {
    pub dest: Dest,
    pub active_conns: u32,
    pub inactive_conns: u32,
    pub persistent_conns: u32,
    pub stats: Stats,
}

/// `IPVS_CMD_GET_INFO`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Info {
    /// Encoded as `major << 16 | minor << 8 | patch`.
    pub version: u32,
    pub conn_tab_size: u32,
}

impl Info {
    pub fn version_triple(&self) -> (u32, u32, u32) {
        (
            (self.version >> 16) & 0xff,
            (self.version >> 8) & 0xff,
            self.version & 0xff,
        )
    }
}

/// Connection timeouts in seconds. Setting 0 leaves a value unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Timeouts {
    pub tcp: u32,
    pub tcp_fin: u32,
    pub udp: u32,
}

/// Which side of connection synchronisation a sync daemon runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DaemonRole {
    Master,
    Backup,
}

impl DaemonRole {
    pub fn name(self) -> &'static str {
        match self {
            DaemonRole::Master => "master",
            DaemonRole::Backup => "backup",
        }
    }
}

/// A connection sync daemon. Zero `sync_maxlen`/`mcast_port`/`mcast_ttl`
/// and no `mcast_group` mean "kernel default".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Daemon {
    pub role: DaemonRole,
    pub ifname: String,
    pub sync_id: u32,
    pub sync_maxlen: u16,
    pub mcast_group: Option<IpAddr>,
    pub mcast_port: u16,
    pub mcast_ttl: u8,
}

impl Daemon {
    pub fn new(role: DaemonRole, ifname: impl Into<String>, sync_id: u32) -> Self {
        Daemon {
            role,
            ifname: ifname.into(),
            sync_id,
            sync_maxlen: 0,
            mcast_group: None,
            mcast_port: 0,
            mcast_ttl: 0,
        }
    }
}
