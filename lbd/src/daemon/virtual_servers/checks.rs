//! A real server's configured checker -> the healthcheck runtime's [`CheckSpec`].
//!
//! keepalived's defaults live here, where the configuration model meets the checker: the
//! target is the real server unless `connect_ip`/`connect_port` say otherwise, the interval
//! is the checker's `delay_loop` or its virtual server's, and each checker type has its own
//! retry defaults ([`Timing::new`], [`Timing::http`], [`Timing::misc`], [`Timing::dns`]).
//!
//! Not mapped because the healthcheck crate has no place for them: `bind_if` and `fwmark`
//! (every checker), and the non-connection options (`retry`, `delay_loop`, ...) of an
//! SMTP_CHECK `host { }` block, which keepalived applies to the whole checker anyway.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use healthcheck::http::{HttpProtocol, StatusCodes};
use healthcheck::spec::{
    DnsConfig, HttpConfig, MiscConfig, PingConfig, ReplyRule, SmtpConfig, TcpConfig, TlsOptions,
    UdpConfig, UrlCheck, DEFAULT_CONNECT_TIMEOUT,
};
use healthcheck::{CheckKind, CheckSpec, Endpoint, Timing};

use healthcheck::misc::{CommandLine, RunAs};

use super::script_security::{self, Insecure};
use crate::config::{
    Checker, CheckerCommon, CheckerKind, Config, DnsType, HttpVersion, MiscCheck, ScriptUser,
    SmtpCheck, UdpCheck, VirtualServer,
};
use crate::daemon::sys::script::{Credentials, ScriptError};

/// keepalived's SMTP_CHECK port when neither the checker nor its `host` block names one:
/// unlike the other checkers, SMTP does not fall back to the real server's port.
pub const SMTP_DEFAULT_PORT: u16 = 25;

/// keepalived's `HELO` argument when the SMTP_CHECK has no `helo_name`.
pub const SMTP_DEFAULT_HELO: &str = "smtpchecker.keepalived.org";

/// keepalived's `max_reply_length` default: UDP_CHECK replies longer than this fail
/// `require_reply`. The model has no `min_reply_length`/`max_reply_length` yet.
const UDP_MAX_REPLY_LEN: usize = 255;

/// A checker type the daemon cannot run yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{0} is not run by lbd yet")]
pub struct Unsupported(pub &'static str);

/// Why a configured checker is not started.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error(transparent)]
    Unsupported(#[from] Unsupported),
    /// MISC_CHECK `user` (or `script_user`) names no user or group of this system.
    #[error("MISC_CHECK {path}: {source}")]
    User {
        path: String,
        #[source]
        source: ScriptError,
    },
    #[error("MISC_CHECK {path}: cannot parse the command line: {source}")]
    Command {
        path: String,
        #[source]
        source: healthcheck::misc::CommandLineError,
    },
    /// FILE_CHECK polls nothing: the daemon watches its file instead (`file_checks`).
    #[error("FILE_CHECK is not a polled check: its track file is watched")]
    FileCheck,
    /// keepalived's words: the script would run as root from a path others can change.
    #[error("MISC_CHECK {path} is insecure and would run as root, not started (enable_script_security): {reason}")]
    Insecure { path: String, reason: Insecure },
}

/// What `global_defs` say about the scripts the checkers run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScriptPolicy {
    /// `script_user USER [GROUP]`: who a MISC_CHECK without its own `user` runs as.
    pub script_user: Option<ScriptUser>,
    /// `enable_script_security`: refuse a script that would run as root from a path a
    /// non-root user could change.
    pub security: bool,
}

impl ScriptPolicy {
    pub fn of(cfg: &Config) -> Self {
        ScriptPolicy {
            script_user: cfg.global.script_user.clone(),
            security: cfg.global.enable_script_security,
        }
    }
}

