//! Sans-IO VRRP engine: VRRPv2 ([RFC 3768]) and VRRPv3 ([RFC 5798]) with keepalived's
//! operational behaviour (preemption control, tracked objects, sync groups).
//!
//! The engine never touches a socket, a clock or a thread. Like `quinn-proto`, it is driven by
//! its caller:
//!
//! * inputs: [`VirtualRouter::handle_packet`] (a received VRRP message plus what the IP header
//!   said), [`VirtualRouter::handle_timeout`], [`VirtualRouter::set_tracker`],
//!   [`VirtualRouter::shutdown`], each with the current [`std::time::Instant`];
//! * outputs: [`VirtualRouter::poll_transmit`] (adverts to send),
//!   [`VirtualRouter::poll_event`] (state changes with their [`Reason`], and actions such as
//!   [`Event::AddVips`] or [`Event::Announce`]), and [`VirtualRouter::poll_timeout`] (when to
//!   call `handle_timeout` next).
//!
//! Because time is an argument, the whole protocol can be simulated deterministically and much
//! faster than real time; the crate's tests do so with lossy, partitioned, crashing networks.
//!
//! # Map of the crate
//!
//! * [`config`]: [`RouterConfig`], validated by its builder (VRID, priority, version, interval,
//!   VIPs, auth, `nopreempt` / `preempt_delay`, unicast peers, GARP schedule, trackers).
//! * [`router`]: [`VirtualRouter`], the RFC 5798 §6 state machine with keepalived's behaviours
//!   (start in BACKUP, immediate re-assertion against a lower-priority master unless
//!   `lower_prio_no_advert`, a parting advert with `higher_prio_send_advert`, priority 0 when
//!   leaving MASTER for FAULT or shutdown).
//! * [`timing`]: Skew_Time and Master_Down_Interval for v2 and v3.
//! * [`track`]: tracked objects and keepalived's weight arithmetic.
//! * [`sync`]: [`SyncGroup`], members that change role together.
//! * [`event`]: [`Event`], [`Reason`] (keepalived's log wording), [`Transmit`], [`Stats`].
//! * [`wire`]: the advert codec and receive validation.
//!
//! # Example: two routers exchanging adverts by hand
//!
//! ```
//! use std::net::IpAddr;
//! use std::time::{Duration, Instant};
//! use vrrp_core::wire::{RxMeta, TTL};
//! use vrrp_core::{Event, Reason, RouterConfig, State, VirtualRouter};
//!
//! let vip: IpAddr = "192.0.2.100".parse().unwrap();
//! let a_ip: IpAddr = "192.0.2.1".parse().unwrap();
//! let b_ip: IpAddr = "192.0.2.2".parse().unwrap();
//! let config = |primary, priority| {
//!     RouterConfig::builder(51, primary)
//!         .priority(priority)
//!         .advert_interval(Duration::from_secs(1))
//!         .vip(vip)
//!         .build()
//! };
//! let t0 = Instant::now();
//! let mut a = VirtualRouter::new(config(a_ip, 150)?, t0);
//! let mut b = VirtualRouter::new(config(b_ip, 100)?, t0);
//! assert_eq!(a.state(), State::Backup); // everyone starts as backup (unless priority 255)
//!
//! // Nobody is master: A, with the higher priority, has the shorter master-down timer.
//! let t1 = a.poll_timeout().unwrap();
//! assert!(t1 < b.poll_timeout().unwrap());
//! a.handle_timeout(t1);
//! assert_eq!(a.state(), State::Master);
//! let mut events = Vec::new();
//! while let Some(e) = a.poll_event() {
//!     events.push(e);
//! }
//! assert!(events.contains(&Event::StateChanged {
//!     from: State::Backup,
//!     to: State::Master,
//!     reason: Reason::AdvertTimeout,
//! }));
//! assert!(events.contains(&Event::AddVips)); // the daemon installs 192.0.2.100 now
//!
//! // A's advert goes to the multicast group; "deliver" it to B.
//! let mut buf = [0u8; 128];
//! let tx = a.poll_transmit(t1, &mut buf).unwrap();
//! let meta = RxMeta { src: tx.src, dst: tx.dst, ttl: TTL };
//! b.handle_packet(t1, meta, &buf[..tx.len]);
//! assert_eq!(b.master().map(|m| m.addr), Some(a_ip));
//! // B now waits Master_Down_Interval = 3 * 1 s + (256 - 100) / 256 s before giving up on A.
//! assert_eq!(b.poll_timeout(), Some(t1 + Duration::from_micros(3_609_375)));
//!
//! // A shuts down: it releases the VIP and sends priority 0; B takes over after Skew_Time.
//! let t2 = t1 + Duration::from_millis(500);
//! a.shutdown(t2);
//! let tx = a.poll_transmit(t2, &mut buf).unwrap();
//! b.handle_packet(t2, RxMeta { src: tx.src, dst: tx.dst, ttl: TTL }, &buf[..tx.len]);
//! let t3 = b.poll_timeout().unwrap();
//! assert_eq!(t3, t2 + b.skew());
//! b.handle_timeout(t3);
//! assert_eq!(b.state(), State::Master);
//! # Ok::<(), vrrp_core::ConfigError>(())
//! ```
//!
//! [RFC 3768]: https://www.rfc-editor.org/rfc/rfc3768
//! [RFC 5798]: https://www.rfc-editor.org/rfc/rfc5798

pub mod config;
pub mod event;
pub mod router;
pub mod sync;
pub mod timing;
pub mod track;
pub mod wire;

pub use config::{
    ConfigError, GarpSchedule, InitialState, Preempt, RouterConfig, RouterConfigBuilder,
};
pub use event::{DropReason, Event, Reason, State, Stats, Transmit};
pub use router::{PeerMaster, VirtualRouter};
pub use sync::{SyncGroup, SyncGroupError};
pub use track::{TrackerConfig, TrackerId, TrackerState, UnknownTracker};
