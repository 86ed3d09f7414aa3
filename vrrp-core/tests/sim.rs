//! Deterministic simulation of VRRP routers on lossy, delaying, partitioned, crashing LANs.
//!
//! Every property is checked over 200 seeds; each seed picks the protocol version (v2 or v3), the
//! address family (IPv6 with v3 only), the advert interval, priorities and the network's delay.
//! A failure message names the seed, which replays the run exactly.

#[path = "sim/mod.rs"]
mod sim;

use std::net::IpAddr;
use std::time::Duration;

use sim::{NetConfig, NodeSpec, Rng, Sim};
use vrrp_core::timing::{master_down_interval, skew_time};
use vrrp_core::wire::{Auth, Version};
use vrrp_core::{Event, Reason, RouterConfig, RouterConfigBuilder, State, TrackerId, TrackerState};

const SEEDS: u64 = 200;

#[derive(Debug, Clone, Copy)]
struct Scenario {
    version: Version,
    v6: bool,
    /// Unicast peers instead of multicast (keepalived's `unicast_peer`).
    unicast: bool,
    /// v2 only: `auth_type PASS`.
    auth: Auth,
    interval: Duration,
    net: NetConfig,
}

impl Scenario {
    fn random(rng: &mut Rng) -> Self {
        let (version, v6, interval) = match rng.range(0, 3) {
            0 => (Version::V2, false, Duration::from_secs(rng.range(1, 2))),
            1 => (Version::V3, false, Duration::from_secs(1)),
            2 => (Version::V3, true, Duration::from_millis(100)),
            _ => (Version::V3, rng.chance(0.5), Duration::from_millis(10)),
        };
        // Delays well under the skew between adjacent priorities would make every run trivially
        // ordered; up to 2 % of the interval exercises reordering without breaking the RFC's
        // assumption that the LAN is fast compared to the interval.
        let delay_max = (interval / 50).min(Duration::from_millis(5));
        let net = NetConfig {
            loss: 0.0,
            delay_min: delay_max / 10,
            delay_max,
        };
        let auth = if version == Version::V2 && rng.chance(0.5) {
            Auth::simple(b"s3cret")
        } else {
            Auth::None
        };
        Scenario {
            version,
            v6,
            unicast: rng.chance(0.25),
            auth,
            interval,
            net,
        }
    }

    fn addr(&self, host: u8) -> IpAddr {
        if self.v6 {
            IpAddr::V6(std::net::Ipv6Addr::new(
                0x2001,
                0xdb8,
                0,
                0,
                0,
                0,
                0,
                u16::from(host),
            ))
        } else {
            IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, host))
        }
    }

    /// Router `vrid` on `host`; `hosts` are all the hosts running this VRID (the unicast peers).
    fn config(&self, vrid: u8, host: u8, priority: u8, hosts: &[u8]) -> RouterConfigBuilder {
        let mut b = RouterConfig::builder(vrid, self.addr(host))
            .version(self.version)
            .priority(priority)
            .advert_interval(self.interval)
            .auth(self.auth)
            .vip(self.addr(200 + vrid % 50));
        if self.unicast {
            for &peer in hosts.iter().filter(|&&h| h != host) {
                b = b.unicast_peer(self.addr(peer));
            }
        }
        b
    }

    fn master_down(&self, priority: u8) -> Duration {
        master_down_interval(self.version, priority, self.interval)
    }

    fn skew(&self, priority: u8) -> Duration {
        skew_time(self.version, priority, self.interval)
    }
}

/// `n` distinct priorities in 1..=254, sometimes with an address owner.
fn distinct_priorities(rng: &mut Rng, n: usize) -> Vec<u8> {
    let mut out: Vec<u8> = Vec::new();
    while out.len() < n {
        let p = if out.is_empty() && rng.chance(0.1) {
            255
        } else {
            rng.range(1, 254) as u8
        };
        if !out.contains(&p) {
            out.push(p);
        }
    }
    out
}

