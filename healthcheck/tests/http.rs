mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::thread;
use std::time::Duration;

use common::*;
use healthcheck::http::{body_digest, md5_hex, HttpProtocol};
use healthcheck::{CheckKind, CheckSpec, Endpoint, FailureKind, HttpConfig, Timing, UrlCheck};

fn http_spec(addr: std::net::SocketAddr, urls: Vec<UrlCheck>, timeout: Duration) -> CheckSpec {
    CheckSpec {
        kind: CheckKind::Http(Box::new(HttpConfig {
            endpoint: Endpoint::new(addr),
            connect_timeout: timeout,
            urls,
            virtualhost: None,
            protocol: HttpProtocol::V1_0,
            tls: None,
        })),
        timing: Timing::http(Duration::from_secs(1)),
    }
}

fn url(path: &str, digest: Option<&str>, codes: Option<&str>) -> UrlCheck {
    UrlCheck {
        path: path.into(),
        digest: digest.map(str::to_owned),
        status_codes: codes.map(|c| c.parse().unwrap()),
        virtualhost: None,
    }
}

const T: Duration = Duration::from_millis(800);

#[test]
fn status_and_digest_against_rust_server() {
    let body = b"<html>ok</html>\n";
    let mut resp =
        format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
    resp.extend_from_slice(body);
    let srv = Server::http(resp);
    let good = md5_hex(&body_digest(body));
    assert_up(&attempt(&http_spec(srv.addr, vec![url("/", None, None)], T)).0);
    assert_up(
        &attempt(&http_spec(
            srv.addr,
            vec![url("/", Some(&good.to_uppercase()), None)],
            T,
        ))
        .0,
    );
    let (o, _) = attempt(&http_spec(
        srv.addr,
        vec![url("/a", Some("00112233445566778899aabbccddeeff"), None)],
        T,
    ));
    let msg = assert_down(
        &o,
        FailureKind::Digest,
        "MD5 digest error to [127.0.0.1]:tcp:",
    );
    assert!(
        msg.ends_with(&format!("url[/a], MD5SUM [{good}].")),
        "{msg}"
    );
    let (o, _) = attempt(&http_spec(
        srv.addr,
        vec![url("/x", None, Some("300-399 404"))],
        T,
    ));
    let msg = assert_down(
        &o,
        FailureKind::HttpStatus,
        "HTTP status code error to [127.0.0.1]:tcp:",
    );
    assert!(msg.ends_with("url(/x), status_code [200]."), "{msg}");
    // Every URL must pass: the second one fails.
    let (o, _) = attempt(&http_spec(
        srv.addr,
        vec![url("/", None, None), url("/y", None, Some("500"))],
        T,
    ));
    assert_down(&o, FailureKind::HttpStatus, "url(/y)");
}

#[test]
fn request_carries_virtualhost_and_status_ranges_accept_redirects() {
    let (tx, rx) = std::sync::mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let srv = Server::start(move |mut s| {
        let head = read_head(&mut s);
        let _ = tx.lock().unwrap().send(head);
        let _ = s.write_all(b"HTTP/1.0 302 Found\r\nLocation: /x\r\n\r\n");
    });
    let mut u = url("/health?x=1", None, Some("200-299 302"));
    u.virtualhost = Some("www.example.test".into());
    assert_up(&attempt(&http_spec(srv.addr, vec![u], T)).0);
    let head = String::from_utf8(rx.recv().unwrap()).unwrap();
    assert!(head.starts_with("GET /health?x=1 HTTP/1.0\r\n"), "{head}");
    assert!(
        head.contains(&format!("Host: www.example.test:{}\r\n", srv.addr.port())),
        "{head}"
    );
    // 302 is not in the default 200-299.
    let (o, _) = attempt(&http_spec(srv.addr, vec![url("/", None, None)], T));
    assert_down(&o, FailureKind::HttpStatus, "status_code [302]");
}

