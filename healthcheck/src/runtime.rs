//! The runtime: schedules every checker on one mio registry, applies the retry policy, deduplicates
//! identical checks and turns state changes into events.
//!
//! It is embeddable: the daemon owns the `mio::Poll`, routes events whose token [`HealthChecker::owns`]
//! to [`HealthChecker::handle_event`], calls [`HealthChecker::handle_timeout`] after every poll, sleeps at
//! most until [`HealthChecker::poll_timeout`], and drains [`HealthChecker::poll_event`]. With thousands of
//! checkers a batch of events can take milliseconds to handle; calling `handle_timeout` every few dozen
//! events (as [`HealthChecker::run_until`] does) keeps check starts punctual.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::event::Event;
use mio::{Events, Poll, Registry, Token};

use crate::checker::{Checker, Context, Progress};
use crate::outcome::{CheckOutcome, Failure, FailureKind};
use crate::policy::{HealthState, ServerState, Timing, Transition};
use crate::probe::{Probe, ProbeLog, ProbeResult};
use crate::rng::XorShift;
use crate::spec::{BuildError, CheckSpec};

/// Handle of one scheduled checker (shared by all its subscribers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CheckId {
    slot: usize,
    /// 32 bits: a slot is reused with the same generation only after 2^32 more checkers
    /// were added, and the slot keeps it in what would otherwise be padding.
    generation: u32,
}

impl CheckId {
    #[cfg(test)]
    pub(crate) fn for_tests(slot: usize) -> Self {
        CheckId {
            slot,
            generation: 0,
        }
    }
}

/// Who wants to hear about a checker: typically one real server of one virtual server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Subscription {
    /// Caller's identifier, echoed in every event.
    pub id: u64,
    /// keepalived `inhibit_on_failure`: the caller sets weight 0 instead of removing the server. The
    /// runtime only carries it, so that the event alone says what to do.
    pub inhibit_on_failure: bool,
}

/// A change of a real server's health, for one subscriber.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthEvent {
    pub check: CheckId,
    pub subscriber: u64,
    pub inhibit_on_failure: bool,
    pub change: Change,
}

/// What changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Up,
    /// Down; `reason` is the sentence keepalived would log for the failure that tipped it.
    Down {
        reason: Failure,
    },
    /// A dynamic checker (MISC_CHECK `misc_dynamic`) reported a new weight.
    WeightChanged {
        weight: u32,
    },
}

/// Returned by `add`: the checker's id and the state the subscriber must assume until events say
/// otherwise (down with alpha, up without; the current state for a shared checker).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Registration {
    pub check: CheckId,
    pub state: ServerState,
    pub weight: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Next attempt starts at `wake`.
    Idle,
    /// An attempt is in flight; it was due at `scheduled` and started at `started`; `wake` is
    /// the checker's deadline.
    Running {
        scheduled: Instant,
        started: Instant,
    },
}

/// Who hears about a checker, in subscription order. Nearly always one subscriber: it is
/// kept inline, as a `Vec` per checker would be one more allocation each for tens of
/// thousands of checkers.
#[derive(Debug)]
enum Subscribers {
    One(Subscription),
    /// Several, or none left (the slot is then freed).
    Many(Vec<Subscription>),
}

impl Subscribers {
    fn iter(&self) -> std::slice::Iter<'_, Subscription> {
        match self {
            Subscribers::One(s) => std::slice::from_ref(s).iter(),
            Subscribers::Many(v) => v.iter(),
        }
    }

    fn is_empty(&self) -> bool {
        matches!(self, Subscribers::Many(v) if v.is_empty())
    }

    /// Adds `sub` unless its id is already subscribed.
    fn add(&mut self, sub: Subscription) {
        match self {
            Subscribers::One(s) if s.id == sub.id => {}
            Subscribers::One(s) => *self = Subscribers::Many(vec![*s, sub]),
            Subscribers::Many(v) if v.iter().any(|s| s.id == sub.id) => {}
            Subscribers::Many(v) => v.push(sub),
        }
    }

    /// Removes `id`; whether it was subscribed.
    fn remove(&mut self, id: u64) -> bool {
        match self {
            Subscribers::One(s) if s.id == id => {
                *self = Subscribers::Many(Vec::new());
                true
            }
            Subscribers::One(_) => false,
            Subscribers::Many(v) => {
                let before = v.len();
                v.retain(|s| s.id != id);
                v.len() != before
            }
        }
    }
}

