//! ipvsadm-compatible text: `ipvsadm -Ln` (and `--stats`, `--rate`,
//! `--thresholds`, `--persistent-conn`, `--tun-info`, `--exact`), `-Sn`,
//! `--timeout` and `--daemon`, byte for byte as ipvsadm 1.31 prints them.
//! Pure code over dumped values.

use crate::client::VirtualServer;
use crate::types::*;
use std::fmt::Write;
use std::net::{IpAddr, SocketAddr};

/// Which listing, as ipvsadm's format flags. When several are set the first
/// in ipvsadm's precedence wins: stats, rate, thresholds, persistent_conn,
/// tun_info.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListOptions {
    pub stats: bool,
    pub rate: bool,
    pub thresholds: bool,
    pub persistent_conn: bool,
    pub tun_info: bool,
    /// Exact numbers instead of K/M/G/T.
    pub exact: bool,
    /// Kernel order instead of ipvsadm's sort.
    pub nosort: bool,
}

#[derive(Clone, Copy)]
enum Mode {
    Rule,
    Stats,
    Rate,
    Thresholds,
    PersistConn,
    TunInfo,
    Plain,
}

impl ListOptions {
    fn mode(&self) -> Mode {
        if self.stats {
            Mode::Stats
        } else if self.rate {
            Mode::Rate
        } else if self.thresholds {
            Mode::Thresholds
        } else if self.persistent_conn {
            Mode::PersistConn
        } else if self.tun_info {
            Mode::TunInfo
        } else {
            Mode::Plain
        }
    }
}

/// `ipvsadm -Ln [opts]`: the version line, the title and every service.
pub fn list(info: &Info, table: &[VirtualServer], opts: &ListOptions) -> String {
    let (maj, min, patch) = info.version_triple();
    let mut out = format!(
        "IP Virtual Server version {maj}.{min}.{patch} (size={})\n",
        info.conn_tab_size as i32
    );
    list_body(&mut out, table, opts, opts.mode());
    out
}

/// `ipvsadm -Ln -t|-u|-f SERVICE [opts]`: no version line.
pub fn list_service(vs: &VirtualServer, opts: &ListOptions) -> String {
    let mut out = String::new();
    list_body(&mut out, std::slice::from_ref(vs), opts, opts.mode());
    out
}

/// `ipvsadm -Sn`: the table as rules for `ipvsadm -R`.
pub fn save(table: &[VirtualServer]) -> String {
    let mut out = String::new();
    list_body(&mut out, table, &ListOptions::default(), Mode::Rule);
    out
}

/// `ipvsadm -L --timeout`.
pub fn timeouts(t: &Timeouts) -> String {
    format!(
        "Timeout (tcp tcpfin udp): {} {} {}\n",
        t.tcp as i32, t.tcp_fin as i32, t.udp as i32
    )
}

/// `ipvsadm -L --daemon`: one line per running daemon, nothing if none.
pub fn daemons(ds: &[Daemon]) -> String {
    let mut out = String::new();
    // ipvsadm reads two slots and prints them in kernel order.
    for d in ds.iter().take(2) {
        let _ = write!(
            out,
            "{} sync daemon (mcast={}, syncid={}",
            d.role.name(),
            d.ifname,
            d.sync_id as i32
        );
        if d.sync_maxlen != 0 {
            let _ = write!(out, ", maxlen={}", d.sync_maxlen);
        }
        if let Some(g) = d.mcast_group {
            let _ = write!(out, ", group={g}");
        }
        if d.mcast_port != 0 {
            let _ = write!(out, ", port={}", d.mcast_port);
        }
        if d.mcast_ttl != 0 {
            let _ = write!(out, ", ttl={}", d.mcast_ttl);
        }
        out.push_str(")\n");
    }
    out
}

