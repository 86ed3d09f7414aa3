//! Unit-level behaviour of one virtual router, driven by hand-made adverts.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use vrrp_core::wire::{AdvertRepr, Auth, RxMeta, Version, TTL};
use vrrp_core::{
    DropReason, Event, InitialState, Reason, RouterConfig, RouterConfigBuilder, State, TrackerId,
    TrackerState, VirtualRouter,
};

const SEC: Duration = Duration::from_secs(1);

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn vip() -> IpAddr {
    ip("192.0.2.100")
}

fn us() -> IpAddr {
    ip("192.0.2.10")
}

fn base(priority: u8) -> RouterConfigBuilder {
    RouterConfig::builder(7, us()).priority(priority).vip(vip())
}

/// An advert from `src` as a peer would send it.
fn advert(version: Version, src: IpAddr, priority: u8, interval_cs: u16) -> Vec<u8> {
    let addrs = [vip()];
    let repr = AdvertRepr {
        version,
        vrid: 7,
        priority,
        interval_cs,
        auth: Auth::None,
        addresses: &addrs,
    };
    let mut buf = vec![0u8; repr.buffer_len()];
    let n = repr.emit(&mut buf, src, ip("224.0.0.18")).unwrap();
    buf.truncate(n);
    buf
}

fn rx(r: &mut VirtualRouter, now: Instant, src: &str, priority: u8) {
    let src = ip(src);
    let msg = advert(
        r.config().version(),
        src,
        priority,
        r.config().advert_interval_cs(),
    );
    let meta = RxMeta {
        src,
        dst: ip("224.0.0.18"),
        ttl: TTL,
    };
    r.handle_packet(now, meta, &msg);
}

fn events(r: &mut VirtualRouter) -> Vec<Event> {
    std::iter::from_fn(|| r.poll_event()).collect()
}

fn transmits(r: &mut VirtualRouter, now: Instant) -> Vec<(IpAddr, u8)> {
    let mut buf = [0u8; 1500];
    std::iter::from_fn(|| r.poll_transmit(now, &mut buf).map(|t| (t.dst, buf[2]))).collect()
}

fn to_master(r: &mut VirtualRouter, t0: Instant) -> Instant {
    let t = r.poll_timeout().unwrap();
    assert!(t >= t0);
    r.handle_timeout(t);
    assert_eq!(r.state(), State::Master);
    events(r);
    transmits(r, t);
    t
}

#[test]
fn startup_as_backup_then_master_after_master_down_interval() {
    let t0 = Instant::now();
    let mut r = VirtualRouter::new(base(100).build().unwrap(), t0);
    assert_eq!(r.state(), State::Backup);
    assert_eq!(
        events(&mut r),
        [Event::StateChanged {
            from: State::Initialize,
            to: State::Backup,
            reason: Reason::Startup
        }]
    );
    // RFC 5798 §6.4.1: Master_Down_Timer = Master_Down_Interval = 3 s + 156/256 s.
    assert_eq!(
        r.poll_timeout(),
        Some(t0 + Duration::from_micros(3_609_375))
    );
    r.handle_timeout(t0 + SEC); // early: nothing
    assert_eq!(r.state(), State::Backup);
    let t = t0 + Duration::from_micros(3_609_375);
    r.handle_timeout(t);
    assert_eq!(
        events(&mut r),
        [
            Event::StateChanged {
                from: State::Backup,
                to: State::Master,
                reason: Reason::AdvertTimeout
            },
            Event::AddVips,
            Event::Announce { count: 5 },
        ]
    );
    assert_eq!(transmits(&mut r, t), [(ip("224.0.0.18"), 100)]);
    // Adverts every interval; the second GARP burst after garp_master_delay (5 s).
    assert_eq!(r.poll_timeout(), Some(t + SEC));
    for i in 1..=5 {
        r.handle_timeout(t + SEC * i);
        assert_eq!(transmits(&mut r, t + SEC * i).len(), 1);
    }
    assert_eq!(events(&mut r), [Event::Announce { count: 5 }]);
}

