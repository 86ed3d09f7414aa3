//! Raw VRRP sockets (IP protocol 112): one per (interface, family), shared by all
//! the instances on that interface; the daemon demultiplexes by VRID.
//!
//! Why these options:
//! * `SO_BINDTODEVICE`: a VRRP router only listens on its own link; without it a
//!   raw socket sees protocol 112 from every interface.
//! * TTL / hop limit 255 for multicast *and* unicast: RFC 5798 section 5.1.1.3,
//!   receivers drop anything else (it proves the sender is on-link).
//! * Multicast loop off: we must not hear our own adverts.
//! * `IP(V6)_MULTICAST_ALL` = 0: otherwise Linux delivers every group joined by
//!   *any* socket on the host (e.g. another instance's socket) to this one.
//! * Source selection with `IP_PKTINFO` / `IPV6_PKTINFO` per packet: the source
//!   must be the instance's primary address (or `unicast_src_ip`), which differs
//!   per instance while the socket is shared; v3's checksum covers it.
//! * Memberships follow the instances ([`VrrpSocket::set_groups`]): RFC group by default,
//!   `vrrp_mcast_group4/6` when configured; with `MULTICAST_ALL` off, a socket hears exactly
//!   the groups its instances advertise to.

use std::io;
use std::mem::{size_of, zeroed};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::ops::Range;
use std::os::fd::{AsRawFd, RawFd};

use socket2::{Domain, InterfaceIndexOrAddress, Protocol, Socket, Type};
use vrrp_core::wire::{Family, RxMeta, IP_PROTOCOL, MULTICAST_V4, MULTICAST_V6, TTL};

use super::{cvt, impl_source_via_fd, setsockopt};

/// One received VRRP packet: IP-layer facts plus where the VRRP message sits in
/// the caller's buffer (after the IPv4 header; at 0 for IPv6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RxPacket {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// IPv4 TTL or IPv6 hop limit, as received.
    pub ttl: u8,
    /// Interface the packet arrived on.
    pub ifindex: u32,
    /// Byte range of the VRRP message within the receive buffer.
    pub payload: Range<usize>,
}

impl RxPacket {
    /// The shape `vrrp_core::wire::validate` wants.
    pub fn meta(&self) -> RxMeta {
        RxMeta {
            src: self.src,
            dst: self.dst,
            ttl: self.ttl,
        }
    }
}

/// Why a VRRP socket could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("no interface named {0:?}")]
    NoSuchInterface(String),
    /// `step` names the failing call, e.g. "SO_BINDTODEVICE".
    #[error("{step}: {source}")]
    Io {
        step: &'static str,
        #[source]
        source: io::Error,
    },
}

fn step(step: &'static str) -> impl FnOnce(io::Error) -> OpenError {
    move |source| OpenError::Io { step, source }
}

/// A raw VRRP socket bound to one interface for one address family.
#[derive(Debug)]
pub struct VrrpSocket {
    sock: Socket,
    family: Family,
    ifindex: u32,
    ifname: String,
    malformed: u64,
    /// Multicast groups joined on `ifindex`.
    groups: Vec<IpAddr>,
}

impl_source_via_fd!(VrrpSocket, sock);

/// IP precedence 6 / DSCP CS6.
const TOS_INTERNETWORK_CONTROL: u8 = 0xc0;

/// Control-message buffer, aligned for `cmsghdr`.
#[repr(C, align(8))]
struct CmsgBuf([u8; 128]);

