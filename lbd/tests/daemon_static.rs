//! `static_ipaddress` in the daemon, with keepalived 2.2.7's behaviour (measured in a
//! namespace): added at start whatever the VRRP state, untouched by VRRP transitions, a reload
//! adds new entries and removes dropped ones, a stop removes them all (also one that was on
//! the interface before the start). Needs root.

mod common;

use common::*;
use std::process::Command;
use std::time::Duration;

const S: Duration = Duration::from_secs(1);
const VIP: &str = "192.0.2.100";

fn statics(entries: &[&str]) -> String {
    let mut s = String::from("static_ipaddress {\n");
    for e in entries {
        s.push_str(&format!("    {e}\n"));
    }
    s.push_str("}\n");
    s
}

fn conf(priority: u8, static_block: &str) -> String {
    let mut i = Instance::new("VI_1", 51, priority);
    i.master = priority > 100;
    config(&[static_block.to_owned(), i.render()])
}

/// `ip -o addr` lines of dmv0 (they carry the label).
fn addr_lines(ns: &Netns) -> String {
    let out = Command::new("ip")
        .args(["-n", &ns.name, "-o", "addr", "show", "dev", IF0])
        .output()
        .expect("run ip");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn static_addresses_follow_the_daemon_not_vrrp() {
    let net = Pair::new("dmkst", 1);
    let dir = TempDir::new("dmkst");
    // Already there before the start: keepalived removes it at stop all the same.
    net.a.ip(&["addr", "add", "198.51.100.52/24", "dev", IF0]);
    let first = statics(&[
        "198.51.100.50/24 dev dmv0 label dmv0:st",
        "198.51.100.52/24 dev dmv0",
        "2001:db8::50/64 dev dmv0",
    ]);
    let mut master = Daemon::start(Impl::Lbd, "b", &net.b, &dir, &conf(150, ""));
    wait_for("b holds the VIP", 15 * S, || net.b.has_addr(IF0, VIP));
    let mut a = Daemon::start(Impl::Lbd, "a", &net.a, &dir, &conf(100, &first));

    // 1. Present at start while BACKUP, with their attributes.
    wait_for("a is backup", 10 * S, || {
        a.log_count("(VI_1) Entering BACKUP STATE") > 0
    });
    wait_for("static addresses on a", 5 * S, || {
        net.a.has_addr(IF0, "198.51.100.50") && net.a.has_addr(IF0, "2001:db8::50")
    });
    let lines = addr_lines(&net.a);
    assert!(
        lines
            .lines()
            .any(|l| l.contains("198.51.100.50/24") && l.contains("dmv0:st")),
        "label and prefix applied:\n{lines}"
    );
    assert!(!net.a.has_addr(IF0, VIP));

    // 2. VRRP transitions leave them alone: a becomes master, then backup again.
    master.signal(libc::SIGTERM);
    master.wait_exit(10 * S);
    wait_for("a takes over", 5 * S, || net.a.has_addr(IF0, VIP));
    master.restart(&net.b, &dir);
    wait_for("b preempts", 15 * S, || {
        net.b.has_addr(IF0, VIP) && !net.a.has_addr(IF0, VIP)
    });
    for addr in ["198.51.100.50", "198.51.100.52", "2001:db8::50"] {
        assert_eq!(net.a.count_addr(IF0, addr), 1, "{addr} after transitions");
    }

    // 3. A reload adds the new entry and removes the dropped one; the instance keeps running.
    a.replace_config(&conf(
        100,
        &statics(&[
            "198.51.100.51/24 dev dmv0",
            "198.51.100.52/24 dev dmv0",
            "2001:db8::50/64 dev dmv0",
        ]),
    ));
    a.signal(libc::SIGHUP);
    wait_for("reload applied to the static addresses", 5 * S, || {
        net.a.has_addr(IF0, "198.51.100.51") && !net.a.has_addr(IF0, "198.51.100.50")
    });
    assert!(net.a.has_addr(IF0, "2001:db8::50"));
    assert_eq!(a.log_count("stopping (removed or changed by reload)"), 0);

    // 4. SIGTERM removes every static address, the pre-existing one too.
    a.signal(libc::SIGTERM);
    assert_eq!(a.wait_exit(10 * S), Some(0));
    for addr in ["198.51.100.51", "198.51.100.52", "2001:db8::50"] {
        assert!(!net.a.has_addr(IF0, addr), "{addr} left after stop");
    }
    assert!(
        net.a.has_addr(IF0, A_IP),
        "the interface's own address stays"
    );
}

/// An entry whose interface does not exist yet is added when it appears; under
/// `--dont-release-vrrp` the stop still removes it (keepalived 2.2.7 does the same with -V).
#[test]
fn static_address_waits_for_its_interface() {
    let net = Pair::new("dmksw", 1);
    let dir = TempDir::new("dmksw");
    let block = statics(&["198.51.100.60/24 dev dmlate"]);
    let mut a = Daemon::start_with(
        Impl::Lbd,
        "a",
        &net.a,
        &dir,
        &conf(100, &block),
        &["--dont-release-vrrp"],
    );
    wait_for("the missing interface is reported", 10 * S, || {
        a.log_count("static address 198.51.100.60 not added") == 1
    });
    net.a.ip(&[
        "link", "add", "dmlate", "type", "veth", "peer", "name", "dmlatep",
    ]);
    wait_for("added once the interface exists", 10 * S, || {
        net.a.has_addr("dmlate", "198.51.100.60")
    });
    wait_for("a is master (alone)", 10 * S, || net.a.has_addr(IF0, VIP));
    a.signal(libc::SIGTERM);
    assert_eq!(a.wait_exit(10 * S), Some(0));
    assert!(!net.a.has_addr("dmlate", "198.51.100.60"));
    assert!(
        net.a.has_addr(IF0, VIP),
        "--dont-release-vrrp keeps the VIP"
    );
}