/// `vrrp_mcast_group4`: a master's adverts go to the configured group, and a backup on that
/// group still hears its peers (the group changes the destination, not the validation).
#[test]
fn adverts_go_to_the_configured_group() {
    let t0 = Instant::now();
    let group = ip("224.0.0.19");
    let mut r = VirtualRouter::new(base(100).multicast_group(group).build().unwrap(), t0);
    let t = r.poll_timeout().unwrap();
    r.handle_timeout(t);
    assert_eq!(r.state(), State::Master);
    let mut buf = [0u8; 1500];
    let tx = r.poll_transmit(t, &mut buf).unwrap();
    assert_eq!((tx.src, tx.dst), (us(), group));
    // The v3 checksum covers the destination: it must verify against the group.
    let peer_cfg = RouterConfig::builder(7, ip("192.0.2.20"))
        .priority(50)
        .vip(vip())
        .multicast_group(group);
    let mut peer = VirtualRouter::new(peer_cfg.build().unwrap(), t0);
    events(&mut peer);
    let meta = RxMeta {
        src: tx.src,
        dst: tx.dst,
        ttl: TTL,
    };
    peer.handle_packet(t, meta, &buf[..tx.len]);
    let evs = events(&mut peer);
    assert!(evs.is_empty(), "the peer accepts the advert: {evs:?}");
    assert_eq!(peer.state(), State::Backup);
    assert!(peer.poll_timeout().unwrap() > t + SEC * 3);
}

#[test]
fn owner_goes_master_at_once_and_ignores_weights() {
    let t0 = Instant::now();
    let cfg = base(255).track(TrackerId(1), -50).build().unwrap();
    let mut r = VirtualRouter::new(cfg, t0);
    assert_eq!(r.state(), State::Master);
    assert_eq!(transmits(&mut r, t0), [(ip("224.0.0.18"), 255)]);
    r.set_tracker(t0, TrackerId(1), TrackerState::Down).unwrap();
    assert_eq!(r.priority(), 255);
}

#[test]
fn initial_master_hint_shortens_first_timeout_only() {
    let t0 = Instant::now();
    let cfg = base(100)
        .initial_state(InitialState::Master)
        .build()
        .unwrap();
    let mut r = VirtualRouter::new(cfg, t0);
    assert_eq!(r.state(), State::Backup);
    assert_eq!(
        r.poll_timeout(),
        Some(t0 + SEC + Duration::from_micros(609_375))
    );
    // Hearing a master resets to the full interval.
    rx(&mut r, t0, "192.0.2.20", 200);
    assert_eq!(
        r.poll_timeout(),
        Some(t0 + Duration::from_micros(3_609_375))
    );
}

#[test]
fn backup_follows_higher_master_and_preempts_lower_one() {
    let t0 = Instant::now();
    let mut r = VirtualRouter::new(base(100).build().unwrap(), t0);
    rx(&mut r, t0 + SEC, "192.0.2.20", 150);
    assert_eq!(r.master().unwrap().priority, 150);
    assert_eq!(r.poll_timeout(), Some(t0 + SEC + r.master_down_interval()));
    // Equal priority is accepted too (RFC 5798 §6.4.2: ">= local priority").
    rx(&mut r, t0 + 2 * SEC, "192.0.2.5", 100);
    assert_eq!(
        r.poll_timeout(),
        Some(t0 + 2 * SEC + r.master_down_interval())
    );
    // A lower priority is discarded: the timer keeps running and we preempt.
    rx(&mut r, t0 + 3 * SEC, "192.0.2.20", 50);
    assert_eq!(
        r.poll_timeout(),
        Some(t0 + 2 * SEC + r.master_down_interval())
    );
    r.handle_timeout(t0 + 2 * SEC + r.master_down_interval());
    assert_eq!(r.state(), State::Master);
}

