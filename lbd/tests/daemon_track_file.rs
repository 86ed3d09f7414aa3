//! `track_file` as keepalived: the file's value times the weight moves the priority,
//! `init_file ... overwrite` does not overwrite on a reload, and a file whose directory is
//! missing is no longer tracked.
//!
//! Needs root (network namespaces named dm*, removed by a guard).

mod sm_common;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sm_common::{spawn_in_ns, wait_for, Dir, Netns, Proc};

/// One VRRP instance on smv0 tracking `track` (its lines inside `track_file { }`), with the
/// `vrrp_track_file` blocks `defs`.
fn config(defs: &str, track: &str) -> String {
    format!(
        "global_defs {{\n    router_id smtest\n}}
{defs}
vrrp_instance VI_1 {{
    state BACKUP
    interface smv0
    virtual_router_id 52
    priority 100
    advert_int 0.2
    version 3
    track_file {{\n        {track}\n    }}
    virtual_ipaddress {{\n        192.0.2.101\n    }}
}}
"
    )
}

/// Starts lbd in `ns` on `dir/lbd.conf`; returns the process and its log.
fn start(ns: &Netns, dir: &Path, tag: &str) -> (Proc, PathBuf) {
    let conf = dir.join("lbd.conf");
    let log = dir.join("lbd.log");
    let (pid, sock) = (dir.join("lbd.pid"), dir.join("lbd.sock"));
    let lbd = spawn_in_ns(
        ns,
        &log,
        &[
            env!("CARGO_BIN_EXE_lbd"),
            "-n",
            "-l",
            "-D",
            "-P",
            "-f",
            conf.to_str().unwrap(),
            "-p",
            pid.to_str().unwrap(),
            "--status-socket",
            sock.to_str().unwrap(),
        ],
        &[(
            "LBD_DUMP_FILE",
            format!("/run/lbd-smtest-{tag}-{}.json", std::process::id()),
        )],
    );
    (lbd, log)
}

fn scratch(tag: &str) -> Dir {
    // SAFETY: geteuid has no preconditions.
    assert_eq!(unsafe { libc::geteuid() }, 0, "this test needs root");
    let dir = Dir(std::env::temp_dir().join(format!("sm-{tag}-{}", std::process::id())));
    let _ = fs::remove_dir_all(&dir.0);
    fs::create_dir_all(&dir.0).unwrap();
    dir
}

#[test]
fn file_value_times_weight_moves_the_priority() {
    let dir = scratch("track-file");
    let ns = Netns::new("dmt3");
    let file = dir.0.join("weight");
    fs::write(&file, "3\n").unwrap();
    let defs = format!(
        "vrrp_track_file tf {{\n    file {}\n    weight 10\n}}",
        file.display()
    );
    fs::write(dir.0.join("lbd.conf"), config(&defs, "tf")).unwrap();
    let (_lbd, log) = start(&ns, &dir.0, "tf");
    let read = || fs::read_to_string(&log).unwrap_or_default();
    let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // 100 + 3 * 10 (the router starts from the up/down reading, 100 + 10).
        wait_for("priority 130", Duration::from_secs(20), || {
            read().contains("Changing effective priority from 110 to 130")
        });
        // -2 * 10: below the base.
        fs::write(&file, "-2\n").unwrap();
        wait_for("priority 80", Duration::from_secs(20), || {
            read().contains("Changing effective priority from 130 to 80")
        });
        // -30 * 10 = -300 < -253: FAULT.
        fs::write(&file, "-30\n").unwrap();
        wait_for("FAULT", Duration::from_secs(20), || {
            read().contains("(VI_1) Entering FAULT STATE")
        });
    }));
    assert!(ok.is_ok(), "--- lbd ---\n{}", read());
}

/// keepalived 2.2.7's `track_file_end_handler`: `init_file VALUE overwrite` writes VALUE at
/// start-up; on a reload an existing file is kept (also when its definition changed) and a
/// missing one is created again (also when its definition did not change).
#[test]
fn init_file_overwrite_applies_at_start_up_only() {
    let dir = scratch("track-init");
    let ns = Netns::new("dmt4");
    let file = dir.0.join("v");
    fs::write(&file, "9\n").unwrap();
    let conf = |weight: u8| {
        let defs = format!(
            "vrrp_track_file tf {{\n    file {}\n    weight {weight}\n    init_file 5 overwrite\n}}",
            file.display()
        );
        fs::write(dir.0.join("lbd.conf"), config(&defs, "tf")).unwrap();
    };
    conf(10);
    let (lbd, log) = start(&ns, &dir.0, "ti");
    let read = || fs::read_to_string(&log).unwrap_or_default();
    let value = || fs::read_to_string(&file).unwrap_or_default();
    let hup = |n: usize| {
        // SAFETY: signalling our own child.
        assert_eq!(unsafe { libc::kill(lbd.0.id() as i32, libc::SIGHUP) }, 0);
        wait_for("the reload", Duration::from_secs(10), || {
            read().matches("Reload finished").count() == n
        });
    };
    let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // 100 + 5 * 10: the file was overwritten before it was read.
        wait_for("priority 150", Duration::from_secs(20), || {
            read().contains("Changing effective priority from 110 to 150")
        });
        assert_eq!(value(), "5\n");
        // A changed definition: the running value is not overwritten.
        fs::write(&file, "7\n").unwrap();
        conf(20);
        hup(1);
        assert_eq!(value(), "7\n", "overwritten on a reload");
        // An unchanged definition whose file has gone: created again.
        fs::remove_file(&file).unwrap();
        hup(2);
        assert_eq!(value(), "5\n", "not re-created on a reload");
    }));
    assert!(ok.is_ok(), "--- lbd ---\n{}", read());
}

/// keepalived 2.2.7's `init_track_files`: a track file whose directory does not exist is
/// dropped with `Track file directory for NAME does not exist - removing`, and the instances
/// tracking it no longer do (here weight 0 reverse, which a missing file, read as 0, would
/// hold in FAULT).
#[test]
fn a_track_file_without_its_directory_is_dropped() {
    let dir = scratch("track-nodir");
    let ns = Netns::new("dmt5");
    let defs = format!(
        "vrrp_track_file tf {{\n    file {}/no-such-dir/v\n}}",
        dir.0.display()
    );
    fs::write(dir.0.join("lbd.conf"), config(&defs, "tf weight 0 reverse")).unwrap();
    let (_lbd, log) = start(&ns, &dir.0, "tn");
    let read = || fs::read_to_string(&log).unwrap_or_default();
    let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        wait_for("the removal", Duration::from_secs(10), || {
            read().contains("Track file directory for tf does not exist - removing")
        });
        wait_for("MASTER", Duration::from_secs(20), || {
            read().contains("(VI_1) Entering MASTER STATE")
        });
        assert!(!read().contains("FAULT"));
    }));
    assert!(ok.is_ok(), "--- lbd ---\n{}", read());
}
