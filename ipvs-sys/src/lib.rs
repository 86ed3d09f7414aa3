//! Linux IPVS over generic netlink, from scratch: no libnl, no libipvs.
//!
//! Everything `ipvsadm`/libipvs do, as a safe library:
//! - [`netlink`], [`genl`], [`attr`], [`msg`]: sans-IO framing, attributes and
//!   typed encoders/decoders for every IPVS command (services, destinations,
//!   info, timeouts, sync daemons), testable with golden bytes;
//! - [`socket`]: the thin I/O layer (a raw `AF_NETLINK` socket, reads with a
//!   deadline, `recvmmsg` to drain ACKs);
//! - [`client`]: the API, including batched application of thousands of
//!   requests with few syscalls;
//! - [`mod@diff`]: minimal diff-and-apply reconciliation (never flushes);
//! - [`mod@format`], [`rules`]: ipvsadm's `-Ln`/`-Sn` text output and `-R` input.

pub mod attr;
pub mod client;
pub mod diff;
pub mod error;
pub mod format;
pub mod fuzzing;
pub mod genl;
pub mod msg;
pub mod netlink;
pub mod rules;
pub mod socket;
pub mod types;

pub use client::{BatchReport, Client, VirtualServer};
pub use diff::{diff, Table};
pub use error::{Error, Result};
pub use msg::{InvalidRequest, Query, Request};
pub use types::*;
