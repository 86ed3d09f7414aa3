//! The virtual-server side of the daemon: health checks driving IPVS.
//!
//! [`crate::lvs`] decides (sans-IO); this module does the I/O around it: the IPVS netlink
//! client, the healthcheck runtime on the daemon's mio registry, and the table last
//! programmed, kept in memory so that a health change costs only its own requests
//! (`apply_diff(programmed, wanted)`), never a kernel dump.
//!
//! Start-up adopts what the kernel already holds (a restarted daemon keeps every matching
//! entry and its connections; it never flushes). Stop leaves IPVS as it is unless asked to
//! remove it, so a restart drops nothing.

pub mod checks;
mod file_checks;
mod script_security;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use healthcheck::mio::{Registry, Token};
use healthcheck::{CheckId, HealthChecker, Subscription};
use ipvs_sys::{Client, DaemonRole, Request, ServiceKey, Table};

use crate::config::{Config, VirtualServer};
use crate::lvs::desired::{self, DesiredError};
use crate::lvs::mail::{Alert, MailSettings};
use crate::lvs::state::StateError;
use crate::lvs::{adopt, reload, report, CheckerRef, Lvs, Notice, Update};
use crate::ops::metrics::CheckSeriesId;
use crate::ops::status::VirtualServerStatus;
use crate::ops::{IpvsApply, Metrics};

/// Why the virtual servers cannot run.
#[derive(Debug, thiserror::Error)]
pub enum VsError {
    /// keepalived's checker process logs the same words and exits.
    #[error("IPVS: Can't initialize ipvs: {0}")]
    Ipvs(ipvs_sys::Error),
    #[error("IPVS: cannot read the kernel's table: {0}")]
    Dump(ipvs_sys::Error),
    #[error(transparent)]
    Desired(#[from] DesiredError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error("cannot start the health checkers: {0}")]
    Health(#[from] std::io::Error),
}

/// The running virtual servers.
pub struct VirtualServers {
    client: Client,
    health: HealthChecker,
    lvs: Lvs,
    /// What this daemon last programmed for the services it owns: the base of every diff.
    programmed: Table,
    /// FILE_CHECK's track files (not run by `health`: nothing to poll).
    files: file_checks::FileChecks,
    /// `programmed` is what `lvs` asks for: an update's own requests then bring IPVS along.
    /// Off at start-up and after a failed request, when the next update diffs the whole
    /// table instead (40,000 destinations take milliseconds to diff; one event should not).
    in_sync: bool,
    /// The running check of each checker, by the reference it reports under.
    checks: HashMap<CheckerRef, CheckId>,
    /// Each checker's metrics series, where its attempts are counted and timed.
    series: HashMap<CheckerRef, CheckSeriesId>,
    /// Each virtual server's `delay_loop` and `virtualhost`, in configuration order (the
    /// specs do not carry them): its checkers' defaults.
    defaults: Vec<(Duration, Option<String>)>,
    /// `script_user` and `enable_script_security`, for MISC_CHECK.
    scripts: checks::ScriptPolicy,
    /// The first virtual server with a MISC_CHECK run as root unchecked (keepalived's
    /// `SECURITY VIOLATION` warning at each load), so a reload of a few virtual servers
    /// looks again at those only.
    root_scripts: Option<usize>,
    /// How many virtual servers have a PING_CHECK (which `ping_range` is lowered for).
    pings: usize,
    /// How many checkers `lvs` has (running or not: FILE_CHECKs, refused ones), for the
    /// count of kept ones a reload logs.
    checkers: usize,
    /// The last health result in words of each real server (by virtual and real server
    /// index), for `lbd status`.
    last_checks: HashMap<(u32, u32), String>,
    /// Who gets `smtp_alert` mail about what, and the mails due (the runtime sends them).
    mail: MailSettings,
    mails: Vec<Alert>,
    /// `net.ipv4.ping_group_range` lowered for PING_CHECK (restored when this is dropped).
    ping_range: Option<healthcheck::ping_range::PingGroupRange>,
    remove_on_stop: bool,
}

impl std::fmt::Debug for VirtualServers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VirtualServers")
            .field("checks", &self.checks.len())
            .field("services", &self.programmed.services.len())
            .finish_non_exhaustive()
    }
}

