//! The seed configurations, through `config::load` to the IPVS table keepalived programs,
//! and health-event sequences to what keepalived does with them.

use std::path::PathBuf;

use ipvs_sys::{format, DestEntry, Request, ServiceEntry, ServiceKey, Stats, Table, VirtualServer};
use lbd::config::{self, Config};
use lbd::lvs::desired::{healthy_table, specs};
use lbd::lvs::plan::plan;
use lbd::lvs::reload::reload;
use lbd::lvs::{adopt, CheckerRef, Lvs, Notice, ScriptCause};

fn load(name: &str) -> Config {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/lvs")
        .join(name);
    match config::load(&path) {
        Ok(l) => l.config,
        Err(e) => panic!("{name}: {e:?}"),
    }
}

/// The table as `ipvsadm -Sn` prints it.
fn save(t: &Table) -> String {
    let dump: Vec<VirtualServer> = t
        .services
        .values()
        .map(|e| VirtualServer {
            entry: ServiceEntry {
                service: e.service.clone(),
                stats: Stats::default(),
            },
            dests: e
                .dests
                .values()
                .map(|d| DestEntry {
                    dest: *d,
                    active_conns: 0,
                    inactive_conns: 0,
                    persistent_conns: 0,
                    stats: Stats::default(),
                })
                .collect(),
        })
        .collect();
    format::save(&dump)
}

fn started(cfg: &Config) -> Lvs {
    let mut l = Lvs::new(specs(cfg).unwrap()).unwrap();
    l.start();
    l
}

fn logs(n: &[Notice]) -> Vec<&str> {
    n.iter()
        .filter_map(|n| match n {
            Notice::Log(l) => Some(l.as_str()),
            Notice::Script { .. } | Notice::Mail(_) => None,
        })
        .collect()
}

#[test]
fn dr_tcp_check_programs_what_keepalived_does() {
    let cfg = load("lvs-dr-tcp-check.conf");
    assert_eq!(
        save(&healthy_table(&cfg).unwrap()),
        "-A -t 172.16.7.55:80 -s rr -p 50\n\
         -a -t 172.16.7.55:80 -r 172.16.7.16:80 -g -w 3\n\
         -a -t 172.16.7.55:80 -r 172.16.7.144:80 -g -w 3\n"
    );
    let mut l = Lvs::new(specs(&cfg).unwrap()).unwrap();
    let n = l.start();
    assert_eq!(
        logs(&n),
        vec![
            "Activating healthchecker for service [172.16.7.16]:tcp:80 for VS [172.16.7.55]:tcp:80",
            "Activating healthchecker for service [172.16.7.144]:tcp:80 for VS [172.16.7.55]:tcp:80",
            "Gained quorum 1+0=1 <= 6 for VS [172.16.7.55]:tcp:80",
        ]
    );
    assert_eq!(l.table(), healthy_table(&cfg).unwrap());

    // One server fails, the other follows, then both come back.
    let rs = |i| CheckerRef {
        vs: 0,
        rs: i,
        checker: 0,
    };
    let u = l.checker(rs(0), false).unwrap();
    assert_eq!(
        u.logs(),
        vec!["Removing service [172.16.7.16]:tcp:80 from VS [172.16.7.55]:tcp:80"]
    );
    let u = l.checker(rs(1), false).unwrap();
    assert_eq!(
        u.logs(),
        vec![
            "Removing service [172.16.7.144]:tcp:80 from VS [172.16.7.55]:tcp:80",
            "Lost quorum 1-0=1 > 0 for VS [172.16.7.55]:tcp:80",
        ]
    );
    assert_eq!(save(&l.table()), "-A -t 172.16.7.55:80 -s rr -p 50\n");
    l.checker(rs(1), true).unwrap();
    let u = l.checker(rs(0), true).unwrap();
    assert_eq!(
        u.logs(),
        vec!["Adding service [172.16.7.16]:tcp:80 to VS [172.16.7.55]:tcp:80"]
    );
    assert_eq!(l.table(), healthy_table(&cfg).unwrap());
}

