//! A minimal NETLINK_ROUTE socket: request/ack, dumps and multicast reception.
//!
//! We speak rtnetlink over our own `AF_NETLINK` socket rather than through an async
//! runtime: the daemon has one mio loop and no tokio. Requests (address add/del,
//! dumps) are answered by the kernel synchronously within `sendmsg` (or, for later
//! dump parts, within our `recvmsg`), so a request socket never waits on anything
//! but the kernel itself; a receive timeout guards against the impossible anyway.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLMSG_DONE, NLMSG_ERROR, NLMSG_NOOP,
    NLMSG_OVERRUN, NLM_F_ACK, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_REQUEST,
};
use netlink_packet_route::RouteNetlinkMessage;

use super::{cvt, setsockopt};

/// Netlink messages are 4-byte aligned.
const NLMSG_ALIGNTO: usize = 4;
/// Size of `struct nlmsghdr`.
const NLMSG_HDRLEN: usize = 16;
/// Large enough for any single datagram the kernel sends for rtnetlink dumps
/// (it caps them at 32 KiB) with room to spare.
const RECV_BUF: usize = 64 * 1024;
/// Guard against a request socket hanging forever; the kernel answers synchronously.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);

/// How a socket is used: a request socket blocks (bounded) for its answers, a
/// monitor socket is non-blocking for the event loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Request,
    Monitor { groups: u32 },
}

/// Outcome of a request, keeping the kernel's errno so callers can classify it.
#[derive(Debug)]
pub(crate) enum RequestError {
    /// The kernel answered with a NACK carrying this (positive) errno.
    Nack(i32),
    /// The socket failed or the answer could not be decoded.
    Io(io::Error),
    /// A dump kept being interrupted by concurrent changes (NLM_F_DUMP_INTR).
    Inconsistent,
}

impl From<io::Error> for RequestError {
    fn from(e: io::Error) -> Self {
        RequestError::Io(e)
    }
}

#[derive(Debug)]
pub(crate) struct NetlinkSocket {
    fd: OwnedFd,
    seq: u32,
    buf: Vec<u8>,
}

