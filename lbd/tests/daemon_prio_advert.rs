//! `lower_prio_no_advert` / `higher_prio_send_advert` on the wire: what a master sends right
//! after a peer's advert, lbd and keepalived 2.2.7 run on the same configuration. Needs root;
//! namespaces are `dmpr*`.

mod common;

use common::*;
use std::time::Duration;

const S: Duration = Duration::from_secs(1);

/// From namespace `ns`: waits for one advert of `vrid` from 192.0.2.1 (so that the master's
/// periodic advert, 3 s away, is out of the window), sends one VRRPv3 advert for `vrid` with
/// `priority` from 192.0.2.2 listing `vip`, then prints the priority of every advert of `vrid`
/// from 192.0.2.1 seen during `secs` seconds.
const ADVERT_AND_CAPTURE: &str = r#"
import socket, struct, sys, time
vrid, prio, vip, secs = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
cap = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
cap.bind(("dmv0", 0))
cap.settimeout(0.05)
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)
s.setsockopt(socket.SOL_SOCKET, 25, b"dmv0\0")
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
def ours(f):
    ip = f[14:]
    if len(ip) < 28 or ip[9] != 112 or socket.inet_ntoa(ip[12:16]) != "192.0.2.1": return None
    v = ip[(ip[0] & 15) * 4:]
    return v[2] if v[1] == vrid else None
def csum(b):
    if len(b) % 2: b += b"\0"
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while t >> 16: t = (t & 0xffff) + (t >> 16)
    return ~t & 0xffff
body = struct.pack("!BBBBH", 0x31, vrid, prio, 1, 300) + b"\0\0" + socket.inet_aton(vip)
pseudo = socket.inet_aton("192.0.2.2") + socket.inet_aton("224.0.0.18") + struct.pack("!BBH", 0, 112, len(body))
pkt = body[:6] + struct.pack("!H", csum(pseudo + body)) + body[8:]
deadline = time.monotonic() + 10
while True:
    if time.monotonic() > deadline: sys.exit("no advert from the master")
    try:
        if ours(cap.recv(2048)) is not None: break
    except socket.timeout: pass
start = time.monotonic()
s.sendto(pkt, ("224.0.0.18", 0))
while time.monotonic() - start < secs:
    try: p = ours(cap.recv(2048))
    except socket.timeout: continue
    if p is not None: print(p, flush=True)
"#;

/// The priorities of the adverts the master sent within `secs` of our advert.
fn advert_and_capture(
    ns: &Netns,
    dir: &TempDir,
    vrid: u8,
    prio: u8,
    vip: &str,
    secs: f64,
) -> Vec<u8> {
    let path = dir.write("advert.py", ADVERT_AND_CAPTURE);
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
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

/// VI_1 (VRID 51) has both options, VI_2 (VRID 52) neither; both priority 150. Adverts every
/// 3 s leave a wide margin around the 1-s windows on a loaded machine.
fn run(kind: Impl, prefix: &str) {
    let net = Pair::new(prefix, 1);
    let dir = TempDir::new(prefix);
    let mut i1 = Instance::new("VI_1", 51, 150);
    i1.advert_int = "3".into();
    i1.master = true;
    i1.extra = "    lower_prio_no_advert\n    higher_prio_send_advert on\n".into();
    let mut i2 = Instance::new("VI_2", 52, 150);
    i2.advert_int = "3".into();
    i2.master = true;
    i2.vips = vec!["192.0.2.101".into()];
    let a = Daemon::start(
        kind,
        "a",
        &net.a,
        &dir,
        &config(&[i1.render(), i2.render()]),
    );
    wait_for("A holds both VIPs", 20 * S, || {
        net.a.has_addr(IF0, "192.0.2.100") && net.a.has_addr(IF0, "192.0.2.101")
    });
    let log = || a.log_text();

    // A lower priority: VI_2 answers at once, VI_1 waits for its next periodic advert.
    let seen = advert_and_capture(&net.b, &dir, 52, 50, "192.0.2.101", 1.0);
    assert_eq!(seen, [150], "VI_2 re-asserts at once\n{}", log());
    let seen = advert_and_capture(&net.b, &dir, 51, 50, "192.0.2.100", 1.0);
    assert!(
        seen.is_empty(),
        "VI_1: lower_prio_no_advert: {seen:?}\n{}",
        log()
    );
    assert!(net.a.has_addr(IF0, "192.0.2.100") && net.a.has_addr(IF0, "192.0.2.101"));

    // A higher priority: both yield; VI_1 sends one advert of its own first, VI_2 nothing.
    let seen = advert_and_capture(&net.b, &dir, 51, 200, "192.0.2.100", 1.0);
    assert_eq!(seen, [150], "VI_1: higher_prio_send_advert\n{}", log());
    // Checked at once: without more adverts it is master again 10 s later.
    assert!(!net.a.has_addr(IF0, "192.0.2.100"), "VI_1 yielded");
    let seen = advert_and_capture(&net.b, &dir, 52, 200, "192.0.2.101", 1.0);
    assert!(seen.is_empty(), "VI_2 yields silently: {seen:?}\n{}", log());
    assert!(!net.a.has_addr(IF0, "192.0.2.101"), "VI_2 yielded");

    if kind == Impl::Lbd {
        a.signal(libc::SIGUSR1);
        let dump = a.dump_path();
        wait_for("dump written", 5 * S, || dump.exists());
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&dump).unwrap()).unwrap();
        let resolved = |i: usize| {
            let v = &json["instances"][i];
            (
                v["lower_prio_no_advert"].clone(),
                v["higher_prio_send_advert"].clone(),
            )
        };
        assert_eq!(resolved(0), (true.into(), true.into()), "{json}");
        assert_eq!(resolved(1), (false.into(), false.into()), "{json}");
    }
}

#[test]
fn lbd_answers_peers_as_configured() {
    require_root();
    run(Impl::Lbd, "dmprl");
}

/// The reference the lbd test reproduces.
#[test]
fn keepalived_answers_peers_as_configured() {
    require_root();
    run(Impl::Keepalived, "dmprk");
}
