//! `vrrp_mcast_group4`: adverts go to the configured group and the sockets join it. Two lbd
//! on 224.0.0.19 elect one master, tcpdump sees the adverts addressed to that group (and none
//! to 224.0.0.18), an lbd on the default group does not hear them, and lbd and keepalived
//! 2.2.7 on 224.0.0.19 elect one master in both roles; so do they with a per-instance
//! `mcast_dst_ip`, and over IPv6 with `vrrp_mcast_group6`. Needs root, tcpdump and keepalived.

mod common;

use common::*;
use std::process::Command;
use std::time::Duration;

const S: Duration = Duration::from_secs(1);
const VIP: &str = "192.0.2.100";
const GROUP: &str = "224.0.0.19";

fn only_on(holder: &Netns, other: &Netns) -> bool {
    holder.count_addr(IF0, VIP) == 1 && !other.has_addr(IF0, VIP)
}

/// `common::config` with the group in `global_defs` (`None`: the RFC's group).
fn conf(group: Option<&str>, priority: u8) -> String {
    let mut i = Instance::new("VI_1", 51, priority);
    i.master = priority > 100;
    let text = config(&[i.render()]);
    match group {
        Some(g) => text.replacen(
            "global_defs {\n",
            &format!("global_defs {{\n    vrrp_mcast_group4 {g}\n"),
            1,
        ),
        None => text,
    }
}

/// Destinations of the next `count` VRRP packets seen on `ns`'s dmv0 (tcpdump, 5 s at most).
fn capture_destinations(ns: &Netns, count: usize) -> Vec<String> {
    let out = Command::new("ip")
        .args(["netns", "exec", &ns.name, "timeout", "5", "tcpdump"])
        .args(["-i", IF0, "-nn", "-l", "-c", &count.to_string()])
        .arg("ip proto 112 or ip6 proto 112")
        .output()
        .expect("run tcpdump (apt-get install tcpdump)");
    // "12:00:00.000000 IP 192.0.2.1 > 224.0.0.19: VRRPv3, Advertisement, ..."
    // "12:00:00.000000 IP6 fe80::1 > ff02::113: ip-proto-112 ..."
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split(" > ").nth(1)?.split(": ").next().map(str::to_owned))
        .collect()
}

fn require_keepalived() {
    assert!(
        std::path::Path::new("/usr/sbin/keepalived").exists(),
        "keepalived is required (apt-get install keepalived)"
    );
}

#[test]
fn two_lbd_elect_on_the_configured_group() {
    let net = Pair::new("dmkga", 1);
    let dir = TempDir::new("dmkga");
    let a = Daemon::start(Impl::Lbd, "a", &net.a, &dir, &conf(Some(GROUP), 150));
    let b = Daemon::start(Impl::Lbd, "b", &net.b, &dir, &conf(Some(GROUP), 100));
    wait_for("a holds the VIP", 15 * S, || only_on(&net.a, &net.b));
    wait_for("b is backup", 10 * S, || {
        b.log_count("(VI_1) Entering BACKUP STATE") > 0
    });
    // Master_Down_Interval is 0.8 s: b would have taken the VIP if it missed the adverts.
    holds_for("one master", 2 * S, || only_on(&net.a, &net.b));
    let dsts = capture_destinations(&net.b, 4);
    assert_eq!(dsts.len(), 4, "adverts captured: {dsts:?}");
    assert!(dsts.iter().all(|d| d == GROUP), "destinations: {dsts:?}");
    assert_eq!(a.log_count("Entering BACKUP STATE"), 1, "{}", a.log_text());
}

/// The group separates: a node on the RFC's group never hears the other and claims the VIP
/// too, which is what an operator gets by mixing groups.
#[test]
fn a_node_on_another_group_does_not_hear_the_adverts() {
    let net = Pair::new("dmkgb", 1);
    let dir = TempDir::new("dmkgb");
    let _a = Daemon::start(Impl::Lbd, "a", &net.a, &dir, &conf(Some(GROUP), 150));
    wait_for("a holds the VIP", 15 * S, || net.a.has_addr(IF0, VIP));
    let _b = Daemon::start(Impl::Lbd, "b", &net.b, &dir, &conf(None, 100));
    wait_for("b claims the VIP as well", 10 * S, || {
        net.b.has_addr(IF0, VIP)
    });
    assert!(net.a.has_addr(IF0, VIP));
}

