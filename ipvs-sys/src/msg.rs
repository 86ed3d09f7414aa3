//! IPVS requests and replies: typed values to and from generic netlink
//! messages. Pure code; the golden-byte tests below need no kernel.

use crate::attr::{
    cmd, cmd_attr, daemon_attr, daemon_state, dest_attr, fwd, info_attr, stats_attr, svc_attr,
    svc_flags, tun_type, IFNAME_MAXLEN, IPVS_GENL_VERSION, PENAME_MAXLEN, SCHEDNAME_MAXLEN,
};
use crate::genl::{self, GenlHeader};
use crate::netlink::{
    attrs, Attr, DecodeError, MessageWriter, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST,
};
use crate::types::*;
use bytes::BytesMut;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// A change to the kernel's IPVS state. Each is one netlink message that the
/// kernel acknowledges, so many can be batched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    NewService(Service),
    SetService(Service),
    DelService(ServiceKey),
    NewDest {
        service: ServiceKey,
        dest: Dest,
    },
    SetDest {
        service: ServiceKey,
        dest: Dest,
    },
    DelDest {
        service: ServiceKey,
        addr: SocketAddr,
    },
    /// Zero the counters of one service, or of everything.
    Zero(Option<ServiceKey>),
    /// Remove every service and destination.
    Flush,
    SetTimeouts(Timeouts),
    NewDaemon(Daemon),
    DelDaemon(DaemonRole),
}

impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Request::NewService(s) => write!(f, "add service {}", s.key),
            Request::SetService(s) => write!(f, "edit service {}", s.key),
            Request::DelService(k) => write!(f, "delete service {k}"),
            Request::NewDest { service, dest } => {
                write!(f, "add destination {} to {service}", dest.addr)
            }
            Request::SetDest { service, dest } => {
                write!(f, "edit destination {} of {service}", dest.addr)
            }
            Request::DelDest { service, addr } => {
                write!(f, "delete destination {addr} from {service}")
            }
            Request::Zero(Some(k)) => write!(f, "zero counters of {k}"),
            Request::Zero(None) => f.write_str("zero all counters"),
            Request::Flush => f.write_str("flush"),
            Request::SetTimeouts(_) => f.write_str("set timeouts"),
            Request::NewDaemon(d) => write!(f, "start {} sync daemon", d.role.name()),
            Request::DelDaemon(r) => write!(f, "stop {} sync daemon", r.name()),
        }
    }
}

/// A request that the kernel would reject (or misread), caught before sending.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidRequest {
    #[error("scheduler name '{0}' must be 1 to 15 bytes")]
    SchedulerName(String),
    #[error("persistence engine name '{0}' must be 1 to 15 bytes")]
    PeName(String),
    #[error("interface name '{0}' must be 1 to 15 bytes")]
    IfName(String),
    #[error("netmask family differs from the service {0}")]
    NetmaskFamily(ServiceKey),
    #[error("IPv6 persistence prefix {0} is not in 1..=128")]
    Prefix(u8),
    #[error(
        "destination {dest} of {service}: a different address family is allowed only for tunneling"
    )]
    DestFamily {
        service: ServiceKey,
        dest: SocketAddr,
    },
    #[error("weight {0} is larger than {max}", max = i32::MAX)]
    Weight(u32),
    #[error("GUE tunnel of {0} needs a non-zero --tun-port")]
    GuePort(SocketAddr),
    #[error("fwmark 0 is not a valid firewall mark")]
    ZeroFwmark,
}

fn check_name(s: &str, max: usize) -> bool {
    !s.is_empty() && s.len() < max && !s.contains('\0')
}

impl Request {
    /// Checks what can be checked without the kernel.
    pub fn validate(&self) -> Result<(), InvalidRequest> {
        match self {
            Request::NewService(s) | Request::SetService(s) => {
                check_key(&s.key)?;
                if !check_name(&s.scheduler, SCHEDNAME_MAXLEN) {
                    return Err(InvalidRequest::SchedulerName(s.scheduler.clone()));
                }
                if let Some(pe) = &s.pe_name {
                    if !check_name(pe, PENAME_MAXLEN) {
                        return Err(InvalidRequest::PeName(pe.clone()));
                    }
                }
                if let Some(p) = &s.persistence {
                    if p.netmask.family() != s.key.family() {
                        return Err(InvalidRequest::NetmaskFamily(s.key));
                    }
                    if let Netmask::V6(len) = p.netmask {
                        if !(1..=128).contains(&len) {
                            return Err(InvalidRequest::Prefix(len));
                        }
                    }
                }
                Ok(())
            }
            Request::NewDest { service, dest } | Request::SetDest { service, dest } => {
                check_key(service)?;
                if Family::of(&dest.addr.ip()) != service.family()
                    && !matches!(dest.forward, Forward::Tunnel(_))
                {
                    return Err(InvalidRequest::DestFamily {
                        service: *service,
                        dest: dest.addr,
                    });
                }
                if dest.weight > i32::MAX as u32 {
                    return Err(InvalidRequest::Weight(dest.weight));
                }
                if let Forward::Tunnel(Tunnel::Gue { port: 0, .. }) = dest.forward {
                    return Err(InvalidRequest::GuePort(dest.addr));
                }
                Ok(())
            }
            Request::DelService(k) | Request::DelDest { service: k, .. } => check_key(k),
            Request::Zero(Some(k)) => check_key(k),
            Request::NewDaemon(d) => {
                if !check_name(&d.ifname, IFNAME_MAXLEN) {
                    return Err(InvalidRequest::IfName(d.ifname.clone()));
                }
                Ok(())
            }
            Request::Zero(None)
            | Request::Flush
            | Request::SetTimeouts(_)
            | Request::DelDaemon(_) => Ok(()),
        }
    }