#[test]
fn nopreempt_keeps_a_lower_master() {
    let t0 = Instant::now();
    let mut r = VirtualRouter::new(base(200).nopreempt().build().unwrap(), t0);
    for i in 0..20 {
        let now = t0 + SEC * i;
        rx(&mut r, now, "192.0.2.20", 50);
        r.handle_timeout(now);
    }
    assert_eq!(r.state(), State::Backup);
    // But it takes over when the master disappears.
    let t = r.poll_timeout().unwrap();
    r.handle_timeout(t);
    assert_eq!(r.state(), State::Master);
}

#[test]
fn preempt_delay_defers_preemption() {
    let t0 = Instant::now();
    let cfg = base(200).preempt_delay(10 * SEC).build().unwrap();
    let mut r = VirtualRouter::new(cfg, t0);
    let mut now = t0;
    while now < t0 + 10 * SEC {
        rx(&mut r, now, "192.0.2.20", 50);
        r.handle_timeout(now);
        assert_eq!(r.state(), State::Backup, "preempted at {:?}", now - t0);
        now += SEC;
    }
    // The delay is over: lower-priority adverts are discarded, the timer fires.
    for _ in 0..5 {
        rx(&mut r, now, "192.0.2.20", 50);
        r.handle_timeout(now);
        now += SEC;
    }
    assert_eq!(r.state(), State::Master);
}

#[test]
fn priority_zero_shortens_the_wait_to_skew_time() {
    let t0 = Instant::now();
    let mut r = VirtualRouter::new(base(100).build().unwrap(), t0);
    rx(&mut r, t0, "192.0.2.20", 200);
    rx(&mut r, t0 + SEC, "192.0.2.20", 0);
    assert_eq!(
        r.poll_timeout(),
        Some(t0 + SEC + Duration::from_micros(609_375))
    );
    r.handle_timeout(t0 + SEC + Duration::from_micros(609_375));
    let ev = events(&mut r);
    assert!(ev.contains(&Event::StateChanged {
        from: State::Backup,
        to: State::Master,
        reason: Reason::PriorityZero
    }));
    assert_eq!(Reason::PriorityZero.to_string(), "received priority 0");
}

#[test]
fn master_yields_to_higher_priority_and_equal_priority_higher_address() {
    for (src, prio, reason) in [
        ("192.0.2.5", 101, Reason::HigherPriorityAdvert),
        ("192.0.2.11", 100, Reason::EqualPriorityHigherAddress),
    ] {
        let t0 = Instant::now();
        let mut r = VirtualRouter::new(base(100).build().unwrap(), t0);
        let t = to_master(&mut r, t0);
        rx(&mut r, t, src, prio);
        assert_eq!(r.state(), State::Backup);
        assert_eq!(
            events(&mut r),
            [
                Event::RemoveVips,
                Event::StateChanged {
                    from: State::Master,
                    to: State::Backup,
                    reason
                }
            ]
        );
        // Yielding is silent: no priority 0 (the new master is already there).
        assert!(transmits(&mut r, t).is_empty());
    }
    assert_eq!(
        Reason::HigherPriorityAdvert.to_string(),
        "Received advert with higher priority"
    );
}

#[test]
fn master_reasserts_against_lower_priority_and_priority_zero() {
    let t0 = Instant::now();
    let mut r = VirtualRouter::new(base(100).build().unwrap(), t0);
    let t = to_master(&mut r, t0);
    let t1 = t + Duration::from_millis(300);
    for (src, prio, reason) in [
        ("192.0.2.11", 99, Reason::LowerPriorityAdvert),
        ("192.0.2.5", 100, Reason::LowerPriorityAdvert), // equal priority, lower address
        ("192.0.2.11", 0, Reason::PriorityZero),
    ] {
        rx(&mut r, t1, src, prio);
        assert_eq!(r.state(), State::Master);
        assert_eq!(
            events(&mut r),
            [Event::AdvertForced {
                reason,
                from: ip(src)
            }]
        );
        assert_eq!(transmits(&mut r, t1), [(ip("224.0.0.18"), 100)]);
        // The advert timer restarts from the forced advert.
        assert_eq!(r.poll_timeout(), Some(t1 + SEC));
    }
}