#[test]
fn four_real_servers_without_checkers_are_always_up() {
    let cfg = load("lvs-dr-4rs-master.conf");
    let l = started(&cfg);
    assert_eq!(l.checkers().count(), 0);
    assert_eq!(
        save(&l.table()),
        "-A -t 192.168.100.100:80 -s rr -p 50\n\
         -a -t 192.168.100.100:80 -r 192.168.200.101:80 -g -w 1\n\
         -a -t 192.168.100.100:80 -r 192.168.200.102:80 -g -w 1\n\
         -a -t 192.168.100.100:80 -r 192.168.200.103:80 -g -w 1\n\
         -a -t 192.168.100.100:80 -r 192.168.200.104:80 -g -w 1\n"
    );
    // A restart adopts the running table without touching it.
    let a = adopt(&l.table(), &started(&cfg).table(), []);
    assert!(a.requests.is_empty());
}

#[test]
fn stock_sample_sorry_server_takes_over_when_quorum_is_lost() {
    let cfg = load("keepalived-stock-sample.conf");
    let mut l = started(&cfg);
    let sorry_vs = l
        .specs()
        .position(|s| s.name.to_string() == "[10.10.10.2]:tcp:1358")
        .unwrap() as u32;
    let key = ServiceKey::tcp("10.10.10.2:1358".parse().unwrap());
    let dests = |l: &Lvs| -> Vec<(String, u32)> {
        l.table().services[&key]
            .dests
            .values()
            .map(|d| (d.addr.to_string(), d.weight))
            .collect()
    };
    assert_eq!(
        dests(&l),
        vec![
            ("192.168.200.2:1358".into(), 1),
            ("192.168.200.3:1358".into(), 1)
        ]
    );
    let c = |rs| CheckerRef {
        vs: sorry_vs,
        rs,
        checker: 0,
    };
    l.checker(c(0), false).unwrap();
    let u = l.checker(c(1), false).unwrap();
    assert_eq!(
        u.logs(),
        vec![
            "Removing service [192.168.200.3]:tcp:1358 from VS [10.10.10.2]:tcp:1358",
            "Lost quorum 1-0=1 > 0 for VS [10.10.10.2]:tcp:1358",
            "Adding sorry server [192.168.200.200]:tcp:1358 to VS [10.10.10.2]:tcp:1358",
            "Removing alive servers from the pool for VS [10.10.10.2]:tcp:1358",
        ]
    );
    assert_eq!(
        u.requests,
        vec![
            Request::DelDest {
                service: key,
                addr: "192.168.200.3:1358".parse().unwrap()
            },
            Request::NewDest {
                service: key,
                dest: ipvs_sys::Dest::new(
                    "192.168.200.200:1358".parse().unwrap(),
                    ipvs_sys::Forward::Masq,
                    1
                )
            },
        ]
    );
    assert_eq!(dests(&l), vec![("192.168.200.200:1358".into(), 1)]);
    let u = l.checker(c(0), true).unwrap();
    assert_eq!(
        u.logs(),
        vec![
            "Adding service [192.168.200.2]:tcp:1358 to VS [10.10.10.2]:tcp:1358",
            "Gained quorum 1+0=1 <= 1 for VS [10.10.10.2]:tcp:1358",
            "Removing sorry server [192.168.200.200]:tcp:1358 from VS [10.10.10.2]:tcp:1358",
            "Adding alive servers to the pool for VS [10.10.10.2]:tcp:1358",
        ]
    );
    assert_eq!(dests(&l), vec![("192.168.200.2:1358".into(), 1)]);
    // The other virtual servers never noticed.
    assert_eq!(l.table().services.len(), 3);
}

#[test]
fn ssl_get_sample_accepts_nat_mask_and_programs_nat() {
    let cfg = load("ssl-get-track-interface.conf");
    let t = healthy_table(&cfg).unwrap();
    let text = save(&t);
    assert!(
        text.contains("-A -t 192.168.100.41:80 -s rr -p 50\n"),
        "{text}"
    );
    assert!(
        text.contains("-a -t 192.168.100.41:80 -r 192.168.100.41:80 -m -w 1\n"),
        "{text}"
    );
    assert!(
        text.contains("-A -t 10.10.10.3:1358 -s rr -p 50\n"),
        "{text}"
    );
    assert_eq!(t.services.len(), 3);
}

