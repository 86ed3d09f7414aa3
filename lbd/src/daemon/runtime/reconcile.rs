//! From configuration to running units: planning, reload (keeping what did not change),
//! leftover VIPs, the socket table.

use std::net::IpAddr;

use super::*;
use crate::config::Outcome;

/// What a reload changed, for the virtual servers to follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Reloaded {
    /// The configuration had errors: the running one stays.
    Failed,
    /// No file changed.
    Unchanged,
    /// Only these `config.virtual_servers` entries changed (in place, same keys).
    VirtualServers(Vec<usize>),
    /// Read whole: anything may have changed.
    Full,
}

fn ms_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

impl Runtime {
    /// SIGHUP: re-reads the configuration. When only `virtual_server` blocks changed (or
    /// nothing did), just those are re-read into the running model
    /// ([`crate::config::reload_incremental`]); otherwise the whole file is loaded again. A
    /// configuration with errors changes nothing.
    pub(super) fn reload(&mut self, now: Instant) -> Reloaded {
        tracing::info!(
            "Reloading configuration from {}",
            self.config_path.display()
        );
        let started = Instant::now();
        if let Some(source) = self.source.as_mut().filter(|_| !self.track_files_dropped) {
            match crate::config::reload_incremental(source, &mut self.config) {
                Outcome::Unchanged => {
                    tracing::info!(
                        "Reload: configuration unchanged (checked in {:.1} ms)",
                        ms_since(started)
                    );
                    return self.reloaded_in_place(Reloaded::Unchanged, now);
                }
                Outcome::Patched {
                    virtual_servers,
                    warnings,
                } => {
                    tracing::info!(
                        "Reload: configuration read in {:.1} ms ({} virtual server(s) re-read, the rest unchanged)",
                        ms_since(started),
                        virtual_servers.len()
                    );
                    for w in &warnings {
                        tracing::warn!("{w}");
                    }
                    return self.reloaded_in_place(Reloaded::VirtualServers(virtual_servers), now);
                }
                Outcome::Full { reason } => {
                    tracing::debug!("Reload: reading the whole configuration: {reason}");
                }
            }
        }
        let options = crate::config::LoadOptions::default();
        match crate::config::load_tracked(&self.config_path, &options) {
            Ok((mut loaded, source)) => {
                tracing::info!("Reload: configuration read in {:.1} ms", ms_since(started));
                for w in &loaded.warnings {
                    tracing::warn!("{w}");
                }
                let needs = crate::daemon::script_user::Needs::of(&loaded.config);
                for w in crate::daemon::default_script_user_with(&mut loaded.config, &needs) {
                    tracing::warn!("{w}");
                }
                self.script_needs = needs;
                self.config = loaded.config;
                self.source = Some(source);
                self.reloads += 1;
                let instances = &self.config.instances;
                self.ops
                    .history
                    .retain(|n| instances.iter().any(|i| i.name == n));
                self.failed.clear();
                self.prepare_track_files(false);
                self.replan(now);
                tracing::info!("Reload finished");
                Reloaded::Full
            }
            Err(e) => {
                if let crate::config::ConfigError::Invalid { diagnostics } = &e {
                    for d in diagnostics {
                        tracing::error!("{d}");
                    }
                }
                tracing::error!("Reload failed ({e}); keeping the running configuration");
                Reloaded::Failed
            }
        }
    }

    /// The end of a reload that changed no VRRP instance: track files are initialised, and
    /// the instances that could not start are tried again, as after a full reload.
    fn reloaded_in_place(&mut self, how: Reloaded, now: Instant) -> Reloaded {
        self.reloads += 1;
        // As after a full load: the default script user is looked up again.
        if let Reloaded::VirtualServers(changed) = &how {
            self.script_needs.update(&self.config, changed);
        }
        for w in crate::daemon::default_script_user_with(&mut self.config, &self.script_needs) {
            tracing::warn!("{w}");
        }
        // keepalived initialises its track files at every read of the configuration.
        self.prepare_track_files(false);
        if !self.failed.is_empty() || self.track_files_dropped {
            self.failed.clear();
            self.replan(now);
        }
        tracing::info!("Reload finished");
        how
    }

