//! criterion benchmarks: vrrp_engine.
//!
//! * `backup_handle_packet`: the steady-state hot path, a backup receiving its master's advert
//!   (validation + state machine), goal <= 50 ns.
//! * `master_advert_tx`: a master's timer firing and the advert being written.
//! * `sim_2000_routers_1s`: one virtual second of the large simulation below.
//! * After the criterion groups, `cargo bench` (not `cargo test`) prints two measurements taken
//!   with on-CPU time (`/proc/thread-self/schedstat`), which a machine shared with compilers does
//!   not inflate the way it inflates wall time:
//!   - `handle_packet_on_cpu`: `backup_handle_packet` again;
//!   - `sim_one_hour`: the large simulation for one virtual hour, wall and on-CPU time: 2,000
//!     routers on 4 LAN segments (per segment two hosts, each running VRIDs 1..=250, one host
//!     master for all), 10 ms adverts, goal < 10 s wall. Every advert is emitted, delivered,
//!     validated (checksum included) and handled by the backup; `check` verifies the backups
//!     accepted exactly as many adverts as were sent. The segments are independent and run on
//!     `VRRP_SIM_THREADS` threads (default: one per core); `VRRP_SIM_SECS` overrides the
//!     virtual duration.
//!
//!   `cargo bench --bench vrrp_engine -- sim_one_hour` runs only the latter (see [`main`]).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion};
use vrrp_core::wire::{RxMeta, TTL};
use vrrp_core::{Event, RouterConfig, State, VirtualRouter};

const GROUP: IpAddr = IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18));

fn config(lan: u8, host: u8, vrid: u8, priority: u8) -> RouterConfig {
    RouterConfig::builder(vrid, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10 * lan + host)))
        .priority(priority)
        .advert_interval(Duration::from_millis(10))
        .vip(IpAddr::V4(Ipv4Addr::new(198, 51, 100, vrid)))
        .build()
        .expect("valid bench config")
}

fn drain(r: &mut VirtualRouter) -> usize {
    std::iter::from_fn(|| r.poll_event()).count()
}

/// A backup that follows a master, and that master's advert as received.
fn steady_backup() -> (VirtualRouter, RxMeta, Vec<u8>) {
    let t0 = Instant::now();
    let mut master = VirtualRouter::new(config(0, 1, 51, 255), t0);
    let mut buf = [0u8; 128];
    let tx = master
        .poll_transmit(t0, &mut buf)
        .expect("owner sends at once");
    let msg = buf[..tx.len].to_vec();
    let meta = RxMeta {
        src: tx.src,
        dst: tx.dst,
        ttl: TTL,
    };
    let mut backup = VirtualRouter::new(config(0, 2, 51, 100), t0);
    drain(&mut backup);
    backup.handle_packet(t0, meta, &msg);
    assert_eq!(
        backup.master().map(|m| m.addr),
        Some(tx.src),
        "the advert is accepted"
    );
    (backup, meta, msg)
}

fn backup_handle_packet(c: &mut Criterion) {
    let (mut backup, meta, msg) = steady_backup();
    let mut now = Instant::now();
    c.bench_function("backup_handle_packet", |b| {
        b.iter(|| {
            now += Duration::from_millis(10);
            backup.handle_packet(now, black_box(meta), black_box(&msg));
        })
    });
    assert_eq!(backup.state(), State::Backup);
    assert_eq!(drain(&mut backup), 0, "steady state produces no events");
}

fn master_advert_tx(c: &mut Criterion) {
    let t0 = Instant::now();
    let mut master = VirtualRouter::new(config(0, 1, 51, 255), t0);
    let mut buf = [0u8; 128];
    let mut now = t0;
    c.bench_function("master_advert_tx", |b| {
        b.iter(|| {
            now += Duration::from_millis(10);
            master.handle_timeout(now);
            let tx = master.poll_transmit(now, &mut buf);
            drain(&mut master);
            black_box(tx)
        })
    });
}

