//! The only I/O in the crate: a raw `AF_NETLINK` socket. Sends whole
//! datagrams, receives with a deadline (poll), and drains many datagrams per
//! syscall with `recvmmsg`.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

const SOL_NETLINK: libc::c_int = 270;
const NETLINK_CAP_ACK: libc::c_int = 10;
const NETLINK_EXT_ACK: libc::c_int = 11;

/// Why a receive produced no datagram.
#[derive(Debug)]
pub enum RecvError {
    /// Nothing arrived before the deadline.
    Timeout,
    /// The datagram was larger than the buffer (its real size).
    Truncated(usize),
    Io(io::Error),
}

impl From<io::Error> for RecvError {
    fn from(e: io::Error) -> Self {
        RecvError::Io(e)
    }
}

pub struct NetlinkSocket {
    fd: OwnedFd,
}

fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn setsockopt_int(
    fd: libc::c_int,
    level: libc::c_int,
    name: libc::c_int,
    v: libc::c_int,
) -> io::Result<()> {
    // SAFETY: passes a pointer to a live c_int and its exact size.
    cvt(unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&v as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    })
    .map(|_| ())
}

impl NetlinkSocket {
    /// Opens and binds a netlink socket of `protocol` (e.g. NETLINK_GENERIC).
    /// `rcvbuf` sizes the receive queue, which must hold every ACK of a batch.
    pub fn open(protocol: libc::c_int, rcvbuf: usize) -> io::Result<Self> {
        // SAFETY: plain socket(2) call; the fd is owned right after.
        let raw = cvt(unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                protocol,
            )
        })?;
        // SAFETY: `raw` is a fresh, valid descriptor nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: zeroed sockaddr_nl is a valid "kernel assigns the port id" address.
        let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        // SAFETY: addr is a valid sockaddr_nl of the given size.
        cvt(unsafe {
            libc::bind(
                raw,
                (&addr as *const libc::sockaddr_nl).cast(),
                std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        })?;
        // Best effort: older kernels lack these, and they only improve errors
        // (EXT_ACK) and shrink ACKs (CAP_ACK).
        let _ = setsockopt_int(raw, SOL_NETLINK, NETLINK_EXT_ACK, 1);
        let _ = setsockopt_int(raw, SOL_NETLINK, NETLINK_CAP_ACK, 1);
        let size = rcvbuf.min(i32::MAX as usize) as libc::c_int;
        // FORCE bypasses rmem_max when we have CAP_NET_ADMIN (IPVS needs it anyway).
        if setsockopt_int(raw, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, size).is_err() {
            let _ = setsockopt_int(raw, libc::SOL_SOCKET, libc::SO_RCVBUF, size);
        }
        let _ = setsockopt_int(raw, libc::SOL_SOCKET, libc::SO_SNDBUFFORCE, size);
        Ok(NetlinkSocket { fd })
    }

    /// Sends one datagram to the kernel (it may hold many messages).
    pub fn send(&self, buf: &[u8]) -> io::Result<()> {
        // SAFETY: zeroed sockaddr_nl with nl_pid 0 addresses the kernel.
        let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        loop {
            // SAFETY: buf and addr are valid for the given lengths.
            let n = unsafe {
                libc::sendto(
                    self.fd.as_raw_fd(),
                    buf.as_ptr().cast(),
                    buf.len(),
                    0,
                    (&addr as *const libc::sockaddr_nl).cast(),
                    std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
                )
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            if n as usize != buf.len() {
                return Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    "short netlink send",
                ));
            }
            return Ok(());
        }
    }

    /// Waits until readable or the deadline, which is set on the first
    /// wait: a read whose data is already queued (the usual case, as the
    /// kernel answers inside `sendmsg`) never reads the clock.
    fn wait(&self, deadline: &mut Option<Instant>, timeout: Duration) -> Result<(), RecvError> {
        let deadline = *deadline.get_or_insert_with(|| Instant::now() + timeout);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(RecvError::Timeout);
            }
            let mut pfd = libc::pollfd {
                fd: self.fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            let ms = left.as_millis().clamp(1, i32::MAX as u128) as libc::c_int;
            // SAFETY: one valid pollfd.
            let r = unsafe { libc::poll(&mut pfd, 1, ms) };
            if r < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e.into());
            }
            if r > 0 {
                return Ok(());
            }
        }
    }

    /// Receives one datagram, waiting at most `timeout`.
    pub fn recv(&self, buf: &mut [u8], timeout: Duration) -> Result<usize, RecvError> {
        let mut deadline = None;
        loop {
            // Replies are usually queued by the time we look (the kernel
            // handles requests inside sendmsg), so poll only when empty.
            // SAFETY: buf is valid for writes of buf.len() bytes.
            let n = unsafe {
                libc::recv(
                    self.fd.as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    libc::MSG_TRUNC | libc::MSG_DONTWAIT,
                )
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                match e.kind() {
                    io::ErrorKind::Interrupted => continue,
                    io::ErrorKind::WouldBlock => {
                        self.wait(&mut deadline, timeout)?;
                        continue;
                    }
                    _ => return Err(e.into()),
                }
            }
            let n = n as usize;
            if n > buf.len() {
                return Err(RecvError::Truncated(n));
            }
            return Ok(n);
        }
    }

    /// Receives up to `bufs.len()` datagrams in one `recvmmsg`, waiting at
    /// most `timeout` for the first. Sizes go to `lens`; returns the count.
    pub fn recv_many(
        &self,
        bufs: &mut [Vec<u8>],
        lens: &mut [usize],
        timeout: Duration,
    ) -> Result<usize, RecvError> {
        let count = bufs.len().min(lens.len());
        if count == 0 {
            return Ok(0);
        }
        let mut deadline = None;
        let mut iovs: Vec<libc::iovec> = bufs[..count]
            .iter_mut()
            .map(|b| libc::iovec {
                iov_base: b.as_mut_ptr().cast(),
                iov_len: b.len(),
            })
            .collect();
        // SAFETY: mmsghdr is plain data; zeroed is a valid empty header.
        let mut hdrs: Vec<libc::mmsghdr> =
            (0..count).map(|_| unsafe { std::mem::zeroed() }).collect();
        for (h, iov) in hdrs.iter_mut().zip(iovs.iter_mut()) {
            h.msg_hdr.msg_iov = iov;
            h.msg_hdr.msg_iovlen = 1;
        }
        loop {
            // SAFETY: hdrs/iovs point into live buffers of the stated sizes.
            let n = unsafe {
                libc::recvmmsg(
                    self.fd.as_raw_fd(),
                    hdrs.as_mut_ptr(),
                    count as libc::c_uint,
                    libc::MSG_DONTWAIT,
                    std::ptr::null_mut(),
                )
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                match e.kind() {
                    io::ErrorKind::Interrupted => continue,
                    io::ErrorKind::WouldBlock => {
                        self.wait(&mut deadline, timeout)?;
                        continue;
                    }
                    _ => return Err(e.into()),
                }
            }
            let n = n as usize;
            for i in 0..n {
                if hdrs[i].msg_hdr.msg_flags & libc::MSG_TRUNC != 0 {
                    return Err(RecvError::Truncated(hdrs[i].msg_len as usize));
                }
                lens[i] = hdrs[i].msg_len as usize;
            }
            return Ok(n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A netlink socket nobody writes to: every read must give up at its
    /// deadline, not block (the clock is read only once waiting starts).
    #[test]
    fn reads_time_out() {
        let Ok(s) = NetlinkSocket::open(libc::NETLINK_GENERIC, 1 << 16) else {
            eprintln!("skipped: no netlink sockets here");
            return;
        };
        let timeout = Duration::from_millis(30);
        let t = Instant::now();
        let mut buf = vec![0u8; 4096];
        assert!(matches!(s.recv(&mut buf, timeout), Err(RecvError::Timeout)));
        assert!(t.elapsed() >= timeout, "{:?}", t.elapsed());

        let t = Instant::now();
        let mut bufs = vec![vec![0u8; 4096]; 2];
        let mut lens = [0usize; 2];
        assert!(matches!(
            s.recv_many(&mut bufs, &mut lens, timeout),
            Err(RecvError::Timeout)
        ));
        assert!(t.elapsed() >= timeout, "{:?}", t.elapsed());
    }
}