/// A LAN of single-router nodes, node i at host address 10 + i. Nodes are not started.
fn lan(seed: u64, sc: &Scenario, priorities: &[u8]) -> Sim {
    let mut sim = Sim::new(seed, sc.net);
    let hosts: Vec<u8> = (0..priorities.len()).map(|i| 10 + i as u8).collect();
    for (i, &p) in priorities.iter().enumerate() {
        let cfg = sc.config(1, hosts[i], p, &hosts).build().unwrap();
        sim.add_node(0, NodeSpec::Routers(vec![cfg]));
    }
    sim
}

fn best(priorities: &[u8], alive: impl Fn(usize) -> bool) -> usize {
    (0..priorities.len())
        .filter(|&i| alive(i))
        .max_by_key(|&i| (priorities[i], i))
        .unwrap()
}

/// Starts every node at a random offset within three intervals, runs until settled.
fn start_staggered(sim: &mut Sim, sc: &Scenario, rng: &mut Rng) {
    let mut order: Vec<usize> = (0..sim.nodes.len()).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.range(0, i as u64) as usize);
    }
    for n in order {
        let gap = rng.duration(Duration::ZERO, sc.interval);
        sim.run_for(gap);
        sim.start(n);
    }
}

fn settle(sim: &mut Sim, sc: &Scenario) {
    sim.run_for(sc.master_down(1) * 2 + sc.interval * 2);
}

fn assert_single_master(sim: &Sim, expected: usize, ctx: &str) {
    assert_eq!(sim.masters(0), vec![expected], "{ctx}: masters");
    let expected_addr = sim.nodes[expected].router(0).unwrap().config().primary();
    for (i, n) in sim.nodes.iter().enumerate() {
        if i != expected && n.is_up() {
            assert_eq!(n.state(0), State::Backup, "{ctx}: node {i}");
            let r = n.router(0).unwrap();
            assert_eq!(
                r.master().map(|m| m.addr),
                Some(expected_addr),
                "{ctx}: node {i} follows"
            );
        }
    }
}

#[test]
fn converges_to_the_highest_priority() {
    for seed in 0..SEEDS {
        let mut rng = Rng::new(seed);
        let mut sc = Scenario::random(&mut rng);
        sc.net.loss = *rng.pick(&[0.0, 0.02, 0.1]);
        let n = rng.range(2, 5) as usize;
        let prios = distinct_priorities(&mut rng, n);
        let mut sim = lan(seed, &sc, &prios);
        start_staggered(&mut sim, &sc, &mut rng);
        sim.run_for(sc.interval * 20);
        // Convergence is judged once the network stops losing packets.
        sim.net.loss = 0.0;
        settle(&mut sim, &sc);
        let ctx = format!("seed {seed} {sc:?} prios {prios:?}");
        assert_single_master(&sim, best(&prios, |_| true), &ctx);
    }
}

#[test]
fn equal_priorities_elect_the_highest_address() {
    for seed in 0..SEEDS {
        let mut rng = Rng::new(seed);
        let sc = Scenario::random(&mut rng);
        let n = rng.range(2, 5) as usize;
        let p = rng.range(1, 254) as u8;
        let prios = vec![p; n];
        let mut sim = lan(seed, &sc, &prios);
        // Simultaneous start: every router times out at the same instant, all become master,
        // and RFC 5798 §6.4.3's tie-break on the primary address must leave only the highest.
        for i in 0..n {
            sim.start(i);
        }
        settle(&mut sim, &sc);
        let ctx = format!("seed {seed} {sc:?} n {n} p {p}");
        assert_single_master(&sim, n - 1, &ctx);
        let reasons: Vec<Reason> = sim
            .records
            .iter()
            .filter_map(|r| match r.event {
                Event::StateChanged {
                    from: State::Master,
                    reason,
                    ..
                } => Some(reason),
                _ => None,
            })
            .collect();
        assert_eq!(reasons.len(), n - 1, "{ctx}");
        assert!(
            reasons
                .iter()
                .all(|r| *r == Reason::EqualPriorityHigherAddress),
            "{ctx}"
        );
    }
}