impl VirtualServers {
    /// Builds the state from `cfg`, adopts the kernel's table, programs IPVS and starts the
    /// checkers (tokens from `token_base` on `registry`). `None` when `cfg` has no virtual
    /// server: IPVS is then neither needed nor touched. Notify scripts to run go to `scripts`.
    pub fn open(
        cfg: &Config,
        registry: &Registry,
        token_base: usize,
        remove_on_stop: bool,
        now: Instant,
        scripts: &mut Vec<String>,
        metrics: &mut Metrics,
    ) -> Result<Option<Self>, VsError> {
        let started = Instant::now();
        let specs = desired::specs(cfg)?;
        if specs.is_empty() {
            return Ok(None);
        }
        let mut client = Client::connect().map_err(VsError::Ipvs)?;
        // One process, one thread: the kernel's destination dumps are read on this socket
        // (ipvs-sys would otherwise spread them over worker threads).
        client.set_dump_workers(1);
        if let Some(t) = desired::timeouts(&cfg.global.lvs_timeouts) {
            if let Err(e) = client.set_timeouts(t) {
                tracing::error!("IPVS: cannot set lvs_timeouts: {e}");
            }
        }
        let kernel = client.read_table().map_err(VsError::Dump)?;
        let mail = MailSettings::of(cfg, &specs);
        let pings = specs.iter().filter(|s| checks::has_ping(s)).count();
        let mut lvs = Lvs::new(specs)?;
        // The token just below the health checkers' range.
        let files_token = Token(token_base.saturating_sub(1));
        let files = file_checks::FileChecks::open(cfg, &lvs, registry, files_token, true, now)?;
        for (r, v) in files.verdicts() {
            lvs.seed_file_check(r, v)?;
        }
        let start = lvs.start();
        // The wanted table and its adoption are only read here: dropped before the
        // checkers' long-lived allocations, so that their megabytes (at 40,000 servers) are
        // reused by those rather than left as holes under them for the life of the process.
        let programmed = {
            let wanted = lvs.table();
            let adoption = adopt(&kernel, &wanted, std::iter::empty());
            for key in &adoption.adopted {
                tracing::info!("IPVS: adopting service {key} already in the kernel");
            }
            owned_part(&kernel, wanted.services.keys().copied())
        };
        drop(kernel);
        let mut vs = VirtualServers {
            client,
            health: HealthChecker::new(registry, token_base)?,
            lvs,
            files,
            programmed,
            in_sync: false,
            checks: HashMap::new(),
            series: HashMap::new(),
            defaults: cfg.virtual_servers.iter().map(check_defaults).collect(),
            scripts: checks::ScriptPolicy::of(cfg),
            root_scripts: None,
            pings,
            checkers: 0,
            last_checks: HashMap::new(),
            mail,
            mails: Vec::new(),
            ping_range: checks::admit_ping_sockets(pings > 0, None),
            remove_on_stop,
        };
        vs.root_scripts = vs
            .scripts
            .first_unchecked_root(cfg.virtual_servers.iter().enumerate());
        warn_root_scripts(vs.root_scripts);
        vs.last_checks.extend(vs.files.take_texts());
        vs.apply_start(start, scripts, metrics);
        // Benchmarks time start-up to this line.
        tracing::info!(
            "IPVS: table programmed: {} service(s), {} destination(s) in {:.1} ms",
            vs.programmed.services.len(),
            vs.programmed
                .services
                .values()
                .map(|e| e.dests.len())
                .sum::<usize>(),
            ms(started.elapsed())
        );
        let refs: Vec<CheckerRef> = vs.lvs.checkers().map(|(r, _)| r).collect();
        vs.checkers = refs.len();
        vs.health.record_probes(probe_capacity(refs.len()));
        vs.health.reserve(refs.len());
        vs.checks.reserve(refs.len());
        vs.series.reserve(refs.len());
        metrics.reserve_check_series(refs.len());
        for r in refs {
            vs.start_check(r, now, metrics);
        }
        Ok(Some(vs))
    }

    /// Whether `token` is one of the health checkers'.
    pub fn owns(&self, token: Token) -> bool {
        self.health.owns(token) || self.files.owns(token)
    }

