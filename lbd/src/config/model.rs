//! The typed configuration model: what the daemon consumes.
//!
//! Every value here has already been validated (ranges, address families, references
//! between blocks), so the daemon never re-parses strings. Defaults are keepalived's, so a
//! keyword the user left out behaves as it would under keepalived. Keywords that keepalived
//! knows but lbd does not act on are not modelled; the parser reports them as
//! "accepted, not used" warnings instead.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

use super::diag::{Diagnostic, Location};

/// A parsed configuration plus the warnings found on the way.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    /// Only [`super::diag::Severity::Warning`] diagnostics: errors make `load` fail.
    pub warnings: Vec<Diagnostic>,
}

/// The whole configuration, in keepalived's top-level block order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Config {
    pub global: GlobalDefs,
    pub vrrp_scripts: Vec<VrrpScript>,
    pub track_files: Vec<TrackFile>,
    pub sync_groups: Vec<SyncGroup>,
    pub instances: Vec<VrrpInstance>,
    /// `static_ipaddress { }`: addresses configured at start-up, whatever the VRRP state.
    pub static_ipaddresses: Vec<VirtualIp>,
    pub virtual_server_groups: Vec<VirtualServerGroup>,
    pub virtual_servers: Vec<VirtualServer>,
}

impl Config {
    /// The `vrrp_script` named `name`, if any.
    pub fn script(&self, name: &str) -> Option<&VrrpScript> {
        self.vrrp_scripts.iter().find(|s| s.name == name)
    }

    /// The `vrrp_instance` named `name`, if any.
    pub fn instance(&self, name: &str) -> Option<&VrrpInstance> {
        self.instances.iter().find(|i| i.name == name)
    }

    /// The `virtual_server_group` named `name`, if any.
    pub fn virtual_server_group(&self, name: &str) -> Option<&VirtualServerGroup> {
        self.virtual_server_groups.iter().find(|g| g.name == name)
    }
}

/// VRRP protocol version (RFC 3768 / RFC 5798).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VrrpVersion {
    #[default]
    V2,
    V3,
}

/// `global_defs { }`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GlobalDefs {
    /// `router_id` (or the older `lvs_id`); keepalived uses the host name when unset.
    pub router_id: Option<String>,
    pub notification_email: Vec<String>,
    pub notification_email_from: Option<String>,
    pub smtp_server: Option<SmtpServer>,
    pub smtp_helo_name: Option<String>,
    /// keepalived's default is 30 s.
    pub smtp_connect_timeout: Option<Duration>,
    /// `smtp_alert [BOOL]`: default of every `smtp_alert` left unsaid (VRRP and checkers).
    pub smtp_alert: Option<bool>,
    /// `smtp_alert_vrrp [BOOL]`: default for instances and sync groups; wins over `smtp_alert`.
    pub smtp_alert_vrrp: Option<bool>,
    /// `smtp_alert_checker [BOOL]`: default for checkers; wins over `smtp_alert`.
    pub smtp_alert_checker: Option<bool>,
    /// `no_email_faults`: no mail about FAULT transitions.
    pub no_email_faults: bool,
    /// `no_checker_emails [BOOL]`: checkers mail only when a real server is added or removed,
    /// not on every state change.
    pub no_checker_emails: bool,
    pub vrrp_strict: bool,
    pub vrrp_skip_check_adv_addr: bool,
    /// `vrrp_lower_prio_no_advert [BOOL]`: default of every instance's `lower_prio_no_advert`.
    pub vrrp_lower_prio_no_advert: bool,
    /// `vrrp_higher_prio_send_advert [BOOL]`: default of every `higher_prio_send_advert`.
    pub vrrp_higher_prio_send_advert: bool,
    /// Default for instances that do not say `version`.
    pub vrrp_version: VrrpVersion,
    /// Global gratuitous-ARP / unsolicited-NA defaults, overridden per instance.
    pub garp: GarpSettings,
    /// `vrrp_garp_interval`: delay between gratuitous ARPs sent on one interface.
    pub vrrp_garp_interval: Option<Duration>,
    /// `vrrp_gna_interval`: delay between unsolicited NAs sent on one interface.
    pub vrrp_gna_interval: Option<Duration>,
    pub vrrp_mcast_group4: Option<Ipv4Addr>,
    pub vrrp_mcast_group6: Option<std::net::Ipv6Addr>,
    /// `vrrp_iptables [IN [OUT]]`: chain names; `Some(vec![])` means the keyword alone.
    pub vrrp_iptables: Option<Vec<String>>,
    pub enable_script_security: bool,
    pub script_user: Option<ScriptUser>,
    pub lvs_timeouts: LvsTimeouts,
    pub lvs_sync_daemon: Option<LvsSyncDaemon>,
    pub enable_traps: bool,
    pub dynamic_interfaces: bool,
}

