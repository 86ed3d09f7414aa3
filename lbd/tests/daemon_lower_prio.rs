//! A master that hears a lower-priority advert: `garp_lower_prio_repeat` /
//! `garp_lower_prio_delay` bursts and `notify_master_rx_lower_pri`, as keepalived 2.2.7 does
//! them (measured against it in namespaces: the burst goes out for every master member of
//! the sync group, the second one `delay` later, and the script gets only its own arguments).
//! Needs root; namespaces are `dmvrf*`.

mod common;

use common::*;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

const S: Duration = Duration::from_secs(1);

/// From namespace `ns`: opens an ARP capture on dmv0, sends one VRRPv3 advert for `vrid` with
/// `priority` from 192.0.2.2 listing `vip`, then prints `ADDR SECONDS` for every gratuitous
/// ARP (sender address = target address) seen during `secs` seconds after the advert.
const LOWER_ADVERT_AND_CAPTURE: &str = r#"
import socket, struct, sys, time
vrid, prio, vip, secs = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
cap = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0806))
cap.bind(("dmv0", 0))
cap.settimeout(0.05)
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)
s.setsockopt(socket.SOL_SOCKET, 25, b"dmv0\0")
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
def csum(b):
    if len(b) % 2: b += b"\0"
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while t >> 16: t = (t & 0xffff) + (t >> 16)
    return ~t & 0xffff
body = struct.pack("!BBBBH", 0x31, vrid, prio, 1, 20) + b"\0\0" + socket.inet_aton(vip)
pseudo = socket.inet_aton("192.0.2.2") + socket.inet_aton("224.0.0.18") + struct.pack("!BBH", 0, 112, len(body))
pkt = body[:6] + struct.pack("!H", csum(pseudo + body)) + body[8:]
# Whatever the master announced before the advert is not counted.
while True:
    try: cap.recv(2048)
    except socket.timeout: break
start = time.monotonic()
s.sendto(pkt, ("224.0.0.18", 0))
while time.monotonic() - start < secs:
    try: f = cap.recv(2048)
    except socket.timeout: continue
    arp = f[14:42]
    if len(arp) < 28: continue
    spa, tpa = arp[14:18], arp[24:28]
    if spa == tpa:
        print(socket.inet_ntoa(spa), round(time.monotonic() - start, 3), flush=True)
"#;

