//! `virtual_server_group`, `virtual_server`, `real_server` and the health checkers.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use super::{block_name, children, unknown};
use crate::config::diag::Diagnostics;
use crate::config::model::*;
use crate::config::tree::Node;
use crate::config::values::{self as v, no_extra};

const MAX_T: f64 = 4294.967295;

/// IPVS schedulers known to Linux 6.x.
const SCHEDULERS: &[&str] = &[
    "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh", "twos",
];

pub fn server_group(d: &mut Diagnostics, n: &Node) -> Option<VirtualServerGroup> {
    let name = block_name(d, n)?;
    let mut g = VirtualServerGroup {
        name,
        origin: n.at.clone(),
        members: Vec::new(),
    };
    for m in children(d, n) {
        if m.keyword == "{" {
            continue;
        }
        if m.keyword == "fwmark" {
            g.members
                .extend(v::int(d, m, 1, i64::from(u32::MAX)).map(VsgMember::Fwmark));
            continue;
        }
        let Some(port) = m.args.first() else {
            d.error(&m.at, format!("missing port after '{}' in virtual_server_group: expected IP[-LAST] PORT or fwmark N", m.keyword));
            continue;
        };
        no_extra(d, m, 1);
        let Some(port) = v::port(d, m, port) else {
            continue;
        };
        let (first_s, last_s) = match m.keyword.rsplit_once('-') {
            Some((a, b)) => (a, Some(b)),
            None => (m.keyword, None),
        };
        let Some(first) = v::ip(d, m, first_s) else {
            continue;
        };
        let last = match (first, last_s) {
            (_, None) => first,
            (IpAddr::V4(a), Some(l)) => {
                let Some(l) = v::int_value::<u8>(d, m, l, 0, 255) else {
                    continue;
                };
                let o = a.octets();
                IpAddr::V4(Ipv4Addr::new(o[0], o[1], o[2], l))
            }
            (IpAddr::V6(a), Some(l)) => {
                let Ok(l) = u16::from_str_radix(l, 16) else {
                    d.error(
                        &m.at,
                        format!(
                            "expected a hexadecimal group 0..ffff after '-' in '{}'",
                            m.keyword
                        ),
                    );
                    continue;
                };
                let mut s = a.segments();
                s[7] = l;
                IpAddr::V6(Ipv6Addr::from(s))
            }
        };
        if last < first {
            d.error(
                &m.at,
                format!("range '{}' ends before it starts", m.keyword),
            );
            continue;
        }
        g.members.push(VsgMember::Range { first, last, port });
    }
    Some(g)
}

pub(super) const VS_KEYWORDS: &[&str] = &[
    "delay_loop",
    "lb_algo",
    "lvs_sched",
    "lb_kind",
    "lvs_method",
    "persistence_timeout",
    "persistence_granularity",
    "protocol",
    "sorry_server",
    "sorry_server_inhibit",
    "quorum",
    "hysteresis",
    "quorum_up",
    "quorum_down",
    "alpha",
    "omega",
    "smtp_alert",
    "inhibit_on_failure",
    "ha_suspend",
    "virtualhost",
    "ops",
    "flag-1",
    "flag-2",
    "flag-3",
    "sh-port",
    "sh-fallback",
    "mh-port",
    "mh-fallback",
    "persistence_engine",
    "real_server",
    "tun_type",
    "tun_port",
    "tun_flags",
];
const VS_UNUSED: &[&str] = &[
    "nat_mask",
    "retry",
    "delay_before_retry",
    "warmup",
    "connect_timeout",
    "sorry_server_lvs_method",
    // The kernel hashes every service itself; keepalived's `hashed` asks for nothing.
    "hashed",
    "ip_family",
];

