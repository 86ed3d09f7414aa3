//! Operating lbd end to end: `--metrics` scraped over HTTP from inside the daemon's network
//! namespace, `lbd status` over the Unix socket (text, JSON, no daemon, stale socket), and the
//! systemd notify protocol against a fake `$NOTIFY_SOCKET`. Needs root.
//!
//! Two namespaces `op..a` / `op..b` joined by a veth pair `op0`, removed by a guard (also when a
//! test panics). Every wait polls with a deadline.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::io::AsRawFd;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

const S: Duration = Duration::from_secs(1);
const IF: &str = "op0";
const METRICS: &str = "127.0.0.1:9650";

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("run ip");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Two namespaces on one veth pair: a is 192.0.2.1, b 192.0.2.2, both on `op0`.
struct Net {
    a: String,
    b: String,
}

impl Net {
    fn new(prefix: &str) -> Self {
        assert!(prefix.starts_with("op"));
        // SAFETY: geteuid has no preconditions.
        assert_eq!(unsafe { libc::geteuid() }, 0, "needs root (namespaces)");
        let net = Net {
            a: format!("{prefix}a"),
            b: format!("{prefix}b"),
        };
        for ns in [&net.a, &net.b] {
            let _ = Command::new("ip")
                .args(["netns", "del", ns])
                .stderr(Stdio::null())
                .status();
            ip(&["netns", "add", ns]);
            ip(&["-n", ns, "link", "set", "lo", "up"]);
        }
        ip(&[
            "-n", &net.a, "link", "add", IF, "type", "veth", "peer", "name", IF, "netns", &net.b,
        ]);
        for (ns, addr) in [(&net.a, "192.0.2.1/24"), (&net.b, "192.0.2.2/24")] {
            ip(&["-n", ns, "addr", "add", addr, "dev", IF]);
            ip(&["-n", ns, "link", "set", IF, "up"]);
        }
        net
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        for ns in [&self.a, &self.b] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

/// A directory removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Self {
        let p = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).unwrap();
        Dir(p)
    }
    fn join(&self, s: &str) -> PathBuf {
        self.0.join(s)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// lbd in a namespace, killed on drop; its log is printed if the test fails.
struct Lbd {
    name: String,
    child: Option<Child>,
    log: PathBuf,
    args: Vec<String>,
    ns: String,
    env: Vec<(String, String)>,
}

impl Lbd {
    fn start(ns: &str, dir: &Dir, name: &str, conf: &str, extra: &[&str]) -> Self {
        Self::start_env(ns, dir, name, conf, extra, &[])
    }

    fn start_env(
        ns: &str,
        dir: &Dir,
        name: &str,
        conf: &str,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Self {
        let conf_path = dir.join(&format!("{name}.conf"));
        fs::write(&conf_path, conf).unwrap();
        let mut args: Vec<String> = ["-n", "-l", "-D", "-P", "-f"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        args.push(conf_path.display().to_string());
        args.push("-p".into());
        args.push(dir.join(&format!("{name}.pid")).display().to_string());
        args.extend(extra.iter().map(|s| s.to_string()));
        let mut d = Lbd {
            name: name.into(),
            child: None,
            log: dir.join(&format!("{name}.log")),
            args,
            ns: ns.into(),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        d.spawn();
        d
    }

    fn spawn(&mut self) {
        let out = File::options()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let err = out.try_clone().unwrap();
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.ns, env!("CARGO_BIN_EXE_lbd")])
            .args(&self.args)
            .env(
                "LBD_DUMP_FILE",
                format!("/run/lbd-optest-{}.json", self.name),
            )
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        self.child = Some(cmd.spawn().expect("spawn lbd"));
    }

    fn pid(&self) -> i32 {
        self.child.as_ref().map(|c| c.id() as i32).unwrap()
    }

    fn signal(&self, sig: i32) {
        // SAFETY: kill(2) on our own child.
        unsafe { libc::kill(self.pid(), sig) };
    }

    fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let child = self.child.as_mut().unwrap();
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(st) = child.try_wait().unwrap() {
                return st.code();
            }
            assert!(Instant::now() < deadline, "{} did not exit", self.name);
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Lbd {
    fn drop(&mut self) {
        if let Some(c) = self.child.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
        if thread::panicking() {
            eprintln!("===== log of {} =====\n{}", self.name, self.log_text());
        }
    }
}

fn wait_for(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < timeout, "timed out waiting for: {what}");
        thread::sleep(Duration::from_millis(50));
    }
}

/// Runs `f` on a thread that joined namespace `ns` (setns affects only the calling thread).
fn in_netns<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let path = format!("/run/netns/{ns}");
    thread::spawn(move || {
        let fd = File::open(&path).expect("open netns");
        // SAFETY: a valid namespace fd; only this thread moves.
        let rc = unsafe { libc::setns(fd.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns {path}");
        f()
    })
    .join()
    .expect("netns thread")
}

/// Sends `request` to the metrics endpoint inside `ns`, returns the whole response.
fn http(ns: &str, request: &'static [u8]) -> String {
    in_netns(ns, move || {
        let mut s = TcpStream::connect(METRICS).expect("connect metrics");
        s.set_read_timeout(Some(5 * S)).unwrap();
        s.write_all(request).unwrap();
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        String::from_utf8(out).expect("utf-8 response")
    })
}

/// Scrapes `/metrics` and parses the samples: `name{labels}` -> value.
fn scrape(ns: &str) -> BTreeMap<String, f64> {
    let resp = http(ns, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    let (head, body) = resp.split_once("\r\n\r\n").expect("response head");
    assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
    assert!(
        head.contains("Content-Type: text/plain; version=0.0.4"),
        "{head}"
    );
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .expect("content length")
        .parse()
        .unwrap();
    assert_eq!(len, body.len(), "body length");
    let mut out = BTreeMap::new();
    let mut families = Vec::new();
    for line in body.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let name = rest.split(' ').next().unwrap().to_owned();
            assert!(!families.contains(&name), "family {name} twice");
            families.push(name);
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let (key, value) = line.rsplit_once(' ').expect("sample line");
        let fam = families.last().expect("sample before # TYPE");
        assert!(
            key.starts_with(fam.as_str()),
            "{key} outside its family {fam}"
        );
        out.insert(key.to_owned(), value.parse::<f64>().expect("value"));
    }
    out
}

fn metric(m: &BTreeMap<String, f64>, key: &str) -> f64 {
    *m.get(key)
        .unwrap_or_else(|| panic!("no sample {key} in {m:#?}"))
}

fn status_cmd(sock: &Path, json: bool) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lbd"));
    cmd.arg("status").arg("--socket").arg(sock);
    if json {
        cmd.arg("--json");
    }
    cmd.output().expect("run lbd status")
}

fn status_json(sock: &Path) -> Option<serde_json::Value> {
    let out = status_cmd(sock, true);
    out.status
        .success()
        .then(|| serde_json::from_slice(&out.stdout).expect("status JSON"))
}

fn instance<'a>(st: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    st["instances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == name)
        .unwrap_or_else(|| panic!("no instance {name} in {st:#}"))
}

