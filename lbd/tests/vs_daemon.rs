//! The daemon's virtual servers against a real IPVS: health checks driving the table, reload,
//! adoption after a crash. This machine's kernel has no IPVS, so those tests are `#[ignore]`d
//! and run in the VM, each in its own network namespace (IPVS state is per namespace):
//!
//! ```text
//! export CARGO_TARGET_DIR=/work/target/vsrt
//! cargo build -p lbd && cargo test -p lbd --test vs_daemon --no-run   # prints the binary
//! testbed/vm-run -- /work/target/vsrt/debug/deps/vs_daemon-HASH --ignored --test-threads=1
//! ```
//!
//! The tests that need no kernel (`lbd plan`, the missing-IPVS error) run everywhere.

use std::fs;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

const LBD: &str = env!("CARGO_BIN_EXE_lbd");
const RS1: &str = "198.51.100.1";
const RS2: &str = "198.51.100.2";
const PORT1: u16 = 8001;
const PORT2: u16 = 8002;

/// A scratch directory for one test, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("vs-{name}-{}", std::process::id()));
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

fn config(weight2: u32) -> String {
    format!(
        "virtual_server 192.0.2.100 80 {{\n delay_loop 1\n lb_algo wrr\n lb_kind NAT\n protocol TCP\n\
         real_server {RS1} {PORT1} {{\n weight 1\n TCP_CHECK {{\n connect_timeout 1\n retry 1\n delay_before_retry 1\n }}\n }}\n\
         real_server {RS2} {PORT2} {{\n weight {weight2}\n TCP_CHECK {{\n connect_timeout 1\n retry 1\n delay_before_retry 1\n }}\n }}\n}}\n"
    )
}

/// The daemon under test, killed on drop.
struct Daemon {
    child: Child,
    log: PathBuf,
}

impl Daemon {
    fn start(s: &Scratch, extra: &[&str]) -> Self {
        let log = s.path("lbd.log");
        let out = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        let child = Command::new(LBD)
            .args(["-n", "-l", "-f"])
            .arg(s.path("lbd.conf"))
            .arg("-p")
            .arg(s.path("lbd.pid"))
            .arg("--status-socket")
            .arg(s.path("status.sock"))
            .args(extra)
            .env("LBD_DUMP_FILE", s.path("dump.json"))
            .stdout(Stdio::null())
            .stderr(out)
            .spawn()
            .unwrap();
        Daemon { child, log }
    }
    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill {sig}");
    }
    /// Waits for the daemon to exit, failing after `secs`.
    fn wait_exit(&mut self, secs: u64) -> std::process::ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st;
            }
            assert!(Instant::now() < deadline, "still running:\n{}", self.log());
            thread::sleep(Duration::from_millis(50));
        }
    }
    fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }
    /// Whether `line` reaches the log within 10 s: lbd writes console lines in batches before
    /// its loop waits, a moment after the kernel already shows what they report.
    fn logs(&self, line: &str) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.log().contains(line) {
            if Instant::now() >= deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(50));
        }
        true
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether IPVS is here: then this thread moves to a fresh network namespace with `lo` and the
/// real servers' addresses up.
fn kernel() -> bool {
    if !std::path::Path::new("/proc/net/ip_vs").exists() {
        eprintln!("skipped: no IPVS in this kernel; run via testbed/vm-run");
        return false;
    }
    // SAFETY: unshare(2) affects only this thread's network namespace; children inherit it.
    let r = unsafe { libc::unshare(libc::CLONE_NEWNET) };
    assert_eq!(r, 0, "unshare: {}", std::io::Error::last_os_error());
    for args in [
        vec!["link", "set", "lo", "up"],
        vec!["addr", "add", "198.51.100.1/32", "dev", "lo"],
        vec!["addr", "add", "198.51.100.2/32", "dev", "lo"],
    ] {
        assert!(Command::new("ip").args(&args).status().unwrap().success());
    }
    true
}

/// `ipvsadm -Ln`'s destinations of the service: (address, weight).
fn dests() -> Vec<(String, u32)> {
    let out = Command::new("ipvsadm").arg("-Ln").output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            match f[..] {
                ["->", addr, _fwd, weight, ..] if addr != "RemoteAddress:Port" => {
                    Some((addr.to_string(), weight.parse().ok()?))
                }
                _ => None,
            }
        })
        .collect()
}

