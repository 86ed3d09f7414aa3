//! lbd against lbd: two daemons in two network namespaces on one bridged segment.
//! Needs root. Every wait polls a condition with a deadline; timings are asserted against the
//! protocol's own intervals with room for a loaded machine.

mod common;

use common::*;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

const VIP: &str = "192.0.2.100";
const S: Duration = Duration::from_secs(1);

fn only_on(holder: &Netns, other: &Netns, vip: &str) -> bool {
    holder.count_addr(IF0, vip) == 1 && !other.has_addr(IF0, vip)
}

#[test]
fn election_kill9_failover_and_preemption() {
    let net = Pair::new("dmel", 1);
    let dir = TempDir::new("dmel");
    let mut ia = Instance::new("VI_1", 51, 150);
    ia.master = true;
    let ib = Instance::new("VI_1", 51, 100);
    let mut a = Daemon::start(Impl::Lbd, "a", &net.a, &dir, &config(&[ia.render()]));
    let b = Daemon::start(Impl::Lbd, "b", &net.b, &dir, &config(&[ib.render()]));

    wait_for("A (priority 150) holds the VIP", 10 * S, || {
        only_on(&net.a, &net.b, VIP)
    });
    wait_for("B logs BACKUP", 5 * S, || {
        b.log_count("(VI_1) Entering BACKUP STATE") > 0
    });
    holds_for("the VIP stays on A only", S, || {
        only_on(&net.a, &net.b, VIP)
    });
    assert!(
        a.log_count("(VI_1) Entering MASTER STATE") == 1,
        "{}",
        a.log_text()
    );
    assert!(a.log_count("(VI_1) setting VIPs.") == 1);
    assert!(a.log_count("Sending gratuitous ARP on dmv0 for 192.0.2.100") >= 1);

    // A dies without a word: B waits Master_Down_Interval = 3 * 0.2 s + skew (0.12 s).
    a.kill9();
    let took = wait_for("B takes over after kill -9", 10 * S, || {
        net.b.has_addr(IF0, VIP)
    });
    eprintln!("failover after kill -9 took {took:?} (master down interval 0.72 s)");
    assert!(took < 3 * S, "failover took {took:?}");
    assert!(b.log_count("(VI_1) Receive advertisement timeout") >= 1);
    assert!(b.log_count("(VI_1) Entering MASTER STATE") >= 1);
    // A killed process cannot clean up: its VIP is still there.
    assert!(net.a.has_addr(IF0, VIP));

    // A comes back: it finds its leftover, and as the higher priority preempts B. The VIP
    // ends up exactly once on A and not on B.
    a.restart(&net.a, &dir);
    wait_for("A preempts and B releases", 10 * S, || {
        only_on(&net.a, &net.b, VIP)
    });
    holds_for("A keeps it", S, || only_on(&net.a, &net.b, VIP));
    assert!(
        b.log_count("(VI_1) removing VIPs.") >= 1,
        "{}",
        b.log_text()
    );
}

