//! Validated configuration of one virtual router (keepalived's `vrrp_instance`).
//!
//! A [`RouterConfig`] can only be obtained from [`RouterConfigBuilder::build`], which checks every
//! cross-field rule (family consistency, v2 vs v3 intervals, auth only in v2, tracker weights), so
//! the engine never has to re-validate or guess at runtime.

use std::net::IpAddr;
use std::time::Duration;

use crate::track::{TrackerConfig, TrackerId, TrackerState};
use crate::wire::{Auth, Family, Version, MULTICAST_V4, MULTICAST_V6};

/// RFC 5798 §5.2.4: priority 255 is reserved for the router that owns the virtual addresses.
pub const OWNER_PRIORITY: u8 = 255;
/// Default priority of a backup router (RFC 5798 §5.2.4 and keepalived's default).
pub const DEFAULT_PRIORITY: u8 = 100;
/// keepalived bounds `preempt_delay` to 1000 seconds.
pub const MAX_PREEMPT_DELAY: Duration = Duration::from_secs(1000);
/// keepalived bounds tracker weights to -254..=254: any larger magnitude would always saturate.
pub const MAX_TRACKER_WEIGHT: i16 = 254;

/// Every way a configuration can be rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// VRID 0 is not a valid virtual router identifier (RFC 5798 §5.2.3: 1..=255).
    #[error("virtual_router_id must be 1..=255, got 0")]
    VridZero,
    /// Priority 0 is reserved for "master is leaving" (RFC 5798 §5.2.4).
    #[error("priority must be 1..=255, got 0")]
    PriorityZero,
    /// VRRPv2 (RFC 3768) is defined for IPv4 only.
    #[error("VRRP version 2 does not support IPv6")]
    V2WithIpv6,
    /// The advertisement interval cannot be carried by the chosen version.
    #[error("advert interval {interval:?} is invalid for {version:?} ({rule})")]
    BadInterval {
        version: Version,
        interval: Duration,
        rule: &'static str,
    },
    /// An address does not belong to the family of the primary address.
    #[error("{what} {addr} is not of the same family as the primary address")]
    FamilyMismatch { what: &'static str, addr: IpAddr },
    /// An advert can list at most 255 addresses.
    #[error("at most 255 virtual addresses fit in an advert, got {0}")]
    TooManyVips(usize),
    /// The same virtual address was listed twice.
    #[error("virtual address {0} listed twice")]
    DuplicateVip(IpAddr),
    /// RFC 5798 removed authentication from VRRPv3.
    #[error("authentication is only supported with VRRP version 2")]
    AuthInV3,
    /// A tracker id was configured twice.
    #[error("tracker {0} configured twice")]
    DuplicateTracker(TrackerId),
    /// A tracker weight is outside keepalived's -254..=254.
    #[error("tracker {id} weight {weight} is outside -254..=254")]
    TrackerWeight { id: TrackerId, weight: i16 },
    /// `preempt_delay` is above keepalived's limit.
    #[error("preempt_delay {0:?} exceeds 1000 s")]
    PreemptDelay(Duration),
    /// A unicast peer is our own primary address.
    #[error("unicast peer {0} is our own primary address")]
    PeerIsSelf(IpAddr),
    /// The advert group (keepalived's `vrrp_mcast_group4/6`) is not a multicast address of the
    /// primary address's family: adverts sent there would never reach the other routers.
    #[error("advert group {0} is not a multicast address of the primary address's family")]
    NotMulticast(IpAddr),
}

/// Whether a backup takes over from a lower-priority master.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preempt {
    /// keepalived's `nopreempt`: a running master keeps its role whatever its priority.
    Disabled,
    /// Preempt (RFC default), optionally only after a lower-priority master has been seen for
    /// `delay` (keepalived's `preempt_delay`), to let a freshly booted node settle first.
    Enabled { delay: Duration },
}

/// keepalived's `state MASTER|BACKUP`: only a hint. keepalived 2.x always starts in BACKUP
/// (unless the priority is 255); a `Master` hint only shortens the first master-down timer to one
/// advert interval plus skew, so a lone node claims the addresses quickly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InitialState {
    #[default]
    Backup,
    Master,
}