    pub fn command(&self) -> u8 {
        match self {
            Request::NewService(_) => cmd::NEW_SERVICE,
            Request::SetService(_) => cmd::SET_SERVICE,
            Request::DelService(_) => cmd::DEL_SERVICE,
            Request::NewDest { .. } => cmd::NEW_DEST,
            Request::SetDest { .. } => cmd::SET_DEST,
            Request::DelDest { .. } => cmd::DEL_DEST,
            Request::Zero(_) => cmd::ZERO,
            Request::Flush => cmd::FLUSH,
            Request::SetTimeouts(_) => cmd::SET_CONFIG,
            Request::NewDaemon(_) => cmd::NEW_DAEMON,
            Request::DelDaemon(_) => cmd::DEL_DAEMON,
        }
    }

    /// Appends this request (with NLM_F_ACK) to `buf`; returns its size.
    /// Call [`Request::validate`] first: encoding does not re-check.
    pub fn encode(&self, buf: &mut BytesMut, family: u16, seq: u32) -> usize {
        let mut w = genl::begin(
            buf,
            family,
            self.command(),
            IPVS_GENL_VERSION,
            NLM_F_REQUEST | NLM_F_ACK,
            seq,
        );
        match self {
            Request::NewService(s) | Request::SetService(s) => {
                w.nested(cmd_attr::SERVICE, |w| put_service(w, s))
            }
            Request::DelService(k) | Request::Zero(Some(k)) => {
                w.nested(cmd_attr::SERVICE, |w| put_service_key(w, k))
            }
            Request::NewDest { service, dest } | Request::SetDest { service, dest } => {
                w.nested(cmd_attr::SERVICE, |w| put_service_key(w, service));
                w.nested(cmd_attr::DEST, |w| put_dest(w, dest));
            }
            Request::DelDest { service, addr } => {
                w.nested(cmd_attr::SERVICE, |w| put_service_key(w, service));
                w.nested(cmd_attr::DEST, |w| {
                    w.put_inet_addr(dest_attr::ADDR, addr.ip());
                    w.put_be16(dest_attr::PORT, addr.port());
                    w.put_u16(dest_attr::ADDR_FAMILY, Family::of(&addr.ip()).af());
                });
            }
            Request::Zero(None) | Request::Flush => {}
            Request::SetTimeouts(t) => {
                w.put_u32(cmd_attr::TIMEOUT_TCP, t.tcp);
                w.put_u32(cmd_attr::TIMEOUT_TCP_FIN, t.tcp_fin);
                w.put_u32(cmd_attr::TIMEOUT_UDP, t.udp);
            }
            Request::NewDaemon(d) => w.nested(cmd_attr::DAEMON, |w| put_daemon(w, d)),
            Request::DelDaemon(role) => w.nested(cmd_attr::DAEMON, |w| {
                w.put_u32(daemon_attr::STATE, role_state(*role))
            }),
        }
        w.finish()
    }
}

fn check_key(k: &ServiceKey) -> Result<(), InvalidRequest> {
    match k {
        ServiceKey::Fwmark { mark: 0, .. } => Err(InvalidRequest::ZeroFwmark),
        _ => Ok(()),
    }
}

fn role_state(role: DaemonRole) -> u32 {
    match role {
        DaemonRole::Master => daemon_state::MASTER,
        DaemonRole::Backup => daemon_state::BACKUP,
    }
}

fn put_service_key(w: &mut MessageWriter<'_>, k: &ServiceKey) {
    w.put_u16(svc_attr::AF, k.family().af());
    match k {
        ServiceKey::Fwmark { mark, .. } => w.put_u32(svc_attr::FWMARK, *mark),
        ServiceKey::Inet { protocol, addr } => {
            w.put_u16(svc_attr::PROTOCOL, protocol.number());
            w.put_inet_addr(svc_attr::ADDR, addr.ip());
            w.put_be16(svc_attr::PORT, addr.port());
        }
    }
}