fn title(out: &mut String, mode: Mode) {
    let t = match mode {
        Mode::Rule => return,
        Mode::Stats => format!(
            "{:<33} {:>8} {:>8} {:>8} {:>8} {:>8}\n  -> RemoteAddress:Port\n",
            "Prot LocalAddress:Port", "Conns", "InPkts", "OutPkts", "InBytes", "OutBytes"
        ),
        Mode::Rate => format!(
            "{:<33} {:>8} {:>8} {:>8} {:>8} {:>8}\n  -> RemoteAddress:Port\n",
            "Prot LocalAddress:Port", "CPS", "InPPS", "OutPPS", "InBPS", "OutBPS"
        ),
        Mode::Thresholds => format!(
            "{:<33} {:<10} {:<10} {:<10} {:<10}\n  -> RemoteAddress:Port\n",
            "Prot LocalAddress:Port", "Uthreshold", "Lthreshold", "ActiveConn", "InActConn"
        ),
        Mode::PersistConn => format!(
            "{:<33} {:<9} {:<11} {:<10} {:<10}\n  -> RemoteAddress:Port\n",
            "Prot LocalAddress:Port", "Weight", "PersistConn", "ActiveConn", "InActConn"
        ),
        Mode::TunInfo => "Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn\n".to_owned(),
        Mode::Plain => "Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n".to_owned(),
    };
    out.push_str(&t);
}

fn list_body(out: &mut String, table: &[VirtualServer], opts: &ListOptions, mode: Mode) {
    title(out, mode);
    let mut order: Vec<&VirtualServer> = table.iter().collect();
    if !opts.nosort {
        glibc_msort(&mut order, &|a, b| {
            cmp_services(&a.entry.service.key, &b.entry.service.key)
        });
    }
    for vs in order {
        service_entry(out, vs, opts, mode);
    }
}

/// `printf("%s%s%s:%u")` of ipvsadm's numeric `addrport_to_anyname`.
fn addrport(addr: &SocketAddr) -> String {
    match addr.ip() {
        IpAddr::V4(a) => format!("{a}:{}", addr.port()),
        IpAddr::V6(a) => format!("[{a}]:{}", addr.port()),
    }
}

fn truncate(mut s: String, n: usize) -> String {
    if s.len() > n {
        s.truncate(n);
    }
    s
}

fn sched_flags_text(s: &Service) -> String {
    let f = s.sched_flags;
    let names: [(SchedFlags, &str); 3] = match s.scheduler.as_str() {
        "sh" => [
            (SchedFlags::FALLBACK, "sh-fallback"),
            (SchedFlags::PORT, "sh-port"),
            (SchedFlags::NONE, ""),
        ],
        "mh" => [
            (SchedFlags::FALLBACK, "mh-fallback"),
            (SchedFlags::PORT, "mh-port"),
            (SchedFlags::NONE, ""),
        ],
        _ => [
            (SchedFlags::FLAG1, "flag-1"),
            (SchedFlags::FLAG2, "flag-2"),
            (SchedFlags::FLAG3, "flag-3"),
        ],
    };
    names
        .iter()
        .filter(|(bit, _)| !bit.is_empty() && f.contains(*bit))
        .map(|(_, n)| *n)
        .collect::<Vec<_>>()
        .join(",")
}

fn largenum(out: &mut String, i: u64, exact: bool) {
    if exact {
        let len = i.to_string().len();
        let w = if len <= 8 { 9 } else { len + 1 };
        let _ = write!(out, "{i:>w$}");
    } else if i < 100_000_000 {
        let _ = write!(out, "{i:>9}");
    } else if i < 1_000_000_000 {
        let _ = write!(out, "{:>8}K", i / 1000);
    } else if i < 100_000_000_000 {
        let _ = write!(out, "{:>8}M", i / 1_000_000);
    } else if i < 100_000_000_000_000 {
        let _ = write!(out, "{:>8}G", i / 1_000_000_000);
    } else {
        let _ = write!(out, "{:>8}T", i / 1_000_000_000_000);
    }
}

fn stats5(out: &mut String, a: [u64; 5], exact: bool) {
    for v in a {
        largenum(out, v, exact);
    }
}