pub fn virtual_server(d: &mut Diagnostics, n: &Node) -> Option<VirtualServer> {
    let key = service_key(d, n)?;
    let mut vs = VirtualServer {
        key,
        origin: n.at.clone(),
        delay_loop: Duration::from_secs(60),
        lb_algo: "wlc".into(),
        lb_kind: LbKind::Nat,
        persistence_timeout: None,
        persistence_granularity: None,
        protocol: None,
        sorry_server: None,
        sorry_server_inhibit: false,
        quorum: 1,
        hysteresis: 0,
        quorum_up: None,
        quorum_down: None,
        alpha: false,
        omega: false,
        smtp_alert: None,
        inhibit_on_failure: false,
        ha_suspend: false,
        virtualhost: None,
        one_packet_scheduling: false,
        sched_flags: SchedulerFlags::default(),
        persistence_engine: None,
        // Sized up front: thousands of virtual servers each growing by doubling would hold
        // up to twice the memory they need.
        real_servers: Vec::with_capacity(count_children(n, |k| k == "real_server")),
    };
    let mut tunnel = TunnelOptions::default();
    let tunnel_given = ["tun_type", "tun_port", "tun_flags"]
        .iter()
        .any(|k| children_given(n, k));
    // Read once the whole block is: `sh-port` before `lb_algo sh` is still meant for sh.
    let mut flag_words: Vec<&Node> = Vec::new();
    for c in children(d, n) {
        match c.keyword {
            "delay_loop" => {
                vs.delay_loop = v::timer(d, c, 0.000001, MAX_T).unwrap_or(vs.delay_loop)
            }
            "lb_algo" | "lvs_sched" => {
                if let Some(s) = v::word(d, c, "an IPVS scheduler") {
                    if SCHEDULERS.contains(&s.as_str()) {
                        vs.lb_algo = s;
                    } else {
                        d.error(
                            &c.at,
                            format!(
                                "expected an IPVS scheduler ({}) for {}, got '{s}'",
                                SCHEDULERS.join("|"),
                                c.keyword
                            ),
                        );
                    }
                }
            }
            "lb_kind" | "lvs_method" => vs.lb_kind = lb_kind(d, c).unwrap_or(vs.lb_kind),
            "tun_type" => match v::word(d, c, "ipip, gue or gre").as_deref() {
                Some("ipip") => tunnel.kind = TunnelKind::Ipip,
                Some("gue") => tunnel.kind = TunnelKind::Gue,
                Some("gre") => tunnel.kind = TunnelKind::Gre,
                Some(o) => d.error(
                    &c.at,
                    format!("expected ipip, gue or gre for tun_type, got '{o}'"),
                ),
                None => {}
            },
            "tun_port" => tunnel.port = v::int(d, c, 1, 65535),
            "tun_flags" => match v::word(d, c, "noencap, csum or remcsum").as_deref() {
                Some("noencap") => tunnel.flags = Some(TunnelChecksum::NoEncap),
                Some("csum") => tunnel.flags = Some(TunnelChecksum::Csum),
                Some("remcsum") => tunnel.flags = Some(TunnelChecksum::RemCsum),
                Some(o) => d.error(
                    &c.at,
                    format!("expected noencap, csum or remcsum for tun_flags, got '{o}'"),
                ),
                None => {}
            },
            "persistence_timeout" => {
                vs.persistence_timeout = if c.args.is_empty() {
                    Some(Duration::from_secs(360))
                } else {
                    v::int::<u64>(d, c, 1, 86400 * 31).map(Duration::from_secs)
                }
            }
            "persistence_granularity" => {
                if let Some(g) = v::arg(d, c, "a netmask or prefix length") {
                    vs.persistence_granularity = match (g.parse::<Ipv4Addr>(), g.parse::<u8>()) {
                        (Ok(mask), _) => Some(Granularity::Netmask(mask)),
                        (_, Ok(p)) if (1..=128).contains(&p) => Some(Granularity::PrefixLen(p)),
                        _ => {
                            d.error(&c.at, format!("expected an IPv4 netmask or a prefix length 1..128 for persistence_granularity, got '{g}'"));
                            None
                        }
                    };
                }
            }
            "protocol" => match v::word(d, c, "TCP, UDP or SCTP")
                .map(|p| p.to_ascii_uppercase())
                .as_deref()
            {
                Some("TCP") => vs.protocol = Some(Protocol::Tcp),
                Some("UDP") => vs.protocol = Some(Protocol::Udp),
                Some("SCTP") => vs.protocol = Some(Protocol::Sctp),
                Some(_) => d.error(
                    &c.at,
                    format!(
                        "expected TCP, UDP or SCTP for protocol, got '{}'",
                        c.args[0]
                    ),
                ),
                None => {}
            },
            "sorry_server" => {
                if let Some(a) = v::arg(d, c, "IP PORT") {
                    let addr = v::ip(d, c, a);
                    let port = match c.args.get(1) {
                        Some(p) => v::port(d, c, p),
                        None => Some(0),
                    };
                    no_extra(d, c, 2);
                    if let (Some(addr), Some(port)) = (addr, port) {
                        vs.sorry_server = Some(SorryServer { addr, port });
                    }
                }
            }
            "sorry_server_inhibit" => vs.sorry_server_inhibit = v::boolean(d, c).unwrap_or(true),
            "quorum" => vs.quorum = v::int(d, c, 1, i64::from(u32::MAX)).unwrap_or(vs.quorum),
            "hysteresis" => vs.hysteresis = v::int(d, c, 0, i64::from(u32::MAX)).unwrap_or(0),
            "quorum_up" => vs.quorum_up = v::command(d, c),
            "quorum_down" => vs.quorum_down = v::command(d, c),
            "alpha" => vs.alpha = v::boolean(d, c).unwrap_or(true),
            "omega" => vs.omega = v::boolean(d, c).unwrap_or(true),
            "smtp_alert" => vs.smtp_alert = v::boolean(d, c),
            "inhibit_on_failure" => vs.inhibit_on_failure = v::boolean(d, c).unwrap_or(true),
            "ha_suspend" => vs.ha_suspend = v::flag(d, c),
            "virtualhost" => vs.virtualhost = v::word(d, c, "a host name"),
            "ops" => vs.one_packet_scheduling = v::flag(d, c),
            "flag-1" | "flag-2" | "flag-3" | "sh-port" | "sh-fallback" | "mh-port"
            | "mh-fallback" => {
                if v::flag(d, c) {
                    flag_words.push(c);
                }
            }
            "persistence_engine" => vs.persistence_engine = persistence_engine(d, c),
            "real_server" => vs.real_servers.extend(real_server(d, c)),
            _ => unknown(d, c, VS_KEYWORDS, VS_UNUSED),
        }
    }
    // lbd's own tun_type/tun_port/tun_flags, when given, replace the options written after
    // TUN.
    if let (LbKind::Tun(t), true) = (&mut vs.lb_kind, tunnel_given) {
        *t = tunnel;
    }
    vs.sched_flags = sched_flags(d, &vs.lb_algo, &flag_words);
    // IPVS applies one-packet scheduling to UDP datagrams only; keepalived clears it on a
    // TCP or SCTP service. A fwmark service can carry UDP, so it keeps the flag.
    if vs.one_packet_scheduling
        && !matches!(vs.key, ServiceKey::Fwmark(_))
        && vs.protocol != Some(Protocol::Udp)
    {
        d.warn(
            &n.at,
            "ops (one-packet scheduling) needs protocol UDP: ignored, as keepalived does",
        );
        vs.one_packet_scheduling = false;
    }
    if vs.persistence_engine.is_some() && vs.persistence_timeout.is_none() {
        d.warn(
            &n.at,
            "persistence_engine has no effect without persistence_timeout: IPVS consults it only for persistent services",
        );
    }
    let protocol_given = children_given(n, "protocol");
    if !matches!(vs.key, ServiceKey::Fwmark(_)) && !protocol_given {
        d.warn(
            &n.at,
            "virtual_server without protocol: say 'protocol TCP' (keepalived 2.2.7 defaults to UDP, older versions to TCP)",
        );
    }
    if matches!(vs.key, ServiceKey::Fwmark(_)) && vs.protocol.is_some() {
        d.warn(&n.at, "protocol is ignored for a fwmark virtual server");
    }
    if let Some(sorry) = &vs.sorry_server {
        if matches!(vs.key, ServiceKey::Inet { .. }) && sorry.port == 0 {
            d.error(
                &n.at,
                "sorry_server needs a port for an IP virtual server: expected sorry_server IP PORT",
            );
        }
    }
    Some(vs)
}

