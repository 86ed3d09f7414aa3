//! On-the-wire interoperability with the real keepalived 2.2.7: our sockets
//! receive its adverts (VRRPv2/IPv4 and VRRPv3/IPv6) with the IP-layer facts the
//! engine needs, and keepalived accepts ours (it yields to our higher priority,
//! which it only does for adverts passing its TTL, checksum and length checks).
//! Needs root and /usr/sbin/keepalived; skips otherwise.

mod sys_support;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lbd::daemon::sys::{RouteSocket, VrrpSocket};
use sys_support::{in_netns, is_root, NetnsPair};
use vrrp_core::wire::{Advert, AdvertRepr, Auth, Family, Version, MULTICAST_V4, MULTICAST_V6};

const KEEPALIVED: &str = "/usr/sbin/keepalived";

/// keepalived running in a namespace; killed (by its pid) and reaped on drop.
struct Keepalived {
    child: Child,
    log: PathBuf,
}

impl Keepalived {
    fn start(ns: &str, dir: &Path, ifname: &str) -> Self {
        let conf = dir.join("keepalived.conf");
        std::fs::write(
            &conf,
            format!(
                "global_defs {{\n  router_id sykeep\n}}\n\
                 vrrp_instance VI_4 {{\n  state MASTER\n  interface {ifname}\n  \
                 virtual_router_id 51\n  priority 100\n  advert_int 1\n  \
                 virtual_ipaddress {{\n    192.0.2.100/24\n  }}\n}}\n\
                 vrrp_instance VI_6 {{\n  state MASTER\n  version 3\n  interface {ifname}\n  \
                 virtual_router_id 52\n  priority 100\n  advert_int 1\n  \
                 virtual_ipaddress {{\n    2001:db8::100/64\n  }}\n}}\n"
            ),
        )
        .unwrap();
        let log = dir.join("keepalived.log");
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new("ip")
            .args([
                "netns", "exec", ns, KEEPALIVED, "-n", "-l", "-D", "-P", "-f",
            ])
            .arg(&conf)
            .arg("-p")
            .arg(dir.join("k.pid"))
            .arg("-r")
            .arg(dir.join("v.pid"))
            .arg("-c")
            .arg(dir.join("c.pid"))
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        Keepalived { child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn wait_log(&self, needle: &str, timeout: Duration) -> bool {
        sys_support::poll_until(timeout, || self.log().contains(needle).then_some(())).is_some()
    }
}

impl Drop for Keepalived {
    fn drop(&mut self) {
        // `ip netns exec` execs keepalived, so this pid is keepalived's parent
        // process; SIGTERM makes it stop its VRRP child and remove the VIPs.
        // SAFETY: signalling our own child by pid.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn recv_advert(
    sock: &mut VrrpSocket,
    vrid: u8,
    timeout: Duration,
) -> (Vec<u8>, IpAddr, IpAddr, u8) {
    let mut buf = [0u8; 2048];
    sys_support::poll_until(timeout, || loop {
        let p = sock.recv(&mut buf).unwrap()?;
        let msg = &buf[p.payload.clone()];
        if Advert::new_checked(msg, sock.family()).is_ok_and(|a| a.vrid() == vrid) {
            return Some((msg.to_vec(), p.src, p.dst, p.ttl));
        }
    })
    .unwrap_or_else(|| panic!("no advert for VRID {vrid}"))
}

fn link_local(ns: &str, ifname: &str) -> IpAddr {
    let ifname = ifname.to_owned();
    in_netns(ns, move || {
        let idx = lbd::daemon::sys::if_index(&ifname).unwrap();
        RouteSocket::open()
            .unwrap()
            .list_addresses(Some(idx))
            .unwrap()
            .into_iter()
            .map(|a| a.addr)
            .find(|a| matches!(a, IpAddr::V6(v6) if v6.segments()[0] == 0xfe80))
            .unwrap()
    })
}

#[test]
fn adverts_flow_both_ways_with_keepalived() {
    if !is_root() || !Path::new(KEEPALIVED).exists() {
        eprintln!("skipped: needs root and {KEEPALIVED}");
        return;
    }
    let pair = NetnsPair::new("ki");
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("sys_keepalived_interop");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();

    let (a4, a6) = (pair.if_a.clone(), pair.if_b.clone());
    let mut rx4 = in_netns(&pair.b, move || VrrpSocket::open(&a6, Family::V4).unwrap());
    let b_if = pair.if_b.clone();
    let mut rx6 = in_netns(&pair.b, move || {
        VrrpSocket::open(&b_if, Family::V6).unwrap()
    });
    let ka = Keepalived::start(&pair.a, &dir, &a4);

    // keepalived -> us: VRRPv2 over IPv4.
    let (msg, src, dst, ttl) = recv_advert(&mut rx4, 51, Duration::from_secs(10));
    assert_eq!(src, "192.0.2.1".parse::<IpAddr>().unwrap());
    assert_eq!(dst, IpAddr::V4(MULTICAST_V4));
    assert_eq!(ttl, 255);
    let adv = Advert::new_checked(&msg[..], Family::V4).unwrap();
    assert_eq!(adv.version(), Some(Version::V2));
    assert_eq!(adv.priority(), 100);
    assert!(adv.verify_checksum(src, dst));

    // keepalived -> us: VRRPv3 over IPv6, from its link-local address; the v3
    // checksum covers the pseudo-header, so it verifies only with the exact
    // source and destination our receive path reports.
    let ka_ll = link_local(&pair.a, &pair.if_a);
    let (msg, src, dst, ttl) = recv_advert(&mut rx6, 52, Duration::from_secs(10));
    assert_eq!(src, ka_ll);
    assert_eq!(dst, IpAddr::V6(MULTICAST_V6));
    assert_eq!(ttl, 255);
    let adv = Advert::new_checked(&msg[..], Family::V6).unwrap();
    assert_eq!(adv.version(), Some(Version::V3));
    assert!(adv.verify_checksum(src, dst));
    assert!(
        ka.wait_log("(VI_4) Entering MASTER STATE", Duration::from_secs(5)),
        "{}",
        ka.log()
    );
    assert!(
        ka.wait_log("(VI_6) Entering MASTER STATE", Duration::from_secs(5)),
        "{}",
        ka.log()
    );

    // us -> keepalived: higher-priority adverts for both; it must step down.
    let our_ll = link_local(&pair.b, &pair.if_b);
    let vip4: [IpAddr; 1] = ["192.0.2.100".parse().unwrap()];
    let vip6: [IpAddr; 1] = ["2001:db8::100".parse().unwrap()];
    let v2 = AdvertRepr {
        version: Version::V2,
        vrid: 51,
        priority: 200,
        interval_cs: 100,
        auth: Auth::None,
        addresses: &vip4,
    };
    let v3 = AdvertRepr {
        version: Version::V3,
        vrid: 52,
        priority: 200,
        interval_cs: 100,
        auth: Auth::None,
        addresses: &vip6,
    };
    let src4: IpAddr = "192.0.2.2".parse().unwrap();
    let (mcast4, mcast6) = (IpAddr::V4(MULTICAST_V4), IpAddr::V6(MULTICAST_V6));
    let mut buf4 = [0u8; 64];
    let n4 = v2.emit(&mut buf4, src4, mcast4).unwrap();
    let mut buf6 = [0u8; 64];
    let n6 = v3.emit(&mut buf6, our_ll, mcast6).unwrap();
    let deadline = Instant::now() + Duration::from_secs(8);
    let mut yielded = false;
    while Instant::now() < deadline {
        rx4.send(mcast4, Some(src4), &buf4[..n4]).unwrap();
        rx6.send(mcast6, Some(our_ll), &buf6[..n6]).unwrap();
        let log = ka.log();
        if log.contains("(VI_4) Entering BACKUP STATE")
            && log.contains("(VI_6) Entering BACKUP STATE")
        {
            yielded = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(yielded, "keepalived did not yield:\n{}", ka.log());
}
