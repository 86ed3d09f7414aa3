//! One virtual router (keepalived's `vrrp_instance`): the RFC 5798 §6.4 state machine.
//!
//! Sans-IO in the quinn-proto style: the caller feeds packets ([`VirtualRouter::handle_packet`]),
//! timer expiries ([`VirtualRouter::handle_timeout`]) and tracker changes
//! ([`VirtualRouter::set_tracker`]), always with the current [`Instant`]; it then drains
//! [`VirtualRouter::poll_transmit`] and [`VirtualRouter::poll_event`] and sleeps until
//! [`VirtualRouter::poll_timeout`]. Nothing here reads a clock, opens a socket or allocates on the
//! packet path.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::config::{InitialState, Preempt, RouterConfig};
use crate::event::{DropReason, Event, Reason, State, Stats, Transmit};
use crate::timing::DownTimers;
use crate::track::{TrackerId, TrackerState, Trackers, UnknownTracker};
use crate::wire::{
    self, AdvertRepr, AdvertTemplate, PeerAdvert, RxError, RxMeta, RxPolicy, Version, WireError,
};

/// The master we currently follow, as last heard by a backup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerMaster {
    /// Source (primary) address of its adverts.
    pub addr: IpAddr,
    pub priority: u8,
}

/// An advert waiting to be written, one destination at a time.
#[derive(Debug, Clone, Copy)]
struct PendingAdvert {
    priority: u8,
    next_dst: usize,
}

/// What a [`SyncGroup`](crate::SyncGroup) needs from its members. Outside a group, `member` is
/// false and the other fields stay false.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SyncRole {
    /// Transitions to MASTER and out of FAULT are decided by the group.
    pub(crate) member: bool,
    /// The master-down timer fired (or we own the addresses): we would be master on our own.
    pub(crate) wants_master: bool,
    /// We left MASTER for BACKUP since the group last looked.
    pub(crate) left_master: bool,
}

/// One VRRP virtual router. See the [crate documentation](crate) for a complete example.
#[derive(Debug)]
pub struct VirtualRouter {
    cfg: RouterConfig,
    state: State,
    trackers: Trackers,
    /// Effective priority (base + tracker weights).
    priority: u8,
    /// v3: the interval the current master advertises (v2 and master: ours), with the timers
    /// derived from it and `priority`.
    timers: DownTimers,
    master: Option<PeerMaster>,
    adver_timer: Option<Instant>,
    master_down_timer: Option<Instant>,
    /// Reported when the master-down timer fires: a timeout, or the tail of a priority-0 handover.
    down_reason: Reason,
    /// `preempt_delay`: lower-priority adverts are honoured until then.
    preempt_deadline: Option<Instant>,
    garp_delay_at: Option<Instant>,
    garp_refresh_at: Option<Instant>,
    /// The earlier of the two GARP timers: what a master's timeout and `rearm` look at, so that
    /// the common master (neither armed) pays one check instead of two.
    garp_at: Option<Instant>,
    tx: Option<PendingAdvert>,
    /// `cfg.advert_interval()`, converted from centiseconds once: a master adds it to the
    /// clock at every advert.
    advert_interval: Duration,
    /// Our advert, encoded once: nothing in it but the priority and the destination can change
    /// while the router runs (the configuration is immutable), so `poll_transmit` copies it.
    /// An error here (a configuration the codec cannot encode) is reported at each send.
    template: Result<AdvertTemplate, WireError>,
    /// The advert a peer configured like us sends (v3): most received adverts are accepted by
    /// comparing with it, before the validation that works from the policy.
    peer_advert: Option<PeerAdvert>,
    /// The earliest armed timer, kept by [`VirtualRouter::rearm`] after every input so that
    /// [`VirtualRouter::poll_timeout`], called after each of them, is a read.
    next_timeout: Option<Instant>,
    events: VecDeque<Event>,
    stats: Stats,
    last_tx: Option<Instant>,
    pub(crate) sync: SyncRole,
}

impl VirtualRouter {
    /// Starts the router at `now`. It leaves INIT at once, as RFC 5798 §6.4.1 prescribes on
    /// Startup: to MASTER if it owns the addresses (priority 255), to FAULT if a weight-0 tracker
    /// starts down, else to BACKUP. The first events describe that transition.
    pub fn new(cfg: RouterConfig, now: Instant) -> Self {
        Self::start(cfg, now, false)
    }

    pub(crate) fn new_grouped(cfg: RouterConfig, now: Instant) -> Self {
        Self::start(cfg, now, true)
    }