impl VrrpSocket {
    /// Opens, configures and joins the RFC's VRRP group on `ifname`. Non-blocking.
    pub fn open(ifname: &str, family: Family) -> Result<Self, OpenError> {
        let ifindex =
            super::if_index(ifname).ok_or_else(|| OpenError::NoSuchInterface(ifname.into()))?;
        let domain = match family {
            Family::V4 => Domain::IPV4,
            Family::V6 => Domain::IPV6,
        };
        let sock = Socket::new(
            domain,
            Type::RAW,
            Some(Protocol::from(i32::from(IP_PROTOCOL))),
        )
        .map_err(step("socket"))?;
        sock.set_nonblocking(true).map_err(step("O_NONBLOCK"))?;
        sock.bind_device(Some(ifname.as_bytes()))
            .map_err(step("SO_BINDTODEVICE"))?;
        let fd = sock.as_raw_fd();
        match family {
            Family::V4 => {
                sock.set_ttl(u32::from(TTL)).map_err(step("IP_TTL"))?;
                sock.set_multicast_ttl_v4(u32::from(TTL))
                    .map_err(step("IP_MULTICAST_TTL"))?;
                // DSCP CS6 "internetwork control", as keepalived (tos 0xc0), so
                // that QoS on the path does not starve adverts under load.
                sock.set_tos(u32::from(TOS_INTERNETWORK_CONTROL))
                    .map_err(step("IP_TOS"))?;
                sock.set_multicast_loop_v4(false)
                    .map_err(step("IP_MULTICAST_LOOP"))?;
                sock.set_multicast_all_v4(false)
                    .map_err(step("IP_MULTICAST_ALL"))?;
                let mreqn = libc::ip_mreqn {
                    imr_multiaddr: libc::in_addr { s_addr: 0 },
                    imr_address: libc::in_addr { s_addr: 0 },
                    imr_ifindex: ifindex as libc::c_int,
                };
                setsockopt(fd, libc::IPPROTO_IP, libc::IP_MULTICAST_IF, mreqn)
                    .map_err(step("IP_MULTICAST_IF"))?;
                setsockopt(fd, libc::IPPROTO_IP, libc::IP_PKTINFO, 1 as libc::c_int)
                    .map_err(step("IP_PKTINFO"))?;
            }
            Family::V6 => {
                sock.set_unicast_hops_v6(u32::from(TTL))
                    .map_err(step("IPV6_UNICAST_HOPS"))?;
                sock.set_multicast_hops_v6(u32::from(TTL))
                    .map_err(step("IPV6_MULTICAST_HOPS"))?;
                setsockopt(
                    fd,
                    libc::IPPROTO_IPV6,
                    libc::IPV6_TCLASS,
                    libc::c_int::from(TOS_INTERNETWORK_CONTROL),
                )
                .map_err(step("IPV6_TCLASS"))?;
                sock.set_multicast_loop_v6(false)
                    .map_err(step("IPV6_MULTICAST_LOOP"))?;
                sock.set_multicast_all_v6(false)
                    .map_err(step("IPV6_MULTICAST_ALL"))?;
                sock.set_multicast_if_v6(ifindex)
                    .map_err(step("IPV6_MULTICAST_IF"))?;
                setsockopt(
                    fd,
                    libc::IPPROTO_IPV6,
                    libc::IPV6_RECVPKTINFO,
                    1 as libc::c_int,
                )
                .map_err(step("IPV6_RECVPKTINFO"))?;
                setsockopt(
                    fd,
                    libc::IPPROTO_IPV6,
                    libc::IPV6_RECVHOPLIMIT,
                    1 as libc::c_int,
                )
                .map_err(step("IPV6_RECVHOPLIMIT"))?;
            }
        }
        let mut me = VrrpSocket {
            sock,
            family,
            ifindex,
            ifname: ifname.to_owned(),
            malformed: 0,
            groups: Vec::new(),
        };
        let default = match family {
            Family::V4 => IpAddr::V4(MULTICAST_V4),
            Family::V6 => IpAddr::V6(MULTICAST_V6),
        };
        me.set_groups(&[default])?;
        Ok(me)
    }