impl GlobalDefs {
    /// Whether an instance or sync group whose own `smtp_alert` is `own` mails, as keepalived
    /// resolves it: its own setting, else `smtp_alert_vrrp`, else `smtp_alert`, else no.
    pub fn vrrp_smtp_alert(&self, own: Option<bool>) -> bool {
        own.or(self.smtp_alert_vrrp)
            .or(self.smtp_alert)
            .unwrap_or(false)
    }

    /// The same for a virtual server: its own setting, else `smtp_alert_checker`, else
    /// `smtp_alert`, else no (a real server's default differs: `real_server_smtp_alert`).
    pub fn checker_smtp_alert(&self, own: Option<bool>) -> bool {
        own.or(self.smtp_alert_checker)
            .or(self.smtp_alert)
            .unwrap_or(false)
    }
}

/// `smtp_server IP [PORT]` (a host name is also accepted by keepalived).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpServer {
    pub host: SmtpHost,
    /// Defaults to 25.
    pub port: u16,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmtpHost {
    Addr(IpAddr),
    Name(String),
}

/// `user USERNAME [GROUPNAME]` for scripts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptUser {
    pub user: String,
    pub group: Option<String>,
}

/// `lvs_timeouts tcp N tcpfin N udp N`; unset fields keep the kernel's value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LvsTimeouts {
    pub tcp: Option<Duration>,
    pub tcpfin: Option<Duration>,
    pub udp: Option<Duration>,
}

/// `lvs_sync_daemon INTERFACE [VRRP_INSTANCE] [id N] [maxlen N] [port N] [ttl N] [group IP]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LvsSyncDaemon {
    pub interface: String,
    pub vrrp_instance: Option<String>,
    pub sync_id: Option<u8>,
    pub maxlen: Option<u16>,
    pub port: Option<u16>,
    pub ttl: Option<u8>,
    pub group: Option<IpAddr>,
}

/// Gratuitous ARP / NA timing; `None` means "inherit" (instance from global, global from
/// keepalived's defaults: delay 5 s, repeat 5, no refresh).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GarpSettings {
    pub master_delay: Option<Duration>,
    pub master_repeat: Option<u32>,
    pub master_refresh: Option<Duration>,
    pub master_refresh_repeat: Option<u32>,
    pub lower_prio_delay: Option<Duration>,
    pub lower_prio_repeat: Option<u32>,
}

/// A `weight` as used by tracked objects: -253..=253, where the sign says whether failure
/// lowers the priority (negative) or success raises it (positive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TrackWeight {
    pub weight: i16,
    /// `weight N reverse`: the effect is inverted.
    pub reverse: bool,
}

/// `vrrp_script NAME { }`.
#[derive(Debug, Clone, PartialEq)]
pub struct VrrpScript {
    pub name: String,
    pub origin: Location,
    /// The command line, as keepalived runs it (split on spaces, quotes honoured, by the
    /// script runner — not a shell).
    pub script: String,
    /// Default 1 s.
    pub interval: Duration,
    /// Default: `interval`.
    pub timeout: Option<Duration>,
    /// Default 0: the script only affects the instance through fault state.
    pub weight: TrackWeight,
    /// Default 1.
    pub rise: u32,
    /// Default 1.
    pub fall: u32,
    pub user: Option<ScriptUser>,
    /// `init_fail`: start in the failed state instead of OK.
    pub init_fail: bool,
}

/// `vrrp_track_file NAME { }` / `track_file NAME { }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackFile {
    pub name: String,
    pub origin: Location,
    pub file: PathBuf,
    pub weight: TrackWeight,
    /// `init_file [VALUE] [overwrite]`: create the file at start-up with this value.
    pub init_file: Option<InitFile>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitFile {
    pub value: i64,
    pub overwrite: bool,
}