    fn start(cfg: RouterConfig, now: Instant, grouped: bool) -> Self {
        let trackers = Trackers::new(&cfg.trackers);
        let priority = trackers.effective_priority(cfg.priority);
        let timers = DownTimers::new(cfg.version, priority, cfg.interval_cs);
        let template = AdvertTemplate::new(
            &AdvertRepr {
                version: cfg.version,
                vrid: cfg.vrid,
                priority,
                interval_cs: cfg.interval_cs,
                auth: cfg.auth,
                addresses: &cfg.vips,
            },
            cfg.primary,
        )
        .and_then(|t| t.with_group(cfg.destination_group()));
        let advert_interval = cfg.advert_interval();
        let mut router = VirtualRouter {
            cfg,
            state: State::Initialize,
            trackers,
            priority,
            timers,
            master: None,
            adver_timer: None,
            master_down_timer: None,
            down_reason: Reason::AdvertTimeout,
            preempt_deadline: None,
            garp_delay_at: None,
            garp_refresh_at: None,
            garp_at: None,
            tx: None,
            advert_interval,
            template,
            peer_advert: None,
            next_timeout: None,
            events: VecDeque::new(),
            stats: Stats::default(),
            last_tx: None,
            sync: SyncRole {
                member: grouped,
                ..SyncRole::default()
            },
        };
        router.peer_advert = PeerAdvert::new(&router.rx_policy());
        if let Some(id) = router.trackers.fault() {
            router.enter_fault(Reason::Fault(id));
        } else if router.cfg.is_owner() && !grouped {
            router.become_master(now, Reason::Startup);
        } else {
            router.enter_backup(now, Reason::Startup);
            if router.cfg.is_owner() {
                // In a group the owner still needs the group's consent: ask at once.
                router.master_down_timer = Some(now);
            } else if router.cfg.initial == InitialState::Master {
                // keepalived 2.x: `state MASTER` waits one interval (plus skew), not three.
                router.master_down_timer = Some(now + router.timers.interval + router.timers.skew);
            }
        }
        router.rearm();
        router
    }

    /// The configuration this router runs.
    pub fn config(&self) -> &RouterConfig {
        &self.cfg
    }
    pub fn state(&self) -> State {
        self.state
    }
    /// Effective priority: base priority plus tracker weights, 1..=254 (255 for the owner).
    pub fn priority(&self) -> u8 {
        self.priority
    }
    /// The master a backup follows, if it has heard one since it became backup.
    pub fn master(&self) -> Option<PeerMaster> {
        self.master
    }
    /// The interval the current master advertises (v3 adopts it, RFC 5798 §6.4.2).
    pub fn master_adver_interval(&self) -> Duration {
        self.timers.interval
    }
    /// Skew_Time for our effective priority and the current master interval.
    pub fn skew(&self) -> Duration {
        self.timers.skew
    }
    /// Master_Down_Interval for our effective priority and the current master interval.
    pub fn master_down_interval(&self) -> Duration {
        self.timers.master_down
    }
    pub fn stats(&self) -> Stats {
        self.stats
    }
    /// When `poll_transmit` last wrote an advert.
    pub fn last_transmit(&self) -> Option<Instant> {
        self.last_tx
    }
    /// Last reported state of a tracker.
    pub fn tracker(&self, id: TrackerId) -> Option<TrackerState> {
        self.trackers.get(id)
    }

    /// Processes one received VRRP message (the IP payload) with what the IP layer told us.
    ///
    /// The message is validated by [`wire::validate`] without allocating;
    /// a rejected packet produces [`Event::Dropped`].
    pub fn handle_packet(&mut self, now: Instant, meta: RxMeta, msg: &[u8]) {
        self.on_packet(now, meta, msg);
        self.rearm();
    }

    fn on_packet(&mut self, now: Instant, meta: RxMeta, msg: &[u8]) {
        if !matches!(self.state, State::Backup | State::Master) {
            self.stats.ignored += 1;
            return;
        }
        if meta.src == self.cfg.primary {
            self.dropped(DropReason::OwnAdvert);
            return;
        }
        let accepted = match &self.peer_advert {
            Some(peer) => peer.accept(msg, &meta),
            None => None,
        };
        let (priority, interval_cs) = match accepted {
            Some(header) => (header.priority(), header.v3_interval_cs()),
            None => match self.validate(msg, &meta) {
                Ok(fields) => fields,
                Err(e) => {
                    self.dropped(DropReason::Invalid(e));
                    return;
                }
            },
        };
        self.stats.adverts_rx += 1;
        if priority == 0 {
            self.stats.priority_zero_rx += 1;
        }
        // Backup or master (checked above); a comparison rather than a `match`, whose jump
        // table costs more than the branch on the per-advert path.
        if self.state == State::Backup {
            self.backup_rx(now, meta.src, priority, interval_cs);
        } else {
            self.master_rx(now, meta.src, priority, interval_cs);
        }
    }

