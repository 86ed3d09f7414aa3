//! Scheduler flags, one-packet scheduling and the persistence engine, from keepalived.conf to
//! a real IPVS table, read back with `ipvsadm -Ln` (the operator's view). This machine's
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