/// When a new master announces its addresses (gratuitous ARP / unsolicited NA).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GarpSchedule {
    /// Announcements sent at the transition to master (`garp_master_repeat`, default 5).
    pub master_repeat: u32,
    /// Second burst this long after the transition (`garp_master_delay`, default 5 s; `None` = off).
    pub master_delay: Option<Duration>,
    /// Periodic refresh while master (`garp_master_refresh`, default off).
    pub refresh: Option<Duration>,
    /// Announcements per refresh (`garp_master_refresh_repeat`, default 1).
    pub refresh_repeat: u32,
}

impl Default for GarpSchedule {
    fn default() -> Self {
        GarpSchedule {
            master_repeat: 5,
            master_delay: Some(Duration::from_secs(5)),
            refresh: None,
            refresh_repeat: 1,
        }
    }
}

/// A validated virtual router configuration. Build it with [`RouterConfig::builder`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouterConfig {
    pub(crate) vrid: u8,
    pub(crate) priority: u8,
    pub(crate) version: Version,
    pub(crate) family: Family,
    pub(crate) interval_cs: u16,
    pub(crate) vips: Vec<IpAddr>,
    pub(crate) primary: IpAddr,
    pub(crate) auth: Auth,
    pub(crate) preempt: Preempt,
    pub(crate) accept: bool,
    pub(crate) unicast_peers: Vec<IpAddr>,
    /// Where multicast adverts go; [`MULTICAST_V4`] / [`MULTICAST_V6`] unless configured.
    pub(crate) group: IpAddr,
    pub(crate) skip_check_adv_addr: bool,
    pub(crate) garp: GarpSchedule,
    pub(crate) initial: InitialState,
    pub(crate) trackers: Vec<TrackerConfig>,
    pub(crate) lower_prio_no_advert: bool,
    pub(crate) higher_prio_send_advert: bool,
}

impl RouterConfig {
    /// Starts a configuration for virtual router `vrid`, sending from `primary` (our address on
    /// the segment; for IPv6 the link-local address). The family follows `primary`.
    pub fn builder(vrid: u8, primary: IpAddr) -> RouterConfigBuilder {
        RouterConfigBuilder {
            cfg: RouterConfig {
                vrid,
                priority: DEFAULT_PRIORITY,
                version: Version::V3,
                family: family_of(primary),
                interval_cs: 100,
                vips: Vec::new(),
                primary,
                auth: Auth::None,
                preempt: Preempt::Enabled {
                    delay: Duration::ZERO,
                },
                accept: false,
                unicast_peers: Vec::new(),
                group: default_group(family_of(primary)),
                skip_check_adv_addr: false,
                garp: GarpSchedule::default(),
                initial: InitialState::Backup,
                trackers: Vec::new(),
                lower_prio_no_advert: false,
                higher_prio_send_advert: false,
            },
            interval: Duration::from_secs(1),
        }
    }

    pub fn vrid(&self) -> u8 {
        self.vrid
    }
    /// The configured (base) priority, before trackers.
    pub fn priority(&self) -> u8 {
        self.priority
    }
    pub fn version(&self) -> Version {
        self.version
    }
    pub fn family(&self) -> Family {
        self.family
    }
    /// Our advertisement interval.
    pub fn advert_interval(&self) -> Duration {
        cs_to_duration(self.interval_cs)
    }
    /// Our advertisement interval in centiseconds, as carried on the wire.
    pub fn advert_interval_cs(&self) -> u16 {
        self.interval_cs
    }
    pub fn vips(&self) -> &[IpAddr] {
        &self.vips
    }
    pub fn primary(&self) -> IpAddr {
        self.primary
    }
    pub fn auth(&self) -> Auth {
        self.auth
    }
    pub fn preempt(&self) -> Preempt {
        self.preempt
    }
    /// RFC 5798 Accept_Mode: whether the master accepts packets addressed to the VIPs. The engine
    /// only carries it; the daemon applies it when it installs the addresses.
    pub fn accept_mode(&self) -> bool {
        self.accept
    }
    /// Unicast peers; empty means multicast to [`RouterConfig::destination_group`].
    pub fn unicast_peers(&self) -> &[IpAddr] {
        &self.unicast_peers
    }
    pub fn skip_check_adv_addr(&self) -> bool {
        self.skip_check_adv_addr
    }
    pub fn garp(&self) -> GarpSchedule {
        self.garp
    }
    pub fn initial_state(&self) -> InitialState {
        self.initial
    }
    pub fn trackers(&self) -> &[TrackerConfig] {
        &self.trackers
    }
    /// See [`RouterConfigBuilder::lower_prio_no_advert`].
    pub fn lower_prio_no_advert(&self) -> bool {
        self.lower_prio_no_advert
    }
    /// See [`RouterConfigBuilder::higher_prio_send_advert`].
    pub fn higher_prio_send_advert(&self) -> bool {
        self.higher_prio_send_advert
    }
    /// Whether we own the addresses (priority 255).
    pub fn is_owner(&self) -> bool {
        self.priority == OWNER_PRIORITY
    }
    /// The multicast group adverts go to when there are no unicast peers: the RFC's group of
    /// our family unless [`RouterConfigBuilder::multicast_group`] chose another.
    pub fn destination_group(&self) -> IpAddr {
        self.group
    }
}