#[test]
fn lower_prio_no_advert_leaves_a_lower_priority_unanswered() {
    for on in [false, true] {
        let t0 = Instant::now();
        let cfg = base(100).lower_prio_no_advert(on).build().unwrap();
        assert_eq!(cfg.lower_prio_no_advert(), on);
        let mut r = VirtualRouter::new(cfg, t0);
        let t = to_master(&mut r, t0);
        let t1 = t + Duration::from_millis(300);
        // Lower priority, then equal priority from a lower address: both "lower".
        for (src, prio) in [("192.0.2.11", 99), ("192.0.2.5", 100)] {
            rx(&mut r, t1, src, prio);
            assert_eq!(r.state(), State::Master);
            if on {
                assert_eq!(
                    events(&mut r),
                    [Event::LowerPriorityUnanswered { from: ip(src) }]
                );
                assert!(transmits(&mut r, t1).is_empty());
                // The periodic advert stays where it was.
                assert_eq!(r.poll_timeout(), Some(t + SEC));
            } else {
                assert_eq!(
                    events(&mut r),
                    [Event::AdvertForced {
                        reason: Reason::LowerPriorityAdvert,
                        from: ip(src)
                    }]
                );
                assert_eq!(transmits(&mut r, t1), [(ip("224.0.0.18"), 100)]);
                assert_eq!(r.poll_timeout(), Some(t1 + SEC));
            }
        }
        // A leaving master (priority 0) is answered either way (RFC 5798 §6.4.3).
        let t2 = t1 + Duration::from_millis(100);
        rx(&mut r, t2, "192.0.2.11", 0);
        assert_eq!(transmits(&mut r, t2), [(ip("224.0.0.18"), 100)]);
    }
}

#[test]
fn higher_prio_send_advert_sends_one_advert_while_yielding() {
    for on in [false, true] {
        for (src, prio, reason) in [
            ("192.0.2.5", 101, Reason::HigherPriorityAdvert),
            ("192.0.2.11", 100, Reason::EqualPriorityHigherAddress),
        ] {
            let t0 = Instant::now();
            let cfg = base(100).higher_prio_send_advert(on).build().unwrap();
            assert_eq!(cfg.higher_prio_send_advert(), on);
            let mut r = VirtualRouter::new(cfg, t0);
            let t = to_master(&mut r, t0);
            rx(&mut r, t, src, prio);
            assert_eq!(r.state(), State::Backup);
            let yielded = [
                Event::RemoveVips,
                Event::StateChanged {
                    from: State::Master,
                    to: State::Backup,
                    reason,
                },
            ];
            let sent = r.stats().adverts_tx;
            if on {
                let mut expected = vec![Event::AdvertForced {
                    reason,
                    from: ip(src),
                }];
                expected.extend(yielded);
                assert_eq!(events(&mut r), expected);
                // Our own priority, not 0: the new master must see a lower-priority master.
                assert_eq!(transmits(&mut r, t), [(ip("224.0.0.18"), 100)]);
                assert_eq!(r.stats().adverts_tx, sent + 1);
            } else {
                assert_eq!(events(&mut r), yielded);
                assert!(transmits(&mut r, t).is_empty());
            }
            // A backup now: the next deadline is the master-down timer, and it sends no more.
            assert_eq!(r.poll_timeout(), Some(t + r.master_down_interval()));
            let later = t + SEC;
            rx(&mut r, later, src, prio);
            r.handle_timeout(later);
            assert!(transmits(&mut r, later).is_empty());
        }
    }
}

#[test]
fn higher_prio_send_advert_reaches_every_unicast_peer() {
    let t0 = Instant::now();
    let cfg = base(100)
        .unicast_peer(ip("192.0.2.20"))
        .unicast_peer(ip("192.0.2.30"))
        .higher_prio_send_advert(true)
        .build()
        .unwrap();
    let mut r = VirtualRouter::new(cfg, t0);
    let t = to_master(&mut r, t0);
    let src = ip("192.0.2.20");
    let meta = RxMeta {
        src,
        dst: us(),
        ttl: TTL,
    };
    let addrs = [vip()];
    let repr = AdvertRepr {
        version: Version::V3,
        vrid: 7,
        priority: 200,
        interval_cs: 100,
        auth: Auth::None,
        addresses: &addrs,
    };
    let mut msg = vec![0u8; repr.buffer_len()];
    let n = repr.emit(&mut msg, src, us()).unwrap();
    r.handle_packet(t, meta, &msg[..n]);
    assert_eq!(r.state(), State::Backup);
    assert_eq!(
        transmits(&mut r, t),
        [(ip("192.0.2.20"), 100), (ip("192.0.2.30"), 100)]
    );
}