    /// Joins `wanted` and leaves every other group; a group of the other family is refused.
    pub fn set_groups(&mut self, wanted: &[IpAddr]) -> Result<(), OpenError> {
        let idx = self.ifindex;
        for g in wanted {
            if self.groups.contains(g) {
                continue;
            }
            match (self.family, g) {
                (Family::V4, IpAddr::V4(a)) if a.is_multicast() => self
                    .sock
                    .join_multicast_v4_n(a, &InterfaceIndexOrAddress::Index(idx))
                    .map_err(step("IP_ADD_MEMBERSHIP"))?,
                (Family::V6, IpAddr::V6(a)) if a.is_multicast() => self
                    .sock
                    .join_multicast_v6(a, idx)
                    .map_err(step("IPV6_ADD_MEMBERSHIP"))?,
                _ => {
                    return Err(OpenError::Io {
                        step: "multicast membership",
                        source: io::Error::new(
                            io::ErrorKind::InvalidInput,
                            format!("{g} is not a multicast group of the socket's family"),
                        ),
                    })
                }
            }
            self.groups.push(*g);
        }
        let mut kept = Vec::with_capacity(wanted.len());
        for g in std::mem::take(&mut self.groups) {
            if wanted.contains(&g) {
                kept.push(g);
                continue;
            }
            // A failed leave only means we keep hearing a group nobody uses: harmless.
            let _ = match g {
                IpAddr::V4(a) => self
                    .sock
                    .leave_multicast_v4_n(&a, &InterfaceIndexOrAddress::Index(idx)),
                IpAddr::V6(a) => self.sock.leave_multicast_v6(&a, idx),
            };
        }
        self.groups = kept;
        Ok(())
    }

    /// The multicast groups this socket has joined.
    pub fn groups(&self) -> &[IpAddr] {
        &self.groups
    }

    pub fn family(&self) -> Family {
        self.family
    }

    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    pub fn ifname(&self) -> &str {
        &self.ifname
    }

    /// Packets dropped here because their IP framing was unusable (truncated,
    /// bad IPv4 header, missing ancillary data). The engine never sees them.
    pub fn malformed(&self) -> u64 {
        self.malformed
    }

    /// Receives the next packet into `buf`; `Ok(None)` when nothing is queued.
    ///
    /// Malformed packets are skipped (and counted in [`VrrpSocket::malformed`]) so
    /// that an edge-triggered loop can keep calling until `None`. Use a buffer of
    /// at least the interface MTU; larger packets are counted as malformed.
    pub fn recv(&mut self, buf: &mut [u8]) -> io::Result<Option<RxPacket>> {
        loop {
            let received = match self.family {
                Family::V4 => recv_v4(self.sock.as_raw_fd(), buf),
                Family::V6 => recv_v6(self.sock.as_raw_fd(), buf),
            };
            match received {
                Ok(Some(mut p)) => {
                    if p.ifindex == 0 {
                        p.ifindex = self.ifindex;
                    }
                    return Ok(Some(p));
                }
                Ok(None) => self.malformed += 1,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Sends one VRRP message (the IP payload; the kernel builds the IP header).
    ///
    /// `src` selects the source address; it must be an address of this host of the
    /// socket's family. With `None` the kernel picks one, which is only correct
    /// for VRRPv2 (v3's checksum covers the source, so pass what was used for
    /// `AdvertRepr::emit`). `WouldBlock` means the socket buffer is full: the
    /// advert is lost, as on a congested link, and the next one will follow.
    pub fn send(&self, dst: IpAddr, src: Option<IpAddr>, payload: &[u8]) -> io::Result<()> {
        let n = match (self.family, dst, src) {
            (Family::V4, IpAddr::V4(dst), None) => self.send_v4(dst, None, payload),
            (Family::V4, IpAddr::V4(dst), Some(IpAddr::V4(src))) => {
                self.send_v4(dst, Some(src), payload)
            }
            (Family::V6, IpAddr::V6(dst), None) => self.send_v6(dst, None, payload),
            (Family::V6, IpAddr::V6(dst), Some(IpAddr::V6(src))) => {
                self.send_v6(dst, Some(src), payload)
            }
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "address family does not match the socket",
                ))
            }
        }?;
        if n != payload.len() {
            return Err(io::Error::new(io::ErrorKind::WriteZero, "short send"));
        }
        Ok(())
    }

