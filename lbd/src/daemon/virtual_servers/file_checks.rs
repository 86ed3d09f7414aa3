//! FILE_CHECK's I/O: reads the track files its checkers name and watches them.
//!
//! [`crate::lvs::file_check`] says what a value means; this module reads the values. Like
//! keepalived, it watches each file's directory with inotify (a write-and-close or a
//! move-in re-reads the file, a delete or move-away reads as 0) and reads every file once
//! before IPVS is first programmed. A file whose directory cannot be watched (missing
//! directory, inotify unavailable) is read every [`POLL`] instead of being dropped.
//!
//! One file read by several checkers is read once; each checker applies its own weight.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use healthcheck::mio::{Interest, Registry, Token};

use super::VirtualServers;
use crate::config::{CheckerKind, Config, FileWeight};
use crate::daemon::sys::inotify::{DirEvent, Inotify};
use crate::daemon::tracking::{self, FileChange, FileValue};
use crate::lvs::file_check::{self, Verdict};
use crate::lvs::{CheckerRef, Lvs, Update};
use crate::ops::Metrics;
use crate::track_value::Reading;

/// How often a file without a watch is read (the VRRP side reads its track files as often).
pub const POLL: Duration = tracking::TRACK_FILE_POLL;

/// One track file and the FILE_CHECKs reading it.
#[derive(Debug)]
struct Watched {
    /// The `track_file` block's name.
    name: String,
    path: PathBuf,
    /// The directory watch and the file's name in it; `None`: polled.
    watch: Option<(i32, OsString)>,
    /// The value, and the refused number last logged (see [`Source`]).
    value: FileValue,
    bindings: Vec<(CheckerRef, FileWeight)>,
}

/// The track files of the running configuration's FILE_CHECKs.
#[derive(Debug)]
pub struct FileChecks {
    files: Vec<Watched>,
    inotify: Option<Inotify>,
    registry: Registry,
    token: Token,
    /// When the files without a watch are read next.
    next_poll: Option<Instant>,
    /// `lbd status` lines of the real servers whose file changed, by (virtual, real) index.
    texts: Vec<((u32, u32), String)>,
}

impl FileChecks {
    /// Reads and watches the files of `lvs`'s FILE_CHECKs (defined in `cfg`), creating them
    /// first as `init_file` says (`starting`: may overwrite). The inotify descriptor is
    /// registered under `token`.
    pub fn open(
        cfg: &Config,
        lvs: &Lvs,
        registry: &Registry,
        token: Token,
        starting: bool,
        now: Instant,
    ) -> std::io::Result<Self> {
        let mut files: Vec<Watched> = Vec::new();
        for (r, spec) in lvs.checkers() {
            let CheckerKind::File(check) = &spec.config.kind else {
                continue;
            };
            let Some(def) = cfg.track_files.iter().find(|f| f.name == check.name) else {
                // `lbd -t` refuses this; a reload validates first.
                tracing::error!("FILE_CHECK: track_file {} not found", check.name);
                continue;
            };
            let weight = file_check::binding(check, def);
            if let Some(w) = files.iter_mut().find(|w| w.name == def.name) {
                w.bindings.push((r, weight));
                continue;
            }
            tracking::init_track_file(def, starting);
            files.push(Watched {
                name: def.name.clone(),
                path: def.file.clone(),
                watch: None,
                value: FileValue::default(),
                bindings: vec![(r, weight)],
            });
        }
        let mut fc = FileChecks {
            files,
            inotify: None,
            registry: registry.try_clone()?,
            token,
            next_poll: None,
            texts: Vec::new(),
        };
        fc.watch();
        for w in &mut fc.files {
            // keepalived's first reading: a refused number leaves the value at 0.
            if let FileChange::Refused(n) = w.value.apply(tracking::read_track_file(&w.path)) {
                tracing::info!("{}", tracking::refused_line(n, &w.path));
            }
        }
        if fc.files.iter().any(|w| w.watch.is_none()) {
            fc.next_poll = Some(now + POLL);
        }
        for i in 0..fc.files.len() {
            fc.describe(i);
        }
        Ok(fc)
    }

    /// Puts every file's directory under watch, where it can.
    fn watch(&mut self) {
        if self.files.is_empty() {
            return;
        }
        let ino = match Inotify::new() {
            Ok(mut ino) => match self
                .registry
                .register(&mut ino, self.token, Interest::READABLE)
            {
                Ok(()) => ino,
                Err(e) => {
                    tracing::error!(
                        "Unable to monitor track files ({e}): reading them every {POLL:?}"
                    );
                    return;
                }
            },
            Err(e) => {
                tracing::error!("Unable to monitor track files ({e}): reading them every {POLL:?}");
                return;
            }
        };
        for w in &mut self.files {
            let Some((dir, file)) = resolve(&w.path) else {
                tracing::error!(
                    "Track file directory for {} does not exist: reading {} every {POLL:?}",
                    w.name,
                    w.path.display()
                );
                continue;
            };
            match ino.watch_dir(&dir) {
                Ok(wd) => {
                    w.path = dir.join(&file);
                    w.watch = Some((wd, file));
                }
                Err(e) => tracing::error!(
                    "Track file {}: cannot watch {} ({e}): reading it every {POLL:?}",
                    w.name,
                    dir.display()
                ),
            }
        }
        self.inotify = Some(ino);
    }