/// VI_1 (v3, A preferred, with a script adding 20) and VI_2 (v2, passwords that differ on
/// purpose: each side drops the other's adverts as `auth_mismatch`).
fn config(prio: u8, pass: &str) -> String {
    format!(
        "global_defs {{
    router_id optest
    script_user root
    vrrp_garp_master_delay 1
    vrrp_garp_master_repeat 1
}}
vrrp_script chk_up {{
    script \"/bin/true\"
    interval 1
}}
vrrp_instance VI_1 {{
    state BACKUP
    interface {IF}
    virtual_router_id 61
    priority {prio}
    advert_int 0.2
    version 3
    track_script {{
        chk_up weight 20
    }}
    virtual_ipaddress {{
        192.0.2.100/32
    }}
}}
vrrp_instance VI_2 {{
    state BACKUP
    interface {IF}
    virtual_router_id 62
    priority 100
    advert_int 1
    version 2
    authentication {{
        auth_type PASS
        auth_pass {pass}
    }}
    virtual_ipaddress {{
        192.0.2.101/32
    }}
}}
"
    )
}

#[test]
fn metrics_and_status_end_to_end() {
    let net = Net::new("opms");
    let dir = Dir::new("opms");
    let (sock_a, sock_b) = (dir.join("a.sock"), dir.join("b.sock"));
    let sa = sock_a.display().to_string();
    let sb = sock_b.display().to_string();
    let mut a = Lbd::start(
        &net.a,
        &dir,
        "a",
        &config(150, "pass_a"),
        &["--metrics", METRICS, "--status-socket", &sa],
    );
    let mut b = Lbd::start(
        &net.b,
        &dir,
        "b",
        &config(100, "pass_b"),
        &["--metrics", METRICS, "--status-socket", &sb],
    );

    // Status over the socket: A is master at 150 + 20, B follows it.
    wait_for("A master at 170, B backup", 15 * S, || {
        let (Some(sta), Some(stb)) = (status_json(&sock_a), status_json(&sock_b)) else {
            return false;
        };
        let (ia, ib) = (instance(&sta, "VI_1"), instance(&stb, "VI_1"));
        ia["state"] == "MASTER"
            && ia["effective_priority"] == 170
            && ib["state"] == "BACKUP"
            && ib["master"]["address"] == "192.0.2.1"
            && ib["master"]["priority"] == 170
    });
    assert_eq!(
        fs::metadata(&sock_a).unwrap().permissions().mode() & 0o777,
        0o600,
        "status socket is root only"
    );
    let sta = status_json(&sock_a).unwrap();
    let ia = instance(&sta, "VI_1");
    assert_eq!(ia["base_priority"], 150);
    // The instance's own interface (weight 0) and the script.
    let terms = ia["priority_terms"].as_array().unwrap();
    assert_eq!(terms.len(), 2, "{ia:#}");
    let own = &terms[0];
    assert_eq!(own["tracker"], "interface op0");
    assert_eq!(
        (own["weight"].as_i64(), own["faulting"].as_bool()),
        (Some(0), Some(false))
    );
    let term = &terms[1];
    assert_eq!(term["tracker"], "script chk_up");
    assert_eq!(term["state"], "up");
    assert_eq!(term["contribution"], 20);
    assert_eq!(ia["master"]["is_self"], true);
    assert_eq!(ia["last_transition"]["to"], "MASTER");
    assert!(ia["transitions"].as_u64().unwrap() >= 2, "{ia:#}");
    assert!(sta["virtual_servers"].is_null(), "no fake virtual servers");

    let text = status_cmd(&sock_b, false);
    assert!(text.status.success());
    let text = String::from_utf8(text.stdout).unwrap();
    eprintln!("----- lbd status (b) -----\n{text}");
    assert!(
        text.contains("VI_1         BACKUP  op0 inet VRID 61 v3"),
        "{text}"
    );
    assert!(
        text.contains(
            "priority   120 = base 100 +20 (script chk_up up, weight 20); \
             interface op0 up (FAULT when down)"
        ),
        "{text}"
    );
    assert!(text.contains("master     192.0.2.1 priority 170"), "{text}");
    assert!(text.contains("(not managed by this daemon)"), "{text}");

    // Metrics: state, priority, counters that move.
    let m1 = scrape(&net.a);
    eprintln!("----- /metrics (a) -----");
    for (k, v) in &m1 {
        eprintln!("{k} {v}");
    }
    let vi1 = "{instance=\"VI_1\"}";
    assert_eq!(
        metric(
            &m1,
            "lbd_vrrp_state{instance=\"VI_1\",interface=\"op0\",state=\"MASTER\"}"
        ),
        1.0
    );
    assert_eq!(
        metric(
            &m1,
            "lbd_vrrp_state{instance=\"VI_1\",interface=\"op0\",state=\"BACKUP\"}"
        ),
        0.0
    );
    assert_eq!(metric(&m1, &format!("lbd_vrrp_priority{vi1}")), 170.0);
    assert_eq!(metric(&m1, &format!("lbd_vrrp_base_priority{vi1}")), 150.0);
    assert!(metric(&m1, &format!("lbd_vrrp_transitions_total{vi1}")) >= 2.0);
    assert_eq!(metric(&m1, &format!("lbd_vrrp_vips_installed{vi1}")), 1.0);
    assert!(
        !m1.keys()
            .any(|k| k.starts_with("lbd_check") || k.starts_with("lbd_ipvs")),
        "no placeholder series"
    );
    let mb1 = scrape(&net.b);
    thread::sleep(S);
    let m2 = scrape(&net.a);
    let mb2 = scrape(&net.b);
    let sent = format!("lbd_vrrp_adverts_sent_total{vi1}");
    let recv = format!("lbd_vrrp_adverts_received_total{vi1}");
    assert!(
        metric(&m2, &sent) >= metric(&m1, &sent) + 3.0,
        "A sends every 0.2 s"
    );
    assert!(
        metric(&mb2, &recv) >= metric(&mb1, &recv) + 3.0,
        "B receives them"
    );
    // VI_2: each side rejects the other's password.
    let auth = "lbd_vrrp_packets_dropped_total{reason=\"auth_mismatch\"}";
    wait_for("auth mismatches counted", 10 * S, || {
        scrape(&net.a).get(auth).copied().unwrap_or(0.0) >= 2.0
    });
    let m = scrape(&net.a);
    let vi2 = "lbd_vrrp_adverts_dropped_total{instance=\"VI_2\",reason=\"auth_mismatch\"}";
    assert!(metric(&m, vi2) >= 2.0);
    assert!(
        !m.contains_key(
            "lbd_vrrp_adverts_dropped_total{instance=\"VI_1\",reason=\"auth_mismatch\"}"
        ),
        "VI_1 (v3, no auth) drops nothing"
    );
    let sta = status_json(&sock_a).unwrap();
    let dropped = &instance(&sta, "VI_2")["dropped_by_reason"]["auth_mismatch"];
    assert!(dropped.as_u64().unwrap() >= 2, "{sta:#}");
    let text = String::from_utf8(status_cmd(&sock_a, false).stdout).unwrap();
    assert!(text.contains("(auth_mismatch "), "{text}");
    eprintln!("----- lbd status (a) -----\n{text}");

    // The responder: errors, HEAD, oversized and silent clients do not hurt the loop.
    let r = http(&net.a, b"GET /nope HTTP/1.1\r\n\r\n");
    assert!(r.starts_with("HTTP/1.1 404 Not Found"), "{r}");
    let r = http(&net.a, b"HEAD /metrics HTTP/1.1\r\n\r\n");
    assert!(
        r.starts_with("HTTP/1.1 200 OK") && r.ends_with("\r\n\r\n"),
        "{r}"
    );
    let r = in_netns(&net.a, || {
        let mut s = TcpStream::connect(METRICS).unwrap();
        s.set_read_timeout(Some(5 * S)).unwrap();
        let big = vec![b'a'; 20_000];
        let _ = s.write_all(b"GET /metrics HTTP/1.1\r\nX: ");
        let _ = s.write_all(&big);
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    });
    assert!(r.starts_with("HTTP/1.1 431"), "{r}");
    let took = in_netns(&net.a, || {
        let silent: Vec<TcpStream> = (0..3)
            .map(|_| TcpStream::connect(METRICS).unwrap())
            .collect();
        let start = Instant::now();
        let mut s = TcpStream::connect(METRICS).unwrap();
        s.set_read_timeout(Some(5 * S)).unwrap();
        s.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").unwrap();
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        assert!(out.starts_with(b"HTTP/1.1 200 OK"));
        drop(silent);
        start.elapsed()
    });
    assert!(took < S, "a scrape next to silent clients took {took:?}");

    // SIGTERM: A exits 0 and removes its socket; `lbd status` then says so plainly.
    a.signal(libc::SIGTERM);
    assert_eq!(a.wait_exit(10 * S), Some(0));
    assert!(!sock_a.exists(), "socket removed on exit");
    let out = status_cmd(&sock_a, false);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!("lbd status: no daemon listening on {sa}\n")
    );

    // kill -9 leaves B's socket behind: `lbd status` sees nobody listening, and a new B
    // replaces the stale file.
    b.signal(libc::SIGKILL);
    b.wait_exit(5 * S);
    assert!(sock_b.exists(), "a killed daemon leaves its socket");
    let out = status_cmd(&sock_b, false);
    assert_eq!(out.status.code(), Some(1), "stale socket: no daemon");
    b.spawn();
    wait_for("restarted B answers on the same path", 10 * S, || {
        status_json(&sock_b).is_some()
    });
    assert!(b.log_text().contains("removing stale status socket"));
}

