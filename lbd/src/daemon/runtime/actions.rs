//! Applying what the engines say: VIPs, announcements, log lines, notify scripts.

use super::*;
use crate::daemon::smtp_alert;

impl Runtime {
    pub(super) fn apply_event(
        &mut self,
        u: Option<usize>,
        unit: &mut Unit,
        m: usize,
        ev: vrrp_core::Event,
        now: Instant,
    ) {
        use vrrp_core::{Event, Reason};
        let Some(plan) = unit.plan.members.get(m) else {
            return;
        };
        let name = plan.name.as_str();
        let router = unit.engine.member(m);
        match ev {
            Event::StateChanged { from, to, reason } => {
                crate::daemon::logmsg::state_change(name, from, to, reason, router);
                let at = std::time::SystemTime::now();
                self.ops.history.record(name, from, to, reason, at);
                if let Some(member) = unit.members.get_mut(m) {
                    member.state = to;
                    if to != State::Master {
                        member.announce_left = 0;
                    }
                }
                let priority = router.map_or(0, |r| r.priority());
                self.notify(
                    &plan.notify,
                    sys::script::NotifyKind::Instance,
                    name,
                    to,
                    priority,
                );
                self.vs_follow_vrrp(name, to);
                if self.wants_instance_mail(name, to) {
                    self.smtp_alert(smtp_alert::Subject::Instance(name), to);
                }
            }
            Event::AddVips => {
                tracing::info!("({name}) setting VIPs.");
                for spec in &plan.vips {
                    match self.route.add_address(spec) {
                        Ok(()) | Err(sys::AddrError::AlreadyExists) => {}
                        Err(e) => tracing::error!("({name}) cannot add VIP {}: {e}", spec.addr),
                    }
                }
                if let Some(member) = unit.members.get_mut(m) {
                    member.vips_installed = true;
                }
            }
            Event::RemoveVips => {
                tracing::info!("({name}) removing VIPs.");
                for spec in &plan.vips {
                    match self.route.del_address(spec) {
                        Ok(()) | Err(sys::AddrError::NotPresent) => {}
                        Err(e) => tracing::error!("({name}) cannot remove VIP {}: {e}", spec.addr),
                    }
                }
                if let Some(member) = unit.members.get_mut(m) {
                    member.vips_installed = false;
                }
            }
            Event::Announce { count } => {
                log_queued(plan);
                if let Some(member) = unit.members.get_mut(m) {
                    member.announce_left = count;
                }
                if let Some(u) = u {
                    self.announce_member(u, unit, m, now);
                }
            }
            Event::AdvertForced { reason, from } => match reason {
                Reason::LowerPriorityAdvert => {
                    tracing::info!(
                        "({name}) received lower priority advert from {from}, forcing new election"
                    );
                    let line = plan.notify.master_rx_lower_pri.clone();
                    self.lower_priority_heard(u, unit, line, now);
                }
                Reason::PriorityZero => {
                    tracing::info!("({name}) Master received priority 0 advertisement from {from}")
                }
                Reason::HigherPriorityAdvert | Reason::EqualPriorityHigherAddress => {
                    tracing::info!(
                        "({name}) sending an advert before yielding to {from} (higher_prio_send_advert)"
                    )
                }
                other => tracing::info!("({name}) advert sent at once ({other}) to {from}"),
            },
            Event::LowerPriorityUnanswered { from } => {
                // lower_prio_no_advert: keepalived's line without ", forcing new election".
                tracing::info!("({name}) received lower priority advert from {from}");
                let line = plan.notify.master_rx_lower_pri.clone();
                self.lower_priority_heard(u, unit, line, now);
            }
            Event::PriorityChanged { from, to } => {
                tracing::info!("({name}) Changing effective priority from {from} to {to}");
            }
            Event::Dropped(reason) => {
                self.ops.history.record_drop(name, reason.label());
                self.drops.dropped(name, reason, now);
            }
            Event::TransmitFailed(e) => tracing::error!("({name}) cannot build advert: {e}"),
        }
    }

    /// A master heard a lower-priority advert, answered or not (`lower_prio_no_advert`): the
    /// `notify_master_rx_lower_pri` script and the `garp_lower_prio_repeat` bursts, as keepalived
    /// runs both either way.
    fn lower_priority_heard(
        &mut self,
        u: Option<usize>,
        unit: &mut Unit,
        notify: Option<String>,
        now: Instant,
    ) {
        // keepalived runs it with the configured arguments only.
        if let Some(line) = notify {
            self.spawn_script(&line, &[], None, None, Purpose::Notify(line.clone()));
        }
        if let Some(u) = u {
            self.lower_prio_first_burst(u, unit, now);
        }
    }