/// Entries of `ipvsadm -Lnc` (the connection table).
fn connections() -> usize {
    let out = Command::new("ipvsadm").arg("-Lnc").output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("192.0.2.100:80"))
        .count()
}

fn both(w2: u32) -> Vec<(String, u32)> {
    vec![
        (format!("{RS1}:{PORT1}"), 1),
        (format!("{RS2}:{PORT2}"), w2),
    ]
}

/// Polls `ipvsadm -Ln` until its destinations are `want`, or fails after `secs` with the log.
fn wait_for(d: &Daemon, want: &[(String, u32)], secs: u64) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let got = dests();
        if got == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "IPVS has {got:?}, want {want:?}\n--- lbd log:\n{}",
            d.log()
        );
        thread::sleep(Duration::from_millis(100));
    }
}

fn listen(addr: &str, port: u16) -> TcpListener {
    TcpListener::bind((addr, port)).unwrap()
}

#[test]
#[ignore = "needs IPVS: run in the VM (testbed/vm-run)"]
fn health_checks_drive_the_table_and_reload_changes_one_weight() {
    if !kernel() {
        return;
    }
    let s = Scratch::new("health");
    fs::write(s.path("lbd.conf"), config(2)).unwrap();
    let l1 = listen(RS1, PORT1);
    let _l2 = listen(RS2, PORT2);
    let d = Daemon::start(&s, &["-D"]);
    wait_for(&d, &both(2), 10);

    // RS1 stops listening: after the retry its destination leaves.
    drop(l1);
    wait_for(&d, &both(2)[1..], 10);
    assert!(d.logs(&format!(
        "Removing service [{RS1}]:tcp:{PORT1} from VS [192.0.2.100]:tcp:80"
    )));
    // And comes back with its listener.
    let _l1 = listen(RS1, PORT1);
    wait_for(&d, &both(2), 10);
    assert!(d.logs(&format!(
        "Adding service [{RS1}]:tcp:{PORT1} to VS [192.0.2.100]:tcp:80"
    )));

    // A client connection through the virtual server: an IPVS connection entry.
    assert!(Command::new("ip")
        .args(["addr", "add", "192.0.2.100/32", "dev", "lo"])
        .status()
        .unwrap()
        .success());
    let _client = std::net::TcpStream::connect("192.0.2.100:80").unwrap();
    assert_eq!(connections(), 1);

    // SIGHUP with one weight changed: only that weight changes, nothing leaves meanwhile.
    let watch = Watch::start(both(2).into_iter().map(|(a, _)| a).collect());
    fs::write(s.path("lbd.conf"), config(3)).unwrap();
    d.signal("-HUP");
    wait_for(&d, &both(3), 10);
    thread::sleep(Duration::from_millis(500));
    let gaps = watch.stop();
    assert_eq!(gaps, 0, "a destination vanished during the reload");
    // The kept checkers were not restarted: no new activation line after the reload.
    let log = d.log();
    let after = log.split("Reloading configuration").nth(1).unwrap_or("");
    assert!(!after.contains("Activating healthchecker"), "{log}");
    // One weight edit, one request; and the connection entry is still there.
    let sent: Vec<&str> = after.lines().filter(|l| l.contains("request(s)")).collect();
    assert_eq!(sent.len(), 1, "{after}");
    assert!(sent[0].contains("IPVS: 1 request(s): [SetDest"), "{after}");
    assert_eq!(connections(), 1);
    // Only that block was read again: the rest of the model was kept.
    assert!(
        after.contains("Reload: configuration read in")
            && after.contains("(1 virtual server(s) re-read"),
        "{after}"
    );

    // The same file again: nothing read, nothing sent.
    d.signal("-HUP");
    let log = wait_log(&d, 2, "Reload finished");
    let second = log.split("Reloading configuration").nth(2).unwrap_or("");
    assert!(
        second.contains("Reload: configuration unchanged"),
        "{second}"
    );
    assert!(!second.contains("request(s)"), "{second}");

    // A change outside the virtual servers: read whole, and the table still needs nothing.
    fs::write(
        s.path("lbd.conf"),
        format!("global_defs {{\n router_id lbd-test\n}}\n{}", config(3)),
    )
    .unwrap();
    d.signal("-HUP");
    let log = wait_log(&d, 3, "Reload of the virtual servers");
    let third = log.split("Reloading configuration").nth(3).unwrap_or("");
    assert!(!third.contains("re-read"), "{third}");
    assert!(!third.contains("request(s)"), "{third}");
    assert!(third.contains("IPVS requests: 0"), "{third}");
    assert_eq!(dests(), both(3));
    assert_eq!(connections(), 1);
}

