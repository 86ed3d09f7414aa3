//! From the configuration model to what the runtime starts: one [`InstancePlan`] per
//! `vrrp_instance`, grouped into [`UnitPlan`]s (a sync group, or a lone instance), with every
//! kernel name resolved (interface index, primary address) and every tracked object given a
//! stable [`TrackerId`].
//!
//! Plans are plain values compared with `==` on reload: an instance whose plan did not change
//! keeps its running router (no VIP flap, no new election).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use vrrp_core::wire::{Auth, Family, Version};
use vrrp_core::{GarpSchedule, RouterConfig, RouterConfigBuilder, TrackerId, TrackerState};

use super::sys::{AddrSpec, Address, Scope};
use crate::config::{
    AddrScope, AuthType, Broadcast, Config, GarpSettings, InitialState, NotifyScripts, TrackWeight,
    VirtualIp, VrrpInstance, VrrpVersion,
};

/// keepalived's defaults for the gratuitous ARP schedule.
const DEFAULT_GARP_DELAY: Duration = Duration::from_secs(5);
const DEFAULT_GARP_REPEAT: u32 = 5;

/// A tracked object, named as the configuration names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TrackKey {
    /// An interface: the instance's own (FAULT when down) or a `track_interface` entry.
    Interface(String),
    /// A `vrrp_script`.
    Script(String),
    /// A `vrrp_track_file`.
    File(String),
}

/// How one instance uses one tracked object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Binding {
    pub id: TrackerId,
    /// keepalived semantics, as the engine takes them: > 0 added while up, < 0 added while
    /// down, 0 = FAULT while down.
    pub weight: i16,
    /// `weight N reverse`: the engine is told the opposite of the object's state (and the
    /// weight's sign is flipped), so that the adjustment goes the other way.
    pub reverse: bool,
}

impl Binding {
    fn new(id: TrackerId, weight: Option<TrackWeight>) -> Self {
        match weight {
            None => Binding {
                id,
                weight: 0,
                reverse: false,
            },
            Some(w) if w.reverse => Binding {
                id,
                weight: -w.weight,
                reverse: true,
            },
            Some(w) => Binding {
                id,
                weight: w.weight,
                reverse: false,
            },
        }
    }

    /// The weight as configured (before `reverse` flipped it).
    pub fn configured_weight(&self) -> i16 {
        if self.reverse {
            -self.weight
        } else {
            self.weight
        }
    }

    /// The state the engine must be told when the object is `state`.
    pub fn engine_state(&self, state: TrackerState) -> TrackerState {
        match (self.reverse, state) {
            (false, s) => s,
            (true, TrackerState::Up) => TrackerState::Down,
            (true, TrackerState::Down) => TrackerState::Up,
        }
    }
}

/// Everything needed to run one `vrrp_instance`.
#[derive(Debug, Clone)]
pub struct InstancePlan {
    pub name: String,
    pub ifname: String,
    pub ifindex: u32,
    pub family: Family,
    /// Validated with every tracker up; compared on reload.
    pub router: RouterConfig,
    /// The same without trackers, to rebuild with the trackers' current states at start.
    builder: RouterConfigBuilder,
    pub bindings: Vec<Binding>,
    /// `virtual_ipaddress` then `virtual_ipaddress_excluded`: installed while MASTER.
    pub vips: Vec<AddrSpec>,
    /// Interface name of each entry of `vips` (for logs and announcements).
    pub vip_devs: Vec<String>,
    pub notify: NotifyScripts,
    /// Spacing of the announcements of one burst (`vrrp_garp_interval` / `vrrp_gna_interval`).
    pub announce_interval: Duration,
    /// The sync group this instance belongs to.
    pub group: Option<String>,
    /// What a master sends when it hears a lower-priority advert.
    pub lower_prio_garp: LowerPrioGarp,
}

/// keepalived's `garp_lower_prio_repeat` / `garp_lower_prio_delay`: a master that hears a
/// lower-priority advert (a peer that believes it is master: split brain healing, or a peer
/// that lost its trackers) re-announces its VIPs at once, and again after `delay`, so that
/// switches and hosts that followed the other master come back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LowerPrioGarp {
    /// Announcements per VIP in each burst; 0 disables both bursts.
    pub repeat: u32,
    /// When the second burst follows the first; `None`: no second burst.
    pub delay: Option<Duration>,
}

