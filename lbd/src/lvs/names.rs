//! keepalived's way of naming services and real servers in its log lines
//! (`format_vs` / `format_rs` in keepalived's check_data.c), so operators can grep lbd's logs
//! with the patterns they already use.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use ipvs_sys::Protocol;

/// keepalived's lower-case protocol word in `[ip]:tcp:port`.
pub fn protocol_word(p: Protocol) -> &'static str {
    match p {
        Protocol::Tcp => "tcp",
        Protocol::Udp => "udp",
        Protocol::Sctp => "sctp",
    }
}

/// `[192.0.2.10]:tcp:80`: a real server, or an address-based virtual server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trio {
    pub addr: SocketAddr,
    pub protocol: Protocol,
}

impl fmt::Display for Trio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "[{}]:{}:{}",
            self.addr.ip(),
            protocol_word(self.protocol),
            self.addr.port()
        )
    }
}

/// How keepalived names a virtual server: `[ip]:proto:port`, `FWM n`, or `[group]:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VsName {
    Inet(Trio),
    Fwmark(u32),
    /// keepalived prints the port of the virtual server itself, which is 0 for a group
    /// (the ports live in the group's entries).
    Group(String),
}

impl fmt::Display for VsName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VsName::Inet(t) => t.fmt(f),
            VsName::Fwmark(m) => write!(f, "FWM {m}"),
            VsName::Group(g) => write!(f, "[{g}]:0"),
        }
    }
}

/// `[ip]:proto:port` for an address and port given separately.
pub fn trio(ip: IpAddr, port: u16, protocol: Protocol) -> Trio {
    Trio {
        addr: SocketAddr::new(ip, port),
        protocol,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_keepalived() {
        let rs = trio("192.0.2.10".parse().unwrap(), 80, Protocol::Tcp);
        assert_eq!(rs.to_string(), "[192.0.2.10]:tcp:80");
        let v6 = trio("2001:db8::1".parse().unwrap(), 53, Protocol::Udp);
        assert_eq!(v6.to_string(), "[2001:db8::1]:udp:53");
        assert_eq!(VsName::Fwmark(7).to_string(), "FWM 7");
        assert_eq!(VsName::Group("web".into()).to_string(), "[web]:0");
        assert_eq!(VsName::Inet(rs).to_string(), "[192.0.2.10]:tcp:80");
    }
}
