//! The virtual-server side of lbd, sans-IO: configuration + health -> the IPVS table.
//!
//! keepalived's checker process mixes three things that lbd keeps apart:
//! - [`desired`]: what the configuration asks IPVS to hold (services, schedulers, forwarding,
//!   weights), resolved once into [`desired::VsSpec`] values with every default applied;
//! - [`state`]: keepalived 2.2.7's health semantics per virtual server (alpha, inhibit,
//!   quorum with hysteresis, sorry server, omega, dynamic weights, notify scripts), turning
//!   health events into log lines, scripts to run and the requests that bring IPVS along;
//!   [`file_check`] says what a FILE_CHECK's file value means for it;
//! - [`adopt`], [`plan`] and [`reload`]: reconciliation with what the kernel already has, the
//!   preview printed by `lbd plan`, and the state carried over a configuration reload.
//!
//! Nothing here opens a socket, reads a clock or runs a process: the daemon feeds events in and
//! applies the [`ipvs_sys::Request`]s and [`Notice`]s that come out.

pub mod adopt;
pub mod desired;
pub mod file_check;
pub mod mail;
pub mod names;
pub mod plan;
pub mod reload;
pub mod report;
pub mod state;

pub use adopt::{adopt, Adoption};
pub use desired::{DesiredError, VsSpec};
pub use state::{CheckerRef, Lvs, Notice, ScriptCause, Update};