impl PartialEq for InstancePlan {
    fn eq(&self, other: &Self) -> bool {
        // `builder` is derived from the same fields as `router`.
        self.name == other.name
            && self.ifname == other.ifname
            && self.ifindex == other.ifindex
            && self.family == other.family
            && self.router == other.router
            && self.bindings == other.bindings
            && self.vips == other.vips
            && self.vip_devs == other.vip_devs
            && self.notify == other.notify
            && self.announce_interval == other.announce_interval
            && self.group == other.group
            && self.lower_prio_garp == other.lower_prio_garp
    }
}

impl InstancePlan {
    /// The router configuration with each tracker starting in the state the engine must see
    /// for that binding now (`engine_state`, which already accounts for `reverse`).
    pub fn router_config(&self, engine_state: impl Fn(&Binding) -> TrackerState) -> RouterConfig {
        let mut b = self.builder.clone();
        for bind in &self.bindings {
            b = b.track_with_initial(bind.id, bind.weight, engine_state(bind));
        }
        // Validated in `plan_instance` with the same fields; tracker initial states cannot
        // make it fail. Fall back to the validated copy rather than panic.
        b.build().unwrap_or_else(|_| self.router.clone())
    }
}

/// Instances that run as one engine: a sync group, or a single instance.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitPlan {
    /// The sync group's name; `None` for a lone instance.
    pub group: Option<String>,
    pub group_notify: NotifyScripts,
    pub members: Vec<InstancePlan>,
}

/// Why an instance cannot run (yet).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("no interface configured")]
    NoInterface,
    /// The interface does not exist (yet): retried when links change.
    #[error("interface {0} not found")]
    UnknownInterface(String),
    /// No usable source address on the interface (yet): retried when addresses change.
    #[error("no {family} address on {ifname} to send adverts from")]
    NoPrimary {
        ifname: String,
        family: &'static str,
    },
    #[error("auth_type AH is not supported (RFC 3768 withdrew it); use PASS or none")]
    AuthAh,
    #[error("virtual address {addr}: {reason}")]
    Vip { addr: IpAddr, reason: String },
    #[error("{0}")]
    Router(#[from] vrrp_core::ConfigError),
    #[error("sync group member {0} failed to plan")]
    GroupMember(String),
}

impl PlanError {
    /// Errors that can go away by themselves when interfaces or addresses appear.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            PlanError::UnknownInterface(_) | PlanError::NoPrimary { .. }
        )
    }
}

/// What the planner needs to know about the kernel.
pub trait NetView {
    fn ifindex(&self, name: &str) -> Option<u32>;
    /// Every address of every interface.
    fn addresses(&self) -> &[Address];
}

/// Stable ids for tracked objects across reloads: an object keeps its id for the life of the
/// daemon, so a router kept across a reload still names the right trackers.
#[derive(Debug, Default)]
pub struct TrackerIds {
    ids: HashMap<TrackKey, TrackerId>,
}

impl TrackerIds {
    pub fn id(&mut self, key: &TrackKey) -> TrackerId {
        let next = TrackerId(u32::try_from(self.ids.len()).unwrap_or(u32::MAX));
        *self.ids.entry(key.clone()).or_insert(next)
    }
}

/// The whole plan: units that can run, instances that cannot (with why).
#[derive(Debug, Default)]
pub struct Plan {
    pub units: Vec<UnitPlan>,
    pub failed: Vec<(String, PlanError)>,
    /// Every tracked object some unit uses, with its id.
    pub tracked: Vec<(TrackKey, TrackerId)>,
}

