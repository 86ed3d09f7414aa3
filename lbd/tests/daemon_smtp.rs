//! `smtp_alert` end to end: lbd alone in a namespace becomes MASTER and its alert reaches a
//! real SMTP server (Debian's python3-aiosmtpd, printing what it receives).
//!
//! Needs root (a network namespace); the namespace and the processes are removed by guards,
//! also when the test fails.

use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

const SMTP_PORT: u16 = 2525;

mod sm_common;

use sm_common::{spawn_in_ns, wait_for, Dir, Netns, Proc};

/// Starts lbd in `ns`: one instance, mail to 127.0.0.1:`port`; `global` and `own` are extra
/// lines of `global_defs` and of the instance (where `smtp_alert` goes).
fn start_lbd(ns: &Netns, dir: &Dir, port: u16, global: &str, own: &str) -> (Proc, PathBuf) {
    let conf = dir.0.join("lbd.conf");
    fs::write(
        &conf,
        format!(
            "global_defs {{
    router_id smtest
    notification_email {{
        ops@example.org
        noc@example.org
    }}
    notification_email_from lbd@example.org
    smtp_server 127.0.0.1 {port}
    smtp_connect_timeout 5
{global}
}}
vrrp_instance VI_1 {{
    state BACKUP
    interface smv0
    virtual_router_id 51
    priority 100
    advert_int 0.2
    version 3
{own}
    virtual_ipaddress {{
        192.0.2.100
    }}
}}
"
        ),
    )
    .unwrap();
    let lbd_log = dir.0.join("lbd.log");
    let pid = dir.0.join("lbd.pid");
    let sock = dir.0.join("lbd.sock");
    let lbd = spawn_in_ns(
        ns,
        &lbd_log,
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
            format!("/run/lbd-smtest-{}.json", std::process::id()),
        )],
    );

    (lbd, lbd_log)
}

#[test]
fn master_transition_sends_the_alert() {
    // SAFETY: geteuid has no preconditions.
    assert_eq!(unsafe { libc::geteuid() }, 0, "this test needs root");
    let dir = Dir(std::env::temp_dir().join(format!("smtp-alert-{}", std::process::id())));
    fs::create_dir_all(&dir.0).unwrap();
    let ns = Netns::new("smt1");

    let sink_log = dir.0.join("smtpd.log");
    let listen = format!("127.0.0.1:{SMTP_PORT}");
    let _sink = spawn_in_ns(
        &ns,
        &sink_log,
        &[
            "/usr/bin/python3",
            "-u",
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            &listen,
            "-c",
            "aiosmtpd.handlers.Debugging",
        ],
        &[],
    );
    // The server is up when something listens on the port inside the namespace.
    wait_for("the SMTP sink to listen", Duration::from_secs(20), || {
        let out = Command::new("ip")
            .args(["netns", "exec", ns.0, "ss", "-Hltn"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).contains(&format!(":{SMTP_PORT}"))
    });

    let (_lbd, lbd_log) = start_lbd(&ns, &dir, SMTP_PORT, "", "    smtp_alert");

    let subject = "Subject: [smtest] VRRP Instance VI_1 - Entering MASTER state";
    let read = |p: &PathBuf| fs::read_to_string(p).unwrap_or_default();
    let arrived = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        wait_for("the MASTER alert", Duration::from_secs(20), || {
            read(&sink_log).contains(subject)
        })
    }));
    let (mail, daemon) = (read(&sink_log), read(&lbd_log));
    assert!(
        arrived.is_ok(),
        "no alert arrived\n--- smtpd ---\n{mail}\n--- lbd ---\n{daemon}"
    );
    for needle in [
        "From: lbd@example.org",
        "To: ops@example.org, noc@example.org",
        "X-Mailer: Keepalived",
        "=> VRRP Instance is now owning VRRP VIPs <=",
    ] {
        assert!(mail.contains(needle), "{needle:?} missing from\n{mail}");
    }
    wait_for("lbd to log the delivery", Duration::from_secs(5), || {
        read(&lbd_log).contains("SMTP alert successfully sent")
    });
}

