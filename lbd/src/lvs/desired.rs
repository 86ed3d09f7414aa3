//! From the configuration model to IPVS values: one [`VsSpec`] per `virtual_server` block,
//! with groups expanded, keepalived's defaults applied and every address family checked, so
//! that the health state machine never has to look at the configuration again.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use ipvs_sys::{
    Daemon, DaemonRole, Dest, Family, Forward, Netmask, Persistence, Protocol, SchedFlags, Service,
    ServiceKey, Table, Timeouts, Tunnel, TunnelCsum,
};

use super::names::{trio, Trio, VsName};
use crate::config::{
    self, Checker, CheckerKind, Config, Granularity, LbKind, TunnelChecksum, TunnelKind,
    VirtualServer, VsgMember,
};

/// keepalived's (and ipvsadm's) persistence timeout when none is given, in seconds.
pub const DEFAULT_PERSISTENCE_TIMEOUT: u32 = 360;

/// Why a configuration cannot be turned into an IPVS table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DesiredError {
    #[error("virtual_server group {0}: no virtual_server_group of that name")]
    UnknownGroup(String),
    #[error("VS {vs}: real server {rs} is not of the virtual server's address family")]
    FamilyMismatch { vs: String, rs: IpAddr },
    #[error("VS {vs}: tun_type gue needs tun_port")]
    GueWithoutPort { vs: String },
    #[error("VS {vs}: persistence_granularity {granularity} does not fit the address family")]
    Granularity { vs: String, granularity: String },
    #[error("VS {vs}: real server {rs} is listed twice")]
    DuplicateRealServer { vs: String, rs: SocketAddr },
    #[error("IPVS service {key} is defined by more than one virtual_server")]
    DuplicateService { key: ServiceKey },
    #[error("persistence_timeout {0} does not fit in 32 bits of seconds")]
    PersistenceTimeout(String),
}

/// What identifies a virtual server across reloads (keepalived's `vs_iseq`): its key as
/// written, plus the protocol (the same group may carry a TCP and a UDP virtual server).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VsId {
    pub key: VsKey,
    pub protocol: Protocol,
}

/// [`config::ServiceKey`] with an order, so ids can key maps.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VsKey {
    Inet(SocketAddr),
    Fwmark(u32),
    Group(String),
}

/// One checker of a real server: what the state machine needs (its alpha mode), and the
/// configuration it came from, so a reload can tell whether it changed.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckerSpec {
    /// Starts failed until its first success.
    pub alpha: bool,
    /// Shared by the identical checkers that follow one another in the file (the usual
    /// same `TCP_CHECK` on every real server): a copy each was 270 bytes per checker,
    /// 10 MB at 40,000. Its `origin` is then the first one's; nothing here reads it.
    pub config: Arc<Checker>,
}

impl CheckerSpec {
    /// Same target and options, wherever it sits in the file (keepalived compares checkers
    /// by what they check, not by position).
    pub fn same_check(&self, other: &CheckerSpec) -> bool {
        self.alpha == other.alpha
            && self.config.common == other.config.common
            && self.config.kind == other.config.kind
    }
}

/// A `real_server`, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct RsSpec {
    /// The destination with the configured weight.
    pub dest: Dest,
    pub name: Trio,
    /// `inhibit_on_failure`: weight 0 instead of removal when down.
    pub inhibit: bool,
    pub notify_up: Option<String>,
    pub notify_down: Option<String>,
    pub checkers: Vec<CheckerSpec>,
}

/// A `sorry_server`: added when the quorum is lost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SorrySpec {
    /// Weight 1, as keepalived gives it.
    pub dest: Dest,
    pub name: Trio,
    /// `sorry_server_inhibit`: kept in IPVS at weight 0 while not needed.
    pub inhibit: bool,
}

