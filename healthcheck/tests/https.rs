mod common;

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use healthcheck::http::{body_digest, md5_hex, HttpProtocol};
use healthcheck::{
    CheckKind, CheckSpec, Endpoint, FailureKind, HttpConfig, Timing, TlsOptions, UrlCheck,
};
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

const BODY: &[u8] = b"secure hello\n";

/// A CA, a server certificate for `localhost` signed by it, and the CA written to a PEM file.
struct Pki {
    server_config: Arc<rustls::ServerConfig>,
    ca_file: PathBuf,
}

fn pki(tag: &str) -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let ee_key = KeyPair::generate().unwrap();
    let ee = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&ee_key, &ca, &ca_key)
        .unwrap();
    let ca_file = std::env::temp_dir().join(format!("hc-ca-{tag}-{}.pem", std::process::id()));
    std::fs::write(&ca_file, ca.pem()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server_config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![
                CertificateDer::from(ee.der().to_vec()),
                CertificateDer::from(ca.der().to_vec()),
            ],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ee_key.serialize_der())),
        )
        .unwrap();
    Pki {
        server_config: Arc::new(server_config),
        ca_file,
    }
}

fn tls_server(config: Arc<rustls::ServerConfig>) -> Server {
    Server::start(move |tcp| {
        tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let conn = rustls::ServerConnection::new(config.clone()).unwrap();
        let mut tls = rustls::StreamOwned::new(conn, tcp);
        let mut head = Vec::new();
        let mut b = [0u8; 512];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match tls.read(&mut b) {
                Ok(0) | Err(_) => return,
                Ok(n) => head.extend_from_slice(&b[..n]),
            }
        }
        let mut resp =
            format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", BODY.len()).into_bytes();
        resp.extend_from_slice(BODY);
        let _ = tls.write_all(&resp);
        tls.conn.send_close_notify();
        let _ = tls.flush();
    })
}

fn ssl_spec(addr: SocketAddr, tls: TlsOptions, digest: Option<String>) -> CheckSpec {
    CheckSpec {
        kind: CheckKind::Http(Box::new(HttpConfig {
            endpoint: Endpoint::new(addr),
            connect_timeout: Duration::from_secs(2),
            urls: vec![UrlCheck {
                path: "/".into(),
                digest,
                status_codes: None,
                virtualhost: None,
            }],
            virtualhost: None,
            protocol: HttpProtocol::V1_1,
            tls: Some(tls),
        })),
        timing: Timing::http(Duration::from_secs(1)),
    }
}

#[test]
fn ssl_get_unverified_by_default_with_digest() {
    let p = pki("a");
    let srv = tls_server(p.server_config.clone());
    let digest = md5_hex(&body_digest(BODY));
    assert_up(&attempt(&ssl_spec(srv.addr, TlsOptions::default(), Some(digest))).0);
    // No verification: a name the certificate does not hold is fine, as with keepalived.
    let opts = TlsOptions {
        enable_sni: true,
        server_name: Some("wrong.example".into()),
        ca_file: None,
    };
    assert_up(&attempt(&ssl_spec(srv.addr, opts, None)).0);
    let _ = std::fs::remove_file(&p.ca_file);
}

#[test]
fn ssl_get_verified_against_ca_and_name() {
    let p = pki("b");
    let srv = tls_server(p.server_config.clone());
    let good = TlsOptions {
        enable_sni: true,
        server_name: Some("localhost".into()),
        ca_file: Some(p.ca_file.clone()),
    };
    assert_up(&attempt(&ssl_spec(srv.addr, good, None)).0);
    let wrong_name = TlsOptions {
        enable_sni: true,
        server_name: Some("wrong.example".into()),
        ca_file: Some(p.ca_file.clone()),
    };
    let (o, elapsed) = attempt(&ssl_spec(srv.addr, wrong_name, None));
    assert_down(
        &o,
        FailureKind::Tls,
        "SSL handshake error to server [127.0.0.1]:tcp:",
    );
    assert!(elapsed < Duration::from_secs(1), "{elapsed:?}");
    // A different CA does not vouch for this server.
    let other = pki("c");
    let wrong_ca = TlsOptions {
        enable_sni: true,
        server_name: Some("localhost".into()),
        ca_file: Some(other.ca_file.clone()),
    };
    let (o, _) = attempt(&ssl_spec(srv.addr, wrong_ca, None));
    assert_down(&o, FailureKind::Tls, "invalid peer certificate");
    let _ = std::fs::remove_file(&p.ca_file);
    let _ = std::fs::remove_file(&other.ca_file);
}

#[test]
fn ssl_get_against_plain_tcp_server() {
    // Answers the ClientHello with plaintext HTTP and closes.
    let srv = Server::start(|mut s| {
        let mut b = [0u8; 512];
        let _ = s.read(&mut b);
        let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    });
    let (o, elapsed) = attempt(&ssl_spec(srv.addr, TlsOptions::default(), None));
    assert_down(&o, FailureKind::Tls, "SSL handshake error");
    assert!(elapsed < Duration::from_secs(1));
    // And one that accepts and says nothing: the handshake times out.
    let mute = Server::start(|s| {
        std::thread::sleep(Duration::from_secs(4));
        drop(s);
    });
    let (o, elapsed) = attempt(&ssl_spec(mute.addr, TlsOptions::default(), None));
    assert_down(&o, FailureKind::ReadTimeout, "Timeout SSL read server");
    assert!(elapsed < Duration::from_millis(2500), "{elapsed:?}");
}

#[test]
fn missing_ca_file_is_a_build_error() {
    let opts = TlsOptions {
        enable_sni: false,
        server_name: None,
        ca_file: Some("/nonexistent/ca.pem".into()),
    };
    let spec = ssl_spec("127.0.0.1:1".parse().unwrap(), opts, None);
    assert!(spec.build().is_err());
}