#[test]
fn unreachable_server_does_not_stop_vrrp() {
    // SAFETY: geteuid has no preconditions.
    assert_eq!(unsafe { libc::geteuid() }, 0, "this test needs root");
    let dir = Dir(std::env::temp_dir().join(format!("smtp-alert-down-{}", std::process::id())));
    fs::create_dir_all(&dir.0).unwrap();
    let ns = Netns::new("smt2");
    // Nothing listens: every mail fails at connect.
    let (_lbd, lbd_log) = start_lbd(&ns, &dir, SMTP_PORT, "", "    smtp_alert");
    let read = |p: &PathBuf| fs::read_to_string(p).unwrap_or_default();
    let has_vip = || {
        let out = Command::new("ip")
            .args(["-n", ns.0, "-o", "addr", "show", "dev", "smv0"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).contains("192.0.2.100/")
    };
    let became_master = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        wait_for("MASTER with its VIP", Duration::from_secs(20), has_vip);
        wait_for("the failed delivery", Duration::from_secs(10), || {
            read(&lbd_log).contains(
                "SMTP alert \"[smtest] VRRP Instance VI_1 - Entering MASTER state\" not sent",
            )
        });
    }));
    assert!(became_master.is_ok(), "--- lbd ---\n{}", read(&lbd_log));
}

/// Starts the SMTP sink in `ns` and waits until it listens; its log is `dir/smtpd.log`.
fn start_sink(ns: &Netns, dir: &Dir) -> (Proc, PathBuf) {
    let sink_log = dir.0.join("smtpd.log");
    let listen = format!("127.0.0.1:{SMTP_PORT}");
    let sink = spawn_in_ns(
        ns,
        &sink_log,
        &[
            "/usr/bin/python3",
            "-u",
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            &listen,
            "-c",
            "aiosmtpd.handlers.Debugging",
        ],
        &[],
    );
    wait_for("the SMTP sink to listen", Duration::from_secs(20), || {
        let out = Command::new("ip")
            .args(["netns", "exec", ns.0, "ss", "-Hltn"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).contains(&format!(":{SMTP_PORT}"))
    });
    (sink, sink_log)
}

#[test]
fn global_smtp_alert_defaults_are_honoured() {
    // SAFETY: geteuid has no preconditions.
    assert_eq!(unsafe { libc::geteuid() }, 0, "this test needs root");
    let read = |p: &PathBuf| fs::read_to_string(p).unwrap_or_default();
    let subject = "Subject: [smtest] VRRP Instance VI_1 - Entering MASTER state";

    // smtp_alert_vrrp in global_defs, nothing on the instance: it mails.
    let dir = Dir(std::env::temp_dir().join(format!("smtp-alert-glob-{}", std::process::id())));
    fs::create_dir_all(&dir.0).unwrap();
    let ns = Netns::new("vrfsm1");
    let (_sink, sink_log) = start_sink(&ns, &dir);
    let (_lbd, lbd_log) = start_lbd(&ns, &dir, SMTP_PORT, "    smtp_alert_vrrp", "");
    let arrived = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        wait_for("the MASTER alert", Duration::from_secs(20), || {
            read(&sink_log).contains(subject)
        })
    }));
    assert!(
        arrived.is_ok(),
        "no alert arrived\n--- smtpd ---\n{}\n--- lbd ---\n{}",
        read(&sink_log),
        read(&lbd_log)
    );

    // smtp_alert in global_defs, `smtp_alert off` on the instance: no mail.
    let dir = Dir(std::env::temp_dir().join(format!("smtp-alert-off-{}", std::process::id())));
    fs::create_dir_all(&dir.0).unwrap();
    let ns = Netns::new("vrfsm2");
    let (_sink, sink_log) = start_sink(&ns, &dir);
    let (_lbd, lbd_log) = start_lbd(&ns, &dir, SMTP_PORT, "    smtp_alert", "    smtp_alert off");
    let has_vip = || {
        let out = Command::new("ip")
            .args(["-n", ns.0, "-o", "addr", "show", "dev", "smv0"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).contains("192.0.2.100/")
    };
    let master = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        wait_for("MASTER with its VIP", Duration::from_secs(20), has_vip)
    }));
    assert!(master.is_ok(), "--- lbd ---\n{}", read(&lbd_log));
    std::thread::sleep(Duration::from_secs(2));
    assert!(!read(&sink_log).contains("Subject:"), "{}", read(&sink_log));
    assert!(!read(&lbd_log).contains("SMTP alert"), "{}", read(&lbd_log));
}