    /// Whether `token` is the watch's.
    pub fn owns(&self, token: Token) -> bool {
        self.inotify.is_some() && token == self.token
    }

    /// Each FILE_CHECK with what its file says now.
    pub fn verdicts(&self) -> impl Iterator<Item = (CheckerRef, Verdict)> + '_ {
        self.files.iter().flat_map(|w| {
            w.bindings
                .iter()
                .map(|(r, weight)| (*r, file_check::verdict(w.value.value(), *weight)))
        })
    }

    /// When [`FileChecks::on_timeout`] wants to run next (files without a watch only).
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.next_poll
    }

    /// Reads the files without a watch, if due.
    pub fn on_timeout(&mut self, now: Instant, lvs: &mut Lvs) -> Vec<Update> {
        let mut updates = Vec::new();
        if self.next_poll.is_none_or(|t| t > now) {
            return updates;
        }
        self.next_poll = Some(now + POLL);
        for i in 0..self.files.len() {
            if self.files[i].watch.is_none() {
                let reading = tracking::read_track_file(&self.files[i].path);
                self.take(i, reading, Source::Poll, lvs, &mut updates);
            }
        }
        updates
    }

    /// The watch is readable: applies what changed.
    pub fn on_token(&mut self, now: Instant, lvs: &mut Lvs) -> Vec<Update> {
        let mut updates = Vec::new();
        let Some(ino) = &self.inotify else {
            return updates;
        };
        let mut events = Vec::new();
        if let Err(e) = ino.drain(&mut events) {
            tracing::error!("inotify read() returned error: {e}");
        }
        for ev in events {
            match ev {
                DirEvent::Written { wd, name } => {
                    for i in self.named(wd, &name) {
                        let reading = tracking::read_track_file(&self.files[i].path);
                        self.take(i, reading, Source::Event, lvs, &mut updates);
                    }
                }
                DirEvent::Gone { wd, name } => {
                    for i in self.named(wd, &name) {
                        self.take(i, Reading::Value(0), Source::Event, lvs, &mut updates);
                    }
                }
                DirEvent::Unwatched { wd } => {
                    for w in &mut self.files {
                        if w.watch.as_ref().is_some_and(|(d, _)| *d == wd) {
                            tracing::warn!(
                                "Track file {}: its directory is no longer watched: reading {} every {POLL:?}",
                                w.name,
                                w.path.display()
                            );
                            w.watch = None;
                        }
                    }
                    self.next_poll.get_or_insert(now + POLL);
                }
                DirEvent::Overflow => {
                    for i in 0..self.files.len() {
                        let reading = tracking::read_track_file(&self.files[i].path);
                        self.take(i, reading, Source::Event, lvs, &mut updates);
                    }
                }
            }
        }
        updates
    }

    /// The files watched as `name` under the watch `wd`.
    fn named(&self, wd: i32, name: &OsString) -> Vec<usize> {
        (0..self.files.len())
            .filter(|&i| {
                self.files[i]
                    .watch
                    .as_ref()
                    .is_some_and(|(d, n)| *d == wd && n == name)
            })
            .collect()
    }

    /// File `i` was read (or is gone: 0): a refused number is logged (see [`Source`]) and
    /// keeps the value; a changed value goes to every FILE_CHECK reading the file.
    fn take(
        &mut self,
        i: usize,
        reading: Reading,
        source: Source,
        lvs: &mut Lvs,
        updates: &mut Vec<Update>,
    ) {
        let w = &mut self.files[i];
        let change = w.value.apply(reading);
        if let Some(n) = refusal_to_log(change, reading, source) {
            tracing::info!("{}", tracking::refused_line(n, &w.path));
        }
        let FileChange::Changed { from, to: value } = change else {
            return;
        };
        tracing::info!("Track file {} changed value from {from} to {value}", w.name);
        for (r, weight) in &w.bindings {
            match lvs.file_check(*r, file_check::verdict(value, *weight)) {
                Ok(u) => updates.push(u),
                Err(e) => tracing::warn!("track file {}: {e}", w.name),
            }
        }
        self.describe(i);
    }

    /// Queues the `lbd status` line of every real server reading file `i`.
    fn describe(&mut self, i: usize) {
        let w = &self.files[i];
        let value = w.value.value();
        for (r, weight) in &w.bindings {
            let text = match file_check::verdict(value, *weight) {
                Verdict::Fault => {
                    format!("FILE_CHECK down: track file {} reads {value}", w.name)
                }
                Verdict::Weight(o) => format!(
                    "FILE_CHECK up: track file {} reads {value}, weight {o:+}",
                    w.name
                ),
            };
            self.texts.push(((r.vs, r.rs), text));
        }
    }

    /// The `lbd status` lines queued since the last call.
    pub fn take_texts(&mut self) -> Vec<((u32, u32), String)> {
        std::mem::take(&mut self.texts)
    }

    /// Stops watching.
    pub fn close(&mut self) {
        if let Some(mut ino) = self.inotify.take() {
            let _ = self.registry.deregister(&mut ino);
        }
    }
}