/// The flag words of a virtual server as bits. The `sh-*` and `mh-*` words name bits of
/// those schedulers only; on another scheduler keepalived ignores them with a warning, and
/// so does lbd (the bit would mean something else, or nothing, to that scheduler).
fn sched_flags(d: &mut Diagnostics, lb_algo: &str, words: &[&Node]) -> SchedulerFlags {
    let mut f = SchedulerFlags::default();
    for w in words {
        let kw = w.keyword;
        let only_for = match kw {
            "sh-port" | "sh-fallback" => Some("sh"),
            "mh-port" | "mh-fallback" => Some("mh"),
            _ => None,
        };
        if let Some(sched) = only_for.filter(|s| *s != lb_algo) {
            d.warn(
                &w.at,
                format!(
                    "{kw} only applies to the {sched} scheduler (lb_algo is {lb_algo}): ignored, as keepalived does"
                ),
            );
            continue;
        }
        match kw {
            "flag-1" | "sh-fallback" | "mh-fallback" => f.flag_1 = true,
            "flag-2" | "sh-port" | "mh-port" => f.flag_2 = true,
            _ => f.flag_3 = true,
        }
    }
    f
}

/// `persistence_engine NAME`: the kernel takes at most 15 bytes (`IP_VS_PENAME_MAXLEN`).
/// keepalived truncates a longer name, which then names no engine; lbd says so instead.
fn persistence_engine(d: &mut Diagnostics, c: &Node) -> Option<String> {
    let name = v::word(d, c, "a persistence engine name (sip)")?;
    if name.len() > 15 {
        d.error(
            &c.at,
            format!("persistence_engine '{name}' is longer than the kernel's 15 bytes"),
        );
        return None;
    }
    Some(name)
}