pub fn plan(config: &Config, net: &dyn NetView, ids: &mut TrackerIds) -> Plan {
    let mut out = Plan::default();
    // Our VIPs are never anybody's primary address (a leftover VIP from a killed run must not
    // be picked as the advert source).
    let all_vips: Vec<IpAddr> = config
        .instances
        .iter()
        .flat_map(|i| {
            i.virtual_ipaddresses
                .iter()
                .chain(&i.virtual_ipaddresses_excluded)
        })
        .map(|v| v.addr)
        .collect();
    let mut planned: HashMap<&str, Result<InstancePlan, PlanError>> = HashMap::new();
    for inst in &config.instances {
        let group = config
            .sync_groups
            .iter()
            .find(|g| g.members.contains(&inst.name));
        planned.insert(
            &inst.name,
            plan_instance(config, inst, group, net, &all_vips, ids),
        );
    }
    let mut grouped = Vec::new();
    for g in &config.sync_groups {
        let mut members = Vec::new();
        let mut bad = None;
        for name in &g.members {
            grouped.push(name.as_str());
            match planned.get(name.as_str()) {
                Some(Ok(p)) => members.push(p.clone()),
                Some(Err(e)) => {
                    out.failed.push((name.clone(), e.clone()));
                    bad.get_or_insert_with(|| e.is_transient());
                }
                None => {}
            }
        }
        match bad {
            None if !members.is_empty() => out.units.push(UnitPlan {
                group: Some(g.name.clone()),
                group_notify: g.notify.clone(),
                members,
            }),
            _ => {
                for m in members {
                    out.failed
                        .push((m.name, PlanError::GroupMember(g.name.clone())));
                }
            }
        }
    }
    for inst in &config.instances {
        if grouped.contains(&inst.name.as_str()) {
            continue;
        }
        match planned.remove(inst.name.as_str()) {
            Some(Ok(p)) => out.units.push(UnitPlan {
                group: None,
                group_notify: NotifyScripts::default(),
                members: vec![p],
            }),
            Some(Err(e)) => out.failed.push((inst.name.clone(), e)),
            None => {}
        }
    }
    let mut seen = Vec::new();
    for b in out
        .units
        .iter()
        .flat_map(|u| &u.members)
        .flat_map(|m| &m.bindings)
    {
        if !seen.contains(&b.id) {
            seen.push(b.id);
        }
    }
    out.tracked = ids
        .ids
        .iter()
        .filter(|(_, id)| seen.contains(id))
        .map(|(k, id)| (k.clone(), *id))
        .collect();
    out.tracked.sort_by_key(|(_, id)| *id);
    out
}

fn instance_family(inst: &VrrpInstance) -> Family {
    if inst.native_ipv6 {
        return Family::V6;
    }
    let first = inst
        .virtual_ipaddresses
        .first()
        .map(|v| v.addr)
        .or(inst.unicast_src_ip)
        .or(inst.unicast_peers.first().map(|p| p.addr));
    match first {
        Some(IpAddr::V6(_)) => Family::V6,
        _ => Family::V4,
    }
}