    fn send_v4(&self, dst: Ipv4Addr, src: Option<Ipv4Addr>, payload: &[u8]) -> io::Result<usize> {
        // SAFETY: sockaddr_in is plain data; zero is valid.
        let mut sa: libc::sockaddr_in = unsafe { zeroed() };
        sa.sin_family = libc::AF_INET as libc::sa_family_t;
        sa.sin_addr.s_addr = u32::from(dst).to_be();
        let mut cbuf = CmsgBuf([0; 128]);
        let pktinfo = src.map(|s| libc::in_pktinfo {
            ipi_ifindex: self.ifindex as libc::c_int,
            ipi_spec_dst: libc::in_addr {
                s_addr: u32::from(s).to_be(),
            },
            ipi_addr: libc::in_addr { s_addr: 0 },
        });
        send_with(
            self.sock.as_raw_fd(),
            (&sa as *const libc::sockaddr_in).cast(),
            size_of::<libc::sockaddr_in>(),
            payload,
            &mut cbuf,
            pktinfo
                .as_ref()
                .map(|p| (libc::IPPROTO_IP, libc::IP_PKTINFO, p)),
        )
    }

    fn send_v6(&self, dst: Ipv6Addr, src: Option<Ipv6Addr>, payload: &[u8]) -> io::Result<usize> {
        // SAFETY: sockaddr_in6 is plain data; zero is valid.
        let mut sa: libc::sockaddr_in6 = unsafe { zeroed() };
        sa.sin6_family = libc::AF_INET6 as libc::sa_family_t;
        sa.sin6_addr.s6_addr = dst.octets();
        if needs_scope(&dst) {
            sa.sin6_scope_id = self.ifindex;
        }
        let mut cbuf = CmsgBuf([0; 128]);
        let pktinfo = libc::in6_pktinfo {
            ipi6_addr: libc::in6_addr {
                s6_addr: src.unwrap_or(Ipv6Addr::UNSPECIFIED).octets(),
            },
            ipi6_ifindex: self.ifindex,
        };
        send_with(
            self.sock.as_raw_fd(),
            (&sa as *const libc::sockaddr_in6).cast(),
            size_of::<libc::sockaddr_in6>(),
            payload,
            &mut cbuf,
            Some((libc::IPPROTO_IPV6, libc::IPV6_PKTINFO, &pktinfo)),
        )
    }
}

/// Link-local unicast and link/interface-local multicast need a zone (ifindex).
fn needs_scope(a: &Ipv6Addr) -> bool {
    let s = a.segments()[0];
    (s & 0xffc0) == 0xfe80 || (a.is_multicast() && matches!(s & 0x000f, 1 | 2))
}

