mod common;

use std::io::Write;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use healthcheck::{CheckKind, CheckSpec, Endpoint, FailureKind, SmtpConfig, Timing};

fn smtp_spec(hosts: &[SocketAddr], timeout: Duration) -> CheckSpec {
    CheckSpec {
        kind: CheckKind::Smtp(SmtpConfig {
            hosts: hosts.iter().copied().map(Endpoint::new).collect(),
            connect_timeout: timeout,
            helo_name: "lb.example.test".into(),
        }),
        timing: Timing::new(Duration::from_secs(1)),
    }
}

fn aiosmtpd() -> (ChildGuard, SocketAddr) {
    let port = free_port();
    let child = Command::new("/usr/bin/python3")
        .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let guard = ChildGuard(child);
    wait_tcp(addr, Duration::from_secs(15));
    (guard, addr)
}

#[test]
fn aiosmtpd_passes_and_every_host_must_pass() {
    let (_guard, addr) = aiosmtpd();
    assert_up(&attempt(&smtp_spec(&[addr], Duration::from_secs(3))).0);
    assert_up(&attempt(&smtp_spec(&[addr, addr], Duration::from_secs(3))).0);
    let closed = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let (o, _) = attempt(&smtp_spec(&[addr, closed], Duration::from_secs(3)));
    let msg = assert_down(
        &o,
        FailureKind::Connect,
        "SMTP_CHECK Error connecting to server [127.0.0.1]:tcp:",
    );
    assert!(msg.contains(&format!(":tcp:{}", closed.port())), "{msg}");
}

#[test]
fn multiline_banner_and_bad_replies() {
    let good = Server::start(|mut s| {
        let _ = s.write_all(b"220-first line\r\n220-second\r\n220 ready\r\n");
        let mut r = std::io::BufReader::new(s.try_clone().unwrap());
        let mut line = String::new();
        use std::io::BufRead;
        let _ = r.read_line(&mut line);
        assert!(line.starts_with("HELO lb.example.test"), "{line}");
        let _ = s.write_all(b"250-hello\r\n250 ok\r\n");
        line.clear();
        let _ = r.read_line(&mut line);
        let _ = s.write_all(b"221 bye\r\n");
    });
    assert_up(&attempt(&smtp_spec(&[good.addr], Duration::from_secs(2))).0);

    let busy = Server::start(|mut s| {
        let _ = s.write_all(b"554 no service\r\n");
    });
    let (o, _) = attempt(&smtp_spec(&[busy.addr], Duration::from_secs(2)));
    assert_down(
        &o,
        FailureKind::Protocol,
        "SMTP_CHECK Bad greeting banner from server [127.0.0.1]:tcp:",
    );
    assert_down(
        &o,
        FailureKind::Protocol,
        "(bad server greeting (code 554))",
    );

    let mute = Server::start(|s| {
        std::thread::sleep(Duration::from_secs(3));
        drop(s);
    });
    let t = Duration::from_millis(600);
    let (o, elapsed) = attempt(&smtp_spec(&[mute.addr], t));
    assert_down(
        &o,
        FailureKind::ReadTimeout,
        "Timeout reading data from SMTP server [127.0.0.1]:tcp:",
    );
    assert!(
        elapsed >= t && elapsed < t + Duration::from_millis(400),
        "{elapsed:?}"
    );

    let http = Server::start(|mut s| {
        let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
    });
    let (o, _) = attempt(&smtp_spec(&[http.addr], Duration::from_secs(2)));
    assert_down(&o, FailureKind::Protocol, "Bad greeting banner");
    assert_down(&o, FailureKind::Protocol, "malformed SMTP reply line");
}
