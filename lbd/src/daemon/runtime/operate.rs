//! The loop's side of [`crate::ops`]: readiness and timers handed over, and the status
//! document built from the engines when a client asks.

use super::*;
use crate::ops::{Ops, OpsError, OpsOptions, Query, Status, StatusInputs};

impl Runtime {
    /// Opens the metrics listener, the status socket and the systemd notifier.
    pub fn open_ops(&mut self, opts: &OpsOptions) -> Result<(), OpsError> {
        self.ops = Ops::open(opts, self.poll.registry(), Instant::now())?;
        self.timers.set(TimerKey::Ops, self.ops.next_deadline());
        Ok(())
    }

    /// The hooks for the checker and virtual-server sides (`record_check`, `record_ipvs_apply`).
    pub fn metrics_mut(&mut self) -> &mut crate::ops::Metrics {
        &mut self.ops.metrics
    }

    /// Tells systemd the configuration is applied (at start and after each reload).
    pub(super) fn ops_ready(&mut self) {
        let running = self
            .units
            .iter()
            .flatten()
            .map(|u| u.plan.members.len())
            .sum();
        self.ops.ready(running);
        self.timers.set(TimerKey::Ops, self.ops.next_deadline());
    }

    pub(super) fn ops_timer(&mut self, now: Instant) {
        self.ops.on_timer(self.poll.registry(), now);
        self.timers.set(TimerKey::Ops, self.ops.next_deadline());
    }

    pub(super) fn on_ops(&mut self, token: Token, now: Instant) {
        if let Some(query) = self.ops.on_ready(self.poll.registry(), token, now) {
            // The metrics read no virtual-server status: with tens of thousands of real servers
            // building it would be most of a scrape's cost.
            let status = self.ops_status(matches!(query, Query::Status));
            self.ops.answer(self.poll.registry(), token, query, &status);
        }
        self.timers.set(TimerKey::Ops, self.ops.next_deadline());
    }

    /// What `lbd status` and `/metrics` report, read from the engines now; the virtual
    /// servers only `with_virtual_servers`.
    pub fn ops_status(&self, with_virtual_servers: bool) -> Status {
        let name = |id: TrackerId| {
            self.trackers.get(&id).map(|t| match &t.key {
                TrackKey::Interface(n) => format!("interface {n}"),
                TrackKey::Script(n) => format!("script {n}"),
                TrackKey::File(n) => format!("file {n}"),
            })
        };
        self.ops.status(StatusInputs {
            views: self.instance_views(),
            tracker_name: &name,
            not_running: self
                .failed
                .iter()
                .map(|(n, e)| (n.clone(), e.to_string()))
                .collect(),
            drops: &self.drops,
            reloads: self.reloads,
            config_path: &self.config_path,
            virtual_servers: if with_virtual_servers {
                self.vs_status()
            } else {
                None
            },
        })
    }
}
