//! Helpers of the `sm` tests (smtp_alert, track_file weights): one namespace with a veth pair,
//! processes and directories removed by guards, also when a test fails.

#![allow(dead_code)] // each test binary uses a different part

use std::fs::{self, File};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// A namespace with a veth pair (smv0 holds 192.0.2.1/24), deleted on drop.
pub struct Netns(pub &'static str);

impl Netns {
    pub fn new(name: &'static str) -> Self {
        let _ = Command::new("ip")
            .args(["netns", "del", name])
            .stderr(Stdio::null())
            .status();
        ip(&["netns", "add", name]);
        let ns = Self(name);
        ip(&["-n", name, "link", "set", "lo", "up"]);
        ip(&[
            "-n", name, "link", "add", "smv0", "type", "veth", "peer", "name", "smv1",
        ]);
        ip(&["-n", name, "addr", "add", "192.0.2.1/24", "dev", "smv0"]);
        ip(&["-n", name, "link", "set", "smv0", "up"]);
        ip(&["-n", name, "link", "set", "smv1", "up"]);
        ns
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", self.0]).status();
    }
}

pub fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A child process killed on drop.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A scratch directory removed on drop.
pub struct Dir(pub PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Runs `cmd ARGS` inside the namespace, output to `log`.
pub fn spawn_in_ns(ns: &Netns, log: &PathBuf, argv: &[&str], env: &[(&str, String)]) -> Proc {
    let out = File::create(log).unwrap();
    let err = out.try_clone().unwrap();
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", ns.0]).args(argv);
    for (k, v) in env {
        cmd.env(k, v);
    }
    Proc(
        cmd.stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap(),
    )
}

pub fn wait_for(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(50));
    }
}
