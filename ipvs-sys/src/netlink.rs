//! Netlink framing: message headers, attributes (NLA), ACK/error and dump
//! replies. Pure code over byte slices, so every byte can be tested without a
//! kernel.

use bytes::{BufMut, BytesMut};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Size of `struct nlmsghdr`.
pub const NLMSG_HDRLEN: usize = 16;
/// Size of `struct nlattr`.
pub const NLA_HDRLEN: usize = 4;

pub const NLM_F_REQUEST: u16 = 0x1;
pub const NLM_F_MULTI: u16 = 0x2;
pub const NLM_F_ACK: u16 = 0x4;
pub const NLM_F_DUMP_INTR: u16 = 0x10;
pub const NLM_F_DUMP: u16 = 0x300;
/// In an error/ACK message: the original request's payload was not echoed.
pub const NLM_F_CAPPED: u16 = 0x100;
/// In an error/ACK message: extended-ACK TLVs follow.
pub const NLM_F_ACK_TLVS: u16 = 0x200;

pub const NLMSG_NOOP: u16 = 1;
pub const NLMSG_ERROR: u16 = 2;
pub const NLMSG_DONE: u16 = 3;
pub const NLMSG_OVERRUN: u16 = 4;

/// Extended ACK attribute carrying a human readable message.
pub const NLMSGERR_ATTR_MSG: u16 = 1;

pub const NLA_F_NESTED: u16 = 0x8000;
pub const NLA_F_NET_BYTEORDER: u16 = 0x4000;
const NLA_TYPE_MASK: u16 = !(NLA_F_NESTED | NLA_F_NET_BYTEORDER);

/// Rounds up to the 4-byte alignment netlink uses for messages and attributes.
pub const fn align(len: usize) -> usize {
    (len + 3) & !3
}

/// Everything that can be wrong with bytes claiming to be netlink.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("message truncated: header says {claimed} bytes, {available} available")]
    TruncatedMessage { claimed: usize, available: usize },
    #[error("attribute truncated: header says {claimed} bytes, {available} available")]
    TruncatedAttr { claimed: usize, available: usize },
    #[error("attribute {ty} has {len} bytes, expected {expected}")]
    AttrLength {
        ty: u16,
        len: usize,
        expected: &'static str,
    },
    #[error("attribute {0} is not valid UTF-8 text")]
    AttrString(u16),
    #[error("required attribute {0} missing")]
    MissingAttr(&'static str),
    #[error("unknown value {value} for {what}")]
    UnknownValue { what: &'static str, value: u32 },
    #[error("generic netlink header truncated")]
    TruncatedGenl,
}

/// `struct nlmsghdr`, host byte order (netlink is always native-endian).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub len: u32,
    pub ty: u16,
    pub flags: u16,
    pub seq: u32,
    pub pid: u32,
}

impl Header {
    pub fn parse(buf: &[u8]) -> Result<Self, DecodeError> {
        if buf.len() < NLMSG_HDRLEN {
            return Err(DecodeError::TruncatedMessage {
                claimed: NLMSG_HDRLEN,
                available: buf.len(),
            });
        }
        Ok(Header {
            len: ne_u32(&buf[0..4]),
            ty: ne_u16(&buf[4..6]),
            flags: ne_u16(&buf[6..8]),
            seq: ne_u32(&buf[8..12]),
            pid: ne_u32(&buf[12..16]),
        })
    }
}

fn ne_u16(b: &[u8]) -> u16 {
    u16::from_ne_bytes([b[0], b[1]])
}
fn ne_u32(b: &[u8]) -> u32 {
    u32::from_ne_bytes([b[0], b[1], b[2], b[3]])
}

/// One netlink message: its header and the bytes after it.
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    pub header: Header,
    pub payload: &'a [u8],
}

/// Iterates over the messages packed in one datagram. Stops after the first
/// error, since the framing cannot be trusted past it.
pub struct Messages<'a> {
    rest: &'a [u8],
    failed: bool,
}

pub fn messages(buf: &[u8]) -> Messages<'_> {
    Messages {
        rest: buf,
        failed: false,
    }
}

impl<'a> Iterator for Messages<'a> {
    type Item = Result<Message<'a>, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.rest.is_empty() {
            return None;
        }
        let result = (|| {
            let header = Header::parse(self.rest)?;
            let len = header.len as usize;
            if len < NLMSG_HDRLEN || len > self.rest.len() {
                return Err(DecodeError::TruncatedMessage {
                    claimed: len,
                    available: self.rest.len(),
                });
            }
            let payload = &self.rest[NLMSG_HDRLEN..len];
            let next = align(len).min(self.rest.len());
            self.rest = &self.rest[next..];
            Ok(Message { header, payload })
        })();
        if result.is_err() {
            self.failed = true;
        }
        Some(result)
    }
}