impl ScriptPolicy {
    /// Whether a MISC_CHECK of `cfg` would run as root while `enable_script_security` is off:
    /// keepalived then logs a `SECURITY VIOLATION` warning at each (re)load, and so does lbd.
    /// Users that do not resolve are left out (their checkers are refused anyway).
    pub fn unchecked_root_scripts(&self, cfg: &Config) -> bool {
        self.first_unchecked_root(cfg.virtual_servers.iter().enumerate())
            .is_some()
    }

    /// The index of the first of `vss` with a MISC_CHECK [`ScriptPolicy::unchecked_root_scripts`]
    /// warns about: a reload of some virtual servers only looks again at those, and at the
    /// others only when the one it knew of is among them.
    pub fn first_unchecked_root<'a>(
        &self,
        vss: impl IntoIterator<Item = (usize, &'a VirtualServer)>,
    ) -> Option<usize> {
        if self.security {
            return None;
        }
        // SAFETY: geteuid has no preconditions.
        let we_are_root = unsafe { libc::geteuid() } == 0;
        vss.into_iter()
            .find(|(_, vs)| {
                vs.real_servers
                    .iter()
                    .flat_map(|rs| &rs.checkers)
                    .filter_map(|c| match &c.kind {
                        CheckerKind::Misc(m) => Some(m),
                        _ => None,
                    })
                    .any(|m| match m.user.as_ref().or(self.script_user.as_ref()) {
                        None => we_are_root,
                        Some(u) => Credentials::lookup(&u.user, u.group.as_deref())
                            .is_ok_and(|c| c.uid == 0),
                    })
            })
            .map(|(i, _)| i)
    }
}

/// The check for `checker` of the real server at `rs`, in a virtual server polling every
/// `delay_loop` with `virtualhost`; `alpha` is the effective alpha mode (checker's, else the
/// virtual server's).
pub fn spec(
    checker: &Checker,
    rs: SocketAddr,
    delay_loop: Duration,
    virtualhost: Option<&str>,
    alpha: bool,
    scripts: &ScriptPolicy,
) -> Result<CheckSpec, SpecError> {
    let c = &checker.common;
    let target = SocketAddr::new(
        c.connect_ip.unwrap_or(rs.ip()),
        c.connect_port.unwrap_or(rs.port()),
    );
    let endpoint = Endpoint::new(target).bind(c.bindto, c.bind_port);
    let connect_timeout = c.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT);
    let delay_loop = c.delay_loop.unwrap_or(delay_loop);
    let (kind, base) = match &checker.kind {
        CheckerKind::Tcp => (
            CheckKind::Tcp(TcpConfig {
                endpoint,
                connect_timeout,
            }),
            Timing::new(delay_loop),
        ),
        CheckerKind::Ping => (
            CheckKind::Ping(PingConfig {
                target: target.ip(),
                connect_timeout,
            }),
            Timing::new(delay_loop),
        ),
        CheckerKind::Misc(m) => (
            CheckKind::Misc(MiscConfig {
                path: m.path.clone(),
                timeout: m.timeout,
                dynamic: m.dynamic,
                run_as: misc_run_as(m, scripts)?,
            }),
            Timing::misc(delay_loop),
        ),
        CheckerKind::Dns(d) => (
            CheckKind::Dns(Box::new(DnsConfig {
                endpoint,
                connect_timeout,
                name: d.name.clone(),
                qtype: record_type(d.query_type),
            })),
            Timing::dns(delay_loop),
        ),
        CheckerKind::Http(h) => (
            CheckKind::Http(Box::new(HttpConfig {
                endpoint,
                connect_timeout,
                urls: h.urls.iter().map(url).collect::<Result<_, _>>()?,
                virtualhost: h.virtualhost.clone().or(virtualhost.map(str::to_owned)),
                protocol: match h.protocol {
                    HttpVersion::V1_0 => HttpProtocol::V1_0,
                    HttpVersion::V1_0Close => HttpProtocol::V1_0C,
                    HttpVersion::V1_1 => HttpProtocol::V1_1,
                },
                // keepalived's SSL_GET does not verify the certificate (no `ca` in the model).
                tls: h.tls.then_some(TlsOptions {
                    enable_sni: h.enable_sni,
                    server_name: None,
                    ca_file: None,
                }),
            })),
            Timing::http(delay_loop),
        ),
        CheckerKind::Smtp(s) => (
            CheckKind::Smtp(smtp(s, c, rs.ip())?),
            Timing::new(delay_loop),
        ),
        CheckerKind::Udp(u) => (
            CheckKind::Udp(Box::new(udp(u, endpoint, connect_timeout))),
            Timing::new(delay_loop),
        ),
        CheckerKind::File(_) => return Err(SpecError::FileCheck),
    };
    let timing = base
        .with_retry(
            c.retry.unwrap_or(base.retry),
            c.delay_before_retry.unwrap_or(base.delay_before_retry),
        )
        .with_warmup(c.warmup.unwrap_or(base.warmup))
        .with_alpha(alpha);
    Ok(CheckSpec { kind, timing })
}