#[test]
fn sigterm_hands_over_at_once_with_notify_and_dump() {
    let net = Pair::new("dmst", 1);
    let dir = TempDir::new("dmst");
    let notify = dir.write(
        "notify.sh",
        "#!/bin/sh\necho \"$@\" >> \"$(dirname \"$0\")/notify.log\"\n",
    );
    fs::set_permissions(&notify, fs::Permissions::from_mode(0o755)).unwrap();
    let stopped = dir.join("a.stopped");
    // advert_int 1 s: Master_Down_Interval is 3.6 s, Skew_Time 0.4 s, so a takeover well
    // under 3 s can only be the priority-0 path.
    let mut ia = Instance::new("VI_1", 51, 150);
    ia.advert_int = "1".into();
    ia.extra = format!(
        "    notify {}\n    notify_stop \"/usr/bin/touch {}\"\n",
        notify.display(),
        stopped.display()
    );
    let mut ib = Instance::new("VI_1", 51, 100);
    ib.advert_int = "1".into();
    let mut a = Daemon::start(Impl::Lbd, "a", &net.a, &dir, &config(&[ia.render()]));
    let b = Daemon::start(Impl::Lbd, "b", &net.b, &dir, &config(&[ib.render()]));
    wait_for("A holds the VIP", 15 * S, || only_on(&net.a, &net.b, VIP));
    wait_for("B is backup", 5 * S, || {
        b.log_count("(VI_1) Entering BACKUP STATE") > 0
    });

    // SIGUSR1: the JSON dump says who we are.
    a.signal(libc::SIGUSR1);
    let dump = a.dump_path();
    wait_for("dump written", 5 * S, || dump.exists());
    let json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&dump).unwrap()).unwrap();
    let inst = &json["instances"][0];
    assert_eq!(inst["name"], "VI_1");
    assert_eq!(inst["state"], "MASTER");
    assert_eq!(inst["effective_priority"], 150);
    assert_eq!(inst["vips_installed"], true);
    assert_eq!(
        fs::metadata(&dump).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // keepalived's other dump signals (USR2 stats, RTMIN+2 JSON, RTMIN+29 stats-clear) write
    // the same dump; none of them may kill the daemon (their default action would).
    for sig in [libc::SIGUSR2, libc::SIGRTMIN() + 2, libc::SIGRTMIN() + 29] {
        fs::remove_file(&dump).unwrap();
        a.signal(sig);
        wait_for("dump written again", 5 * S, || dump.exists());
    }
    assert!(
        net.a.has_addr(IF0, VIP),
        "A still holds the VIP after the dump signals"
    );

    let notify_log = dir.join("notify.log");
    wait_for("notify ran for MASTER", 5 * S, || {
        fs::read_to_string(&notify_log)
            .unwrap_or_default()
            .contains("INSTANCE VI_1 MASTER 150")
    });

    a.signal(libc::SIGTERM);
    let took = wait_for("B takes over on priority 0", 10 * S, || {
        net.b.has_addr(IF0, VIP)
    });
    eprintln!("handover after SIGTERM took {took:?} (master down interval 3.6 s)");
    assert!(took < Duration::from_millis(2500), "handover took {took:?}");
    assert_eq!(a.wait_exit(5 * S), Some(0), "lbd exits 0 on SIGTERM");
    assert!(!net.a.has_addr(IF0, VIP), "A removed its VIP on stop");
    assert!(a.log_count("(VI_1) sent 0 priority") == 1);
    assert!(b.log_count("(VI_1) Backup received priority 0 advertisement") >= 1);
    assert!(stopped.exists(), "notify_stop ran");
    let log = fs::read_to_string(&notify_log).unwrap();
    assert!(log.contains("INSTANCE VI_1 STOP 150"), "{log}");
    assert!(!a.pid_file.exists(), "pid file removed on exit");
}

#[test]
fn dont_release_vrrp_keeps_the_vip_across_a_restart() {
    // keepalived's -V: a stop leaves the VIP and sends no priority 0, so a quick restart
    // moves nothing: the backup never takes over and the VIP is never duplicated.
    let net = Pair::new("dmdr", 1);
    let dir = TempDir::new("dmdr");
    let mut ia = Instance::new("VI_1", 51, 150);
    ia.master = true;
    ia.advert_int = "1".into();
    let mut ib = Instance::new("VI_1", 51, 100);
    ib.advert_int = "1".into();
    let conf_a = config(&[ia.render()]);
    let mut a = Daemon::start_with(Impl::Lbd, "a", &net.a, &dir, &conf_a, &["-V"]);
    let b = Daemon::start(Impl::Lbd, "b", &net.b, &dir, &config(&[ib.render()]));
    wait_for("A holds the VIP", 15 * S, || only_on(&net.a, &net.b, VIP));
    wait_for("B is backup", 5 * S, || {
        b.log_count("(VI_1) Entering BACKUP STATE") > 0
    });

    a.signal(libc::SIGTERM);
    assert_eq!(a.wait_exit(5 * S), Some(0), "lbd exits 0 on SIGTERM");
    assert!(net.a.has_addr(IF0, VIP), "-V: the VIP stays on stop");
    assert_eq!(
        a.log_count("(VI_1) sent 0 priority"),
        0,
        "-V: no priority 0"
    );
    a.restart(&net.a, &dir);
    wait_for("A is master again", 10 * S, || {
        a.log_count("(VI_1) Entering MASTER STATE") >= 2
    });
    // Master_Down_Interval is 3.6 s: wait past it and check B never took over.
    std::thread::sleep(4 * S);
    assert_eq!(b.log_count("(VI_1) Entering MASTER STATE"), 0);
    assert!(only_on(&net.a, &net.b, VIP), "one VIP, on A");
}

