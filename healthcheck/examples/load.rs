//! Load tool for the health-check runtime (run in release).
//!
//! ```text
//! cargo run --release -p healthcheck --example load -- http [seconds] [concurrency]
//! cargo run --release -p healthcheck --example load -- lateness [checkers] [seconds]
//! ```
//!
//! `http`: HTTP_GET checks back to back (delay_loop 0) against a tiny mio HTTP server on another thread;
//! prints checks per wall second and per CPU second of the checking thread.
//! `lateness`: N TCP_CHECKs at delay_loop 1 s (warmup 1 s) against a local listener; prints how late
//! each attempt started relative to its schedule (p50/p99/max).

use std::cell::{Cell, RefCell};
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::rc::Rc;
use std::thread;
use std::time::{Duration, Instant};

use healthcheck::http::HttpProtocol;
use healthcheck::mio::net::TcpListener;
use healthcheck::mio::{Events, Interest, Poll, Registry, Token};
use healthcheck::{
    CheckKind, CheckOutcome, CheckSpec, Checker, Context, Endpoint, HealthChecker, HttpConfig,
    Progress, Subscription, TcpConfig, Timing, UrlCheck,
};

/// Counts finished attempts and records start lateness around a real checker.
struct Counted {
    inner: Box<dyn Checker>,
    done: Rc<Cell<u64>>,
    up: Rc<Cell<u64>>,
    lateness: Rc<RefCell<Vec<Duration>>>,
    failure: Rc<RefCell<Option<String>>>,
}

impl Counted {
    fn count(&self, p: Progress) -> Progress {
        if let Progress::Done(o) = &p {
            self.done.set(self.done.get() + 1);
            match o {
                CheckOutcome::Down(f) if self.failure.borrow().is_none() => {
                    *self.failure.borrow_mut() = Some(f.message.clone())
                }
                CheckOutcome::Down(_) => {}
                _ => self.up.set(self.up.get() + 1),
            }
        }
        p
    }
}

impl Checker for Counted {
    fn start(&mut self, cx: &mut Context<'_>) -> Progress {
        self.lateness
            .borrow_mut()
            .push(Instant::now().saturating_duration_since(cx.scheduled));
        let p = self.inner.start(cx);
        self.count(p)
    }
    fn ready(&mut self, cx: &mut Context<'_>) -> Progress {
        let p = self.inner.ready(cx);
        self.count(p)
    }
    fn deadline(&self) -> Instant {
        self.inner.deadline()
    }
    fn timeout(&mut self, cx: &mut Context<'_>) -> Progress {
        let p = self.inner.timeout(cx);
        self.count(p)
    }
    fn cancel(&mut self, registry: &Registry) {
        self.inner.cancel(registry)
    }
    fn describe(&self) -> String {
        self.inner.describe()
    }
}

/// A single-threaded mio HTTP server: answers every request head with a fixed 200 and closes.
fn spawn_http_server() -> SocketAddr {
    let mut listener = TcpListener::bind("127.0.0.1:0".parse().expect("addr")).expect("bind");
    let addr = listener.local_addr().expect("addr");
    thread::spawn(move || {
        let mut poll = Poll::new().expect("poll");
        poll.registry()
            .register(&mut listener, Token(0), Interest::READABLE)
            .expect("register");
        let mut conns: Vec<Option<(healthcheck::mio::net::TcpStream, Vec<u8>)>> = Vec::new();
        let mut free: Vec<usize> = Vec::new();
        let mut events = Events::with_capacity(1024);
        let resp = b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok";
        let mut buf = [0u8; 4096];
        loop {
            if poll.poll(&mut events, None).is_err() {
                continue;
            }
            for ev in events.iter() {
                if ev.token() == Token(0) {
                    while let Ok((mut s, _)) = listener.accept() {
                        let idx = free.pop().unwrap_or_else(|| {
                            conns.push(None);
                            conns.len() - 1
                        });
                        if poll
                            .registry()
                            .register(&mut s, Token(idx + 1), Interest::READABLE)
                            .is_ok()
                        {
                            conns[idx] = Some((s, Vec::new()));
                        } else {
                            free.push(idx);
                        }
                    }
                    continue;
                }
                let idx = ev.token().0 - 1;
                let mut close = false;
                if let Some((s, req)) = conns.get_mut(idx).and_then(Option::as_mut) {
                    loop {
                        match s.read(&mut buf) {
                            Ok(0) => {
                                close = true;
                                break;
                            }
                            Ok(n) => req.extend_from_slice(&buf[..n]),
                            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                            Err(_) => {
                                close = true;
                                break;
                            }
                        }
                    }
                    // Answer once, then wait for the client to close first, so that TIME_WAIT stays on
                    // the client side, whose kernel avoids those ports for new connections.
                    if !req.is_empty() && req.windows(4).any(|w| w == b"\r\n\r\n") {
                        let _ = s.write(resp);
                        req.clear();
                    }
                }
                if close {
                    if let Some((mut s, _)) = conns[idx].take() {
                        let _ = poll.registry().deregister(&mut s);
                    }
                    free.push(idx);
                }
            }
        }
    });
    addr
}