#[test]
fn failover_after_a_crash_is_bounded_by_master_down_interval() {
    for seed in 0..SEEDS {
        let mut rng = Rng::new(seed);
        let sc = Scenario::random(&mut rng);
        let n = rng.range(2, 4) as usize;
        let prios = distinct_priorities(&mut rng, n);
        let mut sim = lan(seed, &sc, &prios);
        start_staggered(&mut sim, &sc, &mut rng);
        settle(&mut sim, &sc);
        let old = best(&prios, |_| true);
        sim.run_for(rng.duration(Duration::ZERO, sc.interval));
        let crash_at = sim.elapsed();
        sim.crash(old);
        let next = best(&prios, |i| i != old);
        settle(&mut sim, &sc);
        let ctx = format!("seed {seed} {sc:?} prios {prios:?}");
        let first = sim.transitions_to(State::Master, crash_at);
        let took = first.first().expect("someone takes over").at - crash_at;
        // The best backup last heard the master at most one interval (plus delay) before the
        // crash; its timer then runs Master_Down_Interval. It cannot fire earlier than
        // Master_Down_Interval minus one interval after the crash.
        let upper = sc.master_down(prios[next]) + sc.net.delay_max;
        let lower = sc.master_down(prios[next]) - sc.interval;
        assert!(took <= upper, "{ctx}: failover took {took:?} > {upper:?}");
        let took_best = first.iter().find(|r| r.node == next).unwrap().at - crash_at;
        assert!(
            took_best >= lower,
            "{ctx}: failover after {took_best:?} < {lower:?}"
        );
        assert_single_master(&sim, next, &ctx);
    }
}

#[test]
fn graceful_shutdown_hands_over_within_skew_time() {
    for seed in 0..SEEDS {
        let mut rng = Rng::new(seed);
        let sc = Scenario::random(&mut rng);
        let n = rng.range(2, 4) as usize;
        let prios = distinct_priorities(&mut rng, n);
        let mut sim = lan(seed, &sc, &prios);
        start_staggered(&mut sim, &sc, &mut rng);
        settle(&mut sim, &sc);
        let old = best(&prios, |_| true);
        sim.run_for(rng.duration(Duration::ZERO, sc.interval));
        let stop_at = sim.elapsed();
        sim.shutdown(old);
        let next = best(&prios, |i| i != old);
        settle(&mut sim, &sc);
        let ctx = format!("seed {seed} {sc:?} prios {prios:?}");
        let first = sim.transitions_to(State::Master, stop_at)[0];
        assert_eq!(first.node, next, "{ctx}");
        assert!(
            matches!(
                first.event,
                Event::StateChanged {
                    reason: Reason::PriorityZero,
                    ..
                }
            ),
            "{ctx}: {first:?}"
        );
        let took = first.at - stop_at;
        let skew = sc.skew(prios[next]);
        assert!(
            took >= skew + sc.net.delay_min,
            "{ctx}: {took:?} < skew {skew:?}"
        );
        assert!(
            took <= skew + sc.net.delay_max,
            "{ctx}: {took:?} > skew {skew:?}"
        );
        assert_single_master(&sim, next, &ctx);
    }
}

#[test]
fn nopreempt_keeps_the_running_master() {
    for seed in 0..SEEDS {
        let mut rng = Rng::new(seed);
        let sc = Scenario::random(&mut rng);
        let low = rng.range(1, 200) as u8;
        let high = rng.range(u64::from(low) + 1, 254) as u8;
        let mut sim = Sim::new(seed, sc.net);
        sim.add_node(
            0,
            NodeSpec::Routers(vec![sc.config(1, 10, low, &[10, 11]).build().unwrap()]),
        );
        let h = sc
            .config(1, 11, high, &[10, 11])
            .nopreempt()
            .build()
            .unwrap();
        sim.add_node(0, NodeSpec::Routers(vec![h]));
        sim.start(0);
        settle(&mut sim, &sc);
        sim.start(1);
        let ctx = format!("seed {seed} {sc:?} low {low} high {high}");
        sim.run_for(sc.interval * 100);
        assert_single_master(&sim, 0, &ctx);
        // It still takes over when the master dies.
        sim.crash(0);
        settle(&mut sim, &sc);
        assert_eq!(sim.masters(0), vec![1], "{ctx}");
    }
}

