//! Every configuration we know users write goes through the parser without a panic and,
//! where keepalived accepts it, without errors; key fields of the seed configs are pinned.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use lbd::config::{self, *};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/shared")
        .join(name)
}

fn load_ok(path: &Path) -> Loaded {
    match config::load(path) {
        Ok(l) => l,
        Err(ConfigError::Invalid { diagnostics }) => {
            let text: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
            panic!("{} has errors:\n{}", path.display(), text.join("\n"))
        }
        Err(e) => panic!("{}: {e}", path.display()),
    }
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    v.sort();
    v
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn shared_configs_have_no_errors_except_the_fragment() {
    let files = files_in(&data(""));
    assert_eq!(
        files.len(),
        10,
        "the shared configs were copied into tests/data/shared"
    );
    for f in files {
        if f.ends_with("fragment-vrrp-script.conf") {
            continue;
        }
        load_ok(&f);
    }
}

#[test]
fn fragment_lacks_only_its_virtual_router_id() {
    // A fragment meant for `include`: keepalived also drops the instance ("the virtual
    // router id must be set").
    let Err(ConfigError::Invalid { diagnostics }) =
        config::load(&data("fragment-vrrp-script.conf"))
    else {
        panic!("the fragment has no virtual_router_id");
    };
    let errors: Vec<String> = diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| format!("{}: {}", d.line, d.message))
        .collect();
    assert_eq!(
        errors,
        vec!["9: vrrp_instance NAME has no virtual_router_id: expected virtual_router_id 1..255"]
    );
}

#[test]
fn debian_samples_parse_when_installed() {
    let dir = Path::new("/usr/share/doc/keepalived/samples");
    if !dir.is_dir() {
        eprintln!("{} absent (apt install keepalived): skipped", dir.display());
        return;
    }
    let samples: Vec<PathBuf> = files_in(dir)
        .into_iter()
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("keepalived.conf")
        })
        .collect();
    assert!(samples.len() >= 20, "{samples:?}");
    for f in samples {
        load_ok(&f);
    }
}

#[test]
fn example_configs_are_clean() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    for f in files_in(&dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "conf"))
    {
        let l = load_ok(&f);
        assert!(!l.config.instances.is_empty());
        // The README quick-start pair must not even warn.
        if f.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("vrrp-")
        {
            assert!(l.warnings.is_empty(), "{}: {:?}", f.display(), l.warnings);
        }
    }
}

#[test]
fn quick_start_pair_matches() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let m = load_ok(&dir.join("vrrp-master.conf")).config;
    let b = load_ok(&dir.join("vrrp-backup.conf")).config;
    let (mi, bi) = (&m.instances[0], &b.instances[0]);
    assert_eq!(mi.initial_state, InitialState::Master);
    assert_eq!(bi.initial_state, InitialState::Backup);
    assert!(mi.priority > bi.priority);
    assert_eq!(mi.virtual_router_id, bi.virtual_router_id);
    assert_eq!(mi.authentication, bi.authentication);
    assert_eq!(mi.virtual_ipaddresses, {
        let mut v = bi.virtual_ipaddresses.clone();
        v[0].origin = mi.virtual_ipaddresses[0].origin.clone();
        v
    });
    assert_eq!(mi.interface.as_deref(), Some("lbd0"));
    assert!(mi.virtual_ipaddresses[0]
        .addr
        .to_string()
        .starts_with("192.0.2."));
}

#[test]
fn snapshot_vrrp_only_master() {
    let l = load_ok(&data("vrrp-only-master.conf"));
    let c = &l.config;
    assert_eq!(c.global.router_id.as_deref(), Some("master"));
    assert!(c.global.notification_email.is_empty());
    assert!(c.global.vrrp_skip_check_adv_addr);
    assert_eq!(
        c.global.vrrp_garp_interval, None,
        "0 is ignored as keepalived does"
    );
    let i = &c.instances[0];
    assert_eq!(i.name, "VI_1");
    assert_eq!(i.origin.line, 13);
    assert_eq!(i.initial_state, InitialState::Master);
    assert_eq!(i.interface.as_deref(), Some("ens33"));
    assert_eq!((i.virtual_router_id, i.priority), (51, 100));
    assert_eq!(i.advert_int, Duration::from_secs(1));
    assert_eq!(i.version, VrrpVersion::V2);
    assert_eq!(
        i.authentication,
        Some(Authentication {
            kind: AuthType::Pass,
            password: b"1111".to_vec()
        })
    );
    assert_eq!(i.virtual_ipaddresses.len(), 1);
    let vip = &i.virtual_ipaddresses[0];
    assert_eq!(
        (vip.addr, vip.prefix_len, vip.dev.as_deref()),
        (ip("172.25.250.100"), 32, None)
    );
    let lines: Vec<u32> = l.warnings.iter().map(|w| w.line).collect();
    assert_eq!(lines, vec![4, 9, 10]);
}

