//! Two routers on a pretend LAN, printed the way keepalived logs: election, a tracked script
//! failing on the master (weight -60), preemption by the backup, and a graceful shutdown.
//!
//! Run with `cargo run -p vrrp-core --example failover`.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use vrrp_core::wire::{RxMeta, TTL};
use vrrp_core::{Event, RouterConfig, TrackerId, TrackerState, VirtualRouter};

const CHK_HAPROXY: TrackerId = TrackerId(1);

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let vip: IpAddr = "192.0.2.100".parse()?;
    let config = |primary: &str, priority| -> Result<RouterConfig, Box<dyn std::error::Error>> {
        Ok(RouterConfig::builder(51, primary.parse()?)
            .priority(priority)
            .vip(vip)
            .track(CHK_HAPROXY, -60)
            .build()?)
    };
    let t0 = Instant::now();
    let mut routers = [
        ("node-a", VirtualRouter::new(config("192.0.2.1", 150)?, t0)),
        ("node-b", VirtualRouter::new(config("192.0.2.2", 120)?, t0)),
    ];
    let mut now = t0;
    let end = t0 + Duration::from_secs(30);
    let mut buf = [0u8; 256];
    while now < end {
        // What happens at this instant, scripted.
        if now >= t0 + Duration::from_secs(10)
            && routers[0].1.tracker(CHK_HAPROXY) == Some(TrackerState::Up)
        {
            println!(
                "[{:>6.3}s] node-a: script chk_haproxy failed",
                (now - t0).as_secs_f64()
            );
            routers[0]
                .1
                .set_tracker(now, CHK_HAPROXY, TrackerState::Down)?;
        }
        if now >= t0 + Duration::from_secs(20)
            && routers[1].1.state() != vrrp_core::State::Initialize
        {
            routers[1].1.shutdown(now);
        }
        for i in 0..routers.len() {
            routers[i].1.handle_timeout(now);
            while let Some(tx) = routers[i].1.poll_transmit(now, &mut buf) {
                let meta = RxMeta {
                    src: tx.src,
                    dst: tx.dst,
                    ttl: TTL,
                };
                for (j, (_, peer)) in routers.iter_mut().enumerate() {
                    if j != i {
                        peer.handle_packet(now, meta, &buf[..tx.len]);
                    }
                }
            }
        }
        for (name, r) in &mut routers {
            while let Some(event) = r.poll_event() {
                let at = (now - t0).as_secs_f64();
                match event {
                    Event::StateChanged { to, reason, .. } => {
                        println!("[{at:>6.3}s] {name}: ({reason}) Entering {to} STATE")
                    }
                    Event::PriorityChanged { from, to } => {
                        println!("[{at:>6.3}s] {name}: priority {from} -> {to}")
                    }
                    other => println!("[{at:>6.3}s] {name}: {other:?}"),
                }
            }
        }
        // Sleep until the next timer or the next scripted action.
        let next_script = [10, 20, 30]
            .map(|s| t0 + Duration::from_secs(s))
            .into_iter()
            .find(|&t| t > now)
            .unwrap_or(end);
        now = routers
            .iter()
            .filter_map(|(_, r)| r.poll_timeout())
            .fold(next_script, Instant::min);
    }
    Ok(())
}