/// `sendmsg` with at most one control message carrying `T`.
fn send_with<T: Copy>(
    fd: RawFd,
    name: *const libc::sockaddr,
    namelen: usize,
    payload: &[u8],
    cbuf: &mut CmsgBuf,
    cmsg: Option<(libc::c_int, libc::c_int, &T)>,
) -> io::Result<usize> {
    let mut iov = libc::iovec {
        iov_base: payload.as_ptr() as *mut libc::c_void,
        iov_len: payload.len(),
    };
    // SAFETY: msghdr is plain data; zero is valid.
    let mut msg: libc::msghdr = unsafe { zeroed() };
    msg.msg_name = name as *mut libc::c_void;
    msg.msg_namelen = namelen as libc::socklen_t;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    if let Some((level, ty, data)) = cmsg {
        // SAFETY: CMSG_SPACE is a pure size computation.
        let space = unsafe { libc::CMSG_SPACE(size_of::<T>() as u32) } as usize;
        if space > cbuf.0.len() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "cmsg too large",
            ));
        }
        msg.msg_control = cbuf.0.as_mut_ptr().cast();
        msg.msg_controllen = space as _;
        // SAFETY: msg_control points to `space` aligned, zeroed bytes we own, enough
        // for one header plus `T`, so CMSG_FIRSTHDR is non-null and in bounds.
        unsafe {
            let c = libc::CMSG_FIRSTHDR(&msg);
            (*c).cmsg_level = level;
            (*c).cmsg_type = ty;
            (*c).cmsg_len = libc::CMSG_LEN(size_of::<T>() as u32) as _;
            std::ptr::write_unaligned(libc::CMSG_DATA(c).cast::<T>(), *data);
        }
    }
    // SAFETY: every pointer in `msg` refers to live memory of the stated size.
    let n = unsafe { libc::sendmsg(fd, &msg, 0) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// Raw `recvmsg` result: bytes, flags, source address and the control buffer.
struct Received<A> {
    len: usize,
    flags: libc::c_int,
    name: A,
    cbuf: CmsgBuf,
    controllen: usize,
}

fn recv_raw<A>(fd: RawFd, buf: &mut [u8]) -> io::Result<Received<A>> {
    // SAFETY: sockaddr types are plain data; zero is valid.
    let mut name: A = unsafe { zeroed() };
    let mut cbuf = CmsgBuf([0; 128]);
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: msghdr is plain data; zero is valid.
    let mut msg: libc::msghdr = unsafe { zeroed() };
    msg.msg_name = (&mut name as *mut A).cast();
    msg.msg_namelen = size_of::<A>() as libc::socklen_t;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.0.as_mut_ptr().cast();
    msg.msg_controllen = cbuf.0.len() as _;
    // SAFETY: all pointers in `msg` refer to live buffers of the stated sizes.
    let n = cvt(unsafe { libc::recvmsg(fd, &mut msg, 0) } as libc::c_int)?;
    Ok(Received {
        len: n as usize,
        flags: msg.msg_flags,
        name,
        controllen: msg.msg_controllen as usize,
        cbuf,
    })
}

/// Calls `f(level, type, data)` for each control message.
fn for_each_cmsg(cbuf: &CmsgBuf, controllen: usize, mut f: impl FnMut(i32, i32, &[u8])) {
    let controllen = controllen.min(cbuf.0.len());
    // SAFETY: a msghdr is rebuilt only to walk the control buffer with the libc
    // macros, which bound every header by msg_controllen (<= the buffer length).
    unsafe {
        let mut msg: libc::msghdr = zeroed();
        msg.msg_control = cbuf.0.as_ptr() as *mut libc::c_void;
        msg.msg_controllen = controllen as _;
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            let data = libc::CMSG_DATA(c);
            let hdr_len = data.offset_from(c.cast::<u8>()) as usize;
            let len = ((*c).cmsg_len as usize).saturating_sub(hdr_len);
            let start = data.offset_from(cbuf.0.as_ptr()) as usize;
            if let Some(bytes) = cbuf.0.get(start..start.saturating_add(len).min(controllen)) {
                f((*c).cmsg_level, (*c).cmsg_type, bytes);
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
}

/// IPv4: the kernel hands us the IP header; parse it. `Ok(None)`: malformed.
fn recv_v4(fd: RawFd, buf: &mut [u8]) -> io::Result<Option<RxPacket>> {
    let r = recv_raw::<libc::sockaddr_in>(fd, buf)?;
    if r.flags & (libc::MSG_TRUNC | libc::MSG_CTRUNC) != 0 {
        return Ok(None);
    }
    let mut ifindex = 0;
    for_each_cmsg(&r.cbuf, r.controllen, |level, ty, data| {
        if level == libc::IPPROTO_IP && ty == libc::IP_PKTINFO && data.len() >= 4 {
            ifindex = i32::from_ne_bytes([data[0], data[1], data[2], data[3]]) as u32;
        }
    });
    let Some(pkt) = buf.get(..r.len) else {
        return Ok(None);
    };
    Ok(parse_ipv4(pkt).map(|(src, dst, ttl, payload)| RxPacket {
        src: IpAddr::V4(src),
        dst: IpAddr::V4(dst),
        ttl,
        ifindex,
        payload,
    }))
}

/// Parses an IPv4 header (as raw sockets deliver it): source, destination, TTL
/// and the payload range, bounded by the header's total length.
pub fn parse_ipv4(pkt: &[u8]) -> Option<(Ipv4Addr, Ipv4Addr, u8, Range<usize>)> {
    let first = *pkt.first()?;
    if first >> 4 != 4 {
        return None;
    }
    let ihl = usize::from(first & 0x0f) * 4;
    if ihl < 20 || pkt.len() < ihl {
        return None;
    }
    let total = usize::from(u16::from_be_bytes([pkt[2], pkt[3]]));
    // Linux delivers the header as received (network order, whole datagram after
    // reassembly); bound by what we actually read, and ignore link-layer padding.
    if total < ihl {
        return None;
    }
    let end = total.min(pkt.len());
    if pkt[9] != IP_PROTOCOL {
        return None;
    }
    let src = Ipv4Addr::new(pkt[12], pkt[13], pkt[14], pkt[15]);
    let dst = Ipv4Addr::new(pkt[16], pkt[17], pkt[18], pkt[19]);
    Some((src, dst, pkt[8], ihl..end))
}

/// IPv6: no header; source from the sender address, destination and hop limit
/// from ancillary data. `Ok(None)`: malformed or ancillary data missing.
fn recv_v6(fd: RawFd, buf: &mut [u8]) -> io::Result<Option<RxPacket>> {
    let r = recv_raw::<libc::sockaddr_in6>(fd, buf)?;
    if r.flags & (libc::MSG_TRUNC | libc::MSG_CTRUNC) != 0 {
        return Ok(None);
    }
    let mut dst = None;
    let mut ifindex = 0;
    let mut hops = None;
    for_each_cmsg(&r.cbuf, r.controllen, |level, ty, data| {
        if level != libc::IPPROTO_IPV6 {
            return;
        }
        if ty == libc::IPV6_PKTINFO && data.len() >= 20 {
            let mut a = [0u8; 16];
            a.copy_from_slice(&data[..16]);
            dst = Some(Ipv6Addr::from(a));
            ifindex = u32::from_ne_bytes([data[16], data[17], data[18], data[19]]);
        } else if ty == libc::IPV6_HOPLIMIT && data.len() >= 4 {
            let h = i32::from_ne_bytes([data[0], data[1], data[2], data[3]]);
            hops = u8::try_from(h).ok();
        }
    });
    let (Some(dst), Some(ttl)) = (dst, hops) else {
        return Ok(None);
    };
    let src = Ipv6Addr::from(r.name.sin6_addr.s6_addr);
    Ok(Some(RxPacket {
        src: IpAddr::V6(src),
        dst: IpAddr::V6(dst),
        ttl,
        ifindex,
        payload: 0..r.len.min(buf.len()),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(ihl_words: u8, total: u16, proto: u8) -> Vec<u8> {
        let mut h = vec![0u8; usize::from(ihl_words) * 4];
        h[0] = 0x40 | ihl_words;
        h[2..4].copy_from_slice(&total.to_be_bytes());
        h[8] = 255;
        h[9] = proto;
        h[12..16].copy_from_slice(&[192, 0, 2, 1]);
        h[16..20].copy_from_slice(&[224, 0, 0, 18]);
        h
    }

    #[test]
    fn parses_header_and_payload_range() {
        let mut p = header(5, 28, 112);
        p.extend_from_slice(&[0x31, 1, 100, 1, 0, 100, 0, 0]);
        let (src, dst, ttl, range) = parse_ipv4(&p).unwrap();
        assert_eq!(src, Ipv4Addr::new(192, 0, 2, 1));
        assert_eq!(dst, MULTICAST_V4);
        assert_eq!(ttl, 255);
        assert_eq!(range, 20..28);
    }

    #[test]
    fn honours_options_and_total_length() {
        let mut p = header(6, 30, 112);
        p.extend_from_slice(&[0; 10]);
        let (_, _, _, range) = parse_ipv4(&p).unwrap();
        assert_eq!(range, 24..30);
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse_ipv4(&[]).is_none());
        assert!(parse_ipv4(&[0x45; 10]).is_none());
        assert!(parse_ipv4(&header(5, 20, 6)).is_none());
        let mut v6 = header(5, 20, 112);
        v6[0] = 0x65;
        assert!(parse_ipv4(&v6).is_none());
        let mut short_ihl = header(5, 20, 112);
        short_ihl[0] = 0x44;
        assert!(parse_ipv4(&short_ihl).is_none());
        let mut long_ihl = header(5, 20, 112);
        long_ihl[0] = 0x4f;
        assert!(parse_ipv4(&long_ihl).is_none());
    }

    #[test]
    fn scope_needed_for_link_local() {
        assert!(needs_scope(&MULTICAST_V6));
        assert!(needs_scope(&"fe80::1".parse().unwrap()));
        assert!(!needs_scope(&"2001:db8::1".parse().unwrap()));
        assert!(!needs_scope(&"ff05::12".parse().unwrap()));
    }
}