/// Who a MISC_CHECK runs as: its own `user`, else `script_user` (which the daemon sets to
/// keepalived's `keepalived_script` default when that account exists), else the daemon.
/// Under `enable_script_security`, a program that would run as root must be safe to.
fn misc_run_as(m: &MiscCheck, scripts: &ScriptPolicy) -> Result<Option<RunAs>, SpecError> {
    let run_as = match m.user.as_ref().or(scripts.script_user.as_ref()) {
        None => None,
        Some(u) => {
            let c = Credentials::lookup(&u.user, u.group.as_deref()).map_err(|source| {
                SpecError::User {
                    path: m.path.clone(),
                    source,
                }
            })?;
            Some(RunAs {
                uid: c.uid,
                gid: c.gid,
            })
        }
    };
    // SAFETY: geteuid has no preconditions.
    let as_root = run_as.map_or(unsafe { libc::geteuid() } == 0, |r| r.uid == 0);
    if scripts.security && as_root {
        let insecure = |reason| SpecError::Insecure {
            path: m.path.clone(),
            reason,
        };
        let command = CommandLine::parse(&m.path).map_err(|source| SpecError::Command {
            path: m.path.clone(),
            source,
        })?;
        // A shell line runs /bin/sh, and through it whatever it names first.
        let first = match &command {
            CommandLine::Direct(words) => words.first().map(String::as_str),
            CommandLine::Shell(line) => line.split_whitespace().next(),
        };
        let mut programs = Vec::with_capacity(2);
        if let CommandLine::Shell(_) = &command {
            programs.push("/bin/sh");
        }
        programs.extend(first);
        for p in programs {
            script_security::program(p)
                .and_then(|p| script_security::check(&p))
                .map_err(insecure)?;
        }
    }
    Ok(run_as)
}

/// SMTP_CHECK: one endpoint per `host { }` block, each taking the options it leaves out from
/// the checker itself (keepalived copies the checker's connection options into every host);
/// without any `host` block, the checker's own options name the one host.
fn smtp(s: &SmtpCheck, c: &CheckerCommon, rs: IpAddr) -> Result<SmtpConfig, Unsupported> {
    let own = std::slice::from_ref(c);
    let blocks = if s.hosts.is_empty() { own } else { &s.hosts };
    let mut connect_timeout = None;
    let mut hosts = Vec::with_capacity(blocks.len());
    for h in blocks {
        let target = SocketAddr::new(
            h.connect_ip.or(c.connect_ip).unwrap_or(rs),
            h.connect_port
                .or(c.connect_port)
                .unwrap_or(SMTP_DEFAULT_PORT),
        );
        hosts.push(Endpoint::new(target).bind(h.bindto.or(c.bindto), h.bind_port.or(c.bind_port)));
        let timeout = h
            .connect_timeout
            .or(c.connect_timeout)
            .unwrap_or(DEFAULT_CONNECT_TIMEOUT);
        // The runtime's SMTP checker has one timeout for all hosts.
        match connect_timeout {
            Some(t) if t != timeout => {
                return Err(Unsupported(
                    "SMTP_CHECK hosts with different connect_timeout",
                ))
            }
            _ => connect_timeout = Some(timeout),
        }
    }
    Ok(SmtpConfig {
        hosts,
        connect_timeout: connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT),
        helo_name: s
            .helo_name
            .clone()
            .unwrap_or_else(|| SMTP_DEFAULT_HELO.to_owned()),
    })
}

