//! End-to-end test harness: network namespaces joined by veth pairs, daemons (lbd or keepalived)
//! spawned inside them with their logs captured, and polling with deadlines (never blind sleeps).
//!
//! Every namespace and link is named with the `dm` prefix and removed by a guard, also when the
//! test panics. Tests need root (they run in CI as root).

#![allow(dead_code)] // each test binary uses a different part of the harness

use std::fmt::Write as _;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// Runs `ip ARGS`, panicking with its stderr on failure (setup must not half-succeed silently).
pub fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("run ip");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn ip_output(args: &[&str]) -> String {
    let out = Command::new("ip").args(args).output().expect("run ip");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A network namespace, deleted (with everything inside) on drop.
#[derive(Debug)]
pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn new(name: &str) -> Self {
        assert!(
            name.starts_with("dm"),
            "test namespaces carry the dm prefix"
        );
        // A previous run killed mid-test may have left it behind.
        let _ = Command::new("ip")
            .args(["netns", "del", name])
            .stderr(Stdio::null())
            .status();
        ip(&["netns", "add", name]);
        ip(&["-n", name, "link", "set", "lo", "up"]);
        // No duplicate address detection: a tentative link-local address cannot source
        // VRRPv3 adverts, and a daemon that holds the VIP while its adverts fail makes the
        // peer take over too — a race of the test bed, not of the protocol.
        let _ = Command::new("ip")
            .args(["netns", "exec", name, "sysctl", "-qw"])
            .args([
                "net.ipv6.conf.all.accept_dad=0",
                "net.ipv6.conf.default.accept_dad=0",
            ])
            .status();
        Self {
            name: name.to_owned(),
        }
    }

    pub fn ip(&self, args: &[&str]) {
        let mut full = vec!["-n", self.name.as_str()];
        full.extend_from_slice(args);
        ip(&full);
    }

    /// Addresses on `dev`, as `ADDR/PREFIX` strings.
    pub fn addrs(&self, dev: &str) -> Vec<String> {
        let text = ip_output(&["-n", &self.name, "-o", "addr", "show", "dev", dev]);
        text.lines()
            .filter_map(|l| {
                let mut it = l.split_whitespace();
                it.find(|w| *w == "inet" || *w == "inet6")?;
                it.next().map(str::to_owned)
            })
            .collect()
    }

    /// Whether `addr` (without prefix) is configured on `dev`.
    pub fn has_addr(&self, dev: &str, addr: &str) -> bool {
        self.count_addr(dev, addr) > 0
    }

    pub fn count_addr(&self, dev: &str, addr: &str) -> usize {
        self.addrs(dev)
            .iter()
            .filter(|a| a.split('/').next() == Some(addr))
            .count()
    }

    pub fn link(&self, dev: &str, up: bool) {
        self.ip(&["link", "set", dev, if up { "up" } else { "down" }]);
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// Two nodes `{prefix}a` and `{prefix}b`, each with `links` interfaces `dmv0`, `dmv1`, ...
/// plugged into bridges `dmbr0`, `dmbr1`, ... of a third namespace `{prefix}s` (the switch),
/// so one node's link going down leaves the other's carrier up, as on a real segment.
/// dmv0 is 192.0.2.1/24 (a) and 192.0.2.2/24 (b); dmv1 is 198.51.100.1/.2.
pub struct Pair {
    pub a: Netns,
    pub b: Netns,
    pub switch: Netns,
}

pub const IF0: &str = "dmv0";
pub const IF1: &str = "dmv1";
pub const A_IP: &str = "192.0.2.1";
pub const B_IP: &str = "192.0.2.2";

impl Pair {
    pub fn new(prefix: &str, links: usize) -> Self {
        require_root();
        let a = Netns::new(&format!("{prefix}a"));
        let b = Netns::new(&format!("{prefix}b"));
        let switch = Netns::new(&format!("{prefix}s"));
        for i in 0..links {
            let dev = format!("dmv{i}");
            let br = format!("dmbr{i}");
            switch.ip(&["link", "add", &br, "type", "bridge", "forward_delay", "0"]);
            switch.link(&br, true);
            for (ns, port, last) in [(&a, format!("dma{i}"), 1), (&b, format!("dmb{i}"), 2)] {
                // Created inside the namespaces: nothing ever appears in the host's.
                switch.ip(&[
                    "link", "add", &port, "type", "veth", "peer", "name", &dev, "netns", &ns.name,
                ]);
                switch.ip(&["link", "set", &port, "master", &br]);
                switch.link(&port, true);
                let addr = if i == 0 {
                    format!("192.0.2.{last}/24")
                } else {
                    format!("198.51.{}.{last}/24", 100 + i - 1)
                };
                ns.ip(&["addr", "add", &addr, "dev", &dev]);
                ns.link(&dev, true);
            }
        }
        Self { a, b, switch }
    }
}

pub fn require_root() {
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    assert_eq!(
        euid, 0,
        "these end-to-end tests create network namespaces and need root"
    );
}

/// A directory under the system temp dir, removed on drop.
pub struct TempDir {
    pub path: PathBuf,
}

impl TempDir {
    pub fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).expect("create temp dir");
        Self { path }
    }
    pub fn join(&self, p: &str) -> PathBuf {
        self.path.join(p)
    }
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.join(name);
        fs::write(&p, text).expect("write temp file");
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::env::var_os("DM_KEEP_TEMP").is_none() {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

/// Which implementation a node runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Impl {
    Lbd,
    Keepalived,
}

/// A daemon running in a namespace, killed on drop. Its stdout+stderr go to a log file that the
/// test polls; the log is printed when the test fails, which is what makes failures debuggable.
pub struct Daemon {
    pub name: String,
    pub kind: Impl,
    child: Option<Child>,
    pub log: PathBuf,
    pub conf: PathBuf,
    pub pid_file: PathBuf,
    /// Extra command-line arguments (lbd only).
    extra: Vec<String>,
}

impl Daemon {
    /// Starts `kind` in `ns` with config `conf_text`; files live in `dir` under `name`.
    pub fn start(kind: Impl, name: &str, ns: &Netns, dir: &TempDir, conf_text: &str) -> Self {
        Self::start_with(kind, name, ns, dir, conf_text, &[])
    }

    /// [`Daemon::start`] with extra command-line arguments.
    pub fn start_with(
        kind: Impl,
        name: &str,
        ns: &Netns,
        dir: &TempDir,
        conf_text: &str,
        extra: &[&str],
    ) -> Self {
        let conf = dir.write(&format!("{name}.conf"), conf_text);
        let log = dir.join(&format!("{name}.log"));
        let pid_file = dir.join(&format!("{name}.pid"));
        let mut d = Self {
            name: name.to_owned(),
            kind,
            child: None,
            log,
            conf,
            pid_file,
            extra: extra.iter().map(|s| s.to_string()).collect(),
        };
        d.spawn(ns, dir);
        d
    }

    fn spawn(&mut self, ns: &Netns, dir: &TempDir) {
        let out = File::options()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("log file");
        let err = out.try_clone().expect("dup log file");
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &ns.name]);
        match self.kind {
            Impl::Lbd => {
                cmd.arg(env!("CARGO_BIN_EXE_lbd"));
                cmd.args(["-n", "-l", "-D", "-P", "-f"])
                    .arg(&self.conf)
                    .arg("-p")
                    .arg(&self.pid_file);
                cmd.env("LBD_DUMP_FILE", self.dump_path());
                // One status socket per daemon: tests run in parallel.
                cmd.arg("--status-socket")
                    .arg(dir.join(&format!("{}.sock", self.name)));
                cmd.args(&self.extra);
            }
            Impl::Keepalived => {
                cmd.arg("/usr/sbin/keepalived");
                cmd.args(["-n", "-l", "-D", "--vrrp", "-f"]).arg(&self.conf);
                cmd.arg("-p").arg(&self.pid_file);
                cmd.arg("-r")
                    .arg(dir.join(&format!("{}.vrrp.pid", self.name)));
                cmd.arg("-c")
                    .arg(dir.join(&format!("{}.checkers.pid", self.name)));
            }
        }
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        self.child = Some(cmd.spawn().expect("spawn daemon"));
    }

    /// Where SIGUSR1 makes lbd write its state (the dump refuses /tmp, so under /run).
    pub fn dump_path(&self) -> PathBuf {
        PathBuf::from(format!(
            "/run/lbd-dmtest-{}/{}.json",
            std::process::id(),
            self.name
        ))
    }

    /// Starts it again after it exited or was killed (same config file, same log).
    pub fn restart(&mut self, ns: &Netns, dir: &TempDir) {
        assert!(!self.running(), "{} still running", self.name);
        self.spawn(ns, dir);
    }

    pub fn pid(&self) -> i32 {
        self.child
            .as_ref()
            .map(|c| c.id() as i32)
            .expect("daemon was started")
    }

    pub fn signal(&self, sig: i32) {
        // SAFETY: plain kill(2) on our own child.
        unsafe { libc::kill(self.pid(), sig) };
    }

    pub fn kill9(&mut self) {
        self.signal(libc::SIGKILL);
        self.wait_exit(Duration::from_secs(5));
    }

    pub fn running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Waits for the process to exit; returns its exit code (None if killed by a signal).
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let child = self.child.as_mut().expect("daemon was started");
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = child.try_wait().expect("try_wait") {
                return status.code();
            }
            if Instant::now() > deadline {
                panic!(
                    "{} did not exit within {timeout:?}\n{}",
                    self.name,
                    self.log_text()
                );
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Number of log lines containing `needle`.
    pub fn log_count(&self, needle: &str) -> usize {
        self.log_text()
            .lines()
            .filter(|l| l.contains(needle))
            .count()
    }

    pub fn replace_config(&self, text: &str) {
        fs::write(&self.conf, text).expect("rewrite config");
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let dump = self.dump_path();
        let _ = fs::remove_file(&dump);
        if let Some(dir) = dump.parent() {
            let _ = fs::remove_dir(dir);
        }
        if thread::panicking() {
            eprintln!(
                "===== log of {} ({:?}) =====\n{}",
                self.name,
                self.kind,
                self.log_text()
            );
        }
    }
}