fn plan_instance(
    config: &Config,
    inst: &VrrpInstance,
    group: Option<&crate::config::SyncGroup>,
    net: &dyn NetView,
    all_vips: &[IpAddr],
    ids: &mut TrackerIds,
) -> Result<InstancePlan, PlanError> {
    let ifname = inst.interface.clone().ok_or(PlanError::NoInterface)?;
    let ifindex = net
        .ifindex(&ifname)
        .ok_or_else(|| PlanError::UnknownInterface(ifname.clone()))?;
    let family = instance_family(inst);
    let primary = match inst.unicast_src_ip.or(inst.mcast_src_ip) {
        Some(a) => a,
        None => primary_address(net.addresses(), ifindex, family, all_vips).ok_or_else(|| {
            PlanError::NoPrimary {
                ifname: ifname.clone(),
                family: if family == Family::V4 {
                    "IPv4"
                } else {
                    "IPv6 link-local"
                },
            }
        })?,
    };
    let version = match inst.version {
        VrrpVersion::V2 => Version::V2,
        VrrpVersion::V3 => Version::V3,
    };
    let auth = match &inst.authentication {
        None => Auth::None,
        Some(a) if a.kind == AuthType::Ah => return Err(PlanError::AuthAh),
        // RFC 5798 has no authentication; keepalived ignores it for v3 (with a warning).
        Some(_) if version == Version::V3 => Auth::None,
        Some(a) => Auth::simple(&a.password),
    };
    let global = &config.global;
    let strict = inst.strict(global);
    let mut b = RouterConfig::builder(inst.virtual_router_id, primary)
        .priority(inst.priority)
        .version(version)
        .advert_interval(inst.advert_int)
        .auth(auth)
        .vips(inst.virtual_ipaddresses.iter().map(|v| v.addr))
        .accept_mode(inst.accept_mode(global))
        .skip_check_adv_addr(
            inst.skip_check_adv_addr
                .unwrap_or(global.vrrp_skip_check_adv_addr),
        )
        .garp(garp_schedule(&inst.garp, &global.garp))
        .lower_prio_no_advert(inst.lower_prio_no_advert(global))
        .higher_prio_send_advert(inst.higher_prio_send_advert(global))
        .initial_state(match inst.initial_state {
            InitialState::Master => vrrp_core::InitialState::Master,
            InitialState::Backup => vrrp_core::InitialState::Backup,
        });
    for p in &inst.unicast_peers {
        b = b.unicast_peer(p.addr);
    }
    let mcast_group = inst.mcast_dst_ip.or(match family {
        Family::V4 => global.vrrp_mcast_group4.map(IpAddr::V4),
        Family::V6 => global.vrrp_mcast_group6.map(IpAddr::V6),
    });
    if let Some(g) = mcast_group {
        b = b.multicast_group(g);
    }
    b = if inst.nopreempt {
        b.nopreempt()
    } else {
        b.preempt_delay(inst.preempt_delay)
    };

    // Tracked objects: the instance's own interface (unless dont_track_primary), its
    // track_* lists, and its sync group's.
    let mut bindings: Vec<Binding> = Vec::new();
    let mut bind = |key: TrackKey, weight: Option<TrackWeight>, bindings: &mut Vec<Binding>| {
        let id = ids.id(&key);
        if let Some(existing) = bindings.iter_mut().find(|b| b.id == id) {
            // An explicit entry overrides the implicit own-interface tracking.
            *existing = Binding::new(id, weight);
        } else {
            bindings.push(Binding::new(id, weight));
        }
    };
    if !inst.dont_track_primary {
        bind(TrackKey::Interface(ifname.clone()), None, &mut bindings);
    }
    let group_tracks = group.into_iter();
    for t in inst
        .track_interfaces
        .iter()
        .chain(group_tracks.clone().flat_map(|g| &g.track_interfaces))
    {
        bind(TrackKey::Interface(t.name.clone()), t.weight, &mut bindings);
    }
    for t in inst
        .track_scripts
        .iter()
        .chain(group_tracks.clone().flat_map(|g| &g.track_scripts))
    {
        // The script's own weight unless the track_script line overrides it.
        let weight = t
            .weight
            .or_else(|| config.script(&t.name).map(|s| s.weight));
        bind(TrackKey::Script(t.name.clone()), weight, &mut bindings);
    }
    for t in inst
        .track_files
        .iter()
        .chain(group_tracks.flat_map(|g| &g.track_files))
    {
        let weight = t.weight.or_else(|| {
            config
                .track_files
                .iter()
                .find(|f| f.name == t.name)
                .map(|f| f.weight)
        });
        bind(TrackKey::File(t.name.clone()), weight, &mut bindings);
    }

    let mut router_b = b.clone();
    for bind in &bindings {
        router_b = router_b.track(bind.id, bind.weight);
    }
    let router = router_b.build()?;

    let mut vips = Vec::new();
    let mut vip_devs = Vec::new();
    for v in inst
        .virtual_ipaddresses
        .iter()
        .chain(&inst.virtual_ipaddresses_excluded)
    {
        let dev = v.dev.clone().unwrap_or_else(|| ifname.clone());
        let idx = net
            .ifindex(&dev)
            .ok_or_else(|| PlanError::UnknownInterface(dev.clone()))?;
        vips.push(addr_spec(v, idx)?);
        vip_devs.push(dev);
    }
    let announce_interval = match family {
        Family::V4 => global.vrrp_garp_interval,
        Family::V6 => global.vrrp_gna_interval,
    }
    .unwrap_or(Duration::ZERO);
    Ok(InstancePlan {
        name: inst.name.clone(),
        ifname,
        ifindex,
        family,
        router,
        builder: b,
        bindings,
        vips,
        vip_devs,
        notify: inst.notify.clone(),
        announce_interval,
        group: group.map(|g| g.name.clone()),
        lower_prio_garp: lower_prio_garp(&inst.garp, &global.garp, strict),
    })
}

/// One `static_ipaddress` entry resolved against the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticAddress {
    pub spec: AddrSpec,
    pub dev: String,
}

