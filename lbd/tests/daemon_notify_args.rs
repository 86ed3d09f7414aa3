//! The arguments notify scripts get, lbd against keepalived 2.2.7 on the same configuration:
//! the instance's `notify` gets `INSTANCE NAME STATE PRIORITY`, the sync group's
//! `GROUP NAME STATE 0` (keepalived passes priority 0 for groups), `notify_master` and
//! `notify_master_rx_lower_pri` only their own arguments; STOP for both on SIGTERM.
//! Needs root and /usr/sbin/keepalived; namespaces are `dmvrf*`.

mod common;

use common::*;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

const S: Duration = Duration::from_secs(1);

/// One VRRPv3 advert for VRID 51, priority 50, from 192.0.2.2 listing 192.0.2.100.
const LOWER_ADVERT: &str = r#"
import socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)
s.setsockopt(socket.SOL_SOCKET, 25, b"dmv0\0")
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
def csum(b):
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while t >> 16: t = (t & 0xffff) + (t >> 16)
    return ~t & 0xffff
body = struct.pack("!BBBBH", 0x31, 51, 50, 1, 20) + b"\0\0" + socket.inet_aton("192.0.2.100")
pseudo = socket.inet_aton("192.0.2.2") + socket.inet_aton("224.0.0.18") + struct.pack("!BBH", 0, 112, len(body))
s.sendto(body[:6] + struct.pack("!H", csum(pseudo + body)) + body[8:], ("224.0.0.18", 0))
"#;

/// Runs `kind` alone in `net.a` through MASTER, one lower-priority advert and SIGTERM;
/// returns the lines the scripts wrote, sorted (scripts run concurrently).
fn notify_lines(kind: Impl, net: &Pair, dir: &TempDir) -> Vec<String> {
    let log = dir.join("notify.log");
    let _ = fs::remove_file(&log);
    let script = dir.write(
        "notify.sh",
        "#!/bin/sh\necho \"$@\" >> \"$(dirname \"$0\")/notify.log\"\n",
    );
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    let s = script.display();
    let mut i1 = Instance::new("VI_1", 51, 200);
    i1.extra = format!(
        "    notify {s}\n    notify_master \"{s} instance-master\"\n    \
         notify_master_rx_lower_pri \"{s} rx-lower\"\n"
    );
    let mut i2 = Instance::new("VI_2", 52, 200);
    i2.vips = vec!["192.0.2.101".into()];
    let group = format!(
        "vrrp_sync_group G1 {{\n    group {{\n        VI_1\n        VI_2\n    }}\n    \
         notify {s}\n    notify_master \"{s} group-master\"\n}}\n"
    );
    let name = match kind {
        Impl::Lbd => "lbd",
        Impl::Keepalived => "keepalived",
    };
    let mut d = Daemon::start(
        kind,
        name,
        &net.a,
        dir,
        &config(&[group, i1.render(), i2.render()]),
    );
    let read = || fs::read_to_string(&log).unwrap_or_default();
    wait_for("MASTER notifications", 10 * S, || {
        read().contains("GROUP G1 MASTER") && read().contains("instance-master")
    });
    let path = dir.write("lower.py", LOWER_ADVERT);
    let out = std::process::Command::new("ip")
        .args(["netns", "exec", &net.b.name, "python3"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    wait_for("notify_master_rx_lower_pri", 5 * S, || {
        read().contains("rx-lower")
    });
    d.signal(libc::SIGTERM);
    d.wait_exit(10 * S);
    wait_for("STOP notifications", 5 * S, || {
        read().contains("GROUP G1 STOP") && read().contains("INSTANCE VI_1 STOP")
    });
    // A straggler would show up as a difference below.
    std::thread::sleep(S / 2);
    let mut lines: Vec<String> = read().lines().map(str::to_owned).collect();
    lines.sort();
    lines
}

#[test]
fn notify_arguments_match_keepalived() {
    require_root();
    if !std::path::Path::new("/usr/sbin/keepalived").exists() {
        panic!("this test compares with /usr/sbin/keepalived (Debian's keepalived 2.2.7)");
    }
    let net = Pair::new("dmvrfn", 1);
    let dir = TempDir::new("dmvrfn");
    let keepalived = notify_lines(Impl::Keepalived, &net, &dir);
    let lbd = notify_lines(Impl::Lbd, &net, &dir);
    let expected = [
        "GROUP G1 BACKUP 0",
        "GROUP G1 MASTER 0",
        "GROUP G1 STOP 0",
        "INSTANCE VI_1 BACKUP 200",
        "INSTANCE VI_1 MASTER 200",
        "INSTANCE VI_1 STOP 200",
        "group-master",
        "instance-master",
        "rx-lower",
    ];
    assert_eq!(keepalived, expected, "keepalived 2.2.7 itself");
    assert_eq!(lbd, keepalived, "lbd against keepalived");
}