#[test]
fn preempt_delay_is_honoured() {
    for seed in 0..SEEDS {
        let mut rng = Rng::new(seed);
        let sc = Scenario::random(&mut rng);
        let low = rng.range(1, 200) as u8;
        let high = rng.range(u64::from(low) + 1, 254) as u8;
        let delay = Duration::from_secs(rng.range(1, 30));
        let mut sim = Sim::new(seed, sc.net);
        sim.add_node(
            0,
            NodeSpec::Routers(vec![sc.config(1, 10, low, &[10, 11]).build().unwrap()]),
        );
        let h = sc
            .config(1, 11, high, &[10, 11])
            .preempt_delay(delay)
            .build()
            .unwrap();
        sim.add_node(0, NodeSpec::Routers(vec![h]));
        sim.start(0);
        settle(&mut sim, &sc);
        let started = sim.elapsed();
        sim.start(1);
        sim.run_for(delay + sc.master_down(high) + sc.interval * 3);
        let ctx = format!("seed {seed} {sc:?} low {low} high {high} delay {delay:?}");
        let took = sim.transitions_to(State::Master, started)[0];
        assert_eq!(took.node, 1, "{ctx}");
        let took = took.at - started;
        assert!(took >= delay, "{ctx}: preempted after {took:?}");
        let upper = delay + sc.interval + sc.net.delay_max + sc.master_down(high);
        assert!(took <= upper, "{ctx}: preempted after {took:?} > {upper:?}");
        assert_single_master(&sim, 1, &ctx);
    }
}

#[test]
fn partitions_heal_to_one_master_within_one_interval() {
    for seed in 0..SEEDS {
        let mut rng = Rng::new(seed);
        let sc = Scenario::random(&mut rng);
        let n = rng.range(3, 5) as usize;
        let prios = distinct_priorities(&mut rng, n);
        let mut sim = lan(seed, &sc, &prios);
        start_staggered(&mut sim, &sc, &mut rng);
        settle(&mut sim, &sc);
        let top = best(&prios, |_| true);
        // Cut the best router off: the others elect their own master.
        sim.partition[top] = 1;
        settle(&mut sim, &sc);
        let ctx = format!("seed {seed} {sc:?} prios {prios:?}");
        let second = best(&prios, |i| i != top);
        assert_eq!(
            sim.masters(0),
            {
                let mut v = vec![top, second];
                v.sort();
                v
            },
            "{ctx}: split brain while partitioned"
        );
        sim.run_for(rng.duration(Duration::ZERO, sc.interval));
        sim.partition[top] = 0;
        // Both masters advertise within an interval; the lower yields on the first advert it
        // hears from the higher.
        sim.run_for(sc.interval + sc.net.delay_max * 2);
        assert_eq!(sim.masters(0), vec![top], "{ctx}: after heal");
        // Backups may have accepted one last advert of the yielding master in flight; they
        // follow the right one after its next advert.
        sim.run_for(sc.interval);
        assert_single_master(&sim, top, &ctx);
    }
}