/// Scripts run on state transitions (`notify*`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotifyScripts {
    /// `notify`: called with TYPE NAME STATE PRIORITY on every transition.
    pub any: Option<String>,
    pub master: Option<String>,
    pub backup: Option<String>,
    pub fault: Option<String>,
    pub stop: Option<String>,
    pub deleted: Option<String>,
    pub master_rx_lower_pri: Option<String>,
}

/// `vrrp_sync_group NAME { }`: instances that change state together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncGroup {
    pub name: String,
    pub origin: Location,
    /// Instance names; each is checked to exist.
    pub members: Vec<String>,
    pub notify: NotifyScripts,
    /// `None`: the global default ([`GlobalDefs::vrrp_smtp_alert`]).
    pub smtp_alert: Option<bool>,
    pub global_tracking: bool,
    pub track_interfaces: Vec<TrackedInterface>,
    pub track_scripts: Vec<TrackedScript>,
    pub track_files: Vec<TrackedFile>,
}

/// The state an instance starts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InitialState {
    Master,
    #[default]
    Backup,
}

/// `authentication { }` (VRRPv2 only; RFC 3768 deprecates it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authentication {
    pub kind: AuthType,
    /// At most 8 bytes (longer values are truncated with a warning, as keepalived does).
    pub password: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthType {
    /// Simple text password.
    Pass,
    /// IPsec AH.
    Ah,
}

/// One address of `virtual_ipaddress`, `virtual_ipaddress_excluded` or `static_ipaddress`:
/// `IP[/PREFIX] [brd IP|+|-] [dev IFNAME] [scope SCOPE] [label LABEL] [no_track] ...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualIp {
    pub addr: IpAddr,
    /// Defaults to 32 (IPv4) / 128 (IPv6).
    pub prefix_len: u8,
    pub broadcast: Option<Broadcast>,
    /// Defaults to the instance's interface.
    pub dev: Option<String>,
    pub scope: Option<AddrScope>,
    pub label: Option<String>,
    /// `no_track`: the address going away does not put the instance in fault.
    pub no_track: bool,
    /// `preferred_lft 0`, `home`, `nodad`, ...: accepted and kept verbatim.
    pub other_options: Vec<String>,
    pub origin: Location,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Broadcast {
    Addr(Ipv4Addr),
    /// `brd +`: derive from the prefix (host bits set).
    Derive,
    /// `brd -`: none.
    Clear,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddrScope {
    Global,
    Site,
    Link,
    Host,
    Nowhere,
    /// A numeric scope from /etc/iproute2/rt_scopes.
    Other(u8),
}

/// `track_interface { IFNAME [weight N [reverse]] }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackedInterface {
    pub name: String,
    /// `None`: the interface going down puts the instance in fault.
    pub weight: Option<TrackWeight>,
}

/// `track_script { NAME [weight N [reverse]] }`; the weight overrides the script's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackedScript {
    pub name: String,
    pub weight: Option<TrackWeight>,
}

/// `track_file { NAME [weight N [reverse]] }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackedFile {
    pub name: String,
    pub weight: Option<TrackWeight>,
}

/// `unicast_peer { IP [min_ttl N] [max_ttl N] }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnicastPeer {
    pub addr: IpAddr,
    pub min_ttl: Option<u8>,
    pub max_ttl: Option<u8>,
}

