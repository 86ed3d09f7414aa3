//! A deterministic discrete-event simulator for the VRRP engine.
//!
//! Nodes (hosts running virtual routers or sync groups) sit on LAN segments. Time is a base
//! `Instant` plus offsets and only moves when the simulator says so; all randomness (loss, delay)
//! comes from a seeded splitmix64, so every run with the same seed is identical and a failing
//! seed can be replayed. Each link delays packets by a random amount but, like a LAN, never
//! reorders packets between the same two hosts.

#![allow(dead_code)] // each test binary uses a different part of the toolkit

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use vrrp_core::wire::{RxMeta, TTL};
use vrrp_core::{Event, RouterConfig, State, SyncGroup, TrackerId, TrackerState, VirtualRouter};

/// splitmix64: tiny, fast, good enough statistical quality for fault injection.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && self.f64() < p
    }
    /// Uniform in [lo, hi].
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        lo + self.next_u64() % (hi - lo + 1)
    }
    pub fn duration(&mut self, lo: Duration, hi: Duration) -> Duration {
        let ns = self.range(lo.as_nanos() as u64, hi.as_nanos() as u64);
        Duration::from_nanos(ns)
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.range(0, items.len() as u64 - 1) as usize]
    }
}

/// Network behaviour of every link.
#[derive(Debug, Clone, Copy)]
pub struct NetConfig {
    pub loss: f64,
    pub delay_min: Duration,
    pub delay_max: Duration,
}

impl Default for NetConfig {
    fn default() -> Self {
        NetConfig {
            loss: 0.0,
            delay_min: Duration::from_micros(100),
            delay_max: Duration::from_millis(2),
        }
    }
}

/// What runs on a node: independent routers, or one sync group.
#[derive(Debug, Clone)]
pub enum NodeSpec {
    Routers(Vec<RouterConfig>),
    Group(Vec<RouterConfig>),
}

impl NodeSpec {
    fn configs(&self) -> &[RouterConfig] {
        match self {
            NodeSpec::Routers(c) | NodeSpec::Group(c) => c,
        }
    }
}

#[derive(Debug)]
enum Engine {
    Routers(Vec<VirtualRouter>),
    Group(SyncGroup),
}

/// A host on one LAN segment.
#[derive(Debug)]
pub struct Node {
    pub spec: NodeSpec,
    pub lan: usize,
    engine: Option<Engine>,
    /// VRID -> index of the router/member.
    demux: Vec<Option<usize>>,
    addrs: Vec<IpAddr>,
}

impl Node {
    pub fn is_up(&self) -> bool {
        self.engine.is_some()
    }

    /// State of router `i` (INIT while crashed).
    pub fn state(&self, i: usize) -> State {
        match &self.engine {
            None => State::Initialize,
            Some(Engine::Routers(r)) => r[i].state(),
            Some(Engine::Group(g)) => g.members()[i].state(),
        }
    }

    pub fn router(&self, i: usize) -> Option<&VirtualRouter> {
        match &self.engine {
            None => None,
            Some(Engine::Routers(r)) => r.get(i),
            Some(Engine::Group(g)) => g.member(i),
        }
    }

    pub fn len(&self) -> usize {
        self.spec.configs().len()
    }

    fn start(&mut self, now: Instant) {
        self.engine = Some(match &self.spec {
            NodeSpec::Routers(c) => Engine::Routers(
                c.iter()
                    .map(|cfg| VirtualRouter::new(cfg.clone(), now))
                    .collect(),
            ),
            NodeSpec::Group(c) => Engine::Group(SyncGroup::new(c.clone(), now).unwrap()),
        });
    }

    fn poll_timeout(&self) -> Option<Instant> {
        match self.engine.as_ref()? {
            Engine::Routers(r) => r.iter().filter_map(|r| r.poll_timeout()).min(),
            Engine::Group(g) => g.poll_timeout(),
        }
    }
}

/// One transition (or other event) as observed, with its virtual time offset.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Record {
    pub at: Duration,
    pub node: usize,
    pub router: usize,
    pub event: Event,
}