/// The log once it shows `line` after the `nth` (from 1) "Reloading configuration".
fn wait_log(d: &Daemon, nth: usize, line: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let log = d.log();
        if log
            .split("Reloading configuration")
            .nth(nth)
            .is_some_and(|part| part.contains(line))
        {
            return log;
        }
        assert!(
            Instant::now() < deadline,
            "no {line:?} after reload {nth}:\n{log}"
        );
        thread::sleep(Duration::from_millis(50));
    }
}

/// Polls `ipvsadm -Ln` in a thread (in this test's namespace) and counts the polls where one
/// of `addrs` was missing.
struct Watch {
    stop: Arc<AtomicBool>,
    handle: thread::JoinHandle<usize>,
}

impl Watch {
    fn start(addrs: Vec<String>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = in_this_netns(move || {
            let mut gaps = 0;
            while !flag.load(Ordering::Relaxed) {
                let got = dests();
                if addrs.iter().any(|a| !got.iter().any(|(g, _)| g == a)) {
                    gaps += 1;
                }
                thread::sleep(Duration::from_millis(20));
            }
            gaps
        });
        Watch { stop, handle }
    }

    fn stop(self) -> usize {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().unwrap()
    }
}

#[test]
#[ignore = "needs IPVS: run in the VM (testbed/vm-run)"]
fn a_restart_after_kill_9_adopts_the_table_without_a_gap() {
    if !kernel() {
        return;
    }
    let s = Scratch::new("adopt");
    fs::write(s.path("lbd.conf"), config(2)).unwrap();
    let _l1 = listen(RS1, PORT1);
    let _l2 = listen(RS2, PORT2);
    // An operator's service, which lbd must leave alone.
    let ok = Command::new("ipvsadm")
        .args(["-A", "-t", "192.0.2.200:80", "-s", "rr"])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let mut d = Daemon::start(&s, &["-C"]);
    wait_for(&d, &both(2), 10);

    let watch = Watch::start(both(2).into_iter().map(|(a, _)| a).collect());
    d.signal("-KILL");
    let _ = d.child.wait();
    let mut d2 = Daemon::start(&s, &["-C"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !d2.log().contains("adopting service") {
        assert!(Instant::now() < deadline, "no adoption:\n{}", d2.log());
        thread::sleep(Duration::from_millis(100));
    }
    // Let the first checks run.
    thread::sleep(Duration::from_secs(3));
    assert_eq!(watch.stop(), 0, "a destination vanished across the restart");
    wait_for(&d2, &both(2), 1);
    let table =
        String::from_utf8(Command::new("ipvsadm").arg("-Ln").output().unwrap().stdout).unwrap();
    assert!(table.contains("192.0.2.200:80"), "{table}");

    // A stop leaves IPVS by default...
    d2.signal("-TERM");
    assert!(d2.wait_exit(10).success(), "{}", d2.log());
    assert_eq!(dests(), both(2));
    // ...and --remove-ipvs-on-stop removes what lbd owns, and only that.
    let d3 = Daemon::start(&s, &["-C", "--remove-ipvs-on-stop"]);
    // Up once it has adopted (the log file is shared: d2's line is the first).
    let deadline = Instant::now() + Duration::from_secs(10);
    while d3.log().matches("adopting service").count() < 2 {
        assert!(Instant::now() < deadline, "no adoption:\n{}", d3.log());
        thread::sleep(Duration::from_millis(100));
    }
    d3.signal("-TERM");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !dests().is_empty() {
        assert!(
            Instant::now() < deadline,
            "still {:?}\n{}",
            dests(),
            d3.log()
        );
        thread::sleep(Duration::from_millis(100));
    }
    let table =
        String::from_utf8(Command::new("ipvsadm").arg("-Ln").output().unwrap().stdout).unwrap();
    assert!(table.contains("192.0.2.200:80"), "{table}");
    assert!(!table.contains("192.0.2.100:80"), "{table}");
}

/// An HTTP responder on `addr:port` answering every request with `name` (HTTP/1.0, then it
/// closes), on its own thread in the caller's network namespace. TCP_CHECK's bare connects
/// read EOF and are just closed. The thread outlives the test: its namespace goes with it.
fn respond(addr: &str, port: u16, name: &'static str) {
    use std::io::{Read, Write};
    let l = listen(addr, port);
    in_this_netns(move || {
        for c in l.incoming() {
            let Ok(mut c) = c else { continue };
            let _ = c.set_read_timeout(Some(Duration::from_secs(2)));
            let mut req = Vec::new();
            let mut buf = [0u8; 512];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match c.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            if req.starts_with(b"GET ") {
                let _ = write!(
                    c,
                    "HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n{name}",
                    name.len()
                );
            }
        }
    });
}

/// Spawns `f` on a thread that has joined this thread's network namespace (a test's `kernel()`
/// unshared only its own thread's).
fn in_this_netns<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> thread::JoinHandle<T> {
    let ns = fs::File::open(format!(
        "/proc/{}/task/{}/ns/net",
        std::process::id(),
        // SAFETY: gettid has no preconditions.
        unsafe { libc::gettid() }
    ))
    .unwrap();
    thread::spawn(move || {
        use std::os::fd::AsRawFd;
        // SAFETY: setns on this new thread only.
        let r = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(r, 0, "setns: {}", std::io::Error::last_os_error());
        f()
    })
}

/// What the client loop saw: answers by real server, and each failure with its reason.
#[derive(Debug, Default)]
struct Tally {
    ok: usize,
    by_server: std::collections::BTreeMap<String, usize>,
    failures: Vec<String>,
}

/// One request through the virtual server on a fresh connection: the body (the real server's
/// name) or why it failed.
fn request(vip: &str) -> Result<String, String> {
    use std::io::{Read, Write};
    let addr: std::net::SocketAddr = vip.parse().unwrap();
    let mut c = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(3))
        .map_err(|e| format!("connect: {e}"))?;
    c.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    c.write_all(b"GET / HTTP/1.0\r\n\r\n")
        .map_err(|e| format!("write: {e}"))?;
    let mut out = String::new();
    c.read_to_string(&mut out)
        .map_err(|e| format!("read: {e}"))?;
    match out.split_once("\r\n\r\n") {
        Some((head, body)) if head.starts_with("HTTP/1.0 200 ") => Ok(body.to_owned()),
        _ => Err(format!("bad answer {out:?}")),
    }
}

/// A client doing requests to the virtual server back to back until stopped.
struct Client {
    stop: Arc<AtomicBool>,
    tally: Arc<std::sync::Mutex<Tally>>,
    handle: thread::JoinHandle<()>,
}

impl Client {
    fn start(vip: &'static str) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let tally = Arc::new(std::sync::Mutex::new(Tally::default()));
        let (flag, t) = (stop.clone(), tally.clone());
        let handle = in_this_netns(move || {
            while !flag.load(Ordering::Relaxed) {
                let r = request(vip);
                let mut t = t.lock().unwrap();
                match r {
                    Ok(body) => {
                        t.ok += 1;
                        *t.by_server.entry(body).or_default() += 1;
                    }
                    Err(e) => t.failures.push(e),
                }
            }
        });
        Client {
            stop,
            tally,
            handle,
        }
    }
    /// Requests done so far (answered or failed).
    fn done(&self) -> usize {
        let t = self.tally.lock().unwrap();
        t.ok + t.failures.len()
    }
    /// Waits until `n` more requests than now were done (at most `secs`).
    fn wait_more(&self, n: usize, secs: u64) {
        let want = self.done() + n;
        let deadline = Instant::now() + Duration::from_secs(secs);
        while self.done() < want {
            assert!(
                Instant::now() < deadline,
                "the client did only {} requests: {:?}",
                self.done(),
                self.tally.lock().unwrap()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }
    fn stop(self) -> Tally {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().unwrap();
        Arc::try_unwrap(self.tally).unwrap().into_inner().unwrap()
    }
}

/// IPVS's counters of each destination (`ipvsadm -Ln --stats`): address, connections, packets
/// in, packets out.
fn dest_stats() -> Vec<(String, u64, u64, u64)> {
    let out = Command::new("ipvsadm")
        .args(["-Ln", "--stats"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            match f[..] {
                ["->", addr, conns, inpkts, outpkts, ..] if addr != "RemoteAddress:Port" => Some((
                    addr.to_string(),
                    conns.parse().ok()?,
                    inpkts.parse().ok()?,
                    outpkts.parse().ok()?,
                )),
                _ => None,
            }
        })
        .collect()
}

#[test]
#[ignore = "needs IPVS: run in the VM (testbed/vm-run)"]
fn a_client_sees_no_failed_request_across_a_reload_and_a_kill_9_restart() {
    if !kernel() {
        return;
    }
    const VIP: &str = "192.0.2.100:80";
    let s = Scratch::new("client");
    fs::write(s.path("lbd.conf"), config(2)).unwrap();
    respond(RS1, PORT1, "rs1");
    respond(RS2, PORT2, "rs2");
    // Nothing listens on the virtual address: every answer went through IPVS (local node: the
    // client, the virtual server and both real servers are in this namespace).
    assert!(Command::new("ip")
        .args(["addr", "add", "192.0.2.100/32", "dev", "lo"])
        .status()
        .unwrap()
        .success());
    let mut d = Daemon::start(&s, &["-C"]);
    wait_for(&d, &both(2), 10);
    request(VIP).unwrap();

    let client = Client::start(VIP);
    let watch = Watch::start(both(2).into_iter().map(|(a, _)| a).collect());
    client.wait_more(100, 120);

    // SIGHUP with one weight changed.
    fs::write(s.path("lbd.conf"), config(3)).unwrap();
    d.signal("-HUP");
    wait_for(&d, &both(3), 10);
    client.wait_more(100, 120);

    // kill -9: IPVS goes on forwarding with no daemon at all for a while, then a new one
    // adopts the table.
    d.signal("-KILL");
    let _ = d.child.wait();
    let before = client.done();
    thread::sleep(Duration::from_secs(1));
    let while_down = client.done() - before;
    wait_for(&d, &both(3), 1);
    let d2 = Daemon::start(&s, &["-C"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !d2.log().contains("adopting service") {
        assert!(Instant::now() < deadline, "no adoption:\n{}", d2.log());
        thread::sleep(Duration::from_millis(100));
    }
    // Through the restarted daemon's first checks (delay_loop 1).
    thread::sleep(Duration::from_secs(3));
    client.wait_more(100, 120);
    wait_for(&d2, &both(3), 1);

    let tally = client.stop();
    assert_eq!(watch.stop(), 0, "a destination vanished");
    let total = tally.ok + tally.failures.len();
    eprintln!("client: {tally:?}, {while_down} while no daemon ran");
    assert!(
        tally.failures.is_empty(),
        "{} of {total} failed: {:?}\n--- lbd log:\n{}",
        tally.failures.len(),
        tally.failures,
        d2.log()
    );
    assert!(total >= 300, "{tally:?}");
    assert!(while_down > 0, "no request while no daemon ran");
    // Both real servers answered.
    let (n1, n2) = (tally.by_server["rs1"], tally.by_server["rs2"]);
    assert_eq!(n1 + n2, tally.ok, "{tally:?}");
    // IPVS counted them: connections (fewer than requests: an entry still lingering when its
    // client port comes back is reused), and each answer's packets (SYN, request, ACKs, FIN: at least 3 in; SYN-ACK, answer, FIN: 2 out).
    let stats = dest_stats();
    for (rs, n) in [
        (format!("{RS1}:{PORT1}"), n1),
        (format!("{RS2}:{PORT2}"), n2),
    ] {
        let n = n as u64;
        let st = stats.iter().find(|s| s.0 == rs);
        assert!(
            st.is_some_and(|s| s.1 > 0 && s.2 >= 3 * n && s.3 >= 2 * n),
            "{rs}: {n} answers, IPVS counters {stats:?}"
        );
    }
    assert!(n1 > 0 && n2 > n1, "wrr 1:2 then 1:3: {tally:?}");
}

fn lbd(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(LBD).args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn plan_prints_the_changes_of_a_reload_and_applies_nothing() {
    let s = Scratch::new("plan");
    let old = s.path("old.conf");
    let new = s.path("new.conf");
    fs::write(&old, config(2)).unwrap();
    fs::write(
        &new,
        config(3).replace(
            "delay_loop 1\n",
            "delay_loop 1\n real_server 198.51.100.3 8003 {\n }\n",
        ),
    )
    .unwrap();
    let (ok, out, err) = lbd(&[
        "plan",
        "-f",
        new.to_str().unwrap(),
        "--current",
        old.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("198.51.100.3:8003"), "{out}");
    assert!(out.contains("nothing applied"), "{out}");

    // The same file against itself, with nothing in the kernel: all of it is to add.
    let (ok, out, err) = lbd(&[
        "plan",
        "-f",
        old.to_str().unwrap(),
        "--current",
        old.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    if !std::path::Path::new("/proc/net/ip_vs").exists() {
        assert!(err.contains("no IPVS"), "{err}");
        assert!(out.contains("IPVS: +"), "{out}");
    }
}

#[test]
fn plan_refuses_an_invalid_configuration() {
    let s = Scratch::new("planbad");
    let bad = s.path("bad.conf");
    fs::write(&bad, "virtual_server 192.0.2.1 80 {\n lb_kind\n").unwrap();
    let (ok, _, err) = lbd(&[
        "plan",
        "-f",
        bad.to_str().unwrap(),
        "--current",
        "/nonexistent",
    ]);
    assert!(!ok);
    assert!(err.contains("lbd plan"), "{err}");
}

#[test]
fn without_ipvs_the_daemon_says_so_and_exits() {
    if std::path::Path::new("/proc/net/ip_vs").exists() {
        eprintln!("skipped: this kernel has IPVS");
        return;
    }
    let s = Scratch::new("noipvs");
    fs::write(s.path("lbd.conf"), config(2)).unwrap();
    let mut d = Daemon::start(&s, &["-C"]);
    let status = d.wait_exit(20);
    assert!(!status.success());
    let log = d.log();
    assert!(log.contains("IPVS: Can't initialize ipvs"), "{log}");
}

#[test]
#[ignore = "needs IPVS: run in the VM (testbed/vm-run)"]
fn the_sync_daemon_follows_the_vrrp_instance() {
    if !kernel() {
        return;
    }
    for args in [
        vec!["link", "add", "vsd0", "type", "dummy"],
        vec!["addr", "add", "192.0.2.1/24", "dev", "vsd0"],
        vec!["link", "set", "vsd0", "up"],
    ] {
        assert!(Command::new("ip").args(&args).status().unwrap().success());
    }
    let s = Scratch::new("sync");
    let conf = format!(
        "global_defs {{\n lvs_sync_daemon vsd0 VI\n}}\n\
         vrrp_instance VI {{\n state BACKUP\n interface vsd0\n virtual_router_id 51\n priority 100\n \
         advert_int 1\n virtual_ipaddress {{\n 192.0.2.100/32\n }}\n}}\n{}",
        config(2)
    );
    fs::write(s.path("lbd.conf"), conf).unwrap();
    let d = Daemon::start(&s, &[]);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let out = Command::new("ipvsadm")
            .args(["-L", "--daemon"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        // Alone on its link, the instance becomes MASTER: the backup daemon gives way.
        if text.contains("master sync daemon (mcast=vsd0, syncid=51,")
            && !text.contains("backup sync daemon")
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "sync daemons: {text}\n--- lbd log:\n{}",
            d.log()
        );
        thread::sleep(Duration::from_millis(200));
    }
    assert!(d
        .log()
        .contains("Starting IPVS backup sync daemon on vsd0 (syncid 51)"));
}

#[test]
#[ignore = "needs IPVS: run in the VM (testbed/vm-run)"]
fn http_get_puts_a_server_in_and_takes_it_out() {
    if !kernel() {
        return;
    }
    let s = Scratch::new("http");
    fs::write(
        s.path("lbd.conf"),
        format!(
            "virtual_server 192.0.2.100 80 {{\n delay_loop 1\n lb_kind NAT\n protocol TCP\n\
             real_server {RS2} {PORT2} {{\n HTTP_GET {{\n url {{\n path /\n status_code 200\n }}\n \
             connect_timeout 1\n retry 0\n }}\n }}\n}}\n"
        ),
    )
    .unwrap();
    let mut server = Command::new("python3")
        .args(["-m", "http.server", &PORT2.to_string(), "--bind", RS2])
        .current_dir(&s.0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Python starts slowly in the emulated VM: wait until it listens.
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect((RS2, PORT2)).is_err() {
        assert!(Instant::now() < deadline, "http.server did not start");
        thread::sleep(Duration::from_millis(200));
    }
    let d = Daemon::start(&s, &["-C"]);
    let rs = vec![(format!("{RS2}:{PORT2}"), 1)];
    // Checks start up: the server is in from the start, and stays while it answers 200.
    wait_for(&d, &rs, 10);
    thread::sleep(Duration::from_secs(3));
    wait_for(&d, &rs, 1);
    server.kill().unwrap();
    server.wait().unwrap();
    wait_for(&d, &[], 10);
    assert!(d.logs(&format!(
        "Removing service [{RS2}]:tcp:{PORT2} from VS [192.0.2.100]:tcp:80"
    )));
}

/// `GET /metrics` on `addr`, the body.
fn scrape(addr: &str) -> String {
    use std::io::{Read, Write};
    let mut c = std::net::TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    c.write_all(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut out = String::new();
    c.read_to_string(&mut out).unwrap();
    out
}

/// `lbd status --json` against the test's daemon.
fn status_json(s: &Scratch) -> serde_json::Value {
    let out = Command::new(LBD)
        .args(["status", "--json", "--socket"])
        .arg(s.path("status.sock"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
#[ignore = "needs IPVS: run in the VM (testbed/vm-run)"]
fn status_and_metrics_report_the_virtual_servers() {
    if !kernel() {
        return;
    }
    let s = Scratch::new("ops");
    fs::write(s.path("lbd.conf"), config(2)).unwrap();
    let _l1 = listen(RS1, PORT1);
    let metrics = "127.0.0.1:9461";
    let d = Daemon::start(&s, &["-C", "--metrics", metrics]);
    // RS2 has no listener: its check fails and it leaves the table.
    wait_for(&d, &both(2)[..1], 10);

    let st = status_json(&s);
    let vs = st["virtual_servers"]
        .as_array()
        .expect("virtual servers reported");
    assert_eq!(vs.len(), 1, "{st}");
    assert_eq!(vs[0]["service"], "[192.0.2.100]:tcp:80", "{st}");
    assert_eq!(vs[0]["scheduler"], "wrr", "{st}");
    let rs = vs[0]["real_servers"].as_array().unwrap();
    assert_eq!(rs[0]["address"], format!("{RS1}:{PORT1}"), "{st}");
    assert_eq!(rs[0]["up"], true, "{st}");
    assert_eq!(rs[1]["address"], format!("{RS2}:{PORT2}"), "{st}");
    assert_eq!(rs[1]["up"], false, "{st}");
    assert_eq!(rs[1]["weight"], 2, "{st}");
    let last = rs[1]["last_check"].as_str().unwrap_or_default();
    assert!(last.starts_with("TCP_CHECK down"), "{st}");

    let body = scrape(metrics);
    let rs2 = format!(
        "virtual_server=\"[192.0.2.100]:tcp:80\",real_server=\"{RS2}:{PORT2}\",checker=\"TCP_CHECK\""
    );
    assert!(
        body.contains(&format!(
            "lbd_check_results_total{{{rs2},result=\"failure\"}} 1"
        )),
        "{body}"
    );
    assert!(body.contains(&format!("lbd_check_up{{{rs2}}} 0")), "{body}");
    assert!(
        body.contains("lbd_ipvs_requests_total{operation=\"batch\"}"),
        "{body}"
    );
    assert!(
        body.contains("lbd_ipvs_apply_duration_seconds_count{operation=\"batch\"}"),
        "{body}"
    );
}
