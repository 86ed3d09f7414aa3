//! lbd against Debian's keepalived 2.2.7 on one segment, both roles: VRRPv2 with PASS auth
//! and VRRPv3, multicast and unicast. The same generated keepalived.conf text feeds both
//! daemons. Failover is exercised both ways: the master's link goes down (the backup takes
//! over after Master_Down_Interval) and comes back (the master preempts), then the master
//! stops (kill -9 for lbd, SIGTERM with its priority-0 advert for keepalived).
//! Needs root and /usr/sbin/keepalived.

mod common;

use common::*;
use std::time::Duration;

const S: Duration = Duration::from_secs(1);

#[derive(Clone, Copy)]
struct Case {
    prefix: &'static str,
    version: u8,
    unicast: bool,
    /// Which implementation runs the higher-priority node.
    master: Impl,
    vip: &'static str,
    /// `vrrp_strict` in both files: keepalived 2.2.7 then drops `authentication` (and sends
    /// none); lbd must do the same or the pair splits into two masters.
    strict: bool,
}

const V4: &str = "192.0.2.100";
const V6: &str = "2001:db8::100";

fn only_on(vip: &str, holder: &Netns, other: &Netns) -> bool {
    holder.count_addr(IF0, vip) == 1 && !other.has_addr(IF0, vip)
}

fn instance(case: Case, priority: u8, me: &str, peer: &str) -> String {
    let mut i = Instance::new("VI_1", 51, priority);
    i.vips = vec![case.vip.into()];
    i.master = priority > 100;
    i.version = case.version;
    if case.version == 2 {
        i.advert_int = "1".into();
        i.auth_pass = Some("s3cret".into());
    } else {
        i.advert_int = "0.2".into();
    }
    if case.unicast {
        i.unicast = Some((me.into(), vec![peer.into()]));
    }
    i.render()
}

fn run(case: Case) {
    assert!(
        std::path::Path::new("/usr/sbin/keepalived").exists(),
        "keepalived is required (apt-get install keepalived)"
    );
    let other = match case.master {
        Impl::Lbd => Impl::Keepalived,
        Impl::Keepalived => Impl::Lbd,
    };
    // Master_Down_Interval, plus room for a loaded machine.
    let down = if case.version == 2 {
        Duration::from_millis(3_700)
    } else {
        Duration::from_millis(750)
    };
    let budget = down + 3 * S;

    let net = Pair::new(case.prefix, 1);
    let dir = TempDir::new(case.prefix);
    let conf = |priority, me, peer| {
        let text = config(&[instance(case, priority, me, peer)]);
        if case.strict {
            text.replacen("global_defs {\n", "global_defs {\n    vrrp_strict\n", 1)
        } else {
            text
        }
    };
    let conf_a = conf(150, A_IP, B_IP);
    let conf_b = conf(100, B_IP, A_IP);
    let mut a = Daemon::start(case.master, "a", &net.a, &dir, &conf_a);
    let b = Daemon::start(other, "b", &net.b, &dir, &conf_b);

    wait_for("the priority-150 node holds the VIP", 15 * S, || {
        only_on(case.vip, &net.a, &net.b)
    });
    wait_for("the other node is backup", 10 * S, || {
        b.log_count("(VI_1) Entering BACKUP STATE") > 0
    });
    holds_for("the VIP stays put", down, || {
        only_on(case.vip, &net.a, &net.b)
    });

    // 1. The master's link goes down: the backup takes over.
    net.a.link(IF0, false);
    let took = wait_for("backup takes over from a link-down master", budget, || {
        only_on(case.vip, &net.b, &net.a)
    });
    eprintln!("{}: takeover after master link down: {took:?}", case.prefix);

    // 2. It comes back: the higher priority preempts.
    net.a.link(IF0, true);
    let took = wait_for("master preempts again", budget + 5 * S, || {
        only_on(case.vip, &net.a, &net.b)
    });
    eprintln!("{}: preemption after link up: {took:?}", case.prefix);
    wait_for("the other node is backup again", budget, || {
        b.log_count("(VI_1) Entering BACKUP STATE") >= 2
    });

    // 3. The master stops.
    match case.master {
        Impl::Lbd => {
            a.kill9();
            let took = wait_for("keepalived takes over after kill -9", budget, || {
                net.b.has_addr(IF0, case.vip)
            });
            eprintln!("{}: takeover after kill -9 of lbd: {took:?}", case.prefix);
            // lbd restarts, finds its leftover VIP and preempts keepalived.
            a.restart(&net.a, &dir);
            wait_for("restarted lbd preempts", budget + 5 * S, || {
                only_on(case.vip, &net.a, &net.b)
            });
        }
        Impl::Keepalived => {
            a.signal(libc::SIGTERM);
            let took = wait_for("lbd takes over on priority 0", budget, || {
                only_on(case.vip, &net.b, &net.a)
            });
            eprintln!(
                "{}: takeover after keepalived SIGTERM: {took:?}",
                case.prefix
            );
            assert!(
                took < down,
                "priority 0 must beat Master_Down_Interval: {took:?}"
            );
            assert!(
                b.log_count("(VI_1) Backup received priority 0 advertisement") >= 1,
                "{}",
                b.log_text()
            );
            a.wait_exit(10 * S);
        }
    }
}

