//! Sans-IO VRRP engine (RFC 3768 VRRPv2, RFC 5798 VRRPv3).

pub mod wire;