/// `vrrp_instance NAME { }`.
#[derive(Debug, Clone, PartialEq)]
pub struct VrrpInstance {
    pub name: String,
    pub origin: Location,
    pub initial_state: InitialState,
    /// The interface adverts are sent on. keepalived falls back to its default interface
    /// (eth0) when unset; lbd leaves that decision to the daemon.
    pub interface: Option<String>,
    /// 1..=255.
    pub virtual_router_id: u8,
    /// 1..=255 (255 = address owner). Default 100, or 255 with `state MASTER` (keepalived).
    pub priority: u8,
    /// Default 1 s. VRRPv2: whole seconds 1..=255; VRRPv3: centiseconds up to 40.95 s.
    pub advert_int: Duration,
    pub version: VrrpVersion,
    pub authentication: Option<Authentication>,
    pub virtual_ipaddresses: Vec<VirtualIp>,
    pub virtual_ipaddresses_excluded: Vec<VirtualIp>,
    /// `virtual_routes { }` lines, kept verbatim: accepted but not acted on.
    pub virtual_routes: Vec<String>,
    /// `virtual_rules { }` lines, kept verbatim: accepted but not acted on.
    pub virtual_rules: Vec<String>,
    pub track_interfaces: Vec<TrackedInterface>,
    pub track_scripts: Vec<TrackedScript>,
    pub track_files: Vec<TrackedFile>,
    pub dont_track_primary: bool,
    pub nopreempt: bool,
    /// Default 0.
    pub preempt_delay: Duration,
    /// `accept` / `no_accept`; `None`: keepalived's default (accept unless `vrrp_strict`).
    pub accept: Option<bool>,
    pub unicast_src_ip: Option<IpAddr>,
    pub unicast_peers: Vec<UnicastPeer>,
    pub mcast_src_ip: Option<IpAddr>,
    /// `mcast_dst_ip`: this instance's advert group, over `vrrp_mcast_group4/6`.
    pub mcast_dst_ip: Option<IpAddr>,
    pub garp: GarpSettings,
    pub notify: NotifyScripts,
    /// `None`: the global default ([`GlobalDefs::vrrp_smtp_alert`]).
    pub smtp_alert: Option<bool>,
    pub lvs_sync_daemon_interface: Option<String>,
    /// `native_ipv6`: force IPv6 adverts even with no IPv6 VIP first.
    pub native_ipv6: bool,
    /// `use_vmac [NAME]`: `Some(None)` means the default name `vrrp.VRID`.
    pub use_vmac: Option<Option<String>>,
    pub vmac_xmit_base: bool,
    /// Instance-level `strict_mode` / `skip_check_adv_addr`; `None`: the global value.
    pub strict_mode: Option<bool>,
    pub skip_check_adv_addr: Option<bool>,
    /// `lower_prio_no_advert [BOOL]` / `higher_prio_send_advert [BOOL]`; `None`: the global
    /// default (see [`VrrpInstance::lower_prio_no_advert`]).
    pub lower_prio_no_advert: Option<bool>,
    pub higher_prio_send_advert: Option<bool>,
}

impl VrrpInstance {
    /// Whether keepalived's strict RFC mode applies: `strict_mode`, else `vrrp_strict`.
    pub fn strict(&self, global: &GlobalDefs) -> bool {
        self.strict_mode.unwrap_or(global.vrrp_strict)
    }

    /// RFC 5798 Accept_Mode as keepalived resolves it: `accept` / `no_accept` when given,
    /// otherwise on unless strict mode. The address owner (priority 255) always accepts.
    pub fn accept_mode(&self, global: &GlobalDefs) -> bool {
        self.priority == 255 || self.accept.unwrap_or(!self.strict(global))
    }

    /// keepalived 2.2.7: the instance's setting, else `vrrp_lower_prio_no_advert`; strict mode
    /// forces it on (RFC 5798 discards a lower-priority advert).
    pub fn lower_prio_no_advert(&self, global: &GlobalDefs) -> bool {
        self.strict(global)
            || self
                .lower_prio_no_advert
                .unwrap_or(global.vrrp_lower_prio_no_advert)
    }

    /// keepalived 2.2.7: the instance's setting, else `vrrp_higher_prio_send_advert`; strict
    /// mode forces it off (the RFCs have a yielding master send nothing).
    pub fn higher_prio_send_advert(&self, global: &GlobalDefs) -> bool {
        !self.strict(global)
            && self
                .higher_prio_send_advert
                .unwrap_or(global.vrrp_higher_prio_send_advert)
    }
}

/// How a virtual server is addressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceKey {
    Inet {
        addr: IpAddr,
        port: u16,
    },
    Fwmark(u32),
    /// `virtual_server group NAME`: the addresses of a `virtual_server_group`.
    Group(String),
}

/// As written in the configuration: `IP PORT`, `fwmark N`, `group NAME`.
impl std::fmt::Display for ServiceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ServiceKey::Inet { addr, port } => write!(f, "{addr} {port}"),
            ServiceKey::Fwmark(mark) => write!(f, "fwmark {mark}"),
            ServiceKey::Group(name) => write!(f, "group {name}"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
}

/// IPVS forwarding method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LbKind {
    Nat,
    Dr,
    Tun(TunnelOptions),
}

