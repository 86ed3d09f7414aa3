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

use std::error::Error;
use std::path::Path;
use std::time::{Duration, Instant};

use lbd::config::{load, load_tracked, reload_incremental, LoadOptions, Outcome};
use lbd::lvs::desired::specs;
use lbd::lvs::{reload::reload, Lvs};

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
    incremental(Path::new(old), Path::new(new), repeat)
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
