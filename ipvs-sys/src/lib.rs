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
//!
//! # Example
//!
//! Describe the table you want, diff it against the one you have: the requests are only the
//! difference (no flush, so established connections to unchanged servers are kept). This
//! part is pure and needs no kernel:
//!
//! ```
//! use ipvs_sys::{diff, Dest, Forward, Request, Service, ServiceKey, Table};
//!
//! let vip = ServiceKey::tcp("192.0.2.100:80".parse().unwrap());
//! let (a, b, c) = (
//!     "198.51.100.10:80".parse().unwrap(),
//!     "198.51.100.11:80".parse().unwrap(),
//!     "198.51.100.12:80".parse().unwrap(),
//! );
//!
//! let mut current = Table::new();
//! current.insert_service(Service::new(vip, "wrr"));
//! current.insert_dest(vip, Dest::new(a, Forward::Route, 1));
//! current.insert_dest(vip, Dest::new(b, Forward::Route, 1));
//!
//! // `a` gets more weight, `b` leaves, `c` joins.
//! let mut desired = Table::new();
//! desired.insert_service(Service::new(vip, "wrr"));
//! desired.insert_dest(vip, Dest::new(a, Forward::Route, 3));
//! desired.insert_dest(vip, Dest::new(c, Forward::Route, 1));
//!
//! let requests = diff(&current, &desired);
//! assert_eq!(requests.len(), 3);
//! assert!(requests.iter().any(|r| matches!(r,
//!     Request::SetDest { dest, .. } if dest.addr == a && dest.weight == 3)));
//! assert!(requests.iter().any(|r| matches!(r, Request::DelDest { addr, .. } if *addr == b)));
//! assert!(requests.iter().any(|r| matches!(r, Request::NewDest { dest, .. } if dest.addr == c)));
//! // Nothing to do once the kernel holds the desired table.
//! assert!(diff(&desired, &desired).is_empty());
//! ```
//!
//! Sending them needs the kernel's IPVS (and `CAP_NET_ADMIN`), so this part is only compiled:
//!
//! ```no_run
//! # fn main() -> ipvs_sys::Result<()> {
//! use ipvs_sys::{Client, Table};
//!
//! let mut client = Client::connect()?;
//! // What the kernel holds now, as a table to diff from.
//! let current: Table = client.read_table()?;
//! let desired = Table::new();
//! let report = client.apply(&ipvs_sys::diff(&current, &desired))?;
//! for (index, error) in &report.failures {
//!     eprintln!("request {index} failed: {error}");
//! }
//! # Ok(())
//! # }
//! ```

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