#[test]
fn nopreempt_keeps_the_running_master() {
    let net = Pair::new("dmnp", 1);
    let dir = TempDir::new("dmnp");
    let ib = Instance::new("VI_1", 51, 100);
    let b = Daemon::start(Impl::Lbd, "b", &net.b, &dir, &config(&[ib.render()]));
    wait_for("B alone becomes master", 10 * S, || {
        net.b.has_addr(IF0, VIP)
    });
    let mut ia = Instance::new("VI_1", 51, 150);
    ia.nopreempt = true;
    let a = Daemon::start(Impl::Lbd, "a", &net.a, &dir, &config(&[ia.render()]));
    wait_for("A is backup", 5 * S, || {
        a.log_count("(VI_1) Entering BACKUP STATE") > 0
    });
    // Five times Master_Down_Interval: a preempting A would have taken over long ago.
    holds_for("B stays master", 4 * S, || only_on(&net.b, &net.a, VIP));
    assert_eq!(a.log_count("Entering MASTER STATE"), 0);
    drop(b);
}

#[test]
fn preempt_delay_holds_off_the_higher_priority_backup() {
    let net = Pair::new("dmpd", 1);
    let dir = TempDir::new("dmpd");
    let ib = Instance::new("VI_1", 51, 100);
    let b = Daemon::start(Impl::Lbd, "b", &net.b, &dir, &config(&[ib.render()]));
    wait_for("B alone becomes master", 10 * S, || {
        net.b.has_addr(IF0, VIP)
    });
    let mut ia = Instance::new("VI_1", 51, 150);
    ia.extra = "    preempt_delay 3\n".to_owned();
    let a = Daemon::start(Impl::Lbd, "a", &net.a, &dir, &config(&[ia.render()]));
    wait_for("A is backup", 5 * S, || {
        a.log_count("(VI_1) Entering BACKUP STATE") > 0
    });
    // Without the delay A would preempt within one Master_Down_Interval (~0.7 s).
    holds_for("B stays master while A's preempt_delay runs", 2 * S, || {
        only_on(&net.b, &net.a, VIP)
    });
    assert_eq!(a.log_count("Entering MASTER STATE"), 0, "{}", a.log_text());
    wait_for("A preempts once the delay is over", 5 * S, || {
        only_on(&net.a, &net.b, VIP)
    });
    drop(b);
}

#[test]
fn interface_down_is_fault_and_the_peer_takes_over() {
    let net = Pair::new("dmif", 1);
    let dir = TempDir::new("dmif");
    let a = Daemon::start(
        Impl::Lbd,
        "a",
        &net.a,
        &dir,
        &config(&[Instance::new("VI_1", 51, 150).render()]),
    );
    let b = Daemon::start(
        Impl::Lbd,
        "b",
        &net.b,
        &dir,
        &config(&[Instance::new("VI_1", 51, 100).render()]),
    );
    wait_for("A holds the VIP", 10 * S, || only_on(&net.a, &net.b, VIP));

    net.a.link(IF0, false);
    wait_for("A enters FAULT", 5 * S, || {
        a.log_count("(VI_1) Entering FAULT STATE") > 0
    });
    wait_for("B takes over, A released", 5 * S, || {
        only_on(&net.b, &net.a, VIP)
    });
    assert!(a.log_count("Netlink reports dmv0 down") >= 1);

    net.a.link(IF0, true);
    wait_for("A back and master again", 10 * S, || {
        only_on(&net.a, &net.b, VIP)
    });
    assert!(
        b.log_count("(VI_1) Entering BACKUP STATE") >= 2,
        "{}",
        b.log_text()
    );
}

