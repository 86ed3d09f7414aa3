//! Counters of what the receive and send paths dropped, by label, and rate-limited logging of
//! them: a flood of bogus packets must cost a counter increment, not a log line each.

use std::collections::HashMap;
use std::io;
use std::time::{Duration, Instant};

use vrrp_core::DropReason;

/// At most one log line per label per this period.
const LOG_EVERY: Duration = Duration::from_secs(10);

#[derive(Debug, Default)]
pub struct DropLog {
    counts: HashMap<&'static str, u64>,
    last_logged: HashMap<&'static str, Instant>,
    suppressed: HashMap<&'static str, u64>,
}

impl DropLog {
    pub fn counts(&self) -> &HashMap<&'static str, u64> {
        &self.counts
    }

    /// Counts `label`; returns how many were suppressed since the last log line if one is due.
    fn bump(&mut self, label: &'static str, now: Instant) -> Option<u64> {
        *self.counts.entry(label).or_insert(0) += 1;
        let due = self
            .last_logged
            .get(label)
            .is_none_or(|t| now.duration_since(*t) >= LOG_EVERY);
        let suppressed = self.suppressed.entry(label).or_insert(0);
        if !due {
            *suppressed += 1;
            return None;
        }
        self.last_logged.insert(label, now);
        Some(std::mem::take(suppressed))
    }

    pub fn dropped(&mut self, instance: &str, reason: DropReason, now: Instant) {
        if let Some(n) = self.bump(reason.label(), now) {
            tracing::warn!(
                "({instance}) dropped VRRP packet ({}): {reason}{}",
                reason.label(),
                more(n)
            );
        }
    }

    pub fn unknown_vrid(&mut self, ifname: &str, vrid: Option<u8>, now: Instant) {
        let label = if vrid.is_some() {
            "unknown_vrid"
        } else {
            "truncated"
        };
        if let Some(n) = self.bump(label, now) {
            match vrid {
                Some(v) => tracing::debug!(
                    "VRRP packet on {ifname} for VRID {v} we do not run{}",
                    more(n)
                ),
                None => tracing::warn!("truncated VRRP packet on {ifname}{}", more(n)),
            }
        }
    }

    pub fn io_error(&mut self, ifname: &str, e: &io::Error, now: Instant) {
        if let Some(n) = self.bump("io_error", now) {
            tracing::warn!("{ifname}: {e}{}", more(n));
        }
    }
}

fn more(suppressed: u64) -> String {
    if suppressed == 0 {
        String::new()
    } else {
        format!(" ({suppressed} similar not logged)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vrrp_core::wire::RxError;

    #[test]
    fn counts_everything_logs_rarely() {
        let mut d = DropLog::default();
        let t0 = Instant::now();
        assert_eq!(d.bump("ttl", t0), Some(0));
        for i in 0..100 {
            assert_eq!(d.bump("ttl", t0 + Duration::from_millis(i)), None);
        }
        assert_eq!(d.bump("ttl", t0 + LOG_EVERY), Some(100));
        assert_eq!(d.counts()["ttl"], 102);
        d.dropped("VI_1", DropReason::Invalid(RxError::Checksum), t0);
        assert_eq!(d.counts()[RxError::Checksum.label()], 1);
    }
}