/// "No flapping" made precise: with 3 adverts per Master_Down_Interval and 10 % loss, a backup
/// may only take over when at least 3 consecutive adverts to it were lost (each such takeover is
/// checked against the actual loss log), the number of takeovers matches the statistics of loss
/// runs, and every dual-master episode ends within a few intervals with the rightful master.
#[test]
fn no_flapping_under_ten_percent_loss() {
    const INTERVALS: u32 = 2_000;
    let mut spurious_total = 0u64;
    let mut adverts_total = 0u64;
    for seed in 0..SEEDS {
        let mut rng = Rng::new(seed);
        let mut sc = Scenario::random(&mut rng);
        sc.net.loss = 0.1;
        let prios = [200, 100];
        let mut sim = lan(seed, &sc, &prios);
        sim.start(0);
        sim.run_for(sc.interval);
        sim.start(1);
        settle(&mut sim, &sc);
        let since = sim.elapsed();
        sim.wire_log = Some(Vec::new());
        sim.run_for(sc.interval * INTERVALS);
        sim.net.loss = 0.0;
        settle(&mut sim, &sc);
        let ctx = format!("seed {seed} {sc:?}");
        assert_single_master(&sim, 0, &ctx);
        let log = sim.wire_log.take().unwrap();
        let to_backup: Vec<_> = log.iter().filter(|w| w.from == 0 && w.to == 1).collect();
        adverts_total += to_backup.len() as u64;

        // The rightful master never leaves MASTER.
        let m_changes = sim
            .records
            .iter()
            .filter(|r| {
                r.node == 0 && r.at >= since && matches!(r.event, Event::StateChanged { .. })
            })
            .count();
        assert_eq!(m_changes, 0, "{ctx}: master changed state");

        let takeovers: Vec<_> = sim
            .transitions_to(State::Master, since)
            .into_iter()
            .filter(|r| r.node == 1)
            .collect();
        spurious_total += takeovers.len() as u64;
        for t in &takeovers {
            // The three most recent adverts that had time to arrive must all have been lost.
            let cutoff = t.at - sc.net.delay_max;
            let recent: Vec<_> = to_backup
                .iter()
                .filter(|w| w.sent <= cutoff)
                .rev()
                .take(3)
                .collect();
            assert!(
                recent.len() == 3 && recent.iter().all(|w| w.lost),
                "{ctx}: takeover at {:?} without 3 consecutive losses: {recent:?}",
                t.at
            );
            // The episode ends: the backup is back in BACKUP within a few intervals.
            let back = sim
                .records
                .iter()
                .find(|r| {
                    r.node == 1
                        && r.at > t.at
                        && matches!(
                            r.event,
                            Event::StateChanged {
                                to: State::Backup,
                                ..
                            }
                        )
                })
                .expect("episode ends");
            assert!(
                back.at - t.at <= sc.interval * 6,
                "{ctx}: episode of {:?}",
                back.at - t.at
            );
        }
    }
    // A takeover needs 3 consecutive losses: about p^3 (1 - p) runs per advert.
    let expected = adverts_total as f64 * 0.001 * 0.9;
    // Poisson: within 5 standard deviations either way.
    let (lo, hi) = (
        expected - 5.0 * expected.sqrt(),
        expected + 5.0 * expected.sqrt(),
    );
    println!(
        "{adverts_total} adverts at 10 % loss: {spurious_total} takeovers, expected ~{expected:.0}"
    );
    let observed = spurious_total as f64;
    assert!(
        observed <= hi,
        "{spurious_total} takeovers > {hi:.0}: flapping"
    );
    assert!(
        observed >= lo,
        "{spurious_total} takeovers < {lo:.0}: the loss model is off"
    );
}

#[test]
fn sync_group_members_always_agree() {
    for seed in 0..SEEDS {
        let mut rng = Rng::new(seed);
        let sc = Scenario::random(&mut rng);
        let mut sim = Sim::new(seed, sc.net);
        // Two directors, each with an "outside" (VRID 1) and "inside" (VRID 2) instance.
        let group = |host: u8, prio: u8| {
            NodeSpec::Group(
                [1u8, 2]
                    .iter()
                    .map(|&vrid| {
                        sc.config(
                            vrid,
                            host + vrid * 50,
                            prio,
                            &[10 + vrid * 50, 11 + vrid * 50],
                        )
                        .track(TrackerId(1), 0)
                        .build()
                        .unwrap()
                    })
                    .collect(),
            )
        };
        let px = rng.range(101, 254) as u8;
        let py = rng.range(1, 100) as u8;
        let x = sim.add_node(0, group(10, px));
        let y = sim.add_node(0, group(11, py));
        start_staggered(&mut sim, &sc, &mut rng);
        settle(&mut sim, &sc);
        let ctx = format!("seed {seed} {sc:?}");
        check_groups(&sim, Some(x), &format!("{ctx} start"));

        let mut faulted = [[false; 2]; 2];
        for step in 0..8 {
            let node = rng.range(0, 1) as usize;
            match rng.range(0, 3) {
                0 | 1 => {
                    let member = rng.range(0, 1) as usize;
                    faulted[node][member] = !faulted[node][member];
                    let st = if faulted[node][member] {
                        TrackerState::Down
                    } else {
                        TrackerState::Up
                    };
                    sim.set_tracker(node, member, TrackerId(1), st);
                }
                2 => {
                    sim.crash(node);
                    faulted[node] = [false; 2];
                    sim.run_for(rng.duration(Duration::ZERO, sc.interval * 5));
                    sim.start(node);
                }
                _ => {
                    sim.shutdown(node);
                    faulted[node] = [false; 2];
                    sim.run_for(rng.duration(Duration::ZERO, sc.interval * 5));
                    sim.start(node);
                }
            }
            settle(&mut sim, &sc);
            let healthy = |n: usize| !faulted[n].iter().any(|f| *f);
            let expect = if healthy(x) {
                Some(x)
            } else if healthy(y) {
                Some(y)
            } else {
                None
            };
            check_groups(
                &sim,
                expect,
                &format!("{ctx} step {step} faults {faulted:?}"),
            );
        }
    }
}