fn put_service(w: &mut MessageWriter<'_>, s: &Service) {
    put_service_key(w, &s.key);
    w.put_str(svc_attr::SCHED_NAME, &s.scheduler);
    if let Some(pe) = &s.pe_name {
        w.put_str(svc_attr::PE_NAME, pe);
    }
    // struct ip_vs_flags { flags, mask }: the mask makes SET replace every
    // user-settable bit, so an edit is exact.
    let mut flags = [0u8; 8];
    flags[..4].copy_from_slice(&s.kernel_flags().to_ne_bytes());
    flags[4..].copy_from_slice(&svc_flags::USER_MASK.to_ne_bytes());
    w.put_attr(svc_attr::FLAGS, &flags);
    let (timeout, netmask) = match &s.persistence {
        Some(p) => (p.timeout, p.netmask),
        None => (0, Netmask::host(s.key.family())),
    };
    w.put_u32(svc_attr::TIMEOUT, timeout);
    w.put_attr(svc_attr::NETMASK, &netmask.raw());
}

fn put_dest(w: &mut MessageWriter<'_>, d: &Dest) {
    w.put_inet_addr(dest_attr::ADDR, d.addr.ip());
    w.put_be16(dest_attr::PORT, d.addr.port());
    w.put_u32(dest_attr::FWD_METHOD, d.forward.method());
    w.put_u32(dest_attr::WEIGHT, d.weight);
    w.put_u32(dest_attr::U_THRESH, d.upper_threshold);
    w.put_u32(dest_attr::L_THRESH, d.lower_threshold);
    w.put_u16(dest_attr::ADDR_FAMILY, Family::of(&d.addr.ip()).af());
    if let Forward::Tunnel(t) = d.forward {
        let (ty, port, csum) = match t {
            Tunnel::Ipip => (tun_type::IPIP, 0, TunnelCsum::None),
            Tunnel::Gue { port, csum } => (tun_type::GUE, port, csum),
            Tunnel::Gre { csum } => (tun_type::GRE, 0, csum),
        };
        w.put_u8(dest_attr::TUN_TYPE, ty);
        w.put_be16(dest_attr::TUN_PORT, port);
        w.put_u16(dest_attr::TUN_FLAGS, csum.to_kernel());
    }
}

fn put_daemon(w: &mut MessageWriter<'_>, d: &Daemon) {
    w.put_u32(daemon_attr::STATE, role_state(d.role));
    w.put_str(daemon_attr::MCAST_IFN, &d.ifname);
    w.put_u32(daemon_attr::SYNC_ID, d.sync_id);
    if d.sync_maxlen != 0 {
        w.put_u16(daemon_attr::SYNC_MAXLEN, d.sync_maxlen);
    }
    match d.mcast_group {
        Some(IpAddr::V4(a)) => w.put_attr(daemon_attr::MCAST_GROUP, &a.octets()),
        Some(IpAddr::V6(a)) => w.put_attr(daemon_attr::MCAST_GROUP6, &a.octets()),
        None => {}
    }
    if d.mcast_port != 0 {
        w.put_u16(daemon_attr::MCAST_PORT, d.mcast_port);
    }
    if d.mcast_ttl != 0 {
        w.put_u8(daemon_attr::MCAST_TTL, d.mcast_ttl);
    }
}

/// A read of kernel state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Query {
    Info,
    Config,
    Service(ServiceKey),
    /// Dump of all services.
    Services,
    /// Dump of one service's destinations.
    Dests(ServiceKey),
    /// Dump of the running sync daemons.
    Daemons,
}

impl Query {
    pub fn is_dump(&self) -> bool {
        matches!(self, Query::Services | Query::Dests(_) | Query::Daemons)
    }

    /// Appends the query to `buf`. Single-reply queries carry NLM_F_ACK so the
    /// reply is followed by an ACK; dumps end with NLMSG_DONE.
    pub fn encode(&self, buf: &mut BytesMut, family: u16, seq: u32) -> usize {
        let (command, flags) = match self {
            Query::Info => (cmd::GET_INFO, NLM_F_REQUEST | NLM_F_ACK),
            Query::Config => (cmd::GET_CONFIG, NLM_F_REQUEST | NLM_F_ACK),
            Query::Service(_) => (cmd::GET_SERVICE, NLM_F_REQUEST | NLM_F_ACK),
            Query::Services => (cmd::GET_SERVICE, NLM_F_REQUEST | NLM_F_DUMP),
            Query::Dests(_) => (cmd::GET_DEST, NLM_F_REQUEST | NLM_F_DUMP),
            Query::Daemons => (cmd::GET_DAEMON, NLM_F_REQUEST | NLM_F_DUMP),
        };
        let mut w = genl::begin(buf, family, command, IPVS_GENL_VERSION, flags, seq);
        if let Query::Service(k) | Query::Dests(k) = self {
            w.nested(cmd_attr::SERVICE, |w| put_service_key(w, k));
        }
        w.finish()
    }
}