/// A `virtual_server` block, resolved to IPVS values.
#[derive(Debug, Clone, PartialEq)]
pub struct VsSpec {
    pub id: VsId,
    pub name: VsName,
    /// One service per IPVS key (several for a group), all with the same settings.
    pub services: Vec<Service>,
    pub real_servers: Vec<RsSpec>,
    pub sorry: Option<SorrySpec>,
    pub quorum: u32,
    pub hysteresis: u32,
    pub quorum_up: Option<String>,
    pub quorum_down: Option<String>,
    pub omega: bool,
}

impl VsSpec {
    /// The IPVS keys of this virtual server.
    pub fn keys(&self) -> impl Iterator<Item = ServiceKey> + '_ {
        self.services.iter().map(|s| s.key)
    }
}

/// The configured scheduler flag bits as IPVS's (`sh-fallback` is bit 1, `sh-port` bit 2,
/// the parser having already dropped `sh-*`/`mh-*` words given to another scheduler).
pub fn sched_flags(f: config::SchedulerFlags) -> SchedFlags {
    [
        (f.flag_1, SchedFlags::FLAG1),
        (f.flag_2, SchedFlags::FLAG2),
        (f.flag_3, SchedFlags::FLAG3),
    ]
    .into_iter()
    .filter(|(set, _)| *set)
    .fold(SchedFlags::NONE, |acc, (_, bit)| acc.union(bit))
}

/// Every virtual server of `cfg`, in configuration order.
pub fn specs(cfg: &Config) -> Result<Vec<VsSpec>, DesiredError> {
    let mut seen: BTreeSet<ServiceKey> = BTreeSet::new();
    let mut out = Vec::with_capacity(cfg.virtual_servers.len());
    let mut last = None;
    for vs in &cfg.virtual_servers {
        let spec = spec_sharing(cfg, vs, &mut last)?;
        for key in spec.keys() {
            if !seen.insert(key) {
                return Err(DesiredError::DuplicateService { key });
            }
        }
        out.push(spec);
    }
    Ok(out)
}

/// The table keepalived programs for `cfg` when every real server is healthy and the
/// quorum is met: what `ipvsadm -Ln` shows on a quiet day (an inhibited sorry server sits
/// there at weight 0).
pub fn healthy_table(cfg: &Config) -> Result<Table, DesiredError> {
    let mut t = Table::new();
    for spec in specs(cfg)? {
        for s in &spec.services {
            t.insert_service(s.clone());
            if let Some(sorry) = spec.sorry.as_ref().filter(|s| s.inhibit) {
                t.insert_dest(
                    s.key,
                    Dest {
                        weight: 0,
                        ..sorry.dest
                    },
                );
            }
            for rs in &spec.real_servers {
                t.insert_dest(s.key, rs.dest);
            }
        }
    }
    Ok(t)
}

/// `c` as an `Arc`: `last` itself when it checks the same thing the same way (its
/// location in the file aside), else a new one that becomes `last`.
fn shared(last: &mut Option<Arc<Checker>>, c: &Checker) -> Arc<Checker> {
    match last {
        Some(l) if l.common == c.common && l.kind == c.kind => Arc::clone(l),
        _ => Arc::clone(last.insert(Arc::new(c.clone()))),
    }
}

/// `lvs_timeouts`: `None` when nothing is set (the kernel's values stay). Unset fields are 0,
/// which IPVS reads as "unchanged"; sub-second values round up so they never become 0.
pub fn timeouts(t: &config::LvsTimeouts) -> Option<Timeouts> {
    if t.tcp.is_none() && t.tcpfin.is_none() && t.udp.is_none() {
        return None;
    }
    let secs = |d: Option<std::time::Duration>| {
        d.map_or(0, |d| {
            let s = d.as_secs() + u64::from(d.subsec_nanos() > 0);
            u32::try_from(s).unwrap_or(u32::MAX)
        })
    };
    Some(Timeouts {
        tcp: secs(t.tcp),
        tcp_fin: secs(t.tcpfin),
        udp: secs(t.udp),
    })
}

