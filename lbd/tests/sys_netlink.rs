//! rtnetlink: address add/del/list with label, scope and broadcast, idempotency
//! outcomes, and link up/down events. Each test in its own namespaces. Needs root.

mod sys_support;

use std::net::IpAddr;
use std::process::Command;
use std::time::Duration;

use lbd::daemon::sys::{
    if_index, if_name, AddrError, AddrSpec, LinkMonitor, NetEvent, RouteSocket, Scope, Subscription,
};
use mio::{Events, Interest, Poll, Token};
use sys_support::{in_netns, ip_in, is_root, NetnsPair};

fn ip_json(ns: &str, ifname: &str) -> String {
    let out = Command::new("ip")
        .args(["-n", ns, "-j", "addr", "show", "dev", ifname])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn address_add_list_delete() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let pair = NetnsPair::new("ad");
    let ifname = pair.if_a.clone();
    let label = format!("{ifname}:vip");
    let (listed, listed6) = in_netns(&pair.a, {
        let ifname = ifname.clone();
        let label = label.clone();
        move || {
            let idx = if_index(&ifname).unwrap();
            assert_eq!(if_name(idx).as_deref(), Some(ifname.as_str()));
            let mut rt = RouteSocket::open().unwrap();
            let mut v4 = AddrSpec::new(idx, "198.51.100.10".parse().unwrap(), 24);
            v4.label = Some(label.clone());
            v4.scope = Scope::Link;
            v4.broadcast = Some("198.51.100.255".parse().unwrap());
            rt.add_address(&v4).unwrap();
            // Second add of the same address: distinct, adoptable outcome.
            assert!(matches!(rt.add_address(&v4), Err(AddrError::AlreadyExists)));
            let v6 = AddrSpec::new(idx, "2001:db8:1::10".parse().unwrap(), 64);
            rt.add_address(&v6).unwrap();
            assert!(matches!(rt.add_address(&v6), Err(AddrError::AlreadyExists)));

            let listed = rt.list_addresses(Some(idx)).unwrap();
            assert!(listed.iter().all(|a| a.ifindex == idx));
            let a4 = listed
                .iter()
                .find(|a| a.addr == v4.addr)
                .cloned()
                .expect("v4 listed");
            let a6 = listed
                .iter()
                .find(|a| a.addr == v6.addr)
                .cloned()
                .expect("v6 listed");
            // Listing all interfaces includes loopback's 127.0.0.1 too.
            let all = rt.list_addresses(None).unwrap();
            assert!(all.iter().any(|a| a.addr == IpAddr::from([127, 0, 0, 1])));
            (a4, a6)
        }
    });
    assert_eq!(listed.prefix_len, 24);
    assert_eq!(listed.label.as_deref(), Some(label.as_str()));
    assert_eq!(listed.scope, Some(Scope::Link));
    assert_eq!(listed.broadcast, Some("198.51.100.255".parse().unwrap()));
    assert!(
        !listed6.tentative,
        "IPv6 VIP added with nodad must be usable at once"
    );

    // Cross-check with iproute2's view.
    let json = ip_json(&pair.a, &ifname);
    assert!(json.contains("\"local\":\"198.51.100.10\""), "{json}");
    assert!(json.contains(&format!("\"label\":\"{label}\"")), "{json}");
    assert!(json.contains("\"broadcast\":\"198.51.100.255\""), "{json}");
    assert!(json.contains("\"local\":\"2001:db8:1::10\""), "{json}");

    in_netns(&pair.a, {
        let ifname = ifname.clone();
        move || {
            let idx = if_index(&ifname).unwrap();
            let mut rt = RouteSocket::open().unwrap();
            for (addr, len) in [("198.51.100.10", 24), ("2001:db8:1::10", 64)] {
                let spec = AddrSpec::new(idx, addr.parse().unwrap(), len);
                rt.del_address(&spec).unwrap();
                assert!(matches!(rt.del_address(&spec), Err(AddrError::NotPresent)));
            }
            let bad = AddrSpec::new(9999, "198.51.100.11".parse().unwrap(), 24);
            assert!(matches!(
                rt.add_address(&bad),
                Err(AddrError::NoSuchInterface)
            ));
            // Rejected before reaching the kernel.
            let mut wrong = AddrSpec::new(idx, "198.51.100.12".parse().unwrap(), 33);
            assert!(matches!(rt.add_address(&wrong), Err(AddrError::Invalid(_))));
            wrong.prefix_len = 24;
            wrong.label = Some("x".repeat(16));
            assert!(matches!(rt.add_address(&wrong), Err(AddrError::Invalid(_))));
        }
    });
    let json = ip_json(&pair.a, &ifname);
    assert!(!json.contains("198.51.100.10"), "{json}");
    assert!(!json.contains("2001:db8:1::10"), "{json}");
}

