//! Per-instance transition history the engines do not keep: how many transitions since the
//! daemon started and the last one with its reason and wall-clock time. Keyed by instance name
//! so it survives a reload that rebuilds the engine.

use std::collections::{BTreeMap, HashMap};
use std::time::SystemTime;

use vrrp_core::{Reason, State};

use super::status::{unix_ms, Transition};

#[derive(Debug, Default)]
struct Entry {
    transitions: u64,
    last: Option<Transition>,
    /// Rejected packets by vrrp-core's drop label (a small fixed set of `&'static str`).
    dropped: BTreeMap<&'static str, u64>,
}

#[derive(Debug, Default)]
pub struct History {
    entries: HashMap<String, Entry>,
}

impl History {
    pub fn record(&mut self, name: &str, from: State, to: State, reason: Reason, at: SystemTime) {
        let e = match self.entries.get_mut(name) {
            Some(e) => e,
            None => self.entries.entry(name.to_owned()).or_default(),
        };
        e.transitions += 1;
        e.last = Some(Transition {
            from: from.to_string(),
            to: to.to_string(),
            reason: reason.to_string(),
            at_ms: unix_ms(at),
        });
    }

    /// A packet for instance `name` was rejected for `label` (`DropReason::label`).
    pub fn record_drop(&mut self, name: &str, label: &'static str) {
        // No allocation on the hot path (a flood of bad packets) once the entry exists.
        let e = match self.entries.get_mut(name) {
            Some(e) => e,
            None => self.entries.entry(name.to_owned()).or_default(),
        };
        *e.dropped.entry(label).or_insert(0) += 1;
    }

    /// Rejected packets of `name` since the daemon started, by reason.
    pub fn drops(&self, name: &str) -> BTreeMap<String, u64> {
        self.entries.get(name).map_or_else(BTreeMap::new, |e| {
            e.dropped
                .iter()
                .map(|(k, v)| ((*k).to_owned(), *v))
                .collect()
        })
    }

    pub fn transitions(&self, name: &str) -> u64 {
        self.entries.get(name).map_or(0, |e| e.transitions)
    }

    pub fn last(&self, name: &str) -> Option<&Transition> {
        self.entries.get(name).and_then(|e| e.last.as_ref())
    }

    /// Forgets instances no longer configured (after a reload), so the map stays bounded by
    /// the configuration.
    pub fn retain(&mut self, keep: impl Fn(&str) -> bool) {
        self.entries.retain(|k, _| keep(k));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_keeps_last() {
        let mut h = History::default();
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(5);
        h.record("VI_1", State::Initialize, State::Backup, Reason::Startup, t);
        h.record(
            "VI_1",
            State::Backup,
            State::Master,
            Reason::AdvertTimeout,
            t,
        );
        assert_eq!(h.transitions("VI_1"), 2);
        let last = h.last("VI_1").unwrap();
        assert_eq!((last.from.as_str(), last.to.as_str()), ("BACKUP", "MASTER"));
        assert_eq!(last.reason, "Receive advertisement timeout");
        assert_eq!(last.at_ms, 5000);
        h.record_drop("VI_1", "ttl");
        h.record_drop("VI_1", "ttl");
        h.record_drop("VI_2", "checksum");
        assert_eq!(h.drops("VI_1").get("ttl"), Some(&2));
        assert_eq!(h.drops("VI_2").len(), 1);
        assert!(h.drops("VI_3").is_empty());
        h.retain(|n| n != "VI_1");
        assert_eq!(h.transitions("VI_1"), 0);
    }
}
