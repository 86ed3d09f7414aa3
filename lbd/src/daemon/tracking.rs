//! Tracked objects' own state machines: a `vrrp_script`'s rise/fall counting and a
//! `vrrp_track_file`'s value. The runtime runs the scripts and reads the files; the results
//! come here, and a changed [`TrackerState`] goes to every router that tracks the object.

use std::path::Path;
use std::time::Duration;

use vrrp_core::TrackerState;

use crate::config::TrackFile;

/// How often a track file is read (keepalived watches it with inotify; a short poll is
/// equivalent for a file an operator or a script rewrites).
pub const TRACK_FILE_POLL: Duration = Duration::from_millis(500);

/// keepalived's `rise`/`fall`: a script must succeed `rise` times in a row to come up and
/// fail `fall` times in a row to go down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RiseFall {
    rise: u32,
    fall: u32,
    state: TrackerState,
    /// Consecutive results against the current state.
    streak: u32,
}

impl RiseFall {
    pub fn new(rise: u32, fall: u32, init_fail: bool) -> Self {
        let state = if init_fail {
            TrackerState::Down
        } else {
            TrackerState::Up
        };
        Self {
            rise: rise.max(1),
            fall: fall.max(1),
            state,
            streak: 0,
        }
    }

    pub fn state(&self) -> TrackerState {
        self.state
    }

    /// Records one run; returns the new state if it changed.
    pub fn record(&mut self, success: bool) -> Option<TrackerState> {
        let (agrees, needed, next) = match self.state {
            TrackerState::Up => (success, self.fall, TrackerState::Down),
            TrackerState::Down => (!success, self.rise, TrackerState::Up),
        };
        if agrees {
            self.streak = 0;
            return None;
        }
        self.streak += 1;
        if self.streak < needed {
            return None;
        }
        self.state = next;
        self.streak = 0;
        Some(next)
    }
}

/// keepalived's `init_file [VALUE] [overwrite]`: writes VALUE when the file does not exist,
/// or always with `overwrite` unless `overwrite_allowed` is false (keepalived does not
/// overwrite on a reload).
pub fn init_track_file(def: &TrackFile, overwrite_allowed: bool) {
    let Some(init) = &def.init_file else { return };
    if def.file.exists() && !(init.overwrite && overwrite_allowed) {
        return;
    }
    if let Err(e) = std::fs::write(&def.file, format!("{}\n", init.value)) {
        tracing::error!(
            "Track file {}: cannot initialise {}: {e}",
            def.name,
            def.file.display()
        );
    }
}

/// A track file's reading: keepalived treats a missing or unreadable file, or one without a
/// leading integer, as 0.
pub fn read_track_file(path: &Path) -> i64 {
    std::fs::read_to_string(path)
        .map(|s| parse_value(&s))
        .unwrap_or(0)
}

fn parse_value(text: &str) -> i64 {
    text.split_whitespace()
        .next()
        .and_then(|w| w.parse().ok())
        .unwrap_or(0)
}

/// What a track file value means for the engine's up/down trackers.
///
/// The engine is then given the value itself (`set_tracker_value`: keepalived's
/// `weight * value`); this up/down reading only seeds the router before that, so that a
/// weight-0 file with a non-zero value starts in FAULT.
pub fn file_state(value: i64, weight: i16) -> TrackerState {
    match (value != 0, weight > 0) {
        (false, false) | (true, true) => TrackerState::Up,
        (true, false) | (false, true) => TrackerState::Down,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fall_two_rise_one() {
        let mut rf = RiseFall::new(1, 2, false);
        assert_eq!(rf.record(false), None);
        assert_eq!(rf.record(true), None, "a success resets the fall streak");
        assert_eq!(rf.record(false), None);
        assert_eq!(rf.record(false), Some(TrackerState::Down));
        assert_eq!(rf.record(false), None);
        assert_eq!(rf.record(true), Some(TrackerState::Up));
    }

    #[test]
    fn init_fail_needs_rise_successes() {
        let mut rf = RiseFall::new(3, 1, true);
        assert_eq!(rf.state(), TrackerState::Down);
        assert_eq!(rf.record(true), None);
        assert_eq!(rf.record(true), None);
        assert_eq!(rf.record(true), Some(TrackerState::Up));
    }

    #[test]
    fn file_values() {
        assert_eq!(parse_value(" 5\n"), 5);
        assert_eq!(parse_value("x"), 0);
        assert_eq!(parse_value("-3 trailing"), -3);
        assert_eq!(read_track_file(Path::new("/nonexistent/lbd")), 0);
        assert_eq!(file_state(0, 0), TrackerState::Up);
        assert_eq!(file_state(1, 0), TrackerState::Down);
        assert_eq!(file_state(1, -10), TrackerState::Down);
        assert_eq!(file_state(1, 10), TrackerState::Up);
        assert_eq!(file_state(0, 10), TrackerState::Down);
    }
}