/// `lvs_sync_daemon INTERFACE ...` as the daemon to start in `role` (master while the VRRP
/// instance is master, backup otherwise). `default_id` is used when `id` is not given
/// (keepalived takes the VRID of the named instance).
pub fn sync_daemon(s: &config::LvsSyncDaemon, role: DaemonRole, default_id: u8) -> Daemon {
    let mut d = Daemon::new(
        role,
        s.interface.clone(),
        u32::from(s.sync_id.unwrap_or(default_id)),
    );
    d.sync_maxlen = s.maxlen.unwrap_or(0);
    d.mcast_port = s.port.unwrap_or(0);
    d.mcast_ttl = s.ttl.unwrap_or(0);
    d.mcast_group = s.group;
    d
}

/// One virtual server of `cfg`. It reads nothing of the configuration but `vs` and, for a
/// group, its `virtual_server_group`; what it cannot check alone is that no other virtual
/// server defines the same IPVS service ([`specs`] does).
pub fn spec(cfg: &Config, vs: &VirtualServer) -> Result<VsSpec, DesiredError> {
    spec_sharing(cfg, vs, &mut None)
}

/// [`spec`]; `last` is the checker shared last ([`CheckerSpec::config`]), carried from one
/// virtual server to the next.
fn spec_sharing(
    cfg: &Config,
    vs: &VirtualServer,
    last: &mut Option<Arc<Checker>>,
) -> Result<VsSpec, DesiredError> {
    // No `protocol`: keepalived before 2.2 used TCP, 2.2.7 uses UDP. The field guides' configs
    // omit it and expect `TCP VIP:80` in `ipvsadm -Ln` (their HTTP checks only make sense
    // then), so lbd keeps TCP and the config layer warns that 2.2.7 would have chosen UDP.
    let protocol = match vs.protocol {
        None | Some(config::Protocol::Tcp) => Protocol::Tcp,
        Some(config::Protocol::Udp) => Protocol::Udp,
        Some(config::Protocol::Sctp) => Protocol::Sctp,
    };
    // A fwmark carries no address: its family is that of the real servers (IPv4 if none).
    let rs_family = vs
        .real_servers
        .first()
        .map(|rs| Family::of(&rs.addr))
        .unwrap_or(Family::V4);
    let (id_key, name, keys) = match &vs.key {
        config::ServiceKey::Inet { addr, port } => {
            let sa = SocketAddr::new(*addr, *port);
            let key = ServiceKey::Inet { protocol, addr: sa };
            (
                VsKey::Inet(sa),
                VsName::Inet(trio(*addr, *port, protocol)),
                vec![key],
            )
        }
        config::ServiceKey::Fwmark(mark) => (
            VsKey::Fwmark(*mark),
            VsName::Fwmark(*mark),
            vec![ServiceKey::Fwmark {
                family: rs_family,
                mark: *mark,
            }],
        ),
        config::ServiceKey::Group(g) => {
            let group = cfg
                .virtual_server_group(g)
                .ok_or_else(|| DesiredError::UnknownGroup(g.clone()))?;
            let mut keys = Vec::new();
            for m in &group.members {
                expand(m, protocol, rs_family, &mut keys);
            }
            (VsKey::Group(g.clone()), VsName::Group(g.clone()), keys)
        }
    };

    let persistence = match vs.persistence_timeout {
        None => None,
        Some(t) => {
            let timeout = u32::try_from(t.as_secs())
                .map_err(|_| DesiredError::PersistenceTimeout(format!("{t:?}")))?;
            Some(timeout)
        }
    };
    // A port-0 service only makes sense when persistent: keepalived makes it so (with its
    // default timeout) rather than refuse the configuration.
    let portless = keys
        .iter()
        .any(|k| matches!(k, ServiceKey::Inet { addr, .. } if addr.port() == 0));
    let persistence = persistence.or(portless.then_some(DEFAULT_PERSISTENCE_TIMEOUT));
    let mut services = Vec::with_capacity(keys.len());
    for key in keys {
        let mut s = Service::new(key, vs.lb_algo.clone());
        s.one_packet = vs.one_packet_scheduling;
        s.sched_flags = sched_flags(vs.sched_flags);
        s.pe_name = vs.persistence_engine.clone();
        if let Some(timeout) = persistence {
            let netmask = match vs.persistence_granularity {
                None => Netmask::host(key.family()),
                Some(g) => {
                    granularity(g, key.family()).ok_or_else(|| DesiredError::Granularity {
                        vs: name.to_string(),
                        granularity: match g {
                            Granularity::Netmask(m) => m.to_string(),
                            Granularity::PrefixLen(p) => p.to_string(),
                        },
                    })?
                }
            };
            s.persistence = Some(Persistence { timeout, netmask });
        }
        services.push(s);
    }

    let families: Vec<Family> = {
        let mut f: Vec<Family> = services.iter().map(|s| s.key.family()).collect();
        f.sort();
        f.dedup();
        f
    };
    let default_port = match &vs.key {
        config::ServiceKey::Inet { port, .. } => *port,
        _ => 0,
    };
    let mut real_servers = Vec::with_capacity(vs.real_servers.len());
    for rs in &vs.real_servers {
        let forward = forward(rs.lb_kind.unwrap_or(vs.lb_kind), &name)?;
        let fam = Family::of(&rs.addr);
        // IPVS accepts a destination of the other family only through a tunnel.
        if !matches!(forward, Forward::Tunnel(_)) && families.iter().any(|f| *f != fam) {
            return Err(DesiredError::FamilyMismatch {
                vs: name.to_string(),
                rs: rs.addr,
            });
        }
        let port = rs.port.unwrap_or(default_port);
        let addr = SocketAddr::new(rs.addr, port);
        // IPVS holds one destination per address: a second one would silently replace the
        // first, and reloads could not tell them apart.
        if real_servers.iter().any(|r: &RsSpec| r.dest.addr == addr) {
            return Err(DesiredError::DuplicateRealServer {
                vs: name.to_string(),
                rs: addr,
            });
        }
        let mut dest = Dest::new(addr, forward, rs.weight);
        dest.upper_threshold = rs.upper_threshold.unwrap_or(0);
        dest.lower_threshold = rs.lower_threshold.unwrap_or(0);
        let checkers = rs
            .checkers
            .iter()
            .map(|c| CheckerSpec {
                // keepalived clears alpha on a FILE_CHECK: its file is read before IPVS is
                // programmed, so its state is known from the start.
                alpha: !matches!(c.kind, CheckerKind::File(_))
                    && c.common.alpha.unwrap_or(vs.alpha),
                config: shared(last, c),
            })
            .collect();
        real_servers.push(RsSpec {
            dest,
            name: trio(rs.addr, port, protocol),
            inhibit: rs.inhibit_on_failure.unwrap_or(vs.inhibit_on_failure),
            notify_up: rs.notify_up.clone(),
            notify_down: rs.notify_down.clone(),
            checkers,
        });
    }
    let sorry = match &vs.sorry_server {
        None => None,
        Some(s) => {
            let addr = SocketAddr::new(s.addr, s.port);
            Some(SorrySpec {
                dest: Dest::new(addr, forward(vs.lb_kind, &name)?, 1),
                name: trio(s.addr, s.port, protocol),
                inhibit: vs.sorry_server_inhibit,
            })
        }
    };
    Ok(VsSpec {
        id: VsId {
            key: id_key,
            protocol,
        },
        name,
        services,
        real_servers,
        sorry,
        quorum: vs.quorum,
        hysteresis: vs.hysteresis,
        quorum_up: vs.quorum_up.clone(),
        quorum_down: vs.quorum_down.clone(),
        omega: vs.omega,
    })
}