fn fwd_switch(f: &Forward) -> &'static str {
    match f {
        Forward::Masq => "-m",
        Forward::Tunnel(_) => "-i",
        Forward::Local | Forward::Route => "-g",
    }
}

fn csum_short(c: TunnelCsum) -> &'static str {
    match c {
        TunnelCsum::None => "-c",
        TunnelCsum::Csum => "+c",
        TunnelCsum::RemoteCsum => "r+c",
    }
}

fn csum_opt(c: TunnelCsum) -> &'static str {
    match c {
        TunnelCsum::None => "--tun-nocsum",
        TunnelCsum::Csum => "--tun-csum",
        TunnelCsum::RemoteCsum => "--tun-remcsum",
    }
}

fn service_entry(out: &mut String, vs: &VirtualServer, opts: &ListOptions, mode: Mode) {
    let s = &vs.entry.service;
    let v6 = s.key.family() == Family::V6;
    let rule = matches!(mode, Mode::Rule);
    let svc_name = match (&s.key, rule) {
        (ServiceKey::Fwmark { mark, .. }, true) => {
            format!("-f {}{}", *mark as i32, if v6 { " -6" } else { "" })
        }
        (ServiceKey::Fwmark { mark, .. }, false) => {
            format!("FWM  {}{}", *mark as i32, if v6 { " IPv6" } else { "" })
        }
        (ServiceKey::Inet { protocol, addr }, true) => {
            let opt = match protocol {
                Protocol::Tcp => "-t",
                Protocol::Udp => "-u",
                Protocol::Sctp => "--sctp-service",
            };
            format!("{opt} {}", addrport(addr))
        }
        (ServiceKey::Inet { protocol, addr }, false) => {
            let n = format!("{:<4} {}", protocol.name(), addrport(addr));
            if v6 {
                n
            } else {
                truncate(n, 33)
            }
        }
    };
    let st = &vs.entry.stats;
    match mode {
        Mode::Rule => {
            let _ = write!(out, "-A {svc_name} -s {}", s.scheduler);
            if let Some(p) = &s.persistence {
                let _ = write!(out, " -p {}", p.timeout);
                match p.netmask {
                    Netmask::V4(m) if !v6 && u32::from(m) != u32::MAX => {
                        let _ = write!(out, " -M {m}");
                    }
                    Netmask::V6(len) if v6 && len != 128 => {
                        let _ = write!(out, " -M {len}");
                    }
                    _ => {}
                }
            }
            if let Some(pe) = &s.pe_name {
                let _ = write!(out, " --pe {pe}");
            }
            if s.one_packet {
                out.push_str(" -o");
            }
            if !s.sched_flags.is_empty() {
                let _ = write!(out, " -b {}", sched_flags_text(s));
            }
        }
        Mode::Stats => {
            let _ = write!(out, "{svc_name:<33}");
            stats5(
                out,
                [st.conns, st.inpkts, st.outpkts, st.inbytes, st.outbytes],
                opts.exact,
            );
        }
        Mode::Rate => {
            let _ = write!(out, "{svc_name:<33}");
            stats5(
                out,
                [st.cps, st.inpps, st.outpps, st.inbps, st.outbps],
                opts.exact,
            );
        }
        _ => {
            let _ = write!(out, "{svc_name} {}", s.scheduler);
            if !s.sched_flags.is_empty() {
                let _ = write!(out, " ({})", sched_flags_text(s));
            }
            if let Some(p) = &s.persistence {
                let _ = write!(out, " persistent {}", p.timeout);
                match p.netmask {
                    Netmask::V4(m) if !v6 && u32::from(m) != u32::MAX => {
                        let _ = write!(out, " mask {m}");
                    }
                    Netmask::V6(len) if v6 && len != 128 => {
                        let _ = write!(out, " mask {len}");
                    }
                    _ => {}
                }
                if let Some(pe) = &s.pe_name {
                    let _ = write!(out, " pe {pe}");
                }
            }
            if s.one_packet {
                out.push_str(" ops");
            }
        }
    }
    out.push('\n');

    let mut dests: Vec<&DestEntry> = vs.dests.iter().collect();
    if !opts.nosort {
        glibc_msort(&mut dests, &|a, b| cmp_dests(&a.dest.addr, &b.dest.addr));
    }
    for e in dests {
        let d = &e.dest;
        let dname = addrport(&d.addr);
        let dname = if !rule && d.addr.is_ipv4() {
            truncate(dname, 28)
        } else {
            dname
        };
        let w = d.weight as i32;
        let ds = &e.stats;
        match mode {
            Mode::Rule => {
                let _ = write!(
                    out,
                    "-a {svc_name} -r {dname} {} -w {w}",
                    fwd_switch(&d.forward)
                );
                match d.forward {
                    Forward::Tunnel(Tunnel::Ipip) => out.push_str(" --tun-type ipip"),
                    Forward::Tunnel(Tunnel::Gue { port, csum }) => {
                        let _ = write!(out, " --tun-type gue --tun-port {port} {}", csum_opt(csum));
                    }
                    Forward::Tunnel(Tunnel::Gre { csum }) => {
                        let _ = write!(out, " --tun-type gre {}", csum_opt(csum));
                    }
                    _ => {}
                }
                out.push('\n');
            }
            Mode::Stats => {
                let _ = write!(out, "  -> {dname:<28}");
                stats5(
                    out,
                    [ds.conns, ds.inpkts, ds.outpkts, ds.inbytes, ds.outbytes],
                    opts.exact,
                );
                out.push('\n');
            }
            Mode::Rate => {
                let _ = write!(
                    out,
                    "  -> {dname:<28} {:>8} {:>8} {:>8}",
                    ds.cps, ds.inpps, ds.outpps
                );
                largenum(out, ds.inbps, opts.exact);
                largenum(out, ds.outbps, opts.exact);
                out.push('\n');
            }
            Mode::Thresholds => {
                let _ = writeln!(
                    out,
                    "  -> {dname:<28} {:<10} {:<10} {:<10} {:<10}",
                    d.upper_threshold, d.lower_threshold, e.active_conns, e.inactive_conns
                );
            }
            Mode::PersistConn => {
                let _ = writeln!(
                    out,
                    "  -> {dname:<28} {:<9} {:<11} {:<10} {:<10}",
                    d.weight, e.persistent_conns, e.active_conns, e.inactive_conns
                );
            }
            Mode::TunInfo => {
                let info = match d.forward {
                    Forward::Tunnel(Tunnel::Ipip) => "ipip".to_owned(),
                    Forward::Tunnel(Tunnel::Gue { port, csum }) => {
                        format!("gue:{port}:{}", csum_short(csum))
                    }
                    Forward::Tunnel(Tunnel::Gre { csum }) => format!("gre:{}", csum_short(csum)),
                    _ => "n/a".to_owned(),
                };
                let _ = writeln!(
                    out,
                    "  -> {dname:<28} {:<7} {:<13} {w:<6} {:<10} {:<10}",
                    d.forward.name(),
                    info,
                    e.active_conns,
                    e.inactive_conns
                );
            }
            Mode::Plain => {
                let _ = writeln!(
                    out,
                    "  -> {dname:<28} {:<7} {w:<6} {:<10} {:<10}",
                    d.forward.name(),
                    e.active_conns,
                    e.inactive_conns
                );
            }
        }
    }
}