/// UDP_CHECK: an empty datagram unless `payload` says otherwise; with `require_reply`, the
/// reply must start with those bytes and be at most keepalived's default length.
fn udp(u: &UdpCheck, endpoint: Endpoint, connect_timeout: Duration) -> UdpConfig {
    UdpConfig {
        endpoint,
        connect_timeout,
        payload: u.payload.clone().unwrap_or_default(),
        require_reply: u.require_reply.as_ref().map(|prefix| ReplyRule {
            prefix: prefix.clone(),
            min_len: 0,
            max_len: UDP_MAX_REPLY_LEN,
        }),
    }
}

fn url(u: &crate::config::UrlCheck) -> Result<UrlCheck, Unsupported> {
    let status_codes = if u.status_codes.is_empty() {
        None
    } else {
        let text: Vec<String> = u
            .status_codes
            .iter()
            .map(|(lo, hi)| format!("{lo}-{hi}"))
            .collect();
        Some(
            text.join(" ")
                .parse::<StatusCodes>()
                .map_err(|_| Unsupported("HTTP_GET status_code outside 100-999"))?,
        )
    };
    Ok(UrlCheck {
        path: u.path.clone(),
        digest: u
            .digest
            .map(|d| d.iter().map(|b| format!("{b:02x}")).collect()),
        status_codes,
        virtualhost: u.virtualhost.clone(),
    })
}

fn record_type(t: DnsType) -> healthcheck::dns::RecordType {
    use healthcheck::dns::RecordType as R;
    match t {
        DnsType::Soa => R::Soa,
        DnsType::A => R::A,
        DnsType::Ns => R::Ns,
        DnsType::Cname => R::Cname,
        DnsType::Mx => R::Mx,
        DnsType::Txt => R::Txt,
        DnsType::Aaaa => R::Aaaa,
    }
}

/// Whether the virtual server has a PING_CHECK: the daemon counts those that have, so a
/// reload of some virtual servers knows whether any remain without looking at the others.
pub fn has_ping(spec: &crate::lvs::VsSpec) -> bool {
    spec.real_servers
        .iter()
        .flat_map(|r| &r.checkers)
        .any(|c| matches!(c.config.kind, CheckerKind::Ping))
}

