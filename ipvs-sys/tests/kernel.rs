//! Tests against a real IPVS kernel. This machine's kernel has none, so they
//! are `#[ignore]`d and run inside the VM:
//!
//! ```text
//! export CARGO_TARGET_DIR=/work/target/ipvs
//! cargo build -p lbd && cargo test -p ipvs-sys --no-run   # prints tests/kernel.rs's binary
//! testbed/vm-run -- /work/target/ipvs/debug/deps/kernel-HASH --ignored --test-threads=1
//! ```
//!
//! Each test runs in a fresh network namespace (IPVS state is per netns).
//! Without IPVS a test fails if `LBD_KERNEL_TESTS` is set, and is skipped
//! otherwise. `lbd` is found via `LBD_BIN` or next to this test's directory.
//! The bench (`bench_10k_services`) prints timings; run it with
//! `--ignored --nocapture bench`.

use ipvs_sys::*;
use std::collections::BTreeSet;
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// True when IPVS is here; panics or skips otherwise (see the module docs).
fn kernel() -> bool {
    if std::path::Path::new("/proc/net/ip_vs").exists() {
        // SAFETY: unshare(2) affects only this thread's network namespace.
        let r = unsafe { libc::unshare(libc::CLONE_NEWNET) };
        assert_eq!(
            r,
            0,
            "unshare(CLONE_NEWNET): {}",
            std::io::Error::last_os_error()
        );
        // Without lo up there is no local routing table, and the kernel
        // refuses IPv4 destinations as "not unicast".
        sh("ip link set lo up");
        return true;
    }
    if std::env::var_os("LBD_KERNEL_TESTS").is_some() {
        panic!("this kernel has no IPVS (/proc/net/ip_vs missing): run via testbed/vm-run");
    }
    eprintln!("skipped: no IPVS in this kernel; run via testbed/vm-run");
    false
}

fn lbd_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("LBD_BIN") {
        return p.into();
    }
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/kernel-HASH -> target/<profile>/lbd
    let p = exe.parent().unwrap().parent().unwrap().join("lbd");
    assert!(
        p.exists(),
        "{} missing: run `cargo build -p lbd` or set LBD_BIN",
        p.display()
    );
    p
}

