//! The daemon's health checks as an operator sees them: every attempt counted and timed on
//! `/metrics`, and MISC_CHECK scripts run as their configured user. A daemon with virtual
//! servers needs IPVS, which this machine's kernel lacks, so the test is `#[ignore]`d and
//! runs in the VM, in its own network namespace:
//!
//! ```text
//! export CARGO_TARGET_DIR=/work/target/vsrt
//! cargo build -p lbd && cargo test -p lbd --test vs_metrics --no-run   # prints the binary
//! testbed/vm-run -- /work/target/vsrt/debug/deps/vs_metrics-HASH --ignored --test-threads=1
//! ```

use std::fs;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

const LBD: &str = env!("CARGO_BIN_EXE_lbd");
const METRICS: &str = "127.0.0.1:9471";
/// Answers HTTP after this long: the probe duration the histogram must show.
const SLOW: Duration = Duration::from_millis(300);

/// A scratch directory, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("vsm-{name}-{}", std::process::id()));
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
            .args(["-n", "-l", "-C", "-f"])
            .arg(s.path("lbd.conf"))
            .arg("-p")
            .arg(s.path("lbd.pid"))
            .arg("--status-socket")
            .arg(s.path("status.sock"))
            .args(["--metrics", METRICS])
            .stdout(Stdio::null())
            .stderr(out)
            .spawn()
            .unwrap();
        Daemon { child, log }
    }
    fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether IPVS is here: then this thread moves to a fresh network namespace with `lo` and
/// the real servers' addresses up.
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
        vec!["addr", "add", "198.51.100.3/32", "dev", "lo"],
    ] {
        assert!(Command::new("ip").args(&args).status().unwrap().success());
    }
    true
}

