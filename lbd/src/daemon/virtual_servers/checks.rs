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

use crate::config::{Checker, CheckerCommon, CheckerKind, DnsType, SmtpCheck, UdpCheck};

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

/// The check for `checker` of the real server at `rs`, in a virtual server polling every
/// `delay_loop` with `virtualhost`; `alpha` is the effective alpha mode (checker's, else the
/// virtual server's).
pub fn spec(
    checker: &Checker,
    rs: SocketAddr,
    delay_loop: Duration,
    virtualhost: Option<&str>,
    alpha: bool,
) -> Result<CheckSpec, Unsupported> {
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
        CheckerKind::Misc(m) => {
            if m.user.is_some() {
                return Err(Unsupported("MISC_CHECK with user"));
            }
            (
                CheckKind::Misc(MiscConfig {
                    path: m.path.clone(),
                    timeout: m.timeout,
                    dynamic: m.dynamic,
                }),
                Timing::misc(delay_loop),
            )
        }
        CheckerKind::Dns(d) => (
            CheckKind::Dns(DnsConfig {
                endpoint,
                connect_timeout,
                name: d.name.clone(),
                qtype: record_type(d.query_type),
            }),
            Timing::dns(delay_loop),
        ),
        CheckerKind::Http(h) => (
            CheckKind::Http(HttpConfig {
                endpoint,
                connect_timeout,
                urls: h.urls.iter().map(url).collect::<Result<_, _>>()?,
                virtualhost: h.virtualhost.clone().or(virtualhost.map(str::to_owned)),
                protocol: HttpProtocol::default(),
                // keepalived's SSL_GET does not verify the certificate (no `ca` in the model).
                tls: h.tls.then_some(TlsOptions {
                    enable_sni: h.enable_sni,
                    server_name: None,
                    ca_file: None,
                }),
            }),
            Timing::http(delay_loop),
        ),
        CheckerKind::Smtp(s) => (
            CheckKind::Smtp(smtp(s, c, rs.ip())?),
            Timing::new(delay_loop),
        ),
        CheckerKind::Udp(u) => (
            CheckKind::Udp(udp(u, endpoint, connect_timeout)),
            Timing::new(delay_loop),
        ),
        CheckerKind::File(_) => return Err(Unsupported("FILE_CHECK")),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_str;

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
        let s = spec(&c, "198.51.100.1:80".parse().unwrap(), dl, None, false).unwrap();
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
        let s = spec(&c, "198.51.100.1:80".parse().unwrap(), dl, None, true).unwrap();
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
        let s = spec(&c, "198.51.100.1:8443".parse().unwrap(), dl, None, false).unwrap();
        let CheckKind::Http(h) = &s.kind else {
            panic!("{s:?}")
        };
        assert_eq!(h.endpoint.connect, "198.51.100.1:8443".parse().unwrap());
        assert_eq!(h.tls, Some(TlsOptions::default()));
        assert_eq!(h.connect_timeout, DEFAULT_CONNECT_TIMEOUT);
        assert_eq!(s.timing.retry, 1);
        assert_eq!(s.timing.delay_before_retry, Duration::from_secs(3));
        let (c, dl) = checker("HTTP_GET {\n url {\n path /\n }\n }");
        let s = spec(&c, "198.51.100.1:80".parse().unwrap(), dl, None, false).unwrap();
        assert!(matches!(&s.kind, CheckKind::Http(h) if h.tls.is_none()));
    }

    #[test]
    fn smtp_check_defaults_to_port_25_of_the_real_server() {
        let (c, dl) = checker("SMTP_CHECK {\n retry 2\n }");
        let s = spec(&c, "198.51.100.1:80".parse().unwrap(), dl, None, false).unwrap();
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
        let s = spec(&c, "198.51.100.1:25".parse().unwrap(), dl, None, false).unwrap();
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
        assert_eq!(
            spec(&c, "198.51.100.1:25".parse().unwrap(), dl, None, false),
            Err(Unsupported(
                "SMTP_CHECK hosts with different connect_timeout"
            ))
        );
    }

    #[test]
    fn udp_check_sends_the_payload_and_requires_the_reply_prefix() {
        let (c, dl) = checker(
            "UDP_CHECK {\n connect_port 53\n payload 0a0b\n require_reply 0c\n retry 0\n }",
        );
        let s = spec(&c, "198.51.100.1:80".parse().unwrap(), dl, None, false).unwrap();
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
        let s = spec(&c, "198.51.100.1:5000".parse().unwrap(), dl, None, false).unwrap();
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
}