    /// When [`VirtualServers::on_timeout`] wants to run next.
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        let files = self.files.poll_timeout();
        self.health.poll_timeout().into_iter().chain(files).min()
    }

    /// A checker's socket or process is ready.
    pub fn on_token(
        &mut self,
        token: Token,
        now: Instant,
        scripts: &mut Vec<String>,
        metrics: &mut Metrics,
    ) {
        if self.files.owns(token) {
            let u = self.files.on_token(now, &mut self.lvs);
            return self.file_updates(u, scripts, metrics);
        }
        self.health.handle_token(token, now);
        self.drain(scripts, metrics);
    }

    /// Runs the checks that are due.
    pub fn on_timeout(&mut self, now: Instant, scripts: &mut Vec<String>, metrics: &mut Metrics) {
        self.health.handle_timeout(now);
        self.drain(scripts, metrics);
        let u = self.files.on_timeout(now, &mut self.lvs);
        self.file_updates(u, scripts, metrics);
    }

    /// The `lbd status` view: every virtual server with its quorum and real servers.
    pub fn status(&self) -> Vec<VirtualServerStatus> {
        report::status(&self.lvs, |vs, rs| {
            let key = (u32::try_from(vs).ok()?, u32::try_from(rs).ok()?);
            self.last_checks.get(&key).cloned()
        })
    }

    /// Moves to `cfg`: unchanged checkers keep running with their state, IPVS gets only the
    /// difference (one weight edit is one request). On error nothing changes.
    pub fn reload(
        &mut self,
        cfg: &Config,
        now: Instant,
        scripts: &mut Vec<String>,
        metrics: &mut Metrics,
    ) -> Result<(), VsError> {
        let started = Instant::now();
        let specs = desired::specs(cfg)?;
        let mut mail = MailSettings::of(cfg, &specs);
        let r = reload::reload(&self.lvs, specs)?;
        mail.keep_dropped(std::mem::take(&mut self.mail));
        self.mail = mail;
        let diffed = started.elapsed();
        let defaults: Vec<_> = cfg.virtual_servers.iter().map(check_defaults).collect();
        let scripts_policy = checks::ScriptPolicy::of(cfg);
        self.root_scripts =
            scripts_policy.first_unchecked_root(cfg.virtual_servers.iter().enumerate());
        warn_root_scripts(self.root_scripts);
        let policy_same = scripts_policy == self.scripts;
        let old_lvs = std::mem::replace(&mut self.lvs, r.lvs);
        let untouched = self.untouched(
            &r.kept,
            |vs| old_lvs.spec(vs),
            |vs| policy_same && defaults.get(vs) == self.defaults.get(vs),
        );
        drop(old_lvs);
        self.defaults = defaults;
        self.scripts = scripts_policy;
        self.pings = self.lvs.specs().filter(|s| checks::has_ping(s)).count();
        self.ping_range = checks::admit_ping_sockets(self.pings > 0, self.ping_range.take());
        self.carry_checkers(&r.kept, &untouched, &r.started, &r.stopped, now, metrics);
        // Series of checkers that are gone leave the exposition.
        self.series.retain(|r, _| self.checks.contains_key(r));
        let live: std::collections::HashSet<CheckSeriesId> =
            self.series.values().copied().collect();
        metrics.retain_check_series(|id| live.contains(&id));
        self.checkers = r.kept.len() + r.started.len();
        let files = self.reload_files(cfg, now);
        let done = Finish::new(r.update, &r.started, &r.stopped, started, diffed);
        self.finish_reload(done, files, scripts, metrics);
        Ok(())
    }

    /// [`VirtualServers::reload`] for a `cfg` in which only the virtual servers at `changed`
    /// (indexes in `cfg.virtual_servers`) differ from the running configuration, each where
    /// it was and with the same key, and nothing outside `virtual_server` blocks changed
    /// (what an incremental parse reports). The state, IPVS requests, notices, checkers and
    /// log line are those of [`VirtualServers::reload`], at a cost that follows the changed
    /// virtual servers rather than the whole configuration: with 2,500 virtual servers and
    /// 40,000 checkers, one weight edit should not visit them all.
    ///
    /// What it cannot do alone ([`reload::InPlaceError`]: a virtual server's services or
    /// identity changed, a name shared by two of them, or `cfg` has not as many virtual
    /// servers; or `global_defs`' script settings changed) it hands to
    /// [`VirtualServers::reload`], saying why in a debug line. On error nothing changes.
    pub fn reload_changed(
        &mut self,
        cfg: &Config,
        changed: &[usize],
        now: Instant,
        scripts: &mut Vec<String>,
        metrics: &mut Metrics,
    ) -> Result<(), VsError> {
        let started = Instant::now();
        let mut changed = changed.to_vec();
        changed.sort_unstable();
        changed.dedup();
        let whole = if cfg.virtual_servers.len() != self.lvs.len() {
            Some("the number of virtual servers changed".to_owned())
        } else if let Some(i) = changed.last().filter(|&&i| i >= self.lvs.len()) {
            Some(format!("virtual server {i} is not in the configuration"))
        } else if checks::ScriptPolicy::of(cfg) != self.scripts {
            Some("the script settings changed".to_owned())
        } else {
            None
        };
        let specs = match whole {
            Some(why) => return self.reload_all(why, cfg, now, scripts, metrics),
            None => {
                let mut specs = Vec::with_capacity(changed.len());
                for &i in &changed {
                    specs.push((i, desired::spec(cfg, &cfg.virtual_servers[i])?));
                }
                specs
            }
        };
        let r = match reload::reload_changed(&mut self.lvs, specs) {
            Ok(r) => r,
            Err(e) => return self.reload_all(e.to_string(), cfg, now, scripts, metrics),
        };
        for &i in &changed {
            if let Some(spec) = self.lvs.spec(i) {
                self.mail.replace_vs(cfg, &cfg.virtual_servers[i], spec);
            }
        }
        let diffed = started.elapsed();

        // The changed virtual servers' defaults, the previous ones kept for the comparison.
        let mut old_defaults = Vec::with_capacity(changed.len());
        for &i in &changed {
            let new = check_defaults(&cfg.virtual_servers[i]);
            old_defaults.push((i, std::mem::replace(&mut self.defaults[i], new)));
        }
        self.root_scripts = self.root_scripts_after(cfg, &changed);
        warn_root_scripts(self.root_scripts);
        let replaced = |vs: usize| {
            r.replaced
                .binary_search_by_key(&vs, |(i, _)| *i)
                .ok()
                .map(|k| &r.replaced[k].1)
        };
        for (i, old) in &r.replaced {
            let now_pings = self.lvs.spec(*i).is_some_and(checks::has_ping);
            self.pings = (self.pings + usize::from(now_pings))
                .saturating_sub(usize::from(checks::has_ping(old)));
        }
        self.ping_range = checks::admit_ping_sockets(self.pings > 0, self.ping_range.take());
        let untouched = self.untouched(
            &r.kept,
            |vs| replaced(vs).or_else(|| self.lvs.spec(vs)),
            |vs| match old_defaults.binary_search_by_key(&vs, |(i, _)| *i) {
                Ok(k) => self.defaults.get(vs) == Some(&old_defaults[k].1),
                Err(_) => true,
            },
        );
        // The series these checkers had, to drop those no checker reports to any more.
        let gone: Vec<CheckerRef> = r
            .kept
            .iter()
            .zip(&untouched)
            .filter(|(_, u)| !**u)
            .map(|((old, _), _)| *old)
            .chain(r.stopped.iter().copied())
            .collect();
        let old_series: Vec<(CheckerRef, CheckSeriesId)> = gone
            .iter()
            .filter_map(|r| self.series.get(r).map(|id| (*r, *id)))
            .collect();
        self.carry_checkers(&r.kept, &untouched, &r.started, &r.stopped, now, metrics);
        self.checkers = (self.checkers + r.started.len()).saturating_sub(r.stopped.len());
        for old in &gone {
            if !self.checks.contains_key(old) {
                self.series.remove(old);
            }
        }
        // Names are those of one virtual server each: only its own checkers share a series.
        let live: std::collections::HashSet<CheckSeriesId> = r
            .kept
            .iter()
            .map(|(_, new)| new)
            .chain(&r.started)
            .filter_map(|n| self.series.get(n).copied())
            .collect();
        let mut dropped = std::collections::HashSet::new();
        for (old, id) in old_series {
            if live.contains(&id) || !dropped.insert(id) {
                continue;
            }
            let spec = replaced(old.vs as usize).or_else(|| self.lvs.spec(old.vs as usize));
            if let Some((vs, rs, checker)) = spec.and_then(|s| series_names(s, old)) {
                metrics.drop_check_series(&vs, &rs, checker);
            }
        }
        // FILE_CHECKs are bound by reference to their files: where the changed virtual
        // servers have some, the files are read and bound again (all of them).
        let files =
            if r.replaced.iter().any(|(i, old)| {
                has_file_check(old) || self.lvs.spec(*i).is_some_and(has_file_check)
            }) {
                self.reload_files(cfg, now)
            } else {
                Vec::new()
            };
        let done = Finish::new(r.update, &r.started, &r.stopped, started, diffed);
        self.finish_reload(done, files, scripts, metrics);
        Ok(())
    }

    fn reload_all(
        &mut self,
        why: String,
        cfg: &Config,
        now: Instant,
        scripts: &mut Vec<String>,
        metrics: &mut Metrics,
    ) -> Result<(), VsError> {
        tracing::debug!("Reload of the virtual servers: all of them, as {why}");
        self.reload(cfg, now, scripts, metrics)
    }

    /// [`VirtualServers::root_scripts`] once the virtual servers at `changed` (sorted) are
    /// those of `cfg`: those are looked at again, the others only past the previous first
    /// one if it no longer has any.
    fn root_scripts_after(&self, cfg: &Config, changed: &[usize]) -> Option<usize> {
        let vss = &cfg.virtual_servers;
        let first_changed = self
            .scripts
            .first_unchecked_root(changed.iter().map(|&i| (i, &vss[i])));
        let before = match self.root_scripts {
            Some(j) if first_changed.is_some_and(|f| f <= j) => None,
            Some(j) if changed.binary_search(&j).is_err() => Some(j),
            Some(j) => self.scripts.first_unchecked_root(
                vss.iter()
                    .enumerate()
                    .skip(j + 1)
                    .filter(|(i, _)| changed.binary_search(i).is_err()),
            ),
            None => None,
        };
        first_changed.into_iter().chain(before).min()
    }

    /// Which kept checkers stay running untouched: a kept checker under the same reference,
    /// with the same context from its virtual server (`context_same`: defaults, script
    /// policy) and the same subscription (inhibit), is left as it runs; with tens of
    /// thousands of checkers, re-subscribing each would dominate a one-line edit. `old_spec`
    /// gives the spec a virtual server had before the reload; `self.lvs` has the new ones.
    fn untouched<'o>(
        &self,
        kept: &[(CheckerRef, CheckerRef)],
        old_spec: impl Fn(usize) -> Option<&'o desired::VsSpec>,
        context_same: impl Fn(usize) -> bool,
    ) -> Vec<bool> {
        let inhibit = |spec: Option<&desired::VsSpec>, c: &CheckerRef| {
            spec.and_then(|v| v.real_servers.get(c.rs as usize))
                .map(|rs| rs.inhibit)
        };
        kept.iter()
            .map(|(old, new)| {
                old == new
                    && context_same(new.vs as usize)
                    && inhibit(old_spec(old.vs as usize), old)
                        == inhibit(self.lvs.spec(new.vs as usize), new)
            })
            .collect()
    }

    /// Hands the running checks over as a reload says (`untouched` from
    /// [`VirtualServers::untouched`]): the last results follow their real servers, kept
    /// checks move to their new references, stopped ones go and started ones start. Only the
    /// entries of checkers that moved, stopped or started are visited.
    fn carry_checkers(
        &mut self,
        kept: &[(CheckerRef, CheckerRef)],
        untouched: &[bool],
        started: &[CheckerRef],
        stopped: &[CheckerRef],
        now: Instant,
        metrics: &mut Metrics,
    ) {
        // A kept checker's last result follows its real server to the new indexes; that of
        // a real server with no checker kept goes.
        let mut texts = HashMap::new();
        for old in kept
            .iter()
            .filter(|(old, new)| old != new)
            .map(|(old, _)| old)
            .chain(stopped)
        {
            if let Some(text) = self.last_checks.remove(&(old.vs, old.rs)) {
                texts.insert((old.vs, old.rs), text);
            }
        }
        if !texts.is_empty() {
            for (old, new) in kept {
                if let Some(text) = texts.remove(&(old.vs, old.rs)) {
                    self.last_checks.insert((new.vs, new.rs), text);
                }
            }
        }
        let mut old_checks = HashMap::new();
        let moving = kept
            .iter()
            .zip(untouched)
            .filter(|(_, u)| !**u)
            .map(|((old, _), _)| old);
        for old in moving.chain(stopped) {
            if let Some(check) = self.checks.remove(old) {
                old_checks.insert(*old, check);
            }
        }
        // Subscribe the new reference before dropping the old one, so a kept check never
        // loses its last subscriber (and with it its state).
        for ((old, new), untouched) in kept.iter().zip(untouched) {
            if *untouched {
                continue;
            }
            let Some(check) = old_checks.get(old).copied() else {
                continue;
            };
            // Not carried over when it cannot start under the new reference.
            if let Some(id) = self.add_check(*new, now, metrics) {
                self.checks.insert(*new, id);
                if id != check || old != new {
                    if let Some(old_id) = old.to_id() {
                        self.health.remove(check, old_id);
                    }
                }
            }
        }
        for old in stopped {
            if let (Some(check), Some(id)) = (old_checks.get(old), old.to_id()) {
                self.health.remove(*check, id);
            }
        }
        for new in started {
            if let Some(id) = self.add_check(*new, now, metrics) {
                self.checks.insert(*new, id);
            }
        }
        // The queue grows with the number of checkers (a reload happens between drains, so
        // it holds nothing now).
        self.health.record_probes(probe_capacity(self.checks.len()));
    }

    /// The end of both reloads: IPVS, the notices, the FILE_CHECK updates, and the line
    /// benchmarks read.
    fn finish_reload(
        &mut self,
        f: Finish,
        files: Vec<Update>,
        scripts: &mut Vec<String>,
        metrics: &mut Metrics,
    ) {
        let requests = f.update.requests.len();
        // Every checker is kept but those started (those of the virtual servers a partial
        // reload did not visit as they were).
        let kept = self.checkers.saturating_sub(f.checkers.0);
        let applying = Instant::now();
        let carried = applying - f.started - f.diffed;
        self.apply(f.update, scripts, metrics);
        self.file_updates(files, scripts, metrics);
        tracing::info!(
            "Reload of the virtual servers: diff {:.1} ms, checkers {:.1} ms, apply {:.1} ms; IPVS requests: {requests}; checkers kept {}, started {}, stopped {}",
            ms(f.diffed),
            ms(carried),
            ms(applying.elapsed()),
            kept,
            f.checkers.0,
            f.checkers.1
        );
    }

    /// SIGTERM: with `remove_on_stop`, every owned service goes (keepalived's behaviour, with
    /// its log lines and omega scripts); otherwise IPVS stays as programmed.
    pub fn stop(&mut self, scripts: &mut Vec<String>, metrics: &mut Metrics) {
        let update = self.lvs.shutdown(self.remove_on_stop);
        if !self.remove_on_stop {
            tracing::info!("IPVS: leaving the virtual servers in place");
        }
        for n in update.notices {
            self.notice(n, scripts);
        }
        self.send(&update.requests, metrics);
        self.programmed = Table::new();
        self.in_sync = false;
    }

    /// The `smtp_alert` mails due since the last call.
    pub fn take_mails(&mut self) -> Vec<Alert> {
        std::mem::take(&mut self.mails)
    }

    fn notice(&mut self, n: Notice, scripts: &mut Vec<String>) {
        match n {
            Notice::Log(line) => tracing::info!("{line}"),
            Notice::Script { command, .. } => scripts.push(command),
            Notice::Mail(ev) => self.mails.extend(self.mail.render(&ev)),
        }
    }

    /// Runs the kernel's connection sync daemon in `d.role` (master while the VRRP instance
    /// it follows is MASTER, backup otherwise), stopping the other role first.
    pub fn sync_daemon(&mut self, d: &ipvs_sys::Daemon) {
        let other = match d.role {
            DaemonRole::Master => DaemonRole::Backup,
            DaemonRole::Backup => DaemonRole::Master,
        };
        match self.client.stop_daemon(other) {
            Ok(()) | Err(ipvs_sys::Error::NoDaemon(_)) => {}
            Err(e) => tracing::error!("IPVS: cannot stop the {} sync daemon: {e}", other.name()),
        }
        match self.client.start_daemon(d) {
            Ok(()) => tracing::info!(
                "Starting IPVS {} sync daemon on {} (syncid {})",
                d.role.name(),
                d.ifname,
                d.sync_id
            ),
            Err(ipvs_sys::Error::DaemonRunning(_)) => {}
            Err(e) => tracing::error!("IPVS: cannot start the {} sync daemon: {e}", d.role.name()),
        }
    }

    fn drain(&mut self, scripts: &mut Vec<String>, metrics: &mut Metrics) {
        let mut probed = false;
        while let Some(p) = self.health.poll_probe() {
            probed = true;
            if let Some(id) = self.series.get(&CheckerRef::from_id(p.subscriber)) {
                metrics.record_probe(*id, p.result, p.duration);
            }
        }
        if probed {
            metrics.set_probes_dropped(self.health.probes_dropped());
        }
        while let Some(ev) = self.health.poll_event() {
            if let Some(rec) = report::check_record(&self.lvs, ev.subscriber, &ev.change) {
                if let Some(o) = rec.observation() {
                    metrics.record_check(o);
                }
                self.last_checks
                    .insert((rec.checker_ref.vs, rec.checker_ref.rs), rec.text);
            }
            match self.lvs.on_health(&ev) {
                Ok(u) => self.apply(u, scripts, metrics),
                Err(e) => tracing::warn!("health event for nothing known: {e}"),
            }
        }
    }

    /// Logs and scripts of `u`, then brings IPVS from what was programmed to what the state
    /// now asks for. The requests of `u` are that same difference when every earlier request
    /// succeeded; diffing from the programmed table also retries what failed before.
    /// [`VirtualServers::apply`] at start-up, where every real server says two lines
    /// ("Activating healthchecker", "Adding service") and needs one request: the lines are
    /// logged on a second thread while this one programs the kernel. With 40,000 real
    /// servers, formatting those 80,000 lines takes a good part of what the kernel takes:
    /// done beside it, the table is complete that much sooner. Scripts and mails keep their
    /// order, after.
    fn apply_start(
        &mut self,
        notices: Vec<Notice>,
        scripts: &mut Vec<String>,
        metrics: &mut Metrics,
    ) {
        let (lines, rest): (Vec<Notice>, Vec<Notice>) = notices
            .into_iter()
            .partition(|n| matches!(n, Notice::Log(_)));
        std::thread::scope(|s| {
            s.spawn(move || {
                for n in lines {
                    if let Notice::Log(line) = n {
                        tracing::info!("{line}");
                    }
                }
            });
            self.apply(
                Update {
                    notices: rest,
                    // The same as the adoption's requests: `apply` diffs from the owned part.
                    requests: Vec::new(),
                },
                scripts,
                metrics,
            );
        });
    }

    fn apply(&mut self, u: Update, scripts: &mut Vec<String>, metrics: &mut Metrics) {
        for n in u.notices {
            self.notice(n, scripts);
        }
        if self.in_sync {
            if self.send(&u.requests, metrics) {
                // A request the table refuses means it and the state disagree after all:
                // the next update diffs the whole table.
                self.in_sync = u.requests.iter().all(|q| self.programmed.apply(q).is_ok());
                return;
            }
            self.in_sync = false;
            let wanted = self.lvs.table();
            self.resync(&wanted);
            return;
        }
        let wanted = self.lvs.table();
        let requests = ipvs_sys::diff(&self.programmed, &wanted);
        if self.send(&requests, metrics) {
            self.programmed = wanted;
            self.in_sync = true;
        } else {
            self.resync(&wanted);
        }
    }

    /// Sends `requests` as one batch, timed for the metrics; `false` if any failed (each
    /// failure logged).
    fn send(&mut self, requests: &[Request], metrics: &mut Metrics) -> bool {
        if requests.is_empty() {
            return true;
        }
        tracing::debug!("IPVS: {} request(s): {requests:?}", requests.len());
        let started = Instant::now();
        let result = self.client.apply(requests);
        let (ok, error) = match result {
            Ok(report) => {
                for (i, e) in &report.failures {
                    tracing::error!("IPVS: {e} ({:?})", requests.get(*i));
                }
                let ok = report.failures.is_empty();
                (ok, (!ok).then_some("request_failed"))
            }
            Err(e) => {
                tracing::error!("IPVS: {e}");
                (false, Some("io"))
            }
        };
        metrics.record_ipvs_apply(IpvsApply {
            operation: "batch",
            requests: requests.len(),
            error,
            duration: started.elapsed(),
        });
        ok
    }

    /// After a failure: re-read the kernel so the next diff starts from the truth.
    fn resync(&mut self, wanted: &Table) {
        match self.client.read_table() {
            Ok(kernel) => self.programmed = owned_part(&kernel, wanted.services.keys().copied()),
            Err(e) => tracing::error!("IPVS: cannot read the kernel's table: {e}"),
        }
    }

    fn start_check(&mut self, r: CheckerRef, now: Instant, metrics: &mut Metrics) {
        if let Some(id) = self.add_check(r, now, metrics) {
            self.checks.insert(r, id);
        }
    }

    /// Subscribes `r` to its check (shared with an identical one already running).
    fn add_check(&mut self, r: CheckerRef, now: Instant, metrics: &mut Metrics) -> Option<CheckId> {
        let (vs, rs) = (r.vs as usize, r.rs as usize);
        let spec = self.lvs.spec(vs)?;
        let rs_spec = spec.real_servers.get(rs)?;
        let checker = rs_spec.checkers.get(usize::from(r.checker))?;
        if matches!(checker.config.kind, crate::config::CheckerKind::File(_)) {
            return None; // `files` reads it
        }
        let (delay_loop, virtualhost) = self.defaults.get(vs)?;
        let check = match checks::spec(
            &checker.config,
            rs_spec.dest.addr,
            *delay_loop,
            virtualhost.as_deref(),
            checker.alpha,
            &self.scripts,
        ) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!("{e}: checker of {} not started", rs_spec.name);
                return None;
            }
        };
        let sub = Subscription {
            id: r.to_id()?,
            inhibit_on_failure: rs_spec.inhibit,
        };
        let (vs_name, rs_name, checker_name) = series_names(spec, r)?;
        let series = metrics.check_series(&vs_name, &rs_name, checker_name);
        match self.health.add(check, sub, now) {
            Ok(reg) => {
                self.series.insert(r, series);
                Some(reg.check)
            }
            Err(e) => {
                tracing::error!("checker of {}: {e}", rs_spec.name);
                None
            }
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Room for the attempt records of one loop turn (they are drained after each): every
/// checker finishing at once twice over (a retry can finish in the same turn), within
/// bounds: at least a few hundred, at most 16 Ki records (under 1 MiB). A turn finishing
/// more than that loses the excess to `lbd_check_probes_dropped_total`, not to memory.
fn probe_capacity(checkers: usize) -> usize {
    checkers.saturating_mul(2).clamp(256, 1 << 14)
}

/// What a reload hands [`VirtualServers::finish_reload`].
struct Finish {
    update: Update,
    /// Checkers started, stopped.
    checkers: (usize, usize),
    /// When the reload started, and how long its diff took.
    started: Instant,
    diffed: Duration,
}

impl Finish {
    fn new(
        update: Update,
        started: &[CheckerRef],
        stopped: &[CheckerRef],
        at: Instant,
        diffed: Duration,
    ) -> Self {
        Finish {
            update,
            checkers: (started.len(), stopped.len()),
            started: at,
            diffed,
        }
    }
}

/// keepalived's warning at each load when checks run scripts as root unchecked (`first`:
/// [`VirtualServers::root_scripts`]).
fn warn_root_scripts(first: Option<usize>) {
    if first.is_some() {
        tracing::warn!(
            "SECURITY VIOLATION - check scripts are being executed but script_security not enabled."
        );
    }
}

/// A virtual server's `delay_loop` and `virtualhost`: its checkers' defaults.
fn check_defaults(v: &VirtualServer) -> (Duration, Option<String>) {
    (v.delay_loop, v.virtualhost.clone())
}

/// The metrics names of checker `r` of `spec`: the same as the verdict-change records
/// (`report::check_record`), so both land on one series.
fn series_names(spec: &desired::VsSpec, r: CheckerRef) -> Option<(String, String, &'static str)> {
    let rs = spec.real_servers.get(r.rs as usize)?;
    let checker = rs.checkers.get(usize::from(r.checker))?;
    Some((
        spec.name.to_string(),
        rs.dest.addr.to_string(),
        report::checker_name(&checker.config),
    ))
}

fn has_file_check(spec: &desired::VsSpec) -> bool {
    spec.real_servers
        .iter()
        .flat_map(|r| &r.checkers)
        .any(|c| matches!(c.config.kind, crate::config::CheckerKind::File(_)))
}

/// The services of `kernel` named by `keys`: what this daemon owns of it.
fn owned_part(kernel: &Table, keys: impl IntoIterator<Item = ServiceKey>) -> Table {
    let mut t = Table::new();
    for k in keys {
        if let Some(e) = kernel.services.get(&k) {
            t.services.insert(k, e.clone());
        }
    }
    t
}