#[test]
fn snapshot_dual_master() {
    let c = load_ok(&data("dual-master-node-a.conf")).config;
    assert_eq!(c.global.notification_email, vec!["xxj@192.168.100.180"]);
    assert_eq!(
        c.global.notification_email_from.as_deref(),
        Some("xiexiaojun")
    );
    assert_eq!(
        c.global.smtp_server,
        Some(SmtpServer {
            host: SmtpHost::Addr(ip("127.0.0.1")),
            port: 25
        })
    );
    assert_eq!(c.global.smtp_connect_timeout, Some(Duration::from_secs(30)));
    let s = c.script("chk_mt_down").unwrap();
    assert_eq!(s.script, "[ -f /etc/keepalived/down ] && exit 1 || exit 0");
    assert_eq!(s.interval, Duration::from_secs(1));
    assert_eq!(
        s.weight,
        TrackWeight {
            weight: -15,
            reverse: false
        }
    );
    let names: Vec<(&str, InitialState, u8, u8)> = c
        .instances
        .iter()
        .map(|i| {
            (
                i.name.as_str(),
                i.initial_state,
                i.virtual_router_id,
                i.priority,
            )
        })
        .collect();
    assert_eq!(
        names,
        vec![
            ("VI_1", InitialState::Master, 51, 100),
            ("VI_2", InitialState::Backup, 52, 90)
        ]
    );
    for i in &c.instances {
        assert_eq!(
            i.track_scripts,
            vec![TrackedScript {
                name: "chk_mt_down".into(),
                weight: None
            }]
        );
    }
    let b = load_ok(&data("dual-master-node-b.conf")).config;
    assert_eq!(b.instances[0].initial_state, InitialState::Backup);
    assert_eq!(b.instances[1].initial_state, InitialState::Master);
}

#[test]
fn snapshot_fragment_script_with_utf8_comments() {
    let l = config::load(&data("fragment-vrrp-script.conf"));
    let Err(ConfigError::Invalid { diagnostics }) = l else {
        panic!()
    };
    // The script block itself (comments in Chinese after values) parsed cleanly.
    assert!(diagnostics.iter().all(|d| d.line >= 9), "{diagnostics:?}");
}

#[test]
fn snapshot_lvs_dr() {
    let c = load_ok(&data("lvs-dr-4rs-master.conf")).config;
    assert_eq!(c.virtual_servers.len(), 1);
    let vs = &c.virtual_servers[0];
    assert_eq!(
        vs.key,
        ServiceKey::Inet {
            addr: ip("192.168.100.100"),
            port: 80
        }
    );
    assert_eq!(vs.delay_loop, Duration::from_secs(6));
    assert_eq!(vs.lb_algo, "rr");
    assert_eq!(vs.lb_kind, LbKind::Dr);
    assert_eq!(vs.persistence_timeout, Some(Duration::from_secs(50)));
    assert_eq!(vs.protocol, None);
    let rs: Vec<(IpAddr, Option<u16>, u32)> = vs
        .real_servers
        .iter()
        .map(|r| (r.addr, r.port, r.weight))
        .collect();
    assert_eq!(
        rs,
        (101..=104)
            .map(|h| (ip(&format!("192.168.200.{h}")), Some(80), 1))
            .collect::<Vec<_>>()
    );
    assert!(vs.real_servers.iter().all(|r| r.checkers.is_empty()));
}

#[test]
fn snapshot_tcp_check() {
    let l = load_ok(&data("lvs-dr-tcp-check.conf"));
    let vs = &l.config.virtual_servers[0];
    assert_eq!(vs.protocol, Some(Protocol::Tcp));
    assert_eq!(vs.real_servers.len(), 2);
    let rs = &vs.real_servers[0];
    assert_eq!((rs.addr, rs.weight), (ip("172.16.7.16"), 3));
    let ck = &rs.checkers[0];
    assert_eq!(ck.kind, CheckerKind::Tcp);
    assert_eq!(ck.common.connect_timeout, Some(Duration::from_secs(3)));
    assert_eq!(
        ck.common.retry,
        Some(3),
        "nb_get_retry is the old name of retry"
    );
    assert_eq!(ck.common.delay_before_retry, Some(Duration::from_secs(3)));
    assert_eq!(l.config.instances[0].interface.as_deref(), Some("eth1"));
}