/// `static_ipaddress`: the entries whose interface exists, and the others with why (an
/// interface that appears later is picked up by the next plan).
pub fn static_addresses(
    config: &Config,
    net: &dyn NetView,
) -> (Vec<StaticAddress>, Vec<(IpAddr, PlanError)>) {
    let mut ok = Vec::new();
    let mut failed = Vec::new();
    for v in &config.static_ipaddresses {
        // The configuration refuses a static address without `dev`.
        let dev = v.dev.clone().unwrap_or_default();
        let resolved = net
            .ifindex(&dev)
            .ok_or_else(|| PlanError::UnknownInterface(dev.clone()))
            .and_then(|idx| addr_spec(v, idx));
        match resolved {
            Ok(spec) => ok.push(StaticAddress { spec, dev }),
            Err(e) => failed.push((v.addr, e)),
        }
    }
    (ok, failed)
}

/// keepalived 2.2.7: an instance's own setting, else the global `vrrp_garp_lower_prio_*`,
/// else the global master burst (`vrrp_garp_master_repeat` / `_delay`, not the instance's);
/// strict mode sends none (the configuration warned about explicit values).
fn lower_prio_garp(inst: &GarpSettings, global: &GarpSettings, strict: bool) -> LowerPrioGarp {
    if strict {
        return LowerPrioGarp {
            repeat: 0,
            delay: None,
        };
    }
    let repeat = inst
        .lower_prio_repeat
        .or(global.lower_prio_repeat)
        .or(global.master_repeat)
        .unwrap_or(DEFAULT_GARP_REPEAT);
    let delay = inst
        .lower_prio_delay
        .or(global.lower_prio_delay)
        .or(global.master_delay)
        .unwrap_or(DEFAULT_GARP_DELAY);
    LowerPrioGarp {
        repeat,
        delay: (!delay.is_zero()).then_some(delay),
    }
}

fn garp_schedule(inst: &GarpSettings, global: &GarpSettings) -> GarpSchedule {
    let delay = inst
        .master_delay
        .or(global.master_delay)
        .unwrap_or(DEFAULT_GARP_DELAY);
    GarpSchedule {
        master_repeat: inst
            .master_repeat
            .or(global.master_repeat)
            .unwrap_or(DEFAULT_GARP_REPEAT),
        // keepalived: `garp_master_delay 0` disables the second burst.
        master_delay: (!delay.is_zero()).then_some(delay),
        refresh: inst
            .master_refresh
            .or(global.master_refresh)
            .filter(|d| !d.is_zero()),
        refresh_repeat: inst
            .master_refresh_repeat
            .or(global.master_refresh_repeat)
            .unwrap_or(1),
    }
}

/// The address adverts are sent from: the interface's first IPv4 address that is not one of
/// our VIPs, or its IPv6 link-local address (RFC 5798 §5.1.2.1).
fn primary_address(
    addrs: &[Address],
    ifindex: u32,
    family: Family,
    vips: &[IpAddr],
) -> Option<IpAddr> {
    let usable = |a: &&Address| a.ifindex == ifindex && !vips.contains(&a.addr) && !a.tentative;
    match family {
        Family::V4 => addrs
            .iter()
            .filter(usable)
            .filter(|a| a.addr.is_ipv4())
            .min_by_key(|a| a.secondary)
            .map(|a| a.addr),
        Family::V6 => addrs
            .iter()
            .filter(usable)
            .find(|a| matches!(a.addr, IpAddr::V6(v6) if v6.segments()[0] & 0xffc0 == 0xfe80))
            .map(|a| a.addr),
    }
}

fn addr_spec(v: &VirtualIp, ifindex: u32) -> Result<AddrSpec, PlanError> {
    let mut spec = AddrSpec::new(ifindex, v.addr, v.prefix_len);
    spec.label = v.label.clone();
    spec.scope = match v.scope {
        None | Some(AddrScope::Global) => Scope::Global,
        Some(AddrScope::Site) => Scope::Site,
        Some(AddrScope::Link) => Scope::Link,
        Some(AddrScope::Host) => Scope::Host,
        Some(AddrScope::Nowhere) => Scope::Nowhere,
        Some(AddrScope::Other(n)) => {
            Scope::parse(&n.to_string()).ok_or_else(|| PlanError::Vip {
                addr: v.addr,
                reason: format!("scope {n} has no name the kernel interface takes"),
            })?
        }
    };
    spec.broadcast = match (v.broadcast, v.addr) {
        (None | Some(Broadcast::Clear), _) => None,
        (Some(Broadcast::Addr(b)), IpAddr::V4(_)) => Some(b),
        (Some(Broadcast::Derive), IpAddr::V4(a)) => Some(derived_broadcast(a, v.prefix_len)),
        (Some(_), IpAddr::V6(_)) => {
            return Err(PlanError::Vip {
                addr: v.addr,
                reason: "brd is IPv4 only".into(),
            })
        }
    };
    Ok(spec)
}