/// The guides' dual-master pair (configs/dual-master-node-{a,b}.conf with the test segment's
/// names): each node masters one VRID; a track script with weight -15 moves a VIP away while a
/// file exists and back when it is removed.
fn dual_master_config(state1: &str, prio1: u8, state2: &str, prio2: u8, down_file: &str) -> String {
    format!(
        r#"! Configuration File for keepalived
global_defs {{
   router_id LVS_DEVEL
   script_user root
}}
vrrp_script chk_mt_down {{
script "[ -f {down_file} ] && exit 1 || exit 0"
interval 1
weight -15
fall 2
rise 1
}}

vrrp_instance VI_1 {{
    state {state1}
    interface dmv0
    virtual_router_id 51
    priority {prio1}
    advert_int 1
    authentication {{
        auth_type PASS
        auth_pass vi111
    }}
    virtual_ipaddress {{
        192.0.2.41
    }}
track_script {{
chk_mt_down
}}
}}

vrrp_instance VI_2 {{
    state {state2}
    interface dmv0
    virtual_router_id 52
    priority {prio2}
    advert_int 1
    authentication {{
        auth_type PASS
        auth_pass vi222
    }}
    virtual_ipaddress {{
        192.0.2.51
    }}
track_script {{
chk_mt_down
}}
}}
"#
    )
}

#[test]
fn dual_master_track_script_weight_moves_the_vip_and_back() {
    let net = Pair::new("dmdu", 1);
    let dir = TempDir::new("dmdu");
    let down = dir.join("a.down");
    let conf_a = dual_master_config("MASTER", 100, "BACKUP", 90, &down.display().to_string());
    let conf_b = dual_master_config(
        "BACKUP",
        90,
        "MASTER",
        100,
        &dir.join("b.down").display().to_string(),
    );
    let a = Daemon::start(Impl::Lbd, "a", &net.a, &dir, &conf_a);
    let _b = Daemon::start(Impl::Lbd, "b", &net.b, &dir, &conf_b);
    wait_for("A holds .41 and B holds .51", 15 * S, || {
        only_on(&net.a, &net.b, "192.0.2.41") && only_on(&net.b, &net.a, "192.0.2.51")
    });

    touch(&down);
    let took = wait_for(".41 moves to B", 20 * S, || {
        only_on(&net.b, &net.a, "192.0.2.41")
    });
    eprintln!(".41 moved to B {took:?} after the down file appeared");
    assert!(
        a.log_count("(VI_1) Changing effective priority from 100 to 85") == 1,
        "{}",
        a.log_text()
    );
    assert!(a.log_count("VRRP_Script(chk_mt_down) failed") == 1);
    assert!(only_on(&net.b, &net.a, "192.0.2.51"), "VI_2 stays on B");

    fs::remove_file(&down).unwrap();
    wait_for(".41 back on A", 20 * S, || {
        only_on(&net.a, &net.b, "192.0.2.41")
    });
    assert!(a.log_count("(VI_1) Changing effective priority from 85 to 100") == 1);
}

