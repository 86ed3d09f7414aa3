//! One engine the runtime drives: a sync group, or a lone virtual router behind the same
//! interface (member index 0), so the loop has a single code path for both.

use std::time::Instant;

use vrrp_core::wire::RxMeta;
use vrrp_core::{
    Event, RouterConfig, SyncGroup, SyncGroupError, TrackerId, TrackerState, Transmit,
    VirtualRouter,
};

/// The single router is boxed: a router is much larger than a group's `Vec` header.
#[derive(Debug)]
pub enum Engine {
    Single(Box<VirtualRouter>),
    Group(SyncGroup),
}

impl Engine {
    /// A group engine when `grouped`, else a single router (exactly one config expected).
    pub fn new(
        grouped: bool,
        configs: Vec<RouterConfig>,
        now: Instant,
    ) -> Result<Self, SyncGroupError> {
        if grouped {
            return SyncGroup::new(configs, now).map(Engine::Group);
        }
        let cfg = configs.into_iter().next().ok_or(SyncGroupError::Empty)?;
        Ok(Engine::Single(Box::new(VirtualRouter::new(cfg, now))))
    }

    pub fn member(&self, i: usize) -> Option<&VirtualRouter> {
        match self {
            Engine::Single(r) => (i == 0).then_some(r),
            Engine::Group(g) => g.member(i),
        }
    }

    pub fn handle_packet(&mut self, now: Instant, member: usize, meta: RxMeta, msg: &[u8]) {
        match self {
            Engine::Single(r) => r.handle_packet(now, meta, msg),
            // The member index comes from our own dispatch table, so it exists.
            Engine::Group(g) => {
                let _ = g.handle_packet(now, member, meta, msg);
            }
        }
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        match self {
            Engine::Single(r) => r.handle_timeout(now),
            Engine::Group(g) => g.handle_timeout(now),
        }
    }

    pub fn set_tracker(
        &mut self,
        now: Instant,
        member: usize,
        id: TrackerId,
        state: TrackerState,
    ) -> Result<(), SyncGroupError> {
        match self {
            Engine::Single(r) => r.set_tracker(now, id, state).map_err(SyncGroupError::from),
            Engine::Group(g) => g.set_tracker(now, member, id, state),
        }
    }

    /// A `track_file` value (`weight * value` on the priority).
    pub fn set_tracker_value(
        &mut self,
        now: Instant,
        member: usize,
        id: TrackerId,
        value: i32,
    ) -> Result<(), SyncGroupError> {
        match self {
            Engine::Single(r) => r
                .set_tracker_value(now, id, value)
                .map_err(SyncGroupError::from),
            Engine::Group(g) => g.set_tracker_value(now, member, id, value),
        }
    }

    pub fn shutdown(&mut self, now: Instant) {
        match self {
            Engine::Single(r) => r.shutdown(now),
            Engine::Group(g) => g.shutdown(now),
        }
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        match self {
            Engine::Single(r) => r.poll_timeout(),
            Engine::Group(g) => g.poll_timeout(),
        }
    }

    pub fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<(usize, Transmit)> {
        match self {
            Engine::Single(r) => r.poll_transmit(now, buf).map(|t| (0, t)),
            Engine::Group(g) => g.poll_transmit(now, buf),
        }
    }

    pub fn poll_event(&mut self) -> Option<(usize, Event)> {
        match self {
            Engine::Single(r) => r.poll_event().map(|e| (0, e)),
            Engine::Group(g) => g.poll_event(),
        }
    }
}