/// What a reply message means to a requester.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply<'a> {
    /// A data message (e.g. one entry of a dump).
    Data {
        seq: u32,
        ty: u16,
        flags: u16,
        payload: &'a [u8],
    },
    /// `NLMSG_ERROR` with error 0: the request `seq` succeeded.
    Ack { seq: u32 },
    /// `NLMSG_ERROR` with a negative errno, plus the kernel's extended-ACK
    /// text when it gave one.
    Error {
        seq: u32,
        errno: i32,
        message: Option<String>,
    },
    /// End of a dump; a non-zero errno means the dump failed.
    Done { seq: u32, errno: i32 },
    /// NOOP/OVERRUN and friends: nothing to act on.
    Other { seq: u32, ty: u16 },
}

impl<'a> Reply<'a> {
    pub fn parse(msg: Message<'a>) -> Result<Self, DecodeError> {
        let h = msg.header;
        match h.ty {
            NLMSG_ERROR => {
                if msg.payload.len() < 4 {
                    return Err(DecodeError::TruncatedMessage {
                        claimed: 4,
                        available: msg.payload.len(),
                    });
                }
                let err = i32::from_ne_bytes([
                    msg.payload[0],
                    msg.payload[1],
                    msg.payload[2],
                    msg.payload[3],
                ]);
                // The echoed request: its header always, its payload unless CAPPED.
                let echoed = &msg.payload[4..];
                let orig = Header::parse(echoed).ok();
                let seq = orig.map(|o| o.seq).unwrap_or(h.seq);
                if err == 0 {
                    return Ok(Reply::Ack { seq });
                }
                let mut message = None;
                if h.flags & NLM_F_ACK_TLVS != 0 {
                    let skip = if h.flags & NLM_F_CAPPED != 0 {
                        NLMSG_HDRLEN
                    } else {
                        orig.map(|o| align(o.len as usize)).unwrap_or(NLMSG_HDRLEN)
                    };
                    if let Some(tlvs) = echoed.get(skip..) {
                        for attr in attrs(tlvs).flatten() {
                            if attr.ty == NLMSGERR_ATTR_MSG {
                                if let Ok(s) = attr.str() {
                                    message = Some(s.to_owned());
                                }
                            }
                        }
                    }
                }
                Ok(Reply::Error {
                    seq,
                    errno: err.saturating_neg(),
                    message,
                })
            }
            NLMSG_DONE => {
                let errno = msg
                    .payload
                    .get(0..4)
                    .map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
                    .unwrap_or(0);
                Ok(Reply::Done {
                    seq: h.seq,
                    errno: errno.saturating_neg(),
                })
            }
            NLMSG_NOOP | NLMSG_OVERRUN => Ok(Reply::Other {
                seq: h.seq,
                ty: h.ty,
            }),
            _ => Ok(Reply::Data {
                seq: h.seq,
                ty: h.ty,
                flags: h.flags,
                payload: msg.payload,
            }),
        }
    }
}

/// One attribute: type without the NESTED/BYTEORDER bits, and its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attr<'a> {
    pub ty: u16,
    pub payload: &'a [u8],
}

pub struct Attrs<'a> {
    rest: &'a [u8],
    failed: bool,
}

/// Iterates over a run of attributes (a message body or a nested attribute).
pub fn attrs(buf: &[u8]) -> Attrs<'_> {
    Attrs {
        rest: buf,
        failed: false,
    }
}

impl<'a> Iterator for Attrs<'a> {
    type Item = Result<Attr<'a>, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.rest.len() < NLA_HDRLEN {
            return None;
        }
        let len = ne_u16(&self.rest[0..2]) as usize;
        let ty = ne_u16(&self.rest[2..4]) & NLA_TYPE_MASK;
        if len < NLA_HDRLEN || len > self.rest.len() {
            self.failed = true;
            return Some(Err(DecodeError::TruncatedAttr {
                claimed: len,
                available: self.rest.len(),
            }));
        }
        let payload = &self.rest[NLA_HDRLEN..len];
        let next = align(len).min(self.rest.len());
        self.rest = &self.rest[next..];
        Some(Ok(Attr { ty, payload }))
    }
}

