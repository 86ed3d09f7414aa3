//! The event loop: one `mio::Poll` for signals, rtnetlink events, the raw VRRP sockets and
//! the scripts' pidfds; one timer heap for the engines' deadlines, script intervals and
//! announcement bursts. Everything the engines say is applied here, in order.
//!
//! * this module: the loop, the receive path, draining an engine;
//! * [`actions`]: events -> VIPs, announcements, logs, notify scripts;
//! * [`tracked`]: interfaces, track scripts and track files;
//! * [`reconcile`]: plan, reload, leftover VIPs, the socket table;
//! * [`statics`]: the `static_ipaddress` entries.

mod actions;
mod operate;
mod reconcile;
mod smtp;
mod statics;
mod tracked;
mod virtual_servers;

use std::collections::HashMap;
use std::io;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Token};
use vrrp_core::wire::Family;
use vrrp_core::{State, TrackerId, TrackerState};

use super::drops::DropLog;
use super::plan::{self, Binding, NetView, Plan, PlanError, TrackKey, TrackerIds, UnitPlan};
use super::signals::{Request, SignalSource};
use super::sys::link::Subscription;
use super::sys::{
    self, Address, Announcer, CommandLine, Credentials, LinkMonitor, LinkState, NetEvent,
    RouteSocket, RunningScript, VrrpSocket,
};
use super::timers::Timers;
use super::tracking::{self, RiseFall};
use super::unit::Engine;
use crate::config::{Config, ScriptUser, TrackFile, VrrpScript};

const SIGNALS: Token = Token(0);
const MONITOR: Token = Token(1);
const SOCKET_BASE: usize = 16;
const SCRIPT_BASE: usize = 1 << 24;

/// How long a stopping daemon waits for its notify_stop scripts.
const STOP_GRACE: Duration = Duration::from_secs(3);
/// Receive buffer: larger than any MTU a VRRP packet can arrive with.
const RX_BUF: usize = 65_536;
/// Consecutive receive errors after which a socket's readiness is left for the next event.
const MAX_RECV_ERRORS: u32 = 16;
/// An advert is at most 8 + 255 * 16 + 8 bytes.
const TX_BUF: usize = 4_200;

/// What a timer wakes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum TimerKey {
    /// An engine's `poll_timeout`.
    Unit(usize),
    /// The next gratuitous ARP round of (unit, member).
    Announce(usize, usize),
    /// The second burst after a lower-priority advert (`garp_lower_prio_delay`) of (unit, member).
    LowerPrioGarp(usize, usize),
    /// Time to run a track script.
    Script(TrackerId),
    /// A running script's timeout (by its token).
    ScriptDeadline(usize),
    /// Time to read a track file.
    File(TrackerId),
    /// An SMTP alert's `smtp_connect_timeout` (by its token).
    Smtp(usize),
    /// Watchdog ping or an operator connection's deadline ([`crate::ops`]).
    Ops,
}

/// One instance inside a running unit.
#[derive(Debug)]
struct Member {
    /// Socket slot adverts go out of.
    socket: usize,
    state: State,
    vips_installed: bool,
    announce_left: u32,
}

/// A running engine with its plan.
#[derive(Debug)]
struct Unit {
    plan: UnitPlan,
    engine: Engine,
    members: Vec<Member>,
    /// The sync group's last common state, for the group's notify scripts.
    group_state: Option<State>,
}

#[derive(Debug)]
struct SocketSlot {
    sock: VrrpSocket,
    /// VRID -> (unit, member): the receive path's demultiplexer, no allocation, no hashing.
    by_vrid: Box<[Option<(u32, u16)>; 256]>,
}

#[derive(Debug)]
enum TrackedKind {
    Interface(String),
    Script {
        def: VrrpScript,
        rise_fall: RiseFall,
        running: Option<Token>,
    },
    File {
        def: TrackFile,
        value: tracking::FileValue,
    },
}

#[derive(Debug)]
struct Tracked {
    key: TrackKey,
    kind: TrackedKind,
}

#[derive(Debug, Clone)]
enum Purpose {
    Track(TrackerId),
    Notify(String),
}

#[derive(Debug)]
struct Job {
    script: RunningScript,
    purpose: Purpose,
}

/// The kernel's view for the planner.
struct KernelView<'a> {
    addrs: &'a [Address],
}

impl NetView for KernelView<'_> {
    fn ifindex(&self, name: &str) -> Option<u32> {
        sys::if_index(name)
    }
    fn addresses(&self) -> &[Address] {
        self.addrs
    }
}

