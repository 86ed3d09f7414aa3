//! Checker configurations as the daemon's config model hands them over, and how to build checkers.
//!
//! Every configuration is `Hash + Eq`: two virtual servers that list the same real server with the same
//! check get one checker, whose events fan out to both (see [`crate::HealthChecker::add`]).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::checker::Checker;
use crate::checkers::dns::DnsCheck;
pub use crate::checkers::http::UrlCheck;
use crate::checkers::http::{HttpCheck, TlsClient};
use crate::checkers::misc::MiscCheck;
use crate::checkers::ping::PingCheck;
use crate::checkers::smtp::SmtpCheck;
use crate::checkers::tcp::TcpCheck;
pub use crate::checkers::udp::ReplyRule;
use crate::checkers::udp::UdpCheck;
use crate::dns::RecordType;
use crate::endpoint::Endpoint;
use crate::http::HttpProtocol;
use crate::misc::{CommandLine, CommandLineError, RunAs};
use crate::policy::Timing;
use crate::tls::{client_config, server_name, TlsSetupError};

/// keepalived's default `connect_timeout`.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// One checker of one real server: what to check and how often.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CheckSpec {
    pub kind: CheckKind,
    pub timing: Timing,
}

/// The checker types. The larger configurations are boxed so that the common small ones
/// (a TCP_CHECK is 72 bytes, an HTTP_GET 184) do not each take the largest one's room: a
/// runtime keeps one spec per checker, tens of thousands of them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CheckKind {
    Tcp(TcpConfig),
    /// HTTP_GET, or SSL_GET when `tls` is set.
    Http(Box<HttpConfig>),
    Smtp(SmtpConfig),
    Dns(Box<DnsConfig>),
    Misc(MiscConfig),
    Udp(Box<UdpConfig>),
    Ping(PingConfig),
}

/// TCP_CHECK.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TcpConfig {
    pub endpoint: Endpoint,
    pub connect_timeout: Duration,
}

/// HTTP_GET / SSL_GET.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HttpConfig {
    pub endpoint: Endpoint,
    pub connect_timeout: Duration,
    pub urls: Vec<UrlCheck>,
    /// Default Host header (checker, real server or virtual server `virtualhost`).
    pub virtualhost: Option<String>,
    pub protocol: HttpProtocol,
    /// `Some` for SSL_GET.
    pub tls: Option<TlsOptions>,
}

/// SSL_GET options.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct TlsOptions {
    /// Send SNI (keepalived `enable_sni`); uses `server_name`, else the virtualhost.
    pub enable_sni: bool,
    /// Name to send/verify. Without it, the target IP is used for verification and no SNI is sent.
    pub server_name: Option<String>,
    /// Verify the server's certificate against these CAs (PEM). `None`: no verification (keepalived).
    pub ca_file: Option<PathBuf>,
}

/// SMTP_CHECK.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SmtpConfig {
    /// One per `host { }` block (or the real server itself); every one must pass.
    pub hosts: Vec<Endpoint>,
    pub connect_timeout: Duration,
    pub helo_name: String,
}

/// DNS_CHECK.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DnsConfig {
    pub endpoint: Endpoint,
    pub connect_timeout: Duration,
    /// Defaults to `.` in keepalived.
    pub name: String,
    /// Defaults to SOA in keepalived.
    pub qtype: RecordType,
}

/// MISC_CHECK.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MiscConfig {
    pub path: String,
    /// `misc_timeout`; `None` means `delay_loop`, as in keepalived.
    pub timeout: Option<Duration>,
    pub dynamic: bool,
    /// Who the program runs as; `None`: as the daemon itself.
    pub run_as: Option<RunAs>,
}

/// UDP_CHECK.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UdpConfig {
    pub endpoint: Endpoint,
    pub connect_timeout: Duration,
    pub payload: Vec<u8>,
    pub require_reply: Option<ReplyRule>,
}

/// PING_CHECK.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PingConfig {
    /// `connect_ip` or the real server's address.
    pub target: std::net::IpAddr,
    pub connect_timeout: Duration,
}

/// A configuration that cannot produce a checker.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("SSL_GET: {0}")]
    Tls(#[from] TlsSetupError),
    #[error("MISC_CHECK: {0}")]
    Command(#[from] CommandLineError),
    #[error("SMTP_CHECK without any host")]
    NoSmtpHost,
}

impl CheckSpec {
    /// [`build`](Self::build) for a spec the runtime keeps anyway: a TCP_CHECK then reads
    /// its target from `spec` rather than holding a copy (64 bytes per checker).
    pub(crate) fn build_shared(spec: &Arc<CheckSpec>) -> Result<Box<dyn Checker>, BuildError> {
        match TcpCheck::of_spec(Arc::clone(spec)) {
            Some(tcp) => Ok(Box::new(tcp)),
            None => spec.build(),
        }
    }

    /// Build the checker. Fails only on configuration errors (unreadable CA file, empty command line).
    pub fn build(&self) -> Result<Box<dyn Checker>, BuildError> {
        Ok(match &self.kind {
            CheckKind::Tcp(c) => Box::new(TcpCheck::new(c.endpoint, c.connect_timeout)),
            CheckKind::Http(c) => {
                let tls = match &c.tls {
                    None => None,
                    Some(t) => {
                        let name = t.server_name.clone().or_else(|| c.virtualhost.clone());
                        let verify_name = if t.ca_file.is_some() || t.enable_sni {
                            name.as_deref()
                        } else {
                            None
                        };
                        Some(TlsClient {
                            config: client_config(t.ca_file.as_deref(), t.enable_sni)?,
                            server_name: server_name(verify_name, c.endpoint.connect.ip())?,
                        })
                    }
                };
                Box::new(HttpCheck::new(
                    c.endpoint,
                    c.connect_timeout,
                    c.urls.clone(),
                    c.virtualhost.clone(),
                    c.protocol,
                    tls,
                ))
            }
            CheckKind::Smtp(c) => {
                if c.hosts.is_empty() {
                    return Err(BuildError::NoSmtpHost);
                }
                Box::new(SmtpCheck::new(
                    c.hosts.clone(),
                    c.connect_timeout,
                    c.helo_name.clone(),
                ))
            }
            CheckKind::Dns(c) => Box::new(DnsCheck::new(
                c.endpoint,
                c.connect_timeout,
                c.name.clone(),
                c.qtype,
            )),
            CheckKind::Misc(c) => Box::new(MiscCheck::new(
                c.path.clone(),
                CommandLine::parse(&c.path)?,
                c.timeout.unwrap_or(self.timing.delay_loop),
                c.dynamic,
                c.run_as,
            )),
            CheckKind::Udp(c) => Box::new(UdpCheck::new(
                c.endpoint,
                c.connect_timeout,
                c.payload.clone(),
                c.require_reply.clone(),
            )),
            CheckKind::Ping(c) => Box::new(PingCheck::new(c.target, c.connect_timeout)),
        })
    }
}