impl<'a> Attr<'a> {
    fn exact<const N: usize>(&self, expected: &'static str) -> Result<[u8; N], DecodeError> {
        self.payload
            .try_into()
            .map_err(|_| DecodeError::AttrLength {
                ty: self.ty,
                len: self.payload.len(),
                expected,
            })
    }
    pub fn u8(&self) -> Result<u8, DecodeError> {
        Ok(self.exact::<1>("1")?[0])
    }
    pub fn u16(&self) -> Result<u16, DecodeError> {
        Ok(u16::from_ne_bytes(self.exact::<2>("2")?))
    }
    /// A u16 in network byte order (ports).
    pub fn be16(&self) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.exact::<2>("2")?))
    }
    pub fn u32(&self) -> Result<u32, DecodeError> {
        Ok(u32::from_ne_bytes(self.exact::<4>("4")?))
    }
    pub fn u64(&self) -> Result<u64, DecodeError> {
        Ok(u64::from_ne_bytes(self.exact::<8>("8")?))
    }
    /// A NUL-terminated (or not) string.
    pub fn str(&self) -> Result<&'a str, DecodeError> {
        let bytes = match self.payload.iter().position(|&b| b == 0) {
            Some(nul) => &self.payload[..nul],
            None => self.payload,
        };
        std::str::from_utf8(bytes).map_err(|_| DecodeError::AttrString(self.ty))
    }
    /// An address stored in a `union nf_inet_addr` (16 bytes, IPv4 in the
    /// first four) or in exactly 4/16 bytes.
    pub fn inet_addr(&self, v6: bool) -> Result<IpAddr, DecodeError> {
        let p = self.payload;
        if v6 {
            let b: [u8; 16] =
                p.get(..16)
                    .and_then(|s| s.try_into().ok())
                    .ok_or(DecodeError::AttrLength {
                        ty: self.ty,
                        len: p.len(),
                        expected: "16",
                    })?;
            Ok(IpAddr::V6(Ipv6Addr::from(b)))
        } else {
            let b: [u8; 4] =
                p.get(..4)
                    .and_then(|s| s.try_into().ok())
                    .ok_or(DecodeError::AttrLength {
                        ty: self.ty,
                        len: p.len(),
                        expected: "4 or 16",
                    })?;
            Ok(IpAddr::V4(Ipv4Addr::from(b)))
        }
    }
}

/// Writes one netlink message into a buffer; the length is patched by
/// [`MessageWriter::finish`]. Attributes are appended with the `put_*`
/// methods, nests with [`MessageWriter::nested`].
pub struct MessageWriter<'b> {
    buf: &'b mut BytesMut,
    start: usize,
}

impl<'b> MessageWriter<'b> {
    pub fn begin(buf: &'b mut BytesMut, ty: u16, flags: u16, seq: u32) -> Self {
        // Keep every message 4-aligned inside a batch datagram.
        let pad = align(buf.len()) - buf.len();
        buf.put_bytes(0, pad);
        let start = buf.len();
        buf.put_u32_ne(0);
        buf.put_u16_ne(ty);
        buf.put_u16_ne(flags);
        buf.put_u32_ne(seq);
        buf.put_u32_ne(0);
        MessageWriter { buf, start }
    }

    /// Raw bytes right after the header (e.g. the genl header).
    pub fn put_raw(&mut self, bytes: &[u8]) {
        self.buf.put_slice(bytes);
    }

    pub fn put_attr(&mut self, ty: u16, payload: &[u8]) {
        let len = NLA_HDRLEN + payload.len();
        self.buf.put_u16_ne(len as u16);
        self.buf.put_u16_ne(ty);
        self.buf.put_slice(payload);
        self.buf.put_bytes(0, align(len) - len);
    }
    pub fn put_u8(&mut self, ty: u16, v: u8) {
        self.put_attr(ty, &[v]);
    }
    pub fn put_u16(&mut self, ty: u16, v: u16) {
        self.put_attr(ty, &v.to_ne_bytes());
    }
    pub fn put_be16(&mut self, ty: u16, v: u16) {
        self.put_attr(ty, &v.to_be_bytes());
    }
    pub fn put_u32(&mut self, ty: u16, v: u32) {
        self.put_attr(ty, &v.to_ne_bytes());
    }
    /// A NUL-terminated string, as the kernel's NLA_NUL_STRING policy wants.
    pub fn put_str(&mut self, ty: u16, s: &str) {
        let len = NLA_HDRLEN + s.len() + 1;
        self.buf.put_u16_ne(len as u16);
        self.buf.put_u16_ne(ty);
        self.buf.put_slice(s.as_bytes());
        self.buf.put_u8(0);
        self.buf.put_bytes(0, align(len) - len);
    }
    /// An address as a 16-byte `union nf_inet_addr`, as libipvs sends it.
    pub fn put_inet_addr(&mut self, ty: u16, addr: IpAddr) {
        let mut b = [0u8; 16];
        match addr {
            IpAddr::V4(a) => b[..4].copy_from_slice(&a.octets()),
            IpAddr::V6(a) => b.copy_from_slice(&a.octets()),
        }
        self.put_attr(ty, &b);
    }

    /// A nested attribute whose content `f` writes.
    pub fn nested(&mut self, ty: u16, f: impl FnOnce(&mut Self)) {
        let at = self.buf.len();
        self.buf.put_u16_ne(0);
        self.buf.put_u16_ne(ty | NLA_F_NESTED);
        f(self);
        let len = self.buf.len() - at;
        self.buf[at..at + 2].copy_from_slice(&(len as u16).to_ne_bytes());
    }