/// The deadline queue of one segment: a calendar queue (timing wheel). Keys (see
/// [`Segment::key`]) are filed by tick (`key >> SLOT_SHIFT`, about 1 ms of virtual time) into
/// `SLOTS` slots; a slot is sorted once when the wheel reaches it. A push is a `Vec::push` and a
/// pop an index increment, where a binary heap of the segment's 500 deadlines paid ~9 levels
/// of unpredictable comparisons per pop. Keys beyond the wheel's horizon wait in a heap.
struct Wheel {
    slots: Vec<Vec<u64>>,
    /// Tick of the slot being drained.
    tick: u64,
    /// The keys of `tick`, sorted; `head` is the next one.
    current: Vec<u64>,
    head: usize,
    /// Keys at or beyond `tick + SLOTS`, moved into their slot as the wheel turns.
    far: BinaryHeap<Reverse<u64>>,
    len: usize,
}

/// A key is virtual time in units of 2^-30 s shifted left by 10 (see [`Segment::key`]), so a
/// tick of 2^30 key units is 2^20 units of time: 2^20 / 2^30 s, about 1 ms.
const SLOT_SHIFT: u32 = 30;
/// 128 ticks, about 125 ms: every deadline of the simulation (10 ms adverts, ~36 ms
/// master-down) lands on the wheel; only the 5 s GARP timers go to the far heap.
const SLOTS: u64 = 128;

impl Wheel {
    fn new() -> Self {
        Wheel {
            slots: (0..SLOTS).map(|_| Vec::new()).collect(),
            tick: 0,
            current: Vec::new(),
            head: 0,
            far: BinaryHeap::new(),
            len: 0,
        }
    }

    fn push(&mut self, key: u64) {
        self.len += 1;
        let tick = key >> SLOT_SHIFT;
        if tick <= self.tick {
            // Due within the slot being drained: keep its undrained part sorted.
            let pos = self.head + self.current[self.head..].partition_point(|&k| k < key);
            self.current.insert(pos, key);
        } else if tick < self.tick + SLOTS {
            self.slots[(tick % SLOTS) as usize].push(key);
        } else {
            self.far.push(Reverse(key));
        }
    }

    /// The smallest key, turning the wheel as far as needed.
    fn peek(&mut self) -> Option<u64> {
        while self.head == self.current.len() {
            if self.len == 0 {
                return None;
            }
            self.turn();
        }
        Some(self.current[self.head])
    }

    fn pop(&mut self) -> Option<u64> {
        let key = self.peek()?;
        self.head += 1;
        self.len -= 1;
        Some(key)
    }

    /// Moves to the next tick: its slot becomes `current` (the drained vector takes its place,
    /// so no allocation once the slots have grown), and far keys now within the horizon land
    /// on the wheel.
    fn turn(&mut self) {
        self.tick += 1;
        while let Some(&Reverse(key)) = self.far.peek() {
            let tick = key >> SLOT_SHIFT;
            if tick >= self.tick + SLOTS {
                break;
            }
            self.far.pop();
            self.slots[(tick % SLOTS) as usize].push(key);
        }
        self.current.clear();
        self.head = 0;
        std::mem::swap(
            &mut self.current,
            &mut self.slots[(self.tick % SLOTS) as usize],
        );
        self.current.sort_unstable();
    }
}

/// One LAN segment: host 0 (priority 200) and host 1 (priority 100) each run VRIDs 1..=N.
struct Segment {
    hosts: [Vec<VirtualRouter>; 2],
    /// Deadlines as packed keys (see [`Segment::key`]); `scheduled` says which are current.
    queue: Wheel,
    t0: Instant,
    /// The current queue entry of each router: its key and its deadline.
    scheduled: [Vec<Option<(u64, Instant)>>; 2],
    adverts: u64,
    transitions: u64,
}

impl Segment {
    fn new(lan: u8, vrids: u8, t0: Instant) -> Self {
        let host = |h: u8, prio| -> Vec<VirtualRouter> {
            (1..=vrids)
                .map(|vrid| VirtualRouter::new(config(lan, h, vrid, prio), t0))
                .collect()
        };
        let mut seg = Segment {
            hosts: [host(0, 200), host(1, 100)],
            queue: Wheel::new(),
            t0,
            scheduled: [
                vec![None; usize::from(vrids)],
                vec![None; usize::from(vrids)],
            ],
            adverts: 0,
            transitions: 0,
        };
        for h in 0..2 {
            for i in 0..usize::from(vrids) {
                seg.settle(h, i);
            }
        }
        seg
    }

