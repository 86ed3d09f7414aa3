//! The protocol timers of RFC 3768 §6.1 (v2) and RFC 5798 §6.1 (v3).
//!
//! Computed in microseconds, like keepalived, so that 10 ms v3 intervals keep their sub-centisecond
//! skew: the RFC's centisecond integer division would give every priority above 0 the same skew
//! at 1 cs and defeat the point of the skew (the highest-priority backup answers first).

use std::time::Duration;

use crate::wire::Version;

/// Skew_Time: how much longer a lower-priority backup waits before declaring the master down.
///
/// v2: `(256 - priority) / 256` seconds. v3: `((256 - priority) * Master_Adver_Interval) / 256`.
pub fn skew_time(version: Version, priority: u8, master_adver_interval: Duration) -> Duration {
    let weight = 256 - u64::from(priority);
    let base_us = match version {
        Version::V2 => 1_000_000,
        Version::V3 => duration_us(master_adver_interval),
    };
    Duration::from_micros(weight * base_us / 256)
}

/// Master_Down_Interval: `3 * Master_Adver_Interval + Skew_Time`.
pub fn master_down_interval(
    version: Version,
    priority: u8,
    master_adver_interval: Duration,
) -> Duration {
    master_adver_interval * 3 + skew_time(version, priority, master_adver_interval)
}

/// Master_Adver_Interval with the Skew_Time and Master_Down_Interval derived from it and the
/// priority. A backup re-arms its timer on every advert, so these are computed once per change
/// of interval or priority instead of once per packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DownTimers {
    pub(crate) interval_cs: u16,
    pub(crate) interval: Duration,
    pub(crate) skew: Duration,
    pub(crate) master_down: Duration,
}

impl DownTimers {
    pub(crate) fn new(version: Version, priority: u8, interval_cs: u16) -> Self {
        let interval = Duration::from_millis(u64::from(interval_cs) * 10);
        DownTimers {
            interval_cs,
            interval,
            skew: skew_time(version, priority, interval),
            master_down: master_down_interval(version, priority, interval),
        }
    }
}

fn duration_us(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX / 256)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: Duration = Duration::from_secs(1);

    #[test]
    fn v2_skew_is_independent_of_interval() {
        // RFC 3768 §6.1: Skew_Time = (256 - Priority) / 256 seconds.
        assert_eq!(
            skew_time(Version::V2, 100, SEC),
            Duration::from_micros(609_375)
        );
        assert_eq!(
            skew_time(Version::V2, 100, 5 * SEC),
            Duration::from_micros(609_375)
        );
        assert_eq!(
            skew_time(Version::V2, 255, SEC),
            Duration::from_micros(3_906)
        );
        assert_eq!(
            skew_time(Version::V2, 1, SEC),
            Duration::from_micros(996_093)
        );
        assert_eq!(
            master_down_interval(Version::V2, 100, SEC),
            Duration::from_micros(3_609_375)
        );
        assert_eq!(
            master_down_interval(Version::V2, 200, 3 * SEC),
            Duration::from_micros(9_218_750)
        );
    }

    #[test]
    fn v3_skew_scales_with_master_interval() {
        // RFC 5798 §6.1: Skew_Time = ((256 - Priority) * Master_Adver_Interval) / 256.
        assert_eq!(
            skew_time(Version::V3, 100, SEC),
            Duration::from_micros(609_375)
        );
        assert_eq!(skew_time(Version::V3, 128, 2 * SEC), SEC);
        let ten_ms = Duration::from_millis(10);
        assert_eq!(
            skew_time(Version::V3, 100, ten_ms),
            Duration::from_micros(6_093)
        );
        assert_eq!(
            master_down_interval(Version::V3, 100, ten_ms),
            Duration::from_micros(36_093)
        );
        assert_eq!(
            master_down_interval(Version::V3, 254, SEC),
            Duration::from_micros(3_007_812)
        );
    }

    #[test]
    fn higher_priority_times_out_first() {
        for p in 1..255u8 {
            for v in [Version::V2, Version::V3] {
                assert!(master_down_interval(v, p + 1, SEC) < master_down_interval(v, p, SEC));
            }
        }
    }
}
