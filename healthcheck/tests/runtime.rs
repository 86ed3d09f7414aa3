//! The runtime: retry/alpha/warmup semantics with injected time, dedup fan-out, real-socket flows.

mod common;

use std::cell::RefCell;
use std::collections::VecDeque;
use std::net::{SocketAddr, TcpListener};
use std::rc::Rc;
use std::time::{Duration, Instant};

use healthcheck::{
    Change, CheckKind, CheckOutcome, CheckSpec, Checker, Context, Endpoint, Failure, FailureKind,
    HealthChecker, HealthEvent, MiscConfig, Progress, ServerState, Subscription, TcpConfig, Timing,
};
use mio::{Poll, Registry};

/// Finishes each attempt at once with the next scripted outcome; records start times.
struct Scripted {
    outcomes: VecDeque<CheckOutcome>,
    starts: Rc<RefCell<Vec<Instant>>>,
}

impl Checker for Scripted {
    fn start(&mut self, cx: &mut Context<'_>) -> Progress {
        self.starts.borrow_mut().push(cx.scheduled);
        Progress::Done(self.outcomes.pop_front().unwrap_or(CheckOutcome::Up))
    }
    fn ready(&mut self, _: &mut Context<'_>) -> Progress {
        Progress::Pending
    }
    fn deadline(&self) -> Instant {
        Instant::now()
    }
    fn timeout(&mut self, _: &mut Context<'_>) -> Progress {
        Progress::Pending
    }
    fn cancel(&mut self, _: &Registry) {}
    fn describe(&self) -> String {
        "scripted".into()
    }
}

fn fail(msg: &str) -> CheckOutcome {
    CheckOutcome::Down(Failure::new(FailureKind::Connect, msg))
}

fn sub(id: u64) -> Subscription {
    Subscription {
        id,
        inhibit_on_failure: id % 2 == 0,
    }
}

fn drain(hc: &mut HealthChecker) -> Vec<HealthEvent> {
    std::iter::from_fn(|| hc.poll_event()).collect()
}

#[test]
fn retry_spacing_and_state_changes_with_injected_time() {
    let poll = Poll::new().unwrap();
    let mut hc = HealthChecker::new(poll.registry(), 100).unwrap();
    let starts = Rc::new(RefCell::new(Vec::new()));
    let checker = Scripted {
        outcomes: [
            fail("f1"),
            fail("f2"),
            fail("f3"),
            fail("f4"),
            CheckOutcome::Up,
        ]
        .into(),
        starts: starts.clone(),
    };
    let s = Duration::from_secs;
    let timing = Timing::new(s(10))
        .with_retry(2, s(3))
        .with_warmup(Duration::ZERO);
    let t0 = Instant::now();
    let reg = hc.add_checker(Box::new(checker), timing, sub(1), t0);
    assert_eq!(reg.state, ServerState::Up);

    let mut now = t0;
    let mut log = Vec::new();
    for _ in 0..5 {
        now = hc.poll_timeout().unwrap();
        hc.handle_timeout(now);
        log.push((now - t0, drain(&mut hc)));
    }
    let times: Vec<_> = starts.borrow().iter().map(|t| *t - t0).collect();
    // Two retries 3 s apart, then down; the down server is probed again after delay_loop (10 s), where
    // the retry counter has restarted, so the fourth failure is absorbed and the success 3 s later wins.
    assert_eq!(times, vec![s(0), s(3), s(6), s(16), s(19)]);
    assert!(log[0].1.is_empty() && log[1].1.is_empty());
    match log[2].1.as_slice() {
        [HealthEvent {
            subscriber: 1,
            change: Change::Down { reason },
            ..
        }] => assert_eq!(reason.message, "f3"),
        other => panic!("{other:?}"),
    }
    assert!(log[3].1.is_empty());
    assert!(matches!(
        log[4].1.as_slice(),
        [HealthEvent {
            change: Change::Up,
            ..
        }]
    ));
    assert_eq!(hc.poll_timeout(), Some(now + s(10)));
    assert_eq!(hc.state(reg.check), Some(ServerState::Up));
}

