//! Tracked objects' own state machines: a `vrrp_script`'s rise/fall counting and a
//! `vrrp_track_file`'s value. The runtime runs the scripts and reads the files; the results
//! come here, and a changed [`TrackerState`] goes to every router that tracks the object.
//!
//! This is also where track files are read, for the VRRP instances and the FILE_CHECKs
//! alike ([`read_track_file`]), so one file means the same value to both as in keepalived.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use vrrp_core::TrackerState;

use crate::config::{Config, TrackFile, TrackedFile};
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

/// keepalived's `init_file [VALUE] [overwrite]` (`track_file_end_handler`, run each time the
/// configuration is read): writes VALUE when the file does not exist; with `overwrite` also
/// over an existing regular file, but only when `starting` (keepalived never overwrites on a
/// reload, it only creates a file that has gone). Something else than a regular file is
/// never overwritten: writing into a FIFO would block the daemon.
pub fn init_track_file(def: &TrackFile, starting: bool) {
    let Some(init) = &def.init_file else { return };
    if let Ok(meta) = std::fs::metadata(&def.file) {
        if !init.overwrite {
            return;
        }
        if !meta.is_file() {
            tracing::error!(
                "Cannot initialise track file {} - it is not a regular file",
                def.name
            );
            return;
        }
        if !starting {
            return;
        }
    }
    if let Err(e) = std::fs::write(&def.file, format!("{}\n", init.value)) {
        tracing::error!(
            "Unable to initialise track file {} ({}: {e})",
            def.name,
            def.file.display()
        );
    }
}

/// Why keepalived's `init_track_files` drops a track file before watching it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dropped {
    /// The file does not exist and neither does its directory.
    NoDirectory,
    /// The path cannot be resolved for another reason (permissions, a file as a directory,
    /// a symlink loop).
    NotAccessible,
}

impl Dropped {
    /// keepalived's log line for track file `name`.
    pub fn line(self, name: &str) -> String {
        match self {
            Dropped::NoDirectory => {
                format!("Track file directory for {name} does not exist - removing")
            }
            Dropped::NotAccessible => format!("track file {name} is not accessible - ignoring"),
        }
    }
}

/// The path keepalived reads a track file at: the file's `realpath`, or, when the file does
/// not exist (yet), its directory's `realpath` and the file's name. keepalived resolves it
/// once per configuration load, so its log lines name the resolved path and a symlink
/// re-pointed later is not followed until the next reload.
pub fn resolve_track_path(path: &Path) -> Result<PathBuf, Dropped> {
    match std::fs::canonicalize(path) {
        Ok(real) => Ok(real),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // Split at the last '/' as keepalived does (`Path::parent` would also strip a
            // trailing `..`); a file in `/` has `/` as its directory.
            let bytes = path.as_os_str().as_bytes();
            let (dir, name) = match bytes.iter().rposition(|&b| b == b'/') {
                None => (Path::new("."), path.as_os_str()),
                Some(0) => (Path::new("/"), OsStr::from_bytes(&bytes[1..])),
                Some(i) => (
                    Path::new(OsStr::from_bytes(&bytes[..i])),
                    OsStr::from_bytes(&bytes[i + 1..]),
                ),
            };
            match std::fs::canonicalize(dir) {
                Ok(real) if real.is_dir() => Ok(real.join(name)),
                _ => Err(Dropped::NoDirectory),
            }
        }
        Err(_) => Err(Dropped::NotAccessible),
    }
}

