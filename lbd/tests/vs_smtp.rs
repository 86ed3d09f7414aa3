//! The checker side of `smtp_alert` against a real IPVS and a real SMTP server (Debian's
//! python3-aiosmtpd, printing what it receives): a real server going down and back up is
//! mailed with keepalived's subjects and bodies, and so is the quorum of a virtual server
//! that asks for it. Needs IPVS, so it is `#[ignore]`d and run in the VM:
//!
//! ```text
//! cargo build -p lbd && cargo test -p lbd --test vs_smtp --no-run   # prints the binary
//! testbed/vm-run -- /abs/path/to/vs_smtp-HASH --ignored --test-threads=1
//! ```

use std::fs;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

const LBD: &str = env!("CARGO_BIN_EXE_lbd");
const RS: &str = "198.51.100.1";
const RS_PORT: u16 = 8001;
const SMTP_PORT: u16 = 2525;

/// A scratch directory for one test, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("vs-smtp-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
    fn path(&self, f: &str) -> PathBuf {
        self.0.join(f)
    }
    fn read(&self, f: &str) -> String {
        fs::read_to_string(self.path(f)).unwrap_or_default()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A child process (lbd, the SMTP sink), killed on drop.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(s: &Scratch, log: &str, argv: &[&str]) -> Proc {
    let out = fs::File::create(s.path(log)).unwrap();
    let err = out.try_clone().unwrap();
    let child = Command::new(argv[0])
        .args(&argv[1..])
        .env("LBD_DUMP_FILE", s.path("dump.json"))
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap();
    Proc(child)
}

/// Whether IPVS is here: then this thread moves to a fresh network namespace with `lo` and the
/// real server's address up (children inherit it).
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
    ] {
        assert!(Command::new("ip").args(&args).status().unwrap().success());
    }
    true
}

fn wait_until(what: &str, secs: u64, s: &Scratch, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}\n--- smtpd:\n{}\n--- lbd:\n{}",
            s.read("smtpd.log"),
            s.read("lbd.log")
        );
        thread::sleep(Duration::from_millis(100));
    }
}

/// The mails the sink printed, in order: (subject, the whole message).
fn mails(s: &Scratch) -> Vec<(String, String)> {
    s.read("smtpd.log")
        .split("---------- MESSAGE FOLLOWS ----------")
        .skip(1)
        .map(|m| {
            let subject = m
                .lines()
                .find_map(|l| l.strip_prefix("Subject: "))
                .unwrap_or_default()
                .to_owned();
            (subject, m.to_owned())
        })
        .collect()
}

fn has_mail(s: &Scratch, subject: &str, body: &str) -> bool {
    mails(s)
        .iter()
        .any(|(sub, m)| sub == subject && m.contains(body))
}

#[test]
#[ignore = "needs IPVS: run in the VM (testbed/vm-run)"]
fn a_real_server_down_and_up_is_mailed_as_keepalived_mails_it() {
    if !kernel() {
        return;
    }
    let s = Scratch::new("rs");
    let listen = format!("127.0.0.1:{SMTP_PORT}");
    let _sink = spawn(
        &s,
        "smtpd.log",
        &[
            "/usr/bin/python3",
            "-u",
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            &listen,
            "-c",
            "aiosmtpd.handlers.Debugging",
        ],
    );
    wait_until("the SMTP sink to listen", 20, &s, || {
        TcpStream::connect(("127.0.0.1", SMTP_PORT)).is_ok()
    });
    // The real server mails by default (keepalived's compatibility default); the virtual
    // server only because it says so.
    fs::write(
        s.path("lbd.conf"),
        format!(
            "global_defs {{\n router_id cktest\n notification_email {{\n  ops@example.org\n }}\n \
             notification_email_from lbd@example.org\n smtp_server 127.0.0.1 {SMTP_PORT}\n \
             smtp_connect_timeout 5\n}}\n\
             virtual_server 192.0.2.100 80 {{\n delay_loop 1\n lb_algo rr\n lb_kind NAT\n protocol TCP\n smtp_alert\n \
             real_server {RS} {RS_PORT} {{\n  TCP_CHECK {{\n   connect_timeout 1\n   retry 0\n  }}\n }}\n}}\n"
        ),
    )
    .unwrap();
    let listener = TcpListener::bind((RS, RS_PORT)).unwrap();
    let conf = s.path("lbd.conf");
    let pid = s.path("lbd.pid");
    let sock = s.path("status.sock");
    let _lbd = spawn(
        &s,
        "lbd.log",
        &[
            LBD,
            "-n",
            "-l",
            "-D",
            "-f",
            conf.to_str().unwrap(),
            "-p",
            pid.to_str().unwrap(),
            "--status-socket",
            sock.to_str().unwrap(),
        ],
    );

    let rs = format!("[{RS}]:tcp:{RS_PORT}");
    let vs = "[192.0.2.100]:tcp:80";
    wait_until("the quorum mail at start", 20, &s, || {
        has_mail(
            &s,
            &format!("[cktest] Virtualserver {vs} - UP"),
            "=> Starting with quorum up 1+0=1 <= 1 <=",
        )
    });

    drop(listener);
    let down = format!("[cktest] Realserver {rs} of virtual server {vs} - DOWN");
    wait_until("the DOWN mail", 20, &s, || {
        has_mail(&s, &down, "=> TCP CHECK failed on service <=")
    });
    wait_until("the lost quorum mail", 10, &s, || {
        has_mail(
            &s,
            &format!("[cktest] Virtualserver {vs} - DOWN"),
            "=> Lost quorum 1+0=1 <= 0 <=",
        )
    });

    let _listener = TcpListener::bind((RS, RS_PORT)).unwrap();
    let up = format!("[cktest] Realserver {rs} of virtual server {vs} - UP");
    wait_until("the UP mail", 20, &s, || {
        has_mail(&s, &up, "=> TCP CHECK succeed on service <=")
    });
    wait_until("the gained quorum mail", 10, &s, || {
        has_mail(
            &s,
            &format!("[cktest] Virtualserver {vs} - UP"),
            "=> Gained quorum 1+0=1 <= 1 <=",
        )
    });
    let all = mails(&s);
    let (_, m) = all.iter().find(|(sub, _)| *sub == down).unwrap();
    for header in [
        "From: lbd@example.org",
        "To: ops@example.org",
        "X-Mailer: Keepalived",
    ] {
        assert!(m.contains(header), "{header:?} missing from\n{m}");
    }
    // One mail per event: nothing was sent twice.
    assert_eq!(all.len(), 5, "{all:#?}");
    println!("mails received:");
    for (sub, _) in &all {
        println!("  {sub}");
    }
}