/// `lb_kind TUN` options: keepalived's `TUN [type ipip|gue port N|gre] [nocsum|csum|remcsum]`,
/// or lbd's separate `tun_type`, `tun_port`, `tun_flags` (which win when given).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TunnelOptions {
    pub kind: TunnelKind,
    /// GUE destination port.
    pub port: Option<u16>,
    /// `tun_flags noencap|csum|remcsum`.
    pub flags: Option<TunnelChecksum>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TunnelKind {
    #[default]
    Ipip,
    Gue,
    Gre,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TunnelChecksum {
    NoEncap,
    Csum,
    RemCsum,
}

/// `persistence_granularity MASK` (IPv4 netmask) or prefix length (IPv6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    Netmask(Ipv4Addr),
    PrefixLen(u8),
}

/// `virtual_server_group NAME { }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualServerGroup {
    pub name: String,
    pub origin: Location,
    pub members: Vec<VsgMember>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VsgMember {
    /// `IP[-LAST] PORT`: LAST replaces the last byte (IPv4) or last 16-bit group (IPv6).
    Range {
        first: IpAddr,
        last: IpAddr,
        port: u16,
    },
    Fwmark(u32),
}

/// `sorry_server IP PORT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SorryServer {
    pub addr: IpAddr,
    pub port: u16,
}

/// `virtual_server IP PORT | fwmark N | group NAME { }`.
#[derive(Debug, Clone, PartialEq)]
pub struct VirtualServer {
    pub key: ServiceKey,
    pub origin: Location,
    /// Default 60 s.
    pub delay_loop: Duration,
    /// IPVS scheduler name (`rr`, `wrr`, `lc`, ...); default `wlc`.
    pub lb_algo: String,
    /// Default NAT.
    pub lb_kind: LbKind,
    /// `None`: not persistent.
    pub persistence_timeout: Option<Duration>,
    pub persistence_granularity: Option<Granularity>,
    /// `None` when not given. Older keepalived used TCP, which the field guides rely on;
    /// keepalived 2.2.7 uses UDP. The parser warns; the consumer decides.
    pub protocol: Option<Protocol>,
    pub sorry_server: Option<SorryServer>,
    pub sorry_server_inhibit: bool,
    /// Default 1.
    pub quorum: u32,
    pub hysteresis: u32,
    pub quorum_up: Option<String>,
    pub quorum_down: Option<String>,
    pub alpha: bool,
    pub omega: bool,
    /// `smtp_alert [BOOL]`: mail quorum changes; `None`: the global default
    /// ([`GlobalDefs::checker_smtp_alert`]).
    pub smtp_alert: Option<bool>,
    pub inhibit_on_failure: bool,
    pub ha_suspend: bool,
    pub virtualhost: Option<String>,
    /// `ops`: one-packet scheduling (UDP).
    pub one_packet_scheduling: bool,
    /// `flag-1`..`flag-3`, `sh-*`, `mh-*`: the scheduler's flag bits.
    pub sched_flags: SchedulerFlags,
    /// `persistence_engine NAME` (IPVS knows `sip`): what a persistent connection is
    /// keyed on besides the client address.
    pub persistence_engine: Option<String>,
    pub real_servers: Vec<RealServer>,
}

/// The three scheduler flag bits of an IPVS service (`ipvsadm -b`).
///
/// keepalived names them `flag-1`..`flag-3`, and for the `sh` and `mh` schedulers also
/// by meaning: `*-fallback` is bit 1 and `*-port` is bit 2. The bits, not the words, are
/// kept: `sh-port` and `flag-2` on an `sh` service are one and the same request, and the
/// kernel reports only the bits back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SchedulerFlags {
    /// `flag-1`, `sh-fallback`, `mh-fallback`.
    pub flag_1: bool,
    /// `flag-2`, `sh-port`, `mh-port`.
    pub flag_2: bool,
    /// `flag-3`.
    pub flag_3: bool,
}

impl SchedulerFlags {
    pub fn is_empty(self) -> bool {
        !(self.flag_1 || self.flag_2 || self.flag_3)
    }
}

/// `real_server IP PORT { }`.
#[derive(Debug, Clone, PartialEq)]
pub struct RealServer {
    pub addr: IpAddr,
    /// `None` for fwmark services where the port is omitted.
    pub port: Option<u16>,
    pub origin: Location,
    /// 0..=65535, default 1.
    pub weight: u32,
    /// `None`: the virtual server's setting.
    pub inhibit_on_failure: Option<bool>,
    pub notify_up: Option<String>,
    pub notify_down: Option<String>,
    /// `smtp_alert [BOOL]`: mail its checkers' changes; `None`: the global default (on
    /// unless `smtp_alert_checker` or `smtp_alert` says otherwise).
    pub smtp_alert: Option<bool>,
    /// `lb_kind` override for this server.
    pub lb_kind: Option<LbKind>,
    /// Connection thresholds (`uthreshold`, `lthreshold`).
    pub upper_threshold: Option<u32>,
    pub lower_threshold: Option<u32>,
    pub checkers: Vec<Checker>,
}