#[test]
fn alpha_starts_down_and_warmup_scatters_first_checks() {
    let poll = Poll::new().unwrap();
    let mut hc = HealthChecker::new(poll.registry(), 0).unwrap();
    hc.set_seed(42);
    let t0 = Instant::now();
    let starts = Rc::new(RefCell::new(Vec::new()));
    let timing = Timing::new(Duration::from_secs(5)).with_alpha(true);
    for i in 0..200 {
        let c = Scripted {
            outcomes: VecDeque::new(),
            starts: starts.clone(),
        };
        let reg = hc.add_checker(Box::new(c), timing, sub(i), t0);
        assert_eq!(reg.state, ServerState::Down);
    }
    hc.handle_timeout(t0 + Duration::from_secs(5));
    let firsts = starts.borrow().clone();
    assert_eq!(
        firsts.len(),
        200,
        "every first check starts within warmup (= delay_loop)"
    );
    let spread = firsts
        .iter()
        .max()
        .unwrap()
        .duration_since(*firsts.iter().min().unwrap());
    assert!(
        spread > Duration::from_secs(3),
        "warmup did not scatter: {spread:?}"
    );
    let ups = drain(&mut hc)
        .into_iter()
        .filter(|e| e.change == Change::Up)
        .count();
    assert_eq!(ups, 200, "alpha: first success brings each server up");
}

#[test]
fn stuck_checker_is_failed_by_the_runtime() {
    struct Stuck(Instant);
    impl Checker for Stuck {
        fn start(&mut self, cx: &mut Context<'_>) -> Progress {
            self.0 = cx.now + Duration::from_secs(1);
            Progress::Pending
        }
        fn ready(&mut self, _: &mut Context<'_>) -> Progress {
            Progress::Pending
        }
        fn deadline(&self) -> Instant {
            self.0
        }
        fn timeout(&mut self, _: &mut Context<'_>) -> Progress {
            Progress::Pending
        }
        fn cancel(&mut self, _: &Registry) {}
        fn describe(&self) -> String {
            "stuck".into()
        }
    }
    let poll = Poll::new().unwrap();
    let mut hc = HealthChecker::new(poll.registry(), 0).unwrap();
    let t0 = Instant::now();
    let timing = Timing::new(Duration::from_secs(1))
        .with_retry(0, Duration::ZERO)
        .with_warmup(Duration::ZERO);
    hc.add_checker(Box::new(Stuck(t0)), timing, sub(1), t0);
    hc.handle_timeout(t0);
    assert_eq!(hc.poll_timeout(), Some(t0 + Duration::from_secs(1)));
    hc.handle_timeout(t0 + Duration::from_secs(1));
    let ev = drain(&mut hc);
    assert!(
        matches!(&ev[..], [HealthEvent { change: Change::Down { reason }, .. }] if reason.message == "stuck: timed out."),
        "{ev:?}"
    );
}

fn tcp_spec(addr: SocketAddr) -> CheckSpec {
    CheckSpec {
        kind: CheckKind::Tcp(TcpConfig {
            endpoint: Endpoint::new(addr),
            connect_timeout: Duration::from_millis(500),
        }),
        timing: Timing::new(Duration::from_millis(100))
            .with_retry(1, Duration::from_millis(50))
            .with_warmup(Duration::ZERO),
    }
}

