//! keepalived's retry/alpha/warmup policy as a pure state machine (time is the caller's).
//!
//! This is the part of keepalived's `check_api.c` and the per-checker epilogues that decide *when* a real
//! server changes state. Keeping it free of I/O means it can be tested with synthetic outcomes and clocks.

use std::time::Duration;

use crate::outcome::{CheckOutcome, Failure};

/// Scheduling and retry parameters of one checker (keepalived's generic checker options).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Timing {
    /// Interval between two checks of a healthy (or settled) server. keepalived default: 60 s.
    pub delay_loop: Duration,
    /// Additional attempts after a failure before the server is declared down (old name `nb_get_retry`).
    ///
    /// keepalived semantics: with `retry = N` a server goes down after N + 1 consecutive failed attempts.
    pub retry: u32,
    /// Pause between a failed attempt and its retry.
    pub delay_before_retry: Duration,
    /// The first check starts after a random delay in `[0, warmup]`, to scatter checks started together.
    pub warmup: Duration,
    /// Start in the down state until the first successful check (keepalived `alpha`).
    pub alpha: bool,
}

impl Timing {
    /// keepalived's defaults for the generic checkers (TCP_CHECK, SMTP_CHECK, UDP_CHECK, PING_CHECK):
    /// retry 1, delay_before_retry 1 s, warmup = delay_loop, no alpha.
    pub fn new(delay_loop: Duration) -> Self {
        Timing {
            delay_loop,
            retry: 1,
            delay_before_retry: Duration::from_secs(1),
            warmup: delay_loop,
            alpha: false,
        }
    }

    /// HTTP_GET/SSL_GET defaults: like [`Timing::new`] but delay_before_retry 3 s.
    pub fn http(delay_loop: Duration) -> Self {
        Timing {
            delay_before_retry: Duration::from_secs(3),
            ..Timing::new(delay_loop)
        }
    }

    /// DNS_CHECK defaults: retry 3, delay_before_retry = delay_loop.
    pub fn dns(delay_loop: Duration) -> Self {
        Timing {
            retry: 3,
            delay_before_retry: delay_loop,
            ..Timing::new(delay_loop)
        }
    }

    /// MISC_CHECK defaults: retry 0.
    pub fn misc(delay_loop: Duration) -> Self {
        Timing {
            retry: 0,
            ..Timing::new(delay_loop)
        }
    }

    /// Same timing with the given warmup (0 disables the random first delay).
    pub fn with_warmup(self, warmup: Duration) -> Self {
        Timing { warmup, ..self }
    }

    /// Same timing with the given retry count.
    pub fn with_retry(self, retry: u32, delay_before_retry: Duration) -> Self {
        Timing {
            retry,
            delay_before_retry,
            ..self
        }
    }

    /// Same timing with alpha mode set or cleared.
    pub fn with_alpha(self, alpha: bool) -> Self {
        Timing { alpha, ..self }
    }
}

/// Whether the checker currently considers the real server usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServerState {
    Up,
    Down,
}

/// A state change the policy decided on, to be fanned out as events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// Went from down to up.
    Up,
    /// Went from up to down, because of this (last) failure.
    Down(Failure),
    /// A dynamic weight was reported that differs from the last one.
    Weight(u32),
}

/// What the policy decided after one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// State changes, in order (e.g. `Up` then `Weight`).
    pub transitions: Vec<Transition>,
    /// When to start the next attempt, relative to the end of this one.
    pub next_in: Duration,
}

/// Per-checker health state: up/down, consecutive failures, last dynamic weight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthState {
    state: ServerState,
    /// Failures since the last success that did not (yet) change the state: keepalived's `retry_it`.
    retries_used: u32,
    weight: Option<u32>,
}

impl HealthState {
    /// Initial state: down with alpha, up without (keepalived assumes servers healthy unless `alpha`).
    pub fn new(timing: &Timing) -> Self {
        HealthState {
            state: if timing.alpha {
                ServerState::Down
            } else {
                ServerState::Up
            },
            retries_used: 0,
            weight: None,
        }
    }

    pub fn state(&self) -> ServerState {
        self.state
    }

    /// The last weight reported by a dynamic checker, if any.
    pub fn weight(&self) -> Option<u32> {
        self.weight
    }