/// `(address, seconds after the advert)` of each gratuitous ARP seen.
fn lower_advert_and_capture(
    ns: &Netns,
    dir: &TempDir,
    vrid: u8,
    prio: u8,
    vip: &str,
    secs: f64,
) -> Vec<(String, f64)> {
    let path = dir.write("lower.py", LOWER_ADVERT_AND_CAPTURE);
    let out = std::process::Command::new("ip")
        .args(["netns", "exec", &ns.name, "python3"])
        .arg(&path)
        .args([
            vrid.to_string(),
            prio.to_string(),
            vip.to_owned(),
            secs.to_string(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (a, t) = l.split_once(' ')?;
            Some((a.to_owned(), t.parse().ok()?))
        })
        .collect()
}

fn count(seen: &[(String, f64)], addr: &str, from: f64, to: f64) -> usize {
    seen.iter()
        .filter(|(a, t)| a == addr && (from..to).contains(t))
        .count()
}

fn recorder(dir: &TempDir) -> std::path::PathBuf {
    let script = dir.write(
        "record.sh",
        "#!/bin/sh\necho \"$@\" >> \"$(dirname \"$0\")/record.log\"\n",
    );
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    script
}

#[test]
fn lower_priority_advert_reannounces_the_group_and_runs_the_script() {
    let net = Pair::new("dmvrfl", 1);
    let dir = TempDir::new("dmvrfl");
    let script = recorder(&dir);
    // VI_1: 3 now and 3 one second later. VI_2 (same group): 2 now, no second burst.
    let mut i1 = Instance::new("VI_1", 51, 150);
    i1.extra = format!(
        "    garp_lower_prio_repeat 3\n    garp_lower_prio_delay 1\n    \
         notify_master_rx_lower_pri \"{} rx-lower VI_1\"\n",
        script.display()
    );
    let mut i2 = Instance::new("VI_2", 52, 150);
    i2.vips = vec!["192.0.2.101".into()];
    i2.extra = "    garp_lower_prio_repeat 2\n    garp_lower_prio_delay 0\n".into();
    let group =
        "vrrp_sync_group G {\n    group {\n        VI_1\n        VI_2\n    }\n}\n".to_owned();
    let a = Daemon::start(
        Impl::Lbd,
        "a",
        &net.a,
        &dir,
        &config(&[group, i1.render(), i2.render()]),
    );
    wait_for("A holds both VIPs", 10 * S, || {
        net.a.has_addr(IF0, "192.0.2.100") && net.a.has_addr(IF0, "192.0.2.101")
    });
    // The master's own bursts (vrrp_garp_master_delay 1 in `config`) are over after 1 s.
    holds_for("A stays master", 3 * S / 2, || {
        net.a.has_addr(IF0, "192.0.2.100")
    });

    let seen = lower_advert_and_capture(&net.b, &dir, 51, 50, "192.0.2.100", 2.5);
    eprintln!("gratuitous ARPs after the lower-priority advert: {seen:?}");
    assert_eq!(
        count(&seen, "192.0.2.100", 0.0, 0.5),
        3,
        "VI_1 first burst: {seen:?}"
    );
    assert_eq!(
        count(&seen, "192.0.2.100", 0.8, 1.7),
        3,
        "VI_1 second burst after garp_lower_prio_delay 1: {seen:?}"
    );
    assert_eq!(
        count(&seen, "192.0.2.101", 0.0, 0.5),
        2,
        "VI_2 (same group) first burst: {seen:?}"
    );
    assert_eq!(
        count(&seen, "192.0.2.101", 0.5, 2.5),
        0,
        "VI_2 has garp_lower_prio_delay 0: no second burst: {seen:?}"
    );
    assert_eq!(seen.len(), 8, "nothing else: {seen:?}");

    let log = dir.join("record.log");
    wait_for("notify_master_rx_lower_pri ran", 5 * S, || {
        fs::read_to_string(&log).unwrap_or_default() == "rx-lower VI_1\n"
    });
    assert_eq!(
        a.log_count("(VI_1) received lower priority advert from 192.0.2.2"),
        1,
        "{}",
        a.log_text()
    );
    assert_eq!(
        a.log_count("Entering BACKUP STATE"),
        2,
        "only the initial ones"
    );
    assert!(net.a.has_addr(IF0, "192.0.2.100") && net.a.has_addr(IF0, "192.0.2.101"));
}

#[test]
fn lower_priority_defaults_follow_the_global_master_burst_and_strict_sends_none() {
    let net = Pair::new("dmvrfd", 1);
    let dir = TempDir::new("dmvrfd");
    // No lower_prio settings: global vrrp_garp_master_repeat 1 / delay 1 (from `config`):
    // one now, one a second later. VI_2 has strict_mode: none at all.
    let i1 = Instance::new("VI_1", 51, 150);
    let mut i2 = Instance::new("VI_2", 52, 150);
    i2.vips = vec!["192.0.2.101".into()];
    i2.extra = "    strict_mode\n".into();
    let a = Daemon::start(
        Impl::Lbd,
        "a",
        &net.a,
        &dir,
        &config(&[i1.render(), i2.render()]),
    );
    wait_for("A holds both VIPs", 10 * S, || {
        net.a.has_addr(IF0, "192.0.2.100") && net.a.has_addr(IF0, "192.0.2.101")
    });
    holds_for("A stays master", 3 * S / 2, || {
        net.a.has_addr(IF0, "192.0.2.100")
    });
    let seen = lower_advert_and_capture(&net.b, &dir, 51, 50, "192.0.2.100", 2.0);
    assert_eq!(count(&seen, "192.0.2.100", 0.0, 0.5), 1, "{seen:?}");
    assert_eq!(count(&seen, "192.0.2.100", 0.8, 1.7), 1, "{seen:?}");
    assert_eq!(seen.len(), 2, "{seen:?}");
    let seen = lower_advert_and_capture(&net.b, &dir, 52, 50, "192.0.2.101", 1.5);
    assert!(
        seen.is_empty(),
        "strict mode: no lower-priority GARPs: {seen:?}"
    );

    // The dump shows what was resolved.
    a.signal(libc::SIGUSR1);
    let dump = a.dump_path();
    wait_for("dump written", 5 * S, || dump.exists());
    let json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&dump).unwrap()).unwrap();
    let resolved = |i: usize| {
        let v = &json["instances"][i];
        (
            v["name"].clone(),
            v["accept_mode"].clone(),
            v["garp_lower_prio_repeat"].clone(),
            v["garp_lower_prio_delay_ms"].clone(),
        )
    };
    assert_eq!(
        resolved(0),
        ("VI_1".into(), true.into(), 1.into(), 1000.into()),
        "{json}"
    );
    assert_eq!(
        resolved(1),
        (
            "VI_2".into(),
            false.into(),
            0.into(),
            serde_json::Value::Null
        ),
        "strict mode: no_accept, no lower-priority GARPs: {json}"
    );
}