#[test]
fn identical_checks_run_once_and_fan_out_and_follow_the_server() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut poll = Poll::new().unwrap();
    let mut hc = HealthChecker::new(poll.registry(), 10).unwrap();
    let now = Instant::now();
    let a = hc.add(tcp_spec(addr), sub(1), now).unwrap();
    let b = hc.add(tcp_spec(addr), sub(2), now).unwrap();
    assert_eq!(a.check, b.check);
    assert_eq!(hc.len(), 1);

    // Healthy: no events.
    let mut seen = Vec::new();
    hc.run_until(
        &mut poll,
        Instant::now() + Duration::from_millis(400),
        |e| {
            seen.push(e.clone());
            true
        },
    )
    .unwrap();
    assert!(seen.is_empty(), "{seen:?}");

    // Stop the server: one Down per subscriber, with keepalived's sentence and the inhibit flag.
    drop(listener);
    let t = Instant::now();
    hc.run_until(&mut poll, t + Duration::from_secs(3), |e| {
        seen.push(e.clone());
        seen.len() < 2
    })
    .unwrap();
    assert!(
        t.elapsed() < Duration::from_millis(600),
        "{:?}",
        t.elapsed()
    );
    let want = format!("TCP connection to [127.0.0.1]:tcp:{} failed.", addr.port());
    let mut subs: Vec<_> = seen
        .iter()
        .map(|e| match &e.change {
            Change::Down { reason } => {
                assert_eq!(reason.message, want);
                (e.subscriber, e.inhibit_on_failure)
            }
            other => panic!("{other:?}"),
        })
        .collect();
    subs.sort();
    assert_eq!(subs, vec![(1, false), (2, true)]);

    // A late subscriber learns the current state.
    let c = hc.add(tcp_spec(addr), sub(3), Instant::now()).unwrap();
    assert_eq!(c.state, ServerState::Down);

    // Start it again: back up.
    let _listener = TcpListener::bind(addr).unwrap();
    seen.clear();
    hc.run_until(&mut poll, Instant::now() + Duration::from_secs(3), |e| {
        seen.push(e.clone());
        seen.len() < 3
    })
    .unwrap();
    assert_eq!(seen.len(), 3);
    assert!(seen.iter().all(|e| e.change == Change::Up));

    // Unsubscribing everyone stops the checker.
    assert!(hc.remove(a.check, 1));
    assert!(hc.remove(a.check, 2));
    assert_eq!(hc.len(), 1);
    assert!(hc.remove(a.check, 3));
    assert_eq!(hc.len(), 0);
    assert_eq!(hc.poll_timeout(), None);
}

#[test]
fn misc_dynamic_through_the_runtime() {
    let mut poll = Poll::new().unwrap();
    let mut hc = HealthChecker::new(poll.registry(), 0).unwrap();
    let spec = CheckSpec {
        kind: CheckKind::Misc(MiscConfig {
            path: "/bin/sh -c 'exit 12'".into(),
            timeout: None,
            dynamic: true,
            run_as: None,
        }),
        timing: Timing::misc(Duration::from_secs(1))
            .with_alpha(true)
            .with_warmup(Duration::ZERO),
    };
    hc.add(spec, sub(5), Instant::now()).unwrap();
    let mut seen = Vec::new();
    hc.run_until(&mut poll, Instant::now() + Duration::from_secs(3), |e| {
        seen.push(e.change.clone());
        seen.len() < 2
    })
    .unwrap();
    assert_eq!(seen, vec![Change::Up, Change::WeightChanged { weight: 10 }]);
}

/// Answers `outcome` at `delay` after each start, through the runtime's deadline path.
struct Slow {
    delay: Duration,
    outcome: CheckOutcome,
    deadline: Instant,
}

impl Checker for Slow {
    fn start(&mut self, cx: &mut Context<'_>) -> Progress {
        self.deadline = cx.now + self.delay;
        Progress::Pending
    }
    fn ready(&mut self, _: &mut Context<'_>) -> Progress {
        Progress::Pending
    }
    fn deadline(&self) -> Instant {
        self.deadline
    }
    fn timeout(&mut self, _: &mut Context<'_>) -> Progress {
        Progress::Done(self.outcome.clone())
    }
    fn cancel(&mut self, _: &Registry) {}
    fn describe(&self) -> String {
        "slow".into()
    }
}

#[test]
fn probe_records_carry_result_and_duration_from_start_to_verdict() {
    use healthcheck::{Probe, ProbeResult};
    let poll = Poll::new().unwrap();
    let mut hc = HealthChecker::new(poll.registry(), 0).unwrap();
    hc.record_probes(8);
    let t0 = Instant::now();
    let timing = Timing::new(Duration::from_secs(10)).with_warmup(Duration::ZERO);
    let slow = |outcome| {
        Box::new(Slow {
            delay: Duration::from_millis(250),
            outcome,
            deadline: t0,
        })
    };
    let ok = hc.add_checker(slow(CheckOutcome::UpWithWeight(4)), timing, sub(1), t0);
    let ko = hc.add_checker(
        slow(CheckOutcome::Down(Failure::new(
            FailureKind::ReadTimeout,
            "x",
        ))),
        timing,
        sub(2),
        t0,
    );
    // The loop starts them 5 ms late: lateness is not part of the probe.
    hc.handle_timeout(t0 + Duration::from_millis(5));
    assert_eq!(hc.poll_probe(), None);
    hc.handle_timeout(t0 + Duration::from_millis(255));
    let mut got: Vec<Probe> = std::iter::from_fn(|| hc.poll_probe()).collect();
    got.sort_by_key(|p| p.subscriber);
    assert_eq!(
        got,
        vec![
            Probe {
                check: ok.check,
                subscriber: 1,
                result: ProbeResult::Success,
                duration: Duration::from_millis(250),
            },
            Probe {
                check: ko.check,
                subscriber: 2,
                result: ProbeResult::Failure(FailureKind::ReadTimeout),
                duration: Duration::from_millis(250),
            },
        ]
    );
    assert_eq!(hc.probes_dropped(), 0);
}