#[test]
fn sync_group_moves_both_instances_together() {
    let net = Pair::new("dmsg", 2);
    let dir = TempDir::new("dmsg");
    // The group's notify script appends its arguments to NODE.group.log.
    let notify = dir.write(
        "gnotify.sh",
        "#!/bin/sh\necho \"$@\" >> \"$(dirname \"$0\")/$NODE.group.log\"\n",
    );
    fs::set_permissions(&notify, fs::Permissions::from_mode(0o755)).unwrap();
    let conf = |prio: u8, node: &str| {
        let mut wan = Instance::new("WAN", 61, prio);
        wan.vips = vec!["192.0.2.61".into()];
        let mut lan = Instance::new("LAN", 62, prio);
        lan.iface = IF1.into();
        lan.vips = vec!["198.51.100.62".into()];
        let group = format!(
            "vrrp_sync_group VGM {{\n    group {{\n        WAN\n        LAN\n    }}\n    \
             notify \"/usr/bin/env NODE={node} {}\"\n}}\n",
            notify.display()
        );
        config(&[group, wan.render(), lan.render()])
    };
    let holds = |ns: &Netns| ns.has_addr(IF0, "192.0.2.61") && ns.has_addr(IF1, "198.51.100.62");
    let holds_none =
        |ns: &Netns| !ns.has_addr(IF0, "192.0.2.61") && !ns.has_addr(IF1, "198.51.100.62");
    let a = Daemon::start(Impl::Lbd, "a", &net.a, &dir, &conf(150, "a"));
    let _b = Daemon::start(Impl::Lbd, "b", &net.b, &dir, &conf(100, "b"));
    wait_for("A holds both", 10 * S, || {
        holds(&net.a) && holds_none(&net.b)
    });
    let group_log =
        |node: &str| fs::read_to_string(dir.join(&format!("{node}.group.log"))).unwrap_or_default();
    wait_for("A's group notify ran for MASTER", 5 * S, || {
        group_log("a").contains("GROUP VGM MASTER")
    });

    // Only the LAN link fails; WAN must follow it to B.
    net.a.link(IF1, false);
    wait_for("B holds both, A none", 10 * S, || {
        holds(&net.b) && holds_none(&net.a)
    });
    assert!(
        a.log_count("(WAN) Entering FAULT STATE") >= 1,
        "{}",
        a.log_text()
    );
    assert!(a.log_count("(LAN) Entering FAULT STATE") >= 1);
    wait_for("group notify on both nodes", 5 * S, || {
        group_log("a").contains("GROUP VGM FAULT") && group_log("b").contains("GROUP VGM MASTER")
    });

    net.a.link(IF1, true);
    wait_for("both back on A", 10 * S, || {
        holds(&net.a) && holds_none(&net.b)
    });
}

#[test]
fn track_interface_weight_moves_the_vip() {
    let net = Pair::new("dmti", 2);
    let dir = TempDir::new("dmti");
    // A: 150, minus 60 while dmv1 is down = 90 < B's 100.
    let mut ia = Instance::new("VI_1", 51, 150);
    ia.extra = format!("    track_interface {{\n        {IF1} weight -60\n    }}\n");
    let a = Daemon::start(Impl::Lbd, "a", &net.a, &dir, &config(&[ia.render()]));
    let _b = Daemon::start(
        Impl::Lbd,
        "b",
        &net.b,
        &dir,
        &config(&[Instance::new("VI_1", 51, 100).render()]),
    );
    wait_for("A holds the VIP", 10 * S, || only_on(&net.a, &net.b, VIP));
    net.a.link(IF1, false);
    wait_for("B takes the VIP", 10 * S, || only_on(&net.b, &net.a, VIP));
    assert!(
        a.log_count("(VI_1) Changing effective priority from 150 to 90") == 1,
        "{}",
        a.log_text()
    );
    assert_eq!(
        a.log_count("Entering FAULT STATE"),
        0,
        "a weighted interface is not a fault"
    );
    net.a.link(IF1, true);
    wait_for("A preempts back", 10 * S, || only_on(&net.a, &net.b, VIP));
}

