mod common;

use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use common::*;
use healthcheck::spec::ReplyRule;
use healthcheck::{CheckKind, CheckSpec, Endpoint, FailureKind, Timing, UdpConfig};

fn udp_spec(addr: SocketAddr, require_reply: Option<ReplyRule>) -> CheckSpec {
    CheckSpec {
        kind: CheckKind::Udp(Box::new(UdpConfig {
            endpoint: Endpoint::new(addr),
            connect_timeout: Duration::from_millis(400),
            payload: b"ping".to_vec(),
            require_reply,
        })),
        timing: Timing::new(Duration::from_secs(1)),
    }
}

#[test]
fn unreachable_port_is_down_and_silence_is_up() {
    let closed = SocketAddr::from((
        [127, 0, 0, 1],
        UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port(),
    ));
    let (o, _) = attempt(&udp_spec(closed, None));
    assert_down(&o, FailureKind::Connect, "port unreachable");
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    assert_up(&attempt(&udp_spec(silent.local_addr().unwrap(), None)).0);
    let rule = ReplyRule {
        prefix: b"pong".to_vec(),
        min_len: 1,
        max_len: 255,
    };
    let (o, _) = attempt(&udp_spec(silent.local_addr().unwrap(), Some(rule)));
    assert_down(
        &o,
        FailureKind::ReadTimeout,
        "timed out waiting for a reply",
    );
}

#[test]
fn require_reply_checks_the_prefix() {
    let echo = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = echo.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 64];
        let mut replies: [&[u8]; 2] = [b"pong!", b"nope"];
        for r in replies.iter_mut() {
            if let Ok((_, peer)) = echo.recv_from(&mut buf) {
                let _ = echo.send_to(r, peer);
            }
        }
    });
    let rule = ReplyRule {
        prefix: b"pong".to_vec(),
        min_len: 1,
        max_len: 255,
    };
    assert_up(&attempt(&udp_spec(addr, Some(rule.clone()))).0);
    let (o, _) = attempt(&udp_spec(addr, Some(rule)));
    assert_down(&o, FailureKind::Protocol, "unexpected reply");
}

#[test]
fn ping_check_loopback() {
    // Ping sockets need the caller's group in net.ipv4.ping_group_range, whose kernel default
    // (`1 0`) admits nobody. A daemon lowers it as keepalived does (`PingGroupRange`); the
    // test does the same in a network namespace of its own, so the host's setting is never
    // touched and the check runs whatever that setting is.
    in_private_netns(|| {
        let range = healthcheck::ping_range::PingGroupRange::admit_root().expect("admit root");
        ping_loopback_twice();
        drop(range);
    });
}

/// Runs `f` on a thread moved into a new network namespace with `lo` up (root only).
fn in_private_netns(f: impl FnOnce() + Send + 'static) {
    std::thread::spawn(move || {
        // SAFETY: unshare only changes this thread's namespaces; no memory is involved.
        let rc = unsafe { libc::unshare(libc::CLONE_NEWNET) };
        assert_eq!(
            rc,
            0,
            "unshare(CLONE_NEWNET): {}",
            std::io::Error::last_os_error()
        );
        // A child forked by this thread starts in its namespace.
        let up = std::process::Command::new("ip")
            .args(["link", "set", "lo", "up"])
            .status()
            .expect("ip link set lo up");
        assert!(up.success());
        f();
    })
    .join()
    .expect("the namespace thread panicked");
}

fn ping_loopback_twice() {
    use healthcheck::PingConfig;
    let spec = CheckSpec {
        kind: CheckKind::Ping(PingConfig {
            target: "127.0.0.1".parse().unwrap(),
            connect_timeout: Duration::from_secs(1),
        }),
        timing: Timing::new(Duration::from_secs(1)),
    };
    let mut checker = spec.build().unwrap();
    // Two attempts with the same checker: sequence numbers advance and each reply is matched.
    for _ in 0..2 {
        let (o, elapsed) = attempt_with(checker.as_mut(), Duration::from_secs(5));
        assert_up(&o);
        assert!(elapsed < Duration::from_millis(500));
    }
}