/// What a slot runs: a spec's check (shareable), or a caller's own checker with its timing.
enum Source {
    /// The same allocation as the spec's `by_key` entry (a spec is a hundred bytes or
    /// more; one copy per checker is enough). Its timing is the slot's.
    Spec(Arc<CheckSpec>),
    /// Boxed: rare, and the common case should not pay for its size.
    Custom(Box<Timing>),
}

impl Source {
    fn timing(&self) -> &Timing {
        match self {
            Source::Spec(s) => &s.timing,
            Source::Custom(t) => t,
        }
    }
}

struct Slot {
    generation: u32,
    source: Source,
    checker: Box<dyn Checker>,
    health: HealthState,
    subscribers: Subscribers,
    phase: Phase,
    wake: Instant,
    /// A timer entry for `wake` is in the heap.
    wake_armed: bool,
}

/// All health checks of one daemon, on one event loop.
pub struct HealthChecker {
    registry: Registry,
    token_base: usize,
    slots: Vec<Option<Slot>>,
    free: Vec<usize>,
    next_generation: u32,
    by_key: HashMap<Arc<CheckSpec>, usize>,
    /// Min-heap of (wake time, slot). Entries whose time no longer matches the slot are stale and skipped.
    timers: BinaryHeap<Reverse<(Instant, usize)>>,
    events: VecDeque<HealthEvent>,
    rng: XorShift,
    /// Scratch list of due timers, kept to avoid an allocation per loop iteration.
    due: Vec<(Instant, usize)>,
    /// Per-attempt records, when the caller asked for them.
    probes: Option<ProbeLog>,
    /// The read buffer every checker reads into ([`Context::buf`]): one for the runtime
    /// rather than one per checker, which tens of thousands of checkers would each keep.
    buf: Box<[u8]>,
}

impl HealthChecker {
    /// A runtime registering its sources with a clone of `registry`, using tokens `token_base..`.
    ///
    /// The daemon keeps its own tokens below `token_base`.
    pub fn new(registry: &Registry, token_base: usize) -> io::Result<Self> {
        Ok(HealthChecker {
            registry: registry.try_clone()?,
            token_base,
            slots: Vec::new(),
            free: Vec::new(),
            next_generation: 0,
            by_key: HashMap::new(),
            timers: BinaryHeap::new(),
            events: VecDeque::new(),
            rng: XorShift::from_entropy(),
            due: Vec::new(),
            probes: None,
            buf: vec![0; crate::checkers::READ_BUF].into_boxed_slice(),
        })
    }

    /// Room for `additional` more checkers without growing: a caller that knows how many
    /// it is about to add spares the tables their doubling slack (at tens of thousands of
    /// checkers, megabytes).
    pub fn reserve(&mut self, additional: usize) {
        let free = self.free.len();
        self.slots.reserve_exact(additional.saturating_sub(free));
        self.by_key.reserve(additional);
        self.timers.reserve(additional);
    }

    /// Keep a [`Probe`] record of every finished attempt, for [`poll_probe`](Self::poll_probe).
    /// At most `capacity` records wait (all reserved now, so recording never allocates);
    /// beyond that the oldest are dropped and counted in [`probes_dropped`](Self::probes_dropped).
    /// Drain after each [`handle_timeout`](Self::handle_timeout)/[`handle_event`](Self::handle_event)
    /// round, like events, and a few records per checker are enough. Calling it again
    /// changes the capacity and keeps the waiting records and the dropped count.
    pub fn record_probes(&mut self, capacity: usize) {
        match &mut self.probes {
            Some(log) => log.set_capacity(capacity),
            None => self.probes = Some(ProbeLog::new(capacity)),
        }
    }

    /// The oldest waiting probe record (`None` also when records were not asked for).
    pub fn poll_probe(&mut self) -> Option<Probe> {
        self.probes.as_mut().and_then(ProbeLog::pop)
    }

