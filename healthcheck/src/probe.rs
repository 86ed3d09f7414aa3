//! One record per finished attempt ("probe"), for callers that measure their checkers.
//!
//! [`HealthEvent`](crate::HealthEvent)s say when a verdict changes, which is what the load
//! balancer acts on; an operator also wants every attempt: how long it took and how it
//! failed, to see a server getting slow long before it is declared down. The runtime keeps
//! these records only when asked ([`HealthChecker::record_probes`](crate::HealthChecker::record_probes)),
//! in a queue of fixed capacity: recording allocates nothing, and a caller that stops
//! draining loses the oldest records (counted), never memory.

use std::collections::VecDeque;
use std::time::Duration;

use crate::outcome::{CheckOutcome, FailureKind};
use crate::runtime::CheckId;

/// How one attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProbeResult {
    /// The attempt succeeded (a MISC_CHECK's dynamic weight included).
    Success,
    Failure(FailureKind),
}

impl ProbeResult {
    pub fn of(outcome: &CheckOutcome) -> Self {
        match outcome {
            CheckOutcome::Up | CheckOutcome::UpWithWeight(_) => ProbeResult::Success,
            CheckOutcome::Down(f) => ProbeResult::Failure(f.kind),
        }
    }

    /// `success`, or the failure kind's [`FailureKind::label`]: a metric label value.
    pub fn label(self) -> &'static str {
        match self {
            ProbeResult::Success => "success",
            ProbeResult::Failure(k) => k.label(),
        }
    }
}

/// One finished attempt of a checker, for one of its subscribers (a check shared by
/// several subscribers yields one record each, as events do).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    pub check: CheckId,
    pub subscriber: u64,
    pub result: ProbeResult,
    /// From the start of the attempt (the connect, or the script's spawn) to its verdict,
    /// on the clock the caller passes in. Time spent waiting for the loop to start the
    /// attempt is not included.
    pub duration: Duration,
}

/// The bounded queue behind [`HealthChecker::record_probes`](crate::HealthChecker::record_probes).
#[derive(Debug)]
pub(crate) struct ProbeLog {
    queue: VecDeque<Probe>,
    capacity: usize,
    dropped: u64,
}

impl ProbeLog {
    pub(crate) fn new(capacity: usize) -> Self {
        ProbeLog {
            queue: VecDeque::with_capacity(capacity),
            capacity,
            dropped: 0,
        }
    }

    /// A new bound; the oldest records beyond it are dropped (and counted).
    pub(crate) fn set_capacity(&mut self, capacity: usize) {
        while self.queue.len() > capacity {
            self.queue.pop_front();
            self.dropped += 1;
        }
        self.capacity = capacity;
        self.queue.reserve(capacity - self.queue.len());
    }

    pub(crate) fn push(&mut self, p: Probe) {
        if self.capacity == 0 {
            self.dropped += 1;
            return;
        }
        if self.queue.len() == self.capacity {
            self.queue.pop_front();
            self.dropped += 1;
        }
        self.queue.push_back(p);
    }

    pub(crate) fn pop(&mut self) -> Option<Probe> {
        self.queue.pop_front()
    }

    pub(crate) fn dropped(&self) -> u64 {
        self.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Failure;

    fn probe(subscriber: u64) -> Probe {
        Probe {
            check: CheckId::for_tests(0),
            subscriber,
            result: ProbeResult::Success,
            duration: Duration::ZERO,
        }
    }

    #[test]
    fn full_log_drops_the_oldest_and_counts() {
        let mut l = ProbeLog::new(2);
        let cap = l.queue.capacity();
        for i in 0..5 {
            l.push(probe(i));
        }
        assert_eq!(l.dropped(), 3);
        assert_eq!(l.pop().map(|p| p.subscriber), Some(3));
        assert_eq!(l.pop().map(|p| p.subscriber), Some(4));
        assert_eq!(l.pop(), None);
        // No growth past what was reserved.
        assert_eq!(l.queue.capacity(), cap);
        // A new capacity keeps what waits and the count.
        l.push(probe(7));
        l.set_capacity(4);
        assert!(l.queue.capacity() >= 4);
        l.set_capacity(0);
        assert_eq!((l.pop(), l.dropped()), (None, 4));
        let mut none = ProbeLog::new(0);
        none.push(probe(1));
        assert_eq!((none.pop(), none.dropped()), (None, 1));
    }

    #[test]
    fn results_and_labels() {
        assert_eq!(
            ProbeResult::of(&CheckOutcome::UpWithWeight(3)),
            ProbeResult::Success
        );
        let down = CheckOutcome::Down(Failure::new(FailureKind::ConnectTimeout, "x"));
        assert_eq!(
            ProbeResult::of(&down),
            ProbeResult::Failure(FailureKind::ConnectTimeout)
        );
        assert_eq!(ProbeResult::of(&down).label(), "connect_timeout");
        assert_eq!(ProbeResult::Success.label(), "success");
    }
}
