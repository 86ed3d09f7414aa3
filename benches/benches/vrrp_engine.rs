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
//!     accepted exactly as many adverts as were sent, and that the masters are the
//!     higher-priority hosts with no other role change. The harness drives the engines through
//!     their public API only; its own cost is kept down by a timing wheel with one lazily
//!     re-checked entry per router (see [`Segment`]). The segments are independent and run on
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
/// [`wheel_key`]) are filed by tick (`key >> SLOT_SHIFT`, about 1 ms of virtual time) into
/// `SLOTS` slots; a slot is sorted once when the wheel reaches it, and all the routers due in
/// that tick are then taken in order by an index increment. A push is a `Vec::push`, where a
/// binary heap of the segment's 500 deadlines paid ~9 levels of unpredictable comparisons per
/// pop. Keys beyond the wheel's horizon wait in a heap.
struct Wheel {
    slots: Box<[Vec<u64>; SLOTS as usize]>,
    /// Tick of the slot being drained.
    tick: u64,
    /// The keys of `tick`, sorted; `head` is the next one.
    current: Vec<u64>,
    head: usize,
    /// Keys at or beyond `tick + SLOTS`, moved into their slot as the wheel turns.
    far: BinaryHeap<Reverse<u64>>,
}

/// A key is virtual time in units of 2^-30 s shifted left by [`INDEX_BITS`] (see
/// [`wheel_key`]), so a tick of 2^39 key units is 2^30 units of time: 2^30 / 2^30 s, about 1 ms.
const SLOT_SHIFT: u32 = 20 + INDEX_BITS;
/// 128 ticks (a power of two: the slot of a tick is its low bits), about 125 ms: every
/// deadline of the simulation (10 ms adverts, ~36 ms master-down) lands on the wheel; only the
/// 5 s GARP timers go to the far heap.
const SLOTS: u64 = 128;
/// The low bits of a key name the router, up to 512 per segment.
const INDEX_BITS: u32 = 9;
const INDEX_MASK: u64 = (1 << INDEX_BITS) - 1;

impl Wheel {
    fn new() -> Self {
        Wheel {
            slots: Box::new(std::array::from_fn(|_| Vec::new())),
            tick: 0,
            current: Vec::new(),
            head: 0,
            far: BinaryHeap::new(),
        }
    }

    #[inline(always)]
    fn push(&mut self, key: u64) {
        let tick = key >> SLOT_SHIFT;
        if tick <= self.tick {
            // Due within the slot being drained: keep its undrained part sorted.
            let pos = self.head + self.current[self.head..].partition_point(|&k| k < key);
            self.current.insert(pos, key);
        } else if tick - self.tick < SLOTS {
            self.slots[(tick % SLOTS) as usize].push(key);
        } else {
            self.far.push(Reverse(key));
        }
    }