/// One `virtual_server_group` line as IPVS keys: `IP-LAST PORT` is one service per address.
fn expand(m: &VsgMember, protocol: Protocol, fwmark_family: Family, out: &mut Vec<ServiceKey>) {
    match m {
        VsgMember::Fwmark(mark) => out.push(ServiceKey::Fwmark {
            family: fwmark_family,
            mark: *mark,
        }),
        VsgMember::Range { first, last, port } => match (first, last) {
            (IpAddr::V4(a), IpAddr::V4(b)) => {
                let o = a.octets();
                for x in o[3]..=b.octets()[3] {
                    let ip = Ipv4Addr::new(o[0], o[1], o[2], x);
                    out.push(ServiceKey::Inet {
                        protocol,
                        addr: SocketAddr::new(ip.into(), *port),
                    });
                }
            }
            (IpAddr::V6(a), IpAddr::V6(b)) => {
                let s = a.segments();
                for x in s[7]..=b.segments()[7] {
                    let mut seg = s;
                    seg[7] = x;
                    out.push(ServiceKey::Inet {
                        protocol,
                        addr: SocketAddr::new(Ipv6Addr::from(seg).into(), *port),
                    });
                }
            }
            // The parser builds both ends from one address; a mixed pair cannot occur, and
            // would name no address if it did.
            _ => {}
        },
    }
}

