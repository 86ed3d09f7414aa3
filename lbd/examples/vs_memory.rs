//! Where the virtual-server side's memory goes, without IPVS: the same structures
//! `VirtualServers::open` builds for a configuration (the kept `Config`, the `Lvs` state, the
//! table last programmed, the healthcheck runtime with every checker registered, the
//! metrics series, the daemon's maps), each stage's live heap counted by a counting
//! allocator, then optionally the checks run for a while against loopback listeners, drained
//! the way the daemon drains them. For the issue-6 memory figures
//! (`benches/scenarios/gen_lvs_conf.py` writes the file; its real servers are 127.0.0.x):
//!
//! `cargo run --release -p lbd --example vs_memory -- FILE.conf [RUN_SECONDS]`
//!
//! With RUN_SECONDS, one listener per virtual server port (0.0.0.0:20000+i) is opened, so
//! run it in a scratch network namespace (`ip netns exec dmmem ...`, `lo` up). Each line
//! prints the live heap added by a stage, per checker and in total, and VmRSS.

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::error::Error;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use healthcheck::mio::{Events, Poll, Token};
use healthcheck::{HealthChecker, Subscription};
use ipvs_sys::Table;
use lbd::config::load;
use lbd::daemon::virtual_servers::checks::{self, ScriptPolicy};
use lbd::lvs::desired::specs;
use lbd::lvs::mail::MailSettings;
use lbd::lvs::{adopt, report, CheckerRef, Lvs, Notice};
use lbd::ops::Metrics;