pub struct Runtime {
    poll: Poll,
    signals: SignalSource,
    monitor: LinkMonitor,
    route: RouteSocket,
    announcer: Option<Announcer>,
    config_path: PathBuf,
    config: Config,
    /// What `config` was read from, for a reload that re-reads only what changed; `None`:
    /// every reload is a full one.
    source: Option<crate::config::Source>,
    /// The last load dropped a track file (its directory is missing): `config` no longer
    /// says who tracks it, so the next reload cannot be an in-place one.
    track_files_dropped: bool,
    /// Which virtual servers have scripts without a user, for the default script user.
    script_needs: crate::daemon::script_user::Needs,
    ids: TrackerIds,
    links: HashMap<u32, LinkState>,
    units: Vec<Option<Unit>>,
    sockets: Vec<Option<SocketSlot>>,
    trackers: HashMap<TrackerId, Tracked>,
    jobs: HashMap<Token, Job>,
    next_job: usize,
    timers: Timers<TimerKey>,
    /// Instances that could not start, with why (logged once per change).
    failed: Vec<(String, PlanError)>,
    replan_wanted: bool,
    drops: DropLog,
    rx_buf: Box<[u8]>,
    tx_buf: Box<[u8]>,
    scratch: Vec<(usize, vrrp_core::Event)>,
    dump_path: PathBuf,
    reloads: u64,
    /// Metrics, status socket, systemd notifications ([`crate::ops`]).
    ops: crate::ops::Ops,
    /// Health checks and IPVS ([`virtual_servers`]).
    vs: virtual_servers::Sides,
    /// `smtp_alert` mails being delivered ([`smtp`]).
    smtp: HashMap<Token, smtp::Delivery>,
    next_smtp: usize,
    /// False under `--dont-release-vrrp`: stop leaves the VIPs and sends no priority 0.
    release_on_stop: bool,
    /// `static_ipaddress` entries on their interfaces ([`statics`]).
    statics: Vec<plan::StaticAddress>,
    /// Static addresses that could not be added (logged once until they are).
    statics_failed: Vec<std::net::IpAddr>,
}

