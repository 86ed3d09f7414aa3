//! FILE_CHECK against a real IPVS: the value in a track file moves a real server's weight,
//! a value at the fault line takes it out, and writes, renames, deletions and reloads are
//! seen. This machine's kernel has no IPVS, so the tests are `#[ignore]`d and run in the VM,
//! each in its own network namespace:
//!
//! ```text
//! export CARGO_TARGET_DIR=/work/target/vsrt
//! cargo build -p lbd && cargo test -p lbd --test vs_file_check --no-run   # prints the binary
//! testbed/vm-run -- /work/target/vsrt/debug/deps/vs_file_check-HASH --ignored --test-threads=1
//! ```

use std::fs;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

const LBD: &str = env!("CARGO_BIN_EXE_lbd");
const RS1: &str = "198.51.100.1:8001";
const RS2: &str = "198.51.100.2:8002";
const VS: &str = "[192.0.2.100]:tcp:80";

/// A scratch directory, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("vsfc-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
    fn path(&self, f: &str) -> PathBuf {
        self.0.join(f)
    }
    /// Writes `value` to track file `f` (write and close: inotify's IN_CLOSE_WRITE).
    fn set(&self, f: &str, value: &str) {
        fs::write(self.path(f), format!("{value}\n")).unwrap();
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// RS1 (weight 5) reads `w1` with `FILE_CHECK { track_file w1  weight W1 }`, RS2 (weight 1)
/// reads `w2` with weight 0 (up at 0, down otherwise).
fn config(s: &Scratch, weight1: i64) -> String {
    let (w1, w2) = (s.path("w1"), s.path("w2"));
    format!(
        "track_file w1 {{\n file {}\n}}\ntrack_file w2 {{\n file {}\n weight 0\n}}\n\
         virtual_server 192.0.2.100 80 {{\n lb_algo wrr\n lb_kind NAT\n protocol TCP\n\
         real_server 198.51.100.1 8001 {{\n weight 5\n FILE_CHECK {{\n track_file w1\n weight {weight1}\n }}\n }}\n\
         real_server 198.51.100.2 8002 {{\n weight 1\n FILE_CHECK {{\n track_file w2\n }}\n }}\n}}\n",
        w1.display(),
        w2.display()
    )
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
            .args(["-n", "-l", "-D", "-f"])
            .arg(s.path("lbd.conf"))
            .arg("-p")
            .arg(s.path("lbd.pid"))
            .arg("--status-socket")
            .arg(s.path("status.sock"))
            .env("LBD_DUMP_FILE", s.path("dump.json"))
            .stdout(Stdio::null())
            .stderr(out)
            .spawn()
            .unwrap();
        Daemon { child, log }
    }
    fn hup(&self) {
        let ok = Command::new("kill")
            .args(["-HUP", &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -HUP");
    }
    fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }
    /// Waits for `line`: lbd writes console lines in batches before its loop waits, so a
    /// line can reach the file a moment after the kernel shows what it logs.
    fn logged(&self, line: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let log = self.log();
            if log.contains(line) {
                return;
            }
            assert!(Instant::now() < deadline, "no '{line}' in:\n{log}");
            thread::sleep(Duration::from_millis(50));
        }
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

/// `ipvsadm -Ln`'s destinations: (address, weight).
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

/// The destinations wanted: RS1 at `w1` (absent if `None`), RS2 at 1 if `rs2`.
fn want(w1: Option<u32>, rs2: bool) -> Vec<(String, u32)> {
    let mut v = Vec::new();
    v.extend(w1.map(|w| (RS1.to_string(), w)));
    if rs2 {
        v.push((RS2.to_string(), 1));
    }
    v
}

/// Polls `ipvsadm -Ln` until its destinations are `want`, or fails after 10 s with the log.
fn wait_for(d: &Daemon, want: &[(String, u32)]) {
    let deadline = Instant::now() + Duration::from_secs(10);
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
        thread::sleep(Duration::from_millis(50));
    }
}

#[test]
#[ignore = "needs IPVS: run in the VM (testbed/vm-run)"]
fn file_values_move_the_weight_and_the_fault_line_removes_the_server() {
    if !kernel() {
        return;
    }
    let s = Scratch::new("weights");
    s.set("w1", "0");
    s.set("w2", "0");
    fs::write(s.path("lbd.conf"), config(&s, 1)).unwrap();
    let d = Daemon::start(&s);
    wait_for(&d, &want(Some(5), true));
    d.logged(&format!(
        "Activating healthchecker for service [198.51.100.1]:tcp:8001 for VS {VS}"
    ));

    // A value is added to the configured weight, in one edit.
    s.set("w1", "3");
    wait_for(&d, &want(Some(8), true));
    d.logged(&format!(
        "Changing weight from 5 to 8 for active service [198.51.100.1]:tcp:8001 of VS {VS}"
    ));
    // `lbd status` says why.
    let out = Command::new(LBD)
        .args(["status", "--json", "--socket"])
        .arg(s.path("status.sock"))
        .output()
        .unwrap();
    let status = String::from_utf8_lossy(&out.stdout);
    assert!(
        status.contains("FILE_CHECK up: track file w1 reads 3, weight +3")
            && status.contains("FILE_CHECK up: track file w2 reads 0, weight +0"),
        "{status}"
    );
    // strtol's base 0: hex, and junk after the digits ignored.
    s.set("w1", "0x10 trailing words");
    wait_for(&d, &want(Some(21), true));
    // Below zero the server stays, at weight 0.
    s.set("w1", "-10");
    wait_for(&d, &want(Some(0), true));
    // At the fault line it leaves; out of range is ignored (it stays out).
    s.set("w1", "-2147483648");
    wait_for(&d, &want(None, true));
    d.logged(&format!(
        "Removing service [198.51.100.1]:tcp:8001 from VS {VS}"
    ));
    s.set("w1", "99999999999");
    thread::sleep(Duration::from_millis(300));
    assert_eq!(dests(), want(None, true));
    d.logged("Invalid number 99999999999 read from");
    // Back, at its new weight.
    s.set("w1", "2");
    wait_for(&d, &want(Some(7), true));
    d.logged(&format!(
        "Adding service [198.51.100.1]:tcp:8001 to VS {VS}"
    ));
    // A file moved in is read; a deleted file reads 0.
    fs::write(s.path("w1.tmp"), "4\n").unwrap();
    fs::rename(s.path("w1.tmp"), s.path("w1")).unwrap();
    wait_for(&d, &want(Some(9), true));
    fs::remove_file(s.path("w1")).unwrap();
    wait_for(&d, &want(Some(5), true));

    // Weight 0: 0 is up, anything else down.
    s.set("w2", "1");
    wait_for(&d, &want(Some(5), false));
    s.set("w2", "0");
    wait_for(&d, &want(Some(5), true));

    // A reload with another FILE_CHECK weight applies it to the current value.
    s.set("w1", "2");
    wait_for(&d, &want(Some(7), true));
    fs::write(s.path("lbd.conf"), config(&s, -2)).unwrap();
    d.hup();
    wait_for(&d, &want(Some(1), true));
    // Straight there: one edit, no stop at the configured weight on the way.
    let log = d.log();
    let after = log.split("Reloading configuration").nth(1).unwrap_or("");
    let sent: Vec<&str> = after.lines().filter(|l| l.contains("request(s)")).collect();
    assert_eq!(sent.len(), 1, "{after}");
    assert!(
        sent[0].contains("[SetDest") && sent[0].contains("weight: 1,"),
        "{after}"
    );
    // And the new configuration's files are watched.
    s.set("w1", "1");
    wait_for(&d, &want(Some(3), true));
}

#[test]
#[ignore = "needs IPVS: run in the VM (testbed/vm-run)"]
fn a_file_at_fault_keeps_its_server_out_from_the_start() {
    if !kernel() {
        return;
    }
    let s = Scratch::new("start");
    s.set("w1", "-3000000");
    s.set("w2", "7");
    // weight 1000: -3000000 * 1000 is below i32::MIN.
    fs::write(s.path("lbd.conf"), config(&s, 1000)).unwrap();
    let d = Daemon::start(&s);
    // The service is programmed without either server.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !String::from_utf8_lossy(&Command::new("ipvsadm").arg("-Ln").output().unwrap().stdout)
        .contains("TCP  192.0.2.100:80")
    {
        assert!(Instant::now() < deadline, "no service:\n{}", d.log());
        thread::sleep(Duration::from_millis(50));
    }
    thread::sleep(Duration::from_millis(300));
    assert_eq!(dests(), want(None, false));
    assert!(!d.log().contains("Adding service"), "{}", d.log());
    s.set("w1", "0");
    s.set("w2", "0");
    wait_for(&d, &want(Some(5), true));
}

#[test]
#[ignore = "needs IPVS: run in the VM (testbed/vm-run)"]
fn a_polled_file_logs_a_refused_number_once() {
    if !kernel() {
        return;
    }
    let s = Scratch::new("poll");
    s.set("w2", "0");
    // w1's directory does not exist at start-up: it cannot be watched and is read every
    // 500 ms.
    let later = s.path("later");
    let conf = config(&s, 1).replace(
        &s.path("w1").display().to_string(),
        &later.join("w1").display().to_string(),
    );
    fs::write(s.path("lbd.conf"), conf).unwrap();
    let d = Daemon::start(&s);
    wait_for(&d, &want(Some(5), true));
    d.logged("Track file directory for w1 does not exist");
    fs::create_dir(&later).unwrap();
    fs::write(later.join("w1"), "99999999999\n").unwrap();
    let refused = "Invalid number 99999999999 read from";
    d.logged(refused);
    // Four more polls read the same number: not logged again.
    thread::sleep(Duration::from_secs(2));
    assert_eq!(d.log().matches(refused).count(), 1, "{}", d.log());
    assert_eq!(dests(), want(Some(5), true));
    fs::write(later.join("w1"), "3\n").unwrap();
    wait_for(&d, &want(Some(8), true));
}