    /// A master heard a lower-priority advert: every member of the unit that is master (a
    /// sync group re-announces as a whole, as keepalived 2.2.7 does) sends its
    /// `garp_lower_prio_repeat` burst now and arms the second one.
    fn lower_prio_first_burst(&mut self, u: usize, unit: &mut Unit, now: Instant) {
        for k in 0..unit.members.len() {
            let Some(garp) = unit.plan.members.get(k).map(|p| p.lower_prio_garp) else {
                continue;
            };
            if queue_announcements(unit, k, garp.repeat) {
                self.announce_member(u, unit, k, now);
                let second = garp.delay.map(|d| now + d);
                self.timers.set(TimerKey::LowerPrioGarp(u, k), second);
            }
        }
    }

    /// `garp_lower_prio_delay` after the first burst: the same again, if still master.
    pub(super) fn lower_prio_second_burst(&mut self, u: usize, m: usize, now: Instant) {
        let Some(mut unit) = self.units.get_mut(u).and_then(Option::take) else {
            return;
        };
        let repeat = unit
            .plan
            .members
            .get(m)
            .map_or(0, |p| p.lower_prio_garp.repeat);
        if queue_announcements(&mut unit, m, repeat) {
            self.announce_member(u, &mut unit, m, now);
        }
        self.units[u] = Some(unit);
    }

    /// Sends one announcement round for a member and schedules the next if spaced.
    pub(super) fn announce_member(&mut self, u: usize, unit: &mut Unit, m: usize, now: Instant) {
        let (Some(plan), Some(member)) = (unit.plan.members.get(m), unit.members.get_mut(m)) else {
            return;
        };
        let spaced = !plan.announce_interval.is_zero();
        while member.announce_left > 0 && member.state == State::Master {
            member.announce_left -= 1;
            for (spec, dev) in plan.vips.iter().zip(&plan.vip_devs) {
                let mac = self.links.get(&spec.ifindex).and_then(|l| l.mac);
                let (Some(a), Some(mac)) = (self.announcer.as_ref(), mac) else {
                    continue;
                };
                match a.announce(spec.ifindex, mac, spec.addr, true) {
                    Ok(()) if spec.addr.is_ipv4() => {
                        tracing::info!("Sending gratuitous ARP on {dev} for {}", spec.addr)
                    }
                    Ok(()) => tracing::info!(
                        "Sending unsolicited Neighbour Advert on {dev} for {}",
                        spec.addr
                    ),
                    Err(e) => self.drops.io_error(dev, &e, now),
                }
            }
            if spaced {
                break;
            }
        }
        let next = (spaced && member.announce_left > 0).then(|| now + plan.announce_interval);
        self.timers.set(TimerKey::Announce(u, m), next);
    }

    pub(super) fn announce_round(&mut self, u: usize, m: usize, now: Instant) {
        let Some(mut unit) = self.units.get_mut(u).and_then(Option::take) else {
            return;
        };
        self.announce_member(u, &mut unit, m, now);
        self.units[u] = Some(unit);
    }

    pub(super) fn notify(
        &mut self,
        scripts: &crate::config::NotifyScripts,
        kind: sys::script::NotifyKind,
        name: &str,
        state: State,
        priority: u8,
    ) {
        let (specific, word) = match state {
            State::Master => (&scripts.master, "MASTER"),
            State::Backup => (&scripts.backup, "BACKUP"),
            State::Fault => (&scripts.fault, "FAULT"),
            State::Initialize => (&scripts.stop, "STOP"),
        };
        if let Some(line) = specific.clone() {
            self.spawn_script(&line, &[], None, None, Purpose::Notify(line.clone()));
        }
        if let Some(line) = scripts.any.clone() {
            let args = sys::script::notify_args(kind, name, word, priority);
            let argv: Vec<&str> = args.iter().map(String::as_str).collect();
            self.spawn_script(&line, &argv, None, None, Purpose::Notify(line.clone()));
        }
    }

    /// Runs the sync group's notify scripts when the group as a whole changed state.
    pub(super) fn group_notify(&mut self, unit: &mut Unit) {
        let (Engine::Group(g), Some(group)) = (&unit.engine, &unit.plan.group) else {
            return;
        };
        let Some(state) = g.state() else { return };
        if unit.group_state == Some(state) {
            return;
        }
        unit.group_state = Some(state);
        if state != State::Initialize {
            tracing::info!("({group}) Sync group entering {state} state");
        }
        let (notify, group) = (unit.plan.group_notify.clone(), group.clone());
        self.notify(&notify, sys::script::NotifyKind::Group, &group, state, 0);
        let global = &self.config.global;
        let mail = self
            .config
            .sync_groups
            .iter()
            .any(|g| g.name == group && global.vrrp_smtp_alert(g.smtp_alert))
            && smtp_alert::mails_about(global, state);
        if mail {
            self.smtp_alert(smtp_alert::Subject::Group(&group), state);
        }
    }