/// `brd +`: the address with all host bits set.
fn derived_broadcast(addr: Ipv4Addr, prefix_len: u8) -> Ipv4Addr {
    let host_mask = u32::MAX.checked_shr(u32::from(prefix_len)).unwrap_or(0);
    Ipv4Addr::from(u32::from(addr) | host_mask)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_str;

    struct FakeNet(Vec<Address>);
    impl NetView for FakeNet {
        fn ifindex(&self, name: &str) -> Option<u32> {
            match name {
                "eth0" => Some(2),
                "eth1" => Some(3),
                _ => None,
            }
        }
        fn addresses(&self) -> &[Address] {
            &self.0
        }
    }

    fn addr(ifindex: u32, a: &str) -> Address {
        Address {
            ifindex,
            addr: a.parse().unwrap(),
            prefix_len: 24,
            label: None,
            scope: Some(Scope::Global),
            broadcast: None,
            secondary: false,
            tentative: false,
        }
    }

    fn net() -> FakeNet {
        FakeNet(vec![
            addr(2, "192.0.2.100"),
            addr(2, "192.0.2.1"),
            addr(3, "198.51.100.1"),
            addr(2, "fe80::1"),
        ])
    }

    const CONF: &str = r#"
vrrp_script chk {
    script "/bin/true"
    interval 1
    weight -15
    fall 2
    rise 1
}
vrrp_sync_group G {
    group {
        A
        B
    }
}
vrrp_instance A {
    interface eth0
    virtual_router_id 51
    priority 100
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass secret
    }
    virtual_ipaddress { 192.0.2.100/24 brd + label eth0:vip }
    track_script { chk }
}
vrrp_instance B {
    interface eth1
    virtual_router_id 52
    virtual_ipaddress { 198.51.100.100 }
    track_interface {
        eth0 weight 10 reverse
    }
}
vrrp_instance C {
    interface eth9
    virtual_router_id 53
    virtual_ipaddress { 192.0.2.200 }
}
vrrp_instance D {
    interface eth0
    virtual_router_id 54
    version 3
    virtual_ipaddress { 2001:db8::100 }
}
"#;

    #[test]
    fn plans_units_groups_and_trackers() {
        let loaded = load_str("t.conf", CONF).unwrap();
        let mut ids = TrackerIds::default();
        let p = plan(&loaded.config, &net(), &mut ids);
        assert_eq!(p.units.len(), 2, "{p:#?}");
        let g = &p.units[0];
        assert_eq!(g.group.as_deref(), Some("G"));
        let a = &g.members[0];
        // The leftover VIP is not taken as the source address.
        assert_eq!(a.router.primary(), "192.0.2.1".parse::<IpAddr>().unwrap());
        assert_eq!(a.router.auth(), Auth::simple(b"secret"));
        assert_eq!(a.vips[0].broadcast, Some(Ipv4Addr::new(192, 0, 2, 255)));
        assert_eq!(a.vips[0].label.as_deref(), Some("eth0:vip"));
        let chk = ids.id(&TrackKey::Script("chk".into()));
        let eth0 = ids.id(&TrackKey::Interface("eth0".into()));
        assert_eq!(
            a.bindings,
            vec![
                Binding {
                    id: eth0,
                    weight: 0,
                    reverse: false
                },
                Binding {
                    id: chk,
                    weight: -15,
                    reverse: false
                },
            ]
        );
        let b = &g.members[1];
        assert!(b.bindings.contains(&Binding {
            id: eth0,
            weight: -10,
            reverse: true
        }));
        assert_eq!(
            b.bindings[1].engine_state(TrackerState::Up),
            TrackerState::Down
        );
        // C's interface is missing: transient. D is IPv6 from the link-local address.
        assert_eq!(
            p.failed,
            vec![("C".to_owned(), PlanError::UnknownInterface("eth9".into()))]
        );
        assert!(p.failed[0].1.is_transient());
        let d = &p.units[1].members[0];
        assert_eq!(d.family, Family::V6);
        assert_eq!(d.router.primary(), "fe80::1".parse::<IpAddr>().unwrap());
        // Same input, same plan (what reload relies on), ids stable.
        let again = plan(&loaded.config, &net(), &mut ids);
        assert_eq!(again.units, p.units);
    }

    /// The global group per family, `mcast_dst_ip` over it, the RFC's group otherwise.
    #[test]
    fn advert_groups() {
        let text = r#"
global_defs {
    vrrp_mcast_group4 224.0.0.19
}
vrrp_instance A {
    interface eth0
    virtual_router_id 51
    virtual_ipaddress { 192.0.2.100 }
}
vrrp_instance B {
    interface eth0
    virtual_router_id 52
    mcast_dst_ip 224.0.0.20
    virtual_ipaddress { 192.0.2.101 }
}
vrrp_instance D {
    interface eth0
    virtual_router_id 54
    virtual_ipaddress { 2001:db8::100 }
}
static_ipaddress {
    198.51.100.7/24 dev eth1 label eth1:st
    198.51.100.8 dev eth9
}
"#;
        let loaded = load_str("t.conf", text).unwrap();
        let p = plan(&loaded.config, &net(), &mut TrackerIds::default());
        let group = |name: &str| {
            let m = p
                .units
                .iter()
                .flat_map(|u| &u.members)
                .find(|m| m.name == name);
            m.unwrap().router.destination_group().to_string()
        };
        assert_eq!(group("A"), "224.0.0.19");
        assert_eq!(group("B"), "224.0.0.20");
        assert_eq!(group("D"), "ff02::12");
        let (ok, failed) = static_addresses(&loaded.config, &net());
        assert_eq!(ok.len(), 1);
        assert_eq!(ok[0].spec.ifindex, 3);
        assert_eq!(ok[0].spec.prefix_len, 24);
        assert_eq!(ok[0].spec.label.as_deref(), Some("eth1:st"));
        assert_eq!(
            failed,
            vec![(
                "198.51.100.8".parse().unwrap(),
                PlanError::UnknownInterface("eth9".into())
            )]
        );
    }

    #[test]
    fn broadcast_derivation() {
        assert_eq!(
            derived_broadcast(Ipv4Addr::new(192, 0, 2, 7), 24),
            Ipv4Addr::new(192, 0, 2, 255)
        );
        assert_eq!(
            derived_broadcast(Ipv4Addr::new(192, 0, 2, 7), 32),
            Ipv4Addr::new(192, 0, 2, 7)
        );
        assert_eq!(
            derived_broadcast(Ipv4Addr::new(192, 0, 2, 7), 0),
            Ipv4Addr::BROADCAST
        );
    }

    #[test]
    fn lower_prio_garp_inherits_as_keepalived() {
        let secs = Duration::from_secs;
        let unset = GarpSettings::default();
        // Nothing set: keepalived's master burst defaults, 5 now and 5 after 5 s.
        let lp = lower_prio_garp(&unset, &unset, false);
        assert_eq!((lp.repeat, lp.delay), (5, Some(secs(5))));
        // The global master burst, not the instance's, is the fallback.
        let global = GarpSettings {
            master_repeat: Some(2),
            master_delay: Some(secs(1)),
            ..unset
        };
        let inst = GarpSettings {
            master_repeat: Some(9),
            ..unset
        };
        let lp = lower_prio_garp(&inst, &global, false);
        assert_eq!((lp.repeat, lp.delay), (2, Some(secs(1))));
        // Explicit values win; delay 0 means no second burst.
        let inst = GarpSettings {
            lower_prio_repeat: Some(3),
            lower_prio_delay: Some(Duration::ZERO),
            ..unset
        };
        let lp = lower_prio_garp(&inst, &global, false);
        assert_eq!((lp.repeat, lp.delay), (3, None));
        // Strict mode: none.
        assert_eq!(lower_prio_garp(&inst, &global, true).repeat, 0);
    }
}