#[test]
fn sighup_keeps_unchanged_instances_and_survives_a_broken_file() {
    let net = Pair::new("dmrl", 1);
    let dir = TempDir::new("dmrl");
    let conf = |prio2: u8| {
        let i1 = Instance::new("VI_1", 51, 150);
        let mut i2 = Instance::new("VI_2", 52, prio2);
        i2.vips = vec!["192.0.2.101".into()];
        config(&[i1.render(), i2.render()])
    };
    let a = Daemon::start(Impl::Lbd, "a", &net.a, &dir, &conf(150));
    let b = {
        let i1 = Instance::new("VI_1", 51, 100);
        let mut i2 = Instance::new("VI_2", 52, 100);
        i2.vips = vec!["192.0.2.101".into()];
        Daemon::start(
            Impl::Lbd,
            "b",
            &net.b,
            &dir,
            &config(&[i1.render(), i2.render()]),
        )
    };
    wait_for("A holds both VIPs", 10 * S, || {
        only_on(&net.a, &net.b, VIP) && only_on(&net.a, &net.b, "192.0.2.101")
    });

    // (B may have been master for a moment at start-up, if it started first.)
    let b_masters = b.log_count("(VI_1) Entering MASTER STATE");
    let a_masters = a.log_count("(VI_1) Entering MASTER STATE");

    // Change VI_2 only.
    a.replace_config(&conf(140));
    a.signal(libc::SIGHUP);
    wait_for("reload done", 5 * S, || a.log_count("Reload finished") == 1);
    holds_for("VI_1 does not flap", 2 * S, || only_on(&net.a, &net.b, VIP));
    wait_for("VI_2 rebuilt and master again", 10 * S, || {
        only_on(&net.a, &net.b, "192.0.2.101")
    });
    assert_eq!(
        a.log_count("(VI_1) Entering MASTER STATE"),
        a_masters,
        "{}",
        a.log_text()
    );
    assert_eq!(a.log_count("(VI_1) removing VIPs."), 0);
    assert!(a.log_count("(VI_2) stopping") == 1);
    assert_eq!(
        b.log_count("(VI_1) Entering MASTER STATE"),
        b_masters,
        "B never saw VI_1 leave"
    );

    // A broken file: the error is logged, the running configuration stays.
    a.replace_config("vrrp_instance VI_1 {\n    virtual_router_id 300\n    interface\n");
    a.signal(libc::SIGHUP);
    wait_for("reload refused", 5 * S, || {
        a.log_count("Reload failed") == 1
    });
    holds_for("still master of both", S, || {
        only_on(&net.a, &net.b, VIP) && only_on(&net.a, &net.b, "192.0.2.101")
    });
    let mut a = a;
    assert!(a.running());
}

/// Sends raw VRRP messages from namespace `ns` to the VRRP group on dmv0 (python3: the test
/// must build packets the daemon would never send).
fn send_raw(ns: &Netns, dir: &TempDir, script: &str) {
    let path = dir.write("send.py", script);
    let out = std::process::Command::new("ip")
        .args(["netns", "exec", &ns.name, "python3"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

const RAW_SENDER: &str = r#"
import socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)
s.setsockopt(socket.SOL_SOCKET, 25, b"dmv0\0")
def csum(b):
    if len(b) % 2: b += b"\0"
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while t >> 16: t = (t & 0xffff) + (t >> 16)
    return ~t & 0xffff
def v3(prio, addr, good=True):
    body = struct.pack("!BBBBH", 0x31, 51, prio, 1, 20) + b"\0\0" + socket.inet_aton(addr)
    pseudo = socket.inet_aton("192.0.2.2") + socket.inet_aton("224.0.0.18") + struct.pack("!BBH", 0, 112, len(body))
    c = csum(pseudo + body) if good else 0x1234
    return body[:6] + struct.pack("!H", c) + body[8:]
def send(p, ttl=255):
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, ttl)
    s.sendto(p, ("224.0.0.18", 0))
for _ in range(20):
    send(b"\x31\x33\x00")                          # length
    send(struct.pack("!BBBBH", 0x41, 51, 200, 1, 20) + b"\0" * 6)  # bad_version
    send(v3(200, "192.0.2.100", good=False))       # checksum
    send(v3(200, "192.0.2.100"), ttl=1)            # ttl: would win the election if accepted
    send(v3(200, "192.0.2.99"))                    # address_mismatch: likewise
"#;

#[test]
fn malformed_packets_are_counted_rate_limited_and_harmless() {
    let net = Pair::new("dmmf", 1);
    let dir = TempDir::new("dmmf");
    let a = Daemon::start(
        Impl::Lbd,
        "a",
        &net.a,
        &dir,
        &config(&[Instance::new("VI_1", 51, 150).render()]),
    );
    wait_for("A alone is master", 10 * S, || net.a.has_addr(IF0, VIP));
    send_raw(&net.b, &dir, RAW_SENDER);
    holds_for("A stays master", S, || net.a.has_addr(IF0, VIP));
    a.signal(libc::SIGUSR1);
    let dump = a.dump_path();
    wait_for("dump written", 5 * S, || dump.exists());
    let json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&dump).unwrap()).unwrap();
    for label in [
        "length",
        "bad_version",
        "checksum",
        "ttl",
        "address_mismatch",
    ] {
        assert_eq!(json["dropped"][label], 20, "{label}: {json}");
        assert_eq!(
            a.log_count(&format!("dropped VRRP packet ({label})")),
            1,
            "one log line per label"
        );
    }
    assert_eq!(json["instances"][0]["state"], "MASTER");
    assert_eq!(
        a.log_count("Entering BACKUP STATE"),
        1,
        "only the initial one"
    );
}