/// One advert on the wire, for loss accounting.
#[derive(Debug, Clone, Copy)]
pub struct WireLog {
    pub sent: Duration,
    pub from: usize,
    pub to: usize,
    pub vrid: u8,
    pub priority: u8,
    pub lost: bool,
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Delivery {
    at: Instant,
    seq: u64,
    to: usize,
    src: IpAddr,
    dst: IpAddr,
    msg: Vec<u8>,
}

pub struct Sim {
    pub t0: Instant,
    pub now: Instant,
    pub nodes: Vec<Node>,
    pub net: NetConfig,
    pub rng: Rng,
    /// Partition id per node; nodes only hear nodes with the same id.
    pub partition: Vec<u32>,
    pub records: Vec<Record>,
    pub wire_log: Option<Vec<WireLog>>,
    queue: BinaryHeap<Reverse<Delivery>>,
    seq: u64,
    /// Last arrival per (from, to): a link delays with jitter but keeps order, like a LAN.
    link_tail: HashMap<(usize, usize), Instant>,
}

impl Sim {
    pub fn new(seed: u64, net: NetConfig) -> Self {
        let t0 = Instant::now();
        Sim {
            t0,
            now: t0,
            nodes: Vec::new(),
            net,
            rng: Rng::new(seed),
            partition: Vec::new(),
            records: Vec::new(),
            wire_log: None,
            queue: BinaryHeap::new(),
            seq: 0,
            link_tail: HashMap::new(),
        }
    }

    /// Adds a node (not started).
    pub fn add_node(&mut self, lan: usize, spec: NodeSpec) -> usize {
        let mut demux = vec![None; 256];
        for (i, cfg) in spec.configs().iter().enumerate() {
            demux[usize::from(cfg.vrid())] = Some(i);
        }
        let addrs = spec.configs().iter().map(|c| c.primary()).collect();
        self.nodes.push(Node {
            spec,
            lan,
            engine: None,
            demux,
            addrs,
        });
        self.partition.push(0);
        self.nodes.len() - 1
    }

    pub fn elapsed(&self) -> Duration {
        self.now - self.t0
    }

    /// Starts (or restarts after a crash) a node now.
    pub fn start(&mut self, node: usize) {
        let now = self.now;
        self.nodes[node].start(now);
        self.flush(node);
    }

    /// The host dies: no priority 0, nothing more sent; in-flight packets to it are lost.
    pub fn crash(&mut self, node: usize) {
        self.nodes[node].engine = None;
    }

    /// Graceful stop: masters send priority 0, then the node is down.
    pub fn shutdown(&mut self, node: usize) {
        let now = self.now;
        match self.nodes[node].engine.as_mut() {
            Some(Engine::Routers(r)) => r.iter_mut().for_each(|r| r.shutdown(now)),
            Some(Engine::Group(g)) => g.shutdown(now),
            None => return,
        }
        self.flush(node);
        self.nodes[node].engine = None;
    }

    pub fn set_tracker(&mut self, node: usize, router: usize, id: TrackerId, st: TrackerState) {
        let now = self.now;
        match self.nodes[node].engine.as_mut() {
            Some(Engine::Routers(r)) => r[router].set_tracker(now, id, st).unwrap(),
            Some(Engine::Group(g)) => g.set_tracker(now, router, id, st).unwrap(),
            None => return,
        }
        self.flush(node);
    }

    /// Runs until `now + d`.
    pub fn run_for(&mut self, d: Duration) {
        let end = self.now + d;
        self.run_until(end);
    }

    pub fn run_until(&mut self, end: Instant) {
        loop {
            let next_timer = self.nodes.iter().filter_map(|n| n.poll_timeout()).min();
            let next_packet = self.queue.peek().map(|Reverse(d)| d.at);
            let next = match (next_timer, next_packet) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => match a.or(b) {
                    Some(t) => t,
                    None => break,
                },
            };
            if next > end {
                break;
            }
            self.now = self.now.max(next);
            self.step();
        }
        self.now = self.now.max(end);
    }