fn count_children(n: &Node, which: impl Fn(&str) -> bool) -> usize {
    n.block
        .as_deref()
        .unwrap_or_default()
        .iter()
        .filter(|c| which(c.keyword))
        .count()
}

fn is_checker(keyword: &str) -> bool {
    matches!(
        keyword,
        "TCP_CHECK"
            | "HTTP_GET"
            | "SSL_GET"
            | "SMTP_CHECK"
            | "DNS_CHECK"
            | "MISC_CHECK"
            | "PING_CHECK"
            | "UDP_CHECK"
            | "FILE_CHECK"
    )
}

fn children_given(n: &Node, keyword: &str) -> bool {
    n.block
        .as_deref()
        .unwrap_or_default()
        .iter()
        .any(|c| c.keyword == keyword)
}

/// `virtual_server IP PORT`, `virtual_server fwmark N`, `virtual_server group NAME`.
fn service_key(d: &mut Diagnostics, n: &Node) -> Option<ServiceKey> {
    let expected = "IP PORT, fwmark N or group NAME";
    let first = v::arg(d, n, expected)?;
    let second = n.args.get(1);
    no_extra(d, n, 2);
    let Some(second) = second else {
        d.error(
            &n.at,
            format!("missing second value for virtual_server: expected {expected}"),
        );
        return None;
    };
    match first {
        "fwmark" => v::int_value(d, n, second, 1, i64::from(u32::MAX)).map(ServiceKey::Fwmark),
        "group" => Some(ServiceKey::Group(second.to_string())),
        ip => {
            let addr = v::ip(d, n, ip)?;
            let port = v::port(d, n, second)?;
            Some(ServiceKey::Inet { addr, port })
        }
    }
}

/// `lb_kind`/`lvs_method NAT|DR|TUN`, with keepalived 2.2.7's tunnel options after `TUN`:
/// `[type ipip|gue port N|gre] [nocsum|csum|remcsum]`.
fn lb_kind(d: &mut Diagnostics, c: &Node) -> Option<LbKind> {
    let kind = v::arg(d, c, "NAT, DR or TUN")?.to_ascii_uppercase();
    match kind.as_str() {
        "NAT" | "DR" => {
            no_extra(d, c, 1);
            Some(if kind == "NAT" {
                LbKind::Nat
            } else {
                LbKind::Dr
            })
        }
        "TUN" => tunnel_options(d, c, &c.args[1..]).map(LbKind::Tun),
        _ => {
            d.error(
                &c.at,
                format!(
                    "expected NAT, DR or TUN for {}, got '{}'",
                    c.keyword, c.args[0]
                ),
            );
            None
        }
    }
}

