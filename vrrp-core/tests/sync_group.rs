//! Sync group rules (keepalived's vrrp_sync.c) on hand-driven groups.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use vrrp_core::wire::{AdvertRepr, Auth, RxMeta, Version, TTL};
use vrrp_core::{
    Event, Reason, RouterConfig, State, SyncGroup, SyncGroupError, TrackerId, TrackerState,
};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn vip(vrid: u8) -> IpAddr {
    ip(&format!("198.51.100.{vrid}"))
}

/// Members: VRID 1 and VRID 2, both priority 100, each with weight-0 tracker 9.
fn group(t0: Instant) -> SyncGroup {
    let cfgs = [1u8, 2].map(|vrid| {
        RouterConfig::builder(vrid, ip(&format!("192.0.2.{vrid}")))
            .priority(100)
            .vip(vip(vrid))
            .track(TrackerId(9), 0)
            .build()
            .unwrap()
    });
    SyncGroup::new(cfgs, t0).unwrap()
}

fn rx(g: &mut SyncGroup, now: Instant, member: usize, priority: u8) {
    let vrid = member as u8 + 1;
    let addrs = [vip(vrid)];
    let src = ip("192.0.2.200");
    let repr = AdvertRepr {
        version: Version::V3,
        vrid,
        priority,
        interval_cs: 100,
        auth: Auth::None,
        addresses: &addrs,
    };
    let mut buf = [0u8; 64];
    let n = repr.emit(&mut buf, src, ip("224.0.0.18")).unwrap();
    let meta = RxMeta {
        src,
        dst: ip("224.0.0.18"),
        ttl: TTL,
    };
    g.handle_packet(now, member, meta, &buf[..n]).unwrap();
}

fn states(g: &SyncGroup) -> Vec<State> {
    g.members().iter().map(|m| m.state()).collect()
}

fn drain(g: &mut SyncGroup) -> Vec<(usize, Event)> {
    std::iter::from_fn(|| g.poll_event()).collect()
}

/// Both members time out together: the group goes master.
fn to_master(g: &mut SyncGroup) -> Instant {
    let t = g.poll_timeout().unwrap();
    g.handle_timeout(t);
    assert_eq!(g.state(), Some(State::Master));
    drain(g);
    let mut buf = [0u8; 64];
    while g.poll_transmit(t, &mut buf).is_some() {}
    t
}

#[test]
fn members_go_master_only_when_all_would() {
    let t0 = Instant::now();
    let mut g = group(t0);
    assert_eq!(g.state(), Some(State::Backup));
    assert_eq!(drain(&mut g).len(), 2, "two startup transitions");
    // Member 1 keeps hearing a better master: member 0's timeout must not take it to MASTER.
    let mut now = t0;
    for _ in 0..10 {
        now += Duration::from_secs(1);
        rx(&mut g, now, 1, 200);
        g.handle_timeout(now);
        assert_eq!(states(&g), [State::Backup, State::Backup]);
    }
    // The better master of VRID 2 disappears: both go MASTER together.
    let t = g.poll_timeout().unwrap();
    g.handle_timeout(t);
    let t = g.poll_timeout().unwrap();
    g.handle_timeout(t);
    assert_eq!(g.state(), Some(State::Master));
    let changes: Vec<_> = drain(&mut g)
        .into_iter()
        .filter(|(_, e)| matches!(e, Event::StateChanged { .. }))
        .collect();
    assert_eq!(
        changes,
        [0, 1].map(|i| (
            i,
            Event::StateChanged {
                from: State::Backup,
                to: State::Master,
                reason: Reason::AdvertTimeout
            }
        ))
    );
}

#[test]
fn one_member_yielding_takes_the_group_to_backup() {
    let t0 = Instant::now();
    let mut g = group(t0);
    let t = to_master(&mut g);
    rx(&mut g, t, 0, 250);
    assert_eq!(g.state(), Some(State::Backup));
    let ev = drain(&mut g);
    assert!(ev.contains(&(
        0,
        Event::StateChanged {
            from: State::Master,
            to: State::Backup,
            reason: Reason::HigherPriorityAdvert
        }
    )));
    assert!(ev.contains(&(
        1,
        Event::StateChanged {
            from: State::Master,
            to: State::Backup,
            reason: Reason::SyncGroup
        }
    )));
    assert!(ev.contains(&(1, Event::RemoveVips)));
}

#[test]
fn one_fault_faults_all_and_recovery_waits_for_every_member() {
    let t0 = Instant::now();
    let mut g = group(t0);
    let t = to_master(&mut g);
    g.set_tracker(t, 1, TrackerId(9), TrackerState::Down)
        .unwrap();
    assert_eq!(g.state(), Some(State::Fault));
    // Both masters told the LAN they are leaving.
    let mut buf = [0u8; 64];
    let mut zero = 0;
    while let Some((_, tx)) = g.poll_transmit(t, &mut buf) {
        assert_eq!(buf[2], 0);
        zero += 1;
        assert!(tx.len > 0);
    }
    assert_eq!(zero, 2);
    g.set_tracker(t, 0, TrackerId(9), TrackerState::Down)
        .unwrap();
    g.set_tracker(t, 1, TrackerId(9), TrackerState::Up).unwrap();
    assert_eq!(g.state(), Some(State::Fault), "member 0 is still down");
    g.set_tracker(t, 0, TrackerId(9), TrackerState::Up).unwrap();
    assert_eq!(g.state(), Some(State::Backup));
}

#[test]
fn rejects_bad_member_and_empty_group() {
    let t0 = Instant::now();
    assert_eq!(
        SyncGroup::new(Vec::new(), t0).err(),
        Some(SyncGroupError::Empty)
    );
    let mut g = group(t0);
    assert_eq!(
        g.set_tracker(t0, 5, TrackerId(9), TrackerState::Down),
        Err(SyncGroupError::UnknownMember(5))
    );
    assert!(matches!(
        g.set_tracker(t0, 0, TrackerId(1), TrackerState::Down),
        Err(SyncGroupError::Tracker(_))
    ));
    assert_eq!(g.find_member(2, vrrp_core::wire::Family::V4), Some(1));
}
