//! Generic netlink: the 4-byte `genlmsghdr` and resolving a family name (here
//! "IPVS") to its dynamically assigned id through the `nlctrl` family.

use crate::netlink::{attrs, DecodeError, MessageWriter, NLM_F_ACK, NLM_F_REQUEST};
use bytes::BytesMut;

/// Size of `struct genlmsghdr`.
pub const GENL_HDRLEN: usize = 4;
/// The fixed id of the controller family.
pub const GENL_ID_CTRL: u16 = 0x10;
pub const CTRL_CMD_NEWFAMILY: u8 = 1;
pub const CTRL_CMD_GETFAMILY: u8 = 3;
pub const CTRL_ATTR_FAMILY_ID: u16 = 1;
pub const CTRL_ATTR_FAMILY_NAME: u16 = 2;

/// `struct genlmsghdr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenlHeader {
    pub cmd: u8,
    pub version: u8,
}

impl GenlHeader {
    pub fn bytes(self) -> [u8; GENL_HDRLEN] {
        [self.cmd, self.version, 0, 0]
    }

    /// Splits a genl message payload into its header and attributes.
    pub fn split(payload: &[u8]) -> Result<(Self, &[u8]), DecodeError> {
        if payload.len() < GENL_HDRLEN {
            return Err(DecodeError::TruncatedGenl);
        }
        Ok((
            GenlHeader {
                cmd: payload[0],
                version: payload[1],
            },
            &payload[GENL_HDRLEN..],
        ))
    }
}

/// Begins a generic netlink request: nlmsghdr + genlmsghdr.
pub fn begin<'b>(
    buf: &'b mut BytesMut,
    family: u16,
    cmd: u8,
    version: u8,
    flags: u16,
    seq: u32,
) -> MessageWriter<'b> {
    let mut w = MessageWriter::begin(buf, family, flags, seq);
    w.put_raw(&GenlHeader { cmd, version }.bytes());
    w
}

/// `CTRL_CMD_GETFAMILY` for `name`.
pub fn encode_get_family(buf: &mut BytesMut, seq: u32, name: &str) -> usize {
    let mut w = begin(
        buf,
        GENL_ID_CTRL,
        CTRL_CMD_GETFAMILY,
        1,
        NLM_F_REQUEST | NLM_F_ACK,
        seq,
    );
    w.put_str(CTRL_ATTR_FAMILY_NAME, name);
    w.finish()
}

/// The family id in a `CTRL_CMD_NEWFAMILY` reply payload.
pub fn decode_family_id(payload: &[u8]) -> Result<u16, DecodeError> {
    let (_, body) = GenlHeader::split(payload)?;
    for attr in attrs(body) {
        let attr = attr?;
        if attr.ty == CTRL_ATTR_FAMILY_ID {
            return attr.u16();
        }
    }
    Err(DecodeError::MissingAttr("CTRL_ATTR_FAMILY_ID"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlink::messages;

    #[test]
    fn get_family_golden_bytes() {
        let mut buf = BytesMut::new();
        let n = encode_get_family(&mut buf, 1, "IPVS");
        #[rustfmt::skip]
        let expected: Vec<u8> = [
            &32u32.to_ne_bytes()[..], &0x10u16.to_ne_bytes(), &5u16.to_ne_bytes(),
            &1u32.to_ne_bytes(), &0u32.to_ne_bytes(),
            &[3, 1, 0, 0],
            &9u16.to_ne_bytes(), &2u16.to_ne_bytes(), b"IPVS\0", &[0, 0, 0],
        ].concat();
        assert_eq!(n, 32);
        assert_eq!(&buf[..], &expected[..]);
    }

    #[test]
    fn family_id_from_reply() {
        let mut buf = BytesMut::new();
        let mut w = begin(&mut buf, GENL_ID_CTRL, CTRL_CMD_NEWFAMILY, 2, 0, 1);
        w.put_str(CTRL_ATTR_FAMILY_NAME, "IPVS");
        w.put_u16(CTRL_ATTR_FAMILY_ID, 0x1d);
        w.finish();
        let msg = messages(&buf).next().unwrap().unwrap();
        assert_eq!(decode_family_id(msg.payload).unwrap(), 0x1d);
        assert!(decode_family_id(&[1, 2]).is_err());
    }
}