/// The 16 bytes of a `union nf_inet_addr` as four host-order words.
fn words(ip: &IpAddr) -> [u32; 4] {
    match ip {
        IpAddr::V4(a) => [u32::from(*a), 0, 0, 0],
        IpAddr::V6(a) => {
            let o = a.octets();
            let w = |i: usize| u32::from_be_bytes([o[i], o[i + 1], o[i + 2], o[i + 3]]);
            [w(0), w(4), w(8), w(12)]
        }
    }
}

/// libipvs's address comparison: `ntohl(a) - ntohl(b)` as a C int, i.e.
/// wrapping — reproduced because it decides ipvsadm's order.
fn cmp_addr(a: &IpAddr, b: &IpAddr) -> i32 {
    let (wa, wb) = (words(a), words(b));
    let n = if a.is_ipv6() { 4 } else { 1 };
    for i in 0..n {
        let r = wa[i].wrapping_sub(wb[i]) as i32;
        if r != 0 {
            return r;
        }
    }
    0
}

/// `ipvs_cmp_services` of libipvs.
pub fn cmp_services(a: &ServiceKey, b: &ServiceKey) -> i32 {
    let parts = |k: &ServiceKey| -> (u32, u16, u16, IpAddr, u16) {
        match k {
            ServiceKey::Fwmark { family, mark } => (
                *mark,
                family.af(),
                // The kernel reports fwmark services as TCP.
                Protocol::Tcp.number(),
                match family {
                    Family::V4 => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
                    Family::V6 => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
                },
                0,
            ),
            ServiceKey::Inet { protocol, addr } => (
                0,
                Family::of(&addr.ip()).af(),
                protocol.number(),
                addr.ip(),
                addr.port(),
            ),
        }
    };
    let (fa, afa, pa, ia, porta) = parts(a);
    let (fb, afb, pb, ib, portb) = parts(b);
    let r = fa.wrapping_sub(fb) as i32;
    if r != 0 {
        return r;
    }
    let r = i32::from(afa) - i32::from(afb);
    if r != 0 {
        return r;
    }
    let r = i32::from(pa) - i32::from(pb);
    if r != 0 {
        return r;
    }
    let r = cmp_addr(&ia, &ib);
    if r != 0 {
        return r;
    }
    i32::from(porta) - i32::from(portb)
}