    fn step(&mut self) {
        let now = self.now;
        while self.queue.peek().is_some_and(|Reverse(d)| d.at <= now) {
            let Some(Reverse(d)) = self.queue.pop() else {
                break;
            };
            self.deliver(d);
        }
        for n in 0..self.nodes.len() {
            if self.nodes[n].poll_timeout().is_some_and(|t| t <= now) {
                match self.nodes[n].engine.as_mut() {
                    Some(Engine::Routers(r)) => r.iter_mut().for_each(|r| r.handle_timeout(now)),
                    Some(Engine::Group(g)) => g.handle_timeout(now),
                    None => {}
                }
                self.flush(n);
            }
        }
    }

    fn deliver(&mut self, d: Delivery) {
        let now = self.now;
        let node = &mut self.nodes[d.to];
        let Some(&vrid) = d.msg.get(1) else { return };
        let Some(idx) = node.demux[usize::from(vrid)] else {
            return;
        };
        let meta = RxMeta {
            src: d.src,
            dst: d.dst,
            ttl: TTL,
        };
        match node.engine.as_mut() {
            Some(Engine::Routers(r)) => r[idx].handle_packet(now, meta, &d.msg),
            Some(Engine::Group(g)) => g.handle_packet(now, idx, meta, &d.msg).unwrap(),
            None => return,
        }
        self.flush(d.to);
    }

    /// Sends what `node` wants to send and records its events.
    fn flush(&mut self, node: usize) {
        let now = self.now;
        let mut buf = [0u8; 1500];
        loop {
            let (router, tx) = match self.nodes[node].engine.as_mut() {
                Some(Engine::Routers(r)) => {
                    match r
                        .iter_mut()
                        .enumerate()
                        .find_map(|(i, r)| r.poll_transmit(now, &mut buf).map(|t| (i, t)))
                    {
                        Some(x) => x,
                        None => break,
                    }
                }
                Some(Engine::Group(g)) => match g.poll_transmit(now, &mut buf) {
                    Some(x) => x,
                    None => break,
                },
                None => break,
            };
            let _ = router;
            let msg = &buf[..tx.len];
            for to in 0..self.nodes.len() {
                let peer = &self.nodes[to];
                if to == node
                    || peer.lan != self.nodes[node].lan
                    || self.partition[to] != self.partition[node]
                {
                    continue;
                }
                if !tx.dst.is_multicast() && !peer.addrs.contains(&tx.dst) {
                    continue;
                }
                let lost = self.rng.chance(self.net.loss);
                if let Some(log) = self.wire_log.as_mut() {
                    log.push(WireLog {
                        sent: now - self.t0,
                        from: node,
                        to,
                        vrid: msg[1],
                        priority: msg[2],
                        lost,
                    });
                }
                if lost {
                    continue;
                }
                let delay = self.rng.duration(self.net.delay_min, self.net.delay_max);
                let tail = self.link_tail.entry((node, to)).or_insert(now);
                let at = (now + delay).max(*tail);
                *tail = at;
                self.seq += 1;
                self.queue.push(Reverse(Delivery {
                    at,
                    seq: self.seq,
                    to,
                    src: tx.src,
                    dst: tx.dst,
                    msg: msg.to_vec(),
                }));
            }
        }
        let at = now - self.t0;
        loop {
            let ev = match self.nodes[node].engine.as_mut() {
                Some(Engine::Routers(r)) => r
                    .iter_mut()
                    .enumerate()
                    .find_map(|(i, r)| r.poll_event().map(|e| (i, e))),
                Some(Engine::Group(g)) => g.poll_event(),
                None => None,
            };
            let Some((router, event)) = ev else { break };
            self.records.push(Record {
                at,
                node,
                router,
                event,
            });
        }
    }

    /// Nodes whose router `router` is master.
    pub fn masters(&self, router: usize) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&n| {
                self.nodes[n].len() > router && self.nodes[n].state(router) == State::Master
            })
            .collect()
    }

    /// Transitions into `to` recorded after `since`.
    pub fn transitions_to(&self, to: State, since: Duration) -> Vec<Record> {
        self.records
            .iter()
            .filter(|r| {
                r.at >= since && matches!(r.event, Event::StateChanged { to: t, .. } if t == to)
            })
            .copied()
            .collect()
    }
}
