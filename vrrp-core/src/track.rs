//! Tracked objects (scripts, interfaces, files) and how they move the effective priority.
//!
//! The engine does not run scripts or watch interfaces: the caller does, and reports each change
//! with [`VirtualRouter::set_tracker`](crate::VirtualRouter::set_tracker). This module only holds
//! keepalived's arithmetic.

use std::fmt;

use crate::config::OWNER_PRIORITY;

/// Caller-chosen identifier of a tracked object (the daemon maps names like `chk_haproxy` to ids).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TrackerId(pub u32);

impl fmt::Display for TrackerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// What the caller last observed about a tracked object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrackerState {
    Up,
    Down,
}

/// One tracked object of a virtual router.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrackerConfig {
    pub id: TrackerId,
    /// keepalived semantics: > 0 added while up, < 0 added while down, 0 = FAULT while down.
    pub weight: i16,
    /// State assumed before the caller's first report.
    pub initial: TrackerState,
}

/// The caller named a tracker this router was not configured with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("tracker {0} is not configured on this virtual router")]
pub struct UnknownTracker(pub TrackerId);

/// A weighted value (keepalived's `track_file`) makes a tracker contribute `weight * value`
/// instead of its weight on/off; a product below this is FAULT.
const VALUE_FAULT_BELOW: i64 = -253;

/// Live tracker states of one router.
#[derive(Debug, Clone)]
pub(crate) struct Trackers {
    entries: Vec<Entry>,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    config: TrackerConfig,
    state: TrackerState,
    /// Set by [`Trackers::set_value`]; `None` while the tracker is driven by up/down.
    value: Option<i32>,
}

impl Entry {
    /// keepalived's `track_file`: weight 0 with a non-zero value, or a product below -253, is
    /// a failure.
    fn value_fault(&self) -> bool {
        self.value.is_some_and(|v| {
            let w = i64::from(self.config.weight);
            (w == 0 && v != 0) || w * i64::from(v) < VALUE_FAULT_BELOW
        })
    }

    fn delta(&self) -> i64 {
        let w = i64::from(self.config.weight);
        match (self.value, self.state) {
            (Some(v), _) => w * i64::from(v),
            (None, TrackerState::Up) if w > 0 => w,
            (None, TrackerState::Down) if w < 0 => w,
            (None, _) => 0,
        }
    }
}

impl Trackers {
    pub(crate) fn new(configs: &[TrackerConfig]) -> Self {
        Trackers {
            entries: configs
                .iter()
                .map(|c| Entry {
                    config: *c,
                    state: c.initial,
                    value: None,
                })
                .collect(),
        }
    }

    /// Records a state; returns whether it changed.
    pub(crate) fn set(
        &mut self,
        id: TrackerId,
        state: TrackerState,
    ) -> Result<bool, UnknownTracker> {
        let entry = self.entry(id)?;
        let changed = entry.state != state || entry.value.is_some();
        entry.state = state;
        entry.value = None;
        Ok(changed)
    }

    /// Records a weighted value (keepalived's `track_file`): the tracker then adds
    /// `weight * value` to the priority, or holds the router in FAULT (weight 0 and a non-zero
    /// value, or a product below -253). Its state reads `Down` while it faults. Returns whether
    /// anything changed. A later [`Self::set`] returns the tracker to up/down.
    pub(crate) fn set_value(&mut self, id: TrackerId, value: i32) -> Result<bool, UnknownTracker> {
        let entry = self.entry(id)?;
        let before = (entry.state, entry.value);
        entry.value = Some(value);
        entry.state = if entry.value_fault() {
            TrackerState::Down
        } else {
            TrackerState::Up
        };
        Ok(before != (entry.state, entry.value))
    }

    fn entry(&mut self, id: TrackerId) -> Result<&mut Entry, UnknownTracker> {
        self.entries
            .iter_mut()
            .find(|e| e.config.id == id)
            .ok_or(UnknownTracker(id))
    }

    pub(crate) fn get(&self, id: TrackerId) -> Option<TrackerState> {
        self.entries
            .iter()
            .find(|e| e.config.id == id)
            .map(|e| e.state)
    }

    /// The first weight-0 tracker that is down: it holds the router in FAULT.
    pub(crate) fn fault(&self) -> Option<TrackerId> {
        self.entries
            .iter()
            .find(|e| match e.value {
                Some(_) => e.value_fault(),
                None => e.config.weight == 0 && e.state == TrackerState::Down,
            })
            .map(|e| e.config.id)
    }

