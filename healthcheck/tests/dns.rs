mod common;

use std::net::{SocketAddr, UdpSocket};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use healthcheck::dns::{encode_query, RecordType};
use healthcheck::{CheckKind, CheckSpec, DnsConfig, Endpoint, FailureKind, Timing};

fn dns_spec(addr: SocketAddr, name: &str, qtype: RecordType, timeout: Duration) -> CheckSpec {
    CheckSpec {
        kind: CheckKind::Dns(Box::new(DnsConfig {
            endpoint: Endpoint::new(addr),
            connect_timeout: timeout,
            name: name.into(),
            qtype,
        })),
        timing: Timing::dns(Duration::from_secs(1)),
    }
}

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// dnsmasq answering x.test with 192.0.2.1, on a free port, state under a temp dir.
fn dnsmasq() -> (ChildGuard, SocketAddr, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("hc-dns-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let port = free_udp_port();
    let child = Command::new("dnsmasq")
        .args([
            "--no-daemon",
            &format!("--port={port}"),
            "--listen-address=127.0.0.1",
            "--bind-interfaces",
            "--no-resolv",
            "--no-hosts",
            "--address=/x.test/192.0.2.1",
            &format!("--pid-file={}", dir.join("dnsmasq.pid").display()),
            &format!("--dhcp-leasefile={}", dir.join("leases").display()),
            "--user=root",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let guard = ChildGuard(child);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    // Wait until it answers.
    let probe = UdpSocket::bind("127.0.0.1:0").unwrap();
    probe
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let q = encode_query(1, "x.test", RecordType::A).unwrap();
    let start = Instant::now();
    let mut buf = [0u8; 512];
    loop {
        let _ = probe.send_to(&q, addr);
        if probe.recv(&mut buf).is_ok() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "dnsmasq did not start"
        );
    }
    (guard, addr, dir)
}

#[test]
fn dnsmasq_answers_and_refuses() {
    let (_guard, addr, dir) = dnsmasq();
    let t = Duration::from_secs(2);
    assert_up(&attempt(&dns_spec(addr, "x.test", RecordType::A, t)).0);
    assert_up(&attempt(&dns_spec(addr, "X.Test.", RecordType::A, t)).0);
    // Not local and no upstream: dnsmasq answers with a non-zero RCODE.
    let (o, _) = attempt(&dns_spec(addr, "y.invalid", RecordType::Soa, t));
    assert_down(&o, FailureKind::Dns, "RCODE");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn no_server_and_silent_server() {
    let closed = SocketAddr::from(([127, 0, 0, 1], free_udp_port()));
    let (o, elapsed) = attempt(&dns_spec(
        closed,
        "x.test",
        RecordType::A,
        Duration::from_secs(2),
    ));
    assert_down(
        &o,
        FailureKind::Connect,
        "DNS_CHECK to server [127.0.0.1]:udp:",
    );
    assert!(elapsed < Duration::from_secs(1));

    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let t = Duration::from_millis(500);
    let (o, elapsed) = attempt(&dns_spec(
        silent.local_addr().unwrap(),
        ".",
        RecordType::Soa,
        t,
    ));
    assert_down(&o, FailureKind::ReadTimeout, "timeout reading data");
    assert!(elapsed >= t && elapsed < t + Duration::from_millis(300));
}

#[test]
fn garbage_answer_is_down() {
    let srv = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = srv.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 512];
        if let Ok((n, peer)) = srv.recv_from(&mut buf) {
            // Same id, QR set, but a different question.
            let mut reply = encode_query(
                u16::from_be_bytes([buf[0], buf[1]]),
                "other.test",
                RecordType::A,
            )
            .unwrap();
            reply[2] |= 0x80;
            let _ = n;
            let _ = srv.send_to(&reply, peer);
        }
    });
    let (o, _) = attempt(&dns_spec(
        addr,
        "x.test",
        RecordType::A,
        Duration::from_secs(2),
    ));
    assert_down(&o, FailureKind::Dns, "question does not match");
}