#[test]
fn v3_backup_adopts_master_interval_v2_does_not_need_to() {
    let t0 = Instant::now();
    let mut r = VirtualRouter::new(base(100).build().unwrap(), t0);
    let msg = advert(Version::V3, ip("192.0.2.20"), 200, 50);
    let meta = RxMeta {
        src: ip("192.0.2.20"),
        dst: ip("224.0.0.18"),
        ttl: TTL,
    };
    r.handle_packet(t0, meta, &msg);
    assert_eq!(r.master_adver_interval(), Duration::from_millis(500));
    // 3 * 0.5 s + 156 * 0.5 s / 256
    assert_eq!(
        r.poll_timeout(),
        Some(t0 + Duration::from_micros(1_804_687))
    );

    // v2 drops a mismatched interval (RFC 3768 §7.1) and reports it.
    let cfg = base(100).version(Version::V2).build().unwrap();
    let mut r2 = VirtualRouter::new(cfg, t0);
    events(&mut r2);
    let msg = advert(Version::V2, ip("192.0.2.20"), 200, 200);
    r2.handle_packet(t0, meta, &msg);
    assert!(matches!(
        events(&mut r2)[..],
        [Event::Dropped(DropReason::Invalid(_))]
    ));
    assert_eq!(r2.stats().dropped, 1);
    assert_eq!(r2.master(), None);
}

#[test]
fn drops_own_adverts_and_bad_packets() {
    let t0 = Instant::now();
    let mut r = VirtualRouter::new(base(100).build().unwrap(), t0);
    events(&mut r);
    rx(&mut r, t0, "192.0.2.10", 200);
    assert_eq!(events(&mut r), [Event::Dropped(DropReason::OwnAdvert)]);
    let meta = RxMeta {
        src: ip("192.0.2.20"),
        dst: ip("224.0.0.18"),
        ttl: 64,
    };
    r.handle_packet(t0, meta, &advert(Version::V3, ip("192.0.2.20"), 200, 100));
    let ev = events(&mut r);
    let [Event::Dropped(reason)] = ev[..] else {
        panic!("{ev:?}")
    };
    assert_eq!(reason.label(), "ttl");
    r.handle_packet(t0, RxMeta { ttl: TTL, ..meta }, &[0x31, 0x07]);
    assert!(matches!(events(&mut r)[..], [Event::Dropped(_)]));
    assert_eq!(r.master(), None);
}

#[test]
fn unicast_sends_one_advert_per_peer() {
    let t0 = Instant::now();
    let cfg = base(255)
        .unicast_peer(ip("192.0.2.20"))
        .unicast_peer(ip("192.0.2.30"))
        .build()
        .unwrap();
    let mut r = VirtualRouter::new(cfg, t0);
    assert_eq!(
        transmits(&mut r, t0),
        [(ip("192.0.2.20"), 255), (ip("192.0.2.30"), 255)]
    );
    assert_eq!(r.stats().adverts_tx, 2);
}

#[test]
fn tracker_weights_move_priority_and_trigger_preemption() {
    let t0 = Instant::now();
    let cfg = base(100).track(TrackerId(1), 60).build().unwrap();
    let mut r = VirtualRouter::new(cfg, t0);
    assert_eq!(r.priority(), 160);
    events(&mut r);
    rx(&mut r, t0, "192.0.2.20", 150);
    assert_eq!(
        r.master(),
        None,
        "lower master is discarded while we are 160"
    );
    r.set_tracker(t0, TrackerId(1), TrackerState::Down).unwrap();
    assert_eq!(
        events(&mut r),
        [Event::PriorityChanged { from: 160, to: 100 }]
    );
    rx(&mut r, t0 + SEC, "192.0.2.20", 150);
    assert_eq!(r.master().unwrap().priority, 150);
    assert!(r.set_tracker(t0, TrackerId(2), TrackerState::Down).is_err());
}