    /// Consecutive failed attempts absorbed by `retry` so far.
    pub fn retries_used(&self) -> u32 {
        self.retries_used
    }

    /// Apply one attempt's outcome.
    ///
    /// A success resets the retry counter and brings a down server up at once. A failure is retried
    /// `retry` times, spaced by `delay_before_retry`, before the server goes down; the counter then resets
    /// so that a server that stays down is probed every `delay_loop` again.
    pub fn record(&mut self, outcome: CheckOutcome, timing: &Timing) -> Decision {
        let mut transitions = Vec::new();
        let next_in = match outcome {
            CheckOutcome::Up | CheckOutcome::UpWithWeight(_) => {
                self.retries_used = 0;
                if self.state == ServerState::Down {
                    self.state = ServerState::Up;
                    transitions.push(Transition::Up);
                }
                if let CheckOutcome::UpWithWeight(w) = outcome {
                    if self.weight != Some(w) {
                        self.weight = Some(w);
                        transitions.push(Transition::Weight(w));
                    }
                }
                timing.delay_loop
            }
            CheckOutcome::Down(failure) => {
                if self.retries_used < timing.retry {
                    self.retries_used += 1;
                    timing.delay_before_retry
                } else {
                    self.retries_used = 0;
                    if self.state == ServerState::Up {
                        self.state = ServerState::Down;
                        transitions.push(Transition::Down(failure));
                    }
                    timing.delay_loop
                }
            }
        };
        Decision {
            transitions,
            next_in,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::FailureKind;

    fn fail() -> CheckOutcome {
        CheckOutcome::Down(Failure::new(FailureKind::Connect, "x"))
    }

    #[test]
    fn down_after_retry_plus_one_failures_spaced_by_delay_before_retry() {
        let t = Timing::new(Duration::from_secs(10)).with_retry(2, Duration::from_secs(3));
        let mut s = HealthState::new(&t);
        assert_eq!(s.state(), ServerState::Up);
        for _ in 0..2 {
            let d = s.record(fail(), &t);
            assert!(d.transitions.is_empty());
            assert_eq!(d.next_in, Duration::from_secs(3));
        }
        let d = s.record(fail(), &t);
        assert!(matches!(d.transitions.as_slice(), [Transition::Down(_)]));
        assert_eq!(d.next_in, Duration::from_secs(10));
        assert_eq!(s.state(), ServerState::Down);
        // Staying down: no further events, retries spaced again.
        let d = s.record(fail(), &t);
        assert!(d.transitions.is_empty());
        assert_eq!(d.next_in, Duration::from_secs(3));
    }

    #[test]
    fn one_success_brings_up_and_resets_retries() {
        let t = Timing::new(Duration::from_secs(5)).with_retry(1, Duration::from_secs(1));
        let mut s = HealthState::new(&t);
        s.record(fail(), &t);
        assert_eq!(s.retries_used(), 1);
        let d = s.record(CheckOutcome::Up, &t);
        assert!(d.transitions.is_empty());
        assert_eq!(s.retries_used(), 0);
        s.record(fail(), &t);
        s.record(fail(), &t);
        assert_eq!(s.state(), ServerState::Down);
        let d = s.record(CheckOutcome::Up, &t);
        assert_eq!(d.transitions, vec![Transition::Up]);
        assert_eq!(d.next_in, Duration::from_secs(5));
    }

    #[test]
    fn alpha_starts_down_and_dynamic_weight_changes_once() {
        let t = Timing::misc(Duration::from_secs(5)).with_alpha(true);
        let mut s = HealthState::new(&t);
        assert_eq!(s.state(), ServerState::Down);
        let d = s.record(CheckOutcome::UpWithWeight(8), &t);
        assert_eq!(d.transitions, vec![Transition::Up, Transition::Weight(8)]);
        assert!(s
            .record(CheckOutcome::UpWithWeight(8), &t)
            .transitions
            .is_empty());
        assert_eq!(
            s.record(CheckOutcome::UpWithWeight(3), &t).transitions,
            vec![Transition::Weight(3)]
        );
        // retry 0: first failure takes it down.
        assert!(matches!(
            s.record(fail(), &t).transitions.as_slice(),
            [Transition::Down(_)]
        ));
    }
}