fn default_group(family: Family) -> IpAddr {
    match family {
        Family::V4 => IpAddr::V4(MULTICAST_V4),
        Family::V6 => IpAddr::V6(MULTICAST_V6),
    }
}

/// Builder for [`RouterConfig`]; every setter is infallible, [`build`](Self::build) validates.
#[derive(Debug, Clone)]
pub struct RouterConfigBuilder {
    cfg: RouterConfig,
    interval: Duration,
}

impl RouterConfigBuilder {
    /// Base priority, 1..=255 (255 = address owner).
    pub fn priority(mut self, priority: u8) -> Self {
        self.cfg.priority = priority;
        self
    }
    pub fn version(mut self, version: Version) -> Self {
        self.cfg.version = version;
        self
    }
    /// `advert_int`: v2 needs whole seconds 1..=255, v3 whole centiseconds 1..=4095.
    pub fn advert_interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }
    pub fn vip(mut self, vip: IpAddr) -> Self {
        self.cfg.vips.push(vip);
        self
    }
    pub fn vips(mut self, vips: impl IntoIterator<Item = IpAddr>) -> Self {
        self.cfg.vips.extend(vips);
        self
    }
    /// v2 only: `auth_type PASS` (the password is truncated/zero-padded to 8 bytes like keepalived).
    pub fn auth(mut self, auth: Auth) -> Self {
        self.cfg.auth = auth;
        self
    }
    /// keepalived's `nopreempt`.
    pub fn nopreempt(mut self) -> Self {
        self.cfg.preempt = Preempt::Disabled;
        self
    }
    /// keepalived's `preempt_delay` (implies preemption).
    pub fn preempt_delay(mut self, delay: Duration) -> Self {
        self.cfg.preempt = Preempt::Enabled { delay };
        self
    }
    pub fn accept_mode(mut self, accept: bool) -> Self {
        self.cfg.accept = accept;
        self
    }
    pub fn unicast_peer(mut self, peer: IpAddr) -> Self {
        self.cfg.unicast_peers.push(peer);
        self
    }
    /// keepalived's `vrrp_mcast_group4` / `vrrp_mcast_group6`: send multicast adverts to
    /// `group` instead of 224.0.0.18 / ff02::12, so that several VRRP domains can share a
    /// segment without hearing each other. Every router of the domain must use the same group.
    pub fn multicast_group(mut self, group: IpAddr) -> Self {
        self.cfg.group = group;
        self
    }
    pub fn skip_check_adv_addr(mut self, skip: bool) -> Self {
        self.cfg.skip_check_adv_addr = skip;
        self
    }
    pub fn garp(mut self, garp: GarpSchedule) -> Self {
        self.cfg.garp = garp;
        self
    }
    pub fn initial_state(mut self, initial: InitialState) -> Self {
        self.cfg.initial = initial;
        self
    }
    /// keepalived's `lower_prio_no_advert` (off by default, on in its strict mode): a master
    /// that hears a lower priority (or our priority from a lower address) does not answer
    /// with an advert at once, as RFC 5798 §6.4.3 says ("discard"); its next periodic advert,
    /// on the unchanged timer, settles the election. Off, the master re-asserts at once, which
    /// ends a split brain one interval sooner but answers every stray advert.
    pub fn lower_prio_no_advert(mut self, on: bool) -> Self {
        self.cfg.lower_prio_no_advert = on;
        self
    }
    /// keepalived's `higher_prio_send_advert` (off by default, forbidden in its strict mode):
    /// a master that yields to a higher priority (or our priority from a higher address) first
    /// sends one advert of its own. The new master, hearing a lower priority, then re-announces
    /// its addresses (`garp_lower_prio_repeat`), which repairs the ARP caches the two masters
    /// fought over: the last gratuitous ARPs seen may have been ours.
    pub fn higher_prio_send_advert(mut self, on: bool) -> Self {
        self.cfg.higher_prio_send_advert = on;
        self
    }
    /// Tracks `id` (a script, interface or file the caller watches) with keepalived's weight
    /// semantics: weight > 0 adds to the priority while the tracker is up, weight < 0 subtracts
    /// while it is down, weight 0 puts the instance in FAULT while it is down.
    pub fn track(self, id: TrackerId, weight: i16) -> Self {
        self.track_with_initial(id, weight, TrackerState::Up)
    }
    /// Like [`track`](Self::track), with an explicit state before the first report.
    pub fn track_with_initial(mut self, id: TrackerId, weight: i16, initial: TrackerState) -> Self {
        self.cfg.trackers.push(TrackerConfig {
            id,
            weight,
            initial,
        });
        self
    }

    /// Checks every rule and returns the configuration.
    pub fn build(self) -> Result<RouterConfig, ConfigError> {
        let mut cfg = self.cfg;
        if cfg.vrid == 0 {
            return Err(ConfigError::VridZero);
        }
        if cfg.priority == 0 {
            return Err(ConfigError::PriorityZero);
        }
        if cfg.version == Version::V2 && cfg.family == Family::V6 {
            return Err(ConfigError::V2WithIpv6);
        }
        if cfg.version == Version::V3 && cfg.auth != Auth::None {
            return Err(ConfigError::AuthInV3);
        }
        cfg.interval_cs = interval_to_cs(cfg.version, self.interval)?;
        if !cfg.group.is_multicast() || family_of(cfg.group) != cfg.family {
            return Err(ConfigError::NotMulticast(cfg.group));
        }
        for &vip in &cfg.vips {
            if family_of(vip) != cfg.family {
                return Err(ConfigError::FamilyMismatch {
                    what: "virtual address",
                    addr: vip,
                });
            }
        }
        if cfg.vips.len() > 255 {
            return Err(ConfigError::TooManyVips(cfg.vips.len()));
        }
        for (i, vip) in cfg.vips.iter().enumerate() {
            if cfg.vips[..i].contains(vip) {
                return Err(ConfigError::DuplicateVip(*vip));
            }
        }
        for &peer in &cfg.unicast_peers {
            if family_of(peer) != cfg.family {
                return Err(ConfigError::FamilyMismatch {
                    what: "unicast peer",
                    addr: peer,
                });
            }
            if peer == cfg.primary {
                return Err(ConfigError::PeerIsSelf(peer));
            }
        }
        if let Preempt::Enabled { delay } = cfg.preempt {
            if delay > MAX_PREEMPT_DELAY {
                return Err(ConfigError::PreemptDelay(delay));
            }
        }
        for (i, t) in cfg.trackers.iter().enumerate() {
            if cfg.trackers[..i].iter().any(|o| o.id == t.id) {
                return Err(ConfigError::DuplicateTracker(t.id));
            }
            if !(-MAX_TRACKER_WEIGHT..=MAX_TRACKER_WEIGHT).contains(&t.weight) {
                return Err(ConfigError::TrackerWeight {
                    id: t.id,
                    weight: t.weight,
                });
            }
        }
        Ok(cfg)
    }
}

