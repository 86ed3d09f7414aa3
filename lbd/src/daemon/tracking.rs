//! Tracked objects' own state machines: a `vrrp_script`'s rise/fall counting and a
//! `vrrp_track_file`'s value. The runtime runs the scripts and reads the files; the results
//! come here, and a changed [`TrackerState`] goes to every router that tracks the object.
//!
//! This is also where track files are read, for the VRRP instances and the FILE_CHECKs
//! alike ([`read_track_file`]), so one file means the same value to both as in keepalived.

use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::Duration;

use vrrp_core::TrackerState;

use crate::config::TrackFile;
use crate::track_value::{self, Reading, READ_MAX};

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

/// A track file's reading as keepalived's `process_track_file` takes it, for the VRRP
/// instances and the FILE_CHECKs alike: one `read` of at most [`READ_MAX`] bytes, then
/// [`track_value::parse`]. A file that cannot be opened or read (missing, deleted,
/// unreadable) or is empty reads 0. Like keepalived it is opened non-blocking, so a FIFO
/// without a writer reads 0 instead of stalling the daemon.
pub fn read_track_file(path: &Path) -> Reading {
    let mut buf = [0u8; READ_MAX];
    let read = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .and_then(|mut f| f.read(&mut buf));
    match read {
        Ok(n) => track_value::parse(&buf[..n]),
        Err(_) => Reading::Value(0),
    }
}

/// keepalived's log line for a number it refuses (the previous value stays).
pub fn refused_line(number: i64, path: &Path) -> String {
    format!(
        "Invalid number {number} read from {} - ignoring",
        path.display()
    )
}

/// A VRRP `track_file`'s value between readings.
///
/// keepalived starts every track file at 0 and reads it again on each write; a refused
/// number leaves the value where it was (at start-up, 0). lbd polls the file instead of
/// watching it, so a refused number is reported once, not on every poll, until the file
/// reads something else.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FileValue {
    value: i64,
    /// The refused number last reported.
    refused: Option<i64>,
}

/// What one reading did to a [`FileValue`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileChange {
    /// Nothing to tell anyone.
    Same,
    /// The value moved: the routers tracking the file must be told.
    Changed { from: i64, to: i64 },
    /// A refused number, new since the last reading: log [`refused_line`]; the value stays.
    Refused(i64),
}

impl FileValue {
    pub fn value(&self) -> i64 {
        self.value
    }

    /// Takes one [`read_track_file`] reading.
    pub fn apply(&mut self, reading: Reading) -> FileChange {
        match reading {
            Reading::Invalid(n) => {
                if self.refused.replace(n) == Some(n) {
                    FileChange::Same
                } else {
                    FileChange::Refused(n)
                }
            }
            Reading::Value(v) => {
                self.refused = None;
                let from = std::mem::replace(&mut self.value, v);
                if from == v {
                    FileChange::Same
                } else {
                    FileChange::Changed { from, to: v }
                }
            }
        }
    }
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

    /// A scratch directory, removed on drop.
    struct Scratch(std::path::PathBuf);

    impl Scratch {
        fn new(tag: &str) -> Self {
            let dir = std::env::temp_dir().join(format!("lbd-{tag}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            Scratch(dir)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn track_files_read_as_keepalived_strtol_reads_them() {
        let dir = Scratch::new("track-read");
        let f = dir.0.join("v");
        assert_eq!(read_track_file(&f), Reading::Value(0), "missing");
        for (text, want) in [
            ("", Reading::Value(0)),
            ("0x10\n", Reading::Value(16)),
            ("010\n", Reading::Value(8)),
            (" -3 trailing", Reading::Value(-3)),
            ("x", Reading::Value(0)),
            ("2147483648", Reading::Value(2_147_483_648)),
            ("4294967296\n", Reading::Invalid(4_294_967_296)),
        ] {
            std::fs::write(&f, text).unwrap();
            assert_eq!(read_track_file(&f), want, "{text:?}");
        }
        // Unreadable as a file (read fails with EISDIR): 0, as keepalived's failed read.
        assert_eq!(read_track_file(&dir.0), Reading::Value(0));
    }

    #[test]
    fn a_fifo_without_writer_reads_zero_without_blocking() {
        let dir = Scratch::new("track-fifo");
        let f = dir.0.join("fifo");
        let c = std::ffi::CString::new(f.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert_eq!(read_track_file(&f), Reading::Value(0));
    }

    #[test]
    fn a_refused_number_keeps_the_value_and_is_reported_once() {
        let mut v = FileValue::default();
        assert_eq!(v.value(), 0);
        assert_eq!(
            v.apply(Reading::Invalid(1 << 40)),
            FileChange::Refused(1 << 40),
            "at start-up the value stays 0"
        );
        assert_eq!(v.value(), 0);
        assert_eq!(
            v.apply(Reading::Value(16)),
            FileChange::Changed { from: 0, to: 16 }
        );
        assert_eq!(v.apply(Reading::Value(16)), FileChange::Same);
        assert_eq!(
            v.apply(Reading::Invalid(-(1 << 33))),
            FileChange::Refused(-(1 << 33))
        );
        assert_eq!(v.value(), 16, "the previous value stays");
        assert_eq!(
            v.apply(Reading::Invalid(-(1 << 33))),
            FileChange::Same,
            "polled again: not reported again"
        );
        assert_eq!(
            v.apply(Reading::Invalid(1 << 34)),
            FileChange::Refused(1 << 34),
            "another number is"
        );
        assert_eq!(
            v.apply(Reading::Value(0)),
            FileChange::Changed { from: 16, to: 0 }
        );
        assert_eq!(
            v.apply(Reading::Invalid(-(1 << 33))),
            FileChange::Refused(-(1 << 33)),
            "after a good reading the same bad number is reported again"
        );
        assert_eq!(
            refused_line(4_294_967_296, Path::new("/run/prio")),
            "Invalid number 4294967296 read from /run/prio - ignoring"
        );
    }

    #[test]
    fn file_states() {
        assert_eq!(file_state(0, 0), TrackerState::Up);
        assert_eq!(file_state(1, 0), TrackerState::Down);
        assert_eq!(file_state(1, -10), TrackerState::Down);
        assert_eq!(file_state(1, 10), TrackerState::Up);
        assert_eq!(file_state(0, 10), TrackerState::Down);
    }
}