#[test]
fn probes_of_a_shared_check_reach_every_subscriber_over_real_sockets() {
    use healthcheck::ProbeResult;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let up: SocketAddr = listener.local_addr().unwrap();
    let refused: SocketAddr = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let mut poll = Poll::new().unwrap();
    let mut hc = HealthChecker::new(poll.registry(), 0).unwrap();
    // Not asked for: no records.
    let spec = |addr| CheckSpec {
        kind: CheckKind::Tcp(TcpConfig {
            endpoint: Endpoint::new(addr),
            connect_timeout: Duration::from_secs(1),
        }),
        timing: Timing::new(Duration::from_secs(10)).with_warmup(Duration::ZERO),
    };
    let now = Instant::now();
    hc.add(spec(up), sub(1), now).unwrap();
    hc.run_until(&mut poll, now + Duration::from_millis(300), |_| true)
        .unwrap();
    assert_eq!(hc.poll_probe(), None);

    let mut hc = HealthChecker::new(poll.registry(), 100).unwrap();
    hc.record_probes(16);
    let now = Instant::now();
    let shared = hc.add(spec(up), sub(1), now).unwrap();
    assert_eq!(hc.add(spec(up), sub(3), now).unwrap().check, shared.check);
    let bad = hc.add(spec(refused), sub(5), now).unwrap();
    let started = Instant::now();
    hc.run_until(&mut poll, now + Duration::from_millis(500), |_| true)
        .unwrap();
    let probes: Vec<_> = std::iter::from_fn(|| hc.poll_probe()).collect();
    let of = |s: u64| {
        probes
            .iter()
            .filter(|p| p.subscriber == s)
            .collect::<Vec<_>>()
    };
    for s in [1, 3] {
        let p = of(s);
        assert_eq!(p.len(), 1, "{probes:?}");
        assert_eq!(
            (p[0].check, p[0].result),
            (shared.check, ProbeResult::Success)
        );
        assert!(p[0].duration < started.elapsed(), "{probes:?}");
    }
    // The refused one retries (TCP_CHECK's default retry 1): one record per attempt.
    let p = of(5);
    assert!(!p.is_empty(), "{probes:?}");
    assert!(p
        .iter()
        .all(|p| p.check == bad.check && p.result == ProbeResult::Failure(FailureKind::Connect)));
    drop(listener);
}

/// Waits for one datagram on a socket whose peer the test controls, like a connect waiting for its
/// SYN-ACK: the reply can arrive while nobody is polling.
struct AwaitDatagram {
    sock: std::net::UdpSocket,
    timeout: Duration,
    deadline: Instant,
}

impl Checker for AwaitDatagram {
    fn start(&mut self, cx: &mut Context<'_>) -> Progress {
        self.deadline = cx.now + self.timeout;
        self.ready(cx)
    }
    fn ready(&mut self, _: &mut Context<'_>) -> Progress {
        match self.sock.recv(&mut [0; 16]) {
            Ok(_) => Progress::Done(CheckOutcome::Up),
            Err(_) => Progress::Pending,
        }
    }
    fn deadline(&self) -> Instant {
        self.deadline
    }
    fn timeout(&mut self, _: &mut Context<'_>) -> Progress {
        Progress::Done(CheckOutcome::Down(Failure::new(
            FailureKind::ConnectTimeout,
            "no datagram: timed out.",
        )))
    }
    fn cancel(&mut self, _: &Registry) {}
    fn describe(&self) -> String {
        "datagram".into()
    }
}