    /// The smallest key if it is at most `end`, turning the wheel up to `end`'s tick.
    #[inline]
    fn pop_until(&mut self, end: u64) -> Option<u64> {
        loop {
            if let Some(&key) = self.current.get(self.head) {
                if key > end {
                    return None;
                }
                self.head += 1;
                return Some(key);
            }
            if self.tick >= end >> SLOT_SHIFT {
                return None;
            }
            self.turn();
        }
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

/// [`wheel_key`] with the last conversion remembered: the routers of a segment run in step
/// (every master adverts at the same instants, every backup times out at the same instants),
/// so most deadlines filed in a row are equal, and comparing two `Instant`s is a few
/// instructions where subtracting them is a call into std and some fifty.
struct KeyClock {
    t0: Instant,
    last: Instant,
    /// `wheel_key(t0, last, 0)`.
    last_time: u64,
}

impl KeyClock {
    fn new(t0: Instant) -> Self {
        KeyClock {
            t0,
            last: t0,
            last_time: 0,
        }
    }

    #[inline]
    fn key(&mut self, t: Instant, j: usize) -> u64 {
        if t != self.last {
            self.last = t;
            self.last_time = wheel_key(self.t0, t, 0);
        }
        self.last_time | j as u64
    }
}

/// Time since `t0` in the high bits, router `j` in the low [`INDEX_BITS`]: one integer
/// comparison per queue step instead of a tuple of `Instant`s. Time is seconds << 30 plus
/// nanoseconds (< 2^30): ordered like nanoseconds without a 128-bit multiplication, and 55 bits
/// of it last a year.
#[inline]
fn wheel_key(t0: Instant, t: Instant, j: usize) -> u64 {
    let d = t.saturating_duration_since(t0);
    let time = (d.as_secs() << 30) | u64::from(d.subsec_nanos());
    (time << INDEX_BITS) | j as u64
}

/// Where a router's next deadline is filed in the wheel.
#[derive(Clone, Copy)]
struct Filed {
    /// The wheel entry; an entry with another key is stale (superseded by an earlier one).
    key: u64,
    /// The deadline it stands for; `None` when the router has no entry.
    at: Option<Instant>,
}

/// A router and where its deadline is filed.
struct Node {
    router: VirtualRouter,
    filed: Filed,
}

/// The two routers of one VRID (host 0's, host 1's): what an event touches, in one place (one
/// bounds check, one choice of which is which).
struct Pair {
    nodes: [Node; 2],
}

/// The segment's clock: its deadline queue and counters.
struct Sched {
    queue: Wheel,
    clock: KeyClock,
    adverts: u64,
    transitions: u64,
}

impl Sched {
    /// Drains router `j`'s (`r`'s) events and makes sure its next deadline is filed; a deadline
    /// later than the filed one is left to the lazy check in [`Segment::run_until`].
    #[inline(always)]
    fn settle(&mut self, r: &mut VirtualRouter, filed: &mut Filed, j: usize) {
        while let Some(e) = r.poll_event() {
            if matches!(e, Event::StateChanged { .. }) {
                self.transitions += 1;
            }
        }
        let Some(t) = r.poll_timeout() else {
            return;
        };
        if filed.at.is_none_or(|at| t < at) {
            let key = self.clock.key(t, j);
            *filed = Filed { key, at: Some(t) };
            self.queue.push(key);
        }
    }
}

/// One LAN segment: host 0 (priority 200) and host 1 (priority 100) each run VRIDs 1..=N.
///
/// Router `j` is VRID `j / 2 + 1` on host `j % 2`: the two routers of a VRID are neighbours, so
/// the peer of `j` (the one its adverts reach) is `j ^ 1`.
///
/// Timers are lazy: each router has one wheel entry. A backup's deadline moves later with
/// every advert it accepts, and the wheel is not told: when the entry comes due, the router's
/// `handle_timeout` runs only what is still due (nothing, for such a backup) and the entry is
/// filed again at the router's `poll_timeout` (once per Master_Down_Interval instead of once
/// per advert). A deadline that moves earlier (priority 0, say) is filed at once, superseding
/// the old entry.
struct Segment {
    pairs: Vec<Pair>,
    sched: Sched,
}

impl Segment {
    fn new(lan: u8, vrids: u8, t0: Instant) -> Self {
        let no_entry = Filed { key: 0, at: None };
        let pairs: Vec<Pair> = (1..=vrids)
            .map(|vrid| Pair {
                nodes: [(0, 200), (1, 100)].map(|(host, priority)| Node {
                    router: VirtualRouter::new(config(lan, host, vrid, priority), t0),
                    filed: no_entry,
                }),
            })
            .collect();
        assert!(
            pairs.len() as u64 * 2 <= INDEX_MASK + 1,
            "router index must fit in a key"
        );
        let mut seg = Segment {
            pairs,
            sched: Sched {
                queue: Wheel::new(),
                clock: KeyClock::new(t0),
                adverts: 0,
                transitions: 0,
            },
        };
        for (i, pair) in seg.pairs.iter_mut().enumerate() {
            for (h, node) in pair.nodes.iter_mut().enumerate() {
                seg.sched
                    .settle(&mut node.router, &mut node.filed, 2 * i + h);
            }
        }
        seg
    }

    fn host(&self, h: usize) -> impl Iterator<Item = &VirtualRouter> {
        self.pairs.iter().map(move |p| &p.nodes[h].router)
    }

    fn run_until(&mut self, end: Instant, buf: &mut [u8]) {
        let sched = &mut self.sched;
        let end_key = wheel_key(sched.clock.t0, end, INDEX_MASK as usize);
        while let Some(key) = sched.queue.pop_until(end_key) {
            let j = (key & INDEX_MASK) as usize;
            let [a, b] = &mut self.pairs[j >> 1].nodes;
            let (node, peer) = if j & 1 == 0 { (a, b) } else { (b, a) };
            if node.filed.key != key {
                continue; // superseded by an earlier entry
            }
            let Some(at) = node.filed.at.take() else {
                continue;
            };
            let (r, filed) = (&mut node.router, &mut node.filed);
            let (peer, peer_filed) = (&mut peer.router, &mut peer.filed);
            // When the deadline moved later (a backup heard its master), this does nothing
            // (handle_timeout checks the router's deadline) and `settle` files the new one.
            r.handle_timeout(at);
            while let Some(tx) = r.poll_transmit(at, buf) {
                sched.adverts += 1;
                // Zero-delay LAN: the other host's socket demultiplexes by VRID.
                let meta = RxMeta {
                    src: tx.src,
                    dst: GROUP,
                    ttl: TTL,
                };
                peer.handle_packet(at, meta, &buf[..tx.len]);
                sched.settle(peer, peer_filed, j ^ 1);
            }
            sched.settle(r, filed, j);
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
        self.segments.iter().map(|s| s.pairs.len() * 2).sum()
    }

    fn adverts(&self) -> u64 {
        self.segments.iter().map(|s| s.sched.adverts).sum()
    }

    /// Host 0 master for every VRID, host 1 backup, and nothing moved after startup.
    fn check(&self) {
        for s in &self.segments {
            assert!(s.host(0).all(|r| r.state() == State::Master));
            assert!(s.host(1).all(|r| r.state() == State::Backup));
            // INIT->BACKUP on both hosts, BACKUP->MASTER on host 0, and nothing else.
            assert_eq!(s.sched.transitions as usize, s.pairs.len() * 3);
            // Every advert reached the backup and passed validation.
            let received: u64 = s.host(1).map(|r| r.stats().adverts_rx).sum();
            assert_eq!(received, s.sched.adverts);
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
    // Past startup.
    sim.run_for(Duration::from_secs(1));
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