    /// keepalived mails about an instance whose `smtp_alert` (or the global default) says so,
    /// unless its sync group already mails about the group as a whole, and not about FAULT
    /// with `no_email_faults`.
    fn wants_instance_mail(&self, name: &str, state: State) -> bool {
        let global = &self.config.global;
        let own = self
            .config
            .instances
            .iter()
            .any(|i| i.name == name && global.vrrp_smtp_alert(i.smtp_alert));
        let by_group =
            self.config.sync_groups.iter().any(|g| {
                global.vrrp_smtp_alert(g.smtp_alert) && g.members.iter().any(|m| m == name)
            });
        own && !by_group && smtp_alert::mails_about(global, state)
    }

    pub(super) fn spawn_script(
        &mut self,
        line: &str,
        args: &[&str],
        user: Option<&ScriptUser>,
        timeout: Option<Duration>,
        purpose: Purpose,
    ) -> Option<Token> {
        let result = CommandLine::parse(line).and_then(|cmd| {
            let creds = match user.or(self.config.global.script_user.as_ref()) {
                Some(u) => Some(Credentials::lookup(&u.user, u.group.as_deref())?),
                None => None,
            };
            RunningScript::spawn(&cmd, args, creds, timeout)
        });
        let mut script = match result {
            Ok(s) => s,
            Err(e) => {
                tracing::error!("cannot run script {line:?}: {e}");
                return None;
            }
        };
        let token = Token(SCRIPT_BASE + self.next_job);
        self.next_job = (self.next_job + 1) % (usize::MAX - SCRIPT_BASE);
        if let Err(e) = self
            .poll
            .registry()
            .register(&mut script, token, Interest::READABLE)
        {
            tracing::error!("cannot watch script {line:?}: {e}");
            return None;
        }
        self.timers
            .set(TimerKey::ScriptDeadline(token.0), script.deadline());
        self.jobs.insert(token, Job { script, purpose });
        Some(token)
    }

    pub(super) fn on_script_exit(&mut self, token: Token, now: Instant) {
        let Some(job) = self.jobs.get_mut(&token) else {
            return;
        };
        let outcome = match job.script.try_wait() {
            Ok(Some(o)) => o,
            Ok(None) => return,
            Err(e) => {
                tracing::error!("waiting for script {}: {e}", job_name(&job.purpose));
                sys::ExitOutcome::Signaled(0)
            }
        };
        let Some(mut job) = self.jobs.remove(&token) else {
            return;
        };
        let _ = self.poll.registry().deregister(&mut job.script);
        self.timers.cancel(TimerKey::ScriptDeadline(token.0));
        match job.purpose {
            Purpose::Notify(line) => {
                if !outcome.success() {
                    tracing::warn!("notify script {line:?} ended with {outcome:?}");
                }
            }
            Purpose::Track(id) => self.track_script_result(id, token, outcome.success(), now),
        }
    }
}

/// Adds `count` announcements to a master member's queue, with keepalived's log line;
/// `false` (nothing queued) when it is not master or `count` is 0.
fn queue_announcements(unit: &mut Unit, m: usize, count: u32) -> bool {
    let (Some(plan), Some(member)) = (unit.plan.members.get(m), unit.members.get_mut(m)) else {
        return false;
    };
    if count == 0 || member.state != State::Master {
        return false;
    }
    member.announce_left = member.announce_left.saturating_add(count);
    log_queued(plan);
    true
}

/// keepalived's line for a burst about to go out.
fn log_queued(plan: &crate::daemon::plan::InstancePlan) {
    let what = match plan.family {
        Family::V4 => "gratuitous ARPs",
        Family::V6 => "unsolicited neighbour adverts",
    };
    for (spec, dev) in plan.vips.iter().zip(&plan.vip_devs) {
        tracing::info!(
            "({}) Sending/queueing {what} on {dev} for {}",
            plan.name,
            spec.addr
        );
    }
}

pub(super) fn job_name(p: &Purpose) -> String {
    match p {
        Purpose::Notify(line) => line.clone(),
        Purpose::Track(id) => format!("track script {id}"),
    }
}