/// A listener that accepts and drops connections.
fn spawn_tcp_sink() -> SocketAddr {
    let s =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    s.set_reuse_address(true).expect("reuse");
    s.bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())
        .expect("bind");
    s.listen(4096).expect("listen");
    let l: std::net::TcpListener = s.into();
    let addr = l.local_addr().expect("addr");
    // Non-blocking accept in batches every millisecond: a blocked accept() would make the kernel wake this
    // thread for every connection, and that wake-up is charged to the checking thread sending the ACK.
    l.set_nonblocking(true).expect("nonblocking");
    thread::spawn(move || loop {
        while let Ok((c, _)) = l.accept() {
            drop(c);
        }
        thread::sleep(Duration::from_millis(1));
    });
    addr
}

fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

struct Run {
    done: Rc<Cell<u64>>,
    up: Rc<Cell<u64>>,
    lateness: Rc<RefCell<Vec<Duration>>>,
    failure: Rc<RefCell<Option<String>>>,
}

impl Run {
    fn report_failure(&self) {
        if let Some(f) = self.failure.borrow().as_ref() {
            println!("  first failure: {f}");
        }
    }
}

fn add_all(hc: &mut HealthChecker, specs: Vec<CheckSpec>) -> Run {
    let run = Run {
        done: Rc::default(),
        up: Rc::default(),
        lateness: Rc::default(),
        failure: Rc::default(),
    };
    let now = Instant::now();
    for (i, spec) in specs.into_iter().enumerate() {
        let inner = spec.build().expect("build");
        let c = Counted {
            inner,
            done: run.done.clone(),
            up: run.up.clone(),
            lateness: run.lateness.clone(),
            failure: run.failure.clone(),
        };
        hc.add_checker(
            Box::new(c),
            spec.timing,
            Subscription {
                id: i as u64,
                inhibit_on_failure: false,
            },
            now,
        );
    }
    run
}

fn http(seconds: u64, concurrency: usize) {
    let addr = spawn_http_server();
    let mut poll = Poll::new().expect("poll");
    let mut hc = HealthChecker::new(poll.registry(), 1).expect("hc");
    let spec = CheckSpec {
        kind: CheckKind::Http(Box::new(HttpConfig {
            endpoint: Endpoint::new(addr),
            connect_timeout: Duration::from_secs(2),
            urls: vec![UrlCheck::new("/")],
            virtualhost: None,
            protocol: HttpProtocol::V1_0,
            tls: None,
        })),
        timing: Timing::http(Duration::ZERO)
            .with_retry(0, Duration::ZERO)
            .with_warmup(Duration::ZERO),
    };
    let run = add_all(&mut hc, vec![spec; concurrency]);
    let cpu0 = thread_cpu_time();
    let t0 = Instant::now();
    hc.run_until(&mut poll, t0 + Duration::from_secs(seconds), |_| true)
        .expect("run");
    let wall = t0.elapsed().as_secs_f64();
    let cpu = (thread_cpu_time() - cpu0).as_secs_f64();
    let done = run.done.get();
    println!(
        "http: {done} checks ({} up) in {wall:.2} s with {concurrency} concurrent: {:.0} checks/s wall, \
         {:.0} checks per CPU-second of the checking thread (cpu {cpu:.2} s)",
        run.up.get(),
        done as f64 / wall,
        done as f64 / cpu
    );
    run.report_failure();
}

fn lateness(checkers: usize, seconds: u64) {
    let addr = spawn_tcp_sink();
    let mut poll = Poll::new().expect("poll");
    let mut hc = HealthChecker::new(poll.registry(), 1).expect("hc");
    let spec = CheckSpec {
        kind: CheckKind::Tcp(TcpConfig {
            endpoint: Endpoint::new(addr),
            connect_timeout: Duration::from_secs(2),
        }),
        timing: Timing::new(Duration::from_secs(1)),
    };
    let run = add_all(&mut hc, vec![spec; checkers]);
    let cpu0 = thread_cpu_time();
    let t0 = Instant::now();
    hc.run_until(&mut poll, t0 + Duration::from_secs(seconds), |_| true)
        .expect("run");
    let wall = t0.elapsed().as_secs_f64();
    let cpu = (thread_cpu_time() - cpu0).as_secs_f64();
    let mut lat = run.lateness.borrow().clone();
    lat.sort();
    println!(
        "lateness: {checkers} TCP_CHECKs, delay_loop 1 s, {wall:.1} s: {} starts ({} done, {} up), \
         lateness p50 {:?} p99 {:?} max {:?}; checking thread cpu {cpu:.2} s ({:.0}%)",
        lat.len(),
        run.done.get(),
        run.up.get(),
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        lat.last().copied().unwrap_or_default(),
        100.0 * cpu / wall
    );
    run.report_failure();
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let num = |i: usize, d: u64| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(d);
    match args.first().map(String::as_str) {
        Some("http") => http(num(1, 5), num(2, 64) as usize),
        Some("lateness") => lateness(num(1, 10_000) as usize, num(2, 10)),
        _ => {
            eprintln!(
                "usage: load http [seconds] [concurrency] | load lateness [checkers] [seconds]"
            );
            std::process::exit(2);
        }
    }
}