    /// keepalived's effective priority: base plus weights, clamped to 1..=254. The address
    /// owner (255) is never changed by weights (keepalived: "The effective priority is never
    /// changed for PRIO_OWNER"), so it always wins the election while it is up.
    pub(crate) fn effective_priority(&self, base: u8) -> u8 {
        if base == OWNER_PRIORITY {
            return base;
        }
        let delta: i64 = self.entries.iter().map(Entry::delta).sum();
        let total = (i64::from(base) + delta).clamp(1, i64::from(OWNER_PRIORITY) - 1);
        u8::try_from(total).unwrap_or(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(id: u32, weight: i16) -> TrackerConfig {
        TrackerConfig {
            id: TrackerId(id),
            weight,
            initial: TrackerState::Up,
        }
    }

    #[test]
    fn weights_follow_keepalived_sign_rules() {
        let mut t = Trackers::new(&[cfg(1, 10), cfg(2, -15)]);
        assert_eq!(t.effective_priority(100), 110);
        assert!(t.set(TrackerId(1), TrackerState::Down).unwrap());
        assert_eq!(t.effective_priority(100), 100);
        t.set(TrackerId(2), TrackerState::Down).unwrap();
        assert_eq!(t.effective_priority(100), 85);
        assert!(!t.set(TrackerId(2), TrackerState::Down).unwrap());
        assert_eq!(
            t.set(TrackerId(9), TrackerState::Up),
            Err(UnknownTracker(TrackerId(9)))
        );
    }

    #[test]
    fn clamps_and_spares_the_owner() {
        let mut t = Trackers::new(&[cfg(1, 200), cfg(2, -254)]);
        assert_eq!(t.effective_priority(100), 254);
        t.set(TrackerId(1), TrackerState::Down).unwrap();
        t.set(TrackerId(2), TrackerState::Down).unwrap();
        assert_eq!(t.effective_priority(100), 1);
        assert_eq!(t.effective_priority(255), 255);
    }

    #[test]
    fn values_multiply_the_weight() {
        let mut t = Trackers::new(&[cfg(1, 5), cfg(2, -2)]);
        // Value 0 changes nothing.
        assert!(t.set_value(TrackerId(1), 0).unwrap());
        assert_eq!(t.effective_priority(100), 100);
        assert!(t.set_value(TrackerId(1), 3).unwrap());
        assert!(!t.set_value(TrackerId(1), 3).unwrap());
        assert_eq!(t.effective_priority(100), 115);
        t.set_value(TrackerId(2), 10).unwrap();
        assert_eq!(t.effective_priority(100), 95);
        // A negative value with a negative weight raises the priority.
        t.set_value(TrackerId(2), -10).unwrap();
        assert_eq!(t.effective_priority(100), 135);
        assert_eq!(t.fault(), None);
        // Back to up/down semantics: weight 5 while up.
        assert!(t.set(TrackerId(1), TrackerState::Up).unwrap());
        assert_eq!(t.effective_priority(100), 125);
        assert_eq!(
            t.set_value(TrackerId(7), 1),
            Err(UnknownTracker(TrackerId(7)))
        );
    }

    #[test]
    fn value_faults_like_keepalived() {
        let mut t = Trackers::new(&[cfg(1, 0), cfg(2, 254)]);
        t.set_value(TrackerId(1), 0).unwrap();
        assert_eq!(t.fault(), None);
        assert_eq!(t.get(TrackerId(1)), Some(TrackerState::Up));
        t.set_value(TrackerId(1), 7).unwrap();
        assert_eq!(t.fault(), Some(TrackerId(1)));
        assert_eq!(t.get(TrackerId(1)), Some(TrackerState::Down));
        t.set_value(TrackerId(1), 0).unwrap();
        // 254 * -1 = -254 < -253: FAULT; -253 alone is not.
        let mut t2 = Trackers::new(&[cfg(2, 253)]);
        t2.set_value(TrackerId(2), -1).unwrap();
        assert_eq!(t2.fault(), None);
        assert_eq!(t2.effective_priority(100), 1);
        t.set_value(TrackerId(2), -1).unwrap();
        assert_eq!(t.fault(), Some(TrackerId(2)));
        // Huge values saturate through the clamp without overflow.
        t.set_value(TrackerId(2), i32::MAX).unwrap();
        assert_eq!(t.fault(), None);
        assert_eq!(t.effective_priority(100), 254);
    }

    #[test]
    fn weight_zero_down_is_fault() {
        let mut t = Trackers::new(&[cfg(1, 0), cfg(2, -5)]);
        assert_eq!(t.fault(), None);
        t.set(TrackerId(2), TrackerState::Down).unwrap();
        assert_eq!(t.fault(), None);
        t.set(TrackerId(1), TrackerState::Down).unwrap();
        assert_eq!(t.fault(), Some(TrackerId(1)));
    }
}