    /// Patches the length; returns the message size.
    pub fn finish(self) -> usize {
        let len = self.buf.len() - self.start;
        self.buf[self.start..self.start + 4].copy_from_slice(&(len as u32).to_ne_bytes());
        len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writer_emits_header_attrs_and_nests() {
        let mut buf = BytesMut::new();
        let mut w = MessageWriter::begin(&mut buf, 0x20, NLM_F_REQUEST | NLM_F_ACK, 7);
        w.put_raw(&[1, 1, 0, 0]);
        w.nested(1, |w| {
            w.put_u16(1, 2);
            w.put_str(6, "rr");
        });
        let n = w.finish();
        assert_eq!(n, buf.len());
        #[rustfmt::skip]
        let expected: Vec<u8> = [
            &(40u32).to_ne_bytes()[..], &0x20u16.to_ne_bytes(), &5u16.to_ne_bytes(),
            &7u32.to_ne_bytes(), &0u32.to_ne_bytes(),
            &[1, 1, 0, 0],
            &20u16.to_ne_bytes(), &(1u16 | NLA_F_NESTED).to_ne_bytes(),
            &6u16.to_ne_bytes(), &1u16.to_ne_bytes(), &2u16.to_ne_bytes(), &[0, 0],
            &7u16.to_ne_bytes(), &6u16.to_ne_bytes(), b"rr\0", &[0],
        ].concat();
        assert_eq!(&buf[..], &expected[..]);

        let msg = messages(&buf).next().unwrap().unwrap();
        assert_eq!(msg.header.seq, 7);
        let outer: Vec<_> = attrs(&msg.payload[4..]).map(|a| a.unwrap()).collect();
        assert_eq!(outer.len(), 1);
        assert_eq!(outer[0].ty, 1);
        let inner: Vec<_> = attrs(outer[0].payload).map(|a| a.unwrap()).collect();
        assert_eq!(inner[0].u16().unwrap(), 2);
        assert_eq!(inner[1].str().unwrap(), "rr");
    }

    #[test]
    fn truncated_input_is_an_error_not_a_panic() {
        let mut buf = BytesMut::new();
        let w = MessageWriter::begin(&mut buf, 0x20, 0, 1);
        w.finish();
        buf[0] = 200; // claims more than there is
        let r: Vec<_> = messages(&buf).collect();
        assert_eq!(r.len(), 1);
        assert!(r[0].is_err());
        let bad_attr = [9u8, 0, 1, 0, 0];
        assert!(attrs(&bad_attr).next().unwrap().is_err());
    }

    #[test]
    fn error_reply_with_ext_ack_message() {
        // nlmsgerr { error = -2, msg = orig header } + NLMSGERR_ATTR_MSG
        let mut buf = BytesMut::new();
        let mut w = MessageWriter::begin(&mut buf, NLMSG_ERROR, NLM_F_CAPPED | NLM_F_ACK_TLVS, 9);
        w.put_raw(&(-2i32).to_ne_bytes());
        // the echoed original header: len 20, type 0x20, seq 42
        let mut orig = Vec::new();
        orig.extend_from_slice(&20u32.to_ne_bytes());
        orig.extend_from_slice(&0x20u16.to_ne_bytes());
        orig.extend_from_slice(&5u16.to_ne_bytes());
        orig.extend_from_slice(&42u32.to_ne_bytes());
        orig.extend_from_slice(&0u32.to_ne_bytes());
        w.put_raw(&orig);
        w.put_str(NLMSGERR_ATTR_MSG, "no such thing");
        w.finish();
        let msg = messages(&buf).next().unwrap().unwrap();
        assert_eq!(
            Reply::parse(msg).unwrap(),
            Reply::Error {
                seq: 42,
                errno: 2,
                message: Some("no such thing".into())
            }
        );
    }

    #[test]
    fn ack_and_done() {
        let mut buf = BytesMut::new();
        let mut w = MessageWriter::begin(&mut buf, NLMSG_ERROR, NLM_F_CAPPED, 0);
        w.put_raw(&0i32.to_ne_bytes());
        let mut orig = [0u8; 16];
        orig[8..12].copy_from_slice(&5u32.to_ne_bytes());
        w.put_raw(&orig);
        w.finish();
        let mut w = MessageWriter::begin(&mut buf, NLMSG_DONE, NLM_F_MULTI, 6);
        w.put_raw(&0i32.to_ne_bytes());
        w.finish();
        let replies: Vec<_> = messages(&buf)
            .map(|m| Reply::parse(m.unwrap()).unwrap())
            .collect();
        assert_eq!(
            replies,
            vec![Reply::Ack { seq: 5 }, Reply::Done { seq: 6, errno: 0 }]
        );
    }
}