/// The words after `TUN`. The checks are keepalived's: a GUE tunnel needs its port and
/// nothing else takes one, IPIP has no checksum option, GRE no remote checksum.
fn tunnel_options(d: &mut Diagnostics, c: &Node, words: &[&str]) -> Option<TunnelOptions> {
    let mut t = TunnelOptions::default();
    let mut rest = words.iter().copied();
    let mut next = rest.next();
    let bad = |d: &mut Diagnostics, what: String| {
        d.error(
            &c.at,
            format!(
                "{what}: expected {} TUN [type ipip|gue port N|gre] [nocsum|csum|remcsum]",
                c.keyword
            ),
        );
        None
    };
    if next == Some("type") {
        match rest.next() {
            Some("ipip") => t.kind = TunnelKind::Ipip,
            Some("gre") => t.kind = TunnelKind::Gre,
            Some("gue") => {
                t.kind = TunnelKind::Gue;
                if rest.next() != Some("port") {
                    return bad(d, "gue tunnels require a port".into());
                }
                let port = rest.next().unwrap_or_default();
                t.port = Some(v::int_value(d, c, port, 1, 65535)?);
            }
            Some(o) => return bad(d, format!("unknown tunnel type '{o}'")),
            None => return bad(d, "missing tunnel type".into()),
        }
        next = rest.next();
    }
    if let Some(w) = next {
        t.flags = Some(match w {
            "nocsum" => TunnelChecksum::NoEncap,
            "csum" => TunnelChecksum::Csum,
            "remcsum" => TunnelChecksum::RemCsum,
            o => return bad(d, format!("unknown tunnel option '{o}'")),
        });
        if let Some(extra) = rest.next() {
            return bad(d, format!("unexpected '{extra}' after the checksum option"));
        }
    }
    match (t.kind, t.flags) {
        (TunnelKind::Ipip, Some(TunnelChecksum::Csum | TunnelChecksum::RemCsum)) => {
            bad(d, "ipip tunnels do not support checksum option".into())
        }
        (TunnelKind::Gre, Some(TunnelChecksum::RemCsum)) => bad(
            d,
            "gre tunnels do not support remote checksum option".into(),
        ),
        _ => Some(t),
    }
}

pub(super) const RS_KEYWORDS: &[&str] = &[
    "weight",
    "inhibit_on_failure",
    "notify_up",
    "notify_down",
    "smtp_alert",
    "lb_kind",
    "lvs_method",
    "uthreshold",
    "lthreshold",
    "TCP_CHECK",
    "HTTP_GET",
    "SSL_GET",
    "SMTP_CHECK",
    "DNS_CHECK",
    "MISC_CHECK",
    "PING_CHECK",
    "UDP_CHECK",
    "FILE_CHECK",
];
const RS_UNUSED: &[&str] = &[
    "BFD_CHECK",
    "alpha",
    "retry",
    "delay_before_retry",
    "warmup",
    "connect_timeout",
    "delay_loop",
    "virtualhost",
];

fn real_server(d: &mut Diagnostics, n: &Node) -> Option<RealServer> {
    let a = v::arg(d, n, "IP [PORT]")?;
    let addr = v::ip(d, n, a)?;
    let port = match n.args.get(1) {
        Some(p) => Some(v::port(d, n, p)?),
        None => None,
    };
    no_extra(d, n, 2);
    let mut rs = RealServer {
        addr,
        port,
        origin: n.at.clone(),
        weight: 1,
        inhibit_on_failure: None,
        notify_up: None,
        notify_down: None,
        smtp_alert: None,
        lb_kind: None,
        upper_threshold: None,
        lower_threshold: None,
        // A vector grown from empty holds at least four checkers: most servers have one.
        checkers: Vec::with_capacity(count_children(n, is_checker)),
    };
    // A real_server without a block is legal (always up).
    for c in n.block.as_deref().unwrap_or_default() {
        match c.keyword {
            "weight" => rs.weight = v::int(d, c, 0, 65535).unwrap_or(rs.weight),
            "inhibit_on_failure" => rs.inhibit_on_failure = v::boolean(d, c),
            "notify_up" => rs.notify_up = v::command(d, c),
            "notify_down" => rs.notify_down = v::command(d, c),
            "smtp_alert" => rs.smtp_alert = v::boolean(d, c),
            "lb_kind" | "lvs_method" => rs.lb_kind = lb_kind(d, c),
            "uthreshold" => rs.upper_threshold = v::int(d, c, 0, i64::from(u32::MAX)),
            "lthreshold" => rs.lower_threshold = v::int(d, c, 0, i64::from(u32::MAX)),
            "TCP_CHECK" | "HTTP_GET" | "SSL_GET" | "SMTP_CHECK" | "DNS_CHECK" | "MISC_CHECK"
            | "PING_CHECK" | "UDP_CHECK" | "FILE_CHECK" => rs.checkers.extend(checker(d, c)),
            _ => unknown(d, c, RS_KEYWORDS, RS_UNUSED),
        }
    }
    Some(rs)
}