#[test]
fn v2_pass_multicast_lbd_master_keepalived_backup() {
    run(Case {
        prefix: "dmi2m",
        version: 2,
        unicast: false,
        master: Impl::Lbd,
        vip: V4,
        strict: false,
    });
}

#[test]
fn v2_pass_multicast_keepalived_master_lbd_backup() {
    run(Case {
        prefix: "dmi2k",
        version: 2,
        unicast: false,
        master: Impl::Keepalived,
        vip: V4,
        strict: false,
    });
}

#[test]
fn v2_pass_unicast_keepalived_master_lbd_backup() {
    run(Case {
        prefix: "dmi2u",
        version: 2,
        unicast: true,
        master: Impl::Keepalived,
        vip: V4,
        strict: false,
    });
}

#[test]
fn v3_multicast_lbd_master_keepalived_backup() {
    run(Case {
        prefix: "dmi3m",
        version: 3,
        unicast: false,
        master: Impl::Lbd,
        vip: V4,
        strict: false,
    });
}

#[test]
fn v3_unicast_lbd_master_keepalived_backup() {
    run(Case {
        prefix: "dmi3u",
        version: 3,
        unicast: true,
        master: Impl::Lbd,
        vip: V4,
        strict: false,
    });
}

#[test]
fn v3_unicast_keepalived_master_lbd_backup() {
    run(Case {
        prefix: "dmi3k",
        version: 3,
        unicast: true,
        master: Impl::Keepalived,
        vip: V4,
        strict: false,
    });
}

#[test]
fn v3_ipv6_multicast_lbd_master_keepalived_backup() {
    run(Case {
        prefix: "dmi6m",
        version: 3,
        unicast: false,
        master: Impl::Lbd,
        vip: V6,
        strict: false,
    });
}

#[test]
fn v3_ipv6_multicast_keepalived_master_lbd_backup() {
    run(Case {
        prefix: "dmi6k",
        version: 3,
        unicast: false,
        master: Impl::Keepalived,
        vip: V6,
        strict: false,
    });
}

#[test]
fn v2_strict_pass_multicast_lbd_master_keepalived_backup() {
    run(Case {
        prefix: "dmi2sl",
        version: 2,
        unicast: false,
        master: Impl::Lbd,
        vip: V4,
        strict: true,
    });
}

#[test]
fn v2_strict_pass_multicast_keepalived_master_lbd_backup() {
    run(Case {
        prefix: "dmi2sk",
        version: 2,
        unicast: false,
        master: Impl::Keepalived,
        vip: V4,
        strict: true,
    });
}
