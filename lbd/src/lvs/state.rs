//! keepalived 2.2.7's health semantics for virtual servers, as a pure state machine.
//!
//! The rules follow keepalived's check daemon (`ipwrapper.c`):
//! - a real server is alive when none of its checkers has failed; one with no checker is
//!   always alive;
//! - a checker in alpha mode starts failed (the server stays out until a first success);
//!   otherwise it starts up;
//! - a dead server leaves IPVS, or stays at weight 0 with `inhibit_on_failure`;
//! - the quorum is the sum of the weights of the live servers; it is gained at
//!   `quorum + hysteresis` and lost below `quorum - hysteresis` (or at 0). Losing it runs
//!   `quorum_down` and swaps the live servers for the `sorry_server`; gaining it undoes that;
//! - `omega`: removing the service at shutdown also runs the down scripts;
//! - MISC_CHECK `misc_dynamic` changes the effective weight;
//! - each FILE_CHECK adds its file's weighted value to it, or fails ([`super::file_check`]).
//!
//! Rather than replaying keepalived's individual add/delete calls, the machine derives the
//! destinations of each service from its state ([`Lvs::table`]) and every change is the
//! diff between the table before and after, so requests are minimal by construction
//! (one weight change is one `SetDest`).

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;

use healthcheck::{Change, HealthEvent};
use ipvs_sys::{diff, Dest, Request, Table};

use super::desired::{RsSpec, VsSpec};
use super::file_check::Verdict;
use super::mail::{CheckTag, MailEvent, MailWhat};

/// The largest weight IPVS takes from keepalived (its `IPVS_WEIGHT_MAX`).
pub const WEIGHT_MAX: u32 = 65535;

/// Which checker of which real server of which virtual server (indexes in configuration
/// order). It packs into the `u64` subscription id the healthcheck runtime echoes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CheckerRef {
    /// Index of the virtual server; below 2^24.
    pub vs: u32,
    /// Index of the real server in its virtual server; below 2^24.
    pub rs: u32,
    pub checker: u16,
}

impl CheckerRef {
    const MAX_INDEX: u32 = (1 << 24) - 1;

    /// The subscription id for [`healthcheck::Subscription`]; `None` if an index does not fit.
    pub fn to_id(self) -> Option<u64> {
        if self.vs > Self::MAX_INDEX || self.rs > Self::MAX_INDEX {
            return None;
        }
        Some((u64::from(self.vs) << 40) | (u64::from(self.rs) << 16) | u64::from(self.checker))
    }

    pub fn from_id(id: u64) -> Self {
        CheckerRef {
            vs: ((id >> 40) as u32) & Self::MAX_INDEX,
            rs: ((id >> 16) as u32) & Self::MAX_INDEX,
            checker: id as u16,
        }
    }
}

/// Why a script is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScriptCause {
    /// A real server's `notify_up`.
    RealServerUp,
    /// A real server's `notify_down`.
    RealServerDown,
    QuorumUp,
    QuorumDown,
}

/// Something the daemon must do besides programming IPVS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// A log line, worded as keepalived words it.
    Log(String),
    /// Run this command (keepalived runs notify scripts without arguments).
    Script { command: String, cause: ScriptCause },
    /// Something keepalived may send an `smtp_alert` about ([`super::mail`] decides).
    Mail(MailEvent),
}

/// The outcome of one input: what to tell and what to send to IPVS, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Update {
    pub notices: Vec<Notice>,
    pub requests: Vec<Request>,
}

impl Update {
    /// The log lines alone.
    pub fn logs(&self) -> Vec<&str> {
        self.notices
            .iter()
            .filter_map(|n| match n {
                Notice::Log(l) => Some(l.as_str()),
                Notice::Script { .. } | Notice::Mail(_) => None,
            })
            .collect()
    }
}

/// An input that names nothing this machine knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    #[error("no checker {0:?}")]
    UnknownChecker(CheckerRef),
    #[error("no real server {rs} in virtual server {vs}")]
    UnknownRealServer { vs: u32, rs: u32 },
    #[error("too many virtual or real servers to number their checkers")]
    TooLarge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct CheckState {
    pub(super) up: bool,
    /// Has reported at least once (keepalived's `has_run`).
    pub(super) has_run: bool,
    /// What a FILE_CHECK adds to the real server's weight while up (keepalived's
    /// `cur_weight`); 0 for the other checkers.
    pub(super) offset: i32,
}

/// A real server's checker states, used as a slice. Nearly always one checker: kept
/// inline then, as a `Vec` each was one more allocation per real server (1.3 MB at 40,000).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum CheckStates {
    One(CheckState),
    /// None, or several.
    Many(Vec<CheckState>),
}

impl std::ops::Deref for CheckStates {
    type Target = [CheckState];
    fn deref(&self) -> &[CheckState] {
        match self {
            CheckStates::One(c) => std::slice::from_ref(c),
            CheckStates::Many(v) => v,
        }
    }
}

impl std::ops::DerefMut for CheckStates {
    fn deref_mut(&mut self) -> &mut [CheckState] {
        match self {
            CheckStates::One(c) => std::slice::from_mut(c),
            CheckStates::Many(v) => v,
        }
    }
}