#[test]
fn inhibit_and_scripts_on_a_seed_config() {
    let text = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/lvs/lvs-dr-tcp-check.conf"),
    )
    .unwrap()
    .replace(
        "    protocol TCP",
        "    protocol TCP\n    inhibit_on_failure\n    quorum_down /usr/local/bin/page-oncall",
    );
    let cfg = config::load_str("inhibit.conf", &text).unwrap().config;
    let mut l = started(&cfg);
    l.checker(
        CheckerRef {
            vs: 0,
            rs: 0,
            checker: 0,
        },
        false,
    )
    .unwrap();
    let u = l
        .checker(
            CheckerRef {
                vs: 0,
                rs: 1,
                checker: 0,
            },
            false,
        )
        .unwrap();
    assert_eq!(
        u.logs(),
        vec![
            "Disabling service [172.16.7.144]:tcp:80 of VS [172.16.7.55]:tcp:80",
            "Lost quorum 1-0=1 > 0 for VS [172.16.7.55]:tcp:80",
        ]
    );
    assert!(u.notices.contains(&Notice::Script {
        command: "/usr/local/bin/page-oncall".into(),
        cause: ScriptCause::QuorumDown
    }));
    // Both stay in IPVS at weight 0: established connections are not cut.
    assert_eq!(
        save(&l.table()),
        "-A -t 172.16.7.55:80 -s rr -p 50\n\
         -a -t 172.16.7.55:80 -r 172.16.7.16:80 -g -w 0\n\
         -a -t 172.16.7.55:80 -r 172.16.7.144:80 -g -w 0\n"
    );
}

#[test]
fn reload_of_a_seed_config_with_one_weight_edit() {
    let old = load("lvs-dr-tcp-check.conf");
    let text = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/lvs/lvs-dr-tcp-check.conf"),
    )
    .unwrap()
    .replacen("weight 3", "weight 5", 1);
    let new = config::load_str("new.conf", &text).unwrap().config;
    let running = started(&old);
    let r = reload(&running, specs(&new).unwrap()).unwrap();
    assert_eq!(r.update.requests.len(), 1);
    assert_eq!(r.kept.len(), 2);
    let p = plan(Some(&old), &new, &running.table()).unwrap();
    assert_eq!(
        p.lines,
        vec!["~ TCP 172.16.7.55:80 -> 172.16.7.16:80 weight 3 -> 5"]
    );
}

#[test]
fn restart_after_kill_adopts_the_kernel_without_re_adding_a_failed_server() {
    let cfg = load("lvs-dr-tcp-check.conf");
    // The first daemon ran, saw 172.16.7.144 fail, and was killed.
    let mut first = started(&cfg);
    first
        .checker(
            CheckerRef {
                vs: 0,
                rs: 1,
                checker: 0,
            },
            false,
        )
        .unwrap();
    let mut kernel = first.table();
    // Someone else's service shares the kernel.
    let foreign = ServiceKey::tcp("198.51.100.7:25".parse().unwrap());
    kernel.insert_service(ipvs_sys::Service::new(foreign, "wlc"));

    let mut second = started(&cfg);
    second.assume_from_kernel(&kernel);
    let a = adopt(&kernel, &second.table(), []);
    assert!(a.requests.is_empty(), "{:?}", a.requests);
    assert_eq!(a.foreign, vec![foreign]);
    assert_eq!(second.is_alive(0, 1), Some(false));
    // Its next success brings it back as usual.
    let u = second
        .checker(
            CheckerRef {
                vs: 0,
                rs: 1,
                checker: 0,
            },
            true,
        )
        .unwrap();
    assert_eq!(
        u.logs(),
        vec!["Adding service [172.16.7.144]:tcp:80 to VS [172.16.7.55]:tcp:80"]
    );
}
