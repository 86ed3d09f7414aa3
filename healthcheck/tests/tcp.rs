mod common;

use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use common::*;
use healthcheck::{CheckKind, CheckSpec, Endpoint, FailureKind, TcpConfig, Timing};
use socket2::{Domain, Socket, Type};

fn tcp_spec(endpoint: Endpoint, timeout: Duration) -> CheckSpec {
    CheckSpec {
        kind: CheckKind::Tcp(TcpConfig {
            endpoint,
            connect_timeout: timeout,
        }),
        timing: Timing::new(Duration::from_secs(1)),
    }
}

#[test]
fn up_when_listening_and_failed_when_refused() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let (o, _) = attempt(&tcp_spec(Endpoint::new(addr), Duration::from_secs(2)));
    assert_up(&o);
    drop(l);
    let (o, elapsed) = attempt(&tcp_spec(Endpoint::new(addr), Duration::from_secs(2)));
    let msg = assert_down(&o, FailureKind::Connect, "failed.");
    assert_eq!(
        msg,
        format!("TCP connection to [127.0.0.1]:tcp:{} failed.", addr.port())
    );
    assert!(elapsed < Duration::from_secs(1));
}

#[test]
fn bindto_and_bind_port_originate_the_connection() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let src_port = free_port();
    let ep = Endpoint::new(addr).bind(Some(IpAddr::from([127, 0, 0, 2])), Some(src_port));
    let (o, _) = attempt(&tcp_spec(ep, Duration::from_secs(2)));
    assert_up(&o);
    let (_, peer) = l.accept().unwrap();
    assert_eq!(peer, SocketAddr::from(([127, 0, 0, 2], src_port)));
}

#[test]
fn connect_timeout_when_syns_are_dropped() {
    // A listener with a full accept queue drops new SYNs, so the connect never completes.
    let s = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    s.bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())
        .unwrap();
    s.listen(0).unwrap();
    let addr = s.local_addr().unwrap().as_socket().unwrap();
    let mut fillers = Vec::new();
    for _ in 0..4 {
        if let Ok(c) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            fillers.push(c);
        }
    }
    let timeout = Duration::from_millis(700);
    let (o, elapsed) = attempt(&tcp_spec(Endpoint::new(addr), timeout));
    let msg = assert_down(
        &o,
        FailureKind::ConnectTimeout,
        "TCP connection to [127.0.0.1]:tcp:",
    );
    assert!(msg.ends_with(" timedout."), "{msg}");
    assert!(
        elapsed >= timeout && elapsed < timeout + Duration::from_millis(300),
        "{elapsed:?}"
    );
}

#[test]
fn ipv6_loopback() {
    let l = TcpListener::bind("[::1]:0").unwrap();
    let addr = l.local_addr().unwrap();
    assert_up(&attempt(&tcp_spec(Endpoint::new(addr), Duration::from_secs(2))).0);
    drop(l);
    let (o, _) = attempt(&tcp_spec(Endpoint::new(addr), Duration::from_secs(2)));
    let msg = assert_down(&o, FailureKind::Connect, "failed.");
    assert_eq!(
        msg,
        format!("TCP connection to [::1]:tcp:{} failed.", addr.port())
    );
}
