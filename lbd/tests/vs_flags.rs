//! Scheduler flags, one-packet scheduling and the persistence engine, from keepalived.conf to
//! a real IPVS table, read back with `ipvsadm -Ln` (the operator's view); and the reload of
//! one virtual server (`VirtualServers::reload_changed`) against the full reload, on the
//! kernel's table and with live health checks. This machine's
//! kernel has no IPVS, so the test is `#[ignore]`d and runs in the VM, in its own network
//! namespace:
//!
//! ```text
//! export CARGO_TARGET_DIR=/work/target/vsrt
//! cargo build -p lbd && cargo test -p lbd --test vs_flags --no-run   # prints the binary
//! testbed/vm-run -- /work/target/vsrt/debug/deps/vs_flags-HASH --ignored --test-threads=1
//! ```

use std::fs;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

const LBD: &str = env!("CARGO_BIN_EXE_lbd");

/// A scratch directory, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("vsf-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
    fn path(&self, f: &str) -> PathBuf {
        self.0.join(f)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// The daemon under test, killed on drop.
struct Daemon {
    child: Child,
    log: PathBuf,
}

impl Daemon {
    fn start(s: &Scratch) -> Self {
        let log = s.path("lbd.log");
        let out = fs::File::create(&log).unwrap();
        let child = Command::new(LBD)
            .args(["-n", "-l", "-C", "-D", "-f"])
            .arg(s.path("lbd.conf"))
            .arg("-p")
            .arg(s.path("lbd.pid"))
            .arg("--status-socket")
            .arg(s.path("status.sock"))
            .stdout(Stdio::null())
            .stderr(out)
            .spawn()
            .unwrap();
        Daemon { child, log }
    }
    fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }
    fn hup(&self) {
        let ok = Command::new("kill")
            .args(["-HUP", &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok);
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether IPVS is here: then this thread moves to a fresh network namespace with `lo` up.
fn kernel() -> bool {
    if !std::path::Path::new("/proc/net/ip_vs").exists() {
        eprintln!("skipped: no IPVS in this kernel; run via testbed/vm-run");
        return false;
    }
    // SAFETY: unshare(2) affects only this thread's network namespace; children inherit it.
    let r = unsafe { libc::unshare(libc::CLONE_NEWNET) };
    assert_eq!(r, 0, "unshare: {}", std::io::Error::last_os_error());
    assert!(Command::new("ip")
        .args(["link", "set", "lo", "up"])
        .status()
        .unwrap()
        .success());
    true
}

/// `ipvsadm -Ln`'s service lines, whitespace-normalised: `TCP 192.0.2.100:80 sh (...)`.
fn service_lines() -> Vec<String> {
    let out = Command::new("ipvsadm").arg("-Ln").output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with("TCP") || l.starts_with("UDP"))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

fn config(sh_flags: &str) -> String {
    format!(
        "virtual_server 192.0.2.100 80 {{\n protocol TCP\n lb_algo sh\n{sh_flags}\
         real_server 198.51.100.1 80 {{\n }}\n}}\n\
         virtual_server 192.0.2.100 53 {{\n protocol UDP\n lb_algo mh\n mh-port\n ops\n\
         real_server 198.51.100.1 53 {{\n }}\n}}\n\
         virtual_server 192.0.2.100 5060 {{\n protocol UDP\n lb_algo rr\n persistence_timeout 60\n\
         persistence_engine sip\n real_server 198.51.100.1 5060 {{\n }}\n}}\n"
    )
}

#[test]
#[ignore = "needs IPVS: run in the VM (testbed/vm-run)"]
fn flags_ops_and_pe_reach_ipvs_and_a_reload_changes_them() {
    if !kernel() {
        return;
    }
    let s = Scratch::new("flags");
    fs::write(s.path("lbd.conf"), config(" sh-port\n sh-fallback\n")).unwrap();
    let d = Daemon::start(&s);
    // ipvsadm lists services in hash order: sort both sides. The bound is generous: under
    // TCG on a loaded host a 15 s bound once failed (that run took 157 s instead of 4).
    let mut want = vec![
        "TCP 192.0.2.100:80 sh (sh-fallback,sh-port)",
        "UDP 192.0.2.100:53 mh (mh-port) ops",
        "UDP 192.0.2.100:5060 rr persistent 60 pe sip",
    ];
    want.sort();
    wait_sorted(&d, &want, 60);

    // Dropping one flag is a service edit on reload.
    fs::write(s.path("lbd.conf"), config(" sh-port\n")).unwrap();
    d.hup();
    want[0] = "TCP 192.0.2.100:80 sh (sh-port)";
    want.sort();
    wait_sorted(&d, &want, 60);
    // Console lines are written in batches before lbd's loop waits: give them a moment.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let log = d.log();
        let after = log.split("Reloading configuration").nth(1).unwrap_or("");
        if after.contains("IPVS: 1 request(s): [SetService") {
            break;
        }
        assert!(Instant::now() < deadline, "{log}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Polls until `ipvsadm -Ln` shows exactly `want` (sorted) as service lines, or fails after
/// `secs` with the daemon's log.
fn wait_sorted(d: &Daemon, want: &[&str], secs: u64) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let mut got = service_lines();
        got.sort();
        if got == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "ipvsadm -Ln has {got:#?}, want {want:#?}\n--- lbd log:\n{}",
            d.log()
        );
        thread::sleep(Duration::from_millis(100));
    }
}

/// Virtual servers 192.0.2.110-112:80, each with 127.0.0.1:`port` (a listener: up) and
/// 127.0.0.2:`port` (refused: down); the second one's weights are `w1`, `w2`, and `extra`
/// adds to its real servers.
fn three(port: u16, w1: u32, w2: u32, extra: &str) -> lbd::config::Config {
    let mut text = String::new();
    for v in 0..3 {
        let (a, b, more) = if v == 1 { (w1, w2, extra) } else { (1, 1, "") };
        text.push_str(&format!(
            "virtual_server 192.0.2.11{v} 80 {{\n protocol TCP\n delay_loop 1\n lb_algo wrr\n lb_kind DR\n\
             real_server 127.0.0.1 {port} {{\n weight {a}\n TCP_CHECK {{\n connect_timeout 1\n }}\n }}\n\
             real_server 127.0.0.2 {port} {{\n weight {b}\n TCP_CHECK {{\n connect_timeout 1\n }}\n }}\n{more}}}\n"
        ));
    }
    lbd::config::load_str("three.conf", &text).unwrap().config
}

/// The virtual servers' loop, run until `done` says so (or fails after `secs`).
fn drive(
    vs: &mut lbd::daemon::virtual_servers::VirtualServers,
    poll: &mut healthcheck::mio::Poll,
    metrics: &mut lbd::ops::Metrics,
    secs: u64,
    done: impl Fn(&[lbd::ops::status::VirtualServerStatus]) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut events = healthcheck::mio::Events::with_capacity(64);
    let mut scripts = Vec::new();
    while !done(&vs.status()) {
        assert!(Instant::now() < deadline, "{:#?}", vs.status());
        let wait = vs
            .poll_timeout()
            .map(|t| t.saturating_duration_since(Instant::now()))
            .unwrap_or(Duration::from_millis(100))
            .min(Duration::from_millis(100));
        poll.poll(&mut events, Some(wait)).unwrap();
        let now = Instant::now();
        for ev in events.iter() {
            vs.on_token(ev.token(), now, &mut scripts, metrics);
        }
        vs.on_timeout(now, &mut scripts, metrics);
    }
}

/// Whether real server `addr` of every virtual server in `vss` is `up`.
fn rs_up(s: &[lbd::ops::status::VirtualServerStatus], vss: &[usize], addr: &str, up: bool) -> bool {
    vss.iter().all(|&v| {
        s.get(v).is_some_and(|v| {
            v.real_servers
                .iter()
                .any(|r| r.address.starts_with(addr) && r.up == up)
        })
    })
}

#[test]
#[ignore = "needs IPVS: run in the VM (testbed/vm-run)"]
fn a_reload_of_one_virtual_server_programs_what_a_full_reload_does() {
    use lbd::daemon::virtual_servers::VirtualServers;
    if !kernel() {
        return;
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let third = format!(
        "real_server 127.0.0.3 {port} {{\n weight 1\n TCP_CHECK {{\n connect_timeout 1\n }}\n }}\n"
    );
    let a = three(port, 1, 1, "");
    // A weight edit of a live and of a down server, and a server added.
    let b = three(port, 3, 5, &third);
    let mut poll = healthcheck::mio::Poll::new().unwrap();
    let mut metrics = lbd::ops::Metrics::default();
    let mut scripts = Vec::new();
    let mut vs = VirtualServers::open(
        &a,
        poll.registry(),
        1000,
        true,
        Instant::now(),
        &mut scripts,
        &mut metrics,
    )
    .unwrap()
    .unwrap();
    drive(&mut vs, &mut poll, &mut metrics, 60, |s| {
        rs_up(s, &[0, 1, 2], "127.0.0.2", false) && rs_up(s, &[0, 1, 2], "127.0.0.1", true)
    });
    let mut client = ipvs_sys::Client::connect().unwrap();
    let at_a = (client.read_table().unwrap(), vs.status());

    let mut now_b = |vs: &mut VirtualServers, partial: bool, cfg| {
        let (now, m) = (Instant::now(), &mut metrics);
        let r = if partial {
            vs.reload_changed(cfg, &[1], now, &mut scripts, m)
        } else {
            vs.reload(cfg, now, &mut scripts, m)
        };
        r.unwrap();
        (client.read_table().unwrap(), vs.status())
    };
    let partial_b = now_b(&mut vs, true, &b);
    // The down server stays down at its new weight; the live one takes its new weight; the
    // new one starts up (its check has not run).
    let dests: Vec<(String, u32)> = partial_b
        .0
        .services
        .values()
        .nth(1)
        .unwrap()
        .dests
        .values()
        .map(|d| (d.addr.to_string(), d.weight))
        .collect();
    assert_eq!(
        dests,
        vec![
            (format!("127.0.0.1:{port}"), 3),
            (format!("127.0.0.3:{port}"), 1)
        ],
        "{:#?}",
        partial_b.0
    );
    assert_eq!(now_b(&mut vs, false, &a), at_a);
    assert_eq!(now_b(&mut vs, false, &b), partial_b);
    assert_eq!(now_b(&mut vs, true, &a), at_a);
    assert_eq!(now_b(&mut vs, true, &b), partial_b);
    // The checkers carried over keep running, the new one runs.
    drive(&mut vs, &mut poll, &mut metrics, 60, |s| {
        rs_up(s, &[1], "127.0.0.3", false)
            && rs_up(s, &[1], "127.0.0.2", false)
            && rs_up(s, &[1], "127.0.0.1", true)
    });
    let mut scripts = Vec::new();
    vs.stop(&mut scripts, &mut metrics);
    drop(listener);
}