fn family_of(addr: IpAddr) -> Family {
    Family::of(&addr)
}

fn cs_to_duration(cs: u16) -> Duration {
    Duration::from_millis(u64::from(cs) * 10)
}

fn interval_to_cs(version: Version, interval: Duration) -> Result<u16, ConfigError> {
    let bad = |rule| ConfigError::BadInterval {
        version,
        interval,
        rule,
    };
    let nanos = interval.as_nanos();
    if nanos % 10_000_000 != 0 {
        return Err(bad("must be a whole number of centiseconds"));
    }
    let cs = nanos / 10_000_000;
    match version {
        Version::V2 => {
            if cs % 100 != 0 || !(100..=25_500).contains(&cs) {
                return Err(bad("v2 carries whole seconds 1..=255"));
            }
        }
        Version::V3 => {
            if !(1..=4095).contains(&cs) {
                return Err(bad("v3 carries 1..=4095 centiseconds"));
            }
        }
    }
    u16::try_from(cs).map_err(|_| bad("out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn v4(last: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, last))
    }

    #[test]
    fn defaults_are_keepalived_defaults() {
        let cfg = RouterConfig::builder(51, v4(1)).build().unwrap();
        assert_eq!(cfg.priority(), 100);
        assert_eq!(cfg.advert_interval(), Duration::from_secs(1));
        assert_eq!(
            cfg.preempt(),
            Preempt::Enabled {
                delay: Duration::ZERO
            }
        );
        assert_eq!(cfg.destination_group(), IpAddr::V4(MULTICAST_V4));
        assert_eq!(cfg.garp().master_repeat, 5);
        assert_eq!(cfg.garp().master_delay, Some(Duration::from_secs(5)));
    }

    #[test]
    fn rejects_invalid_fields() {
        let b = || RouterConfig::builder(51, v4(1));
        assert_eq!(
            RouterConfig::builder(0, v4(1)).build(),
            Err(ConfigError::VridZero)
        );
        assert_eq!(b().priority(0).build(), Err(ConfigError::PriorityZero));
        let v6: IpAddr = "fe80::1".parse().unwrap();
        assert_eq!(
            RouterConfig::builder(1, v6).version(Version::V2).build(),
            Err(ConfigError::V2WithIpv6)
        );
        assert!(matches!(
            b().version(Version::V2)
                .advert_interval(Duration::from_millis(500))
                .build(),
            Err(ConfigError::BadInterval { .. })
        ));
        assert!(matches!(
            b().advert_interval(Duration::from_millis(5)).build(),
            Err(ConfigError::BadInterval { .. })
        ));
        assert!(matches!(
            b().advert_interval(Duration::from_secs(41)).build(),
            Err(ConfigError::BadInterval { .. })
        ));
        assert_eq!(
            b().auth(Auth::Simple(*b"secret\0\0")).build(),
            Err(ConfigError::AuthInV3)
        );
        assert!(matches!(
            b().vip(v6).build(),
            Err(ConfigError::FamilyMismatch { .. })
        ));
        assert_eq!(
            b().vip(v4(9)).vip(v4(9)).build(),
            Err(ConfigError::DuplicateVip(v4(9)))
        );
        assert_eq!(
            b().unicast_peer(v4(1)).build(),
            Err(ConfigError::PeerIsSelf(v4(1)))
        );
        assert!(matches!(
            b().track(TrackerId(1), 255).build(),
            Err(ConfigError::TrackerWeight { .. })
        ));
        assert_eq!(
            b().track(TrackerId(1), 5).track(TrackerId(1), 5).build(),
            Err(ConfigError::DuplicateTracker(TrackerId(1)))
        );
        assert!(matches!(
            b().preempt_delay(Duration::from_secs(1001)).build(),
            Err(ConfigError::PreemptDelay(_))
        ));
    }

    #[test]
    fn multicast_group_must_be_multicast_of_our_family() {
        let b = || RouterConfig::builder(51, v4(1));
        let v6_group: IpAddr = "ff02::12".parse().unwrap();
        assert_eq!(
            b().multicast_group(v4(19)).build(),
            Err(ConfigError::NotMulticast(v4(19)))
        );
        assert_eq!(
            b().multicast_group(v6_group).build(),
            Err(ConfigError::NotMulticast(v6_group))
        );
        let v6 = RouterConfig::builder(51, "fe80::1".parse().unwrap());
        let g4 = IpAddr::V4(Ipv4Addr::new(224, 0, 0, 19));
        assert_eq!(
            v6.clone().multicast_group(g4).build(),
            Err(ConfigError::NotMulticast(g4))
        );
        let g6: IpAddr = "ff02::13".parse().unwrap();
        assert_eq!(
            v6.multicast_group(g6).build().unwrap().destination_group(),
            g6
        );
        assert_eq!(
            b().multicast_group(g4).build().unwrap().destination_group(),
            g4
        );
    }

    #[test]
    fn intervals_by_version() {
        let v2 = RouterConfig::builder(1, v4(1))
            .version(Version::V2)
            .auth(Auth::Simple(*b"1111\0\0\0\0"))
            .advert_interval(Duration::from_secs(3))
            .build()
            .unwrap();
        assert_eq!(v2.advert_interval_cs(), 300);
        let v3 = RouterConfig::builder(1, v4(1))
            .advert_interval(Duration::from_millis(10))
            .build()
            .unwrap();
        assert_eq!(v3.advert_interval_cs(), 1);
    }
}