#[test]
fn track_file_value_puts_the_instance_in_fault_and_back() {
    let net = Pair::new("dmtf", 1);
    let dir = TempDir::new("dmtf");
    let file = dir.join("prio");
    fs::write(&file, "0\n").unwrap();
    let mut ia = Instance::new("VI_1", 51, 150);
    ia.extra = "    track_file {\n        tf\n    }\n".into();
    let track = format!(
        "vrrp_track_file tf {{\n    file {}\n    weight 0\n}}\n",
        file.display()
    );
    let a = Daemon::start(Impl::Lbd, "a", &net.a, &dir, &config(&[track, ia.render()]));
    let _b = Daemon::start(
        Impl::Lbd,
        "b",
        &net.b,
        &dir,
        &config(&[Instance::new("VI_1", 51, 100).render()]),
    );
    wait_for("A holds the VIP", 10 * S, || only_on(&net.a, &net.b, VIP));
    // Read as keepalived's strtol(.., 0) reads it: hex 1, not 0.
    fs::write(&file, "0x1\n").unwrap();
    wait_for("A in FAULT, B master", 10 * S, || {
        only_on(&net.b, &net.a, VIP)
    });
    assert!(a.log_count("(VI_1) Entering FAULT STATE") >= 1);
    // A number keepalived refuses is logged (once, though lbd polls the file) and the value
    // stays 1: A stays in FAULT.
    let backups = a.log_count("(VI_1) Entering BACKUP STATE");
    fs::write(&file, "4294967296\n").unwrap();
    let refused = format!(
        "Invalid number 4294967296 read from {} - ignoring",
        file.display()
    );
    wait_for("the refused number logged", 5 * S, || {
        a.log_count(&refused) == 1
    });
    holds_for("A stays in FAULT", 2 * S, || {
        only_on(&net.b, &net.a, VIP) && a.log_count("(VI_1) Entering BACKUP STATE") == backups
    });
    assert_eq!(a.log_count(&refused), 1, "{}", a.log_text());
    fs::write(&file, "0\n").unwrap();
    wait_for("A master again", 10 * S, || only_on(&net.a, &net.b, VIP));
}