/// The top-level attribute `ty` of a genl payload.
fn top_attr(payload: &[u8], ty: u16) -> Result<Option<Attr<'_>>, DecodeError> {
    let (_, body) = GenlHeader::split(payload)?;
    for a in attrs(body) {
        let a = a?;
        if a.ty == ty {
            return Ok(Some(a));
        }
    }
    Ok(None)
}

fn required<'a>(a: Option<Attr<'a>>, name: &'static str) -> Result<Attr<'a>, DecodeError> {
    a.ok_or(DecodeError::MissingAttr(name))
}

/// Decodes a service message (reply to GET_SERVICE, or one dump entry).
pub fn decode_service_msg(payload: &[u8]) -> Result<ServiceEntry, DecodeError> {
    let a = required(
        top_attr(payload, cmd_attr::SERVICE)?,
        "IPVS_CMD_ATTR_SERVICE",
    )?;
    decode_service(a.payload)
}

/// Decodes the nested `IPVS_CMD_ATTR_SERVICE`.
pub fn decode_service(nested: &[u8]) -> Result<ServiceEntry, DecodeError> {
    let mut af = None;
    let mut protocol = None;
    let mut addr = None;
    let mut port = None;
    let mut fwmark = None;
    let mut sched = None;
    let mut flags = None;
    let mut timeout = 0;
    let mut netmask = None;
    let mut pe = None;
    let mut stats = None;
    let mut stats64 = None;
    for a in attrs(nested) {
        let a = a?;
        match a.ty {
            svc_attr::AF => af = Some(a.u16()?),
            svc_attr::PROTOCOL => protocol = Some(a.u16()?),
            svc_attr::ADDR => addr = Some(a),
            svc_attr::PORT => port = Some(a.be16()?),
            svc_attr::FWMARK => fwmark = Some(a.u32()?),
            svc_attr::SCHED_NAME => sched = Some(a.str()?.to_owned()),
            svc_attr::FLAGS => {
                let b: [u8; 8] = a.payload.try_into().map_err(|_| DecodeError::AttrLength {
                    ty: a.ty,
                    len: a.payload.len(),
                    expected: "8",
                })?;
                let f = u32::from_ne_bytes([b[0], b[1], b[2], b[3]]);
                let m = u32::from_ne_bytes([b[4], b[5], b[6], b[7]]);
                flags = Some(f & m);
            }
            svc_attr::TIMEOUT => timeout = a.u32()?,
            svc_attr::NETMASK => {
                let b: [u8; 4] = a.payload.try_into().map_err(|_| DecodeError::AttrLength {
                    ty: a.ty,
                    len: a.payload.len(),
                    expected: "4",
                })?;
                netmask = Some(b);
            }
            svc_attr::PE_NAME => {
                let s = a.str()?;
                if !s.is_empty() {
                    pe = Some(s.to_owned());
                }
            }
            svc_attr::STATS => stats = Some(decode_stats(a.payload)?),
            svc_attr::STATS64 => stats64 = Some(decode_stats(a.payload)?),
            _ => {}
        }
    }
    let af = af.ok_or(DecodeError::MissingAttr("IPVS_SVC_ATTR_AF"))?;
    let family = Family::from_af(af).ok_or(DecodeError::UnknownValue {
        what: "address family",
        value: af.into(),
    })?;
    let key = match fwmark {
        Some(mark) if mark != 0 => ServiceKey::Fwmark { family, mark },
        _ => {
            let p = protocol.ok_or(DecodeError::MissingAttr("IPVS_SVC_ATTR_PROTOCOL"))?;
            let protocol = Protocol::from_number(p).ok_or(DecodeError::UnknownValue {
                what: "protocol",
                value: p.into(),
            })?;
            let ip = addr
                .ok_or(DecodeError::MissingAttr("IPVS_SVC_ATTR_ADDR"))?
                .inet_addr(family == Family::V6)?;
            let port = port.ok_or(DecodeError::MissingAttr("IPVS_SVC_ATTR_PORT"))?;
            ServiceKey::Inet {
                protocol,
                addr: SocketAddr::new(ip, port),
            }
        }
    };
    let flags = flags.ok_or(DecodeError::MissingAttr("IPVS_SVC_ATTR_FLAGS"))?;
    let persistence = if flags & svc_flags::PERSISTENT != 0 {
        let raw = netmask.unwrap_or(Netmask::host(family).raw());
        let netmask = match family {
            Family::V4 => Netmask::V4(Ipv4Addr::from(raw)),
            Family::V6 => Netmask::V6(u32::from_ne_bytes(raw).min(255) as u8),
        };
        Some(Persistence { timeout, netmask })
    } else {
        None
    };
    let service = Service {
        key,
        scheduler: sched.ok_or(DecodeError::MissingAttr("IPVS_SVC_ATTR_SCHED_NAME"))?,
        persistence,
        one_packet: flags & svc_flags::ONEPACKET != 0,
        sched_flags: SchedFlags::from_kernel(flags),
        pe_name: pe,
    };
    Ok(ServiceEntry {
        service,
        stats: stats64.or(stats).unwrap_or_default(),
    })
}

