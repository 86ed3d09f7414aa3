//! Shared helpers for the `sys_*` integration tests: two network namespaces
//! joined by a veth pair, removed on drop (also when a test panics).
//!
//! Names are `sy<tag>a` / `sy<tag>b` for the namespaces and `sy<tag>0` (in a) /
//! `sy<tag>1` (in b) for the veth ends; each test uses its own tag so tests can
//! run in parallel. Needs root; tests skip (with a message) otherwise.

#![allow(dead_code)]

use std::fs::File;
use std::os::fd::AsRawFd;
use std::process::Command;
use std::time::{Duration, Instant};

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Runs `ip` with arguments, panicking with its stderr on failure.
pub fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("run ip");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `ip` inside a namespace.
pub fn ip_in(ns: &str, args: &[&str]) {
    let mut full = vec!["-n", ns];
    full.extend_from_slice(args);
    ip(&full);
}

pub struct NetnsPair {
    pub a: String,
    pub b: String,
    /// veth end in `a`.
    pub if_a: String,
    /// veth end in `b`.
    pub if_b: String,
}

impl NetnsPair {
    /// Creates both namespaces and the veth pair, brings everything up and puts
    /// `192.0.2.1/24` + `2001:db8::1/64` on a, `.2` / `::2` on b (no DAD).
    pub fn new(tag: &str) -> Self {
        assert!(tag.len() <= 6, "tag too long for interface names");
        let pair = NetnsPair {
            a: format!("sy{tag}a"),
            b: format!("sy{tag}b"),
            if_a: format!("sy{tag}0"),
            if_b: format!("sy{tag}1"),
        };
        // Leftovers of an earlier crashed run.
        pair.remove();
        ip(&["netns", "add", &pair.a]);
        ip(&["netns", "add", &pair.b]);
        ip_in(
            &pair.a,
            &[
                "link", "add", &pair.if_a, "type", "veth", "peer", "name", &pair.if_b, "netns",
                &pair.b,
            ],
        );
        for (ns, ifname, last) in [(&pair.a, &pair.if_a, "1"), (&pair.b, &pair.if_b, "2")] {
            ip_in(ns, &["link", "set", "lo", "up"]);
            ip_in(ns, &["link", "set", ifname, "up"]);
            ip_in(
                ns,
                &["addr", "add", &format!("192.0.2.{last}/24"), "dev", ifname],
            );
            ip_in(
                ns,
                &[
                    "addr",
                    "add",
                    &format!("2001:db8::{last}/64"),
                    "dev",
                    ifname,
                    "nodad",
                ],
            );
        }
        pair.wait_ready();
        pair
    }

    /// Waits for the link-local addresses (DAD on them cannot be disabled by
    /// `nodad` on the global ones) so that IPv6 multicast has a source.
    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        for ns in [&self.a, &self.b] {
            loop {
                let out = Command::new("ip")
                    .args(["-n", ns, "-6", "addr", "show", "scope", "link"])
                    .output()
                    .expect("ip addr show");
                let text = String::from_utf8_lossy(&out.stdout);
                if text.contains("fe80") && !text.contains("tentative") {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "link-local address never ready in {ns}"
                );
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }

    fn remove(&self) {
        for ns in [&self.a, &self.b] {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
    }
}

impl Drop for NetnsPair {
    fn drop(&mut self) {
        self.remove();
    }
}

/// Runs `f` on a fresh thread that has entered namespace `ns`; sockets created
/// there stay in that namespace even when used from other threads afterwards.
pub fn in_netns<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || {
        let file = File::open(&path).expect("open netns");
        // SAFETY: setns on a namespace fd; affects only this thread.
        let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
        f()
    })
    .join()
    .unwrap_or_else(|e| std::panic::resume_unwind(e))
}

/// Polls `f` until it returns `Some` or `timeout` passes.
pub fn poll_until<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