/// Reads events through mio until `want` matches one or the time runs out.
fn wait_event(
    mon: &mut LinkMonitor,
    poll: &mut Poll,
    mut want: impl FnMut(&NetEvent) -> bool,
) -> NetEvent {
    let mut events = Events::with_capacity(8);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let mut seen = Vec::new();
    loop {
        let mut out = Vec::new();
        mon.drain(&mut out).unwrap();
        if let Some(ev) = out.iter().find(|e| want(e)) {
            return ev.clone();
        }
        seen.extend(out);
        assert!(
            std::time::Instant::now() < deadline,
            "expected event not seen; got {seen:?}"
        );
        if let Err(e) = poll.poll(&mut events, Some(Duration::from_millis(200))) {
            assert_eq!(e.kind(), std::io::ErrorKind::Interrupted, "poll: {e}");
        }
    }
}

#[test]
fn link_and_address_events() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let pair = NetnsPair::new("lk");
    let (mut mon, snapshot) = in_netns(&pair.a, || LinkMonitor::open(Subscription::ALL).unwrap());
    let me = snapshot
        .iter()
        .find(|l| l.name == pair.if_a)
        .expect("veth in snapshot")
        .clone();
    assert!(me.is_up());
    assert!(me.mac.is_some());
    assert!(snapshot.iter().any(|l| l.name == "lo"));

    let mut poll = Poll::new().unwrap();
    poll.registry()
        .register(&mut mon, Token(1), Interest::READABLE)
        .unwrap();

    ip_in(&pair.a, &["link", "set", &pair.if_a, "down"]);
    let down = wait_event(
        &mut mon,
        &mut poll,
        |e| matches!(e, NetEvent::Link(l) if l.ifindex == me.ifindex && !l.is_up()),
    );
    if let NetEvent::Link(l) = down {
        assert!(!l.admin_up);
    }

    ip_in(&pair.a, &["link", "set", &pair.if_a, "up"]);
    wait_event(
        &mut mon,
        &mut poll,
        |e| matches!(e, NetEvent::Link(l) if l.ifindex == me.ifindex && l.is_up()),
    );

    // Carrier loss: the peer going down makes our end lose its carrier while
    // staying administratively up (what track_interface must notice too).
    ip_in(&pair.b, &["link", "set", &pair.if_b, "down"]);
    wait_event(
        &mut mon,
        &mut poll,
        |e| matches!(e, NetEvent::Link(l) if l.ifindex == me.ifindex && l.admin_up && !l.oper_up),
    );
    ip_in(&pair.b, &["link", "set", &pair.if_b, "up"]);
    wait_event(
        &mut mon,
        &mut poll,
        |e| matches!(e, NetEvent::Link(l) if l.ifindex == me.ifindex && l.is_up()),
    );

    // A VIP removed behind the daemon's back.
    ip_in(
        &pair.a,
        &["addr", "add", "198.51.100.20/32", "dev", &pair.if_a],
    );
    wait_event(
        &mut mon,
        &mut poll,
        |e| matches!(e, NetEvent::AddrAdded(a) if a.addr == IpAddr::from([198, 51, 100, 20])),
    );
    ip_in(
        &pair.a,
        &["addr", "del", "198.51.100.20/32", "dev", &pair.if_a],
    );
    wait_event(
        &mut mon,
        &mut poll,
        |e| matches!(e, NetEvent::AddrRemoved(a) if a.addr == IpAddr::from([198, 51, 100, 20])),
    );

    ip_in(&pair.a, &["link", "del", &pair.if_a]);
    wait_event(
        &mut mon,
        &mut poll,
        |e| matches!(e, NetEvent::LinkRemoved { ifindex, .. } if *ifindex == me.ifindex),
    );
}