    /// Time since start in the high bits, host and router in the low 10 bits: one integer
    /// comparison per queue step instead of a tuple of `Instant`s. Time is seconds << 30 plus
    /// nanoseconds (< 2^30): ordered like nanoseconds without a 128-bit multiplication, and
    /// 54 bits of it last 190 days.
    fn key(&self, t: Instant, h: usize, i: usize) -> u64 {
        let d = t.saturating_duration_since(self.t0);
        let time = (d.as_secs() << 30) | u64::from(d.subsec_nanos());
        (time << 10) | ((h as u64) << 9) | i as u64
    }

    /// Drains router (h, i)'s events and makes sure its next deadline is queued.
    fn settle(&mut self, h: usize, i: usize) {
        let r = &mut self.hosts[h][i];
        while let Some(e) = r.poll_event() {
            if matches!(e, Event::StateChanged { .. }) {
                self.transitions += 1;
            }
        }
        if let Some(t) = r.poll_timeout() {
            let earlier = match self.scheduled[h][i] {
                Some((_, s)) => t < s,
                None => true,
            };
            if earlier {
                let key = self.key(t, h, i);
                self.scheduled[h][i] = Some((key, t));
                self.queue.push(key);
            }
        }
    }

    fn run_until(&mut self, end: Instant, buf: &mut [u8]) {
        let end_key = self.key(end, 1, 511);
        while let Some(key) = self.queue.peek() {
            if key > end_key {
                break;
            }
            self.queue.pop();
            let (h, i) = (((key >> 9) & 1) as usize, (key & 511) as usize);
            let Some((current, t)) = self.scheduled[h][i] else {
                continue;
            };
            if current != key {
                continue; // superseded by an earlier entry
            }
            self.scheduled[h][i] = None;
            let r = &mut self.hosts[h][i];
            if r.poll_timeout().is_some_and(|actual| actual > t) {
                self.settle(h, i); // the deadline moved later (a backup heard its master)
                continue;
            }
            r.handle_timeout(t);
            while let Some(tx) = self.hosts[h][i].poll_transmit(t, buf) {
                self.adverts += 1;
                // Zero-delay LAN: the other host's socket demultiplexes by VRID.
                let meta = RxMeta {
                    src: tx.src,
                    dst: GROUP,
                    ttl: TTL,
                };
                self.hosts[1 - h][i].handle_packet(t, meta, &buf[..tx.len]);
                self.settle(1 - h, i);
            }
            self.settle(h, i);
        }
    }
}

struct BigSim {
    segments: Vec<Segment>,
    now: Instant,
    /// Worker threads; segments are split evenly between them.
    threads: usize,
}

impl BigSim {
    /// 4 segments x 2 hosts x 250 VRIDs = 2,000 routers, run on `threads` threads.
    fn new(threads: usize) -> Self {
        let now = Instant::now();
        BigSim {
            segments: (0..4).map(|lan| Segment::new(lan, 250, now)).collect(),
            now,
            threads: threads.max(1),
        }
    }

    /// Runs every segment to `now + d` and returns the on-CPU time the workers spent, if the
    /// platform tells.
    fn run_for(&mut self, d: Duration) -> Option<Duration> {
        let end = self.now + d;
        self.now = end;
        // Segments do not interact, so they run in parallel, each to `end`.
        let per_thread = self.segments.len().div_ceil(self.threads);
        std::thread::scope(|scope| {
            let workers: Vec<_> = self
                .segments
                .chunks_mut(per_thread)
                .map(|chunk| {
                    scope.spawn(move || {
                        let cpu0 = on_cpu();
                        let mut buf = [0u8; 128];
                        for s in chunk {
                            s.run_until(end, &mut buf);
                        }
                        on_cpu().zip(cpu0).map(|(b, a)| b.saturating_sub(a))
                    })
                })
                .collect();
            workers
                .into_iter()
                .map(|w| w.join().expect("simulation thread panicked"))
                .sum()
        })
    }

    fn routers(&self) -> usize {
        self.segments
            .iter()
            .map(|s| s.hosts[0].len() + s.hosts[1].len())
            .sum()
    }

    fn adverts(&self) -> u64 {
        self.segments.iter().map(|s| s.adverts).sum()
    }