/// Polls `cond` every 20 ms until it holds or `timeout` passes; returns the time it took.
/// On timeout panics with `what` (the daemons' guards then print their logs).
pub fn wait_for(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    loop {
        if cond() {
            return start.elapsed();
        }
        if start.elapsed() > timeout {
            panic!("timed out after {timeout:?} waiting for: {what}");
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// Asserts `cond` holds continuously for `dur` (e.g. "the VIP does not flap").
pub fn holds_for(what: &str, dur: Duration, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while start.elapsed() < dur {
        assert!(
            cond(),
            "condition broke after {:?}: {what}",
            start.elapsed()
        );
        thread::sleep(Duration::from_millis(20));
    }
}

/// One `vrrp_instance` of a generated keepalived.conf (the same text feeds lbd and keepalived).
#[derive(Debug, Clone)]
pub struct Instance {
    pub name: String,
    pub iface: String,
    pub vrid: u8,
    pub priority: u8,
    pub master: bool,
    /// "1" for v2, "0.2" etc. for v3.
    pub advert_int: String,
    pub version: u8,
    pub auth_pass: Option<String>,
    pub vips: Vec<String>,
    /// (unicast_src_ip, peers)
    pub unicast: Option<(String, Vec<String>)>,
    pub nopreempt: bool,
    /// Extra lines inside the block (track_script, notify, ...).
    pub extra: String,
}

impl Instance {
    pub fn new(name: &str, vrid: u8, priority: u8) -> Self {
        Self {
            name: name.to_owned(),
            iface: IF0.to_owned(),
            vrid,
            priority,
            master: false,
            advert_int: "0.2".to_owned(),
            version: 3,
            auth_pass: None,
            vips: vec!["192.0.2.100".to_owned()],
            unicast: None,
            nopreempt: false,
            extra: String::new(),
        }
    }

    pub fn render(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "vrrp_instance {} {{", self.name);
        let _ = writeln!(
            s,
            "    state {}",
            if self.master { "MASTER" } else { "BACKUP" }
        );
        let _ = writeln!(s, "    interface {}", self.iface);
        let _ = writeln!(s, "    virtual_router_id {}", self.vrid);
        let _ = writeln!(s, "    priority {}", self.priority);
        let _ = writeln!(s, "    advert_int {}", self.advert_int);
        let _ = writeln!(s, "    version {}", self.version);
        if self.nopreempt {
            let _ = writeln!(s, "    nopreempt");
        }
        if let Some(pass) = &self.auth_pass {
            let _ = writeln!(
                s,
                "    authentication {{\n        auth_type PASS\n        auth_pass {pass}\n    }}"
            );
        }
        if let Some((src, peers)) = &self.unicast {
            let _ = writeln!(s, "    unicast_src_ip {src}\n    unicast_peer {{");
            for p in peers {
                let _ = writeln!(s, "        {p}");
            }
            let _ = writeln!(s, "    }}");
        }
        let _ = writeln!(s, "    virtual_ipaddress {{");
        for v in &self.vips {
            let _ = writeln!(s, "        {v}");
        }
        let _ = writeln!(s, "    }}");
        s.push_str(&self.extra);
        let _ = writeln!(s, "}}");
        s
    }
}

/// A whole config: global_defs suited to tests plus the given blocks.
pub fn config(blocks: &[String]) -> String {
    // Short GARP settings keep keepalived quiet; script security off like the guides' configs.
    let mut s = String::from(
        "global_defs {\n    router_id dmtest\n    vrrp_garp_master_delay 1\n    vrrp_garp_master_repeat 1\n    script_user root\n}\n",
    );
    for b in blocks {
        s.push_str(b);
    }
    s
}

/// Path of a file the test writes into for scripts to test (`[ -f FILE ]`).
pub fn flag_file(dir: &TempDir, name: &str) -> PathBuf {
    dir.join(name)
}

pub fn touch(p: &Path) {
    fs::write(p, b"").expect("touch");
}
