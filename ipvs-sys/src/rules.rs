//! Parsing ipvsadm command lines (`-A -t 192.0.2.1:80 -s rr`, ...) into
//! requests: the format `ipvsadm -S` writes and `ipvsadm -R` reads, and the
//! options of `lbd ipvs add|edit|delete`. Addresses and ports are numeric
//! only: no DNS or /etc/services lookups.

use crate::msg::Request;
use crate::types::*;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// ipvsadm's `MAX_TIMEOUT`: 31 days.
pub const MAX_TIMEOUT: u32 = 86400 * 31;
/// ipvsadm's default persistence timeout (`IPVS_SVC_PERSISTENT_TIMEOUT`).
pub const DEFAULT_PERSISTENT_TIMEOUT: u32 = 360;
/// ipvsadm's default scheduler.
pub const DEFAULT_SCHEDULER: &str = "wlc";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("no command given (-A -E -D -a -e -d -C -Z --set --start-daemon --stop-daemon)")]
    NoCommand,
    #[error("two commands given: {0} and {1}")]
    TwoCommands(String, String),
    #[error("option {0} needs a value")]
    MissingValue(String),
    #[error("unknown option '{0}'")]
    UnknownOption(String),
    #[error("unexpected argument '{0}'")]
    Unexpected(String),
    #[error("invalid {what} '{value}': {why}")]
    Value {
        what: &'static str,
        value: String,
        why: &'static str,
    },
    #[error("the {cmd} command needs {what}")]
    Missing {
        cmd: &'static str,
        what: &'static str,
    },
    #[error("option {opt} is not allowed with the {cmd} command")]
    Illegal { opt: String, cmd: &'static str },
    #[error("{0}")]
    Conflict(&'static str),
}

fn bad(what: &'static str, value: &str, why: &'static str) -> RuleError {
    RuleError::Value {
        what,
        value: value.to_owned(),
        why,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmd {
    AddService,
    EditService,
    DelService,
    AddDest,
    EditDest,
    DelDest,
    Flush,
    Zero,
    Set,
    StartDaemon,
    StopDaemon,
}

impl Cmd {
    fn name(self) -> &'static str {
        match self {
            Cmd::AddService => "add-service",
            Cmd::EditService => "edit-service",
            Cmd::DelService => "delete-service",
            Cmd::AddDest => "add-server",
            Cmd::EditDest => "edit-server",
            Cmd::DelDest => "delete-server",
            Cmd::Flush => "clear",
            Cmd::Zero => "zero",
            Cmd::Set => "set",
            Cmd::StartDaemon => "start-daemon",
            Cmd::StopDaemon => "stop-daemon",
        }
    }
}

/// Parses a number like ipvsadm's `string_to_number`: decimal, in range.
fn number(what: &'static str, s: &str, min: u64, max: u64) -> Result<u64, RuleError> {
    let n: u64 = s
        .parse()
        .map_err(|_| bad(what, s, "not a decimal number"))?;
    if n < min || n > max {
        return Err(bad(what, s, "out of range"));
    }
    Ok(n)
}

/// `host[:port]` or `[v6]:port` or a bare IPv6 address; the port is `None`
/// when absent. Host names are not resolved.
pub fn parse_addr_port(s: &str) -> Result<(IpAddr, Option<u16>), RuleError> {
    let port = |p: &str| -> Result<u16, RuleError> {
        Ok(number("port", p, 0, 65535).map_err(|_| {
            bad(
                "port",
                p,
                "ports must be numbers 0-65535 (names are not resolved)",
            )
        })? as u16)
    };
    if let Some(rest) = s.strip_prefix('[') {
        let (host, tail) = rest
            .split_once(']')
            .ok_or_else(|| bad("address", s, "missing ']'"))?;
        let ip: Ipv6Addr = host
            .parse()
            .map_err(|_| bad("address", s, "not an IPv6 address"))?;
        let p = tail
            .strip_prefix(':')
            .ok_or_else(|| bad("address", s, "expected ':port' after ']'"))?;
        return Ok((IpAddr::V6(ip), Some(port(p)?)));
    }
    if let Ok(ip) = s.parse::<Ipv6Addr>() {
        return Ok((IpAddr::V6(ip), None));
    }
    let (host, p) = match s.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (s, None),
    };
    let ip: Ipv4Addr = host.parse().map_err(|_| {
        bad(
            "address",
            s,
            "expected an IPv4 address[:port] or [IPv6]:port (host names are not resolved)",
        )
    })?;
    Ok((IpAddr::V4(ip), p.map(port).transpose()?))
}

/// The value of `-t/-u/--sctp-service` (port defaults to 0, as in ipvsadm).
pub fn parse_inet_service(protocol: Protocol, s: &str) -> Result<ServiceKey, RuleError> {
    let (ip, port) = parse_addr_port(s)?;
    Ok(ServiceKey::Inet {
        protocol,
        addr: SocketAddr::new(ip, port.unwrap_or(0)),
    })
}

/// The value of `-f` (1..=u32::MAX).
pub fn parse_fwmark(s: &str, v6: bool) -> Result<ServiceKey, RuleError> {
    let mark = number("fwmark", s, 1, u64::from(u32::MAX))? as u32;
    Ok(ServiceKey::Fwmark {
        family: if v6 { Family::V6 } else { Family::V4 },
        mark,
    })
}

fn parse_sched_flags(sched: &str, s: &str) -> Result<SchedFlags, RuleError> {
    let mut f = SchedFlags::NONE;
    for flag in s.split(',').filter(|x| !x.is_empty()) {
        let (bit, needs) = match flag {
            "flag-1" => (SchedFlags::FLAG1, None),
            "flag-2" => (SchedFlags::FLAG2, None),
            "flag-3" => (SchedFlags::FLAG3, None),
            "sh-fallback" => (SchedFlags::FALLBACK, Some("sh")),
            "sh-port" => (SchedFlags::PORT, Some("sh")),
            "mh-fallback" => (SchedFlags::FALLBACK, Some("mh")),
            "mh-port" => (SchedFlags::PORT, Some("mh")),
            _ => return Err(bad("scheduler flag", flag, "unknown flag")),
        };
        if let Some(n) = needs {
            if n != sched {
                return Err(bad(
                    "scheduler flag",
                    flag,
                    "incompatible with the scheduler",
                ));
            }
        }
        f = f.union(bit);
    }
    Ok(f)
}

#[derive(Default)]
struct Opts<'a> {
    cmd: Option<(Cmd, &'a str)>,
    service: Option<(&'a str, &'a str)>,
    v6: bool,
    sched: Option<&'a str>,
    persistent: Option<Option<&'a str>>,
    netmask: Option<&'a str>,
    pe: Option<&'a str>,
    ops: bool,
    sched_flags: Option<&'a str>,
    server: Option<&'a str>,
    forward: Option<(&'a str, Forward)>,
    weight: Option<&'a str>,
    uthresh: Option<&'a str>,
    lthresh: Option<&'a str>,
    tun_type: Option<&'a str>,
    tun_port: Option<&'a str>,
    tun_csum: Option<(&'a str, TunnelCsum)>,
    daemon_role: Option<&'a str>,
    mcast_ifn: Option<&'a str>,
    syncid: Option<&'a str>,
    sync_maxlen: Option<&'a str>,
    mcast_group: Option<&'a str>,
    mcast_port: Option<&'a str>,
    mcast_ttl: Option<&'a str>,
    positional: Vec<&'a str>,
    given: Vec<&'a str>,
}

/// Parses one ipvsadm command line (without the program name).
pub fn parse_rule<S: AsRef<str>>(args: &[S]) -> Result<Request, RuleError> {
    let args: Vec<&str> = args.iter().map(|s| s.as_ref()).collect();
    let mut o = Opts::default();
    let mut i = 0;
    while i < args.len() {
        let a = args[i];
        i += 1;
        let mut value = |name: &str| -> Result<&str, RuleError> {
            let v = args
                .get(i)
                .copied()
                .ok_or_else(|| RuleError::MissingValue(name.to_owned()))?;
            i += 1;
            Ok(v)
        };
        let mut set_cmd = |c: Cmd| -> Result<(), RuleError> {
            if let Some((_, prev)) = o.cmd {
                return Err(RuleError::TwoCommands(prev.to_owned(), a.to_owned()));
            }
            o.cmd = Some((c, a));
            Ok(())
        };
        match a {
            "-A" | "--add-service" => set_cmd(Cmd::AddService)?,
            "-E" | "--edit-service" => set_cmd(Cmd::EditService)?,
            "-D" | "--delete-service" => set_cmd(Cmd::DelService)?,
            "-a" | "--add-server" => set_cmd(Cmd::AddDest)?,
            "-e" | "--edit-server" => set_cmd(Cmd::EditDest)?,
            "-d" | "--delete-server" => set_cmd(Cmd::DelDest)?,
            "-C" | "--clear" => set_cmd(Cmd::Flush)?,
            "-Z" | "--zero" => set_cmd(Cmd::Zero)?,
            "--set" => set_cmd(Cmd::Set)?,
            "--start-daemon" => {
                set_cmd(Cmd::StartDaemon)?;
                o.daemon_role = Some(value(a)?);
            }
            "--stop-daemon" => {
                set_cmd(Cmd::StopDaemon)?;
                o.daemon_role = Some(value(a)?);
            }
            "-t" | "--tcp-service" | "-u" | "--udp-service" | "--sctp-service" | "-f"
            | "--fwmark-service" => {
                if o.service.is_some() {
                    return Err(RuleError::Conflict("more than one service given"));
                }
                o.service = Some((a, value(a)?));
            }
            "-6" | "--ipv6" => {
                if !matches!(o.service, Some(("-f" | "--fwmark-service", _))) {
                    return Err(RuleError::Conflict("-6 used before -f"));
                }
                o.v6 = true;
            }
            "-s" | "--scheduler" => o.sched = Some(value(a)?),
            "-p" | "--persistent" => {
                // The timeout is optional, as with popt's OPTIONAL flag.
                let v = args.get(i).copied().filter(|v| !v.starts_with('-'));
                if v.is_some() {
                    i += 1;
                }
                o.persistent = Some(v);
            }
            "-M" | "--netmask" => o.netmask = Some(value(a)?),
            "--pe" => o.pe = Some(value(a)?),
            "-o" | "--ops" => o.ops = true,
            "-b" | "--sched-flags" => o.sched_flags = Some(value(a)?),
            "-r" | "--real-server" => o.server = Some(value(a)?),
            "-g" | "--gatewaying" => o.forward = Some((a, Forward::Route)),
            "-i" | "--ipip" => o.forward = Some((a, Forward::Tunnel(Tunnel::Ipip))),
            "-m" | "--masquerading" => o.forward = Some((a, Forward::Masq)),
            "-w" | "--weight" => o.weight = Some(value(a)?),
            "-x" | "--u-threshold" => o.uthresh = Some(value(a)?),
            "-y" | "--l-threshold" => o.lthresh = Some(value(a)?),
            "--tun-type" => o.tun_type = Some(value(a)?),
            "--tun-port" => o.tun_port = Some(value(a)?),
            "--tun-nocsum" | "--tun-csum" | "--tun-remcsum" => {
                if o.tun_csum.is_some() {
                    return Err(RuleError::Conflict(
                        "only one of --tun-nocsum, --tun-csum, --tun-remcsum",
                    ));
                }
                let c = match a {
                    "--tun-csum" => TunnelCsum::Csum,
                    "--tun-remcsum" => TunnelCsum::RemoteCsum,
                    _ => TunnelCsum::None,
                };
                o.tun_csum = Some((a, c));
            }
            "--mcast-interface" => o.mcast_ifn = Some(value(a)?),
            "--syncid" => o.syncid = Some(value(a)?),
            "--sync-maxlen" => o.sync_maxlen = Some(value(a)?),
            "--mcast-group" => o.mcast_group = Some(value(a)?),
            "--mcast-port" => o.mcast_port = Some(value(a)?),
            "--mcast-ttl" => o.mcast_ttl = Some(value(a)?),
            // ipvsadm accepts and ignores -n in -S; harmless elsewhere.
            "-n" | "--numeric" => {}
            _ if a.starts_with('-') && a.len() > 1 && a.parse::<i64>().is_err() => {
                return Err(RuleError::UnknownOption(a.to_owned()))
            }
            _ => {
                o.positional.push(a);
                continue;
            }
        }
        o.given.push(a);
    }
    build(o)
}

const SERVICE_OPTS: &[&str] = &[
    "-s",
    "--scheduler",
    "-p",
    "--persistent",
    "-M",
    "--netmask",
    "--pe",
    "-o",
    "--ops",
    "-b",
    "--sched-flags",
];
const DEST_OPTS: &[&str] = &[
    "-r",
    "--real-server",
    "-g",
    "--gatewaying",
    "-i",
    "--ipip",
    "-m",
    "--masquerading",
    "-w",
    "--weight",
    "-x",
    "--u-threshold",
    "-y",
    "--l-threshold",
    "--tun-type",
    "--tun-port",
    "--tun-nocsum",
    "--tun-csum",
    "--tun-remcsum",
];
const DAEMON_OPTS: &[&str] = &[
    "--mcast-interface",
    "--syncid",
    "--sync-maxlen",
    "--mcast-group",
    "--mcast-port",
    "--mcast-ttl",
];
const SVC_SELECT: &[&str] = &[
    "-t",
    "--tcp-service",
    "-u",
    "--udp-service",
    "--sctp-service",
    "-f",
    "--fwmark-service",
    "-6",
    "--ipv6",
];

fn build(o: Opts<'_>) -> Result<Request, RuleError> {
    let (cmd, _) = o.cmd.ok_or(RuleError::NoCommand)?;
    // Which options each command takes (ipvsadm's commands_v_options).
    let allowed: Vec<&[&str]> = match cmd {
        Cmd::AddService | Cmd::EditService => vec![SVC_SELECT, SERVICE_OPTS],
        Cmd::DelService | Cmd::Zero => vec![SVC_SELECT],
        Cmd::AddDest | Cmd::EditDest => vec![SVC_SELECT, DEST_OPTS],
        Cmd::DelDest => vec![SVC_SELECT, &["-r", "--real-server"]],
        Cmd::StartDaemon => vec![DAEMON_OPTS],
        Cmd::StopDaemon => vec![&["--syncid"]],
        Cmd::Flush | Cmd::Set => vec![],
    };
    for g in &o.given {
        let is_cmd = o.cmd.map(|(_, c)| c == *g).unwrap_or(false);
        if !is_cmd && !allowed.iter().any(|set| set.contains(g)) {
            return Err(RuleError::Illegal {
                opt: (*g).to_owned(),
                cmd: cmd.name(),
            });
        }
    }
    if cmd != Cmd::Set {
        if let Some(p) = o.positional.first() {
            return Err(RuleError::Unexpected((*p).to_owned()));
        }
    }
    let key = match o.service {
        Some((opt, v)) => Some(match opt {
            "-t" | "--tcp-service" => parse_inet_service(Protocol::Tcp, v)?,
            "-u" | "--udp-service" => parse_inet_service(Protocol::Udp, v)?,
            "--sctp-service" => parse_inet_service(Protocol::Sctp, v)?,
            _ => parse_fwmark(v, o.v6)?,
        }),
        None => None,
    };
    let need_key = |what| -> Result<ServiceKey, RuleError> {
        key.ok_or(RuleError::Missing {
            cmd: cmd.name(),
            what,
        })
    };
    match cmd {
        Cmd::AddService | Cmd::EditService => {
            let key = need_key("a service (-t, -u, --sctp-service or -f)")?;
            let s = build_service(key, &o)?;
            Ok(if cmd == Cmd::AddService {
                Request::NewService(s)
            } else {
                Request::SetService(s)
            })
        }
        Cmd::DelService => Ok(Request::DelService(need_key("a service")?)),
        Cmd::Zero => Ok(Request::Zero(key)),
        Cmd::Flush => Ok(Request::Flush),
        Cmd::AddDest | Cmd::EditDest | Cmd::DelDest => {
            let service = need_key("a service (-t, -u, --sctp-service or -f)")?;
            let server = o.server.ok_or(RuleError::Missing {
                cmd: cmd.name(),
                what: "a real server (-r)",
            })?;
            let dest = build_dest(service, server, &o, cmd != Cmd::DelDest)?;
            Ok(match cmd {
                Cmd::AddDest => Request::NewDest { service, dest },
                Cmd::EditDest => Request::SetDest { service, dest },
                _ => Request::DelDest {
                    service,
                    addr: dest.addr,
                },
            })
        }
        Cmd::Set => {
            if o.positional.len() != 3 {
                return Err(RuleError::Missing {
                    cmd: "set",
                    what: "3 timeout values (tcp tcpfin udp)",
                });
            }
            let t = |s| number("timeout", s, 0, u64::from(MAX_TIMEOUT)).map(|v| v as u32);
            Ok(Request::SetTimeouts(Timeouts {
                tcp: t(o.positional[0])?,
                tcp_fin: t(o.positional[1])?,
                udp: t(o.positional[2])?,
            }))
        }
        Cmd::StartDaemon | Cmd::StopDaemon => {
            let role_s = o.daemon_role.unwrap_or("");
            let role = match role_s {
                "master" => DaemonRole::Master,
                "backup" => DaemonRole::Backup,
                _ => return Err(bad("daemon role", role_s, "expected master or backup")),
            };
            if cmd == Cmd::StopDaemon {
                return Ok(Request::DelDaemon(role));
            }
            let mut d = Daemon::new(role, o.mcast_ifn.unwrap_or("eth0"), 0);
            if let Some(s) = o.syncid {
                d.sync_id = number("syncid", s, 0, 255)? as u32;
            }
            if let Some(s) = o.sync_maxlen {
                d.sync_maxlen = number("sync-maxlen", s, 1, 65535 - 20 - 8)? as u16;
            }
            if let Some(s) = o.mcast_port {
                d.mcast_port = number("mcast-port", s, 1, 65535)? as u16;
            }
            if let Some(s) = o.mcast_ttl {
                d.mcast_ttl = number("mcast-ttl", s, 1, 255)? as u8;
            }
            if let Some(s) = o.mcast_group {
                let ip: IpAddr = s
                    .parse()
                    .map_err(|_| bad("mcast-group", s, "not an IP address"))?;
                if !ip.is_multicast() {
                    return Err(bad("mcast-group", s, "not a multicast address"));
                }
                d.mcast_group = Some(ip);
            }
            Ok(Request::NewDaemon(d))
        }
    }
}

fn build_service(key: ServiceKey, o: &Opts<'_>) -> Result<Service, RuleError> {
    let sched = o.sched.unwrap_or(DEFAULT_SCHEDULER);
    let mut s = Service::new(key, sched);
    let v6 = key.family() == Family::V6;
    if let Some(t) = o.persistent {
        let timeout = match t {
            Some(t) => number("persistent timeout", t, 1, u64::from(MAX_TIMEOUT))? as u32,
            None => DEFAULT_PERSISTENT_TIMEOUT,
        };
        s.persistence = Some(Persistence {
            timeout,
            netmask: Netmask::host(key.family()),
        });
    }
    if let Some(m) = o.netmask {
        let mask = if v6 {
            Netmask::V6(number("IPv6 netmask", m, 1, 128)? as u8)
        } else {
            Netmask::V4(
                m.parse()
                    .map_err(|_| bad("netmask", m, "expected a dotted IPv4 netmask"))?,
            )
        };
        // ipvsadm keeps -M without -p in the (unused) netmask field.
        if let Some(p) = &mut s.persistence {
            p.netmask = mask;
        }
    }
    s.pe_name = o.pe.map(str::to_owned);
    s.one_packet = o.ops;
    if let Some(f) = o.sched_flags {
        s.sched_flags = parse_sched_flags(sched, f)?;
    }
    if let ServiceKey::Inet { protocol, addr } = key {
        if addr.port() == 0 && s.persistence.is_none() {
            return Err(RuleError::Conflict(
                "Zero port specified for non-persistent service",
            ));
        }
        if s.one_packet && protocol != Protocol::Udp {
            return Err(RuleError::Conflict(
                "One-Packet Scheduling is only for UDP virtual services",
            ));
        }
    }
    Ok(s)
}

fn build_dest(
    service: ServiceKey,
    server: &str,
    o: &Opts<'_>,
    force_port: bool,
) -> Result<Dest, RuleError> {
    let (ip, port) = parse_addr_port(server)?;
    let svc_port = match service {
        ServiceKey::Inet { addr, .. } => addr.port(),
        ServiceKey::Fwmark { .. } => 0,
    };
    let mut port = port.unwrap_or(svc_port);
    let forward = match o.forward.map(|f| f.1).unwrap_or(Forward::Route) {
        Forward::Tunnel(_) => Forward::Tunnel(build_tunnel(o)?),
        f => {
            if o.tun_type.is_some() || o.tun_port.is_some() || o.tun_csum.is_some() {
                return Err(RuleError::Conflict(
                    "Tunnel options conflict with forward method",
                ));
            }
            f
        }
    };
    // DR and tunnels cannot change the port: ipvsadm forces the service's.
    if force_port
        && matches!(service, ServiceKey::Inet { .. })
        && matches!(forward, Forward::Route | Forward::Tunnel(_))
    {
        port = svc_port;
    }
    if Family::of(&ip) != service.family() && !matches!(forward, Forward::Tunnel(_)) {
        return Err(RuleError::Conflict(
            "Different address family is allowed only for tunneling servers",
        ));
    }
    let mut d = Dest::new(SocketAddr::new(ip, port), forward, 1);
    if let Some(w) = o.weight {
        d.weight = number("weight", w, 0, 65535)? as u32;
    }
    if let Some(x) = o.uthresh {
        d.upper_threshold = number("u-threshold", x, 0, i32::MAX as u64)? as u32;
    }
    if let Some(y) = o.lthresh {
        d.lower_threshold = number("l-threshold", y, 0, i32::MAX as u64)? as u32;
    }
    Ok(d)
}

fn build_tunnel(o: &Opts<'_>) -> Result<Tunnel, RuleError> {
    let csum = o.tun_csum.map(|c| c.1).unwrap_or_default();
    let port = o
        .tun_port
        .map(|p| number("tunnel port", p, 1, 65535).map(|v| v as u16))
        .transpose()?;
    match o.tun_type.unwrap_or("ipip") {
        "ipip" => {
            if o.tun_port.is_some() || o.tun_csum.is_some() {
                return Err(RuleError::Conflict(
                    "tunnel port and checksum options are illegal with the 'ipip' tunnel type",
                ));
            }
            Ok(Tunnel::Ipip)
        }
        "gue" => Ok(Tunnel::Gue {
            port: port.ok_or(RuleError::Conflict(
                "You need to supply the 'tun-port' option for the 'gue' tunnel type",
            ))?,
            csum,
        }),
        "gre" => {
            if port.is_some() {
                return Err(RuleError::Conflict(
                    "Illegal 'tun-port' option with the 'gre' tunnel type",
                ));
            }
            if csum == TunnelCsum::RemoteCsum {
                return Err(RuleError::Conflict(
                    "Illegal 'tun-remcsum' option with the 'gre' tunnel type",
                ));
            }
            Ok(Tunnel::Gre { csum })
        }
        other => Err(bad("tunnel type", other, "expected ipip, gue or gre")),
    }
}

/// One request per non-empty, non-comment line of `ipvsadm -S` output (or
/// any ipvsadm command lines). Errors carry the 1-based line number.
pub fn parse_rules(text: &str) -> Result<Vec<(usize, Request)>, (usize, RuleError)> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let mut words: Vec<&str> = line.split_whitespace().collect();
        if words.first() == Some(&"ipvsadm") {
            words.remove(0);
        }
        if words.is_empty() || words[0].starts_with('#') {
            continue;
        }
        out.push((n + 1, parse_rule(&words).map_err(|e| (n + 1, e))?));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::VirtualServer;
    use crate::format;

    fn rule(s: &str) -> Result<Request, RuleError> {
        parse_rule(&s.split_whitespace().collect::<Vec<_>>())
    }

    #[test]
    fn service_lines() {
        let r = rule("-A -t 192.0.2.10:80 -s wlc -p 300 -M 255.255.255.0").unwrap();
        let Request::NewService(s) = r else {
            panic!("{r:?}")
        };
        assert_eq!(s.key, ServiceKey::tcp("192.0.2.10:80".parse().unwrap()));
        assert_eq!(
            s.persistence,
            Some(Persistence {
                timeout: 300,
                netmask: Netmask::V4(Ipv4Addr::new(255, 255, 255, 0))
            })
        );
        let Request::NewService(s) = rule("-A -f 5 -6 -s sh -b sh-port,sh-fallback -p").unwrap()
        else {
            panic!()
        };
        assert_eq!(
            s.key,
            ServiceKey::Fwmark {
                family: Family::V6,
                mark: 5
            }
        );
        assert_eq!(s.persistence.unwrap().timeout, 360);
        assert_eq!(s.sched_flags, SchedFlags::FALLBACK.union(SchedFlags::PORT));
        let Request::SetService(s) = rule("-E -u [2001:db8::1]:53").unwrap() else {
            panic!()
        };
        assert_eq!(s.scheduler, "wlc");
    }

    #[test]
    fn dest_lines() {
        let r = rule("-a -t 192.0.2.10:80 -r 198.51.100.1 -g -w 3").unwrap();
        assert_eq!(
            r,
            Request::NewDest {
                service: ServiceKey::tcp("192.0.2.10:80".parse().unwrap()),
                dest: Dest::new("198.51.100.1:80".parse().unwrap(), Forward::Route, 3)
            }
        );
        // DR forces the service port even if another is given.
        let Request::NewDest { dest, .. } =
            rule("-a -t 192.0.2.10:80 -r 198.51.100.1:8080").unwrap()
        else {
            panic!()
        };
        assert_eq!(dest.addr.port(), 80);
        let Request::SetDest { dest, .. } = rule(
            "-e -f 1 -r 198.51.100.1 -i --tun-type gue --tun-port 6080 --tun-remcsum -x 10 -y 5",
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(
            dest.forward,
            Forward::Tunnel(Tunnel::Gue {
                port: 6080,
                csum: TunnelCsum::RemoteCsum
            })
        );
        assert_eq!((dest.upper_threshold, dest.lower_threshold), (10, 5));
        assert_eq!(
            rule("-d -u 192.0.2.1:53 -r 198.51.100.2:5353").unwrap(),
            Request::DelDest {
                service: ServiceKey::udp("192.0.2.1:53".parse().unwrap()),
                addr: "198.51.100.2:5353".parse().unwrap()
            }
        );
    }

    #[test]
    fn other_commands() {
        assert_eq!(rule("-C").unwrap(), Request::Flush);
        assert_eq!(rule("-Z").unwrap(), Request::Zero(None));
        assert_eq!(
            rule("--set 900 120 300").unwrap(),
            Request::SetTimeouts(Timeouts {
                tcp: 900,
                tcp_fin: 120,
                udp: 300
            })
        );
        let Request::NewDaemon(d) =
            rule("--start-daemon backup --mcast-interface lo --syncid 3 --mcast-group 239.1.2.3")
                .unwrap()
        else {
            panic!()
        };
        assert_eq!(
            (d.role, d.ifname.as_str(), d.sync_id),
            (DaemonRole::Backup, "lo", 3)
        );
        assert_eq!(
            rule("--stop-daemon master").unwrap(),
            Request::DelDaemon(DaemonRole::Master)
        );
    }

    #[test]
    fn errors_are_specific() {
        assert_eq!(rule("-t 192.0.2.1:80"), Err(RuleError::NoCommand));
        assert!(matches!(
            rule("-A -t 192.0.2.1:80 -r 198.51.100.1"),
            Err(RuleError::Illegal { .. })
        ));
        assert!(matches!(
            rule("-A -t www.example.com:80"),
            Err(RuleError::Value { .. })
        ));
        assert!(matches!(
            rule("-A -t 192.0.2.1:http"),
            Err(RuleError::Value { .. })
        ));
        assert!(matches!(
            rule("-A -t 192.0.2.1"),
            Err(RuleError::Conflict(_))
        ));
        assert!(matches!(
            rule("-A -t 192.0.2.1:80 -o"),
            Err(RuleError::Conflict(_))
        ));
        assert!(matches!(
            rule("-A -t 192.0.2.1:80 -s rr -b sh-port"),
            Err(RuleError::Value { .. })
        ));
        assert!(matches!(
            rule("-a -t 192.0.2.1:80 -r [2001:db8::1]:80 -m"),
            Err(RuleError::Conflict(_))
        ));
        assert!(matches!(
            rule("-a -t 192.0.2.1:80 -r 198.51.100.1 -m --tun-type gue"),
            Err(RuleError::Conflict(_))
        ));
        assert!(matches!(
            rule("-a -t 192.0.2.1:80 -r 198.51.100.1 -i --tun-type gue"),
            Err(RuleError::Conflict(_))
        ));
        assert!(matches!(
            rule("-a -t 192.0.2.1:80 -r 198.51.100.1 -w 70000"),
            Err(RuleError::Value { .. })
        ));
        assert!(matches!(
            rule("-A -E -t 192.0.2.1:80"),
            Err(RuleError::TwoCommands(..))
        ));
        assert!(matches!(
            rule("-A -t 192.0.2.1:80 --bogus"),
            Err(RuleError::UnknownOption(_))
        ));
        assert!(matches!(rule("--set 1 2"), Err(RuleError::Missing { .. })));
        assert!(matches!(rule("-A -6 -f 1"), Err(RuleError::Conflict(_))));
        assert_eq!(parse_rules("-A -t 192.0.2.1:80\n-X\n").unwrap_err().0, 2);
    }

    #[test]
    fn save_then_parse_round_trips() {
        let text = "\
-A -t 192.0.2.10:80 -s wlc -p 300 -M 255.255.255.0
-a -t 192.0.2.10:80 -r 198.51.100.1:8080 -m -w 1
-A -u 192.0.2.10:53 -s sh -o -b sh-fallback,sh-port
-a -u 192.0.2.10:53 -r 198.51.100.3:53 -g -w 0
-A -t [2001:db8::1]:443 -s rr -p 60 -M 64 --pe sip
-a -t [2001:db8::1]:443 -r [2001:db8::20]:443 -m -w 1
-A -f 5 -s mh
-a -f 5 -r 198.51.100.8:0 -i -w 1 --tun-type ipip
-a -f 5 -r 198.51.100.9:0 -i -w 2 --tun-type gue --tun-port 6080 --tun-csum
-a -f 5 -r [2001:db8::7]:0 -i -w 1 --tun-type gre --tun-nocsum
";
        let reqs = parse_rules(text).unwrap();
        let mut table: Vec<VirtualServer> = Vec::new();
        for (_, r) in reqs {
            match r {
                Request::NewService(s) => table.push(VirtualServer {
                    entry: ServiceEntry {
                        service: s,
                        stats: Stats::default(),
                    },
                    dests: vec![],
                }),
                Request::NewDest { service, dest } => {
                    let vs = table
                        .iter_mut()
                        .find(|v| v.entry.service.key == service)
                        .unwrap();
                    vs.dests.push(DestEntry {
                        dest,
                        active_conns: 0,
                        inactive_conns: 0,
                        persistent_conns: 0,
                        stats: Stats::default(),
                    });
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(format::save(&table), text);
    }
}