pub(super) const COMMON_KEYWORDS: &[&str] = &[
    "connect_ip",
    "connect_port",
    "bindto",
    "bind_port",
    "bind_if",
    "connect_timeout",
    "retry",
    "nb_get_retry",
    "delay_before_retry",
    "warmup",
    "delay_loop",
    "fwmark",
    "alpha",
];
const CHECKER_UNUSED: &[&str] = &[
    "log_all_failures",
    "fast_recovery",
    "regex",
    "regex_no_match",
    "regex_options",
    "regex_stack",
    "regex_min_offset",
    "regex_max_offset",
    "tos",
];

/// Options every checker takes; `false` if `c` is not one of them.
fn common(d: &mut Diagnostics, c: &Node, k: &mut CheckerCommon) -> bool {
    match c.keyword {
        "connect_ip" => k.connect_ip = v::ip_arg(d, c),
        "connect_port" => k.connect_port = v::int(d, c, 1, 65535),
        "bindto" => k.bindto = v::ip_arg(d, c),
        "bind_port" => k.bind_port = v::int(d, c, 1, 65535),
        "bind_if" => k.bind_if = v::word(d, c, "an interface name"),
        "connect_timeout" => k.connect_timeout = v::timer(d, c, 0.000001, MAX_T),
        "retry" => k.retry = v::int(d, c, 0, i64::from(u32::MAX)),
        "nb_get_retry" => {
            d.warn(&c.at, "nb_get_retry is deprecated; use 'retry'");
            k.retry = v::int(d, c, 0, i64::from(u32::MAX));
        }
        "delay_before_retry" => k.delay_before_retry = v::timer(d, c, 0.0, MAX_T),
        "warmup" => k.warmup = v::timer(d, c, 0.0, MAX_T),
        "delay_loop" => k.delay_loop = v::timer(d, c, 0.000001, MAX_T),
        "fwmark" => k.fwmark = v::int(d, c, 1, i64::from(u32::MAX)),
        "alpha" => k.alpha = v::boolean(d, c),
        _ => return false,
    }
    true
}