/// Collects datagrams from the fake `$NOTIFY_SOCKET` until `pred` holds.
fn recv_until(
    sock: &UnixDatagram,
    got: &mut Vec<String>,
    timeout: Duration,
    pred: impl Fn(&[String]) -> bool,
) {
    let deadline = Instant::now() + timeout;
    let mut buf = [0u8; 4096];
    while !pred(got) {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "notify messages so far: {got:?}");
        sock.set_read_timeout(Some(left)).unwrap();
        if let Ok(n) = sock.recv(&mut buf) {
            got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
    }
}

#[test]
fn systemd_notify_watchdog_and_journal_logs() {
    let net = Net::new("opsd");
    let dir = Dir::new("opsd");
    let notify_path = dir.join("notify.sock");
    let notify = UnixDatagram::bind(&notify_path).unwrap();
    // Make lbd believe stderr is the journal: JOURNAL_STREAM names its log file.
    let log = dir.join("a.log");
    File::create(&log).unwrap();
    let meta = fs::metadata(&log).unwrap();
    let journal = format!("{}:{}", meta.dev(), meta.ino());
    let np = notify_path.display().to_string();
    let sock = dir.join("a.sock").display().to_string();
    let mut a = Lbd::start_env(
        &net.a,
        &dir,
        "a",
        &config(150, "x"),
        &["--status-socket", &sock],
        &[
            ("NOTIFY_SOCKET", &np),
            ("WATCHDOG_USEC", "400000"),
            ("JOURNAL_STREAM", &journal),
        ],
    );
    let start = Instant::now();
    let mut got = Vec::new();
    recv_until(&notify, &mut got, 10 * S, |g| {
        g.iter().any(|m| m.starts_with("READY=1"))
    });
    assert!(
        got[0].starts_with("READY=1\nSTATUS=running 2 VRRP instance(s)"),
        "{got:?}"
    );
    // Half of 0.4 s: several pings within a second.
    let pings_before = got.iter().filter(|m| *m == "WATCHDOG=1").count();
    recv_until(&notify, &mut got, 5 * S, |g| {
        g.iter().filter(|m| *m == "WATCHDOG=1").count() >= pings_before + 4
    });
    eprintln!("READY and 4 watchdog pings within {:?}", start.elapsed());

    a.signal(libc::SIGHUP);
    recv_until(&notify, &mut got, 10 * S, |g| {
        g.iter()
            .position(|m| m.starts_with("RELOADING=1\nMONOTONIC_USEC="))
            .is_some_and(|i| g[i..].iter().any(|m| m.starts_with("READY=1")))
    });
    a.signal(libc::SIGTERM);
    recv_until(&notify, &mut got, 10 * S, |g| {
        g.iter().any(|m| m == "STOPPING=1")
    });
    assert_eq!(a.wait_exit(10 * S), Some(0));

    let text = a.log_text();
    assert!(
        text.lines()
            .any(|l| l.starts_with("<6>") && l.ends_with("(VI_1) Entering MASTER STATE")),
        "{text}"
    );
    assert!(
        text.lines().all(|l| l.starts_with('<')),
        "journal lines carry a priority and no timestamp:\n{text}"
    );
}
