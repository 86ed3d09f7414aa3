//! Real healthcheck events (TCP_CHECK on loopback) driving the virtual-server state: the
//! subscription ids of [`CheckerRef`] route each event back to its real server.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use healthcheck::{
    Change, CheckKind, CheckSpec, Endpoint, HealthChecker, Subscription, TcpConfig, Timing,
};
use ipvs_sys::{Request, ServiceKey};
use lbd::config;
use lbd::lvs::desired::specs;
use lbd::lvs::{Lvs, Update};

/// Polls until the state machine reports a change, or 10 s.
fn next_update(poll: &mut mio::Poll, hc: &mut HealthChecker, lvs: &mut Lvs) -> Update {
    let mut update = None;
    hc.run_until(poll, Instant::now() + Duration::from_secs(10), |ev| {
        assert!(matches!(ev.change, Change::Up | Change::Down { .. }));
        let u = lvs.on_health(ev).unwrap();
        let done = !u.requests.is_empty();
        update = Some(u);
        !done
    })
    .unwrap();
    update.expect("no health event within 10 s")
}

#[test]
fn tcp_check_events_remove_and_re_add_a_real_server() {
    // A port nobody listens on (the listener is closed at once).
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let text = format!(
        "virtual_server 192.0.2.100 80 {{\n lb_kind DR\n \
         real_server 127.0.0.1 {port} {{\n TCP_CHECK {{\n connect_timeout 1\n }}\n }}\n \
         real_server 127.0.0.2 {port} {{\n }}\n}}\n"
    );
    let cfg = config::load_str("health.conf", &text).unwrap().config;
    let mut lvs = Lvs::new(specs(&cfg).unwrap()).unwrap();
    lvs.start();

    let mut poll = mio::Poll::new().unwrap();
    let mut hc = HealthChecker::new(poll.registry(), 1000).unwrap();
    let now = Instant::now();
    for (r, _spec) in lvs.checkers() {
        let spec = CheckSpec {
            kind: CheckKind::Tcp(TcpConfig {
                endpoint: Endpoint::new(format!("127.0.0.1:{port}").parse().unwrap()),
                connect_timeout: Duration::from_secs(1),
            }),
            timing: Timing::new(Duration::from_millis(100))
                .with_warmup(Duration::ZERO)
                .with_retry(0, Duration::from_millis(50)),
        };
        let sub = Subscription {
            id: r.to_id().unwrap(),
            inhibit_on_failure: false,
        };
        hc.add(spec, sub, now).unwrap();
    }

    let key = ServiceKey::tcp("192.0.2.100:80".parse().unwrap());
    let u = next_update(&mut poll, &mut hc, &mut lvs);
    assert_eq!(
        u.logs(),
        vec![
            format!("TCP connection to [127.0.0.1]:tcp:{port} failed."),
            format!("Removing service [127.0.0.1]:tcp:{port} from VS [192.0.2.100]:tcp:80"),
        ]
    );
    assert_eq!(
        u.requests,
        vec![Request::DelDest {
            service: key,
            addr: format!("127.0.0.1:{port}").parse().unwrap()
        }]
    );
    // The server without a checker keeps the quorum.
    assert_eq!(lvs.quorum_up(0), Some(true));

    let _listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
    let u = next_update(&mut poll, &mut hc, &mut lvs);
    assert_eq!(
        u.logs(),
        vec![format!(
            "Adding service [127.0.0.1]:tcp:{port} to VS [192.0.2.100]:tcp:80"
        )]
    );
    assert!(matches!(u.requests[..], [Request::NewDest { service, .. }] if service == key));
    assert_eq!(lvs.table().services[&key].dests.len(), 2);
}
