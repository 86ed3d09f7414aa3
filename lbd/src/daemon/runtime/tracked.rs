//! Tracked objects: interfaces (from rtnetlink events), scripts (run on their interval,
//! counted with rise/fall), files (read periodically); a change goes to every router tracking it.

use super::*;
use tracking::{FileChange, FileValue};

impl Runtime {
    pub(super) fn run_track_script(&mut self, id: TrackerId, now: Instant) {
        let Some(t) = self.trackers.get(&id) else {
            return;
        };
        let TrackedKind::Script { def, running, .. } = &t.kind else {
            return;
        };
        self.timers
            .set(TimerKey::Script(id), Some(now + def.interval));
        if running.is_some() {
            // Still running from the last interval: its timeout will end it.
            return;
        }
        let (line, user) = (def.script.clone(), def.user.clone());
        let timeout = def.timeout.unwrap_or(def.interval);
        let token = self.spawn_script(&line, &[], user.as_ref(), Some(timeout), Purpose::Track(id));
        match token {
            Some(tok) => {
                if let Some(Tracked {
                    kind: TrackedKind::Script { running, .. },
                    ..
                }) = self.trackers.get_mut(&id)
                {
                    *running = Some(tok);
                }
            }
            // Could not even start: a failure, as keepalived counts it.
            None => self.record_script(id, false, now),
        }
    }

    pub(super) fn track_script_result(
        &mut self,
        id: TrackerId,
        token: Token,
        success: bool,
        now: Instant,
    ) {
        if let Some(Tracked {
            kind: TrackedKind::Script { running, .. },
            ..
        }) = self.trackers.get_mut(&id)
        {
            if *running == Some(token) {
                *running = None;
            }
        }
        self.record_script(id, success, now);
    }

    pub(super) fn record_script(&mut self, id: TrackerId, success: bool, now: Instant) {
        let Some(t) = self.trackers.get_mut(&id) else {
            return;
        };
        let TrackedKind::Script { def, rise_fall, .. } = &mut t.kind else {
            return;
        };
        if let Some(state) = rise_fall.record(success) {
            let word = if state == TrackerState::Up {
                "succeeded"
            } else {
                "failed"
            };
            tracing::info!("VRRP_Script({}) {word}", def.name);
            self.tracker_changed(id, now);
        }
    }

    pub(super) fn poll_track_file(&mut self, id: TrackerId, now: Instant) {
        let Some(t) = self.trackers.get_mut(&id) else {
            return;
        };
        let TrackedKind::File { def, value } = &mut t.kind else {
            return;
        };
        self.timers
            .set(TimerKey::File(id), Some(now + tracking::TRACK_FILE_POLL));
        match value.apply(tracking::read_track_file(&def.file)) {
            FileChange::Same => {}
            FileChange::Refused(n) => tracing::info!("{}", tracking::refused_line(n, &def.file)),
            FileChange::Changed { from, to } => {
                tracing::info!("Track file {} changed value from {from} to {to}", def.name);
                self.tracker_changed(id, now);
            }
        }
    }

    /// The weighted value a `track_file` binding reports (keepalived multiplies it by the
    /// weight); `None` for objects that are only up or down.
    pub(super) fn binding_value(&self, b: &Binding) -> Option<i32> {
        match self.trackers.get(&b.id).map(|t| &t.kind) {
            Some(TrackedKind::File { value, .. }) => {
                let clamped = value
                    .value()
                    .clamp(i64::from(i32::MIN), i64::from(i32::MAX));
                Some(i32::try_from(clamped).unwrap_or_default())
            }
            _ => None,
        }
    }

    /// The state the engine must be told for `binding`.
    pub(super) fn binding_state(&self, b: &Binding) -> TrackerState {
        let state = match self.trackers.get(&b.id).map(|t| &t.kind) {
            Some(TrackedKind::Interface(name)) => self.interface_state(name),
            Some(TrackedKind::Script { rise_fall, .. }) => rise_fall.state(),
            Some(TrackedKind::File { value, .. }) => {
                tracking::file_state(value.value(), b.configured_weight())
            }
            None => TrackerState::Up,
        };
        b.engine_state(state)
    }