    /// Probe records lost because the queue was full.
    pub fn probes_dropped(&self) -> u64 {
        self.probes.as_ref().map_or(0, ProbeLog::dropped)
    }

    /// Make warmup jitter reproducible (tests).
    pub fn set_seed(&mut self, seed: u64) {
        self.rng = XorShift::new(seed);
    }

    /// Whether `token` belongs to this runtime.
    pub fn owns(&self, token: Token) -> bool {
        token.0 >= self.token_base && token.0 - self.token_base < self.slots.len()
    }

    /// Number of distinct checkers (after deduplication).
    pub fn len(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Add a built-in check for `sub`. An identical spec already scheduled is shared: `sub` is added to its
    /// subscribers and told its current state.
    pub fn add(
        &mut self,
        spec: CheckSpec,
        sub: Subscription,
        now: Instant,
    ) -> Result<Registration, BuildError> {
        if let Some(&idx) = self.by_key.get(&spec) {
            if let Some(slot) = self.slots.get_mut(idx).and_then(Option::as_mut) {
                slot.subscribers.add(sub);
                return Ok(Registration {
                    check: CheckId {
                        slot: idx,
                        generation: slot.generation,
                    },
                    state: slot.health.state(),
                    weight: slot.health.weight(),
                });
            }
        }
        let key = Arc::new(spec);
        let checker = CheckSpec::build_shared(&key)?;
        let reg = self.insert(Source::Spec(Arc::clone(&key)), checker, sub, now);
        self.by_key.insert(key, reg.check.slot);
        Ok(reg)
    }

    /// Add a custom checker (never shared).
    pub fn add_checker(
        &mut self,
        checker: Box<dyn Checker>,
        timing: Timing,
        sub: Subscription,
        now: Instant,
    ) -> Registration {
        self.insert(Source::Custom(Box::new(timing)), checker, sub, now)
    }

    fn insert(
        &mut self,
        source: Source,
        checker: Box<dyn Checker>,
        sub: Subscription,
        now: Instant,
    ) -> Registration {
        let jitter = self
            .rng
            .below_inclusive(u64::try_from(source.timing().warmup.as_micros()).unwrap_or(u64::MAX));
        let wake = now + Duration::from_micros(jitter);
        let health = HealthState::new(source.timing());
        let state = health.state();
        let generation = self.next_generation;
        self.next_generation = self.next_generation.wrapping_add(1);
        let slot = Slot {
            generation,
            source,
            checker,
            health,
            subscribers: Subscribers::One(sub),
            phase: Phase::Idle,
            wake,
            wake_armed: true,
        };
        let idx = match self.free.pop() {
            Some(i) => {
                self.slots[i] = Some(slot);
                i
            }
            None => {
                self.slots.push(Some(slot));
                self.slots.len() - 1
            }
        };
        self.timers.push(Reverse((wake, idx)));
        Registration {
            check: CheckId {
                slot: idx,
                generation,
            },
            state,
            weight: None,
        }
    }

    /// Unsubscribe `subscriber`; the checker stops when nobody is left. Returns whether it was subscribed.
    pub fn remove(&mut self, check: CheckId, subscriber: u64) -> bool {
        let Some(slot) = self.slot_mut(check) else {
            return false;
        };
        let removed = slot.subscribers.remove(subscriber);
        if slot.subscribers.is_empty() {
            if let Some(mut slot) = self.slots[check.slot].take() {
                slot.checker.cancel(&self.registry);
                if let Source::Spec(key) = slot.source {
                    self.by_key.remove(&key);
                }
            }
            self.free.push(check.slot);
        }
        removed
    }

    /// Current state of a checker.
    pub fn state(&self, check: CheckId) -> Option<ServerState> {
        self.slots
            .get(check.slot)
            .and_then(Option::as_ref)
            .filter(|s| s.generation == check.generation)
            .map(|s| s.health.state())
    }

    /// The checker's description for logs, e.g. `HTTP_GET [192.0.2.1]:tcp:80`.
    pub fn describe(&self, check: CheckId) -> Option<String> {
        self.slots
            .get(check.slot)
            .and_then(Option::as_ref)
            .filter(|s| s.generation == check.generation)
            .map(|s| s.checker.describe())
    }

    fn slot_mut(&mut self, check: CheckId) -> Option<&mut Slot> {
        self.slots
            .get_mut(check.slot)
            .and_then(Option::as_mut)
            .filter(|s| s.generation == check.generation)
    }

    /// Route a readiness event (its token must satisfy [`owns`](HealthChecker::owns)).
    pub fn handle_event(&mut self, event: &Event, now: Instant) {
        self.handle_token(event.token(), now);
    }

    /// Like [`handle_event`](HealthChecker::handle_event), for callers that only have the token.
    pub fn handle_token(&mut self, token: Token, now: Instant) {
        let Some(idx) = token.0.checked_sub(self.token_base) else {
            return;
        };
        let Some(slot) = self.slots.get_mut(idx).and_then(Option::as_mut) else {
            return;
        };
        let Phase::Running { scheduled, .. } = slot.phase else {
            // Readiness of a socket from a finished attempt: nothing to do.
            return;
        };
        let mut cx = Context {
            registry: &self.registry,
            token,
            now,
            scheduled,
            buf: &mut self.buf,
        };
        let progress = slot.checker.ready(&mut cx);
        self.after(idx, progress, now);
    }

    /// Start due attempts and expire overdue ones.
    ///
    /// Only timers due at entry are handled: an attempt that finishes at once with `delay_loop` 0 is
    /// rescheduled for the next call instead of spinning here.
    pub fn handle_timeout(&mut self, now: Instant) {
        let mut due = std::mem::take(&mut self.due);
        while let Some(&Reverse((at, idx))) = self.timers.peek() {
            if at > now {
                break;
            }
            self.timers.pop();
            due.push((at, idx));
        }
        let mut now = now;
        for (i, &(at, idx)) in due.iter().enumerate() {
            // Starting thousands of attempts (a connect each) takes long enough that `now` goes stale,
            // and a deadline counted from a stale start would cut the attempt's timeout short. The
            // clock only moves forward here, so injected (test) times ahead of it are kept.
            if i > 0 && i % 64 == 0 {
                now = now.max(Instant::now());
            }
            self.fire(at, idx, now);
        }
        due.clear();
        self.due = due;
    }

    fn fire(&mut self, at: Instant, idx: usize, now: Instant) {
        let Some(slot) = self.slots.get_mut(idx).and_then(Option::as_mut) else {
            return;
        };
        if slot.wake != at {
            return;
        }
        let token = Token(self.token_base + idx);
        let progress = match slot.phase {
            Phase::Idle => {
                slot.phase = Phase::Running {
                    scheduled: at,
                    started: now,
                };
                let mut cx = Context {
                    registry: &self.registry,
                    token,
                    now,
                    scheduled: at,
                    buf: &mut self.buf,
                };
                slot.checker.start(&mut cx)
            }
            Phase::Running { scheduled, .. } => {
                let mut cx = Context {
                    registry: &self.registry,
                    token,
                    now,
                    scheduled,
                    buf: &mut self.buf,
                };
                // The loop may have been blocked past the deadline while the socket became ready
                // (connect completed, reply arrived), and with thousands of checks that readiness may
                // not even be among the events polled so far: judge the attempt on its I/O first, and
                // time it out only if that leaves it pending with its deadline still passed.
                let progress = match slot.checker.ready(&mut cx) {
                    Progress::Pending if slot.checker.deadline() <= now => {
                        slot.checker.timeout(&mut cx)
                    }
                    p => p,
                };
                match progress {
                    // A checker that neither finishes nor moves its deadline would spin: fail it.
                    Progress::Pending if slot.checker.deadline() <= at => {
                        slot.checker.cancel(&self.registry);
                        Progress::Done(CheckOutcome::Down(Failure::new(
                            FailureKind::ReadTimeout,
                            format!("{}: timed out.", slot.checker.describe()),
                        )))
                    }
                    p => p,
                }
            }
        };
        // The timer entry for `at` was consumed: whatever the new wake time, it needs a fresh entry.
        if let Some(slot) = self.slots.get_mut(idx).and_then(Option::as_mut) {
            slot.wake_armed = false;
        }
        self.after(idx, progress, now);
    }

    /// Apply a checker's progress: re-arm its deadline, or record its outcome and schedule the next attempt.
    fn after(&mut self, idx: usize, progress: Progress, now: Instant) {
        let Some(slot) = self.slots.get_mut(idx).and_then(Option::as_mut) else {
            return;
        };
        let wake = match progress {
            Progress::Pending => slot.checker.deadline(),
            Progress::Done(outcome) => {
                let check = CheckId {
                    slot: idx,
                    generation: slot.generation,
                };
                if let (Some(log), Phase::Running { started, .. }) = (&mut self.probes, slot.phase)
                {
                    let result = ProbeResult::of(&outcome);
                    let duration = now.saturating_duration_since(started);
                    for sub in slot.subscribers.iter() {
                        log.push(Probe {
                            check,
                            subscriber: sub.id,
                            result,
                            duration,
                        });
                    }
                }
                slot.phase = Phase::Idle;
                let decision = slot.health.record(outcome, slot.source.timing());
                for t in decision.transitions {
                    let change = match t {
                        Transition::Up => Change::Up,
                        Transition::Down(reason) => Change::Down { reason },
                        Transition::Weight(weight) => Change::WeightChanged { weight },
                    };
                    for sub in slot.subscribers.iter() {
                        self.events.push_back(HealthEvent {
                            check,
                            subscriber: sub.id,
                            inhibit_on_failure: sub.inhibit_on_failure,
                            change: change.clone(),
                        });
                    }
                }
                now + decision.next_in
            }
        };
        if wake != slot.wake || !slot.wake_armed {
            slot.wake = wake;
            slot.wake_armed = true;
            self.timers.push(Reverse((wake, idx)));
        }
    }

    /// When the event loop must wake up next (None: nothing scheduled).
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        while let Some(&Reverse((at, idx))) = self.timers.peek() {
            let live = self
                .slots
                .get(idx)
                .and_then(Option::as_ref)
                .is_some_and(|s| s.wake == at);
            if live {
                return Some(at);
            }
            self.timers.pop();
        }
        None
    }

