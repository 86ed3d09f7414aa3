//! Deadlines keyed by what they wake: one `Instant` per key, the earliest first.
//!
//! A binary heap with lazy deletion: re-arming a key pushes a new entry and the old one is
//! skipped when it surfaces. VRRP backups re-arm their master-down timer on every advert, so the
//! heap is compacted when stale entries outnumber live ones, keeping memory bounded.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::hash::Hash;
use std::time::Instant;

#[derive(Debug)]
pub struct Timers<K> {
    armed: HashMap<K, Instant>,
    heap: BinaryHeap<Reverse<(Instant, K)>>,
}

impl<K: Copy + Eq + Hash + Ord> Default for Timers<K> {
    fn default() -> Self {
        Self {
            armed: HashMap::new(),
            heap: BinaryHeap::new(),
        }
    }
}

impl<K: Copy + Eq + Hash + Ord> Timers<K> {
    /// Arms (or re-arms) `key` for `at`; `None` disarms it.
    pub fn set(&mut self, key: K, at: Option<Instant>) {
        let Some(at) = at else {
            self.armed.remove(&key);
            return;
        };
        if self.armed.insert(key, at) == Some(at) {
            return;
        }
        self.heap.push(Reverse((at, key)));
        if self.heap.len() > 2 * self.armed.len() + 64 {
            self.compact();
        }
    }

    pub fn cancel(&mut self, key: K) {
        self.armed.remove(&key);
    }

    /// Drops every key matching `pred` (an instance removed on reload).
    pub fn cancel_where(&mut self, mut pred: impl FnMut(&K) -> bool) {
        self.armed.retain(|k, _| !pred(k));
    }

    pub fn deadline(&self, key: K) -> Option<Instant> {
        self.armed.get(&key).copied()
    }

    /// The earliest live deadline.
    pub fn next_deadline(&mut self) -> Option<Instant> {
        while let Some(Reverse((at, key))) = self.heap.peek() {
            if self.armed.get(key) == Some(at) {
                return Some(*at);
            }
            self.heap.pop();
        }
        None
    }

    /// Pops one key whose deadline is at or before `now`, disarming it.
    pub fn pop_expired(&mut self, now: Instant) -> Option<K> {
        let at = self.next_deadline()?;
        if at > now {
            return None;
        }
        let Reverse((_, key)) = self.heap.pop()?;
        self.armed.remove(&key);
        Some(key)
    }

    /// Drops stale entries in place (no allocation: the receive path re-arms timers).
    fn compact(&mut self) {
        let armed = &self.armed;
        self.heap
            .retain(|Reverse((at, key))| armed.get(key) == Some(at));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn earliest_first_and_rearm() {
        let t0 = Instant::now();
        let mut t = Timers::default();
        t.set(1u32, Some(t0 + Duration::from_millis(30)));
        t.set(2u32, Some(t0 + Duration::from_millis(10)));
        t.set(3u32, Some(t0 + Duration::from_millis(20)));
        // Re-arming 2 later hides its earlier entry.
        t.set(2u32, Some(t0 + Duration::from_millis(40)));
        t.cancel(3);
        assert_eq!(t.next_deadline(), Some(t0 + Duration::from_millis(30)));
        assert_eq!(t.pop_expired(t0 + Duration::from_millis(35)), Some(1));
        assert_eq!(t.pop_expired(t0 + Duration::from_millis(35)), None);
        assert_eq!(t.pop_expired(t0 + Duration::from_millis(40)), Some(2));
        assert_eq!(t.next_deadline(), None);
    }

    #[test]
    fn heap_stays_bounded_under_rearming() {
        let t0 = Instant::now();
        let mut t = Timers::default();
        for i in 0..10_000u64 {
            t.set(7u8, Some(t0 + Duration::from_micros(i)));
        }
        assert!(t.heap.len() <= 2 * t.armed.len() + 65);
        assert_eq!(t.next_deadline(), Some(t0 + Duration::from_micros(9_999)));
    }
}
