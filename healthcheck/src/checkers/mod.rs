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

/// Size of the per-checker receive buffer. Reused across attempts; bounded regardless of the peer.
const READ_BUF: usize = 16 * 1024;