    /// Next pending event.
    pub fn poll_event(&mut self) -> Option<HealthEvent> {
        self.events.pop_front()
    }

    /// Standalone loop on `poll` (whose registry this runtime was created with) until `until`, or until
    /// `on_event` returns false. Events of other tokens are ignored.
    pub fn run_until(
        &mut self,
        poll: &mut Poll,
        until: Instant,
        mut on_event: impl FnMut(&HealthEvent) -> bool,
    ) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        loop {
            let now = Instant::now();
            self.handle_timeout(now);
            while let Some(e) = self.poll_event() {
                if !on_event(&e) {
                    return Ok(());
                }
            }
            if now >= until {
                return Ok(());
            }
            let wake = self.poll_timeout().map_or(until, |t| t.min(until));
            match poll.poll(&mut events, Some(wake.saturating_duration_since(now))) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            // Start due checks before completing finished connects: start times are what must be punctual.
            self.handle_timeout(Instant::now());
            let mut now = Instant::now();
            for (i, ev) in events.iter().enumerate() {
                // A full batch of completions costs milliseconds of kernel time (closing sockets); start
                // what fell due meanwhile every few events so that start lateness stays bounded.
                if i > 0 && i % 64 == 0 {
                    now = Instant::now();
                    self.handle_timeout(now);
                }
                if self.owns(ev.token()) {
                    self.handle_event(ev, now);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(id: u64) -> Subscription {
        Subscription {
            id,
            inhibit_on_failure: false,
        }
    }

    fn ids(s: &Subscribers) -> Vec<u64> {
        s.iter().map(|s| s.id).collect()
    }

    #[test]
    fn subscribers_keep_their_order_whichever_leaves() {
        let mut s = Subscribers::One(sub(1));
        s.add(sub(2));
        s.add(sub(3));
        s.add(sub(2));
        assert_eq!(ids(&s), [1, 2, 3]);
        assert!(s.remove(1));
        assert_eq!(ids(&s), [2, 3]);
        assert!(!s.remove(1));
        assert!(s.remove(3));
        assert_eq!(ids(&s), [2]);
        assert!(s.remove(2));
        assert!(s.is_empty());
        s.add(sub(4));
        assert_eq!(ids(&s), [4]);
    }
}