/// `mcast_dst_ip` overrides the global group for its instance, in both daemons.
#[test]
fn mcast_dst_ip_overrides_the_global_group() {
    require_keepalived();
    let net = Pair::new("dmkge", 1);
    let dir = TempDir::new("dmkge");
    let conf = |priority: u8| {
        let mut i = Instance::new("VI_1", 51, priority);
        i.master = priority > 100;
        i.extra = "    mcast_dst_ip 224.0.0.20\n".into();
        config(&[i.render()]).replacen(
            "global_defs {\n",
            &format!("global_defs {{\n    vrrp_mcast_group4 {GROUP}\n"),
            1,
        )
    };
    let _a = Daemon::start(Impl::Lbd, "a", &net.a, &dir, &conf(150));
    let b = Daemon::start(Impl::Keepalived, "b", &net.b, &dir, &conf(100));
    wait_for("lbd holds the VIP", 15 * S, || only_on(&net.a, &net.b));
    wait_for("keepalived is backup", 10 * S, || {
        b.log_count("(VI_1) Entering BACKUP STATE") > 0
    });
    holds_for("one master", 2 * S, || only_on(&net.a, &net.b));
    let dsts = capture_destinations(&net.b, 3);
    assert!(
        !dsts.is_empty() && dsts.iter().all(|d| d == "224.0.0.20"),
        "destinations: {dsts:?}"
    );
}

fn lbd_and_keepalived(prefix: &str, master: Impl) {
    require_keepalived();
    let other = match master {
        Impl::Lbd => Impl::Keepalived,
        Impl::Keepalived => Impl::Lbd,
    };
    let net = Pair::new(prefix, 1);
    let dir = TempDir::new(prefix);
    let mut a = Daemon::start(master, "a", &net.a, &dir, &conf(Some(GROUP), 150));
    let b = Daemon::start(other, "b", &net.b, &dir, &conf(Some(GROUP), 100));
    wait_for("the priority-150 node holds the VIP", 15 * S, || {
        only_on(&net.a, &net.b)
    });
    wait_for("the other node is backup", 10 * S, || {
        b.log_count("(VI_1) Entering BACKUP STATE") > 0
    });
    holds_for("one master", 2 * S, || only_on(&net.a, &net.b));
    let dsts = capture_destinations(&net.b, 3);
    assert!(
        !dsts.is_empty() && dsts.iter().all(|d| d == GROUP),
        "destinations: {dsts:?}"
    );
    // The backup hears the priority-0 advert on the group and takes over at once.
    a.signal(libc::SIGTERM);
    wait_for("the backup takes over", 3 * S, || only_on(&net.b, &net.a));
    a.wait_exit(10 * S);
}

#[test]
fn lbd_master_keepalived_backup_on_the_configured_group() {
    lbd_and_keepalived("dmkgc", Impl::Lbd);
}

#[test]
fn keepalived_master_lbd_backup_on_the_configured_group() {
    lbd_and_keepalived("dmkgd", Impl::Keepalived);
}

#[test]
fn ipv6_group_lbd_master_keepalived_backup() {
    require_keepalived();
    const VIP6: &str = "2001:db8::100";
    const GROUP6: &str = "ff02::113";
    let net = Pair::new("dmkgf", 1);
    let dir = TempDir::new("dmkgf");
    let conf = |priority: u8| {
        let mut i = Instance::new("VI_1", 51, priority);
        i.master = priority > 100;
        i.vips = vec![VIP6.into()];
        config(&[i.render()]).replacen(
            "global_defs {\n",
            &format!("global_defs {{\n    vrrp_mcast_group6 {GROUP6}\n"),
            1,
        )
    };
    let only_a = || net.a.count_addr(IF0, VIP6) == 1 && !net.b.has_addr(IF0, VIP6);
    let _a = Daemon::start(Impl::Lbd, "a", &net.a, &dir, &conf(150));
    let b = Daemon::start(Impl::Keepalived, "b", &net.b, &dir, &conf(100));
    wait_for("lbd holds the VIP", 15 * S, only_a);
    wait_for("keepalived is backup", 10 * S, || {
        b.log_count("(VI_1) Entering BACKUP STATE") > 0
    });
    holds_for("one master", 2 * S, only_a);
    let dsts = capture_destinations(&net.b, 3);
    assert!(
        !dsts.is_empty() && dsts.iter().all(|d| d == GROUP6),
        "destinations: {dsts:?}"
    );
}