fn keywords(specific: &[&'static str]) -> Vec<&'static str> {
    COMMON_KEYWORDS.iter().chain(specific).copied().collect()
}

fn checker(d: &mut Diagnostics, n: &Node) -> Option<Checker> {
    let mut common_opts = CheckerCommon::default();
    let mut kind = match n.keyword {
        "TCP_CHECK" => CheckerKind::Tcp,
        "HTTP_GET" => CheckerKind::Http(HttpCheck::default()),
        "SSL_GET" => CheckerKind::Http(HttpCheck {
            tls: true,
            ..HttpCheck::default()
        }),
        "SMTP_CHECK" => CheckerKind::Smtp(SmtpCheck::default()),
        "DNS_CHECK" => CheckerKind::Dns(DnsCheck {
            name: ".".into(),
            query_type: DnsType::Soa,
        }),
        "MISC_CHECK" => CheckerKind::Misc(MiscCheck {
            path: String::new(),
            timeout: None,
            dynamic: false,
            user: None,
        }),
        "PING_CHECK" => CheckerKind::Ping,
        "UDP_CHECK" => CheckerKind::Udp(UdpCheck::default()),
        _ => CheckerKind::File(FileCheck {
            name: String::new(),
            weight: None,
        }),
    };
    // keepalived's FILE_CHECK takes none of the connection options: it connects nowhere.
    let file = matches!(kind, CheckerKind::File(_));
    for c in children(d, n) {
        if !file && common(d, c, &mut common_opts) {
            continue;
        }
        let handled = match &mut kind {
            CheckerKind::Http(h) => http_keyword(d, c, h),
            CheckerKind::Smtp(s) => match c.keyword {
                "helo_name" => {
                    s.helo_name = v::word(d, c, "a host name");
                    true
                }
                "host" => {
                    let mut host = CheckerCommon::default();
                    for h in children(d, c) {
                        if !common(d, h, &mut host) {
                            unknown(d, h, COMMON_KEYWORDS, CHECKER_UNUSED);
                        }
                    }
                    s.hosts.push(host);
                    true
                }
                _ => false,
            },
            CheckerKind::Dns(q) => match c.keyword {
                "name" => {
                    q.name = v::word(d, c, "a domain name").unwrap_or_default();
                    true
                }
                "type" => {
                    let t = v::word(d, c, "A, NS, CNAME, SOA, MX, TXT or AAAA")
                        .map(|t| t.to_ascii_uppercase());
                    q.query_type = match t.as_deref() {
                        Some("A") => DnsType::A,
                        Some("NS") => DnsType::Ns,
                        Some("CNAME") => DnsType::Cname,
                        Some("SOA") => DnsType::Soa,
                        Some("MX") => DnsType::Mx,
                        Some("TXT") => DnsType::Txt,
                        Some("AAAA") => DnsType::Aaaa,
                        Some(o) => {
                            d.error(&c.at, format!("expected A, NS, CNAME, SOA, MX, TXT or AAAA for type, got '{o}'"));
                            q.query_type
                        }
                        None => q.query_type,
                    };
                    true
                }
                _ => false,
            },
            CheckerKind::Misc(m) => match c.keyword {
                "misc_path" => {
                    m.path = v::command(d, c).unwrap_or_default();
                    true
                }
                "misc_timeout" => {
                    m.timeout = v::timer(d, c, 0.000001, MAX_T);
                    true
                }
                "misc_dynamic" => {
                    m.dynamic = v::flag(d, c);
                    true
                }
                "user" => {
                    m.user = v::script_user(d, c);
                    true
                }
                _ => false,
            },
            CheckerKind::Udp(u) => match c.keyword {
                "payload" => {
                    u.payload = hex(d, c);
                    true
                }
                "require_reply" => {
                    u.require_reply = hex(d, c);
                    true
                }
                _ => false,
            },
            CheckerKind::File(f) => match c.keyword {
                "track_file" => {
                    if let Some(name) = v::arg(d, c, "a track file name") {
                        f.name = name.to_string();
                    }
                    // keepalived 2.2.7 reads only the name here, silently.
                    if c.args.len() > 1 {
                        d.warn(
                            &c.at,
                            format!(
                                "'{}' after the track_file name is ignored (as keepalived does): \
                                 expected a separate 'weight N [reverse]' line",
                                c.args[1..].join(" ")
                            ),
                        );
                    }
                    true
                }
                "weight" => {
                    if let Some(w) = file_weight(d, c) {
                        f.weight = Some(w);
                    }
                    true
                }
                _ => false,
            },
            CheckerKind::Tcp | CheckerKind::Ping => false,
        };
        if !handled {
            let specific: &[&str] = match &kind {
                CheckerKind::Http(_) => &["url", "virtualhost", "enable_sni", "http_protocol"],
                CheckerKind::Smtp(_) => &["helo_name", "host"],
                CheckerKind::Dns(_) => &["name", "type"],
                CheckerKind::Misc(_) => &["misc_path", "misc_timeout", "misc_dynamic", "user"],
                CheckerKind::Udp(_) => &["payload", "require_reply"],
                CheckerKind::File(_) => &["track_file", "weight"],
                CheckerKind::Tcp | CheckerKind::Ping => &[],
            };
            let known = if file {
                specific.to_vec()
            } else {
                keywords(specific)
            };
            unknown(d, c, &known, if file { &[] } else { CHECKER_UNUSED });
        }
    }
    match &kind {
        CheckerKind::Misc(m) if m.path.is_empty() => {
            d.error(
                &n.at,
                "MISC_CHECK without misc_path: expected misc_path COMMAND",
            );
            return None;
        }
        CheckerKind::Http(h) if h.urls.is_empty() => {
            d.error(
                &n.at,
                format!("{} without any url {{ path ... }}", n.keyword),
            );
            return None;
        }
        CheckerKind::File(f) if f.name.is_empty() => {
            d.error(
                &n.at,
                "FILE_CHECK without track_file: expected track_file NAME",
            );
            return None;
        }
        _ => {}
    }
    Some(Checker {
        origin: n.at.clone(),
        common: common_opts,
        kind,
    })
}

/// FILE_CHECK's `weight N [reverse|noreverse]`: N within keepalived 2.2.7's
/// -2147483647..2147483647 (`i32::MIN` is its fault marker, so it is out).
fn file_weight(d: &mut Diagnostics, c: &Node) -> Option<FileWeight> {
    let n = v::arg(d, c, "an integer -2147483647..2147483647")?;
    let weight = v::int_value(d, c, n, -i64::from(i32::MAX), i64::from(i32::MAX))?;
    let reverse = match c.args.get(1).copied() {
        None | Some("noreverse") => false,
        Some("reverse") => true,
        Some(o) => {
            d.error(
                &c.at,
                format!("expected reverse or noreverse after the weight, got '{o}'"),
            );
            return None;
        }
    };
    no_extra(d, c, 2);
    Some(FileWeight { weight, reverse })
}

fn http_keyword(d: &mut Diagnostics, c: &Node, h: &mut HttpCheck) -> bool {
    match c.keyword {
        "virtualhost" => h.virtualhost = v::word(d, c, "a host name"),
        "enable_sni" => h.enable_sni = v::flag(d, c),
        // keepalived 2.2.7 takes 1.0c for 1.0C too.
        "http_protocol" => match v::word(d, c, "1.0, 1.0C or 1.1").as_deref() {
            Some("1.0") => h.protocol = HttpVersion::V1_0,
            Some("1.0C" | "1.0c") => h.protocol = HttpVersion::V1_0Close,
            Some("1.1") => h.protocol = HttpVersion::V1_1,
            Some(o) => d.error(
                &c.at,
                format!("expected 1.0, 1.0C or 1.1 for http_protocol, got '{o}'"),
            ),
            None => {}
        },
        "url" => {
            let mut url = UrlCheck {
                path: String::new(),
                digest: None,
                status_codes: Vec::new(),
                virtualhost: None,
            };
            for u in children(d, c) {
                match u.keyword {
                    "path" => url.path = v::word(d, u, "a URL path").unwrap_or_default(),
                    "digest" => url.digest = digest(d, u),
                    "status_code" => {
                        for code in u.args {
                            let range = match code.split_once('-') {
                                Some((lo, hi)) => v::int_value::<u16>(d, u, lo, 100, 599)
                                    .zip(v::int_value::<u16>(d, u, hi, 100, 599)),
                                None => v::int_value::<u16>(d, u, code, 100, 599).map(|c| (c, c)),
                            };
                            match range {
                                Some((lo, hi)) if lo > hi => d.error(
                                    &u.at,
                                    format!("status_code range '{code}' ends before it starts"),
                                ),
                                Some(r) => url.status_codes.push(r),
                                None => {}
                            }
                        }
                        if u.args.is_empty() {
                            d.error(&u.at, "missing value for status_code: expected an integer 100..599 (or a range N-M)");
                        }
                    }
                    "virtualhost" => url.virtualhost = v::word(d, u, "a host name"),
                    _ => unknown(
                        d,
                        u,
                        &["path", "digest", "status_code", "virtualhost"],
                        CHECKER_UNUSED,
                    ),
                }
            }
            if url.path.is_empty() {
                d.error(&c.at, "url block without path: expected path /URL");
            } else {
                h.urls.push(url);
            }
        }
        _ => return false,
    }
    true
}

/// An MD5 digest: 32 hex digits.
fn digest(d: &mut Diagnostics, n: &Node) -> Option<[u8; 16]> {
    let s = v::word(d, n, "32 hexadecimal digits (an MD5 sum)")?;
    let bytes = hex_bytes(&s)
        .filter(|b| b.len() == 16)
        .and_then(|b| <[u8; 16]>::try_from(b).ok());
    if bytes.is_none() {
        d.error(
            &n.at,
            format!("expected 32 hexadecimal digits (an MD5 sum) for digest, got '{s}'"),
        );
    }
    bytes
}

fn hex(d: &mut Diagnostics, n: &Node) -> Option<Vec<u8>> {
    let s = v::word(d, n, "hexadecimal bytes")?;
    let bytes = hex_bytes(&s);
    if bytes.is_none() {
        d.error(
            &n.at,
            format!(
                "expected an even number of hexadecimal digits for {}, got '{s}'",
                n.keyword
            ),
        );
    }
    bytes
}

fn hex_bytes(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}