#[test]
fn ipv6_vip_fails_over() {
    let net = Pair::new("dm6", 1);
    let dir = TempDir::new("dm6");
    let v6 = |prio: u8| {
        let mut i = Instance::new("VI_6", 61, prio);
        i.vips = vec!["2001:db8::100/64".into()];
        config(&[i.render()])
    };
    let mut a = Daemon::start(Impl::Lbd, "a", &net.a, &dir, &v6(150));
    let b = Daemon::start(Impl::Lbd, "b", &net.b, &dir, &v6(100));
    let only = |x: &Netns, y: &Netns| {
        x.has_addr(IF0, "2001:db8::100") && !y.has_addr(IF0, "2001:db8::100")
    };
    wait_for("A holds the IPv6 VIP", 15 * S, || only(&net.a, &net.b));
    assert!(
        a.log_count("Sending unsolicited Neighbour Advert on dmv0 for 2001:db8::100") >= 1,
        "{}",
        a.log_text()
    );
    a.kill9();
    wait_for("B takes over", 5 * S, || {
        net.b.has_addr(IF0, "2001:db8::100")
    });
    assert!(b.log_count("(VI_6) Entering MASTER STATE") >= 1);
}

#[test]
fn instance_waits_for_its_interface_to_appear() {
    let net = Pair::new("dmwt", 1);
    let dir = TempDir::new("dmwt");
    let mut late = Instance::new("VI_L", 71, 150);
    late.iface = IF1.into();
    late.vips = vec!["198.51.100.71".into()];
    let mut a = Daemon::start(Impl::Lbd, "a", &net.a, &dir, &config(&[late.render()]));
    wait_for("A waits for dmv1", 5 * S, || {
        a.log_count("(VI_L) cannot start yet") == 1
    });
    assert!(a.running());
    // The interface appears (with its address) after start-up.
    net.switch.ip(&["link", "add", "dmbr1", "type", "bridge"]);
    net.switch.link("dmbr1", true);
    net.switch.ip(&[
        "link",
        "add",
        "dma1",
        "type",
        "veth",
        "peer",
        "name",
        IF1,
        "netns",
        &net.a.name,
    ]);
    net.switch.ip(&["link", "set", "dma1", "master", "dmbr1"]);
    net.switch.link("dma1", true);
    net.a.ip(&["addr", "add", "198.51.100.1/24", "dev", IF1]);
    net.a.link(IF1, true);
    wait_for("VI_L starts and becomes master", 10 * S, || {
        net.a.has_addr(IF1, "198.51.100.71")
    });
}

#[test]
fn sighup_with_a_redefined_track_script_resyncs_kept_instances() {
    let net = Pair::new("dmrs", 1);
    let dir = TempDir::new("dmrs");
    let conf = |flag: &str| {
        let script = format!(
            "vrrp_script chk {{\n    script \"/bin/sh -c '[ -f {}/{flag} ] && exit 1 || exit 0'\"\n    \
             interval 1\n    weight -60\n}}\n",
            dir.path.display()
        );
        let mut ia = Instance::new("VI_1", 51, 150);
        ia.extra = "    track_script {\n        chk\n    }\n".into();
        config(&[script, ia.render()])
    };
    let a = Daemon::start(Impl::Lbd, "a", &net.a, &dir, &conf("down"));
    let _b = Daemon::start(
        Impl::Lbd,
        "b",
        &net.b,
        &dir,
        &config(&[Instance::new("VI_1", 51, 100).render()]),
    );
    wait_for("A holds the VIP", 10 * S, || only_on(&net.a, &net.b, VIP));
    touch(&dir.join("down"));
    wait_for("the script fails, B takes over", 10 * S, || {
        only_on(&net.b, &net.a, VIP)
    });

    // The script now checks another (absent) file: VI_1 itself is unchanged and kept, the
    // redefined script starts afresh (up), and VI_1 must hear about it.
    a.replace_config(&conf("other"));
    a.signal(libc::SIGHUP);
    wait_for("reload done", 5 * S, || a.log_count("Reload finished") == 1);
    wait_for("A back to 150 and master", 10 * S, || {
        only_on(&net.a, &net.b, VIP)
    });
    assert_eq!(
        a.log_count("(VI_1) stopping"),
        0,
        "VI_1 was kept, not rebuilt"
    );
    assert!(
        a.log_count("(VI_1) Changing effective priority from 90 to 150") == 1,
        "{}",
        a.log_text()
    );
}
