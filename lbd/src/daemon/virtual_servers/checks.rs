//! A real server's configured checker -> the healthcheck runtime's [`CheckSpec`].
//!
//! keepalived's defaults live here, where the configuration model meets the checker: the
//! target is the real server unless `connect_ip`/`connect_port` say otherwise, the interval
//! is the checker's `delay_loop` or its virtual server's, and each checker type has its own
//! retry defaults ([`Timing::new`], [`Timing::misc`], [`Timing::dns`]).

use std::net::SocketAddr;
use std::time::Duration;

use healthcheck::http::{HttpProtocol, StatusCodes};
use healthcheck::spec::{
    DnsConfig, HttpConfig, MiscConfig, PingConfig, TcpConfig, UrlCheck, DEFAULT_CONNECT_TIMEOUT,
};
use healthcheck::{CheckKind, CheckSpec, Endpoint, Timing};

use crate::config::{Checker, CheckerKind, DnsType};

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
        CheckerKind::Http(h) if h.tls => return Err(Unsupported("SSL_GET")),
        CheckerKind::Http(h) => (
            CheckKind::Http(HttpConfig {
                endpoint,
                connect_timeout,
                urls: h.urls.iter().map(url).collect::<Result<_, _>>()?,
                virtualhost: h.virtualhost.clone().or(virtualhost.map(str::to_owned)),
                protocol: HttpProtocol::default(),
                tls: None,
            }),
            Timing::http(delay_loop),
        ),
        CheckerKind::Smtp(_) => return Err(Unsupported("SMTP_CHECK")),
        CheckerKind::Udp(_) => return Err(Unsupported("UDP_CHECK")),
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
    fn misc_check_has_no_retry_by_default_and_ssl_is_refused() {
        let (c, dl) = checker("MISC_CHECK {\n misc_path \"/bin/true\"\n }");
        let s = spec(&c, "198.51.100.1:80".parse().unwrap(), dl, None, true).unwrap();
        assert!(matches!(s.kind, CheckKind::Misc(_)));
        assert_eq!(s.timing.retry, 0);
        assert!(s.timing.alpha);
        let (c, dl) = checker("SSL_GET {\n url {\n path /\n }\n }");
        assert_eq!(
            spec(&c, "198.51.100.1:80".parse().unwrap(), dl, None, false),
            Err(Unsupported("SSL_GET"))
        );
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