/// Runs a program (in this thread's netns); returns (status, stdout, stderr).
fn run(
    prog: impl AsRef<std::ffi::OsStr>,
    args: &[&str],
    stdin: Option<&str>,
) -> (i32, String, String) {
    let mut child = Command::new(prog)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(s) = stdin {
        input.write_all(s.as_bytes()).unwrap();
    }
    drop(input);
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ipvsadm(args: &[&str], stdin: Option<&str>) -> String {
    let (code, out, err) = run("ipvsadm", args, stdin);
    assert_eq!(code, 0, "ipvsadm {args:?} failed: {err}");
    out
}

fn lbd(args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    let mut full = vec!["ipvs"];
    full.extend_from_slice(args);
    run(lbd_bin(), &full, stdin)
}

fn sh(cmd: &str) {
    let (code, _, err) = run("sh", &["-c", cmd], None);
    assert_eq!(code, 0, "{cmd}: {err}");
}

fn tcp(s: &str) -> ServiceKey {
    ServiceKey::tcp(s.parse().unwrap())
}

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// A table exercising every feature ipvsadm can show: both families, TCP,
/// UDP, SCTP, fwmark (v4 and v6), schedulers and their flags, persistence
/// with netmasks, one-packet, NAT/DR/TUN (ipip, gue, gre) and thresholds.
const RULES: &str = "\
-A -t 192.0.2.1:80 -s rr
-a -t 192.0.2.1:80 -r 198.51.100.2:8080 -m -w 2
-a -t 192.0.2.1:80 -r 198.51.100.1:8080 -m -w 1
-A -t 192.0.2.1:443 -s wlc -p 300 -M 255.255.255.0
-a -t 192.0.2.1:443 -r 198.51.100.3:443 -g -w 1
-a -t 192.0.2.1:443 -r 198.51.100.4:443 -i -w 1 --tun-type gue --tun-port 6080 --tun-csum
-A -u 192.0.2.2:53 -s sh -o -b sh-fallback,sh-port
-a -u 192.0.2.2:53 -r 198.51.100.5:53 -g -w 0
-A -t [2001:db8::1]:80 -s mh -p 60 -M 64 -b mh-port
-a -t [2001:db8::1]:80 -r [2001:db8::10]:80 -m -w 5
-a -t [2001:db8::1]:80 -r [2001:db8::11]:80 -i -w 1 --tun-type gre --tun-csum
-A -f 1 -s lc
-a -f 1 -r 198.51.100.6:0 -g -w 1
-a -f 1 -r [2001:db8::12]:0 -i -w 1 --tun-type ipip
-A -f 2 -6 -s lblc
-a -f 2 -6 -r [2001:db8::13]:0 -g -w 1
-A --sctp-service 192.0.2.3:5000 -s dh
-a --sctp-service 192.0.2.3:5000 -r 198.51.100.7:5000 -m -w 3
-A -t 192.0.2.4:1 -s wrr
-A -t 192.0.2.4:2 -s lblcr -p
-A -t 192.0.2.4:3 -s sed
-A -t 192.0.2.4:4 -s nq
-A -t 192.0.2.4:5 -s fo
-A -t 192.0.2.4:6 -s ovf
-A -u [2001:db8::2]:5060 -s rr -p 30 --pe sip
-a -u [2001:db8::2]:5060 -r [2001:db8::14]:5060 -m -w 1
";

/// Thresholds are not in -S output; set some through ipvsadm directly.
const THRESHOLDS: &str = "-e -t 192.0.2.1:80 -r 198.51.100.2:8080 -m -w 2 -x 100 -y 10\n";

#[test]
#[ignore = "needs an IPVS kernel: run via testbed/vm-run"]
fn every_command() {
    if !kernel() {
        return;
    }
    let mut c = Client::connect().unwrap();
    let info = c.info().unwrap();
    assert!(info.version >= 0x010200, "{info:?}");
    assert!(info.conn_tab_size > 0);

    // Timeouts: set, get; zero leaves a value alone.
    c.set_timeouts(Timeouts {
        tcp: 901,
        tcp_fin: 121,
        udp: 301,
    })
    .unwrap();
    c.set_timeouts(Timeouts {
        tcp: 0,
        tcp_fin: 122,
        udp: 0,
    })
    .unwrap();
    assert_eq!(
        c.timeouts().unwrap(),
        Timeouts {
            tcp: 901,
            tcp_fin: 122,
            udp: 301
        }
    );

    // Services of every kind.
    let web = tcp("192.0.2.1:80");
    let mut s = Service::new(web, "rr");
    c.add_service(&s).unwrap();
    assert!(matches!(c.add_service(&s), Err(Error::ServiceExists(k)) if k == web));
    let v6 = ServiceKey::udp(sa("[2001:db8::1]:53"));
    let mut s6 = Service::new(v6, "sh");
    s6.one_packet = true;
    s6.sched_flags = SchedFlags::FALLBACK;
    c.add_service(&s6).unwrap();
    let fwm = ServiceKey::Fwmark {
        family: Family::V6,
        mark: 0xdead,
    };
    let mut sf = Service::new(fwm, "mh");
    sf.persistence = Some(Persistence {
        timeout: 120,
        netmask: Netmask::V6(48),
    });
    c.add_service(&sf).unwrap();
    let sctp = ServiceKey::Inet {
        protocol: Protocol::Sctp,
        addr: sa("192.0.2.3:9"),
    };
    c.add_service(&Service::new(sctp, "wlc")).unwrap();

    assert_eq!(c.service(v6).unwrap().service, s6);
    assert_eq!(c.service(fwm).unwrap().service, sf);
    let missing = tcp("192.0.2.99:1");
    assert!(matches!(c.service(missing), Err(Error::NoSuchService(k)) if k == missing));

    // Edit in place.
    s.scheduler = "wrr".into();
    s.persistence = Some(Persistence {
        timeout: 30,
        netmask: Netmask::V4(Ipv4Addr::new(255, 255, 0, 0)),
    });
    c.edit_service(&s).unwrap();
    assert_eq!(c.service(web).unwrap().service, s);
    assert!(matches!(
        c.edit_service(&Service::new(missing, "rr")),
        Err(Error::NoSuchService(_))
    ));
    match c.add_service(&Service::new(tcp("192.0.2.1:81"), "nosuchsched")) {
        Err(e @ Error::SchedulerNotFound(_)) => {
            assert_eq!(
                e.to_string(),
                "scheduler 'nosuchsched' not found: modprobe ip_vs_nosuchsched"
            )
        }
        other => panic!("{other:?}"),
    }

    // Destinations: NAT, DR, every tunnel type, thresholds, mixed family.
    let dests = [
        Dest::new(sa("198.51.100.1:8080"), Forward::Masq, 1),
        Dest {
            upper_threshold: 50,
            lower_threshold: 5,
            ..Dest::new(sa("198.51.100.2:80"), Forward::Route, 2)
        },
        Dest::new(sa("198.51.100.3:80"), Forward::Tunnel(Tunnel::Ipip), 3),
        Dest::new(
            sa("198.51.100.4:80"),
            Forward::Tunnel(Tunnel::Gue {
                port: 6080,
                csum: TunnelCsum::RemoteCsum,
            }),
            4,
        ),
        Dest::new(
            sa("198.51.100.5:80"),
            Forward::Tunnel(Tunnel::Gre {
                csum: TunnelCsum::Csum,
            }),
            5,
        ),
        Dest::new(sa("[2001:db8::5]:80"), Forward::Tunnel(Tunnel::Ipip), 6),
    ];
    for d in &dests {
        c.add_dest(web, d).unwrap();
    }
    assert!(matches!(
        c.add_dest(web, &dests[0]),
        Err(Error::DestExists { .. })
    ));
    assert!(matches!(
        c.add_dest(missing, &dests[0]),
        Err(Error::NoSuchService(_))
    ));
    let got: BTreeSet<_> = c
        .dests(web)
        .unwrap()
        .into_iter()
        .map(|e| format!("{:?}", e.dest))
        .collect();
    let want: BTreeSet<_> = dests.iter().map(|d| format!("{d:?}")).collect();
    assert_eq!(got, want);

    let edited = Dest {
        weight: 9,
        forward: Forward::Masq,
        ..dests[2]
    };
    c.edit_dest(web, &edited).unwrap();
    assert!(c.dests(web).unwrap().iter().any(|e| e.dest == edited));
    let ghost = Dest::new(sa("198.51.100.77:80"), Forward::Masq, 1);
    assert!(matches!(
        c.edit_dest(web, &ghost),
        Err(Error::NoSuchDest { .. })
    ));
    c.delete_dest(web, dests[0].addr).unwrap();
    assert!(matches!(
        c.delete_dest(web, dests[0].addr),
        Err(Error::NoSuchDest { .. })
    ));
    assert_eq!(c.dests(web).unwrap().len(), dests.len() - 1);
    // DR to a destination of another family is refused before sending.
    let bad = Dest::new(sa("[2001:db8::9]:80"), Forward::Route, 1);
    assert!(matches!(c.add_dest(web, &bad), Err(Error::Invalid(_))));

    // Zero one service and everything.
    c.zero(Some(web)).unwrap();
    c.zero(None).unwrap();
    assert!(matches!(
        c.zero(Some(missing)),
        Err(Error::NoSuchService(_))
    ));

    // The sync protocol refuses to start while destinations of another
    // family exist.
    c.delete_dest(web, dests[5].addr).unwrap();

    // Sync daemons on a veth in this namespace.
    sh("ip link add ipvsa type veth peer name ipvsb && ip link set ipvsa up && ip link set ipvsb up");
    assert!(c.daemons().unwrap().is_empty());
    let mut m = Daemon::new(DaemonRole::Master, "ipvsa", 7);
    m.mcast_group = Some("239.1.1.1".parse().unwrap());
    m.mcast_port = 8850;
    m.mcast_ttl = 3;
    m.sync_maxlen = 1400;
    c.start_daemon(&m).unwrap();
    assert!(matches!(
        c.start_daemon(&m),
        Err(Error::DaemonRunning(DaemonRole::Master))
    ));
    c.start_daemon(&Daemon::new(DaemonRole::Backup, "ipvsb", 8))
        .unwrap();
    let ds = c.daemons().unwrap();
    assert_eq!(ds.len(), 2, "{ds:?}");
    let got_m = ds.iter().find(|d| d.role == DaemonRole::Master).unwrap();
    assert_eq!(got_m, &m);
    // ipvsadm agrees with our rendering of the daemons.
    let (_, ours, _) = lbd(&["list", "--daemon"], None);
    assert_eq!(ours, ipvsadm(&["-L", "--daemon"], None));
    c.stop_daemon(DaemonRole::Master).unwrap();
    c.stop_daemon(DaemonRole::Backup).unwrap();
    assert!(matches!(
        c.stop_daemon(DaemonRole::Master),
        Err(Error::NoDaemon(_))
    ));

    // Delete and flush.
    c.delete_service(sctp).unwrap();
    assert!(matches!(
        c.delete_service(sctp),
        Err(Error::NoSuchService(_))
    ));
    assert_eq!(c.services().unwrap().len(), 3);
    c.flush().unwrap();
    assert!(c.services().unwrap().is_empty());
}

#[test]
#[ignore = "needs an IPVS kernel: run via testbed/vm-run"]
fn all_schedulers() {
    if !kernel() {
        return;
    }
    let mut c = Client::connect().unwrap();
    let scheds = [
        "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh",
        "twos",
    ];
    let mut have = Vec::new();
    for (i, sched) in scheds.iter().enumerate() {
        let k = tcp(&format!("192.0.2.10:{}", 100 + i));
        match c.add_service(&Service::new(k, *sched)) {
            Ok(()) => have.push(*sched),
            // twos is newer than Debian 12's 6.1 kernel.
            Err(Error::SchedulerNotFound(s)) if s == "twos" => {}
            Err(e) => panic!("{sched}: {e}"),
        }
    }
    let mut dumped: Vec<String> = c
        .services()
        .unwrap()
        .into_iter()
        .map(|e| e.service.scheduler)
        .collect();
    dumped.sort();
    have.sort();
    assert_eq!(dumped, have);
}

/// `lbd ipvs list|save` against ipvsadm on the same kernel table.
#[test]
#[ignore = "needs an IPVS kernel: run via testbed/vm-run"]
fn list_and_save_match_ipvsadm() {
    if !kernel() {
        return;
    }
    ipvsadm(&["-R"], Some(&format!("{RULES}{THRESHOLDS}")));
    ipvsadm(&["--set", "900", "120", "300"], None);
    let cases: &[&[&str]] = &[
        &[],
        &["--stats"],
        &["--rate"],
        &["--thresholds"],
        &["--persistent-conn"],
        &["--tun-info"],
        &["--stats", "--exact"],
        &["--nosort"],
        &["--timeout"],
        &["--daemon"],
        &["-t", "192.0.2.1:443"],
        &["-f", "2", "-6"],
        &["-u", "[2001:db8::2]:5060", "--stats"],
    ];
    for extra in cases {
        let mut theirs = vec!["-Ln"];
        theirs.extend_from_slice(extra);
        let mut ours = vec!["list", "-n"];
        ours.extend_from_slice(extra);
        let expected = ipvsadm(&theirs, None);
        let (code, got, err) = lbd(&ours, None);
        assert_eq!(code, 0, "lbd {ours:?}: {err}");
        assert_eq!(
            got, expected,
            "lbd ipvs {ours:?} differs from ipvsadm {theirs:?}"
        );
    }
    let (code, got, err) = lbd(&["save"], None);
    assert_eq!(code, 0, "{err}");
    assert_eq!(got, ipvsadm(&["-Sn"], None));
    // The table is really what the rules say (ipvsadm sorts; so do we).
    assert!(
        got.contains("-a -f 1 -r [2001:db8::12]:0 -i -w 1 --tun-type ipip\n"),
        "{got}"
    );
}

#[test]
#[ignore = "needs an IPVS kernel: run via testbed/vm-run"]
fn save_restore_round_trip() {
    if !kernel() {
        return;
    }
    ipvsadm(&["-R"], Some(RULES));
    let saved = ipvsadm(&["-Sn"], None);
    let (code, _, err) = lbd(&["clear"], None);
    assert_eq!(code, 0, "{err}");
    assert_eq!(ipvsadm(&["-Sn"], None), "");
    let (code, _, err) = lbd(&["restore"], Some(&saved));
    assert_eq!(code, 0, "{err}");
    assert_eq!(ipvsadm(&["-Sn"], None), saved);
    let (code, ours, _) = lbd(&["save", "-n"], None);
    assert_eq!(code, 0);
    assert_eq!(ours, saved);
    // A failing line is reported with its number; the others still apply.
    let (code, _, err) = lbd(
        &["restore"],
        Some("-A -t 192.0.2.9:1 -s rr\n-A -t 192.0.2.1:80 -s rr\n"),
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("line 2: service TCP 192.0.2.1:80 already exists"),
        "{err}"
    );
    assert!(ipvsadm(&["-Sn"], None).contains("-A -t 192.0.2.9:1 -s rr\n"));
    // Bad input: exit 2 and a line number, nothing applied.
    let (code, _, err) = lbd(
        &["restore"],
        Some("-A -t 192.0.2.8:1 -s rr\n-A -t nohost:1\n"),
    );
    assert_eq!(code, 2);
    assert!(err.contains("line 2"), "{err}");
    assert!(!ipvsadm(&["-Sn"], None).contains("192.0.2.8"));
}

#[test]
#[ignore = "needs an IPVS kernel: run via testbed/vm-run"]
fn cli_verbs() {
    if !kernel() {
        return;
    }
    let ok = |args: &[&str]| {
        let (code, out, err) = lbd(args, None);
        assert_eq!(code, 0, "lbd ipvs {args:?}: {err}");
        out
    };
    ok(&["add", "-t", "192.0.2.1:80", "-s", "rr", "-p", "120"]);
    ok(&[
        "add",
        "-t",
        "192.0.2.1:80",
        "-r",
        "198.51.100.1:8080",
        "-m",
        "-w",
        "3",
    ]);
    ok(&["add", "-u", "[2001:db8::1]:53", "-s", "sh", "-b", "sh-port"]);
    ok(&[
        "add",
        "-u",
        "[2001:db8::1]:53",
        "-r",
        "2001:db8::2",
        "-i",
        "--tun-type",
        "gue",
        "--tun-port",
        "5555",
    ]);
    ok(&["edit", "-t", "192.0.2.1:80", "-s", "wlc"]);
    ok(&[
        "edit",
        "-t",
        "192.0.2.1:80",
        "-r",
        "198.51.100.1:8080",
        "-m",
        "-w",
        "7",
    ]);
    ok(&["set", "100", "20", "30"]);
    ok(&["zero"]);
    ok(&["zero", "-t", "192.0.2.1:80"]);
    assert_eq!(
        ipvsadm(&["-Sn"], None),
        "-A -t 192.0.2.1:80 -s wlc\n\
         -a -t 192.0.2.1:80 -r 198.51.100.1:8080 -m -w 7\n\
         -A -u [2001:db8::1]:53 -s sh -b sh-port\n\
         -a -u [2001:db8::1]:53 -r [2001:db8::2]:53 -i -w 1 --tun-type gue --tun-port 5555 --tun-nocsum\n"
    );
    assert_eq!(
        ipvsadm(&["-L", "--timeout"], None),
        "Timeout (tcp tcpfin udp): 100 20 30\n"
    );
    ok(&["delete", "-t", "192.0.2.1:80", "-r", "198.51.100.1:8080"]);
    ok(&["delete", "-t", "192.0.2.1:80"]);
    // Errors: clear messages, ipvsadm-like exit codes.
    let (code, _, err) = lbd(&["delete", "-t", "192.0.2.1:80"], None);
    assert_eq!(code, 1);
    assert!(
        err.contains("service TCP 192.0.2.1:80 does not exist"),
        "{err}"
    );
    let (code, _, err) = lbd(&["add", "-t", "192.0.2.5:80", "-s", "bogus"], None);
    assert_eq!(code, 1);
    assert!(
        err.contains("scheduler 'bogus' not found: modprobe ip_vs_bogus"),
        "{err}"
    );
    let (code, _, err) = lbd(&["add", "-t", "192.0.2.5:80", "-w", "1"], None);
    assert_eq!(code, 2, "{err}");
    let (code, _, _) = lbd(&["set", "1", "x", "3"], None);
    assert_eq!(code, 2);
    ok(&["clear"]);
    assert_eq!(ipvsadm(&["-Sn"], None), "");
}

fn big_table(services: usize, dests: usize) -> Table {
    let mut t = Table::new();
    for i in 0..services {
        let ip = Ipv4Addr::from(u32::from(Ipv4Addr::new(192, 0, 2, 0)) + (i / 60000) as u32);
        let key = ServiceKey::tcp(SocketAddr::new(ip.into(), (i % 60000 + 1) as u16));
        t.insert_service(Service::new(key, "wlc"));
        for d in 0..dests {
            let rip = Ipv4Addr::new(198, 51, 100, (d + 1) as u8);
            t.insert_dest(
                key,
                Dest::new(SocketAddr::new(rip.into(), 8080), Forward::Masq, 1),
            );
        }
    }
    t
}

fn table_rules(t: &Table) -> String {
    let mut s = String::new();
    for (k, e) in &t.services {
        let ServiceKey::Inet { addr, .. } = k else {
            unreachable!()
        };
        s.push_str(&format!("-A -t {addr} -s {}\n", e.service.scheduler));
        for d in e.dests.values() {
            s.push_str(&format!("-a -t {addr} -r {} -m -w {}\n", d.addr, d.weight));
        }
    }
    s
}

/// More than one receive buffer of services, batched programming with few
/// syscalls, and diff-and-apply converging with a no-op second pass.
#[test]
#[ignore = "needs an IPVS kernel: run via testbed/vm-run"]
fn large_tables_batching_and_reconcile() {
    if !kernel() {
        return;
    }
    let mut c = Client::connect().unwrap();
    let desired = big_table(10_050, 2);
    let reqs = diff(&Table::new(), &desired);
    assert_eq!(reqs.len(), 10_050 * 3);
    let report = c.apply(&reqs).unwrap();
    assert!(report.failures.is_empty(), "{:?}", report.failures.first());
    assert_eq!(report.succeeded, reqs.len());
    // Far fewer syscalls than requests.
    assert!(report.sends * 100 < reqs.len(), "{report:?}");
    assert!(report.receives * 10 < reqs.len(), "{report:?}");
    // The dump spans many datagrams.
    assert_eq!(c.services().unwrap().len(), 10_050);

    // Change a few things: reconcile applies exactly those.
    let mut want = desired.clone();
    let keys: Vec<ServiceKey> = want.services.keys().copied().take(3).collect();
    want.services.remove(&keys[0]);
    want.insert_service(Service::new(keys[1], "rr"));
    let d = *want.services[&keys[2]].dests.values().next().unwrap();
    want.insert_dest(keys[2], Dest { weight: 9, ..d });
    want.insert_dest(
        keys[2],
        Dest::new(sa("198.51.100.200:8080"), Forward::Masq, 1),
    );
    let (changes, report) = c.reconcile(&want).unwrap();
    assert_eq!(changes.len(), 4, "{changes:?}");
    assert!(report.failures.is_empty());
    let now = Table::from_dump(&c.table().unwrap());
    assert_eq!(now, want);
    let (changes, _) = c.reconcile(&want).unwrap();
    assert!(changes.is_empty());
}

/// The parallel destination dumps read what one socket reads, in the same
/// order; the record path sends only the changes and keeps the record true;
/// `verify_services` sees a flushed, deleted or edited service (and, as
/// documented, not an unrelated service or a changed destination).
#[test]
#[ignore = "needs an IPVS kernel: run via testbed/vm-run"]
fn parallel_dump_and_recorded_reconcile() {
    if !kernel() {
        return;
    }
    let mut c = Client::connect().unwrap();
    let mut desired = big_table(300, 3);
    // One service whose destinations take several datagrams.
    let many = *desired.services.keys().nth(150).unwrap();
    for i in 0..400u32 {
        let rip = Ipv4Addr::from(u32::from(Ipv4Addr::new(198, 51, 100, 0)) + i / 200);
        let port = 1000 + (i % 200) as u16;
        desired.insert_dest(
            many,
            Dest::new(SocketAddr::new(rip.into(), port), Forward::Masq, 1),
        );
    }
    let (_, report) = c.reconcile(&desired).unwrap();
    assert!(report.failures.is_empty());
    c.set_dump_workers(1);
    let serial = c.table().unwrap();
    c.set_dump_workers(3);
    let parallel = c.table().unwrap();
    assert_eq!(serial, parallel);
    assert_eq!(serial.len(), 300);
    let order: Vec<ServiceKey> = c
        .services()
        .unwrap()
        .iter()
        .map(|e| e.service.key)
        .collect();
    let got: Vec<ServiceKey> = parallel.iter().map(|v| v.entry.service.key).collect();
    assert_eq!(order, got, "ipvsadm's order (the service dump's)");
    assert_eq!(Table::from_dump(&parallel), desired);

    let mut recorded = c.read_table().unwrap();
    assert!(c.verify_services(&recorded).unwrap());
    let (changes, _) = c.reconcile_recorded(&mut recorded, &desired).unwrap();
    assert!(changes.is_empty());

    // A few changes: exactly those are sent, and the record follows.
    let mut want = desired.clone();
    let keys: Vec<ServiceKey> = want.services.keys().copied().take(3).collect();
    want.services.remove(&keys[0]);
    want.insert_service(Service::new(keys[1], "rr"));
    want.insert_dest(
        keys[2],
        Dest::new(sa("198.51.100.200:8080"), Forward::Masq, 4),
    );
    let (changes, report) = c.reconcile_recorded(&mut recorded, &want).unwrap();
    assert_eq!(changes.len(), 3, "{changes:?}");
    assert!(report.failures.is_empty());
    assert_eq!(recorded, want);
    assert_eq!(c.read_table().unwrap(), want);

    // A rejected request leaves the record as it was.
    let ghost = tcp("192.0.2.250:1");
    let mut with_ghost = want.clone();
    with_ghost.insert_service(Service::new(ghost, "nosuchsched"));
    let (_, report) = c.reconcile_recorded(&mut recorded, &with_ghost).unwrap();
    assert_eq!(report.failures.len(), 1);
    assert_eq!(recorded, want);

    // Drift behind our back.
    let k = keys[1];
    let vip = match k {
        ServiceKey::Inet { addr, .. } => addr.to_string(),
        _ => unreachable!(),
    };
    ipvsadm(&["-A", "-t", "192.0.2.251:1", "-s", "rr"], None);
    assert!(c.verify_services(&recorded).unwrap(), "unrelated service");
    ipvsadm(&["-d", "-t", &vip, "-r", "198.51.100.1:8080"], None);
    assert!(
        c.verify_services(&recorded).unwrap(),
        "destinations are not compared"
    );
    ipvsadm(&["-E", "-t", &vip, "-s", "wlc"], None);
    assert!(!c.verify_services(&recorded).unwrap(), "edited service");
    ipvsadm(&["-E", "-t", &vip, "-s", "rr"], None);
    ipvsadm(&["-D", "-t", &vip], None);
    assert!(!c.verify_services(&recorded).unwrap(), "deleted service");
    c.flush().unwrap();
    assert!(!c.verify_services(&recorded).unwrap(), "flush");
    // The fallback: read the kernel, then the record path repairs it all.
    recorded = c.read_table().unwrap();
    let (_, report) = c.reconcile_recorded(&mut recorded, &want).unwrap();
    assert!(report.failures.is_empty());
    assert_eq!(c.read_table().unwrap(), want);
    assert!(c.verify_services(&recorded).unwrap());
}

/// Why `table()` reads destinations on several sockets rather than
/// pipelining the dumps on one: the kernel runs one dump per socket at a
/// time and answers a second dump request with EBUSY.
#[test]
#[ignore = "needs an IPVS kernel: run via testbed/vm-run"]
fn one_socket_runs_one_dump_at_a_time() {
    use ipvs_sys::netlink::{messages, Reply};
    use ipvs_sys::socket::NetlinkSocket;
    if !kernel() {
        return;
    }
    let mut c = Client::connect().unwrap();
    let (a, b) = (tcp("192.0.2.1:80"), tcp("192.0.2.2:80"));
    for k in [a, b] {
        c.add_service(&Service::new(k, "rr")).unwrap();
        c.add_dest(k, &Dest::new(sa("198.51.100.1:80"), Forward::Masq, 1))
            .unwrap();
    }
    let sock = NetlinkSocket::open(libc::NETLINK_GENERIC, 1 << 20).unwrap();
    let mut tx = bytes::BytesMut::new();
    Query::Dests(a).encode(&mut tx, c.family_id(), 1);
    Query::Dests(b).encode(&mut tx, c.family_id(), 2);
    sock.send(&tx).unwrap();
    let (mut first_done, mut second) = (false, None);
    let mut buf = vec![0u8; 65536];
    while !(first_done && second.is_some()) {
        let n = sock.recv(&mut buf, Duration::from_secs(5)).unwrap();
        for m in messages(&buf[..n]) {
            match Reply::parse(m.unwrap()).unwrap() {
                Reply::Done { seq: 1, errno: 0 } => first_done = true,
                Reply::Error { seq: 2, errno, .. } => second = Some(errno),
                Reply::Data { seq: 2, .. } | Reply::Done { seq: 2, .. } => second = Some(0),
                _ => {}
            }
        }
    }
    assert_eq!(second, Some(libc::EBUSY));
}

/// Empties the current namespace's table, then moves to a fresh namespace.
/// IPVS keeps the services of every namespace in one global hash table, and
/// a namespace left full is torn down asynchronously: its services would
/// lengthen the hash chains (and its teardown take CPU) during the next
/// measurements, and its deletions would shift the index that service dumps
/// resume from, making them skip services.
fn leave_netns(c: &mut Client) {
    c.flush().unwrap();
    assert!(kernel());
    // Lets the old namespace's teardown (its destinations' trash) finish.
    std::thread::sleep(Duration::from_secs(3));
}

/// Median and best of `runs` timings of `f`, printed as one bench line.
fn timed(what: &str, runs: usize, mut f: impl FnMut()) -> (Duration, Duration) {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    let (median, best) = (times[runs / 2], times[0]);
    println!("bench: {what}: median {median:?}, best {best:?} ({runs} runs)");
    (median, best)
}

/// 10,000 services x 4 destinations: `ipvsadm -R` vs the ipvs-sys batch
/// (cold), then the no-op reconciliations a daemon runs: against the
/// kernel's full table, against its record, and against its record checked
/// by one service dump. Prints timings (run with a release build; see
/// ipvs-sys/README.md). Each load runs in its own fresh network namespace
/// (see [`leave_netns`]): after a flush the kernel keeps deleted
/// destinations in a trash list that it scans linearly on every add, which
/// would skew the later measurements.
#[test]
#[ignore = "bench; needs an IPVS kernel: run via testbed/vm-run with --nocapture"]
fn bench_10k_services() {
    if !kernel() {
        return;
    }
    let desired = big_table(10_000, 4);
    let reqs = diff(&Table::new(), &desired);
    let rules = table_rules(&desired);

    let t = Instant::now();
    ipvsadm(&["-R"], Some(&rules));
    let ipvsadm_r = t.elapsed();
    println!("bench: ipvsadm -R of {} rules: {ipvsadm_r:?}", reqs.len());
    let mut c = Client::connect().unwrap();

    // Only when an lbd binary is at hand (a release bench builds just this test).
    if std::env::var_os("LBD_BIN").is_some() {
        leave_netns(&mut c);
        let t = Instant::now();
        let (code, _, err) = lbd(&["restore"], Some(&rules));
        assert_eq!(code, 0, "{err}");
        println!(
            "bench: lbd ipvs restore of the same rules: {:?}",
            t.elapsed()
        );
        c = Client::connect().unwrap();
    }

    let mut colds = Vec::new();
    for _ in 0..3 {
        leave_netns(&mut c);
        c = Client::connect().unwrap();
        let t = Instant::now();
        let report = c.apply(&reqs).unwrap();
        colds.push(t.elapsed());
        assert!(report.failures.is_empty());
        assert_eq!(report.succeeded, reqs.len());
        println!(
            "bench: cold ipvs-sys apply of {} requests: {:?} ({} sendto, {} recvmmsg)",
            reqs.len(),
            colds.last().unwrap(),
            report.sends,
            report.receives
        );
    }
    colds.sort();
    let (cold, cold_best) = (colds[1], colds[0]);
    println!(
        "bench: cold apply: median {cold:?}, best {cold_best:?}; vs ipvsadm -R: {:.1}x faster (median), {:.1}x (best)",
        ipvsadm_r.as_secs_f64() / cold.as_secs_f64(),
        ipvsadm_r.as_secs_f64() / cold_best.as_secs_f64()
    );

    c.set_dump_workers(1);
    timed("full dump, one socket", 3, || {
        assert_eq!(c.table().unwrap().len(), 10_000);
    });
    c.set_dump_workers(4);
    timed("full dump, 4 sockets (one thread each)", 3, || {
        assert_eq!(c.table().unwrap().len(), 10_000);
    });
    c.set_dump_workers(2);
    timed("full dump, 2 sockets (one thread each)", 3, || {
        assert_eq!(c.table().unwrap().len(), 10_000);
    });
    assert_eq!(c.read_table().unwrap(), desired);

    assert_eq!(c.services().unwrap().len(), 10_000);
    timed("no-op reconcile: full dump + diff", 3, || {
        let (changes, report) = c.reconcile(&desired).unwrap();
        assert!(changes.is_empty() && report.failures.is_empty());
    });

    let t = Instant::now();
    let mut recorded = c.read_table().unwrap();
    println!("bench: recording the table (read_table): {:?}", t.elapsed());
    let (noop, noop_best) = timed("no-op reconcile_recorded (the record)", 21, || {
        let (changes, _) = c.reconcile_recorded(&mut recorded, &desired).unwrap();
        assert!(changes.is_empty());
    });
    println!(
        "bench: no-op against the record vs cold apply: 1/{:.0} (median), 1/{:.0} (best)",
        cold.as_secs_f64() / noop.as_secs_f64(),
        cold.as_secs_f64() / noop_best.as_secs_f64()
    );
    timed("verify_services + no-op reconcile_recorded", 5, || {
        assert!(c.verify_services(&recorded).unwrap());
        let (changes, _) = c.reconcile_recorded(&mut recorded, &desired).unwrap();
        assert!(changes.is_empty());
    });
    assert_eq!(recorded, desired);
}
