//! The built-in checkers: socket/process code around the pure protocol modules.

pub mod dns;
pub mod http;
pub mod misc;
pub mod ping;
pub mod smtp;
pub mod tcp;
pub mod udp;

use crate::outcome::{CheckOutcome, Failure, FailureKind};

fn down(kind: FailureKind, message: String) -> CheckOutcome {
    CheckOutcome::Down(Failure::new(kind, message))
}

/// Size of the receive buffer the runtime lends every checker ([`crate::Context::buf`]):
/// the largest read a checker makes at once, bounded regardless of the peer. A caller
/// driving a checker itself passes at least this much (a shorter buffer truncates
/// datagrams).
pub const READ_BUF: usize = 16 * 1024;