/// The directory to watch for `path` and the file's name in it: keepalived's `realpath` of
/// the file, or of its directory when the file does not exist yet.
fn resolve(path: &Path) -> Option<(PathBuf, OsString)> {
    let real = std::fs::canonicalize(path).ok();
    let (dir, file) = match &real {
        Some(r) => (r.parent()?.to_path_buf(), r.file_name()?.to_owned()),
        None => {
            let dir = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => Path::new("."),
            };
            (
                std::fs::canonicalize(dir).ok()?,
                path.file_name()?.to_owned(),
            )
        }
    };
    dir.is_dir().then_some((dir, file))
}

/// What made a file be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// An inotify event: the file was written (or moved in, or is gone). keepalived reads it
    /// on each such event and logs a refused number each time.
    Event,
    /// The fallback poll of a file without a watch: the same content is read again every
    /// [`POLL`], so a refused number is logged once until the file reads something else, as
    /// the VRRP side does ([`tracking::FileValue`]).
    Poll,
}

/// The refused number to log for `reading`, which made `change`.
fn refusal_to_log(change: FileChange, reading: Reading, source: Source) -> Option<i64> {
    match (change, reading, source) {
        (FileChange::Refused(n), _, _) => Some(n),
        (FileChange::Same, Reading::Invalid(n), Source::Event) => Some(n),
        _ => None,
    }
}

impl VirtualServers {
    /// Applies the updates of a file change.
    pub(super) fn file_updates(
        &mut self,
        updates: Vec<Update>,
        scripts: &mut Vec<String>,
        metrics: &mut Metrics,
    ) {
        for u in updates {
            self.apply(u, scripts, metrics);
        }
        self.last_checks.extend(self.files.take_texts());
    }

    /// After a reload, before IPVS is programmed: the files of the new configuration, and
    /// every FILE_CHECK told what its file says, so a restarted checker (its weight changed)
    /// takes IPVS straight to its weight. Returns the updates, for their notices.
    pub(super) fn reload_files(&mut self, cfg: &Config, now: Instant) -> Vec<Update> {
        let mut updates = Vec::new();
        let registry = match self.files.registry.try_clone() {
            Ok(r) => r,
            Err(e) => {
                tracing::error!("FILE_CHECK: cannot reload the track files: {e}");
                return updates;
            }
        };
        let token = self.files.token;
        self.files.close();
        match FileChecks::open(cfg, &self.lvs, &registry, token, false, now) {
            Ok(f) => self.files = f,
            Err(e) => tracing::error!("FILE_CHECK: cannot reload the track files: {e}"),
        }
        let verdicts: Vec<(CheckerRef, Verdict)> = self.files.verdicts().collect();
        for (r, v) in verdicts {
            match self.lvs.file_check(r, v) {
                Ok(u) => updates.push(u),
                Err(e) => tracing::warn!("FILE_CHECK: {e}"),
            }
        }
        updates
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_resolve_as_keepalived_resolves_them() {
        let dir = std::env::temp_dir().join(format!("lbd-fcheck-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("v");
        std::fs::write(&f, "1\n").unwrap();
        assert_eq!(
            resolve(&f),
            Some((std::fs::canonicalize(&dir).unwrap(), "v".into()))
        );
        std::fs::remove_file(&f).unwrap();
        assert_eq!(
            resolve(&f),
            Some((std::fs::canonicalize(&dir).unwrap(), "v".into()))
        );
        assert_eq!(resolve(&dir.join("no-such-dir/v")), None);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// The readings of one file, and how many refused numbers each source logs.
    fn logged(source: Source, readings: &[Reading]) -> Vec<i64> {
        let mut value = FileValue::default();
        readings
            .iter()
            .filter_map(|&r| refusal_to_log(value.apply(r), r, source))
            .collect()
    }

    #[test]
    fn a_polled_file_logs_a_refused_number_once_an_event_each_time() {
        let bad = Reading::Invalid(99_999_999_999);
        let readings = [bad, bad, bad, Reading::Value(3), bad, bad];
        assert_eq!(
            logged(Source::Poll, &readings),
            [99_999_999_999, 99_999_999_999],
            "once, and again after a good reading"
        );
        assert_eq!(
            logged(Source::Event, &readings),
            [99_999_999_999; 5],
            "every write, as keepalived"
        );
    }
}
