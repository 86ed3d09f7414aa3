//! The CPU side of a cold start and of a reload, without IPVS or a daemon, for the issue-6
//! figures (`benches/scenarios/gen_lvs_conf.py` writes the files):
//!
//! `cargo run --release -p lbd --example reload_cost -- OLD.conf NEW.conf [REPEAT]`
//!
//! With REPEAT, the reload is done that many times and the fastest time of each step is
//! printed (on a loaded machine the minimum is the figure that compares).
//!
//! Cold start: read OLD, resolve it, start the state machine, build the table to program.
//! Reload: read NEW, resolve it, carry the state over, and the IPVS requests that follow.
//! Incremental: a copy of OLD loaded with `load_tracked`, then overwritten with NEW and
//! with OLD in turn, each time brought up to date by `reload_incremental` (the config half
//! of the reload; IPVS not included), against reading the file alone.
//! Partial reload: when NEW differs from OLD only inside some `virtual_server` blocks (same
//! number, same keys), the same reload done by `lvs::reload::reload_changed` on those alone:
//! resolve them (`desired::spec`) and carry them over in place. Which blocks changed is found
//! here by comparing the parsed files (the incremental parser's job, not timed).

use std::error::Error;
use std::path::Path;
use std::time::{Duration, Instant};

use lbd::config::{
    load, load_tracked, reload_incremental, Config, LoadOptions, Outcome, VirtualServer,
};
use lbd::lvs::desired::{spec, specs};
use lbd::lvs::reload::{reload, reload_changed};
use lbd::lvs::Lvs;

fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let t = Instant::now();
    let v = f();
    (v, t.elapsed())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (old, new, repeat) = match args.as_slice() {
        [old, new] => (old, new, 1),
        [old, new, n] => (old, new, n.parse::<usize>()?.max(1)),
        _ => return Err("usage: reload_cost OLD.conf NEW.conf [REPEAT]".into()),
    };
    let (cfg, read) = timed(|| load(Path::new(old)));
    let cfg = cfg?.config;
    let old_cfg = cfg.clone();
    let (started, start) = timed(|| -> Result<_, Box<dyn Error>> {
        let mut lvs = Lvs::new(specs(&cfg)?)?;
        let notices = lvs.start();
        let table = lvs.table();
        Ok((lvs, notices.len(), table))
    });
    let (running, notices, table) = started?;
    let dests: usize = table.services.values().map(|e| e.dests.len()).sum();
    println!(
        "cold start: read {:.1} ms, state and table {:.1} ms ({} services, {dests} destinations, {notices} log lines)",
        ms(read),
        ms(start),
        table.services.len()
    );
    let mut best: Option<[Duration; 3]> = None;
    let mut last = None;
    for _ in 0..repeat {
        let (cfg, read) = timed(|| load(Path::new(new)));
        let cfg = cfg?.config;
        let (new_specs, resolve) = timed(|| specs(&cfg));
        let new_specs = new_specs?;
        let (r, diff) = timed(|| reload(&running, new_specs));
        last = Some(r?);
        best = Some(match best {
            None => [read, resolve, diff],
            Some(b) => [b[0].min(read), b[1].min(resolve), b[2].min(diff)],
        });
    }
    let (Some([read, resolve, diff]), Some(r)) = (best, last) else {
        return Ok(());
    };
    println!(
        "reload: read {:.1} ms, resolve {:.1} ms, carry over and diff {:.1} ms ({} IPVS request(s), {} checkers kept, {} started, {} stopped)",
        ms(read),
        ms(resolve),
        ms(diff),
        r.update.requests.len(),
        r.kept.len(),
        r.started.len(),
        r.stopped.len()
    );
    incremental(Path::new(old), Path::new(new), repeat)?;
    partial(&old_cfg, &running, Path::new(new), repeat)
}