    /// Plans from the current configuration and kernel state, and applies the difference.
    pub(super) fn replan(&mut self, now: Instant) {
        self.replan_wanted = false;
        if !self.vs.vrrp_enabled() {
            return;
        }
        // Before the addresses are listed: a static address may be an instance's source.
        self.sync_statics();
        let addrs = match self.route.list_addresses(None) {
            Ok(a) => a,
            Err(e) => {
                tracing::error!("cannot list addresses: {e}");
                Vec::new()
            }
        };
        let plan = plan::plan(&self.config, &KernelView { addrs: &addrs }, &mut self.ids);
        for (name, err) in &plan.failed {
            if !self.failed.iter().any(|(n, e)| n == name && e == err) {
                if err.is_transient() {
                    tracing::warn!("({name}) cannot start yet: {err}; waiting for the interface");
                } else {
                    tracing::error!("({name}) not started: {err}");
                }
            }
        }
        self.failed = plan.failed.clone();
        self.apply(plan, &addrs, now);
    }

    pub(super) fn apply(&mut self, plan: Plan, addrs: &[Address], now: Instant) {
        let created = self.sync_trackers(&plan.tracked, now);
        let mut old: Vec<Option<Unit>> = std::mem::take(&mut self.units);
        // Which running unit each planned unit keeps: the same plan means nothing to redo.
        let keep: Vec<Option<usize>> = plan
            .units
            .iter()
            .map(|up| {
                old.iter()
                    .position(|o| o.as_ref().is_some_and(|o| o.plan == *up))
            })
            .collect();
        // Units that are gone or changed stop first (priority 0, VIPs removed), on their
        // sockets, which are still open; a rebuilt unit then starts from a clean slate.
        for (i, slot) in old.iter_mut().enumerate() {
            if keep.contains(&Some(i)) {
                continue;
            }
            let Some(mut unit) = slot.take() else {
                continue;
            };
            for m in &unit.plan.members {
                tracing::info!("({}) stopping (removed or changed by reload)", m.name);
            }
            unit.engine.shutdown(now);
            self.drive_unit(None, &mut unit, now);
        }
        let mut started = Vec::new();
        for (up, kept) in plan.units.into_iter().zip(keep) {
            if let Some(unit) = kept.and_then(|i| old.get_mut(i)).and_then(Option::take) {
                self.units.push(Some(unit));
                continue;
            }
            self.remove_leftover_vips(&up, addrs);
            let configs = up
                .members
                .iter()
                .map(|m| m.router_config(|b| self.binding_state(b)))
                .collect();
            match Engine::new(up.group.is_some(), configs, now) {
                Ok(mut engine) => {
                    // Track files weigh by their value, not just up/down.
                    for (m, plan) in up.members.iter().enumerate() {
                        for b in &plan.bindings {
                            if let Some(v) = self.binding_value(b) {
                                if let Err(e) = engine.set_tracker_value(now, m, b.id, v) {
                                    tracing::error!("({}) tracker update: {e}", plan.name);
                                }
                            }
                        }
                    }
                    let members = up
                        .members
                        .iter()
                        .map(|_| Member {
                            socket: usize::MAX,
                            state: State::Initialize,
                            vips_installed: false,
                            announce_left: 0,
                        })
                        .collect();
                    started.push(self.units.len());
                    self.units.push(Some(Unit {
                        plan: up,
                        engine,
                        members,
                        group_state: None,
                    }));
                }
                Err(e) => tracing::error!("cannot start {:?}: {e}", up.group),
            }
        }
        self.sync_sockets();
        self.timers.cancel_where(|k| {
            matches!(
                k,
                TimerKey::Unit(_) | TimerKey::Announce(..) | TimerKey::LowerPrioGarp(..)
            )
        });
        for u in 0..self.units.len() {
            if started.contains(&u) {
                self.drive(u, now);
            } else if let Some(unit) = &self.units[u] {
                self.timers
                    .set(TimerKey::Unit(u), unit.engine.poll_timeout());
            }
        }
        // A kept router may still hold the state of a tracked object that was just
        // redefined (and restarted from its initial state): bring it in line.
        for id in created {
            self.tracker_changed(id, now);
        }
    }

