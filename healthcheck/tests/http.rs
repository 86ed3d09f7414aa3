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
        kind: CheckKind::Http(HttpConfig {
            endpoint: Endpoint::new(addr),
            connect_timeout: timeout,
            urls,
            virtualhost: None,
            protocol: HttpProtocol::V1_0,
            tls: None,
        }),
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