/// keepalived lowers `net.ipv4.ping_group_range` to admit group 0 as soon as a PING_CHECK is
/// configured (the kernel's default range admits nobody, root included, and PING_CHECK uses
/// ping sockets); the old minimum comes back when the guard is dropped at stop. `held` is
/// the guard of the running configuration: kept while PING_CHECKs remain.
/// `pings`: some virtual server has a PING_CHECK ([`has_ping`]).
pub fn admit_ping_sockets(
    pings: bool,
    held: Option<healthcheck::ping_range::PingGroupRange>,
) -> Option<healthcheck::ping_range::PingGroupRange> {
    if !pings {
        return None;
    }
    if held.is_some() {
        return held;
    }
    match healthcheck::ping_range::PingGroupRange::admit_root() {
        Ok(g) => {
            if let Some(r) = g.changed_from() {
                tracing::info!(
                    "{} being expanded from {} {} to 0 {} for PING_CHECK",
                    healthcheck::ping_range::PATH,
                    r.min,
                    r.max,
                    r.max
                );
            }
            Some(g)
        }
        Err(e) => {
            tracing::warn!(
                "cannot admit root to ping sockets ({}): {e}; PING_CHECKs may fail",
                healthcheck::ping_range::PATH
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_str;

    const NO_POLICY: ScriptPolicy = ScriptPolicy {
        script_user: None,
        security: false,
    };

    fn checker(body: &str) -> (Checker, Duration) {
        let text = format!(
            "virtual_server 192.0.2.1 80 {{\n delay_loop 7\n real_server 198.51.100.1 80 {{\n {body}\n }}\n}}\n"
        );
        let cfg = load_str("c.conf", &text).unwrap().config;
        let vs = &cfg.virtual_servers[0];
        (vs.real_servers[0].checkers[0].clone(), vs.delay_loop)
    }

    #[test]
    fn tcp_check_defaults_to_the_real_server_and_the_vs_delay_loop() {
        let (c, dl) = checker("TCP_CHECK {\n connect_port 8080\n retry 4\n }");
        let s = spec(
            &c,
            "198.51.100.1:80".parse().unwrap(),
            dl,
            None,
            false,
            &NO_POLICY,
        )
        .unwrap();
        let CheckKind::Tcp(t) = &s.kind else {
            panic!("{s:?}")
        };
        assert_eq!(t.endpoint.connect, "198.51.100.1:8080".parse().unwrap());
        assert_eq!(t.connect_timeout, DEFAULT_CONNECT_TIMEOUT);
        assert_eq!(s.timing.delay_loop, Duration::from_secs(7));
        assert_eq!(s.timing.retry, 4);
        assert_eq!(s.timing.delay_before_retry, Duration::from_secs(1));
    }

    #[test]
    fn misc_check_has_no_retry_by_default() {
        let (c, dl) = checker("MISC_CHECK {\n misc_path \"/bin/true\"\n }");
        let s = spec(
            &c,
            "198.51.100.1:80".parse().unwrap(),
            dl,
            None,
            true,
            &NO_POLICY,
        )
        .unwrap();
        assert!(matches!(s.kind, CheckKind::Misc(_)));
        assert_eq!(s.timing.retry, 0);
        assert!(s.timing.alpha);
    }

    #[test]
    fn ssl_get_maps_tls_urls_and_connection_options() {
        let (c, dl) = checker(
            "SSL_GET {\n url {\n path /ok\n digest 9e107d9d372bb6826bd81d3542a419d6\n status_code 200\n virtualhost u.example\n }\n \
             virtualhost c.example\n enable_sni\n connect_ip 198.51.100.9\n bindto 198.51.100.2\n bind_port 4000\n \
             connect_timeout 2\n retry 5\n delay_before_retry 4\n warmup 6\n }",
        );
        let s = spec(
            &c,
            "198.51.100.1:443".parse().unwrap(),
            dl,
            Some("vs.example"),
            false,
            &NO_POLICY,
        )
        .unwrap();
        let CheckKind::Http(h) = &s.kind else {
            panic!("{s:?}")
        };
        // No connect_port: the real server's port, not 80 or 443 by protocol.
        assert_eq!(h.endpoint.connect, "198.51.100.9:443".parse().unwrap());
        assert_eq!(h.endpoint.bind_ip, Some("198.51.100.2".parse().unwrap()));
        assert_eq!(h.endpoint.bind_port, Some(4000));
        assert_eq!(h.connect_timeout, Duration::from_secs(2));
        assert_eq!(h.virtualhost.as_deref(), Some("c.example"));
        let tls = h.tls.as_ref().unwrap();
        assert!(tls.enable_sni);
        assert_eq!(
            (tls.server_name.as_ref(), tls.ca_file.as_ref()),
            (None, None)
        );
        let u = &h.urls[0];
        assert_eq!(u.path, "/ok");
        assert_eq!(
            u.digest.as_deref(),
            Some("9e107d9d372bb6826bd81d3542a419d6")
        );
        assert_eq!(u.virtualhost.as_deref(), Some("u.example"));
        let codes = u.status_codes.as_ref().unwrap();
        assert!(codes.contains(200) && !codes.contains(201));
        assert_eq!(s.timing.retry, 5);
        assert_eq!(s.timing.delay_before_retry, Duration::from_secs(4));
        assert_eq!(s.timing.warmup, Duration::from_secs(6));
        assert!(s.build().is_ok());
    }

    #[test]
    fn ssl_get_defaults_like_http_get_without_sni() {
        let (c, dl) = checker("SSL_GET {\n url {\n path /\n }\n }");
        let s = spec(
            &c,
            "198.51.100.1:8443".parse().unwrap(),
            dl,
            None,
            false,
            &NO_POLICY,
        )
        .unwrap();
        let CheckKind::Http(h) = &s.kind else {
            panic!("{s:?}")
        };
        assert_eq!(h.endpoint.connect, "198.51.100.1:8443".parse().unwrap());
        assert_eq!(h.tls, Some(TlsOptions::default()));
        assert_eq!(h.connect_timeout, DEFAULT_CONNECT_TIMEOUT);
        assert_eq!(s.timing.retry, 1);
        assert_eq!(s.timing.delay_before_retry, Duration::from_secs(3));
        let (c, dl) = checker("HTTP_GET {\n url {\n path /\n }\n }");
        let s = spec(
            &c,
            "198.51.100.1:80".parse().unwrap(),
            dl,
            None,
            false,
            &NO_POLICY,
        )
        .unwrap();
        assert!(matches!(&s.kind, CheckKind::Http(h) if h.tls.is_none()));
    }

    #[test]
    fn smtp_check_defaults_to_port_25_of_the_real_server() {
        let (c, dl) = checker("SMTP_CHECK {\n retry 2\n }");
        let s = spec(
            &c,
            "198.51.100.1:80".parse().unwrap(),
            dl,
            None,
            false,
            &NO_POLICY,
        )
        .unwrap();
        let CheckKind::Smtp(m) = &s.kind else {
            panic!("{s:?}")
        };
        assert_eq!(m.hosts, [Endpoint::new("198.51.100.1:25".parse().unwrap())]);
        assert_eq!(m.helo_name, SMTP_DEFAULT_HELO);
        assert_eq!(m.connect_timeout, DEFAULT_CONNECT_TIMEOUT);
        assert_eq!(s.timing.retry, 2);
        assert_eq!(s.timing.delay_before_retry, Duration::from_secs(1));
        assert!(s.build().is_ok());
    }

    #[test]
    fn smtp_hosts_inherit_the_checker_connection_options() {
        let (c, dl) = checker(
            "SMTP_CHECK {\n helo_name lb.example\n bindto 198.51.100.2\n connect_timeout 3\n \
             host {\n connect_ip 198.51.100.7\n }\n \
             host {\n connect_port 2525\n bind_port 5000\n connect_timeout 3\n }\n }",
        );
        let s = spec(
            &c,
            "198.51.100.1:25".parse().unwrap(),
            dl,
            None,
            false,
            &NO_POLICY,
        )
        .unwrap();
        let CheckKind::Smtp(m) = &s.kind else {
            panic!("{s:?}")
        };
        let bind: Option<IpAddr> = Some("198.51.100.2".parse().unwrap());
        assert_eq!(
            m.hosts,
            [
                Endpoint::new("198.51.100.7:25".parse().unwrap()).bind(bind, None),
                Endpoint::new("198.51.100.1:2525".parse().unwrap()).bind(bind, Some(5000)),
            ]
        );
        assert_eq!(m.helo_name, "lb.example");
        assert_eq!(m.connect_timeout, Duration::from_secs(3));
    }

    #[test]
    fn smtp_hosts_with_different_timeouts_are_refused() {
        let (c, dl) = checker(
            "SMTP_CHECK {\n host {\n connect_timeout 2\n }\n host {\n connect_ip 198.51.100.7\n }\n }",
        );
        assert!(matches!(
            spec(
                &c,
                "198.51.100.1:25".parse().unwrap(),
                dl,
                None,
                false,
                &NO_POLICY
            ),
            Err(SpecError::Unsupported(Unsupported(
                "SMTP_CHECK hosts with different connect_timeout"
            )))
        ));
    }

    #[test]
    fn udp_check_sends_the_payload_and_requires_the_reply_prefix() {
        let (c, dl) = checker(
            "UDP_CHECK {\n connect_port 53\n payload 0a0b\n require_reply 0c\n retry 0\n }",
        );
        let s = spec(
            &c,
            "198.51.100.1:80".parse().unwrap(),
            dl,
            None,
            false,
            &NO_POLICY,
        )
        .unwrap();
        let CheckKind::Udp(u) = &s.kind else {
            panic!("{s:?}")
        };
        assert_eq!(u.endpoint.connect, "198.51.100.1:53".parse().unwrap());
        assert_eq!(u.payload, [0x0a, 0x0b]);
        let rule = u.require_reply.as_ref().unwrap();
        assert!(rule.accepts(&[0x0c, 0xff]) && !rule.accepts(&[0x0d]));
        assert!(!rule.accepts(&[0x0c; UDP_MAX_REPLY_LEN + 1]));
        assert_eq!(s.timing.retry, 0);

        let (c, dl) = checker("UDP_CHECK {\n }");
        let s = spec(
            &c,
            "198.51.100.1:5000".parse().unwrap(),
            dl,
            None,
            false,
            &NO_POLICY,
        )
        .unwrap();
        let CheckKind::Udp(u) = &s.kind else {
            panic!("{s:?}")
        };
        assert_eq!(u.endpoint.connect, "198.51.100.1:5000".parse().unwrap());
        assert!(u.payload.is_empty() && u.require_reply.is_none());
        assert_eq!(s.timing.retry, 1);
    }

    #[test]
    fn http_get_takes_the_virtual_server_virtualhost_and_the_url_status_codes() {
        let (c, dl) = checker("HTTP_GET {\n url {\n path /health\n status_code 200-204\n }\n }");
        let s = spec(
            &c,
            "198.51.100.1:80".parse().unwrap(),
            dl,
            Some("www"),
            false,
            &NO_POLICY,
        )
        .unwrap();
        let CheckKind::Http(h) = &s.kind else {
            panic!("{s:?}")
        };
        assert_eq!(h.virtualhost.as_deref(), Some("www"));
        assert_eq!(h.urls[0].path, "/health");
        let codes = h.urls[0].status_codes.as_ref().unwrap();
        assert!(codes.contains(204) && !codes.contains(205));
        assert_eq!(s.timing.delay_before_retry, Duration::from_secs(3));
    }

    fn misc(body: &str, policy: &ScriptPolicy) -> Result<Option<RunAs>, SpecError> {
        let (c, dl) = checker(&format!("MISC_CHECK {{\n {body}\n }}"));
        let s = spec(
            &c,
            "198.51.100.1:80".parse().unwrap(),
            dl,
            None,
            false,
            policy,
        )?;
        match s.kind {
            CheckKind::Misc(m) => Ok(m.run_as),
            k => panic!("{k:?}"),
        }
    }

    #[test]
    fn misc_check_runs_as_its_user_else_the_script_user() {
        let nobody = Some(RunAs {
            uid: 65534,
            gid: 65534,
        });
        assert_eq!(misc("misc_path /bin/true", &NO_POLICY).unwrap(), None);
        assert_eq!(
            misc("misc_path /bin/true\n user nobody", &NO_POLICY).unwrap(),
            nobody
        );
        // A group given replaces the user's primary group (Debian: daemon is gid 1).
        assert_eq!(
            misc("misc_path /bin/true\n user nobody daemon", &NO_POLICY).unwrap(),
            Some(RunAs { uid: 65534, gid: 1 })
        );
        let policy = ScriptPolicy {
            script_user: Some(ScriptUser {
                user: "nobody".into(),
                group: None,
            }),
            security: false,
        };
        assert_eq!(misc("misc_path /bin/true", &policy).unwrap(), nobody);
        // The checker's own user wins over script_user.
        assert_eq!(
            misc("misc_path /bin/true\n user root", &policy).unwrap(),
            Some(RunAs { uid: 0, gid: 0 })
        );
        assert!(matches!(
            misc("misc_path /bin/true\n user no-such-user-lbd", &NO_POLICY),
            Err(SpecError::User { .. })
        ));
        assert!(matches!(
            misc(
                "misc_path /bin/true\n user nobody no-such-group-lbd",
                &NO_POLICY
            ),
            Err(SpecError::User { .. })
        ));
    }

    #[test]
    fn script_security_refuses_a_writable_script_run_as_root() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("lbd-misc-sec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let script = dir.join("check.sh");
        std::fs::write(&script, "#!/bin/sh\nexit 0\n").unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o777)).unwrap();
        let line = format!("misc_path {}", script.display());
        let secure = ScriptPolicy {
            script_user: None,
            security: true,
        };
        // Without enable_script_security it runs (keepalived only warns).
        assert_eq!(misc(&line, &NO_POLICY).unwrap(), None);
        // As root with it: refused, in either form of the line.
        let as_root = format!("{line}\n user root");
        assert!(matches!(
            misc(&as_root, &secure),
            Err(SpecError::Insecure { .. })
        ));
        let shell = format!("misc_path \"{} && true\"\n user root", script.display());
        assert!(matches!(
            misc(&shell, &secure),
            Err(SpecError::Insecure { .. })
        ));
        // As another user it may run: it cannot gain root through the file.
        assert!(misc(&format!("{line}\n user nobody"), &secure)
            .unwrap()
            .is_some());
        // A root-only program in root-only directories is fine as root.
        assert_eq!(
            misc("misc_path /bin/true\n user root", &secure).unwrap(),
            Some(RunAs { uid: 0, gid: 0 })
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn http_protocol_maps_to_the_request_version() {
        for (word, want) in [
            ("", HttpProtocol::V1_0),
            ("http_protocol 1.0\n", HttpProtocol::V1_0),
            ("http_protocol 1.0C\n", HttpProtocol::V1_0C),
            ("http_protocol 1.0c\n", HttpProtocol::V1_0C),
            ("http_protocol 1.1\n", HttpProtocol::V1_1),
        ] {
            let (c, dl) = checker(&format!("HTTP_GET {{\n {word} url {{\n path /\n }}\n }}"));
            let s = spec(
                &c,
                "198.51.100.1:80".parse().unwrap(),
                dl,
                None,
                false,
                &NO_POLICY,
            )
            .unwrap();
            let CheckKind::Http(h) = &s.kind else {
                panic!("{s:?}")
            };
            assert_eq!(h.protocol, want, "{word}");
        }
        let text = "virtual_server 192.0.2.1 80 {\n real_server 198.51.100.1 80 {\n \
                    HTTP_GET {\n http_protocol 2.0\n url {\n path /\n }\n }\n }\n}\n";
        let Err(crate::config::ConfigError::Invalid { diagnostics }) = load_str("c.conf", text)
        else {
            panic!("http_protocol 2.0 accepted")
        };
        assert!(diagnostics.iter().any(|d| d
            .message
            .contains("expected 1.0, 1.0C or 1.1 for http_protocol")));
    }

    #[test]
    fn root_scripts_without_script_security_are_noticed() {
        let cfg = |misc: &str, global: &str| {
            let text = format!(
                "global_defs {{\n{global} }}\nvirtual_server 192.0.2.1 80 {{\n \
                 real_server 198.51.100.1 80 {{\n MISC_CHECK {{\n misc_path /bin/true\n{misc} }}\n }}\n}}\n"
            );
            load_str("c.conf", &text).unwrap().config
        };
        let as_nobody = cfg(" user nobody\n", "");
        assert!(!ScriptPolicy::of(&as_nobody).unchecked_root_scripts(&as_nobody));
        let as_root = cfg(" user root\n", "");
        assert!(ScriptPolicy::of(&as_root).unchecked_root_scripts(&as_root));
        let secured = cfg(" user root\n", " enable_script_security\n");
        assert!(!ScriptPolicy::of(&secured).unchecked_root_scripts(&secured));
        let by_script_user = cfg("", " script_user nobody\n");
        assert!(!ScriptPolicy::of(&by_script_user).unchecked_root_scripts(&by_script_user));
        // No user at all: as the daemon, root when the tests run as root.
        let daemon = cfg("", "");
        // SAFETY: geteuid has no preconditions.
        let root = unsafe { libc::geteuid() } == 0;
        assert_eq!(
            ScriptPolicy::of(&daemon).unchecked_root_scripts(&daemon),
            root
        );
    }
}