    /// VIPs a killed earlier run left behind: removed now, added back if we become master, so
    /// an address is never held twice on the segment.
    pub(super) fn remove_leftover_vips(&mut self, up: &UnitPlan, addrs: &[Address]) {
        for m in &up.members {
            let mut removed = 0;
            for spec in &m.vips {
                let listed = addrs
                    .iter()
                    .any(|a| a.ifindex == spec.ifindex && a.addr == spec.addr);
                if !listed {
                    continue;
                }
                // A unit stopped just before may have removed it already: NotPresent is fine.
                match self.route.del_address(spec) {
                    Ok(()) => removed += 1,
                    Err(sys::AddrError::NotPresent) => {}
                    Err(e) => {
                        tracing::warn!("({}) cannot remove leftover {}: {e}", m.name, spec.addr)
                    }
                }
            }
            if removed > 0 {
                tracing::info!("({}) removing VIPs.", m.name);
            }
        }
    }

    /// Opens the sockets the units need, closes the others, rebuilds the VRID tables.
    pub(super) fn sync_sockets(&mut self) {
        for slot in self.sockets.iter_mut().flatten() {
            slot.by_vrid.fill(None);
        }
        for (u, unit) in self.units.iter_mut().enumerate() {
            let Some(unit) = unit else { continue };
            for (m, plan) in unit.plan.members.iter().enumerate() {
                let existing = self.sockets.iter().position(|s| {
                    s.as_ref().is_some_and(|s| {
                        s.sock.ifindex() == plan.ifindex && s.sock.family() == plan.family
                    })
                });
                let slot = match existing {
                    Some(i) => i,
                    None => match VrrpSocket::open(&plan.ifname, plan.family) {
                        Ok(mut sock) => {
                            let i = self
                                .sockets
                                .iter()
                                .position(Option::is_none)
                                .unwrap_or(self.sockets.len());
                            if let Err(e) = self.poll.registry().register(
                                &mut sock,
                                Token(SOCKET_BASE + i),
                                Interest::READABLE,
                            ) {
                                tracing::error!("({}) cannot watch VRRP socket: {e}", plan.name);
                                continue;
                            }
                            let slot = SocketSlot {
                                sock,
                                by_vrid: Box::new([None; 256]),
                            };
                            if i == self.sockets.len() {
                                self.sockets.push(Some(slot));
                            } else {
                                self.sockets[i] = Some(slot);
                            }
                            i
                        }
                        Err(e) => {
                            tracing::error!(
                                "({}) cannot open VRRP socket on {}: {e}",
                                plan.name,
                                plan.ifname
                            );
                            continue;
                        }
                    },
                };
                if let Some(Some(s)) = self.sockets.get_mut(slot) {
                    let vrid = usize::from(plan.router.vrid());
                    if s.by_vrid[vrid].is_some() {
                        tracing::error!(
                            "({}) VRID {vrid} is used twice on {}",
                            plan.name,
                            plan.ifname
                        );
                    }
                    s.by_vrid[vrid] = Some((u as u32, m as u16));
                }
                if let Some(member) = unit.members.get_mut(m) {
                    member.socket = slot;
                }
            }
        }
        self.sync_groups();
        for slot in &mut self.sockets {
            if slot
                .as_ref()
                .is_some_and(|s| s.by_vrid.iter().all(Option::is_none))
            {
                if let Some(mut s) = slot.take() {
                    let _ = self.poll.registry().deregister(&mut s.sock);
                }
            }
        }
    }

    /// Each socket joins the groups its multicast instances advertise to (`vrrp_mcast_group4/6`
    /// or the RFC's), and leaves the others. A socket of unicast instances only keeps what it has.
    fn sync_groups(&mut self) {
        let mut wanted: Vec<Vec<IpAddr>> = vec![Vec::new(); self.sockets.len()];
        for unit in self.units.iter().flatten() {
            for (plan, member) in unit.plan.members.iter().zip(&unit.members) {
                let router = &plan.router;
                if !router.unicast_peers().is_empty() {
                    continue;
                }
                if let Some(w) = wanted.get_mut(member.socket) {
                    if !w.contains(&router.destination_group()) {
                        w.push(router.destination_group());
                    }
                }
            }
        }
        for (slot, groups) in self.sockets.iter_mut().zip(wanted) {
            let Some(s) = slot else { continue };
            if groups.is_empty() {
                continue;
            }
            if let Err(e) = s.sock.set_groups(&groups) {
                tracing::error!("cannot join the VRRP group on {}: {e}", s.sock.ifname());
            }
        }
    }
}
