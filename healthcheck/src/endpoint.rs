//! Where a checker connects to and from (keepalived's connect_ip/connect_port/bindto/bind_port).

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

/// The connection parameters shared by every network checker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Endpoint {
    /// `connect_ip`:`connect_port`, defaulting to the real server's address and port.
    pub connect: SocketAddr,
    /// `bindto`; `None` lets the kernel pick.
    pub bind_ip: Option<IpAddr>,
    /// `bind_port`; `None` (or 0) means an ephemeral port.
    pub bind_port: Option<u16>,
}

impl Endpoint {
    /// Connect to `addr` from wherever the kernel chooses.
    pub fn new(connect: SocketAddr) -> Self {
        Endpoint {
            connect,
            bind_ip: None,
            bind_port: None,
        }
    }

    /// Originate from `bindto` (and `bind_port` if given).
    pub fn bind(self, ip: Option<IpAddr>, port: Option<u16>) -> Self {
        Endpoint {
            bind_ip: ip,
            bind_port: port,
            ..self
        }
    }

    /// The local address to bind, if any was configured.
    fn local(&self) -> Option<SocketAddr> {
        if self.bind_ip.is_none() && self.bind_port.unwrap_or(0) == 0 {
            return None;
        }
        let ip = self.bind_ip.unwrap_or(match self.connect {
            SocketAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            SocketAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        });
        Some(SocketAddr::new(ip, self.bind_port.unwrap_or(0)))
    }

    /// A connected, non-blocking UDP socket registered for reading and writing: the
    /// common start of the DNS and UDP checks.
    pub(crate) fn open_udp(
        &self,
        registry: &mio::Registry,
        token: mio::Token,
    ) -> io::Result<mio::net::UdpSocket> {
        let socket = self.open(Type::DGRAM, Protocol::UDP)?;
        let mut sock = mio::net::UdpSocket::from_std(socket.into());
        registry.register(
            &mut sock,
            token,
            mio::Interest::READABLE | mio::Interest::WRITABLE,
        )?;
        Ok(sock)
    }

    /// `[ip]:tcp:port`, the way keepalived prints a TCP target.
    pub fn tcp_label(&self) -> Label {
        Label(self.connect, "tcp")
    }

    /// `[ip]:udp:port`.
    pub fn udp_label(&self) -> Label {
        Label(self.connect, "udp")
    }

    /// A non-blocking socket of `ty`, bound as configured, with the connect started.
    ///
    /// For TCP the connect is usually still in progress on return (EINPROGRESS); completion is observed as
    /// writability. Errors here are immediate failures (no route, address in use, ...).
    pub(crate) fn open(&self, ty: Type, proto: Protocol) -> io::Result<Socket> {
        let domain = Domain::for_address(self.connect);
        let socket = Socket::new(domain, ty.nonblocking().cloexec(), Some(proto))?;
        if let Some(local) = self.local() {
            socket.set_reuse_address(true)?;
            socket.bind(&SockAddr::from(local))?;
        }
        match socket.connect(&SockAddr::from(self.connect)) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
            Err(e) => return Err(e),
        }
        Ok(socket)
    }
}

/// Display helper for `[ip]:proto:port`.
#[derive(Debug, Clone, Copy)]
pub struct Label(SocketAddr, &'static str);

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}]:{}:{}", self.0.ip(), self.1, self.0.port())
    }
}