/// `/metrics` as `name{labels} value` lines.
fn scrape() -> Vec<String> {
    let Ok(mut c) = std::net::TcpStream::connect(METRICS) else {
        return Vec::new();
    };
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    c.write_all(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut out = String::new();
    let _ = c.read_to_string(&mut out);
    out.lines()
        .filter(|l| l.starts_with("lbd_"))
        .map(str::to_owned)
        .collect()
}

/// The value of the sample named exactly `series` (name and labels), if present.
fn value(lines: &[String], series: &str) -> Option<f64> {
    lines
        .iter()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

fn labels(rs: &str, checker: &str) -> String {
    format!("virtual_server=\"[192.0.2.100]:tcp:80\",real_server=\"{rs}\",checker=\"{checker}\"")
}

#[test]
#[ignore = "needs IPVS: run in the VM (testbed/vm-run)"]
fn every_probe_is_counted_and_timed_and_misc_check_runs_as_its_user() {
    if !kernel() {
        return;
    }
    let s = Scratch::new("metrics");
    // The MISC_CHECK writes where nobody may write.
    let out = s.path("out");
    fs::create_dir_all(&out).unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&s.0, fs::Permissions::from_mode(0o755)).unwrap();
    fs::set_permissions(&out, fs::Permissions::from_mode(0o777)).unwrap();
    let uid_file = out.join("uid");

    // 198.51.100.1:80 answers TCP; 198.51.100.2:80 refuses; 198.51.100.3:8080 answers HTTP
    // after SLOW.
    let _tcp = TcpListener::bind("198.51.100.1:80").unwrap();
    let http = TcpListener::bind("198.51.100.3:8080").unwrap();
    thread::spawn(move || {
        for mut c in http.incoming().flatten() {
            thread::spawn(move || {
                let mut buf = [0u8; 1024];
                let _ = c.read(&mut buf);
                thread::sleep(SLOW);
                let _ = c.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok");
            });
        }
    });
    fs::write(
        s.path("lbd.conf"),
        format!(
            "virtual_server 192.0.2.100 80 {{\n delay_loop 1\n lb_algo rr\n protocol TCP\n\
             real_server 198.51.100.1 80 {{\n TCP_CHECK {{\n connect_timeout 1\n }}\n\
              MISC_CHECK {{\n misc_path \"/bin/sh -c 'id -u > {}'\"\n user nobody\n }}\n }}\n\
             real_server 198.51.100.2 80 {{\n TCP_CHECK {{\n connect_timeout 1\n retry 0\n }}\n }}\n\
             real_server 198.51.100.3 8080 {{\n HTTP_GET {{\n url {{\n path /\n }}\n\
              connect_timeout 2\n }}\n }}\n}}\n",
            uid_file.display()
        ),
    )
    .unwrap();
    let d = Daemon::start(&s);

    let ok = labels("198.51.100.1:80", "TCP_CHECK");
    let refused = labels("198.51.100.2:80", "TCP_CHECK");
    let slow = labels("198.51.100.3:8080", "HTTP_GET");
    let misc = labels("198.51.100.1:80", "MISC_CHECK");
    let want = |m: &[String]| {
        value(
            m,
            &format!("lbd_check_probes_total{{{ok},result=\"success\"}}"),
        ) >= Some(3.0)
            && value(
                m,
                &format!("lbd_check_probes_total{{{refused},result=\"connect\"}}"),
            ) >= Some(3.0)
            && value(m, &format!("lbd_check_duration_seconds_count{{{slow}}}")) >= Some(2.0)
            && value(
                m,
                &format!("lbd_check_probes_total{{{misc},result=\"success\"}}"),
            ) >= Some(1.0)
    };
    // Generous: under TCG on a loaded host this test has taken 96 s instead of 8.
    let deadline = Instant::now() + Duration::from_secs(90);
    let m = loop {
        let m = scrape();
        if want(&m) {
            break m;
        }
        assert!(
            Instant::now() < deadline,
            "metrics never got there:\n{}\n--- lbd log:\n{}",
            m.join("\n"),
            d.log()
        );
        thread::sleep(Duration::from_millis(250));
    };
    let all = m.join("\n");
    // Attempts, not verdict changes: the refused server went down once...
    assert_eq!(
        value(
            &m,
            &format!("lbd_check_results_total{{{refused},result=\"failure\"}}")
        ),
        Some(1.0),
        "{all}"
    );
    assert_eq!(
        value(&m, &format!("lbd_check_up{{{refused}}}")),
        Some(0.0),
        "{all}"
    );
    assert_eq!(
        value(&m, &format!("lbd_check_up{{{ok}}}")),
        Some(1.0),
        "{all}"
    );
    // ...and each attempt is timed from connect to verdict: the slow server's answers all
    // took more than 0.25 s and less than 1 s; the local TCP connects far less.
    let count = value(&m, &format!("lbd_check_duration_seconds_count{{{slow}}}")).unwrap();
    let bucket = |l: &str, le: &str| {
        value(
            &m,
            &format!("lbd_check_duration_seconds_bucket{{{l},le=\"{le}\"}}"),
        )
    };
    assert_eq!(bucket(&slow, "0.25"), Some(0.0), "{all}");
    assert_eq!(bucket(&slow, "1"), Some(count), "{all}");
    let tcp_count = value(&m, &format!("lbd_check_duration_seconds_count{{{ok}}}")).unwrap();
    assert_eq!(bucket(&ok, "0.1"), Some(tcp_count), "{all}");
    assert_eq!(
        value(&m, "lbd_check_probes_dropped_total"),
        Some(0.0),
        "{all}"
    );

    // The MISC_CHECK ran as nobody (read between two runs: `>` truncates the file before
    // `id` writes it).
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let uid = fs::read_to_string(&uid_file).unwrap();
        if !uid.is_empty() {
            assert_eq!(uid, "65534\n");
            break;
        }
        assert!(Instant::now() < deadline, "the MISC_CHECK wrote nothing");
        thread::sleep(Duration::from_millis(50));
    }
}