#[test]
fn weight_zero_tracker_faults_and_recovers_to_backup() {
    let t0 = Instant::now();
    let cfg = base(100).track(TrackerId(3), 0).build().unwrap();
    let mut r = VirtualRouter::new(cfg, t0);
    let t = to_master(&mut r, t0);
    r.set_tracker(t, TrackerId(3), TrackerState::Down).unwrap();
    assert_eq!(r.state(), State::Fault);
    assert_eq!(
        events(&mut r),
        [
            Event::RemoveVips,
            Event::StateChanged {
                from: State::Master,
                to: State::Fault,
                reason: Reason::Fault(TrackerId(3))
            }
        ]
    );
    // A faulted master tells the backups to take over now.
    assert_eq!(transmits(&mut r, t), [(ip("224.0.0.18"), 0)]);
    assert_eq!(r.poll_timeout(), None);
    rx(&mut r, t, "192.0.2.20", 50);
    assert_eq!(r.stats().ignored, 1);
    r.set_tracker(t + SEC, TrackerId(3), TrackerState::Up)
        .unwrap();
    assert_eq!(r.state(), State::Backup);
    assert_eq!(r.poll_timeout(), Some(t + SEC + r.master_down_interval()));
}

#[test]
fn starts_in_fault_when_a_weight_zero_tracker_starts_down() {
    let t0 = Instant::now();
    let cfg = base(255)
        .track_with_initial(TrackerId(1), 0, TrackerState::Down)
        .build()
        .unwrap();
    let mut r = VirtualRouter::new(cfg, t0);
    assert_eq!(r.state(), State::Fault);
    assert!(transmits(&mut r, t0).is_empty());
}

#[test]
fn shutdown_sends_priority_zero_and_stops() {
    let t0 = Instant::now();
    let mut r = VirtualRouter::new(base(100).build().unwrap(), t0);
    let t = to_master(&mut r, t0);
    r.shutdown(t);
    assert_eq!(r.state(), State::Initialize);
    assert_eq!(
        events(&mut r),
        [
            Event::RemoveVips,
            Event::StateChanged {
                from: State::Master,
                to: State::Initialize,
                reason: Reason::Shutdown
            }
        ]
    );
    assert_eq!(transmits(&mut r, t), [(ip("224.0.0.18"), 0)]);
    assert_eq!(r.poll_timeout(), None);
    assert_eq!(r.stats().priority_zero_tx, 1);
}

#[test]
fn small_buffer_is_reported_not_panicked() {
    let t0 = Instant::now();
    let mut r = VirtualRouter::new(base(255).build().unwrap(), t0);
    events(&mut r);
    let mut buf = [0u8; 4];
    assert_eq!(r.poll_transmit(t0, &mut buf), None);
    assert!(matches!(events(&mut r)[..], [Event::TransmitFailed(_)]));
}

#[test]
fn garp_refresh_repeats_while_master() {
    let t0 = Instant::now();
    let garp = vrrp_core::GarpSchedule {
        master_repeat: 2,
        master_delay: None,
        refresh: Some(10 * SEC),
        refresh_repeat: 3,
    };
    let mut r = VirtualRouter::new(base(255).garp(garp).build().unwrap(), t0);
    assert!(events(&mut r).contains(&Event::Announce { count: 2 }));
    let mut announces = 0;
    let mut now = t0;
    while now <= t0 + 35 * SEC {
        r.handle_timeout(now);
        transmits(&mut r, now);
        announces += events(&mut r)
            .iter()
            .filter(|e| **e == Event::Announce { count: 3 })
            .count();
        now = r.poll_timeout().unwrap();
    }
    assert_eq!(announces, 3);
}