/// A checker whose peer is `peer` (connected both ways, so the test can answer or stay silent).
fn await_datagram(timeout: Duration) -> (AwaitDatagram, std::net::UdpSocket) {
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let peer = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.connect(peer.local_addr().unwrap()).unwrap();
    peer.connect(sock.local_addr().unwrap()).unwrap();
    sock.set_nonblocking(true).unwrap();
    let checker = AwaitDatagram {
        sock,
        timeout,
        deadline: Instant::now(),
    };
    (checker, peer)
}

#[test]
fn a_reply_that_arrived_while_the_loop_was_blocked_counts_and_silence_still_times_out() {
    let poll = Poll::new().unwrap();
    let mut hc = HealthChecker::new(poll.registry(), 100).unwrap();
    let timeout = Duration::from_millis(50);
    // `answered` starts down (alpha) and must come up; `silent` starts up and must go down.
    let (answered, peer) = await_datagram(timeout);
    let (silent, _silent_peer) = await_datagram(timeout);
    let t0 = Instant::now();
    let timing = Timing::new(Duration::from_secs(10))
        .with_retry(0, Duration::ZERO)
        .with_warmup(Duration::ZERO);
    let a = hc.add_checker(Box::new(answered), timing.with_alpha(true), sub(1), t0);
    let s = hc.add_checker(Box::new(silent), timing, sub(3), t0);
    hc.handle_timeout(t0);
    assert!(drain(&mut hc).is_empty());

    // The server answers at once, but the daemon's loop is busy elsewhere for longer than the
    // timeout, and then handles expired deadlines before (or without) the readiness events.
    peer.send(b"pong").unwrap();
    std::thread::sleep(timeout * 3);
    hc.handle_timeout(Instant::now());

    let ev = drain(&mut hc);
    assert_eq!(hc.state(a.check), Some(ServerState::Up), "{ev:?}");
    assert_eq!(hc.state(s.check), Some(ServerState::Down), "{ev:?}");
    assert!(
        ev.iter()
            .any(|e| e.subscriber == 1 && e.change == Change::Up),
        "{ev:?}"
    );
    assert!(
        ev.iter().any(|e| e.subscriber == 3
            && matches!(&e.change, Change::Down { reason } if reason.message == "no datagram: timed out.")),
        "{ev:?}"
    );
}

#[test]
fn a_check_started_late_gets_its_whole_timeout_from_its_actual_start() {
    let poll = Poll::new().unwrap();
    let mut hc = HealthChecker::new(poll.registry(), 100).unwrap();
    let timeout = Duration::from_secs(3);
    let (checker, _peer) = await_datagram(timeout);
    let t0 = Instant::now();
    let timing = Timing::new(Duration::from_secs(10)).with_warmup(Duration::ZERO);
    hc.add_checker(Box::new(checker), timing, sub(1), t0);
    // Due at t0, started 5 s late: the deadline counts from the start, not from t0.
    let late = t0 + Duration::from_secs(5);
    hc.handle_timeout(late);
    assert_eq!(hc.poll_timeout(), Some(late + timeout));
    hc.handle_timeout(late + timeout - Duration::from_millis(1));
    assert!(drain(&mut hc).is_empty());
}

#[test]
fn a_large_batch_started_with_a_stale_clock_counts_timeouts_from_the_actual_starts() {
    let poll = Poll::new().unwrap();
    let mut hc = HealthChecker::new(poll.registry(), 100).unwrap();
    let timeout = Duration::from_millis(50);
    let timing = Timing::new(Duration::from_secs(10))
        .with_retry(0, Duration::ZERO)
        .with_warmup(Duration::ZERO);
    let t0 = Instant::now();
    let mut peers = Vec::new();
    for id in 0..128 {
        let (checker, peer) = await_datagram(timeout);
        peers.push(peer);
        hc.add_checker(Box::new(checker), timing, sub(id * 2 + 1), t0);
    }
    // The caller's `now` was taken before its loop was held up for longer than the timeout.
    std::thread::sleep(timeout * 2);
    hc.handle_timeout(t0);
    assert!(drain(&mut hc).is_empty());
    // Only the attempts started before the runtime looked at the clock again have used up
    // their timeout by then; the others started at least `2 * timeout` after t0.
    hc.handle_timeout(t0 + timeout);
    let downs = drain(&mut hc).len();
    assert_eq!(downs, 64);
}