#[test]
fn python_http_server() {
    let dir = std::env::temp_dir().join(format!("hc-http-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let body = b"hello from python\n";
    std::fs::write(dir.join("index.txt"), body).unwrap();
    let port = free_port();
    let child = Command::new("/usr/bin/python3")
        .args([
            "-m",
            "http.server",
            "--bind",
            "127.0.0.1",
            &port.to_string(),
        ])
        .current_dir(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _guard = ChildGuard(child);
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    wait_tcp(addr, Duration::from_secs(10));
    let digest = md5_hex(&body_digest(body));
    assert_up(
        &attempt(&http_spec(
            addr,
            vec![url("/index.txt", Some(&digest), Some("200"))],
            Duration::from_secs(3),
        ))
        .0,
    );
    let (o, _) = attempt(&http_spec(
        addr,
        vec![url("/missing", None, None)],
        Duration::from_secs(3),
    ));
    assert_down(&o, FailureKind::HttpStatus, "status_code [404]");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn hostile_never_answers() {
    let srv = Server::start(|s| {
        thread::sleep(Duration::from_secs(5));
        drop(s);
    });
    let (o, elapsed) = attempt(&http_spec(srv.addr, vec![url("/", None, None)], T));
    assert_down(
        &o,
        FailureKind::ReadTimeout,
        "Timeout HTTP read server [127.0.0.1]:tcp:",
    );
    assert!(
        elapsed >= T && elapsed < T + Duration::from_millis(400),
        "{elapsed:?}"
    );
}

#[test]
fn hostile_one_byte_a_second() {
    let srv = Server::start(|mut s| {
        read_head(&mut s);
        for b in b"HTTP/1.0 200 OK\r\n\r\n" {
            if s.write_all(&[*b]).is_err() {
                return;
            }
            thread::sleep(Duration::from_millis(300));
        }
    });
    let (o, elapsed) = attempt(&http_spec(srv.addr, vec![url("/", None, None)], T));
    assert_down(&o, FailureKind::ReadTimeout, "Timeout HTTP read server");
    assert!(elapsed < T + Duration::from_millis(400), "{elapsed:?}");
}

#[test]
fn hostile_close_mid_headers() {
    let srv = Server::http(b"HTTP/1.1 200 OK\r\nContent-Type: text/ht".to_vec());
    let (o, _) = attempt(&http_spec(srv.addr, vec![url("/", None, None)], T));
    assert_down(
        &o,
        FailureKind::Io,
        "connection closed before the end of the HTTP headers",
    );
}

#[test]
fn hostile_one_mib_of_headers() {
    let srv = Server::start(|mut s| {
        read_head(&mut s);
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\n");
        let line = format!("X-Junk: {}\r\n", "a".repeat(1000));
        for _ in 0..1024 {
            if s.write_all(line.as_bytes()).is_err() {
                return;
            }
        }
    });
    let (o, _) = attempt(&http_spec(srv.addr, vec![url("/", None, None)], T));
    assert_down(&o, FailureKind::Protocol, "larger than 65536 bytes");
}

#[test]
fn hostile_garbage_status_line() {
    let srv = Server::http(b"SSH-2.0-OpenSSH_9.2\r\n".to_vec());
    let (o, elapsed) = attempt(&http_spec(srv.addr, vec![url("/", None, None)], T));
    assert_down(&o, FailureKind::Protocol, "malformed HTTP status line");
    assert!(elapsed < T);
}

#[test]
fn digest_match_does_not_excuse_a_bad_status() {
    let body = b"maintenance";
    let mut resp = format!(
        "HTTP/1.1 503 Unavailable\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    resp.extend_from_slice(body);
    let srv = Server::http(resp);
    let digest = md5_hex(&body_digest(body));
    let (o, _) = attempt(&http_spec(srv.addr, vec![url("/", Some(&digest), None)], T));
    assert_down(&o, FailureKind::HttpStatus, "status_code [503]");
    assert_up(
        &attempt(&http_spec(
            srv.addr,
            vec![url("/", Some(&digest), Some("503"))],
            T,
        ))
        .0,
    );
}

#[test]
fn short_body_with_digest_is_an_error() {
    let srv = Server::http(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc".to_vec());
    let (o, _) = attempt(&http_spec(
        srv.addr,
        vec![url("/", Some("00112233445566778899aabbccddeeff"), None)],
        T,
    ));
    assert_down(&o, FailureKind::Io, "after 3 of 100 body bytes");
}

#[test]
fn ipv6_host_header_is_bracketed() {
    let (tx, rx) = std::sync::mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let listener = std::net::TcpListener::bind("[::1]:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        if let Ok((mut s, _)) = listener.accept() {
            let head = read_head(&mut s);
            let _ = tx.lock().unwrap().send(head);
            let _ = s.write_all(b"HTTP/1.0 200 OK\r\n\r\n");
        }
    });
    assert_up(&attempt(&http_spec(addr, vec![url("/", None, None)], T)).0);
    let head = String::from_utf8(rx.recv().unwrap()).unwrap();
    assert!(
        head.contains(&format!("Host: [::1]:{}\r\n", addr.port())),
        "{head}"
    );
}

/// A server that keeps the connection open after its response unless the request says
/// `Connection: close`, as HTTP/1.1 servers (and many 1.0 ones) do; it answers a chunked
/// body, so only the close ends it. It answers 400 to an HTTP/1.1 request without `Host`.
fn keep_alive_server() -> (Server, std::sync::mpsc::Receiver<Vec<u8>>) {
    let (tx, rx) = std::sync::mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let srv = Server::start(move |mut s| {
        let head = read_head(&mut s);
        let text = String::from_utf8_lossy(&head).into_owned();
        let _ = tx.lock().unwrap().send(head);
        if text.starts_with("GET / HTTP/1.1\r\n") && !text.contains("\r\nHost: ") {
            let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
            return;
        }
        let _ = s.write_all(CHUNKED_OK);
        if !text.contains("\r\nConnection: close\r\n") {
            thread::sleep(Duration::from_secs(3));
        }
    });
    (srv, rx)
}

const CHUNKED_OK: &[u8] =
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";

#[test]
fn http_protocol_sets_the_version_and_connection_close_as_keepalived() {
    let (srv, rx) = keep_alive_server();
    let body = &CHUNKED_OK[CHUNKED_OK
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap()
        + 4..];
    let digest = md5_hex(&body_digest(body));
    let spec = |protocol| {
        let mut s = http_spec(srv.addr, vec![url("/", Some(&digest), None)], T);
        if let CheckKind::Http(h) = &mut s.kind {
            h.protocol = protocol;
            h.virtualhost = Some("www.example.test".into());
        }
        s
    };
    let port = srv.addr.port();
    // 1.0C and 1.1: the server closes after the body, the digest is judged at once.
    for (protocol, version) in [(HttpProtocol::V1_0C, "1.0"), (HttpProtocol::V1_1, "1.1")] {
        let (o, elapsed) = attempt(&spec(protocol));
        assert_up(&o);
        assert!(elapsed < T, "{protocol:?}: {elapsed:?}");
        let head = String::from_utf8(rx.recv().unwrap()).unwrap();
        assert_eq!(
            head,
            format!(
                "GET / HTTP/{version}\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\n\
                 Host: www.example.test:{port}\r\n\r\n"
            )
        );
    }
    // Plain 1.0 sends no Connection header: this server keeps the connection, and the
    // body never ends before connect_timeout. This is what 1.0C is for.
    let (o, elapsed) = attempt(&spec(HttpProtocol::V1_0));
    assert_down(&o, FailureKind::ReadTimeout, "");
    assert!(elapsed >= T, "{elapsed:?}");
    let head = String::from_utf8(rx.recv().unwrap()).unwrap();
    assert_eq!(
        head,
        format!(
            "GET / HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: www.example.test:{port}\r\n\r\n"
        )
    );
}

#[test]
fn http_1_1_against_python_http_server_1_1() {
    let dir = std::env::temp_dir().join(format!("hc-http11-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let body = b"hello over 1.1\n";
    std::fs::write(dir.join("index.txt"), body).unwrap();
    let port = free_port();
    // python's server speaks keep-alive HTTP/1.1 with --protocol HTTP/1.1.
    let child = Command::new("/usr/bin/python3")
        .args([
            "-m",
            "http.server",
            "--protocol",
            "HTTP/1.1",
            "--bind",
            "127.0.0.1",
            &port.to_string(),
        ])
        .current_dir(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _guard = ChildGuard(child);
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    wait_tcp(addr, Duration::from_secs(10));
    let digest = md5_hex(&body_digest(body));
    let mut spec = http_spec(
        addr,
        vec![url("/index.txt", Some(&digest), Some("200"))],
        Duration::from_secs(3),
    );
    if let CheckKind::Http(h) = &mut spec.kind {
        h.protocol = HttpProtocol::V1_1;
    }
    let (o, elapsed) = attempt(&spec);
    assert_up(&o);
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