#[test]
fn snapshot_ssl_get_track_interface() {
    let l = load_ok(&data("ssl-get-track-interface.conf"));
    let c = &l.config;
    // The stray Chinese line inside notification_email is taken as an address, as keepalived.
    assert_eq!(c.global.notification_email.len(), 4);
    let i = &c.instances[0];
    let tracked: Vec<&str> = i.track_interfaces.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(tracked, vec!["eth0", "eth1"]);
    assert_eq!(c.virtual_servers.len(), 3);
    let rs = &c.virtual_servers[0].real_servers[0];
    let CheckerKind::Http(h) = &rs.checkers[0].kind else {
        panic!("SSL_GET")
    };
    assert!(h.tls);
    assert_eq!(h.urls.len(), 2);
    assert_eq!(h.urls[0].path, "/");
    assert_eq!(h.urls[0].digest, None, "the digest line is commented out");
    assert_eq!(h.urls[0].status_codes, vec![(200, 200)]);
    assert_eq!(h.urls[1].digest.map(|d| d[0]), Some(0x9b));
    assert_eq!(
        c.virtual_servers[1].sorry_server,
        Some(SorryServer {
            addr: ip("192.168.200.200"),
            port: 1358
        })
    );
    // The stray line at top level is an unknown keyword: a warning at line 37.
    assert!(l
        .warnings
        .iter()
        .any(|w| w.line == 37 && w.message.starts_with("unknown keyword")));
}

#[test]
fn snapshot_stock_sample() {
    let c = load_ok(&data("keepalived-stock-sample.conf")).config;
    assert!(c.global.vrrp_strict);
    let i = &c.instances[0];
    let vips: Vec<IpAddr> = i.virtual_ipaddresses.iter().map(|v| v.addr).collect();
    assert_eq!(
        vips,
        vec![
            ip("192.168.200.16"),
            ip("192.168.200.17"),
            ip("192.168.200.18")
        ]
    );
    let http: Vec<usize> = c.virtual_servers[1]
        .real_servers
        .iter()
        .map(|r| match &r.checkers[0].kind {
            CheckerKind::Http(h) => h.urls.len(),
            _ => 0,
        })
        .collect();
    assert_eq!(http, vec![3, 2]);
}

#[test]
fn debian_samples_key_fields() {
    let dir = Path::new("/usr/share/doc/keepalived/samples");
    if !dir.is_dir() {
        return;
    }
    let c = load_ok(&dir.join("keepalived.conf.virtual_server_group")).config;
    let g = &c.virtual_server_groups[0];
    assert_eq!(g.members.len(), 6);
    assert_eq!(
        g.members[3],
        VsgMember::Range {
            first: ip("192.168.200.3"),
            last: ip("192.168.200.10"),
            port: 80
        }
    );
    assert_eq!(g.members[5], VsgMember::Fwmark(2));
    assert_eq!(c.virtual_servers[0].key, ServiceKey::Group("VSG_1".into()));

    let c = load_ok(&dir.join("keepalived.conf.SMTP_CHECK")).config;
    let CheckerKind::Smtp(s) = &c.virtual_servers[0].real_servers[2].checkers[0].kind else {
        panic!()
    };
    assert_eq!(s.helo_name.as_deref(), Some("foo.bar.com"));
    assert_eq!(s.hosts.len(), 3);
    assert_eq!(s.hosts[2].connect_port, Some(587));

    let c = load_ok(&dir.join("keepalived.conf.vrrp.sync")).config;
    assert!(!c.sync_groups.is_empty());
    for g in &c.sync_groups {
        assert!(g.members.iter().all(|m| c.instance(m).is_some()));
    }
}

#[test]
fn snapshot_backups_mirror_their_masters() {
    for (master, backup, prio) in [
        ("vrrp-only-master.conf", "vrrp-only-backup.conf", 99),
        ("lvs-dr-4rs-master.conf", "lvs-dr-4rs-backup.conf", 99),
    ] {
        let m = load_ok(&data(master)).config;
        let b = load_ok(&data(backup)).config;
        let (mi, bi) = (&m.instances[0], &b.instances[0]);
        assert_eq!(bi.initial_state, InitialState::Backup, "{backup}");
        assert_eq!(bi.priority, prio, "{backup}");
        assert!(mi.priority > bi.priority);
        assert_eq!(mi.virtual_router_id, bi.virtual_router_id);
        assert_eq!(mi.authentication, bi.authentication);
        let addrs = |c: &Config| {
            c.instances[0]
                .virtual_ipaddresses
                .iter()
                .map(|v| v.addr)
                .collect::<Vec<_>>()
        };
        assert_eq!(addrs(&m), addrs(&b));
        assert_eq!(m.virtual_servers, {
            // Same services, only the origins' file names differ.
            let mut vs = b.virtual_servers.clone();
            for (x, y) in vs.iter_mut().zip(&m.virtual_servers) {
                x.origin = y.origin.clone();
                for (r, s) in x.real_servers.iter_mut().zip(&y.real_servers) {
                    r.origin = s.origin.clone();
                }
            }
            vs
        });
    }
}