/// Decodes a nested stats attribute; 32- and 64-bit fields both widen to u64.
pub fn decode_stats(nested: &[u8]) -> Result<Stats, DecodeError> {
    let mut s = Stats::default();
    for a in attrs(nested) {
        let a = a?;
        let v = match a.payload.len() {
            4 => u64::from(a.u32()?),
            8 => a.u64()?,
            _ => continue, // padding attributes
        };
        match a.ty {
            stats_attr::CONNS => s.conns = v,
            stats_attr::INPKTS => s.inpkts = v,
            stats_attr::OUTPKTS => s.outpkts = v,
            stats_attr::INBYTES => s.inbytes = v,
            stats_attr::OUTBYTES => s.outbytes = v,
            stats_attr::CPS => s.cps = v,
            stats_attr::INPPS => s.inpps = v,
            stats_attr::OUTPPS => s.outpps = v,
            stats_attr::INBPS => s.inbps = v,
            stats_attr::OUTBPS => s.outbps = v,
            _ => {}
        }
    }
    Ok(s)
}

/// Decodes one destination dump entry; `svc_family` is used when the kernel
/// does not say the destination's own family.
pub fn decode_dest_msg(payload: &[u8], svc_family: Family) -> Result<DestEntry, DecodeError> {
    let a = required(top_attr(payload, cmd_attr::DEST)?, "IPVS_CMD_ATTR_DEST")?;
    decode_dest(a.payload, svc_family)
}

pub fn decode_dest(nested: &[u8], svc_family: Family) -> Result<DestEntry, DecodeError> {
    let mut addr = None;
    let mut port = None;
    let mut method = None;
    let mut weight = 0;
    let mut uth = 0;
    let mut lth = 0;
    let mut active = 0;
    let mut inact = 0;
    let mut persist = 0;
    let mut af = None;
    let mut stats = None;
    let mut stats64 = None;
    let mut ttype = 0u8;
    let mut tport = 0u16;
    let mut tflags = 0u16;
    for a in attrs(nested) {
        let a = a?;
        match a.ty {
            dest_attr::ADDR => addr = Some(a),
            dest_attr::PORT => port = Some(a.be16()?),
            dest_attr::FWD_METHOD => method = Some(a.u32()?),
            dest_attr::WEIGHT => weight = a.u32()?,
            dest_attr::U_THRESH => uth = a.u32()?,
            dest_attr::L_THRESH => lth = a.u32()?,
            dest_attr::ACTIVE_CONNS => active = a.u32()?,
            dest_attr::INACT_CONNS => inact = a.u32()?,
            dest_attr::PERSIST_CONNS => persist = a.u32()?,
            dest_attr::ADDR_FAMILY => af = Some(a.u16()?),
            dest_attr::STATS => stats = Some(decode_stats(a.payload)?),
            dest_attr::STATS64 => stats64 = Some(decode_stats(a.payload)?),
            dest_attr::TUN_TYPE => ttype = a.u8()?,
            dest_attr::TUN_PORT => tport = a.be16()?,
            dest_attr::TUN_FLAGS => tflags = a.u16()?,
            _ => {}
        }
    }
    let family = match af {
        Some(af) => Family::from_af(af).ok_or(DecodeError::UnknownValue {
            what: "address family",
            value: af.into(),
        })?,
        None => svc_family,
    };
    let ip = addr
        .ok_or(DecodeError::MissingAttr("IPVS_DEST_ATTR_ADDR"))?
        .inet_addr(family == Family::V6)?;
    let port = port.ok_or(DecodeError::MissingAttr("IPVS_DEST_ATTR_PORT"))?;
    let method = method.ok_or(DecodeError::MissingAttr("IPVS_DEST_ATTR_FWD_METHOD"))?;
    let csum = || {
        TunnelCsum::from_kernel(tflags).ok_or(DecodeError::UnknownValue {
            what: "tunnel flags",
            value: tflags.into(),
        })
    };
    let forward = match method & fwd::MASK {
        fwd::MASQ => Forward::Masq,
        fwd::LOCALNODE => Forward::Local,
        fwd::DROUTE => Forward::Route,
        fwd::TUNNEL => Forward::Tunnel(match ttype {
            tun_type::IPIP => Tunnel::Ipip,
            tun_type::GUE => Tunnel::Gue {
                port: tport,
                csum: csum()?,
            },
            tun_type::GRE => Tunnel::Gre { csum: csum()? },
            other => {
                return Err(DecodeError::UnknownValue {
                    what: "tunnel type",
                    value: other.into(),
                })
            }
        }),
        other => {
            return Err(DecodeError::UnknownValue {
                what: "forwarding method",
                value: other,
            })
        }
    };
    Ok(DestEntry {
        dest: Dest {
            addr: SocketAddr::new(ip, port),
            forward,
            weight,
            upper_threshold: uth,
            lower_threshold: lth,
        },
        active_conns: active,
        inactive_conns: inact,
        persistent_conns: persist,
        stats: stats64.or(stats).unwrap_or_default(),
    })
}