/// One health checker of a real server.
#[derive(Debug, Clone, PartialEq)]
pub struct Checker {
    pub origin: Location,
    pub common: CheckerCommon,
    pub kind: CheckerKind,
}

/// Options every connecting checker takes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CheckerCommon {
    /// Default: the real server's address.
    pub connect_ip: Option<IpAddr>,
    /// Default: the real server's port.
    pub connect_port: Option<u16>,
    pub bindto: Option<IpAddr>,
    pub bind_port: Option<u16>,
    pub bind_if: Option<String>,
    /// Default 5 s.
    pub connect_timeout: Option<Duration>,
    /// Number of retries before failing (`retry`, formerly `nb_get_retry`).
    pub retry: Option<u32>,
    pub delay_before_retry: Option<Duration>,
    /// Random delay before the first check, up to this much.
    pub warmup: Option<Duration>,
    /// Per-checker `delay_loop` override.
    pub delay_loop: Option<Duration>,
    pub fwmark: Option<u32>,
    pub alpha: Option<bool>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CheckerKind {
    Tcp,
    /// `HTTP_GET` (`tls: false`) and `SSL_GET` (`tls: true`).
    Http(HttpCheck),
    Smtp(SmtpCheck),
    Dns(DnsCheck),
    Misc(MiscCheck),
    Ping,
    Udp(UdpCheck),
    /// `FILE_CHECK { track_file NAME  weight N [reverse] }`.
    File(FileCheck),
}

/// `FILE_CHECK { track_file NAME  weight N [reverse] }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileCheck {
    /// The `track_file` (or `vrrp_track_file`) block it reads.
    pub name: String,
    /// `None`: the track file's own weight.
    pub weight: Option<FileWeight>,
}

/// FILE_CHECK's `weight`: the file's value times this is added to the real server's weight,
/// so unlike a VRRP tracking weight it spans what an IPVS weight can
/// (keepalived 2.2.7: -2147483647..2147483647).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileWeight {
    pub weight: i32,
    /// `weight N reverse`: the value is subtracted instead.
    pub reverse: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HttpCheck {
    pub tls: bool,
    pub urls: Vec<UrlCheck>,
    pub virtualhost: Option<String>,
    pub enable_sni: bool,
    /// `http_protocol 1.0|1.0C|1.1`; default 1.0.
    pub protocol: HttpVersion,
}

/// keepalived's `http_protocol`: the request's version line and `Connection` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HttpVersion {
    /// `HTTP/1.0`, no `Connection` header (keepalived's default).
    #[default]
    V1_0,
    /// `1.0C`: `HTTP/1.0` with `Connection: close`, for servers that keep 1.0
    /// connections open.
    V1_0Close,
    /// `HTTP/1.1` with `Connection: close`.
    V1_1,
}

/// `url { path P [digest HEX] [status_code N[-M] ...] }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlCheck {
    pub path: String,
    /// MD5 of the body.
    pub digest: Option<[u8; 16]>,
    /// Accepted status ranges (inclusive); empty: any 2xx.
    pub status_codes: Vec<(u16, u16)>,
    pub virtualhost: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SmtpCheck {
    pub helo_name: Option<String>,
    /// `host { }` sub-blocks: extra endpoints all of which must answer.
    pub hosts: Vec<CheckerCommon>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsCheck {
    /// Default `.`.
    pub name: String,
    pub query_type: DnsType,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DnsType {
    #[default]
    Soa,
    A,
    Ns,
    Cname,
    Mx,
    Txt,
    Aaaa,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MiscCheck {
    pub path: String,
    pub timeout: Option<Duration>,
    /// `misc_dynamic`: the exit code (minus 2) becomes the weight.
    pub dynamic: bool,
    pub user: Option<ScriptUser>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UdpCheck {
    pub payload: Option<Vec<u8>>,
    pub require_reply: Option<Vec<u8>>,
}
