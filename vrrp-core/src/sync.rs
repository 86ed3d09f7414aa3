//! Sync groups (keepalived's `vrrp_sync_group`): virtual routers that must change role together,
//! typically the outside and inside addresses of a NAT/LVS director.
//!
//! keepalived 2.2.7 semantics (`vrrp_sync.c`), which this module reproduces:
//! * one member entering FAULT takes every member to FAULT, and the group leaves FAULT (to
//!   BACKUP) only when no member has a failed weight-0 tracker any more;
//! * one member leaving MASTER for BACKUP (it heard a better master) takes every master member
//!   to BACKUP;
//! * a member goes MASTER only when *every* member would go MASTER on its own (its master-down
//!   timer fired, or it already is MASTER): "prefer backup state to avoid thrashing". Members
//!   that are not ready keep their timers armed and re-check on each expiry.
//!
//! Difference: keepalived ignores tracker *weights* of sync-group members unless the group sets
//! `global_tracking`; here weights always apply, so the caller (the config layer) decides. With
//! weights that differ between members, a member that would preempt alone waits for the others,
//! exactly as above.

use std::net::IpAddr;
use std::time::Instant;

use crate::config::RouterConfig;
use crate::event::{Event, State, Transmit};
use crate::router::VirtualRouter;
use crate::track::{TrackerId, TrackerState, UnknownTracker};
use crate::wire::{Family, RxMeta};

/// Errors of the [`SyncGroup`] API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SyncGroupError {
    /// A group needs at least one member.
    #[error("a sync group needs at least one member")]
    Empty,
    /// The member index is out of range.
    #[error("sync group has no member {0}")]
    UnknownMember(usize),
    /// The tracker is not configured on that member.
    #[error(transparent)]
    Tracker(#[from] UnknownTracker),
}

/// Virtual routers that move together. Members are addressed by their index in the
/// configuration order; the API mirrors [`VirtualRouter`]'s, with that index added.
#[derive(Debug)]
pub struct SyncGroup {
    members: Vec<VirtualRouter>,
}

impl SyncGroup {
    /// Starts every member at `now` (in BACKUP or FAULT: even an address owner waits for the
    /// group's consent, which it gets at once if all members are owners).
    pub fn new(
        configs: impl IntoIterator<Item = RouterConfig>,
        now: Instant,
    ) -> Result<Self, SyncGroupError> {
        let members: Vec<_> = configs
            .into_iter()
            .map(|cfg| VirtualRouter::new_grouped(cfg, now))
            .collect();
        if members.is_empty() {
            return Err(SyncGroupError::Empty);
        }
        let mut group = SyncGroup { members };
        group.reconcile(now);
        Ok(group)
    }

    pub fn members(&self) -> &[VirtualRouter] {
        &self.members
    }

    pub fn member(&self, index: usize) -> Option<&VirtualRouter> {
        self.members.get(index)
    }

    /// The member running `vrid` in `family`, for demultiplexing received adverts.
    pub fn find_member(&self, vrid: u8, family: Family) -> Option<usize> {
        self.members
            .iter()
            .position(|m| m.config().vrid() == vrid && m.config().family() == family)
    }

    /// The common state, or `None` while members disagree (only transiently, between a
    /// member's own move and the group's reaction, or while some members wait for the others).
    pub fn state(&self) -> Option<State> {
        let first = self.members.first()?.state();
        self.members
            .iter()
            .all(|m| m.state() == first)
            .then_some(first)
    }

    /// [`VirtualRouter::handle_packet`] for one member, then the group rules.
    pub fn handle_packet(
        &mut self,
        now: Instant,
        member: usize,
        meta: RxMeta,
        msg: &[u8],
    ) -> Result<(), SyncGroupError> {
        self.members
            .get_mut(member)
            .ok_or(SyncGroupError::UnknownMember(member))?
            .handle_packet(now, meta, msg);
        self.reconcile(now);
        Ok(())
    }

    /// [`VirtualRouter::handle_timeout`] for every member, then the group rules.
    pub fn handle_timeout(&mut self, now: Instant) {
        for m in &mut self.members {
            m.handle_timeout(now);
        }
        self.reconcile(now);
    }

    /// [`VirtualRouter::set_tracker`] for one member, then the group rules.
    pub fn set_tracker(
        &mut self,
        now: Instant,
        member: usize,
        id: TrackerId,
        state: TrackerState,
    ) -> Result<(), SyncGroupError> {
        self.members
            .get_mut(member)
            .ok_or(SyncGroupError::UnknownMember(member))?
            .set_tracker(now, id, state)?;
        self.reconcile(now);
        Ok(())
    }

    /// [`VirtualRouter::set_tracker_value`] for one member, then the group rule.
    pub fn set_tracker_value(
        &mut self,
        now: Instant,
        member: usize,
        id: TrackerId,
        value: i32,
    ) -> Result<(), SyncGroupError> {
        self.members
            .get_mut(member)
            .ok_or(SyncGroupError::UnknownMember(member))?
            .set_tracker_value(now, id, value)?;
        self.reconcile(now);
        Ok(())
    }

    /// Stops every member (masters send priority 0).
    pub fn shutdown(&mut self, now: Instant) {
        for m in &mut self.members {
            m.shutdown(now);
        }
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.members.iter().filter_map(|m| m.poll_timeout()).min()
    }

    /// The next advert of any member, with the member's index.
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<(usize, Transmit)> {
        self.members
            .iter_mut()
            .enumerate()
            .find_map(|(i, m)| m.poll_transmit(now, buf).map(|t| (i, t)))
    }

    /// The next event of any member, with the member's index. Events of one member keep their
    /// order; members are drained in index order.
    pub fn poll_event(&mut self) -> Option<(usize, Event)> {
        self.members
            .iter_mut()
            .enumerate()
            .find_map(|(i, m)| m.poll_event().map(|e| (i, e)))
    }

    /// The source addresses of all members, to recognise our own looped-back adverts.
    pub fn primaries(&self) -> impl Iterator<Item = IpAddr> + '_ {
        self.members.iter().map(|m| m.config().primary())
    }

    fn reconcile(&mut self, now: Instant) {
        if self.members.iter().any(|m| m.own_fault()) {
            for m in &mut self.members {
                m.force_fault();
                m.sync.left_master = false;
            }
            return;
        }
        for m in &mut self.members {
            if m.state() == State::Fault {
                m.release_fault(now);
            }
        }
        if self.members.iter().any(|m| m.sync.left_master) {
            for m in &mut self.members {
                m.force_backup(now);
            }
            for m in &mut self.members {
                m.sync.left_master = false;
            }
        }
        let ready = self.members.iter().all(|m| match m.state() {
            State::Master => true,
            State::Backup => m.sync.wants_master,
            State::Initialize | State::Fault => false,
        });
        if ready && self.members.iter().any(|m| m.state() == State::Backup) {
            for m in &mut self.members {
                m.force_master(now);
            }
        }
    }
}