/// Readies the track files that VRRP instances and sync groups track, each time the
/// configuration is loaded (`starting`: the first load), as keepalived's VRRP process does
/// between reading its configuration and starting its instances: [`init_track_file`], then
/// [`resolve_track_path`]; `config` is left with the resolved paths. A file that cannot be
/// resolved is dropped with keepalived's line ([`Dropped::line`]), and the instances and
/// sync groups that tracked it no longer do (as keepalived's `remove_track_file`): neither
/// its weight nor a FAULT applies, until a reload finds the file again. Returns the dropped
/// files.
pub fn prepare_vrrp_track_files(config: &mut Config, starting: bool) -> Vec<(String, Dropped)> {
    let tracked: BTreeSet<String> = config
        .instances
        .iter()
        .flat_map(|i| &i.track_files)
        .chain(config.sync_groups.iter().flat_map(|g| &g.track_files))
        .map(|t| t.name.clone())
        .collect();
    let mut dropped = Vec::new();
    for def in config
        .track_files
        .iter_mut()
        .filter(|d| tracked.contains(&d.name))
    {
        init_track_file(def, starting);
        match resolve_track_path(&def.file) {
            Ok(real) => def.file = real,
            Err(why) => {
                tracing::error!("{}", why.line(&def.name));
                dropped.push((def.name.clone(), why));
            }
        }
    }
    if !dropped.is_empty() {
        let gone = |t: &TrackedFile| dropped.iter().any(|(n, _)| *n == t.name);
        for i in &mut config.instances {
            i.track_files.retain(|t| !gone(t));
        }
        for g in &mut config.sync_groups {
            g.track_files.retain(|t| !gone(t));
        }
    }
    dropped
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
    use std::os::unix::fs::FileTypeExt;

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

    fn config(dir: &Path, file: &Path, init: &str) -> Config {
        let text = format!(
            "vrrp_track_file tf {{\n    file {}\n    weight 10\n    {init}\n}}
vrrp_track_file gone {{\n    file {}/no-such-dir/v\n}}
vrrp_track_file untracked {{\n    file {}/no-such-dir/u\n}}
vrrp_sync_group G {{\n    group {{\n        VI_1\n    }}\n    track_file {{\n        gone\n    }}\n}}
vrrp_instance VI_1 {{
    state BACKUP
    interface lo
    virtual_router_id 51
    priority 100
    track_file {{\n        tf\n        gone\n    }}
    virtual_ipaddress {{\n        192.0.2.1\n    }}
}}
",
            file.display(),
            dir.display(),
            dir.display()
        );
        crate::config::load_str("t.conf", &text).unwrap().config
    }

    #[test]
    fn init_file_overwrites_at_start_only_and_recreates_on_reload() {
        let dir = Scratch::new("track-init");
        let f = dir.0.join("v");
        let mut cfg = config(&dir.0, &f, "init_file 5 overwrite");
        std::fs::write(&f, "9\n").unwrap();
        prepare_vrrp_track_files(&mut cfg.clone(), true);
        assert_eq!(
            std::fs::read_to_string(&f).unwrap(),
            "5\n",
            "start: overwritten"
        );
        std::fs::write(&f, "7\n").unwrap();
        prepare_vrrp_track_files(&mut cfg, false);
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "7\n", "reload: kept");
        std::fs::remove_file(&f).unwrap();
        prepare_vrrp_track_files(&mut cfg, false);
        assert_eq!(
            std::fs::read_to_string(&f).unwrap(),
            "5\n",
            "reload: re-created"
        );

        // Without overwrite an existing file is never touched.
        let mut cfg = config(&dir.0, &f, "init_file 6");
        std::fs::write(&f, "7\n").unwrap();
        prepare_vrrp_track_files(&mut cfg, true);
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "7\n");
    }

    #[test]
    fn overwrite_leaves_a_fifo_alone() {
        let dir = Scratch::new("track-init-fifo");
        let f = dir.0.join("fifo");
        let c = std::ffi::CString::new(f.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let mut cfg = config(&dir.0, &f, "init_file 5 overwrite");
        // Would block forever opening the FIFO for writing.
        prepare_vrrp_track_files(&mut cfg, true);
        assert!(std::fs::metadata(&f).unwrap().file_type().is_fifo());
    }

    #[test]
    fn paths_resolve_as_keepalived_resolves_them() {
        let dir = Scratch::new("track-resolve");
        let real = std::fs::canonicalize(&dir.0).unwrap();
        let f = dir.0.join("v");
        assert_eq!(resolve_track_path(&f), Ok(real.join("v")), "missing file");
        std::fs::write(&f, "1").unwrap();
        std::os::unix::fs::symlink(&f, dir.0.join("link")).unwrap();
        assert_eq!(resolve_track_path(&dir.0.join("link")), Ok(real.join("v")));
        assert_eq!(
            resolve_track_path(&dir.0.join("sub/../v")),
            Err(Dropped::NoDirectory),
            "realpath fails on the missing sub, then on its directory"
        );
        assert_eq!(
            resolve_track_path(&dir.0.join("no-such-dir/v")),
            Err(Dropped::NoDirectory)
        );
        assert_eq!(
            resolve_track_path(&dir.0.join("v/w")),
            Err(Dropped::NotAccessible),
            "ENOTDIR"
        );
        assert_eq!(
            Dropped::NoDirectory.line("tf"),
            "Track file directory for tf does not exist - removing"
        );
        assert_eq!(
            Dropped::NotAccessible.line("tf"),
            "track file tf is not accessible - ignoring"
        );
    }

    #[test]
    fn a_file_without_its_directory_is_no_longer_tracked() {
        let dir = Scratch::new("track-drop");
        let f = dir.0.join("v");
        let mut cfg = config(&dir.0, &f, "");
        let dropped = prepare_vrrp_track_files(&mut cfg, true);
        assert_eq!(dropped, [("gone".to_string(), Dropped::NoDirectory)]);
        let names = |v: &[TrackedFile]| v.iter().map(|t| t.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&cfg.instances[0].track_files), ["tf"]);
        assert!(cfg.sync_groups[0].track_files.is_empty());
        let tf = cfg.track_files.iter().find(|d| d.name == "tf").unwrap();
        assert_eq!(
            tf.file,
            std::fs::canonicalize(&dir.0).unwrap().join("v"),
            "the resolved path"
        );
        // keepalived forgets an untracked file without a word: not reported.
        assert_eq!(cfg.track_files.len(), 3);
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