impl NetlinkSocket {
    pub(crate) fn open(mode: Mode) -> io::Result<Self> {
        let nonblock = match mode {
            Mode::Request => 0,
            Mode::Monitor { .. } => libc::SOCK_NONBLOCK,
        };
        // SAFETY: plain socket(2) call; the result is checked before use.
        let raw = cvt(unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC | nonblock,
                libc::NETLINK_ROUTE,
            )
        })?;
        // SAFETY: `raw` is a fresh descriptor we exclusively own.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: sockaddr_nl is plain data; all-zero is a valid value.
        let mut sa: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        sa.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        if let Mode::Monitor { groups } = mode {
            sa.nl_groups = groups;
        }
        // SAFETY: `sa` is a valid sockaddr_nl and its size is passed.
        cvt(unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&sa as *const libc::sockaddr_nl).cast(),
                std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        })?;
        if mode == Mode::Request {
            let tv = libc::timeval {
                tv_sec: REQUEST_TIMEOUT.as_secs() as libc::time_t,
                tv_usec: 0,
            };
            setsockopt(fd.as_raw_fd(), libc::SOL_SOCKET, libc::SO_RCVTIMEO, tv)?;
        } else {
            // Event bursts (many VIPs added at once) must not overflow silently; a
            // larger buffer makes ENOBUFS rarer, and ENOBUFS is still reported.
            let size: libc::c_int = 1 << 20;
            setsockopt(fd.as_raw_fd(), libc::SOL_SOCKET, libc::SO_RCVBUF, size)?;
        }
        // Extended acks give better error text in the kernel log; not required.
        let _ = setsockopt(
            fd.as_raw_fd(),
            libc::SOL_NETLINK,
            libc::NETLINK_EXT_ACK,
            1i32,
        );
        Ok(NetlinkSocket {
            fd,
            seq: 0,
            buf: vec![0; RECV_BUF],
        })
    }

    fn send(&mut self, msg: RouteNetlinkMessage, flags: u16) -> io::Result<u32> {
        self.seq = self.seq.wrapping_add(1).max(1);
        let mut header = NetlinkHeader::default();
        header.flags = flags;
        header.sequence_number = self.seq;
        let mut packet = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(msg));
        packet.finalize();
        let mut out = vec![0u8; packet.buffer_len()];
        packet.serialize(&mut out);
        // SAFETY: sockaddr_nl is plain data; all-zero addresses the kernel (pid 0).
        let mut sa: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        sa.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        // SAFETY: `out` and `sa` are valid for the duration of the call.
        let n = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                out.as_ptr().cast(),
                out.len(),
                0,
                (&sa as *const libc::sockaddr_nl).cast(),
                std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(self.seq)
    }

    /// Receives one datagram into the internal buffer; returns its length.
    /// `WouldBlock` on a monitor socket means "drained".
    fn recv_datagram(&mut self) -> io::Result<usize> {
        loop {
            // SAFETY: `buf` is valid for writes of its length.
            let n = unsafe {
                libc::recv(
                    self.fd.as_raw_fd(),
                    self.buf.as_mut_ptr().cast(),
                    self.buf.len(),
                    0,
                )
            };
            if n >= 0 {
                return Ok(n as usize);
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }

    /// Sends a request with NLM_F_ACK and waits for its ack or NACK.
    pub(crate) fn request(
        &mut self,
        msg: RouteNetlinkMessage,
        flags: u16,
    ) -> Result<(), RequestError> {
        let seq = self.send(msg, flags | NLM_F_REQUEST | NLM_F_ACK)?;
        loop {
            let n = self.recv_datagram()?;
            let mut result = None;
            for_each_message(&self.buf[..n], |m| {
                if m.sequence_number != seq || result.is_some() {
                    return;
                }
                if let Kind::Ack(r) | Kind::Done(r) = m.kind {
                    result = Some(r);
                }
            })?;
            if let Some(r) = result {
                return r;
            }
        }
    }

    /// Dumps with `msg` and collects what `f` extracts from each returned message.
    ///
    /// A dump that raced with a change (the kernel flags it NLM_F_DUMP_INTR) may
    /// have skipped or doubled entries; it is retried a few times from scratch.
    pub(crate) fn dump<T>(
        &mut self,
        msg: RouteNetlinkMessage,
        mut f: impl FnMut(Item<'_>) -> Option<T>,
    ) -> Result<Vec<T>, RequestError> {
        const ATTEMPTS: usize = 4;
        for _ in 0..ATTEMPTS {
            let mut out = Vec::new();
            if self.dump_once(msg.clone(), |item| out.extend(f(item)))? {
                return Ok(out);
            }
        }
        Err(RequestError::Inconsistent)
    }

    /// One dump; returns whether it was consistent.
    fn dump_once(
        &mut self,
        msg: RouteNetlinkMessage,
        mut f: impl FnMut(Item<'_>),
    ) -> Result<bool, RequestError> {
        let seq = self.send(msg, NLM_F_REQUEST | NLM_F_DUMP)?;
        let mut consistent = true;
        loop {
            let n = self.recv_datagram()?;
            let mut end: Option<Result<(), RequestError>> = None;
            for_each_message(&self.buf[..n], |m| {
                if m.sequence_number != seq || end.is_some() {
                    return;
                }
                if m.flags & NLM_F_DUMP_INTR != 0 {
                    consistent = false;
                }
                match m.kind {
                    Kind::Item(item) => f(item),
                    Kind::Ack(r) | Kind::Done(r) => end = Some(r),
                }
            })?;
            if let Some(r) = end {
                return r.map(|()| consistent);
            }
        }
    }

    /// Reads every queued multicast notification without blocking.
    ///
    /// Returns once drained; `Err` with `ENOBUFS` when the kernel dropped
    /// notifications (the caller must resynchronise with a dump).
    pub(crate) fn drain(&mut self, mut f: impl FnMut(Item<'_>)) -> io::Result<()> {
        loop {
            let n = match self.recv_datagram() {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) => return Err(e),
            };
            for_each_message(&self.buf[..n], |m| {
                if let Kind::Item(item) = m.kind {
                    f(item)
                }
            })?;
        }
    }
}

impl AsRawFd for NetlinkSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// A message the route crate could not decode, handed over raw so that callers
/// can still extract what they need: the crate rejects a whole link message when
/// one attribute from a newer kernel does not parse (seen with RTM_DELLINK of a
/// veth on Linux 6.18), and losing a link-down event is not an option.
pub(crate) struct RawMessage<'a> {
    pub(crate) message_type: u16,
    /// The payload after the 16-byte netlink header.
    pub(crate) payload: &'a [u8],
}

/// A data message (not an ack/done): decoded by the crate, or raw.
pub(crate) enum Item<'a> {
    Route(RouteNetlinkMessage),
    Raw(RawMessage<'a>),
}

enum Kind<'a> {
    Item(Item<'a>),
    /// NLMSG_ERROR: an ack (code 0) or a NACK.
    Ack(Result<(), RequestError>),
    /// NLMSG_DONE; a dump may end with an error code in it.
    Done(Result<(), RequestError>),
}

struct Parsed<'a> {
    sequence_number: u32,
    flags: u16,
    kind: Kind<'a>,
}

fn code_to_result(code: i32) -> Result<(), RequestError> {
    if code == 0 {
        Ok(())
    } else {
        Err(RequestError::Nack(code.saturating_abs()))
    }
}

/// Walks the netlink messages packed in one datagram.
fn for_each_message<'a>(mut data: &'a [u8], mut f: impl FnMut(Parsed<'a>)) -> io::Result<()> {
    while data.len() >= NLMSG_HDRLEN {
        let len = u32::from_ne_bytes([data[0], data[1], data[2], data[3]]) as usize;
        if len < NLMSG_HDRLEN || len > data.len() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "truncated netlink message",
            ));
        }
        let message_type = u16::from_ne_bytes([data[4], data[5]]);
        let flags = u16::from_ne_bytes([data[6], data[7]]);
        let sequence_number = u32::from_ne_bytes([data[8], data[9], data[10], data[11]]);
        let payload = &data[NLMSG_HDRLEN..len];
        let kind = match message_type {
            NLMSG_ERROR | NLMSG_DONE => {
                let code = payload
                    .get(..4)
                    .map_or(0, |b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
                if message_type == NLMSG_ERROR {
                    Some(Kind::Ack(code_to_result(code)))
                } else {
                    Some(Kind::Done(code_to_result(code)))
                }
            }
            NLMSG_NOOP | NLMSG_OVERRUN => None,
            _ => Some(Kind::Item(
                match NetlinkMessage::<RouteNetlinkMessage>::deserialize(&data[..len]) {
                    Ok(msg) => match msg.into_parts().1 {
                        NetlinkPayload::InnerMessage(m) => Item::Route(m),
                        _ => Item::Raw(RawMessage {
                            message_type,
                            payload,
                        }),
                    },
                    Err(e) => {
                        tracing::debug!(message_type, error = %e, "rtnetlink message not decoded by the crate");
                        Item::Raw(RawMessage {
                            message_type,
                            payload,
                        })
                    }
                },
            )),
        };
        if let Some(kind) = kind {
            f(Parsed {
                sequence_number,
                flags,
                kind,
            });
        }
        let advance = (len + NLMSG_ALIGNTO - 1) & !(NLMSG_ALIGNTO - 1);
        data = data.get(advance..).unwrap_or(&[]);
    }
    Ok(())
}