/// The system allocator, counting the bytes live.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to `System` unchanged; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is `System`'s.
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            let now = LIVE.fetch_add(l.size(), Ordering::Relaxed) + l.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(p, l) };
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        // SAFETY: as above.
        let q = unsafe { System.realloc(p, l, new) };
        if !q.is_null() {
            LIVE.fetch_sub(l.size(), Ordering::Relaxed);
            let now = LIVE.fetch_add(new, Ordering::Relaxed) + new;
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        q
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn rss_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

struct Report {
    checkers: usize,
    last: usize,
}

impl Report {
    fn stage(&mut self, what: &str) {
        let live = LIVE.load(Ordering::Relaxed);
        let delta = live as i64 - self.last as i64;
        self.last = live;
        println!(
            "{what:<44} {:>8.0} B/checker {:>9.1} MB   (live heap {:>6.1} MB, VmRSS {:>6.1} MB)",
            delta as f64 / self.checkers.max(1) as f64,
            delta as f64 / 1e6,
            live as f64 / 1e6,
            rss_kb("VmRSS:") as f64 / 1e3
        );
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (file, run) = match args.as_slice() {
        [f] => (f, None),
        [f, s] => (f, Some(Duration::from_secs(s.parse()?))),
        _ => return Err("usage: vs_memory FILE.conf [RUN_SECONDS]".into()),
    };
    let mut rep = Report {
        checkers: 0,
        last: LIVE.load(Ordering::Relaxed),
    };
    let cfg = load(Path::new(file))?.config;
    let peak_load = PEAK.load(Ordering::Relaxed);
    rep.checkers = cfg
        .virtual_servers
        .iter()
        .flat_map(|v| &v.real_servers)
        .map(|r| r.checkers.len())
        .sum();
    println!(
        "{} checkers; peak heap while loading {:.1} MB",
        rep.checkers,
        peak_load as f64 / 1e6
    );
    rep.stage("Config (kept by the runtime)");
    let specs = specs(&cfg)?;
    rep.stage("VsSpecs");
    // `VirtualServers::open` from here, in its order: the kernel's table (empty here), the
    // mail settings, the state, the wanted table and its adoption (both alive to the end
    // of `open`), the start notices logged and the first diff sent.
    let kernel = Table::new();
    let mail = MailSettings::of(&cfg, &specs);
    rep.stage("MailSettings");
    let mut lvs = Lvs::new(specs)?;
    rep.stage("Lvs (state around the specs)");
    let start = lvs.start();
    let n_notices = start.len();
    let wanted = lvs.table();
    let adoption = adopt(&kernel, &wanted, std::iter::empty());
    rep.stage("(open's wanted table + adoption)");
    drop((wanted, adoption, kernel));
    let mut programmed = Table::new();
    let mut line = String::new();
    for n in start {
        if let Notice::Log(l) = n {
            line.clear();
            line.push_str(&l);
        }
    }
    let table = lvs.table();
    let requests = ipvs_sys::diff(&programmed, &table);
    let n_requests = requests.len();
    drop(requests);
    programmed = table;
    rep.stage("programmed Table (first apply)");
    let defaults: Vec<(Duration, Option<String>)> = cfg
        .virtual_servers
        .iter()
        .map(|v| (v.delay_loop, v.virtualhost.clone()))
        .collect();
    let scripts = ScriptPolicy::of(&cfg);
    let poll = Poll::new()?;
    let base = usize::MAX / 2;
    let mut health = HealthChecker::new(poll.registry(), base)?;
    let mut metrics = Metrics::default();
    let refs: Vec<CheckerRef> = lvs.checkers().map(|(r, _)| r).collect();
    rep.stage("(refs list, temporary)");
    metrics.reserve_check_series(refs.len());
    let mut series = Vec::with_capacity(refs.len());
    for r in &refs {
        let Some(spec) = lvs.spec(r.vs as usize) else {
            continue;
        };
        let Some(rs) = spec.real_servers.get(r.rs as usize) else {
            continue;
        };
        let Some(c) = rs.checkers.get(usize::from(r.checker)) else {
            continue;
        };
        series.push(metrics.check_series(
            &spec.name.to_string(),
            &rs.dest.addr.to_string(),
            report::checker_name(&c.config),
        ));
    }
    rep.stage("Metrics check series");
    let now = Instant::now();
    health.reserve(refs.len());
    let mut ids = Vec::with_capacity(refs.len());
    for r in &refs {
        let spec = lvs.spec(r.vs as usize).ok_or("no vs")?;
        let rs = spec.real_servers.get(r.rs as usize).ok_or("no rs")?;
        let c = rs
            .checkers
            .get(usize::from(r.checker))
            .ok_or("no checker")?;
        let (delay_loop, vhost) = defaults.get(r.vs as usize).ok_or("no defaults")?;
        let check = checks::spec(
            &c.config,
            rs.dest.addr,
            *delay_loop,
            vhost.as_deref(),
            c.alpha,
            &scripts,
        )?;
        let sub = Subscription {
            id: r.to_id().ok_or("id")?,
            inhibit_on_failure: rs.inhibit,
        };
        ids.push(health.add(check, sub, now)?.check);
    }
    health.record_probes(refs.len().saturating_mul(2).clamp(256, 1 << 14));
    rep.stage("HealthChecker (40k registered + probe log)");
    let mut checks_map = HashMap::with_capacity(refs.len());
    let mut series_map = HashMap::with_capacity(refs.len());
    for ((r, id), s) in refs.iter().zip(ids).zip(series) {
        checks_map.insert(*r, id);
        series_map.insert(*r, s);
    }
    drop(refs);
    rep.stage("daemon maps: checks + series");

    println!(
        "{} start notices, {n_requests} requests; total live {:.1} MB; VmRSS {:.1} MB, VmHWM {:.1} MB",
        n_notices,
        LIVE.load(Ordering::Relaxed) as f64 / 1e6,
        rss_kb("VmRSS:") as f64 / 1e3,
        rss_kb("VmHWM:") as f64 / 1e3
    );
    // The daemon gives the heap's free pages back at this point (`release_free_memory`).
    let t = Instant::now();
    // SAFETY: malloc_trim only returns free memory to the kernel.
    unsafe { libc::malloc_trim(0) };
    println!(
        "after malloc_trim(0) ({:.1} ms): VmRSS {:.1} MB",
        t.elapsed().as_secs_f64() * 1e3,
        rss_kb("VmRSS:") as f64 / 1e3
    );
    let Some(run) = run else {
        drop((mail, cfg, programmed));
        return Ok(());
    };
    let mut listeners = Vec::new();
    for i in 0..cfg.virtual_servers.len() {
        let port = 20000 + u16::try_from(i)?;
        listeners.push(std::net::TcpListener::bind(("0.0.0.0", port))?);
    }
    rep.stage("(listeners)");
    let mut last_checks: HashMap<(u32, u32), String> = HashMap::new();
    let mut events = Events::with_capacity(1024);
    let mut poll = poll;
    let until = Instant::now() + run;
    let (mut probes, mut changes) = (0u64, 0u64);
    loop {
        let now = Instant::now();
        health.handle_timeout(now);
        // Accept and drop, so the listeners' backlogs never fill.
        for l in &listeners {
            l.set_nonblocking(true)?;
            while l.accept().is_ok() {}
        }
        while let Some(p) = health.poll_probe() {
            probes += 1;
            if let Some(id) = series_map.get(&CheckerRef::from_id(p.subscriber)) {
                metrics.record_probe(*id, p.result, p.duration);
            }
        }
        while let Some(ev) = health.poll_event() {
            changes += 1;
            if let Some(rec) = report::check_record(&lvs, ev.subscriber, &ev.change) {
                if let Some(o) = rec.observation() {
                    metrics.record_check(o);
                }
                last_checks.insert((rec.checker_ref.vs, rec.checker_ref.rs), rec.text);
            }
            if let Ok(u) = lvs.on_health(&ev) {
                for q in &u.requests {
                    let _ = programmed.apply(q);
                }
            }
        }
        if now >= until {
            break;
        }
        let wake = health
            .poll_timeout()
            .map_or(until, |t| t.min(until))
            .min(now + Duration::from_millis(100));
        poll.poll(&mut events, Some(wake.saturating_duration_since(now)))?;
        let now = Instant::now();
        for ev in events.iter() {
            if health.owns(ev.token()) {
                health.handle_token(Token(ev.token().0), now);
            }
        }
    }
    println!("ran {run:?}: {probes} probes, {changes} verdict changes");
    drop(listeners);
    rep.stage("after the run (last_checks, metrics, ...)");
    println!(
        "total live {:.1} MB; VmRSS {:.1} MB, VmHWM {:.1} MB",
        LIVE.load(Ordering::Relaxed) as f64 / 1e6,
        rss_kb("VmRSS:") as f64 / 1e3,
        rss_kb("VmHWM:") as f64 / 1e3
    );
    drop((mail, cfg, programmed, checks_map, last_checks));
    Ok(())
}