    pub(super) fn interface_state(&self, name: &str) -> TrackerState {
        match self.links.values().find(|l| l.name == name) {
            Some(l) if l.is_up() => TrackerState::Up,
            _ => TrackerState::Down,
        }
    }

    /// Tells every router tracking `id` its new state.
    pub(super) fn tracker_changed(&mut self, id: TrackerId, now: Instant) {
        for u in 0..self.units.len() {
            let Some(mut unit) = self.units.get_mut(u).and_then(Option::take) else {
                continue;
            };
            let mut touched = false;
            for (m, plan) in unit.plan.members.iter().enumerate() {
                for b in plan.bindings.iter().filter(|b| b.id == id) {
                    let result = match self.binding_value(b) {
                        Some(v) => unit.engine.set_tracker_value(now, m, id, v),
                        None => unit.engine.set_tracker(now, m, id, self.binding_state(b)),
                    };
                    if let Err(e) = result {
                        tracing::error!("({}) tracker update: {e}", plan.name);
                    }
                    touched = true;
                }
            }
            if touched {
                self.drive_unit(Some(u), &mut unit, now);
            }
            self.units[u] = Some(unit);
        }
    }

    pub(super) fn on_netlink(&mut self, now: Instant) {
        let mut events = Vec::new();
        if let Err(e) = self.monitor.drain(&mut events) {
            tracing::error!("netlink monitor: {e}");
        }
        let mut changed_ifaces: Vec<String> = Vec::new();
        for ev in events {
            match ev {
                NetEvent::Link(l) => {
                    let was = self.links.get(&l.ifindex).map(LinkState::is_up);
                    if was != Some(l.is_up()) {
                        let word = if l.is_up() { "up" } else { "down" };
                        tracing::info!("Netlink reports {} {word}", l.name);
                        changed_ifaces.push(l.name.clone());
                    }
                    // A new interface (or one re-created with a new index): instances
                    // waiting for it can start, instances on its old index must move.
                    if was.is_none() {
                        self.replan_wanted = true;
                    }
                    self.links.insert(l.ifindex, l);
                }
                NetEvent::LinkRemoved { ifindex, name } => {
                    tracing::info!("Netlink reports {name} removed");
                    self.links.remove(&ifindex);
                    changed_ifaces.push(name);
                    self.replan_wanted = true;
                }
                NetEvent::AddrAdded(_) | NetEvent::AddrRemoved(_) => {
                    if !self.failed.is_empty() {
                        self.replan_wanted = true;
                    }
                }
                NetEvent::Overrun => {
                    tracing::warn!("netlink overrun: re-reading links");
                    match self.route.list_links() {
                        Ok(links) => {
                            self.links = links.into_iter().map(|l| (l.ifindex, l)).collect();
                            changed_ifaces.extend(self.links.values().map(|l| l.name.clone()));
                        }
                        Err(e) => tracing::error!("re-reading links: {e}"),
                    }
                    self.replan_wanted |= !self.failed.is_empty();
                }
            }
        }
        let ids: Vec<TrackerId> = self
            .trackers
            .iter()
            .filter(|(_, t)| matches!(&t.key, TrackKey::Interface(n) if changed_ifaces.contains(n)))
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            self.tracker_changed(id, now);
        }
    }

    /// Creates the tracked objects the plan uses, keeps those whose definition is unchanged
    /// (with their state), drops the rest. Returns the ids of the objects created, whose
    /// state routers kept across a reload must be told.
    pub(super) fn sync_trackers(
        &mut self,
        tracked: &[(TrackKey, TrackerId)],
        now: Instant,
    ) -> Vec<TrackerId> {
        let mut old = std::mem::take(&mut self.trackers);
        let mut created = Vec::new();
        for (key, id) in tracked {
            let Some(def) = self.definition(key) else {
                tracing::error!("tracked object {key:?} is not defined");
                continue;
            };
            if let Some(prev) = old.remove(id) {
                if same_definition(&prev.kind, &def) {
                    self.trackers.insert(*id, prev);
                    continue;
                }
                self.forget_tracker(prev);
            }
            let kind = match def {
                Definition::Interface(name) => TrackedKind::Interface(name),
                Definition::Script(def) => {
                    self.timers.set(TimerKey::Script(*id), Some(now));
                    TrackedKind::Script {
                        rise_fall: RiseFall::new(def.rise, def.fall, def.init_fail),
                        def,
                        running: None,
                    }
                }
                Definition::File(def) => {
                    let next = now + tracking::TRACK_FILE_POLL;
                    self.timers.set(TimerKey::File(*id), Some(next));
                    // keepalived's first reading: a refused number leaves the value at 0.
                    let mut value = FileValue::default();
                    if let FileChange::Refused(n) =
                        value.apply(tracking::read_track_file(&def.file))
                    {
                        tracing::info!("{}", tracking::refused_line(n, &def.file));
                    }
                    TrackedKind::File { def, value }
                }
            };
            let key = key.clone();
            self.trackers.insert(*id, Tracked { key, kind });
            created.push(*id);
        }
        for (id, prev) in old {
            self.timers.cancel(TimerKey::Script(id));
            self.timers.cancel(TimerKey::File(id));
            self.forget_tracker(prev);
        }
        created
    }

    /// After each configuration load (`starting`: the first), before planning: the track
    /// files VRRP instances track are initialised and resolved, and those keepalived would
    /// drop are no longer tracked ([`tracking::prepare_vrrp_track_files`]). Only here, not on
    /// every replan: keepalived does this once per configuration read. A dropped file is
    /// gone from the running model, so the next reload reads the whole configuration to
    /// find it again.
    pub(super) fn prepare_track_files(&mut self, starting: bool) {
        self.track_files_dropped = self.vs.vrrp_enabled()
            && !tracking::prepare_vrrp_track_files(&mut self.config, starting).is_empty();
    }

    fn definition(&self, key: &TrackKey) -> Option<Definition> {
        match key {
            TrackKey::Interface(n) => Some(Definition::Interface(n.clone())),
            TrackKey::Script(n) => self.config.script(n).cloned().map(Definition::Script),
            TrackKey::File(n) => self
                .config
                .track_files
                .iter()
                .find(|f| &f.name == n)
                .cloned()
                .map(Definition::File),
        }
    }

    pub(super) fn forget_tracker(&mut self, t: Tracked) {
        if let TrackedKind::Script {
            running: Some(tok), ..
        } = t.kind
        {
            if let Some(mut job) = self.jobs.remove(&tok) {
                let _ = self.poll.registry().deregister(&mut job.script);
                self.timers.cancel(TimerKey::ScriptDeadline(tok.0));
                // Dropping kills and reaps it.
            }
        }
    }
}

/// A tracked object as the configuration defines it.
enum Definition {
    Interface(String),
    Script(VrrpScript),
    File(TrackFile),
}

/// Whether a running object still matches its definition (where in the file it is written
/// does not matter).
fn same_definition(running: &TrackedKind, def: &Definition) -> bool {
    match (running, def) {
        (TrackedKind::Interface(x), Definition::Interface(y)) => x == y,
        (TrackedKind::Script { def: x, .. }, Definition::Script(y)) => {
            VrrpScript {
                origin: y.origin.clone(),
                ..x.clone()
            } == *y
        }
        (TrackedKind::File { def: x, .. }, Definition::File(y)) => {
            TrackFile {
                origin: y.origin.clone(),
                ..x.clone()
            } == *y
        }
        _ => false,
    }
}