/// Decodes the GET_INFO reply.
pub fn decode_info(payload: &[u8]) -> Result<Info, DecodeError> {
    let version = required(
        top_attr(payload, info_attr::VERSION)?,
        "IPVS_INFO_ATTR_VERSION",
    )?;
    let size = required(
        top_attr(payload, info_attr::CONN_TAB_SIZE)?,
        "IPVS_INFO_ATTR_CONN_TAB_SIZE",
    )?;
    Ok(Info {
        version: version.u32()?,
        conn_tab_size: size.u32()?,
    })
}

/// Decodes the GET_CONFIG reply.
pub fn decode_timeouts(payload: &[u8]) -> Result<Timeouts, DecodeError> {
    let get = |ty| -> Result<u32, DecodeError> {
        Ok(match top_attr(payload, ty)? {
            Some(a) => a.u32()?,
            None => 0,
        })
    };
    Ok(Timeouts {
        tcp: get(cmd_attr::TIMEOUT_TCP)?,
        tcp_fin: get(cmd_attr::TIMEOUT_TCP_FIN)?,
        udp: get(cmd_attr::TIMEOUT_UDP)?,
    })
}

/// Decodes one GET_DAEMON dump entry.
pub fn decode_daemon_msg(payload: &[u8]) -> Result<Daemon, DecodeError> {
    let nested = required(top_attr(payload, cmd_attr::DAEMON)?, "IPVS_CMD_ATTR_DAEMON")?;
    let mut state = None;
    let mut ifname = None;
    let mut sync_id = None;
    let mut d = Daemon::new(DaemonRole::Master, String::new(), 0);
    for a in attrs(nested.payload) {
        let a = a?;
        match a.ty {
            daemon_attr::STATE => state = Some(a.u32()?),
            daemon_attr::MCAST_IFN => ifname = Some(a.str()?.to_owned()),
            daemon_attr::SYNC_ID => sync_id = Some(a.u32()?),
            daemon_attr::SYNC_MAXLEN => d.sync_maxlen = a.u16()?,
            daemon_attr::MCAST_GROUP => d.mcast_group = Some(a.inet_addr(false)?),
            daemon_attr::MCAST_GROUP6 => {
                let b: [u8; 16] = a.payload.try_into().map_err(|_| DecodeError::AttrLength {
                    ty: a.ty,
                    len: a.payload.len(),
                    expected: "16",
                })?;
                d.mcast_group = Some(IpAddr::V6(Ipv6Addr::from(b)));
            }
            daemon_attr::MCAST_PORT => d.mcast_port = a.u16()?,
            daemon_attr::MCAST_TTL => d.mcast_ttl = a.u8()?,
            _ => {}
        }
    }
    let state = state.ok_or(DecodeError::MissingAttr("IPVS_DAEMON_ATTR_STATE"))?;
    d.role = if state & daemon_state::MASTER != 0 {
        DaemonRole::Master
    } else if state & daemon_state::BACKUP != 0 {
        DaemonRole::Backup
    } else {
        return Err(DecodeError::UnknownValue {
            what: "daemon state",
            value: state,
        });
    };
    d.ifname = ifname.ok_or(DecodeError::MissingAttr("IPVS_DAEMON_ATTR_MCAST_IFN"))?;
    d.sync_id = sync_id.ok_or(DecodeError::MissingAttr("IPVS_DAEMON_ATTR_SYNC_ID"))?;
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlink::{messages, NLA_F_NESTED};

    fn nla(ty: u16, payload: &[u8]) -> Vec<u8> {
        let len = 4 + payload.len();
        let mut v = Vec::new();
        v.extend_from_slice(&(len as u16).to_ne_bytes());
        v.extend_from_slice(&ty.to_ne_bytes());
        v.extend_from_slice(payload);
        v.resize(crate::netlink::align(len), 0);
        v
    }

    fn nest(ty: u16, parts: &[Vec<u8>]) -> Vec<u8> {
        let body = parts.concat();
        let mut v = Vec::new();
        v.extend_from_slice(&((4 + body.len()) as u16).to_ne_bytes());
        v.extend_from_slice(&(ty | NLA_F_NESTED).to_ne_bytes());
        v.extend_from_slice(&body);
        v
    }

    fn msg(ty: u16, flags: u16, seq: u32, cmd: u8, body: &[u8]) -> Vec<u8> {
        let len = 16 + 4 + body.len();
        let mut v = Vec::new();
        v.extend_from_slice(&(len as u32).to_ne_bytes());
        v.extend_from_slice(&ty.to_ne_bytes());
        v.extend_from_slice(&flags.to_ne_bytes());
        v.extend_from_slice(&seq.to_ne_bytes());
        v.extend_from_slice(&0u32.to_ne_bytes());
        v.extend_from_slice(&[cmd, 1, 0, 0]);
        v.extend_from_slice(body);
        v
    }

    fn addr16(ip: [u8; 4]) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[..4].copy_from_slice(&ip);
        b
    }

    #[test]
    fn new_service_golden_bytes() {
        let mut s = Service::new(ServiceKey::tcp("192.0.2.1:80".parse().unwrap()), "wlc");
        s.persistence = Some(Persistence {
            timeout: 300,
            netmask: Netmask::V4(Ipv4Addr::new(255, 255, 255, 0)),
        });
        let mut buf = BytesMut::new();
        Request::NewService(s).encode(&mut buf, 0x22, 9);
        let mut flags = Vec::new();
        flags.extend_from_slice(&1u32.to_ne_bytes());
        flags.extend_from_slice(&0x3du32.to_ne_bytes());
        let body = nest(
            1,
            &[
                nla(1, &2u16.to_ne_bytes()),
                nla(2, &6u16.to_ne_bytes()),
                nla(3, &addr16([192, 0, 2, 1])),
                nla(4, &80u16.to_be_bytes()),
                nla(6, b"wlc\0"),
                nla(7, &flags),
                nla(8, &300u32.to_ne_bytes()),
                nla(9, &[255, 255, 255, 0]),
            ],
        );
        assert_eq!(&buf[..], &msg(0x22, 5, 9, 1, &body)[..]);
    }

    #[test]
    fn new_dest_golden_bytes_gue() {
        let service = ServiceKey::udp("192.0.2.1:53".parse().unwrap());
        let dest = Dest::new(
            "198.51.100.7:53".parse().unwrap(),
            Forward::Tunnel(Tunnel::Gue {
                port: 6080,
                csum: TunnelCsum::Csum,
            }),
            3,
        );
        let mut buf = BytesMut::new();
        Request::NewDest { service, dest }.encode(&mut buf, 0x22, 1);
        let body = [
            nest(
                1,
                &[
                    nla(1, &2u16.to_ne_bytes()),
                    nla(2, &17u16.to_ne_bytes()),
                    nla(3, &addr16([192, 0, 2, 1])),
                    nla(4, &53u16.to_be_bytes()),
                ],
            ),
            nest(
                2,
                &[
                    nla(1, &addr16([198, 51, 100, 7])),
                    nla(2, &53u16.to_be_bytes()),
                    nla(3, &2u32.to_ne_bytes()),
                    nla(4, &3u32.to_ne_bytes()),
                    nla(5, &0u32.to_ne_bytes()),
                    nla(6, &0u32.to_ne_bytes()),
                    nla(11, &2u16.to_ne_bytes()),
                    nla(13, &[1]),
                    nla(14, &6080u16.to_be_bytes()),
                    nla(15, &1u16.to_ne_bytes()),
                ],
            ),
        ]
        .concat();
        assert_eq!(&buf[..], &msg(0x22, 5, 1, 5, &body)[..]);
    }

    #[test]
    fn fwmark_v6_service_roundtrips_through_a_dump_entry() {
        let mut s = Service::new(
            ServiceKey::Fwmark {
                family: Family::V6,
                mark: 7,
            },
            "mh",
        );
        s.sched_flags = SchedFlags::FALLBACK.union(SchedFlags::PORT);
        s.persistence = Some(Persistence {
            timeout: 60,
            netmask: Netmask::V6(64),
        });
        s.pe_name = Some("sip".into());
        let mut buf = BytesMut::new();
        Request::NewService(s.clone()).encode(&mut buf, 0x22, 1);
        let m = messages(&buf).next().unwrap().unwrap();
        let e = decode_service_msg(m.payload).unwrap();
        assert_eq!(e.service, s);
    }

    #[test]
    fn service_dump_entry_with_stats64() {
        let mut flags = Vec::new();
        flags.extend_from_slice(&(2u32 | 4).to_ne_bytes()); // HASHED | ONEPACKET
        flags.extend_from_slice(&u32::MAX.to_ne_bytes());
        let mut v6 = [0u8; 16];
        v6[0] = 0x20;
        v6[1] = 0x01;
        v6[2] = 0x0d;
        v6[3] = 0xb8;
        v6[15] = 1;
        let body = nest(
            1,
            &[
                nla(1, &10u16.to_ne_bytes()),
                nla(2, &17u16.to_ne_bytes()),
                nla(3, &v6),
                nla(4, &53u16.to_be_bytes()),
                nla(6, b"rr\0"),
                nla(7, &flags),
                nla(8, &0u32.to_ne_bytes()),
                nla(9, &128u32.to_ne_bytes()),
                nest(
                    10,
                    &[nla(1, &5u32.to_ne_bytes()), nla(4, &9u64.to_ne_bytes())],
                ),
                nest(
                    12,
                    &[
                        nla(11, &[]),
                        nla(1, &(1u64 << 40).to_ne_bytes()),
                        nla(10, &77u64.to_ne_bytes()),
                    ],
                ),
            ],
        );
        let m = msg(0x22, 2, 3, 1, &body);
        let e = decode_service_msg(&m[16..]).unwrap();
        assert_eq!(
            e.service.key,
            ServiceKey::udp("[2001:db8::1]:53".parse().unwrap())
        );
        assert!(e.service.one_packet);
        assert_eq!(e.service.persistence, None);
        assert_eq!(e.stats.conns, 1 << 40);
        assert_eq!(e.stats.outbps, 77);
    }

    #[test]
    fn dest_entry_mixed_family_tunnel() {
        let mut v6 = [0u8; 16];
        v6[0] = 0x20;
        v6[1] = 0x01;
        v6[15] = 9;
        let body = nest(
            2,
            &[
                nla(1, &v6),
                nla(2, &80u16.to_be_bytes()),
                nla(3, &2u32.to_ne_bytes()),
                nla(4, &5u32.to_ne_bytes()),
                nla(5, &0u32.to_ne_bytes()),
                nla(6, &0u32.to_ne_bytes()),
                nla(7, &3u32.to_ne_bytes()),
                nla(8, &4u32.to_ne_bytes()),
                nla(9, &1u32.to_ne_bytes()),
                nla(11, &10u16.to_ne_bytes()),
                nla(13, &[2]),
                nla(15, &2u16.to_ne_bytes()),
            ],
        );
        let m = msg(0x22, 2, 3, 5, &body);
        let e = decode_dest_msg(&m[16..], Family::V4).unwrap();
        assert_eq!(
            e.dest.forward,
            Forward::Tunnel(Tunnel::Gre {
                csum: TunnelCsum::RemoteCsum
            })
        );
        assert!(e.dest.addr.is_ipv6());
        assert_eq!(
            (e.active_conns, e.inactive_conns, e.persistent_conns),
            (3, 4, 1)
        );
    }

    #[test]
    fn info_timeouts_daemon() {
        let info = msg(
            0x22,
            0,
            1,
            cmd::SET_INFO,
            &[
                nla(1, &0x010201u32.to_ne_bytes()),
                nla(2, &4096u32.to_ne_bytes()),
            ]
            .concat(),
        );
        let i = decode_info(&info[16..]).unwrap();
        assert_eq!(i.version_triple(), (1, 2, 1));
        assert_eq!(i.conn_tab_size, 4096);

        let cfg = msg(
            0x22,
            0,
            1,
            cmd::SET_CONFIG,
            &[
                nla(4, &900u32.to_ne_bytes()),
                nla(5, &120u32.to_ne_bytes()),
                nla(6, &300u32.to_ne_bytes()),
            ]
            .concat(),
        );
        assert_eq!(
            decode_timeouts(&cfg[16..]).unwrap(),
            Timeouts {
                tcp: 900,
                tcp_fin: 120,
                udp: 300
            }
        );

        let mut d = Daemon::new(DaemonRole::Backup, "eth0", 7);
        d.mcast_group = Some("ff02::81".parse().unwrap());
        d.mcast_port = 8848;
        d.mcast_ttl = 2;
        d.sync_maxlen = 1400;
        let mut buf = BytesMut::new();
        Request::NewDaemon(d.clone()).encode(&mut buf, 0x22, 1);
        let m = messages(&buf).next().unwrap().unwrap();
        assert_eq!(decode_daemon_msg(m.payload).unwrap(), d);
    }

    #[test]
    fn validation_catches_what_the_kernel_would_reject() {
        let key = ServiceKey::tcp("192.0.2.1:80".parse().unwrap());
        let s = Service::new(key, "a-very-long-scheduler-name");
        assert!(matches!(
            Request::NewService(s).validate(),
            Err(InvalidRequest::SchedulerName(_))
        ));
        let d = Dest::new("[2001:db8::1]:80".parse().unwrap(), Forward::Masq, 1);
        assert!(matches!(
            Request::NewDest {
                service: key,
                dest: d
            }
            .validate(),
            Err(InvalidRequest::DestFamily { .. })
        ));
        let d = Dest::new(
            "[2001:db8::1]:80".parse().unwrap(),
            Forward::Tunnel(Tunnel::Ipip),
            1,
        );
        assert!(Request::NewDest {
            service: key,
            dest: d
        }
        .validate()
        .is_ok());
    }
}
