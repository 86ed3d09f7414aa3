//! Helpers shared by the integration tests: drive one checker attempt in real time, and tiny servers.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use healthcheck::{CheckOutcome, CheckSpec, Checker, Context, Progress};
use mio::{Events, Poll, Token};

/// Run one attempt of `checker` to completion; panics if it does not finish within `limit`.
pub fn attempt_with(checker: &mut dyn Checker, limit: Duration) -> (CheckOutcome, Duration) {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(16);
    let start = Instant::now();
    let mut buf = vec![0; healthcheck::checkers::READ_BUF];
    let mut cx = Context {
        registry: poll.registry(),
        token: Token(1),
        now: start,
        scheduled: start,
        buf: &mut buf,
    };
    let mut progress = checker.start(&mut cx);
    loop {
        if let Progress::Done(outcome) = progress {
            return (outcome, start.elapsed());
        }
        let now = Instant::now();
        assert!(
            now - start < limit,
            "attempt did not finish within {limit:?}"
        );
        let deadline = checker.deadline();
        match poll.poll(&mut events, Some(deadline.saturating_duration_since(now))) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => events.clear(),
            Err(e) => panic!("poll: {e}"),
        }
        let now = Instant::now();
        let mut cx = Context {
            registry: poll.registry(),
            token: Token(1),
            now,
            scheduled: start,
            buf: &mut buf,
        };
        progress = if !events.is_empty() {
            checker.ready(&mut cx)
        } else if now >= deadline {
            checker.timeout(&mut cx)
        } else {
            Progress::Pending
        };
        if progress == Progress::Pending && now >= checker.deadline() {
            progress = checker.timeout(&mut cx);
        }
    }
}

/// Build `spec` and run one attempt.
pub fn attempt(spec: &CheckSpec) -> (CheckOutcome, Duration) {
    let mut checker = spec.build().unwrap();
    attempt_with(checker.as_mut(), Duration::from_secs(20))
}

pub fn assert_up(outcome: &CheckOutcome) {
    assert!(
        matches!(outcome, CheckOutcome::Up),
        "expected Up, got {outcome:?}"
    );
}

/// Assert a Down outcome whose message contains `needle`; returns the message.
pub fn assert_down(outcome: &CheckOutcome, kind: healthcheck::FailureKind, needle: &str) -> String {
    match outcome {
        CheckOutcome::Down(f) => {
            assert_eq!(f.kind, kind, "wrong kind for {:?}", f.message);
            assert!(
                f.message.contains(needle),
                "{:?} does not contain {needle:?}",
                f.message
            );
            f.message.clone()
        }
        other => panic!("expected Down({kind:?}), got {other:?}"),
    }
}

/// A TCP server thread running `handler` for every accepted connection until dropped.
pub struct Server {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
}

impl Server {
    pub fn start<F>(handler: F) -> Server
    where
        F: Fn(TcpStream) + Send + Sync + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let handler = Arc::new(handler);
        thread::spawn(move || {
            while !stop2.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((s, _)) => {
                        s.set_nonblocking(false).unwrap();
                        let h = handler.clone();
                        thread::spawn(move || h(s));
                    }
                    Err(_) => thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        Server { addr, stop }
    }

    /// Serves `response` after reading the request head.
    pub fn http(response: Vec<u8>) -> Server {
        Server::start(move |mut s| {
            read_head(&mut s);
            let _ = s.write_all(&response);
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Read until the end of an HTTP request head (or EOF).
pub fn read_head(s: &mut TcpStream) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut b = [0u8; 1024];
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut b) {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&b[..n]),
        }
    }
    buf
}

/// A child process killed on drop.
pub struct ChildGuard(pub std::process::Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// An unused local port (bound then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Wait until something accepts TCP connections on `addr`.
pub fn wait_tcp(addr: SocketAddr, limit: Duration) {
    let start = Instant::now();
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        assert!(start.elapsed() < limit, "nothing listening on {addr}");
        thread::sleep(Duration::from_millis(50));
    }
}