/// Both members of each group in the same state; each VRID has exactly the expected master.
fn check_groups(sim: &Sim, master: Option<usize>, ctx: &str) {
    for (i, n) in sim.nodes.iter().enumerate() {
        assert_eq!(n.state(0), n.state(1), "{ctx}: node {i} members disagree");
    }
    for member in 0..2 {
        assert_eq!(
            sim.masters(member),
            master.into_iter().collect::<Vec<_>>(),
            "{ctx}: member {member}"
        );
    }
}

/// Random crashes, restarts, graceful stops, partitions, loss and tracker changes (which reorder
/// the effective priorities and force preemptions); once the network heals and every node is
/// up, exactly one master remains: the best effective priority.
#[test]
fn chaos_converges_once_healed() {
    const WEIGHT: i16 = -51; // odd, bases even: an up router never ties with a down one
    for seed in 0..SEEDS {
        let mut rng = Rng::new(seed);
        let mut sc = Scenario::random(&mut rng);
        let n = rng.range(2, 5) as usize;
        let mut bases: Vec<u8> = Vec::new();
        while bases.len() < n {
            let p = 2 * rng.range(30, 127) as u8;
            if !bases.contains(&p) {
                bases.push(p);
            }
        }
        let mut sim = Sim::new(seed, sc.net);
        let hosts: Vec<u8> = (0..n).map(|i| 10 + i as u8).collect();
        for (i, &p) in bases.iter().enumerate() {
            let cfg = sc
                .config(1, hosts[i], p, &hosts)
                .track(TrackerId(1), WEIGHT)
                .build()
                .unwrap();
            sim.add_node(0, NodeSpec::Routers(vec![cfg]));
        }
        start_staggered(&mut sim, &sc, &mut rng);
        let mut down = vec![false; n];
        let mut log = Vec::new();
        for _ in 0..30 {
            let node = rng.range(0, n as u64 - 1) as usize;
            let op = rng.range(0, 6);
            log.push((op, node));
            match op {
                // A restarted node reports its trackers afresh (up).
                0 => {
                    sim.crash(node);
                    down[node] = false;
                }
                1 => {
                    sim.shutdown(node);
                    down[node] = false;
                }
                2 if !sim.nodes[node].is_up() => sim.start(node),
                3 => sim.partition[node] = rng.range(0, 2) as u32,
                4 => sim.net.loss = *rng.pick(&[0.0, 0.05, 0.1, 0.3]),
                _ if sim.nodes[node].is_up() => {
                    down[node] = !down[node];
                    let st = if down[node] {
                        TrackerState::Down
                    } else {
                        TrackerState::Up
                    };
                    sim.set_tracker(node, 0, TrackerId(1), st);
                }
                _ => {}
            }
            sim.run_for(rng.duration(Duration::ZERO, sc.master_down(1) * 2));
        }
        // Heal everything.
        sc.net.loss = 0.0;
        sim.net.loss = 0.0;
        sim.partition.iter_mut().for_each(|p| *p = 0);
        for node in 0..n {
            if !sim.nodes[node].is_up() {
                sim.start(node);
            }
        }
        settle(&mut sim, &sc);
        let effective: Vec<u8> = (0..n)
            .map(|i| sim.nodes[i].router(0).unwrap().priority())
            .collect();
        for i in 0..n {
            let expected = if down[i] { bases[i] - 51 } else { bases[i] };
            assert_eq!(effective[i], expected, "seed {seed}: node {i} priority");
        }
        let ctx = format!("seed {seed} {sc:?} bases {bases:?} down {down:?} ops {log:?}");
        assert_single_master(&sim, best(&effective, |_| true), &ctx);
    }
}