/// `persistence_granularity` in the service's family: an IPv4 mask (or a prefix up to 32)
/// for IPv4, a prefix length for IPv6.
fn granularity(g: Granularity, family: Family) -> Option<Netmask> {
    match (g, family) {
        (Granularity::Netmask(m), Family::V4) => Some(Netmask::V4(m)),
        (Granularity::PrefixLen(p), Family::V4) if p <= 32 => {
            let bits = u32::MAX.checked_shl(32 - u32::from(p)).unwrap_or(0);
            Some(Netmask::V4(Ipv4Addr::from(bits)))
        }
        (Granularity::PrefixLen(p), Family::V6) if p <= 128 => Some(Netmask::V6(p)),
        _ => None,
    }
}

fn forward(kind: LbKind, vs: &VsName) -> Result<Forward, DesiredError> {
    Ok(match kind {
        LbKind::Nat => Forward::Masq,
        LbKind::Dr => Forward::Route,
        LbKind::Tun(t) => {
            let csum = match t.flags {
                None | Some(TunnelChecksum::NoEncap) => TunnelCsum::None,
                Some(TunnelChecksum::Csum) => TunnelCsum::Csum,
                Some(TunnelChecksum::RemCsum) => TunnelCsum::RemoteCsum,
            };
            Forward::Tunnel(match t.kind {
                TunnelKind::Ipip => Tunnel::Ipip,
                TunnelKind::Gre => Tunnel::Gre { csum },
                TunnelKind::Gue => Tunnel::Gue {
                    port: t
                        .port
                        .ok_or_else(|| DesiredError::GueWithoutPort { vs: vs.to_string() })?,
                    csum,
                },
            })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_str;

    fn cfg(text: &str) -> Config {
        match load_str("test.conf", text) {
            Ok(l) => l.config,
            Err(e) => panic!("{e}: {e:?}"),
        }
    }

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn identical_checkers_in_a_row_share_their_configuration() {
        let rs = |ip: &str, check: &str| format!(" real_server {ip} 80 {{\n {check}\n }}\n");
        let tcp = "TCP_CHECK {\n connect_timeout 3\n }";
        let text = format!(
            "virtual_server 192.0.2.100 80 {{\n{}{}{}}}\nvirtual_server 192.0.2.101 80 {{\n{}}}\n",
            rs("192.0.2.10", tcp),
            rs("192.0.2.11", tcp),
            rs("192.0.2.12", "TCP_CHECK {\n connect_timeout 4\n }"),
            rs("192.0.2.10", tcp),
        );
        let specs = specs(&cfg(&text)).unwrap();
        let c = |v: usize, r: usize| &specs[v].real_servers[r].checkers[0].config;
        assert!(Arc::ptr_eq(c(0, 0), c(0, 1)));
        assert!(!Arc::ptr_eq(c(0, 1), c(0, 2)));
        assert_eq!(
            c(0, 2).common.connect_timeout,
            Some(std::time::Duration::from_secs(4))
        );
        // The chain restarts after a different checker, across virtual servers too.
        assert!(!Arc::ptr_eq(c(0, 0), c(1, 0)));
        assert_eq!(
            c(1, 0).common.connect_timeout,
            Some(std::time::Duration::from_secs(3))
        );
    }

    #[test]
    fn ip_service_with_defaults() {
        let c = cfg("virtual_server 192.0.2.100 80 {\n real_server 192.0.2.10 80 {\n }\n}\n");
        let t = healthy_table(&c).unwrap();
        let k = ServiceKey::tcp(sa("192.0.2.100:80"));
        let e = &t.services[&k];
        assert_eq!(e.service.scheduler, "wlc");
        assert_eq!(e.service.persistence, None);
        let d = e.dests[&sa("192.0.2.10:80")];
        assert_eq!(d.forward, Forward::Masq);
        assert_eq!(d.weight, 1);
    }

    #[test]
    fn persistence_granularity_and_dr() {
        let c = cfg(
            "virtual_server 192.0.2.100 443 {\n lb_algo sh\n lb_kind DR\n protocol UDP\n \
             persistence_timeout\n persistence_granularity 255.255.255.0\n \
             real_server 192.0.2.11 443 {\n weight 3\n }\n}\n",
        );
        let t = healthy_table(&c).unwrap();
        let e = &t.services[&ServiceKey::udp(sa("192.0.2.100:443"))];
        assert_eq!(
            e.service.persistence,
            Some(Persistence {
                timeout: 360,
                netmask: Netmask::V4(Ipv4Addr::new(255, 255, 255, 0))
            })
        );
        assert_eq!(e.service.scheduler, "sh");
        let d = e.dests[&sa("192.0.2.11:443")];
        assert_eq!((d.forward, d.weight), (Forward::Route, 3));
    }

    #[test]
    fn group_ranges_and_fwmarks_expand() {
        let c = cfg(
            "virtual_server_group web {\n 192.0.2.1-3 80\n 2001:db8::1-2 80\n fwmark 7\n}\n\
             virtual_server group web {\n lb_kind TUN\n real_server 198.51.100.1 80 {\n }\n}\n",
        );
        let specs = specs(&c).unwrap();
        let keys: Vec<ServiceKey> = specs[0].keys().collect();
        assert_eq!(keys.len(), 6);
        assert!(keys.contains(&ServiceKey::tcp(sa("192.0.2.3:80"))));
        assert!(keys.contains(&ServiceKey::tcp(sa("[2001:db8::2]:80"))));
        assert!(keys.contains(&ServiceKey::Fwmark {
            family: Family::V4,
            mark: 7
        }));
        assert_eq!(specs[0].name.to_string(), "[web]:0");
    }

    #[test]
    fn unknown_group_and_family_mismatch_are_errors() {
        let c = cfg("virtual_server 192.0.2.100 80 {\n real_server 2001:db8::1 80 {\n }\n}\n");
        assert!(matches!(
            specs(&c),
            Err(DesiredError::FamilyMismatch { .. })
        ));
        let mut c = cfg("virtual_server fwmark 3 {\n real_server 192.0.2.1 80 {\n }\n}\n");
        c.virtual_servers[0].key = config::ServiceKey::Group("nope".into());
        assert_eq!(specs(&c), Err(DesiredError::UnknownGroup("nope".into())));
    }

    #[test]
    fn tunnel_options_become_dest_forwarding() {
        let c = cfg("virtual_server 192.0.2.100 80 {\n lb_kind TUN\n tun_type gue\n tun_port 6080\n \
             tun_flags csum\n real_server 192.0.2.10 80 {\n }\n real_server 192.0.2.11 80 {\n lb_kind DR\n }\n}\n");
        let s = &specs(&c).unwrap()[0];
        assert_eq!(
            s.real_servers[0].dest.forward,
            Forward::Tunnel(Tunnel::Gue {
                port: 6080,
                csum: TunnelCsum::Csum
            })
        );
        assert_eq!(s.real_servers[1].dest.forward, Forward::Route);
    }

    #[test]
    fn keepalived_tunnel_options_after_tun() {
        let c = cfg("virtual_server 192.0.2.100 80 {\n protocol TCP\n lvs_method TUN type gue port 6080 csum\n \
             real_server 192.0.2.10 80 {\n }\n real_server 192.0.2.11 80 {\n lb_kind TUN type gre nocsum\n }\n \
             real_server 192.0.2.12 80 {\n lvs_method TUN\n }\n}\n");
        let s = &specs(&c).unwrap()[0];
        let fwd: Vec<Forward> = s.real_servers.iter().map(|r| r.dest.forward).collect();
        assert_eq!(
            fwd,
            [
                Forward::Tunnel(Tunnel::Gue {
                    port: 6080,
                    csum: TunnelCsum::Csum
                }),
                Forward::Tunnel(Tunnel::Gre {
                    csum: TunnelCsum::None
                }),
                Forward::Tunnel(Tunnel::Ipip),
            ]
        );
        for bad in [
            "lb_kind TUN type gue csum",
            "lb_kind TUN type ipip csum",
            "lb_kind TUN type gre remcsum",
            "lb_kind TUN type vxlan",
            "lb_kind TUN type gue port 0",
            "lb_kind TUN csum extra",
        ] {
            let text = format!("virtual_server 192.0.2.100 80 {{\n protocol TCP\n {bad}\n}}\n");
            assert!(load_str("t.conf", &text).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn duplicate_real_servers_are_refused() {
        let c = cfg(
            "virtual_server 192.0.2.100 80 {\n real_server 192.0.2.1 80 {\n }\n \
             real_server 192.0.2.1 {\n }\n}\n",
        );
        assert!(matches!(
            specs(&c),
            Err(DesiredError::DuplicateRealServer { .. })
        ));
    }

    #[test]
    fn duplicate_services_are_refused() {
        let c = cfg(
            "virtual_server 192.0.2.100 80 {\n}\nvirtual_server_group g {\n 192.0.2.99-100 80\n}\n\
             virtual_server group g {\n}\n",
        );
        assert!(matches!(
            specs(&c),
            Err(DesiredError::DuplicateService { .. })
        ));
    }

    #[test]
    fn fwmark_takes_the_family_of_its_real_servers() {
        let c = cfg("virtual_server fwmark 9 {\n real_server 2001:db8::5 {\n }\n}\n");
        let t = healthy_table(&c).unwrap();
        assert!(t.services.contains_key(&ServiceKey::Fwmark {
            family: Family::V6,
            mark: 9
        }));
    }

    #[test]
    fn port_zero_services_become_persistent() {
        let c = cfg("virtual_server 192.0.2.100 0 {\n real_server 192.0.2.10 0 {\n }\n}\n");
        let t = healthy_table(&c).unwrap();
        let e = &t.services[&ServiceKey::tcp(sa("192.0.2.100:0"))];
        assert_eq!(e.service.persistence.map(|p| p.timeout), Some(360));
        let c = cfg("virtual_server 192.0.2.100 80 {\n}\n");
        let t = healthy_table(&c).unwrap();
        assert_eq!(
            t.services[&ServiceKey::tcp(sa("192.0.2.100:80"))]
                .service
                .persistence,
            None
        );
    }

    fn service(c: &Config, key: ServiceKey) -> Service {
        healthy_table(c).unwrap().services[&key].service.clone()
    }

    #[test]
    fn sh_flags_reach_the_service() {
        let c = cfg(
            "virtual_server 192.0.2.100 80 {\n protocol TCP\n sh-port\n sh-fallback\n \
             lb_algo sh\n}\n",
        );
        let s = service(&c, ServiceKey::tcp(sa("192.0.2.100:80")));
        assert_eq!(s.sched_flags, SchedFlags::PORT.union(SchedFlags::FALLBACK));
        assert!(!s.sched_flags.contains(SchedFlags::FLAG3));
    }

    #[test]
    fn mh_and_numbered_flags_reach_the_service() {
        let c = cfg(
            "virtual_server 192.0.2.100 53 {\n protocol UDP\n lb_algo mh\n mh-port\n \
             flag-3\n ops\n}\n",
        );
        let s = service(&c, ServiceKey::udp(sa("192.0.2.100:53")));
        assert_eq!(s.sched_flags, SchedFlags::PORT.union(SchedFlags::FLAG3));
        assert!(!s.sched_flags.contains(SchedFlags::FALLBACK));
        assert!(s.one_packet);
    }

    #[test]
    fn scheduler_specific_flags_are_dropped_on_other_schedulers() {
        let l = load_str(
            "t.conf",
            "virtual_server 192.0.2.100 80 {\n protocol TCP\n lb_algo rr\n sh-port\n \
             mh-fallback\n flag-1\n ops\n}\n",
        )
        .unwrap();
        let s = service(&l.config, ServiceKey::tcp(sa("192.0.2.100:80")));
        // flag-1 is for any scheduler; sh-port and mh-fallback are not for rr; ops needs UDP.
        assert_eq!(s.sched_flags, SchedFlags::FLAG1);
        assert!(!s.one_packet);
        let text: String = l.warnings.iter().map(|w| format!("{w}\n")).collect();
        assert!(
            text.contains("sh-port only applies to the sh scheduler"),
            "{text}"
        );
        assert!(
            text.contains("mh-fallback only applies to the mh scheduler"),
            "{text}"
        );
        assert!(
            text.contains("ops (one-packet scheduling) needs protocol UDP"),
            "{text}"
        );
    }

    #[test]
    fn persistence_engine_reaches_the_service() {
        let c = cfg(
            "virtual_server 192.0.2.100 5060 {\n protocol UDP\n persistence_timeout 60\n \
             persistence_engine sip\n}\n",
        );
        let s = service(&c, ServiceKey::udp(sa("192.0.2.100:5060")));
        assert_eq!(s.pe_name.as_deref(), Some("sip"));
        assert_eq!(s.persistence.map(|p| p.timeout), Some(60));
        let c = cfg("virtual_server 192.0.2.100 80 {\n protocol TCP\n}\n");
        let s = service(&c, ServiceKey::tcp(sa("192.0.2.100:80")));
        assert_eq!((s.pe_name, s.sched_flags), (None, SchedFlags::NONE));
    }

    #[test]
    fn prefix_granularity_on_ipv4_is_a_mask() {
        assert_eq!(
            granularity(Granularity::PrefixLen(24), Family::V4),
            Some(Netmask::V4(Ipv4Addr::new(255, 255, 255, 0)))
        );
        assert_eq!(
            granularity(Granularity::PrefixLen(0), Family::V4),
            Some(Netmask::V4(Ipv4Addr::UNSPECIFIED))
        );
        assert_eq!(
            granularity(Granularity::Netmask(Ipv4Addr::BROADCAST), Family::V6),
            None
        );
    }

    #[test]
    fn lvs_timeouts_and_sync_daemon() {
        let c = cfg("global_defs {\n lvs_timeouts tcp 7200 udp 60\n \
             lvs_sync_daemon eth1 VI_1 id 9 maxlen 1400\n}\n\
             vrrp_instance VI_1 {\n interface eth1\n virtual_router_id 51\n virtual_ipaddress {\n 192.0.2.1\n }\n}\n");
        assert_eq!(
            timeouts(&c.global.lvs_timeouts),
            Some(Timeouts {
                tcp: 7200,
                tcp_fin: 0,
                udp: 60
            })
        );
        assert_eq!(timeouts(&config::LvsTimeouts::default()), None);
        let s = c.global.lvs_sync_daemon.as_ref().unwrap();
        let d = sync_daemon(s, DaemonRole::Master, 51);
        assert_eq!(
            (d.ifname.as_str(), d.sync_id, d.sync_maxlen),
            ("eth1", 9, 1400)
        );
        let no_id = config::LvsSyncDaemon {
            sync_id: None,
            ..s.clone()
        };
        assert_eq!(sync_daemon(&no_id, DaemonRole::Backup, 51).sync_id, 51);
    }
}