/// `ipvs_cmp_dests` of libipvs.
pub fn cmp_dests(a: &SocketAddr, b: &SocketAddr) -> i32 {
    let r = cmp_addr(&a.ip(), &b.ip());
    if r != 0 {
        return r;
    }
    i32::from(a.port()) - i32::from(b.port())
}

/// glibc 2.36's `qsort` (a top-down merge sort), so that even libipvs's
/// non-transitive comparisons give ipvsadm's order.
pub fn glibc_msort<T: Copy>(v: &mut [T], cmp: &impl Fn(&T, &T) -> i32) {
    let n = v.len();
    if n <= 1 {
        return;
    }
    let n1 = n / 2;
    {
        let (a, b) = v.split_at_mut(n1);
        glibc_msort(a, cmp);
        glibc_msort(b, cmp);
    }
    let mut tmp = Vec::with_capacity(n);
    let (mut i, mut j) = (0, n1);
    while i < n1 && j < n {
        if cmp(&v[i], &v[j]) <= 0 {
            tmp.push(v[i]);
            i += 1;
        } else {
            tmp.push(v[j]);
            j += 1;
        }
    }
    tmp.extend_from_slice(&v[i..n1]);
    tmp.extend_from_slice(&v[j..n]);
    v.copy_from_slice(&tmp);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn dest(addr: &str, forward: Forward, weight: u32) -> DestEntry {
        DestEntry {
            dest: Dest::new(addr.parse().unwrap(), forward, weight),
            active_conns: 0,
            inactive_conns: 0,
            persistent_conns: 0,
            stats: Stats::default(),
        }
    }

    fn vs(s: Service, dests: Vec<DestEntry>) -> VirtualServer {
        VirtualServer {
            entry: ServiceEntry {
                service: s,
                stats: Stats::default(),
            },
            dests,
        }
    }

    fn sample() -> Vec<VirtualServer> {
        let mut web = Service::new(ServiceKey::tcp("192.0.2.10:80".parse().unwrap()), "wlc");
        web.persistence = Some(Persistence {
            timeout: 300,
            netmask: Netmask::V4(Ipv4Addr::new(255, 255, 255, 0)),
        });
        let mut dns = Service::new(ServiceKey::udp("192.0.2.10:53".parse().unwrap()), "sh");
        dns.sched_flags = SchedFlags::FALLBACK.union(SchedFlags::PORT);
        dns.one_packet = true;
        let mut v6 = Service::new(ServiceKey::tcp("[2001:db8::1]:443".parse().unwrap()), "rr");
        v6.persistence = Some(Persistence {
            timeout: 60,
            netmask: Netmask::V6(64),
        });
        v6.pe_name = Some("sip".into());
        let fwm = Service::new(
            ServiceKey::Fwmark {
                family: Family::V4,
                mark: 5,
            },
            "mh",
        );
        vec![
            vs(v6, vec![dest("[2001:db8::20]:443", Forward::Masq, 1)]),
            vs(
                fwm,
                vec![
                    dest(
                        "198.51.100.9:0",
                        Forward::Tunnel(Tunnel::Gue {
                            port: 6080,
                            csum: TunnelCsum::Csum,
                        }),
                        2,
                    ),
                    dest("198.51.100.8:0", Forward::Tunnel(Tunnel::Ipip), 1),
                    dest(
                        "[2001:db8::7]:0",
                        Forward::Tunnel(Tunnel::Gre {
                            csum: TunnelCsum::None,
                        }),
                        1,
                    ),
                ],
            ),
            vs(
                web,
                vec![
                    dest("198.51.100.2:8080", Forward::Masq, 3),
                    dest("198.51.100.1:8080", Forward::Masq, 1),
                ],
            ),
            vs(dns, vec![dest("198.51.100.3:53", Forward::Route, 0)]),
        ]
    }

    const INFO: Info = Info {
        version: 0x010201,
        conn_tab_size: 4096,
    };

    #[test]
    fn list_matches_ipvsadm_ln() {
        let expected = "\
IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  192.0.2.10:80 wlc persistent 300 mask 255.255.255.0
  -> 198.51.100.1:8080            Masq    1      0          0         
  -> 198.51.100.2:8080            Masq    3      0          0         
UDP  192.0.2.10:53 sh (sh-fallback,sh-port) ops
  -> 198.51.100.3:53              Route   0      0          0         
TCP  [2001:db8::1]:443 rr persistent 60 mask 64 pe sip
  -> [2001:db8::20]:443           Masq    1      0          0         
FWM  5 mh
  -> 198.51.100.8:0               Tunnel  1      0          0         
  -> 198.51.100.9:0               Tunnel  2      0          0         
  -> [2001:db8::7]:0              Tunnel  1      0          0         
";
        assert_eq!(list(&INFO, &sample(), &ListOptions::default()), expected);
    }

    #[test]
    fn save_matches_ipvsadm_sn() {
        let expected = "\
-A -t 192.0.2.10:80 -s wlc -p 300 -M 255.255.255.0
-a -t 192.0.2.10:80 -r 198.51.100.1:8080 -m -w 1
-a -t 192.0.2.10:80 -r 198.51.100.2:8080 -m -w 3
-A -u 192.0.2.10:53 -s sh -o -b sh-fallback,sh-port
-a -u 192.0.2.10:53 -r 198.51.100.3:53 -g -w 0
-A -t [2001:db8::1]:443 -s rr -p 60 -M 64 --pe sip
-a -t [2001:db8::1]:443 -r [2001:db8::20]:443 -m -w 1
-A -f 5 -s mh
-a -f 5 -r 198.51.100.8:0 -i -w 1 --tun-type ipip
-a -f 5 -r 198.51.100.9:0 -i -w 2 --tun-type gue --tun-port 6080 --tun-csum
-a -f 5 -r [2001:db8::7]:0 -i -w 1 --tun-type gre --tun-nocsum
";
        assert_eq!(save(&sample()), expected);
    }

    #[test]
    fn stats_rate_and_exact() {
        let mut t = sample();
        t.truncate(1);
        t[0].entry.stats = Stats {
            conns: 12,
            inpkts: 123_456_789,
            outpkts: 5_000_000_000,
            inbytes: 200_000_000_000,
            outbytes: 300_000_000_000_000,
            cps: 1,
            inpps: 2,
            outpps: 3,
            inbps: 4,
            outbps: 5,
        };
        let opts = ListOptions {
            stats: true,
            ..Default::default()
        };
        let expected = "\
IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes
  -> RemoteAddress:Port
TCP  [2001:db8::1]:443                  12  123456K    5000M     200G     300T
  -> [2001:db8::20]:443                  0        0        0        0        0
";
        assert_eq!(list(&INFO, &t, &opts), expected);
        let exact = ListOptions {
            stats: true,
            exact: true,
            ..Default::default()
        };
        let out = list(&INFO, &t, &exact);
        assert!(out.contains("TCP  [2001:db8::1]:443                  12 123456789 5000000000 200000000000 300000000000000\n"), "{out}");
        let rate = ListOptions {
            rate: true,
            ..Default::default()
        };
        let out = list(&INFO, &t, &rate);
        assert!(out.contains(
            "Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS\n"
        ));
        assert!(
            out.contains(
                "TCP  [2001:db8::1]:443                   1        2        3        4        5\n"
            ),
            "{out}"
        );
        assert!(
            out.contains(
                "  -> [2001:db8::20]:443                  0        0        0        0        0\n"
            ),
            "{out}"
        );
    }

    #[test]
    fn tun_info_thresholds_persistent_conn() {
        let t = sample();
        let out = list(
            &INFO,
            &t[1..2],
            &ListOptions {
                tun_info: true,
                ..Default::default()
            },
        );
        assert!(out.contains(
            "  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn\n"
        ));
        assert!(out.contains("  -> 198.51.100.9:0               Tunnel  gue:6080:+c   2      0          0         \n"), "{out}");
        assert!(out.contains("  -> [2001:db8::7]:0              Tunnel  gre:-c        1      0          0         \n"), "{out}");
        let out = list(
            &INFO,
            &t[2..3],
            &ListOptions {
                thresholds: true,
                ..Default::default()
            },
        );
        assert!(
            out.contains(
                "Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn \n"
            ),
            "{out}"
        );
        assert!(
            out.contains(
                "  -> 198.51.100.1:8080            0          0          0          0         \n"
            ),
            "{out}"
        );
        let out = list(
            &INFO,
            &t[2..3],
            &ListOptions {
                persistent_conn: true,
                ..Default::default()
            },
        );
        assert!(
            out.contains(
                "Prot LocalAddress:Port            Weight    PersistConn ActiveConn InActConn \n"
            ),
            "{out}"
        );
        assert!(
            out.contains(
                "  -> 198.51.100.2:8080            3         0           0          0         \n"
            ),
            "{out}"
        );
    }

    #[test]
    fn timeout_and_daemon_lines() {
        assert_eq!(
            timeouts(&Timeouts {
                tcp: 900,
                tcp_fin: 120,
                udp: 300
            }),
            "Timeout (tcp tcpfin udp): 900 120 300\n"
        );
        let mut d = Daemon::new(DaemonRole::Master, "eth0", 0);
        d.sync_maxlen = 1472;
        d.mcast_group = Some("224.0.0.81".parse().unwrap());
        d.mcast_port = 8848;
        d.mcast_ttl = 1;
        assert_eq!(
            daemons(&[d]),
            "master sync daemon (mcast=eth0, syncid=0, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\n"
        );
        assert_eq!(daemons(&[]), "");
    }

    #[test]
    fn libipvs_order_wraps_like_c() {
        // 10.0.0.1 - 200.0.0.1 wraps to a positive int in C: 200.x sorts first.
        let a: SocketAddr = "10.0.0.1:80".parse().unwrap();
        let b: SocketAddr = "200.0.0.1:80".parse().unwrap();
        assert!(cmp_dests(&a, &b) > 0);
        let mut v = [a, b];
        glibc_msort(&mut v, &|x, y| cmp_dests(x, y));
        assert_eq!(v, [b, a]);
    }
}
