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

/// Live tracker states of one router.
#[derive(Debug, Clone)]
pub(crate) struct Trackers {
    entries: Vec<(TrackerConfig, TrackerState)>,
}

impl Trackers {
    pub(crate) fn new(configs: &[TrackerConfig]) -> Self {
        Trackers {
            entries: configs.iter().map(|c| (*c, c.initial)).collect(),
        }
    }

    /// Records a state; returns whether it changed.
    pub(crate) fn set(
        &mut self,
        id: TrackerId,
        state: TrackerState,
    ) -> Result<bool, UnknownTracker> {
        let entry = self
            .entries
            .iter_mut()
            .find(|(c, _)| c.id == id)
            .ok_or(UnknownTracker(id))?;
        let changed = entry.1 != state;
        entry.1 = state;
        Ok(changed)
    }

    pub(crate) fn get(&self, id: TrackerId) -> Option<TrackerState> {
        self.entries.iter().find(|(c, _)| c.id == id).map(|e| e.1)
    }

    /// The first weight-0 tracker that is down: it holds the router in FAULT.
    pub(crate) fn fault(&self) -> Option<TrackerId> {
        self.entries
            .iter()
            .find(|(c, s)| c.weight == 0 && *s == TrackerState::Down)
            .map(|(c, _)| c.id)
    }

    /// keepalived's effective priority: base plus weights, clamped to 1..=254. The address
    /// owner (255) is never changed by weights (keepalived: "The effective priority is never
    /// changed for PRIO_OWNER"), so it always wins the election while it is up.
    pub(crate) fn effective_priority(&self, base: u8) -> u8 {
        if base == OWNER_PRIORITY {
            return base;
        }
        let delta: i32 = self
            .entries
            .iter()
            .map(|(c, s)| match (c.weight, s) {
                (w, TrackerState::Up) if w > 0 => i32::from(w),
                (w, TrackerState::Down) if w < 0 => i32::from(w),
                _ => 0,
            })
            .sum();
        let total = (i32::from(base) + delta).clamp(1, i32::from(OWNER_PRIORITY) - 1);
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
    fn weight_zero_down_is_fault() {
        let mut t = Trackers::new(&[cfg(1, 0), cfg(2, -5)]);
        assert_eq!(t.fault(), None);
        t.set(TrackerId(2), TrackerState::Down).unwrap();
        assert_eq!(t.fault(), None);
        t.set(TrackerId(1), TrackerState::Down).unwrap();
        assert_eq!(t.fault(), Some(TrackerId(1)));
    }
}