    /// [`wire::validate`] for the adverts [`PeerAdvert`] does not take (v2, another order of
    /// the VIPs, the `skip_check_adv_addr` case, a rejection...), returning the priority and
    /// the interval. Out of line: in a running segment it is the rare case.
    #[inline(never)]
    fn validate(&self, msg: &[u8], meta: &RxMeta) -> Result<(u8, u16), RxError> {
        let policy = self.rx_policy();
        let header = wire::accept_v3_header(msg, meta, &policy);
        match header {
            Some(header) => Ok((header.priority(), header.v3_interval_cs())),
            None => wire::validate_in_full(msg, meta, &policy)
                .map(|advert| (advert.priority(), advert.interval_cs())),
        }
    }

    /// What [`wire::validate`] is to check an advert against.
    fn rx_policy(&self) -> RxPolicy<'_> {
        RxPolicy {
            version: self.cfg.version,
            vrid: self.cfg.vrid,
            family: self.cfg.family,
            auth: self.cfg.auth,
            interval_cs: self.cfg.interval_cs,
            addresses: &self.cfg.vips,
            skip_check_adv_addr: self.cfg.skip_check_adv_addr,
            last_master: self.master.map(|m| m.addr),
            unicast: !self.cfg.unicast_peers.is_empty(),
        }
    }

    /// RFC 5798 §6.4.2, with keepalived's `nopreempt` and `preempt_delay`.
    fn backup_rx(&mut self, now: Instant, src: IpAddr, priority: u8, interval_cs: u16) {
        if priority == 0 {
            // The master is leaving: take over after Skew_Time, so the highest backup wins.
            self.master_down_timer = Some(now + self.skew());
            self.down_reason = Reason::PriorityZero;
            self.master = None;
            return;
        }
        if priority > self.priority {
            self.preempt_deadline = None;
        }
        // Only a lower priority can be preempted: the common advert, from a better master,
        // skips the configuration.
        let preempt = priority < self.priority
            && match self.cfg.preempt {
                Preempt::Disabled => false,
                Preempt::Enabled { delay } if delay.is_zero() => true,
                Preempt::Enabled { delay } => match self.preempt_deadline {
                    Some(deadline) => now >= deadline,
                    None => {
                        self.preempt_deadline = Some(now + delay);
                        false
                    }
                },
            };
        if preempt {
            // Discard: our master-down timer keeps running and we take over when it fires.
            return;
        }
        self.adopt_interval(interval_cs);
        self.master_down_timer = Some(now + self.master_down_interval());
        self.down_reason = Reason::AdvertTimeout;
        self.master = Some(PeerMaster {
            addr: src,
            priority,
        });
        self.sync.wants_master = false;
    }

    /// RFC 5798 §6.4.3, plus keepalived's immediate re-assertion against a lower priority
    /// (unless `lower_prio_no_advert`) and its parting advert (`higher_prio_send_advert`).
    #[cold]
    fn master_rx(&mut self, now: Instant, src: IpAddr, priority: u8, interval_cs: u16) {
        if priority == 0 {
            self.send_advert_now(now);
            self.events.push_back(Event::AdvertForced {
                reason: Reason::PriorityZero,
                from: src,
            });
            return;
        }
        let reason = if priority > self.priority {
            Reason::HigherPriorityAdvert
        } else if priority == self.priority && src > self.cfg.primary {
            Reason::EqualPriorityHigherAddress
        } else if self.cfg.lower_prio_no_advert {
            // RFC 5798: discard. Our advert timer is left alone, as keepalived leaves it.
            self.events
                .push_back(Event::LowerPriorityUnanswered { from: src });
            return;
        } else {
            // A peer believes it is master with a lower priority (split brain healing, or its
            // priority dropped): answer now instead of letting it run until our next advert.
            self.send_advert_now(now);
            self.events.push_back(Event::AdvertForced {
                reason: Reason::LowerPriorityAdvert,
                from: src,
            });
            return;
        };
        if self.cfg.higher_prio_send_advert {
            self.events
                .push_back(Event::AdvertForced { reason, from: src });
        }
        self.adopt_interval(interval_cs);
        self.master = Some(PeerMaster {
            addr: src,
            priority,
        });
        self.become_backup(now, reason);
        if self.cfg.higher_prio_send_advert {
            // After the transition, which cancels what a master had pending: one advert at our
            // priority, and no advert timer (we are a backup now).
            self.tx = Some(PendingAdvert {
                priority: self.priority,
                next_dst: 0,
            });
        }
    }

    fn adopt_interval(&mut self, interval_cs: u16) {
        if self.cfg.version == Version::V3 && interval_cs > 0 {
            self.set_interval(interval_cs);
        }
    }

    fn set_interval(&mut self, interval_cs: u16) {
        if interval_cs != self.timers.interval_cs {
            self.timers = DownTimers::new(self.cfg.version, self.priority, interval_cs);
        }
    }

    /// Runs the timers that are due at `now`. Calling it early is harmless.
    #[inline]
    pub fn handle_timeout(&mut self, now: Instant) {
        // Inlined into the caller, like poll_transmit: an early call costs a comparison.
        if due(self.next_timeout, now) {
            self.run_timers(now);
        }
    }

    #[inline(never)]
    fn run_timers(&mut self, now: Instant) {
        self.on_timeout(now);
        self.rearm();
    }

    fn on_timeout(&mut self, now: Instant) {
        // Comparisons rather than a `match` (see on_packet); a master's advert timer first.
        if self.state == State::Master {
            if due(self.adver_timer, now) {
                self.send_advert_now(now);
            }
            if due(self.garp_at, now) {
                self.garp_timeouts(now);
            }
        } else if self.state == State::Backup && due(self.master_down_timer, now) {
            self.master_down(now);
        }
    }

    /// A backup's master-down timer fired.
    #[cold]
    fn master_down(&mut self, now: Instant) {
        if self.sync.member {
            // The group decides; keep the timer armed like keepalived does while the other
            // members are not ready.
            self.sync.wants_master = true;
            self.master_down_timer = Some(now + self.master_down_interval());
        } else {
            self.become_master(now, self.down_reason);
        }
    }

    /// The GARP timers of a master: armed for a few seconds after it takes over, or all along
    /// with `garp_master_refresh`; out of line, as most adverts find neither due.
    #[cold]
    fn garp_timeouts(&mut self, now: Instant) {
        if due(self.garp_delay_at, now) {
            self.garp_delay_at = None;
            self.announce(self.cfg.garp.master_repeat);
        }
        if due(self.garp_refresh_at, now) {
            self.garp_refresh_at = self.cfg.garp.refresh.map(|every| now + every);
            self.announce(self.cfg.garp.refresh_repeat);
        }
        self.garp_at = earliest(self.garp_delay_at, self.garp_refresh_at);
    }

    /// Records a tracker change reported by the caller and applies its consequences: a new
    /// effective priority ([`Event::PriorityChanged`]), or entering/leaving FAULT for weight-0
    /// trackers.
    pub fn set_tracker(
        &mut self,
        now: Instant,
        id: TrackerId,
        state: TrackerState,
    ) -> Result<(), UnknownTracker> {
        if !self.trackers.set(id, state)? {
            return Ok(());
        }
        self.on_tracker_change(now);
        self.rearm();
        Ok(())
    }

    /// Reports a weighted value for tracker `id` (keepalived's `track_file`): it adds
    /// `weight * value` to the priority; weight 0 with a non-zero value, or a product below
    /// -253, is FAULT. [`Self::set_tracker`] returns the tracker to up/down.
    pub fn set_tracker_value(
        &mut self,
        now: Instant,
        id: TrackerId,
        value: i32,
    ) -> Result<(), UnknownTracker> {
        if !self.trackers.set_value(id, value)? {
            return Ok(());
        }
        self.on_tracker_change(now);
        self.rearm();
        Ok(())
    }

    fn on_tracker_change(&mut self, now: Instant) {
        let old = self.priority;
        self.priority = self.trackers.effective_priority(self.cfg.priority);
        if old != self.priority {
            // Skew_Time depends on the priority.
            self.timers = DownTimers::new(self.cfg.version, self.priority, self.timers.interval_cs);
            self.events.push_back(Event::PriorityChanged {
                from: old,
                to: self.priority,
            });
        }
        match (self.trackers.fault(), self.state) {
            (Some(id), State::Backup | State::Master) => self.enter_fault(Reason::Fault(id)),
            (None, State::Fault) if !self.sync.member => {
                self.leave_fault(now, Reason::FaultRecovered)
            }
            _ => {}
        }
    }

    /// Stops the router: a master releases its addresses and sends priority 0 so a backup takes
    /// over after Skew_Time instead of Master_Down_Interval (RFC 5798 §6.4.3). Drain
    /// `poll_transmit` afterwards to send that advert. Stopping arms no timer, so `now` is not
    /// needed today; it is taken so every input of the engine carries the time.
    pub fn shutdown(&mut self, _now: Instant) {
        if self.state == State::Initialize {
            return;
        }
        self.leave_state(State::Initialize, Reason::Shutdown);
        self.rearm();
    }

    /// When `handle_timeout` must be called next.
    #[inline]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.next_timeout
    }

    /// Recomputes [`VirtualRouter::next_timeout`]; every input ends with it.
    #[inline]
    fn rearm(&mut self) {
        // Only the timers of the current state are ever armed; look at those alone (with
        // comparisons: see on_packet).
        self.next_timeout = if self.state == State::Backup {
            self.master_down_timer
        } else if self.state == State::Master {
            match self.garp_at {
                // The steady state of a master: its advert timer alone.
                None => self.adver_timer,
                garp => earliest(self.adver_timer, garp),
            }
        } else {
            None
        };
    }

    /// Writes the next pending advert into `buf` (one per unicast peer, or one to the multicast
    /// group). Call until it returns `None`.
    #[inline]
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<Transmit> {
        // Inlined into the caller: the drain loop's last call, with nothing pending, costs a
        // load and a branch instead of a call.
        let pending = self.tx?;
        if !self.cfg.unicast_peers.is_empty() {
            return self.write_unicast(pending, now, buf);
        }
        // The addresses are the router's own: built here, in the caller, rather than passed
        // back through memory.
        let len = self.write_to_group(pending, now, buf)?;
        Some(Transmit {
            src: self.cfg.primary,
            dst: self.cfg.destination_group(),
            len,
        })
    }

    /// The advert to the group (one copy and two patched fields, see
    /// [`AdvertTemplate::emit_to_group`]); its length.
    #[inline(never)]
    fn write_to_group(
        &mut self,
        pending: PendingAdvert,
        now: Instant,
        buf: &mut [u8],
    ) -> Option<usize> {
        self.tx = None;
        let sent = match &self.template {
            Ok(template) => template.emit_to_group(pending.priority, buf),
            Err(e) => Err(*e),
        };
        self.sent(sent, pending.priority, now)
    }

    /// The advert to the next unicast peer of `pending`.
    fn write_unicast(
        &mut self,
        pending: PendingAdvert,
        now: Instant,
        buf: &mut [u8],
    ) -> Option<Transmit> {
        let peers = &self.cfg.unicast_peers;
        let Some(&dst) = peers.get(pending.next_dst) else {
            self.tx = None;
            return None;
        };
        let next_dst = pending.next_dst + 1;
        self.tx = (next_dst < peers.len()).then_some(PendingAdvert {
            next_dst,
            ..pending
        });
        let sent = match &self.template {
            Ok(template) => template.emit(pending.priority, dst, buf),
            Err(e) => Err(*e),
        };
        let len = self.sent(sent, pending.priority, now)?;
        Some(Transmit {
            src: self.cfg.primary,
            dst,
            len,
        })
    }

    /// Accounts for an advert written (or not); its length.
    #[inline]
    fn sent(
        &mut self,
        sent: Result<usize, WireError>,
        priority: u8,
        now: Instant,
    ) -> Option<usize> {
        match sent {
            Ok(len) => {
                self.stats.adverts_tx += 1;
                if priority == 0 {
                    self.stats.priority_zero_tx += 1;
                }
                self.last_tx = Some(now);
                Some(len)
            }
            Err(e) => {
                self.transmit_failed(e);
                None
            }
        }
    }

    /// The next event, in the order they happened.
    #[inline]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    // --- transitions -------------------------------------------------------------------------
    //
    // Marked `#[cold]`, like the drop path and a master hearing another router: they run once
    // per role change, and kept out of line they leave the per-advert paths (`handle_packet`
    // on a backup, `handle_timeout` + `poll_transmit` on a master) small enough to keep their
    // state in registers.

    #[cold]
    fn become_master(&mut self, now: Instant, reason: Reason) {
        let from = self.state;
        self.state = State::Master;
        self.stats.became_master += 1;
        self.events.push_back(Event::StateChanged {
            from,
            to: State::Master,
            reason,
        });
        self.events.push_back(Event::AddVips);
        self.announce(self.cfg.garp.master_repeat);
        self.master_down_timer = None;
        self.preempt_deadline = None;
        self.master = None;
        self.sync.wants_master = false;
        self.set_interval(self.cfg.interval_cs);
        self.send_advert_now(now);
        self.garp_delay_at = self.cfg.garp.master_delay.map(|d| now + d);
        self.garp_refresh_at = self.cfg.garp.refresh.map(|d| now + d);
        self.garp_at = earliest(self.garp_delay_at, self.garp_refresh_at);
    }

    #[cold]
    fn become_backup(&mut self, now: Instant, reason: Reason) {
        let was_master = self.state == State::Master;
        self.leave_state(State::Backup, reason);
        if was_master {
            self.sync.left_master = true;
        }
        self.master_down_timer = Some(now + self.master_down_interval());
        self.down_reason = Reason::AdvertTimeout;
    }

    /// From INIT (startup) or FAULT (recovery): listen with a fresh timer at our own interval.
    #[cold]
    fn enter_backup(&mut self, now: Instant, reason: Reason) {
        self.set_interval(self.cfg.interval_cs);
        self.leave_state(State::Backup, reason);
        let down = if self.cfg.is_owner() {
            self.timers.interval + self.timers.skew
        } else {
            self.master_down_interval()
        };
        self.master_down_timer = Some(now + down);
        self.down_reason = Reason::AdvertTimeout;
    }

    fn enter_fault(&mut self, reason: Reason) {
        self.leave_state(State::Fault, reason);
    }

    fn leave_fault(&mut self, now: Instant, reason: Reason) {
        if self.state == State::Fault {
            self.enter_backup(now, reason);
        }
    }

    /// Common exit path: a master releases its addresses (and, unless it yields to a better
    /// master, tells the backups with priority 0); all timers of the old state are cancelled.
    #[cold]
    fn leave_state(&mut self, to: State, reason: Reason) {
        let from = self.state;
        if from == State::Master {
            self.stats.released_master += 1;
            self.events.push_back(Event::RemoveVips);
            self.tx = (to != State::Backup).then_some(PendingAdvert {
                priority: 0,
                next_dst: 0,
            });
        }
        self.state = to;
        self.events
            .push_back(Event::StateChanged { from, to, reason });
        self.adver_timer = None;
        self.master_down_timer = None;
        self.garp_delay_at = None;
        self.garp_refresh_at = None;
        self.garp_at = None;
        self.preempt_deadline = None;
        self.sync.wants_master = false;
        if to != State::Backup {
            self.master = None;
        }
    }

    fn send_advert_now(&mut self, now: Instant) {
        self.tx = Some(PendingAdvert {
            priority: self.priority,
            next_dst: 0,
        });
        self.adver_timer = Some(now + self.advert_interval);
    }

    fn announce(&mut self, count: u32) {
        if count > 0 {
            self.events.push_back(Event::Announce { count });
        }
    }

    #[cold]
    fn transmit_failed(&mut self, e: WireError) {
        self.tx = None;
        self.events.push_back(Event::TransmitFailed(e));
    }

    #[cold]
    fn dropped(&mut self, reason: DropReason) {
        self.stats.dropped += 1;
        self.events.push_back(Event::Dropped(reason));
    }

    // --- sync group hooks --------------------------------------------------------------------

    /// A weight-0 tracker of this member is down.
    pub(crate) fn own_fault(&self) -> bool {
        self.trackers.fault().is_some()
    }

    pub(crate) fn force_fault(&mut self) {
        if matches!(self.state, State::Backup | State::Master) {
            self.enter_fault(Reason::SyncGroup);
            self.rearm();
        }
    }

    pub(crate) fn release_fault(&mut self, now: Instant) {
        self.leave_fault(now, Reason::FaultRecovered);
        self.rearm();
    }

    pub(crate) fn force_backup(&mut self, now: Instant) {
        if self.state == State::Master {
            self.become_backup(now, Reason::SyncGroup);
            self.rearm();
        }
    }

    pub(crate) fn force_master(&mut self, now: Instant) {
        if self.state == State::Backup {
            let reason = if self.sync.wants_master {
                self.down_reason
            } else {
                Reason::SyncGroup
            };
            self.become_master(now, reason);
            self.rearm();
        }
    }
}

/// The earlier of two optional deadlines.
fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

fn due(timer: Option<Instant>, now: Instant) -> bool {
    timer.is_some_and(|t| t <= now)
}
