//! The `Checker` trait: one non-blocking check, driven by readiness and deadlines.

use std::time::Instant;

use mio::{Registry, Token};

use crate::outcome::CheckOutcome;

/// What a checker is given each time the runtime drives it.
pub struct Context<'a> {
    /// Where to register the attempt's socket/pipe/pidfd.
    pub registry: &'a Registry,
    /// The only token the checker may register sources under (at most one source at a time), so that the
    /// runtime can route readiness back without a lookup table per socket.
    pub token: Token,
    /// The current time, as seen by the event loop (injected so that tests control it).
    pub now: Instant,
    /// When this attempt was scheduled to start (for lateness measurements); equal to `now` if unknown.
    pub scheduled: Instant,
    /// Scratch space to read into, shared by every checker of the runtime: its content is
    /// garbage on each call, so a checker copies out what it keeps. One buffer rather than
    /// one per checker, which tens of thousands of idle checkers would each hold.
    pub buf: &'a mut [u8],
}

/// Whether an attempt is still in flight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// Waiting for readiness or for [`Checker::deadline`].
    Pending,
    /// The attempt is over; the checker has released every source it registered.
    Done(CheckOutcome),
}

/// A non-blocking health check state machine.
///
/// The runtime calls [`start`](Checker::start) to begin an attempt, then [`ready`](Checker::ready) whenever
/// the token it was given becomes ready, and [`timeout`](Checker::timeout) once `now >= deadline()`, until
/// the checker returns [`Progress::Done`]. An overdue attempt gets one last `ready` first, so that I/O
/// finished while the event loop was late is judged rather than timed out. Implementations must not block, must tolerate spurious `ready`
/// calls (readiness is edge-triggered and tokens are reused between attempts), and must always report a
/// deadline while an attempt is in flight, so that no attempt can hang.
pub trait Checker {
    /// Begin one attempt at `cx.now`.
    fn start(&mut self, cx: &mut Context<'_>) -> Progress;
    /// The token became ready (readable, writable, error or hang-up). Do as much I/O as possible.
    fn ready(&mut self, cx: &mut Context<'_>) -> Progress;
    /// When the in-flight attempt must be woken even without readiness (a timeout or a poll tick).
    fn deadline(&self) -> Instant;
    /// `cx.now` reached [`deadline`](Checker::deadline).
    fn timeout(&mut self, cx: &mut Context<'_>) -> Progress;
    /// Abandon the in-flight attempt (checker removed); release every source.
    fn cancel(&mut self, registry: &Registry);
    /// Short description of the target for logs, e.g. `HTTP_GET [192.0.2.1]:tcp:80`.
    fn describe(&self) -> String;
}