impl Runtime {
    pub fn new(
        config_path: PathBuf,
        config: Config,
        source: Option<crate::config::Source>,
    ) -> io::Result<Self> {
        let poll = Poll::new()?;
        let mut signals = SignalSource::new()?;
        signals.register(poll.registry(), SIGNALS)?;
        let (mut monitor, links) = LinkMonitor::open(Subscription::ALL)?;
        poll.registry()
            .register(&mut monitor, MONITOR, Interest::READABLE)?;
        let route = RouteSocket::open()?;
        let announcer = match Announcer::open() {
            Ok(a) => Some(a),
            Err(e) => {
                tracing::error!("cannot open the gratuitous ARP socket: {e}; no announcements");
                None
            }
        };
        let dump_path = std::env::var_os("LBD_DUMP_FILE")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(sys::dump::DEFAULT_PATH));
        let script_needs = crate::daemon::script_user::Needs::of(&config);
        Ok(Self {
            poll,
            signals,
            monitor,
            route,
            announcer,
            config_path,
            config,
            source,
            track_files_dropped: false,
            script_needs,
            ids: TrackerIds::default(),
            links: links.into_iter().map(|l| (l.ifindex, l)).collect(),
            units: Vec::new(),
            sockets: Vec::new(),
            trackers: HashMap::new(),
            jobs: HashMap::new(),
            next_job: 0,
            timers: Timers::default(),
            failed: Vec::new(),
            replan_wanted: false,
            drops: DropLog::default(),
            rx_buf: vec![0; RX_BUF].into_boxed_slice(),
            tx_buf: vec![0; TX_BUF].into_boxed_slice(),
            scratch: Vec::with_capacity(16),
            dump_path,
            reloads: 0,
            ops: crate::ops::Ops::disabled(),
            vs: virtual_servers::Sides::default(),
            smtp: HashMap::new(),
            next_smtp: 0,
            release_on_stop: true,
            statics: Vec::new(),
            statics_failed: Vec::new(),
        })
    }

    /// Runs until SIGTERM/SIGINT; returns after the orderly stop.
    pub fn run(&mut self) -> io::Result<()> {
        self.prepare_track_files(true);
        self.replan(Instant::now());
        self.ops_ready();
        let mut events = Events::with_capacity(256);
        let mut requests = Vec::new();
        loop {
            let now = Instant::now();
            let timeout = [self.timers.next_deadline(), self.vs_deadline()]
                .into_iter()
                .flatten()
                .min()
                .map(|d| d.saturating_duration_since(now));
            crate::daemon::logging::flush();
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            let now = Instant::now();
            for ev in events.iter() {
                match ev.token() {
                    SIGNALS => self.signals.drain(&mut requests),
                    MONITOR => self.on_netlink(now),
                    t if crate::ops::owns(t) => self.on_ops(t, now),
                    t if self.vs_owns(t) => self.on_vs_token(t, now),
                    t if smtp::owns(t) => self.on_smtp(t),
                    Token(t) if t >= SCRIPT_BASE => self.on_script_exit(Token(t), now),
                    Token(t) if t >= SOCKET_BASE => self.on_socket(t - SOCKET_BASE, now),
                    _ => {}
                }
            }
            // Signals before the timers: a reload or a stop does not wait behind the checks
            // that came due (hundreds per loop with tens of thousands of checkers).
            for req in requests.drain(..) {
                match req {
                    Request::Stop => {
                        self.ops.stopping();
                        self.vs_stop();
                        self.stop(now);
                        return Ok(());
                    }
                    Request::Reload => {
                        self.ops.reloading();
                        let reloaded = self.reload(now);
                        self.vs_reload(&reloaded, now);
                        release_free_memory();
                        self.ops_ready();
                    }
                    Request::Dump => self.dump(),
                }
            }
            self.run_timers(now);
            // Handling the batch (IPVS edits, script starts) can take long: checks started now
            // count their connect_timeout from a fresh clock, not from before the batch.
            self.vs_timers(Instant::now());
            if self.replan_wanted {
                self.replan(now);
            }
        }
    }

    fn run_timers(&mut self, now: Instant) {
        // Bounded: an engine that keeps asking for `now` must not starve the sockets.
        for _ in 0..10_000 {
            let Some(key) = self.timers.pop_expired(now) else {
                return;
            };
            match key {
                TimerKey::Unit(u) => {
                    if let Some(unit) = self.units.get_mut(u).and_then(Option::as_mut) {
                        unit.engine.handle_timeout(now);
                    }
                    self.drive(u, now);
                }
                TimerKey::Announce(u, m) => self.announce_round(u, m, now),
                TimerKey::LowerPrioGarp(u, m) => self.lower_prio_second_burst(u, m, now),
                TimerKey::Script(id) => self.run_track_script(id, now),
                TimerKey::ScriptDeadline(t) => {
                    if let Some(job) = self.jobs.get_mut(&Token(t)) {
                        if job.script.check_timeout(now) {
                            tracing::warn!("script {} timed out", actions::job_name(&job.purpose));
                        }
                        self.timers.set(key, job.script.deadline());
                    }
                }
                TimerKey::File(id) => self.poll_track_file(id, now),
                TimerKey::Smtp(t) => self.smtp_timeout(t),
                TimerKey::Ops => self.ops_timer(now),
            }
        }
    }

    fn on_socket(&mut self, slot: usize, now: Instant) {
        // Edge-triggered: read until the socket is empty. An error (e.g. a queued ICMP error)
        // does not mean it is; give up only after several in a row.
        let mut errors = 0;
        loop {
            let Some(Some(s)) = self.sockets.get_mut(slot) else {
                return;
            };
            let pkt = match s.sock.recv(&mut self.rx_buf) {
                Ok(Some(pkt)) => pkt,
                Ok(None) => return,
                Err(e) => {
                    self.drops.io_error(s.sock.ifname(), &e, now);
                    errors += 1;
                    if errors >= MAX_RECV_ERRORS {
                        return;
                    }
                    continue;
                }
            };
            errors = 0;
            let msg = self.rx_buf.get(pkt.payload.clone()).unwrap_or(&[]);
            // Byte 1 is the VRID in both versions; the engine validates everything else.
            let target = msg.get(1).and_then(|vrid| s.by_vrid[usize::from(*vrid)]);
            let Some((u, m)) = target else {
                self.drops
                    .unknown_vrid(s.sock.ifname(), msg.get(1).copied(), now);
                continue;
            };
            let u = u as usize;
            if let Some(unit) = self.units.get_mut(u).and_then(Option::as_mut) {
                unit.engine
                    .handle_packet(now, usize::from(m), pkt.meta(), msg);
            }
            self.drive(u, now);
        }
    }

    /// Sends what unit `u` wants sent, applies its events, re-arms its timer.
    fn drive(&mut self, u: usize, now: Instant) {
        let Some(mut unit) = self.units.get_mut(u).and_then(Option::take) else {
            return;
        };
        self.drive_unit(Some(u), &mut unit, now);
        self.units[u] = Some(unit);
    }

    fn drive_unit(&mut self, u: Option<usize>, unit: &mut Unit, now: Instant) {
        while let Some((m, tx)) = unit.engine.poll_transmit(now, &mut self.tx_buf) {
            let Some(member) = unit.members.get(m) else {
                continue;
            };
            let Some(Some(slot)) = self.sockets.get(member.socket) else {
                continue;
            };
            let payload = self.tx_buf.get(..tx.len).unwrap_or(&[]);
            if let Err(e) = slot.sock.send(tx.dst, Some(tx.src), payload) {
                self.drops.io_error(slot.sock.ifname(), &e, now);
            }
        }
        let mut events = std::mem::take(&mut self.scratch);
        while let Some(ev) = unit.engine.poll_event() {
            events.push(ev);
        }
        for (m, ev) in events.drain(..) {
            self.apply_event(u, unit, m, ev, now);
        }
        self.scratch = events;
        self.group_notify(unit);
        if let Some(u) = u {
            self.timers
                .set(TimerKey::Unit(u), unit.engine.poll_timeout());
        }
    }

    /// keepalived's `--dont-release-vrrp`: a stop leaves every VIP where it is and sends no
    /// priority-0 advert, so that a restart moves nothing (the next run adopts the VIPs).
    pub fn keep_vrrp_on_stop(&mut self) {
        self.release_on_stop = false;
    }

    /// SIGTERM/SIGINT: every router sends priority 0 and releases its VIPs, notify_stop runs.
    fn stop(&mut self, now: Instant) {
        tracing::info!("Stopping");
        if !self.release_on_stop {
            tracing::info!("--dont-release-vrrp: leaving the VIPs in place, no priority 0 sent");
            // keepalived 2.2.7 removes its static addresses even then.
            self.remove_statics();
            return;
        }
        for u in 0..self.units.len() {
            if let Some(unit) = self.units[u].as_mut() {
                unit.engine.shutdown(now);
            }
            self.drive(u, now);
        }
        // After the priority-0 adverts, which may be sent from a static address.
        self.remove_statics();
        // Give notify scripts (notify_stop among them) a bounded time to finish.
        let deadline = Instant::now() + STOP_GRACE;
        let mut events = Events::with_capacity(64);
        let notify_running = |jobs: &HashMap<Token, Job>| {
            jobs.values()
                .any(|j| matches!(j.purpose, Purpose::Notify(_)))
        };
        while notify_running(&self.jobs) {
            let now = Instant::now();
            if now >= deadline {
                tracing::warn!("notify scripts still running at exit; killing them");
                break;
            }
            crate::daemon::logging::flush();
            if self.poll.poll(&mut events, Some(deadline - now)).is_err() {
                break;
            }
            let now = Instant::now();
            for ev in events.iter() {
                if ev.token().0 >= SCRIPT_BASE {
                    self.on_script_exit(ev.token(), now);
                }
            }
        }
        tracing::info!("Stopped");
    }

    fn dump(&mut self) {
        let value = crate::daemon::dump::snapshot(
            self.instance_views(),
            &self.drops,
            self.reloads,
            &self.config_path,
        );
        match sys::write_json(&self.dump_path, &value) {
            Ok(()) => tracing::info!("State dumped to {}", self.dump_path.display()),
            Err(e) => tracing::error!("cannot write state dump: {e}"),
        }
    }

    fn instance_views(&self) -> Vec<crate::daemon::dump::InstanceView<'_>> {
        let mut out = Vec::new();
        for unit in self.units.iter().flatten() {
            for (m, plan) in unit.plan.members.iter().enumerate() {
                let (Some(router), Some(member)) = (unit.engine.member(m), unit.members.get(m))
                else {
                    continue;
                };
                let socket = self.sockets.get(member.socket).and_then(Option::as_ref);
                out.push(crate::daemon::dump::InstanceView {
                    plan,
                    router,
                    vips_installed: member.vips_installed,
                    ip_malformed: socket.map_or(0, |s| s.sock.malformed()),
                });
            }
        }
        out
    }
}

/// Hands the heap's free pages back to the kernel. Loading a configuration and building
/// the virtual servers allocate several times what stays (at 40,000 checkers the parse
/// alone peaks near 50 MB) and glibc keeps what was freed inside the heap resident; after
/// a start or a reload the daemon idles at its live size instead. A few milliseconds,
/// only after those two.
pub(crate) fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free memory to the kernel; it has no precondition.
    unsafe {
        libc::malloc_trim(0);
    }
}
