//! `track_file` weights as keepalived: the file's value times the weight moves the priority.
//!
//! Needs root (a network namespace, removed by a guard).

mod sm_common;

use std::fs;
use std::time::Duration;

use sm_common::{spawn_in_ns, wait_for, Dir, Netns};

#[test]
fn file_value_times_weight_moves_the_priority() {
    // SAFETY: geteuid has no preconditions.
    assert_eq!(unsafe { libc::geteuid() }, 0, "this test needs root");
    let dir = Dir(std::env::temp_dir().join(format!("sm-track-file-{}", std::process::id())));
    fs::create_dir_all(&dir.0).unwrap();
    let ns = Netns::new("smt3");
    let file = dir.0.join("weight");
    fs::write(&file, "3\n").unwrap();
    let conf = dir.0.join("lbd.conf");
    fs::write(
        &conf,
        format!(
            "global_defs {{\n    router_id smtest\n}}
vrrp_track_file tf {{\n    file {}\n    weight 10\n}}
vrrp_instance VI_1 {{
    state BACKUP
    interface smv0
    virtual_router_id 52
    priority 100
    advert_int 0.2
    version 3
    track_file {{\n        tf\n    }}
    virtual_ipaddress {{\n        192.0.2.101\n    }}
}}
",
            file.display()
        ),
    )
    .unwrap();
    let log = dir.0.join("lbd.log");
    let (pid, sock) = (dir.0.join("lbd.pid"), dir.0.join("lbd.sock"));
    let _lbd = spawn_in_ns(
        &ns,
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
            format!("/run/lbd-smtest-tf-{}.json", std::process::id()),
        )],
    );
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