    /// Host 0 master for every VRID, host 1 backup, and nothing moved after startup.
    fn check(&self) {
        for s in &self.segments {
            assert!(s.hosts[0].iter().all(|r| r.state() == State::Master));
            assert!(s.hosts[1].iter().all(|r| r.state() == State::Backup));
            // INIT->BACKUP on both hosts, BACKUP->MASTER on host 0, and nothing else.
            assert_eq!(s.transitions as usize, s.hosts[0].len() * 3);
            // Every advert reached the backup and passed validation.
            let received: u64 = s.hosts[1].iter().map(|r| r.stats().adverts_rx).sum();
            assert_eq!(received, s.adverts);
        }
    }
}

/// Threads for the simulation: `VRRP_SIM_THREADS`, else one per core (the four segments are
/// independent).
fn sim_threads() -> usize {
    std::env::var("VRRP_SIM_THREADS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

fn sim_one_second(c: &mut Criterion) {
    let mut sim = BigSim::new(sim_threads());
    sim.run_for(Duration::from_secs(1)); // past startup
                                         // Each iteration is 100,000 adverts: a few samples are plenty.
    let mut g = c.benchmark_group("sim");
    g.sample_size(10);
    g.bench_function("sim_2000_routers_1s", |b| {
        b.iter(|| sim.run_for(Duration::from_secs(1)))
    });
    g.finish();
    sim.check();
}

/// The one-hour run, outside criterion (one sample of seconds is the measurement).
fn sim_one_hour() {
    let secs = std::env::var("VRRP_SIM_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3600);
    let threads = sim_threads();
    let mut sim = BigSim::new(threads);
    let wall = Instant::now();
    let cpu = sim.run_for(Duration::from_secs(secs));
    let took = wall.elapsed();
    sim.check();
    let adverts = sim.adverts();
    println!(
        "sim_2000_routers: {} routers, {secs} s virtual at 10 ms adverts, {threads} threads: \
         {adverts} adverts in {took:.2?} wall ({:.1} ns/advert, {:.0}x real time)",
        sim.routers(),
        took.as_nanos() as f64 / adverts as f64,
        secs as f64 / took.as_secs_f64(),
    );
    if let Some(cpu) = cpu {
        println!(
            "sim_2000_routers: {cpu:.2?} on CPU summed over threads ({:.1} ns/advert); the rest \
             of threads x wall was waiting for a shared core",
            cpu.as_nanos() as f64 / adverts as f64
        );
    }
}

/// `backup_handle_packet` again, timed by on-CPU time rather than wall time: on a machine
/// shared by many compilers, criterion's wall-clock samples include time spent waiting for a core.
fn handle_packet_on_cpu() {
    const N: u32 = 20_000_000;
    let (mut backup, meta, msg) = steady_backup();
    let mut now = Instant::now();
    let cpu0 = on_cpu();
    for _ in 0..N {
        now += Duration::from_millis(10);
        backup.handle_packet(now, black_box(meta), black_box(&msg));
    }
    if let Some(cpu) = on_cpu().zip(cpu0).map(|(b, a)| b.saturating_sub(a)) {
        println!(
            "backup_handle_packet: {:.1} ns on CPU per call ({N} calls)",
            cpu.as_nanos() as f64 / f64::from(N)
        );
    }
    assert_eq!(drain(&mut backup), 0);
}

/// Time this thread spent on a CPU (Linux `/proc/thread-self/schedstat`), to tell the cost of
/// the simulation from the wait for a core on a loaded machine.
fn on_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns = stat.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

criterion_group!(
    group,
    backup_handle_packet,
    master_advert_tx,
    sim_one_second
);

/// `cargo bench --bench vrrp_engine [-- FILTER]`: the criterion groups, then (under
/// `cargo bench`, not `cargo test`) the two on-CPU measurements whose name contains FILTER, if
/// one is given: `-- sim_one_hour` runs only the one-hour simulation.
fn main() {
    group();
    Criterion::default().configure_from_args().final_summary();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !args.iter().any(|a| a == "--bench") {
        return;
    }
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    let selected =
        |name: &str| filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str()));
    if selected("handle_packet_on_cpu") {
        handle_packet_on_cpu();
    }
    if selected("sim_one_hour") {
        sim_one_hour();
    }
}