impl FromIterator<CheckState> for CheckStates {
    fn from_iter<I: IntoIterator<Item = CheckState>>(iter: I) -> Self {
        let mut v: Vec<CheckState> = iter.into_iter().collect();
        match (v.pop(), v.is_empty()) {
            (Some(c), true) => CheckStates::One(c),
            (Some(c), false) => {
                v.push(c);
                CheckStates::Many(v)
            }
            (None, _) => CheckStates::Many(v),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RsState {
    pub(super) checkers: CheckStates,
    /// keepalived's `ISALIVE(rs)`.
    pub(super) alive: bool,
    /// The weight configured, or as set by a dynamic checker; the FILE_CHECK offsets of
    /// [`RsState::checkers`] come on top ([`RsState::effective`]).
    pub(super) weight: u32,
}

impl RsState {
    pub(super) fn fresh(spec: &RsSpec) -> Self {
        RsState {
            checkers: spec
                .checkers
                .iter()
                .map(|c| CheckState {
                    up: !c.alpha,
                    has_run: false,
                    offset: 0,
                })
                .collect(),
            alive: false,
            weight: spec.dest.weight,
        }
    }

    pub(super) fn failed(&self) -> usize {
        self.checkers.iter().filter(|c| !c.up).count()
    }

    /// keepalived's `migrate_checkers`: across a reload, checkers that have not reported
    /// (new ones, or ones restarted) start failed in alpha mode if the server is already
    /// failing (or was never seen up); otherwise they do not pull a live server out.
    pub(super) fn pessimistic(&self) -> bool {
        let failing = self.checkers.iter().any(|c| c.has_run && !c.up);
        let none_run = !self.checkers.iter().any(|c| c.has_run);
        failing || (!self.alive && none_run)
    }

    /// The weight IPVS gets: keepalived's `real_weight(effective_weight)`, here held within
    /// [`WEIGHT_MAX`].
    pub(super) fn effective(&self) -> u32 {
        let offsets: i64 = self.checkers.iter().map(|c| i64::from(c.offset)).sum();
        (i64::from(self.weight) + offsets).clamp(0, i64::from(WEIGHT_MAX)) as u32
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct VsState {
    pub(super) spec: VsSpec,
    pub(super) rs: Vec<RsState>,
    pub(super) sorry_alive: bool,
    pub(super) quorum_up: bool,
}

/// Collects notices with the virtual server's name at hand.
struct Out<'a> {
    notices: &'a mut Vec<Notice>,
}

impl Out<'_> {
    fn log(&mut self, line: String) {
        self.notices.push(Notice::Log(line));
    }
    fn script(&mut self, command: &Option<String>, cause: ScriptCause) {
        if let Some(c) = command {
            self.notices.push(Notice::Script {
                command: c.clone(),
                cause,
            });
        }
    }
    fn mail(&mut self, vs: &impl std::fmt::Display, what: MailWhat) {
        self.notices.push(Notice::Mail(MailEvent {
            vs: vs.to_string(),
            what,
        }));
    }
}

impl VsState {
    pub(super) fn fresh(spec: VsSpec) -> Self {
        let rs = spec.real_servers.iter().map(RsState::fresh).collect();
        VsState {
            spec,
            rs,
            sorry_alive: false,
            quorum_up: false,
        }
    }

    fn sorry_active(&self) -> bool {
        self.spec.sorry.is_some() && self.sorry_alive
    }

    /// keepalived's `weigh_live_realservers`.
    fn weight_sum(&self) -> i64 {
        self.rs
            .iter()
            .filter(|r| r.alive)
            .map(|r| i64::from(r.effective()))
            .sum()
    }

    /// Is the real server in IPVS (keepalived's `rs->set`)?
    fn rs_set(&self, i: usize) -> bool {
        match (self.rs.get(i), self.spec.real_servers.get(i)) {
            (Some(st), Some(spec)) => (st.alive && !self.sorry_active()) || spec.inhibit,
            _ => false,
        }
    }

    /// The destination real server `i` contributes to [`VsState::dests`] (before a sorry
    /// server at the same address would replace it).
    fn rs_dest(&self, i: usize, sorry_active: bool) -> Option<Dest> {
        let (spec, st) = (self.spec.real_servers.get(i)?, self.rs.get(i)?);
        if st.alive && !sorry_active {
            Some(Dest {
                weight: st.weight,
                ..spec.dest
            })
        } else if spec.inhibit {
            Some(Dest {
                weight: 0,
                ..spec.dest
            })
        } else {
            None
        }
    }

    /// `self.dests() == other.dests()` when both list their servers in the same order (a
    /// reload that moved none), without building the maps; otherwise `false`, which only
    /// costs the caller a diff that finds nothing.
    pub(super) fn same_dests(&self, other: &VsState) -> bool {
        let sorry_active = self.sorry_active();
        let sorry = |v: &VsState| v.spec.sorry.as_ref().map(|s| (s.dest, s.inhibit));
        sorry_active == other.sorry_active()
            && sorry(self) == sorry(other)
            && self.rs.len() == other.rs.len()
            && (0..self.rs.len()).all(|i| {
                let addr = |v: &VsState| v.spec.real_servers.get(i).map(|r| r.dest.addr);
                addr(self) == addr(other)
                    && self.rs_dest(i, sorry_active) == other.rs_dest(i, sorry_active)
            })
    }

    /// The destinations every service of this virtual server has in this state.
    pub(super) fn dests(&self) -> BTreeMap<SocketAddr, Dest> {
        let sorry_active = self.sorry_active();
        let mut m = BTreeMap::new();
        if let Some(s) = &self.spec.sorry {
            if !sorry_active && s.inhibit {
                m.insert(
                    s.dest.addr,
                    Dest {
                        weight: 0,
                        ..s.dest
                    },
                );
            }
        }
        for (spec, st) in self.spec.real_servers.iter().zip(&self.rs) {
            if st.alive && !sorry_active {
                m.insert(
                    spec.dest.addr,
                    Dest {
                        weight: st.effective(),
                        ..spec.dest
                    },
                );
            } else if spec.inhibit {
                m.insert(
                    spec.dest.addr,
                    Dest {
                        weight: 0,
                        ..spec.dest
                    },
                );
            }
        }
        if let Some(s) = &self.spec.sorry {
            if sorry_active {
                m.insert(s.dest.addr, s.dest);
            }
        }
        m
    }

    pub(super) fn add_to(&self, t: &mut Table) {
        let dests = self.dests();
        for s in &self.spec.services {
            t.insert_service(s.clone());
            for d in dests.values() {
                t.insert_dest(s.key, *d);
            }
        }
    }

    fn table(&self) -> Table {
        let mut t = Table::new();
        self.add_to(&mut t);
        t
    }

    /// keepalived's `init_service_rs` + `update_quorum_state(vs, init)`: servers without a
    /// failed checker go in (silently), then the quorum is evaluated.
    pub(super) fn init(&mut self, notices: &mut Vec<Notice>) {
        for r in &mut self.rs {
            if r.failed() == 0 {
                r.alive = true;
            }
        }
        self.update_quorum(true, &mut Out { notices });
    }

    fn rs_notify(&self, i: usize, out: &mut Out<'_>) {
        if let (Some(st), Some(spec)) = (self.rs.get(i), self.spec.real_servers.get(i)) {
            if st.alive {
                out.script(&spec.notify_up, ScriptCause::RealServerUp);
            } else {
                out.script(&spec.notify_down, ScriptCause::RealServerDown);
            }
        }
    }

    /// keepalived's `update_svr_checker_state`.
    fn checker(&mut self, rs: usize, c: usize, up: bool, notices: &mut Vec<Notice>) {
        let mut out = Out { notices };
        let alpha = self.spec.real_servers[rs].checkers[c].alpha;
        let cur = self.rs[rs].checkers[c];
        if cur.up == up {
            if !cur.has_run {
                // The first result confirms the initial state: only the scripts run.
                if alpha || !up {
                    self.rs_notify(rs, &mut out);
                }
                self.rs[rs].checkers[c].has_run = true;
            }
            return;
        }
        self.rs[rs].checkers[c].has_run = true;
        let was_alive = self.rs[rs].alive;
        let failed = self.rs[rs].failed();
        if up {
            if failed <= 1 {
                self.perform(rs, true, &mut out);
            }
        } else if failed == 0 {
            self.perform(rs, false, &mut out);
        }
        self.rs[rs].checkers[c].up = up;
        // keepalived's checkers mail after `update_svr_checker_state`, about the flip.
        let spec = &self.spec.real_servers[rs];
        out.mail(
            &self.spec.name,
            MailWhat::Checker {
                rs: spec.name.to_string(),
                check: CheckTag::of(&spec.checkers[c].config.kind),
                up,
                was_alive,
                alive: self.rs[rs].alive,
                reason: None,
            },
        );
    }

    /// keepalived's `perform_svr_state`.
    fn perform(&mut self, rs: usize, alive: bool, out: &mut Out<'_>) {
        if self.rs[rs].alive == alive {
            return;
        }
        let spec = &self.spec.real_servers[rs];
        let verb = match (alive, spec.inhibit) {
            (true, true) => "Enabling",
            (true, false) => "Adding",
            (false, true) => "Disabling",
            (false, false) => "Removing",
        };
        let prep = match (alive, spec.inhibit) {
            (_, true) => "of",
            (true, false) => "to",
            (false, false) => "from",
        };
        out.log(format!(
            "{verb} service {} {prep} VS {}",
            spec.name, self.spec.name
        ));
        self.rs[rs].alive = alive;
        self.rs_notify(rs, out);
        self.update_quorum(false, out);
    }

    /// Where keepalived's `update_quorum_state` would take the quorum now: `Some(true)` gained,
    /// `Some(false)` lost, `None` unmoved; with the live weight sum and the threshold used.
    fn quorum_move(&self, init: bool) -> (Option<bool>, i64, i64) {
        let sum = self.weight_sum();
        let (q, h) = (self.spec.quorum, self.spec.hysteresis);
        let threshold = if self.quorum_up {
            i64::from(q) - i64::from(h)
        } else {
            i64::from(q) + i64::from(h)
        };
        let moved = if !self.quorum_up && sum >= threshold {
            Some(true)
        } else if (self.quorum_up && (sum == 0 || sum < threshold))
            || (init && !self.quorum_up && self.spec.sorry.is_some() && !self.sorry_alive)
        {
            Some(false)
        } else {
            None
        };
        (moved, sum, threshold)
    }

    /// keepalived's `update_quorum_state`.
    fn update_quorum(&mut self, init: bool, out: &mut Out<'_>) {
        let (moved, sum, threshold) = self.quorum_move(init);
        let (q, h) = (self.spec.quorum, self.spec.hysteresis);
        let vs = &self.spec.name;
        if moved == Some(true) {
            self.quorum_up = true;
            out.log(format!(
                "Gained quorum {q}+{h}={threshold} <= {sum} for VS {vs}"
            ));
            if let Some(s) = self.spec.sorry.as_ref().filter(|_| self.sorry_alive) {
                let verb = if s.inhibit { "Disabling" } else { "Removing" };
                out.log(format!("{verb} sorry server {} from VS {vs}", s.name));
                out.log(format!("Adding alive servers to the pool for VS {vs}"));
                self.sorry_alive = false;
            }
            out.script(&self.spec.quorum_up, ScriptCause::QuorumUp);
            out.mail(vs, quorum_mail(true, init, false, q, h, threshold, sum));
        } else if moved == Some(false) {
            self.quorum_up = false;
            let what = if init {
                "Starting with quorum down"
            } else {
                "Lost quorum"
            };
            out.log(format!("{what} {q}-{h}={threshold} > {sum} for VS {vs}"));
            if let Some(s) = self.spec.sorry.as_ref().filter(|_| !self.sorry_alive) {
                let verb = if s.inhibit { "Enabling" } else { "Adding" };
                out.log(format!("{verb} sorry server {} to VS {vs}", s.name));
                out.log(format!("Removing alive servers from the pool for VS {vs}"));
                self.sorry_alive = true;
            }
            out.script(&self.spec.quorum_down, ScriptCause::QuorumDown);
            out.mail(vs, quorum_mail(false, init, false, q, h, threshold, sum));
        }
    }

    /// keepalived's `update_svr_wgt` (with the quorum update).
    fn set_weight(&mut self, rs: usize, weight: u32, notices: &mut Vec<Notice>) {
        let old = self.rs[rs].effective();
        self.rs[rs].weight = weight.min(WEIGHT_MAX);
        self.weight_changed(rs, old, notices);
    }

    /// The rest of `update_svr_wgt` once the weight moved from `old`: a line and a new
    /// quorum when IPVS sees a different weight.
    fn weight_changed(&mut self, rs: usize, old: u32, notices: &mut Vec<Notice>) {
        let mut out = Out { notices };
        let new = self.rs[rs].effective();
        if new != old {
            let in_ = if self.rs[rs].alive { "" } else { "in" };
            out.log(format!(
                "Changing weight from {old} to {new} for {in_}active service {} of VS {}",
                self.spec.real_servers[rs].name, self.spec.name
            ));
            self.update_quorum(false, &mut out);
        }
    }

    /// keepalived's `process_update_checker_track_file_status`: a FILE_CHECK's file now
    /// says `verdict`. Failing takes the server out like any failed checker (its offset
    /// goes silently); recovering brings the offset back first, then the server; otherwise
    /// only the weight moves.
    fn file_check(&mut self, rs: usize, c: usize, verdict: Verdict, notices: &mut Vec<Notice>) {
        let cur = self.rs[rs].checkers[c];
        let before = cur.up.then_some(cur.offset);
        let after = match verdict {
            Verdict::Fault => None,
            Verdict::Weight(w) => Some(w),
        };
        if before == after {
            self.rs[rs].checkers[c].has_run = true;
            return;
        }
        match (before, after) {
            (_, None) => {
                self.checker(rs, c, false, notices);
                self.rs[rs].checkers[c].offset = 0;
            }
            (None, Some(w)) => {
                self.rs[rs].checkers[c].offset = w;
                self.checker(rs, c, true, notices);
            }
            (Some(_), Some(w)) => {
                let old = self.rs[rs].effective();
                self.rs[rs].checkers[c].offset = w;
                self.weight_changed(rs, old, notices);
            }
        }
    }

    /// keepalived's `clear_service_vs` without flush: the service goes away, at shutdown
    /// (`stopping`) or because a reload dropped it. Scripts run on reload, and at shutdown
    /// only with `omega`.
    pub(super) fn clear(&mut self, stopping: bool, notices: &mut Vec<Notice>) {
        let mut out = Out { notices };
        let set: Vec<bool> = (0..self.rs.len()).map(|i| self.rs_set(i)).collect();
        self.sorry_alive = false;
        for (i, was_set) in set.into_iter().enumerate() {
            let spec = &self.spec.real_servers[i];
            if was_set || stopping {
                let inhibited = if spec.inhibit && !self.rs[i].alive {
                    "(inhibited) "
                } else {
                    ""
                };
                let verb = if stopping {
                    "Shutting down"
                } else {
                    "Removing"
                };
                out.log(format!(
                    "{verb} {inhibited}service {} from VS {}",
                    spec.name, self.spec.name
                ));
            }
            self.clear_rs(i, was_set, stopping, &mut out);
        }
        self.update_vs_notifies(stopping, &mut out);
    }

    /// The part of keepalived's `clear_service_rs` after the log line.
    fn clear_rs(&mut self, i: usize, was_set: bool, stopping: bool, out: &mut Out<'_>) {
        if !was_set || !self.rs[i].alive {
            return;
        }
        self.rs[i].alive = false;
        if !self.spec.omega && stopping {
            return;
        }
        self.rs_notify(i, out);
        let rs = self.spec.real_servers[i].name.to_string();
        out.mail(&self.spec.name, MailWhat::Removed { rs, stopping });
    }

    /// keepalived's `update_vs_notifies`.
    fn update_vs_notifies(&mut self, stopping: bool, out: &mut Out<'_>) {
        let threshold = i64::from(self.spec.quorum) - i64::from(self.spec.hysteresis);
        let sum = self.weight_sum();
        if stopping || (self.quorum_up && (sum == 0 || sum < threshold)) {
            self.quorum_up = false;
            if stopping && !self.spec.omega {
                return;
            }
            out.script(&self.spec.quorum_down, ScriptCause::QuorumDown);
            let (q, h) = (self.spec.quorum, self.spec.hysteresis);
            let what = quorum_mail(false, false, stopping, q, h, threshold, sum);
            out.mail(&self.spec.name, what);
        }
    }

    /// A real server the new configuration dropped (keepalived's `clear_diff_rs`).
    pub(super) fn drop_rs(&mut self, i: usize, notices: &mut Vec<Notice>) {
        let mut out = Out { notices };
        let was_set = self.rs_set(i);
        let spec = &self.spec.real_servers[i];
        out.log(format!("service {} no longer exist", spec.name));
        if was_set {
            let inhibited = if spec.inhibit && !self.rs[i].alive {
                "(inhibited) "
            } else {
                ""
            };
            out.log(format!(
                "Removing {inhibited}service {} from VS {}",
                spec.name, self.spec.name
            ));
        }
        self.clear_rs(i, was_set, false, &mut out);
    }

    /// Whether a reload that leaves this virtual server's spec as it is could still change
    /// its state (or say something): what [`super::reload`]'s carry-over does to an unchanged
    /// virtual server is a no-op unless this holds. It holds while a checker has not reported
    /// since it was (re)started in alpha mode (the carry-over re-decides its state from its
    /// server's other checkers, as keepalived's `migrate_checkers` does), and in states no
    /// event leaves behind (a server alive with a failed checker, a quorum its own rules
    /// would move at start). Conservative: `true` only costs a partial reload the carry-over
    /// of this one virtual server.
    pub(super) fn unsettled(&self) -> bool {
        if self.spec.sorry.is_none() && self.sorry_alive {
            return true;
        }
        for (spec, st) in self.spec.real_servers.iter().zip(&self.rs) {
            if st.weight > WEIGHT_MAX {
                return true;
            }
            // The carry-over keeps the checkers that reported and re-decides the others.
            let pessimistic = st.pessimistic();
            let mut failed = 0;
            for (c, s) in spec.checkers.iter().zip(st.checkers.iter()) {
                let up = if s.has_run {
                    s.up
                } else {
                    let up = !(pessimistic && c.alpha);
                    if up != s.up || s.offset != 0 {
                        return true;
                    }
                    up
                };
                failed += usize::from(!up);
            }
            if (failed == 0) != st.alive {
                return true;
            }
        }
        self.quorum_move(true).0.is_some()
    }

    pub(super) fn update_quorum_init(&mut self, notices: &mut Vec<Notice>) {
        self.update_quorum(true, &mut Out { notices });
    }

    pub(super) fn perform_up(&mut self, rs: usize, notices: &mut Vec<Notice>) {
        self.perform(rs, true, &mut Out { notices });
    }
}

/// keepalived's `do_vs_notifies` mail facts.
fn quorum_mail(
    up: bool,
    init: bool,
    stopping: bool,
    quorum: u32,
    hysteresis: u32,
    threshold: i64,
    sum: i64,
) -> MailWhat {
    MailWhat::Quorum {
        up,
        init,
        stopping,
        quorum,
        hysteresis,
        threshold,
        sum,
    }
}

/// Whether every checker of `spec` has a [`CheckerRef`] (its real servers below 2^24, its
/// checkers per server below 2^16).
pub(super) fn numberable(spec: &VsSpec) -> bool {
    u32::try_from(spec.real_servers.len()).is_ok_and(|n| n <= CheckerRef::MAX_INDEX)
        && spec
            .real_servers
            .iter()
            .all(|r| u16::try_from(r.checkers.len()).is_ok())
}

/// The health state of every virtual server of one configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Lvs {
    pub(super) vs: Vec<VsState>,
    /// The virtual servers that are [`VsState::unsettled`], kept up to date by every change
    /// so that a partial reload ([`super::reload::reload_changed`]) finds them without
    /// visiting the others.
    pub(super) unsettled: BTreeSet<usize>,
}

impl Lvs {
    /// The state before start-up: nothing alive yet, no quorum.
    pub fn new(specs: Vec<VsSpec>) -> Result<Self, StateError> {
        let fits = u32::try_from(specs.len()).is_ok_and(|n| n <= CheckerRef::MAX_INDEX)
            && specs.iter().all(numberable);
        if !fits {
            return Err(StateError::TooLarge);
        }
        let mut lvs = Lvs {
            vs: specs.into_iter().map(VsState::fresh).collect(),
            unsettled: BTreeSet::new(),
        };
        lvs.settle_all();
        Ok(lvs)
    }

    /// Re-decides whether virtual server `i` is [`VsState::unsettled`], after it changed.
    pub(super) fn settle(&mut self, i: usize) {
        match self.vs.get(i) {
            Some(v) if v.unsettled() => {
                self.unsettled.insert(i);
            }
            _ => {
                self.unsettled.remove(&i);
            }
        }
    }

    /// [`Lvs::settle`] for every virtual server.
    pub(super) fn settle_all(&mut self) {
        self.unsettled = (0..self.vs.len())
            .filter(|&i| self.vs[i].unsettled())
            .collect();
    }

    /// How many virtual servers there are.
    pub fn len(&self) -> usize {
        self.vs.len()
    }

    /// Whether there is no virtual server.
    pub fn is_empty(&self) -> bool {
        self.vs.is_empty()
    }

    /// Start-up: announces every checker, puts in the servers that start alive and evaluates
    /// each quorum. Program IPVS with [`super::adopt`] on [`Lvs::table`] afterwards.
    pub fn start(&mut self) -> Vec<Notice> {
        let mut notices = Vec::new();
        for v in &mut self.vs {
            announce_checkers(&v.spec, |_| true, &mut notices);
            v.init(&mut notices);
        }
        self.settle_all();
        notices
    }

    /// The virtual servers, in configuration order.
    pub fn specs(&self) -> impl Iterator<Item = &VsSpec> {
        self.vs.iter().map(|v| &v.spec)
    }

    /// Virtual server `i`, directly (`specs().nth(i)` walks the list: per checker, at
    /// start-up, that was quadratic).
    pub fn spec(&self, i: usize) -> Option<&VsSpec> {
        self.vs.get(i).map(|v| &v.spec)
    }

    /// Every checker to run, with the id to subscribe it under.
    pub fn checkers(&self) -> impl Iterator<Item = (CheckerRef, &super::desired::CheckerSpec)> {
        self.vs.iter().enumerate().flat_map(|(vi, v)| {
            v.spec
                .real_servers
                .iter()
                .enumerate()
                .flat_map(move |(ri, r)| {
                    r.checkers.iter().enumerate().map(move |(ci, c)| {
                        (
                            CheckerRef {
                                vs: vi as u32,
                                rs: ri as u32,
                                checker: ci as u16,
                            },
                            c,
                        )
                    })
                })
        })
    }

    /// The IPVS table this state asks for.
    pub fn table(&self) -> Table {
        let mut t = Table::new();
        for v in &self.vs {
            v.add_to(&mut t);
        }
        t
    }

    /// Is this real server alive (in the pool or waiting behind the sorry server)?
    pub fn is_alive(&self, vs: usize, rs: usize) -> Option<bool> {
        self.vs.get(vs)?.rs.get(rs).map(|r| r.alive)
    }

    /// Has this virtual server its quorum?
    pub fn quorum_up(&self, vs: usize) -> Option<bool> {
        self.vs.get(vs).map(|v| v.quorum_up)
    }

    /// Takes the health the kernel's table implies, for a virtual server whose service is
    /// already there: a destination in IPVS with a weight (or configured at weight 0) is a
    /// live server, a missing one or one inhibited at weight 0 is a failed one, a sorry server
    /// with a weight means the quorum is down. Used after a restart (so servers that were down
    /// are not put back before their checks say so) and by `lbd plan`, which has no daemon to
    /// ask. Virtual servers without a service in `kernel` keep their start-up state.
    pub fn assume_from_kernel(&mut self, kernel: &Table) {
        for v in &mut self.vs {
            let Some(entry) = v.spec.keys().find_map(|k| kernel.services.get(&k)) else {
                continue;
            };
            v.sorry_alive = v.spec.sorry.as_ref().is_some_and(|s| {
                entry
                    .dests
                    .get(&s.dest.addr)
                    .is_some_and(|d| d.weight > 0 || s.dest.weight == 0)
            });
            for (spec, st) in v.spec.real_servers.iter().zip(v.rs.iter_mut()) {
                let live = !v.sorry_alive
                    && entry
                        .dests
                        .get(&spec.dest.addr)
                        .is_some_and(|d| d.weight > 0 || spec.dest.weight == 0);
                st.alive = live;
                for c in st.checkers.iter_mut() {
                    *c = CheckState {
                        up: live,
                        has_run: true,
                        offset: 0,
                    };
                }
                // Only a dynamic checker or a FILE_CHECK makes the kernel's weight right where
                // the configuration's differs; otherwise the configuration wins.
                let dynamic = spec.checkers.iter().any(|c| match &c.config.kind {
                    crate::config::CheckerKind::Misc(m) => m.dynamic,
                    crate::config::CheckerKind::File(_) => true,
                    _ => false,
                });
                if let Some(d) = entry.dests.get(&spec.dest.addr).filter(|_| live && dynamic) {
                    st.weight = d.weight;
                }
            }
            // A server without checkers is alive whatever the kernel says.
            for st in &mut v.rs {
                if st.checkers.is_empty() {
                    st.alive = true;
                }
            }
            v.quorum_up = !v.sorry_alive && v.weight_sum() >= i64::from(v.spec.quorum);
        }
        self.settle_all();
    }

    fn change(&mut self, vs: usize, f: impl FnOnce(&mut VsState, &mut Vec<Notice>)) -> Update {
        let mut notices = Vec::new();
        let Some(v) = self.vs.get_mut(vs) else {
            return Update::default();
        };
        let before = v.table();
        f(v, &mut notices);
        let requests = diff(&before, &v.table());
        self.settle(vs);
        Update { notices, requests }
    }

    /// A checker went up (`true`) or down.
    pub fn checker(&mut self, r: CheckerRef, up: bool) -> Result<Update, StateError> {
        let (vs, rs, c) = (r.vs as usize, r.rs as usize, usize::from(r.checker));
        let known = self
            .vs
            .get(vs)
            .and_then(|v| v.rs.get(rs))
            .is_some_and(|s| c < s.checkers.len());
        if !known {
            return Err(StateError::UnknownChecker(r));
        }
        Ok(self.change(vs, |v, n| v.checker(rs, c, up, n)))
    }

    /// A FILE_CHECK's file says `verdict` now.
    pub fn file_check(&mut self, r: CheckerRef, verdict: Verdict) -> Result<Update, StateError> {
        let (vs, rs, c) = self.file_checker(r)?;
        Ok(self.change(vs, |v, n| v.file_check(rs, c, verdict, n)))
    }

    /// A FILE_CHECK's reading before [`Lvs::start`]: keepalived reads the files before it
    /// programs IPVS, so a failed one keeps its server out from the start, silently, and a
    /// weighted one starts it at its adjusted weight.
    pub fn seed_file_check(&mut self, r: CheckerRef, verdict: Verdict) -> Result<(), StateError> {
        let (vs, rs, c) = self.file_checker(r)?;
        self.vs[vs].rs[rs].checkers[c] = match verdict {
            Verdict::Fault => CheckState {
                up: false,
                has_run: true,
                offset: 0,
            },
            Verdict::Weight(w) => CheckState {
                up: true,
                has_run: true,
                offset: w,
            },
        };
        self.settle(vs);
        Ok(())
    }

    /// The indexes of `r` if it is a FILE_CHECK.
    fn file_checker(&self, r: CheckerRef) -> Result<(usize, usize, usize), StateError> {
        let (vs, rs, c) = (r.vs as usize, r.rs as usize, usize::from(r.checker));
        let is_file = self
            .vs
            .get(vs)
            .and_then(|v| v.spec.real_servers.get(rs))
            .and_then(|s| s.checkers.get(c))
            .is_some_and(|c| matches!(c.config.kind, crate::config::CheckerKind::File(_)));
        if is_file {
            Ok((vs, rs, c))
        } else {
            Err(StateError::UnknownChecker(r))
        }
    }

    /// A dynamic checker (MISC_CHECK `misc_dynamic`) set the real server's weight.
    pub fn weight(&mut self, vs: u32, rs: u32, weight: u32) -> Result<Update, StateError> {
        let (vi, ri) = (vs as usize, rs as usize);
        if self.vs.get(vi).and_then(|v| v.rs.get(ri)).is_none() {
            return Err(StateError::UnknownRealServer { vs, rs });
        }
        Ok(self.change(vi, |v, n| v.set_weight(ri, weight, n)))
    }

    /// An event of the healthcheck runtime, subscribed with [`CheckerRef::to_id`]. A down
    /// event's reason comes first among the notices.
    pub fn on_health(&mut self, ev: &HealthEvent) -> Result<Update, StateError> {
        let r = CheckerRef::from_id(ev.subscriber);
        match &ev.change {
            Change::Up => self.checker(r, true),
            Change::Down { reason } => {
                // keepalived logs the failure first ("TCP connection to ... failed."), then
                // what it does about it.
                let mut u = self.checker(r, false)?;
                for n in &mut u.notices {
                    if let Notice::Mail(MailEvent {
                        what: MailWhat::Checker { reason: r, .. },
                        ..
                    }) = n
                    {
                        *r = Some(reason.message.clone());
                    }
                }
                u.notices.insert(0, Notice::Log(reason.message.clone()));
                Ok(u)
            }
            Change::WeightChanged { weight } => {
                if self
                    .vs
                    .get(r.vs as usize)
                    .and_then(|v| v.rs.get(r.rs as usize))
                    .is_some_and(|s| usize::from(r.checker) < s.checkers.len())
                {
                    self.weight(r.vs, r.rs, *weight)
                } else {
                    Err(StateError::UnknownChecker(r))
                }
            }
        }
    }

    /// Shutdown. With `remove`, every service goes (keepalived's default, with its
    /// "Shutting down" lines and, under `omega`, the down scripts); without, IPVS is left as
    /// it is, so a restarted daemon adopts it and no connection is dropped.
    pub fn shutdown(&mut self, remove: bool) -> Update {
        let mut u = Update::default();
        if !remove {
            return u;
        }
        for v in &mut self.vs {
            v.clear(true, &mut u.notices);
            u.requests.extend(v.spec.keys().map(Request::DelService));
        }
        self.settle_all();
        u
    }
}

/// `Activating healthchecker for service RS for VS VS` for the checkers `which` selects.
pub(super) fn announce_checkers(
    spec: &VsSpec,
    which: impl Fn((usize, usize)) -> bool,
    notices: &mut Vec<Notice>,
) {
    for (ri, rs) in spec.real_servers.iter().enumerate() {
        for ci in 0..rs.checkers.len() {
            if which((ri, ci)) {
                notices.push(Notice::Log(format!(
                    "Activating healthchecker for service {} for VS {}",
                    rs.name, spec.name
                )));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_states_hold_one_inline_and_any_other_count_in_a_vec() {
        let st = |up| CheckState {
            up,
            has_run: false,
            offset: 0,
        };
        let one: CheckStates = [st(true)].into_iter().collect();
        assert!(matches!(one, CheckStates::One(_)));
        let mut two: CheckStates = [st(true), st(false)].into_iter().collect();
        assert_eq!(two.iter().map(|c| c.up).collect::<Vec<_>>(), [true, false]);
        two[1].up = true;
        assert!(two.iter().all(|c| c.up));
        let none: CheckStates = std::iter::empty().collect();
        assert!(none.is_empty());
    }
    use crate::config::load_str;
    use crate::lvs::desired::specs;
    use ipvs_sys::ServiceKey;

    fn lvs(text: &str) -> Lvs {
        let cfg = match load_str("t.conf", text) {
            Ok(l) => l.config,
            Err(e) => panic!("{e:?}"),
        };
        Lvs::new(specs(&cfg).unwrap()).unwrap()
    }

    const TWO: &str = "virtual_server 192.0.2.100 80 {\n lb_algo rr\n lb_kind DR\n \
        real_server 192.0.2.10 80 {\n weight 1\n notify_down /bin/rs10-down\n TCP_CHECK {\n }\n }\n \
        real_server 192.0.2.11 80 {\n weight 1\n TCP_CHECK {\n }\n }\n}\n";

    fn r(vs: u32, rs: u32, checker: u16) -> CheckerRef {
        CheckerRef { vs, rs, checker }
    }

    fn key() -> ServiceKey {
        ServiceKey::tcp("192.0.2.100:80".parse().unwrap())
    }

    fn dests(l: &Lvs) -> Vec<(String, u32)> {
        l.table().services[&key()]
            .dests
            .values()
            .map(|d| (d.addr.to_string(), d.weight))
            .collect()
    }

    #[test]
    fn start_announces_checkers_and_gains_quorum() {
        let mut l = lvs(TWO);
        let n = l.start();
        assert_eq!(
            n,
            vec![
                Notice::Log("Activating healthchecker for service [192.0.2.10]:tcp:80 for VS [192.0.2.100]:tcp:80".into()),
                Notice::Log("Activating healthchecker for service [192.0.2.11]:tcp:80 for VS [192.0.2.100]:tcp:80".into()),
                Notice::Log("Gained quorum 1+0=1 <= 2 for VS [192.0.2.100]:tcp:80".into()),
                Notice::Mail(MailEvent {
                    vs: "[192.0.2.100]:tcp:80".into(),
                    what: quorum_mail(true, true, false, 1, 0, 1, 2),
                }),
            ]
        );
        assert_eq!(dests(&l).len(), 2);
    }

    #[test]
    fn down_then_up_removes_and_adds() {
        let mut l = lvs(TWO);
        l.start();
        let u = l.checker(r(0, 0, 0), false).unwrap();
        assert_eq!(
            u.notices,
            vec![
                Notice::Log(
                    "Removing service [192.0.2.10]:tcp:80 from VS [192.0.2.100]:tcp:80".into()
                ),
                Notice::Script {
                    command: "/bin/rs10-down".into(),
                    cause: ScriptCause::RealServerDown
                },
                Notice::Mail(MailEvent {
                    vs: "[192.0.2.100]:tcp:80".into(),
                    what: MailWhat::Checker {
                        rs: "[192.0.2.10]:tcp:80".into(),
                        check: CheckTag::Tcp,
                        up: false,
                        was_alive: true,
                        alive: false,
                        reason: None,
                    },
                }),
            ]
        );
        assert_eq!(
            u.requests,
            vec![Request::DelDest {
                service: key(),
                addr: "192.0.2.10:80".parse().unwrap()
            }]
        );
        // The second down on the other server loses the quorum.
        let u = l.checker(r(0, 1, 0), false).unwrap();
        assert_eq!(
            u.logs(),
            vec![
                "Removing service [192.0.2.11]:tcp:80 from VS [192.0.2.100]:tcp:80",
                "Lost quorum 1-0=1 > 0 for VS [192.0.2.100]:tcp:80",
            ]
        );
        let u = l.checker(r(0, 0, 0), true).unwrap();
        assert_eq!(
            u.logs(),
            vec![
                "Adding service [192.0.2.10]:tcp:80 to VS [192.0.2.100]:tcp:80",
                "Gained quorum 1+0=1 <= 1 for VS [192.0.2.100]:tcp:80",
            ]
        );
        assert_eq!(u.requests.len(), 1);
        assert!(matches!(u.requests[0], Request::NewDest { .. }));
    }

    #[test]
    fn repeated_state_is_silent() {
        let mut l = lvs(TWO);
        l.start();
        let u = l.checker(r(0, 1, 0), true).unwrap();
        assert_eq!(u, Update::default());
        assert!(l.checker(r(0, 9, 0), true).is_err());
    }

    #[test]
    fn server_without_checker_is_always_up() {
        let mut l = lvs("virtual_server 192.0.2.100 80 {\n real_server 192.0.2.10 80 {\n }\n}\n");
        l.start();
        assert_eq!(l.is_alive(0, 0), Some(true));
        assert_eq!(l.checkers().count(), 0);
    }

    #[test]
    fn alpha_starts_down_until_first_success() {
        let mut l = lvs("virtual_server 192.0.2.100 80 {\n alpha\n \
             real_server 192.0.2.10 80 {\n notify_up /bin/up\n TCP_CHECK {\n }\n }\n}\n");
        l.start();
        assert_eq!(l.is_alive(0, 0), Some(false));
        assert!(l.table().services[&key()].dests.is_empty());
        let u = l.checker(r(0, 0, 0), true).unwrap();
        assert!(u.notices.contains(&Notice::Script {
            command: "/bin/up".into(),
            cause: ScriptCause::RealServerUp
        }));
        assert_eq!(dests(&l), vec![("192.0.2.10:80".to_string(), 1)]);
    }

    #[test]
    fn inhibit_sets_weight_zero() {
        let mut l = lvs("virtual_server 192.0.2.100 80 {\n inhibit_on_failure\n \
             real_server 192.0.2.10 80 {\n weight 5\n TCP_CHECK {\n }\n }\n \
             real_server 192.0.2.11 80 {\n weight 5\n }\n}\n");
        l.start();
        let u = l.checker(r(0, 0, 0), false).unwrap();
        assert_eq!(
            u.logs(),
            vec!["Disabling service [192.0.2.10]:tcp:80 of VS [192.0.2.100]:tcp:80"]
        );
        assert_eq!(
            u.requests,
            vec![Request::SetDest {
                service: key(),
                dest: Dest {
                    weight: 0,
                    ..l.vs[0].spec.real_servers[0].dest
                }
            }]
        );
        let u = l.checker(r(0, 0, 0), true).unwrap();
        assert_eq!(
            u.logs(),
            vec!["Enabling service [192.0.2.10]:tcp:80 of VS [192.0.2.100]:tcp:80"]
        );
        assert_eq!(dests(&l)[0].1, 5);
    }

    #[test]
    fn two_checkers_need_both_up() {
        let mut l = lvs("virtual_server 192.0.2.100 80 {\n \
             real_server 192.0.2.10 80 {\n TCP_CHECK {\n }\n TCP_CHECK {\n connect_port 81\n }\n }\n}\n");
        l.start();
        assert_eq!(l.checker(r(0, 0, 0), false).unwrap().logs().len(), 2);
        // The other one failing too changes nothing more.
        assert!(l.checker(r(0, 0, 1), false).unwrap().logs().is_empty());
        // One recovering is not enough.
        assert!(l.checker(r(0, 0, 0), true).unwrap().logs().is_empty());
        assert_eq!(l.is_alive(0, 0), Some(false));
        let u = l.checker(r(0, 0, 1), true).unwrap();
        assert_eq!(
            u.logs()[0],
            "Adding service [192.0.2.10]:tcp:80 to VS [192.0.2.100]:tcp:80"
        );
    }

    #[test]
    fn quorum_hysteresis_and_sorry_server() {
        let mut l = lvs(
            "virtual_server 192.0.2.100 80 {\n quorum 4\n hysteresis 1\n \
             quorum_up /bin/qup\n quorum_down /bin/qdown\n sorry_server 192.0.2.99 80\n \
             real_server 192.0.2.10 80 {\n weight 3\n TCP_CHECK {\n }\n }\n \
             real_server 192.0.2.11 80 {\n weight 3\n TCP_CHECK {\n }\n }\n}\n",
        );
        let n = l.start();
        assert!(n.contains(&Notice::Log(
            "Gained quorum 4+1=5 <= 6 for VS [192.0.2.100]:tcp:80".into()
        )));
        assert!(n.contains(&Notice::Script {
            command: "/bin/qup".into(),
            cause: ScriptCause::QuorumUp
        }));
        // 3 >= 4-1: still up.
        let u = l.checker(r(0, 0, 0), false).unwrap();
        assert_eq!(u.logs().len(), 1);
        assert_eq!(l.quorum_up(0), Some(true));
        let u = l.checker(r(0, 1, 0), false).unwrap();
        assert_eq!(
            u.logs(),
            vec![
                "Removing service [192.0.2.11]:tcp:80 from VS [192.0.2.100]:tcp:80",
                "Lost quorum 4-1=3 > 0 for VS [192.0.2.100]:tcp:80",
                "Adding sorry server [192.0.2.99]:tcp:80 to VS [192.0.2.100]:tcp:80",
                "Removing alive servers from the pool for VS [192.0.2.100]:tcp:80",
            ]
        );
        assert!(u.notices.contains(&Notice::Script {
            command: "/bin/qdown".into(),
            cause: ScriptCause::QuorumDown
        }));
        assert_eq!(dests(&l), vec![("192.0.2.99:80".to_string(), 1)]);
        // One back: 3 < 4+1, the sorry server stays and the live server waits behind it.
        let u = l.checker(r(0, 0, 0), true).unwrap();
        assert_eq!(u.requests, vec![]);
        assert_eq!(dests(&l), vec![("192.0.2.99:80".to_string(), 1)]);
        let u = l.checker(r(0, 1, 0), true).unwrap();
        assert_eq!(
            u.logs(),
            vec![
                "Adding service [192.0.2.11]:tcp:80 to VS [192.0.2.100]:tcp:80",
                "Gained quorum 4+1=5 <= 6 for VS [192.0.2.100]:tcp:80",
                "Removing sorry server [192.0.2.99]:tcp:80 from VS [192.0.2.100]:tcp:80",
                "Adding alive servers to the pool for VS [192.0.2.100]:tcp:80",
            ]
        );
        assert_eq!(dests(&l).len(), 2);
        assert_eq!(u.requests.len(), 3);
    }

    #[test]
    fn sorry_server_inhibit_stays_at_weight_zero() {
        let mut l = lvs("virtual_server 192.0.2.100 80 {\n sorry_server 192.0.2.99 80\n sorry_server_inhibit\n \
             real_server 192.0.2.10 80 {\n TCP_CHECK {\n }\n }\n}\n");
        l.start();
        assert_eq!(
            dests(&l),
            vec![("192.0.2.10:80".into(), 1), ("192.0.2.99:80".into(), 0)]
        );
        let u = l.checker(r(0, 0, 0), false).unwrap();
        assert!(u
            .logs()
            .contains(&"Enabling sorry server [192.0.2.99]:tcp:80 to VS [192.0.2.100]:tcp:80"));
        assert_eq!(dests(&l), vec![("192.0.2.99:80".into(), 1)]);
    }

    #[test]
    fn start_with_quorum_down_adds_the_sorry_server() {
        let mut l = lvs(
            "virtual_server 192.0.2.100 80 {\n alpha\n sorry_server 192.0.2.99 80\n \
             real_server 192.0.2.10 80 {\n TCP_CHECK {\n }\n }\n}\n",
        );
        let n = l.start();
        assert!(n.contains(&Notice::Log(
            "Starting with quorum down 1-0=1 > 0 for VS [192.0.2.100]:tcp:80".into()
        )));
        assert_eq!(dests(&l), vec![("192.0.2.99:80".into(), 1)]);
    }

    #[test]
    fn dynamic_weight_is_one_edit() {
        let mut l = lvs("virtual_server 192.0.2.100 80 {\n \
             real_server 192.0.2.10 80 {\n weight 2\n MISC_CHECK {\n misc_path /bin/true\n misc_dynamic\n }\n }\n}\n");
        l.start();
        let u = l.weight(0, 0, 7).unwrap();
        assert_eq!(
            u.logs(),
            vec!["Changing weight from 2 to 7 for active service [192.0.2.10]:tcp:80 of VS [192.0.2.100]:tcp:80"]
        );
        assert_eq!(u.requests.len(), 1);
        assert!(matches!(u.requests[0], Request::SetDest { dest, .. } if dest.weight == 7));
        assert_eq!(l.weight(0, 0, 7).unwrap(), Update::default());
    }

    #[test]
    fn omega_runs_down_scripts_at_shutdown() {
        let text = "virtual_server 192.0.2.100 80 {\n OMEGA\n quorum_down /bin/qd\n \
             real_server 192.0.2.10 80 {\n notify_down /bin/d\n }\n}\n";
        let mut quiet = lvs(&text.replace("OMEGA", ""));
        quiet.start();
        let u = quiet.shutdown(true);
        assert_eq!(
            u.logs(),
            vec!["Shutting down service [192.0.2.10]:tcp:80 from VS [192.0.2.100]:tcp:80"]
        );
        assert_eq!(u.notices.len(), 1);
        assert_eq!(u.requests, vec![Request::DelService(key())]);
        let mut omega = lvs(&text.replace("OMEGA", "omega"));
        omega.start();
        let u = omega.shutdown(true);
        assert_eq!(u.notices.len(), 5);
        // The real server's removal and the quorum are mailed about too.
        assert_eq!(
            u.notices[2..],
            [
                Notice::Mail(MailEvent {
                    vs: "[192.0.2.100]:tcp:80".into(),
                    what: MailWhat::Removed {
                        rs: "[192.0.2.10]:tcp:80".into(),
                        stopping: true
                    },
                }),
                Notice::Script {
                    command: "/bin/qd".into(),
                    cause: ScriptCause::QuorumDown
                },
                Notice::Mail(MailEvent {
                    vs: "[192.0.2.100]:tcp:80".into(),
                    what: quorum_mail(false, false, true, 1, 0, 1, 0),
                }),
            ]
        );
        assert_eq!(omega.clone().shutdown(false), Update::default());
    }

    #[test]
    fn subscription_ids_round_trip() {
        let c = CheckerRef {
            vs: 2499,
            rs: 40000,
            checker: 3,
        };
        assert_eq!(CheckerRef::from_id(c.to_id().unwrap()), c);
        assert_eq!(
            CheckerRef {
                vs: 1 << 24,
                rs: 0,
                checker: 0
            }
            .to_id(),
            None
        );
    }
}