/// The incremental reload of the config: see the module documentation.
fn incremental(old: &Path, new: &Path, repeat: usize) -> Result<(), Box<dyn Error>> {
    let (old_bytes, new_bytes) = (std::fs::read(old)?, std::fs::read(new)?);
    let copy = std::env::temp_dir().join(format!("reload_cost-{}.conf", std::process::id()));
    std::fs::write(&copy, &old_bytes)?;
    let result = (|| -> Result<(), Box<dyn Error>> {
        // The daemon would keep a Source from its start: the tracked load against `load`.
        let mut load_time = Duration::MAX;
        let mut tracked = None;
        for _ in 0..repeat {
            let (t, d) = timed(|| load_tracked(&copy, &LoadOptions::default()));
            load_time = load_time.min(d);
            tracked = Some(t?);
        }
        let (mut loaded, mut source) = tracked.ok_or("no load")?;
        let mut best = [Duration::MAX; 3];
        let mut last = None;
        for _ in 0..repeat {
            for bytes in [&new_bytes, &old_bytes] {
                std::fs::write(&copy, bytes)?;
                let (_, read) = timed(|| std::fs::read(&copy));
                let (outcome, patch) =
                    timed(|| reload_incremental(&mut source, &mut loaded.config));
                let (unchanged, same) =
                    timed(|| reload_incremental(&mut source, &mut loaded.config));
                if !matches!(outcome, Outcome::Patched { .. }) || unchanged != Outcome::Unchanged {
                    return Err(format!("not patched: {outcome:?}, then {unchanged:?}").into());
                }
                best = [best[0].min(read), best[1].min(patch), best[2].min(same)];
                last = Some(outcome);
            }
        }
        if loaded.config != load(&copy)?.config {
            return Err("the patched configuration differs from a full load".into());
        }
        println!(
            "incremental: tracked load {:.1} ms; reading the file {:.2} ms; reload with the edit {:.2} ms, unchanged {:.2} ms ({last:?})",
            ms(load_time),
            ms(best[0]),
            ms(best[1]),
            ms(best[2]),
        );
        Ok(())
    })();
    let _ = std::fs::remove_file(&copy);
    result
}

/// Whether two `virtual_server` blocks say the same, wherever they were written (blocks
/// remember their file and line).
fn same_block(a: &VirtualServer, b: &VirtualServer) -> bool {
    let mut a = a.clone();
    a.origin = b.origin.clone();
    for (ra, rb) in a.real_servers.iter_mut().zip(&b.real_servers) {
        ra.origin = rb.origin.clone();
        for (ca, cb) in ra.checkers.iter_mut().zip(&rb.checkers) {
            ca.origin = cb.origin.clone();
        }
    }
    &a == b
}

/// The partial reload, if NEW allows one.
fn partial(old: &Config, running: &Lvs, new: &Path, repeat: usize) -> Result<(), Box<dyn Error>> {
    let cfg = load(new)?.config;
    if cfg.virtual_servers.len() != old.virtual_servers.len() {
        println!("partial reload: not possible (another number of virtual servers)");
        return Ok(());
    }
    let changed: Vec<usize> = (0..cfg.virtual_servers.len())
        .filter(|&i| !same_block(&cfg.virtual_servers[i], &old.virtual_servers[i]))
        .collect();
    let mut best: Option<[Duration; 2]> = None;
    let mut last = None;
    for _ in 0..repeat {
        // The copy of the running state each round stands for the daemon's own (not timed).
        let mut lvs = running.clone();
        let (changed_specs, resolve) = timed(|| -> Result<Vec<_>, Box<dyn Error>> {
            let mut out = Vec::with_capacity(changed.len());
            for &i in &changed {
                out.push((i, spec(&cfg, &cfg.virtual_servers[i])?));
            }
            Ok(out)
        });
        let changed_specs = changed_specs?;
        let (r, diff) = timed(|| reload_changed(&mut lvs, changed_specs));
        last = Some(r?);
        best = Some(match best {
            None => [resolve, diff],
            Some(b) => [b[0].min(resolve), b[1].min(diff)],
        });
    }
    let (Some([resolve, diff]), Some(r)) = (best, last) else {
        return Ok(());
    };
    println!(
        "partial reload of {} virtual server(s): resolve {:.3} ms, carry over and diff {:.3} ms ({} IPVS request(s), {} visited, {} checkers kept there, {} started, {} stopped)",
        changed.len(),
        ms(resolve),
        ms(diff),
        r.update.requests.len(),
        r.visited.len(),
        r.kept.len(),
        r.started.len(),
        r.stopped.len()
    );
    Ok(())
}
