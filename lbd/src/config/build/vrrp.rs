//! `vrrp_script`, `vrrp_track_file`, `vrrp_sync_group`, `vrrp_instance` and addresses.

use std::net::IpAddr;
use std::time::Duration;

use super::{block_name, children, unknown};
use crate::config::diag::Diagnostics;
use crate::config::model::*;
use crate::config::tree::Node;
use crate::config::values::{self as v, no_extra};

pub(super) const SCRIPT_KEYWORDS: &[&str] = &[
    "script",
    "interval",
    "timeout",
    "weight",
    "rise",
    "fall",
    "user",
    "init_fail",
];

pub fn vrrp_script(d: &mut Diagnostics, n: &Node) -> Option<VrrpScript> {
    let name = block_name(d, n)?;
    let mut s = VrrpScript {
        name,
        origin: n.at.clone(),
        script: String::new(),
        interval: Duration::from_secs(1),
        timeout: None,
        weight: TrackWeight::default(),
        rise: 1,
        fall: 1,
        user: None,
        init_fail: false,
    };
    for c in children(d, n) {
        match c.keyword {
            "script" => s.script = v::command(d, c).unwrap_or_default(),
            "interval" => s.interval = v::timer(d, c, 0.000001, 4294.967295).unwrap_or(s.interval),
            "timeout" => s.timeout = v::timer(d, c, 0.000001, 4294.967295),
            "weight" => {
                let mut args = vec!["weight"];
                args.extend(c.args.iter().copied());
                if c.args.is_empty() {
                    d.error(
                        &c.at,
                        "missing value for weight: expected an integer -253..253",
                    );
                } else if let Some(Some(w)) = v::track_weight(d, c, &args) {
                    s.weight = w;
                }
            }
            "rise" => s.rise = v::int(d, c, 1, i64::from(u32::MAX)).unwrap_or(s.rise),
            "fall" => s.fall = v::int(d, c, 1, i64::from(u32::MAX)).unwrap_or(s.fall),
            "user" => s.user = v::script_user(d, c),
            "init_fail" => s.init_fail = v::flag(d, c),
            _ => unknown(d, c, SCRIPT_KEYWORDS, &[]),
        }
    }
    if s.script.is_empty() {
        // keepalived drops such a script and carries on; references to it are then
        // reported where they are made.
        d.warn(
            &n.at,
            format!("vrrp_script {} has no 'script'; it is ignored", s.name),
        );
        return None;
    }
    Some(s)
}

pub(super) const TRACK_FILE_KEYWORDS: &[&str] = &["file", "weight", "init_file"];

pub fn track_file(d: &mut Diagnostics, n: &Node) -> Option<TrackFile> {
    let name = block_name(d, n)?;
    let mut t = TrackFile {
        name,
        origin: n.at.clone(),
        file: Default::default(),
        weight: TrackWeight {
            weight: 1,
            reverse: false,
        },
        init_file: None,
    };
    for c in children(d, n) {
        match c.keyword {
            "file" => t.file = v::word(d, c, "a file path").unwrap_or_default().into(),
            "weight" => {
                let mut args = vec!["weight"];
                args.extend(c.args.iter().copied());
                if let Some(Some(w)) = v::track_weight(d, c, &args) {
                    t.weight = w;
                }
            }
            "init_file" => {
                let mut init = InitFile {
                    value: 0,
                    overwrite: false,
                };
                for a in c.args {
                    if *a == "overwrite" {
                        init.overwrite = true;
                    } else if let Some(x) =
                        v::int_value(d, c, a, i64::from(i32::MIN), i64::from(i32::MAX))
                    {
                        init.value = x;
                    }
                }
                t.init_file = Some(init);
            }
            _ => unknown(d, c, TRACK_FILE_KEYWORDS, &[]),
        }
    }
    if t.file.as_os_str().is_empty() {
        d.error(
            &n.at,
            format!("track file {} has no 'file': expected file PATH", t.name),
        );
        return None;
    }
    Some(t)
}

pub(super) const SYNC_KEYWORDS: &[&str] = &[
    "group",
    "notify",
    "notify_master",
    "notify_backup",
    "notify_fault",
    "notify_stop",
    "smtp_alert",
    "global_tracking",
    "track_interface",
    "track_script",
    "track_file",
];
const SYNC_UNUSED: &[&str] = &[
    "sync_group_tracking_weight",
    "notify_priority_changes",
    "track_process",
    "track_bfd",
];

pub fn sync_group(d: &mut Diagnostics, n: &Node) -> Option<SyncGroup> {
    let name = block_name(d, n)?;
    let mut g = SyncGroup {
        name,
        origin: n.at.clone(),
        members: Vec::new(),
        notify: NotifyScripts::default(),
        smtp_alert: None,
        global_tracking: false,
        track_interfaces: Vec::new(),
        track_scripts: Vec::new(),
        track_files: Vec::new(),
    };
    for c in children(d, n) {
        if notify(d, c, &mut g.notify) {
            continue;
        }
        match c.keyword {
            "group" => {
                // As keepalived, every word of the block is a member, on one line or many.
                for m in children(d, c) {
                    g.members.extend(
                        std::iter::once(&m.keyword)
                            .chain(m.args)
                            .map(|s| s.to_string()),
                    );
                }
            }
            "smtp_alert" => g.smtp_alert = v::boolean(d, c),
            "global_tracking" => g.global_tracking = v::flag(d, c),
            "track_interface" => {
                g.track_interfaces = tracked(d, c, |name, weight| TrackedInterface { name, weight })
            }
            "track_script" => {
                g.track_scripts = tracked(d, c, |name, weight| TrackedScript { name, weight })
            }
            "track_file" => {
                g.track_files = tracked(d, c, |name, weight| TrackedFile { name, weight })
            }
            _ => unknown(d, c, SYNC_KEYWORDS, SYNC_UNUSED),
        }
    }
    if g.members.len() == 1 {
        d.warn(
            &n.at,
            format!(
                "vrrp_sync_group {} has a single instance; a group is meant to sync several",
                g.name
            ),
        );
    }
    if g.members.is_empty() {
        d.warn(
            &n.at,
            format!(
                "vrrp_sync_group {} has no 'group {{ ... }}' of instances; it is ignored",
                g.name
            ),
        );
        return None;
    }
    Some(g)
}

/// `notify*` keywords shared by instances and sync groups; `false` if `c` is not one.
fn notify(d: &mut Diagnostics, c: &Node, n: &mut NotifyScripts) -> bool {
    let slot = match c.keyword {
        "notify" => &mut n.any,
        "notify_master" => &mut n.master,
        "notify_backup" => &mut n.backup,
        "notify_fault" => &mut n.fault,
        "notify_stop" => &mut n.stop,
        "notify_deleted" => &mut n.deleted,
        "notify_master_rx_lower_pri" => &mut n.master_rx_lower_pri,
        _ => return false,
    };
    *slot = v::command(d, c);
    true
}

/// A `track_*` block: one `NAME [weight N [reverse]]` per line.
fn tracked<T>(
    d: &mut Diagnostics,
    c: &Node,
    make: impl Fn(String, Option<TrackWeight>) -> T,
) -> Vec<T> {
    let mut out = Vec::new();
    for t in children(d, c) {
        if t.keyword == "{" {
            continue;
        }
        if let Some(weight) = v::track_weight(d, t, t.args) {
            out.push(make(t.keyword.to_string(), weight));
        }
    }
    out
}

pub const INSTANCE_KEYWORDS: &[&str] = &[
    "state",
    "interface",
    "virtual_router_id",
    "priority",
    "advert_int",
    "version",
    "authentication",
    "virtual_ipaddress",
    "virtual_ipaddress_excluded",
    "virtual_routes",
    "virtual_rules",
    "track_interface",
    "track_script",
    "track_file",
    "dont_track_primary",
    "nopreempt",
    "preempt",
    "preempt_delay",
    "accept",
    "no_accept",
    "unicast_src_ip",
    "unicast_peer",
    "mcast_src_ip",
    "mcast_dst_ip",
    "garp_master_delay",
    "garp_master_repeat",
    "garp_master_refresh",
    "garp_master_refresh_repeat",
    "garp_lower_prio_delay",
    "garp_lower_prio_repeat",
    "notify",
    "notify_master",
    "notify_backup",
    "notify_fault",
    "notify_stop",
    "notify_deleted",
    "notify_master_rx_lower_pri",
    "smtp_alert",
    "lvs_sync_daemon_interface",
    "native_ipv6",
    "use_vmac",
    "vmac_xmit_base",
    "strict_mode",
    "skip_check_adv_addr",
    "lower_prio_no_advert",
    "higher_prio_send_advert",
];

const INSTANCE_UNUSED: &[&str] = &[
    "debug",
    "linkbeat_use_polling",
    "check_unicast_src",
    "unicast_ttl",
    "unicast_fault_no_peer",
    "old_unicast_checksum",
    "track_process",
    "track_bfd",
    "promote_secondaries",
    "kernel_rx_buf_size",
    "notify_priority_changes",
    "use_ipvlan",
    "vmac_garp_intvl",
    "garp_extra_if",
    "evip",
    "no_track",
    "mcast_ttl",
    "track_src_ip",
    "use_vmac_addr",
];

/// `vrrp_instance NAME { }`. `None` when the instance cannot be used (no VRID, as keepalived).
pub fn instance(d: &mut Diagnostics, n: &Node, global: &GlobalDefs) -> Option<VrrpInstance> {
    let name = block_name(d, n)?;
    let mut i = VrrpInstance {
        name,
        origin: n.at.clone(),
        initial_state: InitialState::Backup,
        interface: None,
        virtual_router_id: 0,
        priority: 100,
        advert_int: Duration::from_secs(1),
        version: global.vrrp_version,
        authentication: None,
        virtual_ipaddresses: Vec::new(),
        virtual_ipaddresses_excluded: Vec::new(),
        virtual_routes: Vec::new(),
        virtual_rules: Vec::new(),
        track_interfaces: Vec::new(),
        track_scripts: Vec::new(),
        track_files: Vec::new(),
        dont_track_primary: false,
        nopreempt: false,
        preempt_delay: Duration::ZERO,
        accept: None,
        unicast_src_ip: None,
        unicast_peers: Vec::new(),
        mcast_src_ip: None,
        mcast_dst_ip: None,
        garp: GarpSettings::default(),
        notify: NotifyScripts::default(),
        smtp_alert: None,
        lvs_sync_daemon_interface: None,
        native_ipv6: false,
        use_vmac: None,
        vmac_xmit_base: false,
        strict_mode: None,
        skip_check_adv_addr: None,
        lower_prio_no_advert: None,
        higher_prio_send_advert: None,
    };
    let mut advert = None;
    let mut explicit_version = false;
    for c in children(d, n) {
        if notify(d, c, &mut i.notify) {
            continue;
        }
        if c.keyword == "version" {
            explicit_version = true;
        }
        if c.keyword == "advert_int" {
            advert = Some(c);
        }
        if !instance_keyword(d, c, &mut i) {
            unknown(d, c, INSTANCE_KEYWORDS, INSTANCE_UNUSED);
        }
    }
    // IPv6 addresses need VRRPv3 (RFC 5798); keepalived switches version and so do we.
    let v6 = i
        .virtual_ipaddresses
        .first()
        .is_some_and(|a| a.addr.is_ipv6());
    if v6 && i.version == VrrpVersion::V2 {
        if explicit_version {
            d.warn(
                &n.at,
                format!(
                    "vrrp_instance {}: VRRPv2 cannot carry IPv6 addresses; using version 3",
                    i.name
                ),
            );
        }
        i.version = VrrpVersion::V3;
    }
    if let Some(fam) = i.virtual_ipaddresses.first().map(|a| a.addr.is_ipv6()) {
        for a in i
            .virtual_ipaddresses
            .iter()
            .filter(|a| a.addr.is_ipv6() != fam)
        {
            d.error(&a.origin, format!("virtual_ipaddress {} is not of the same address family as the first one; VRRP adverts carry one family (use virtual_ipaddress_excluded)", a.addr));
        }
    }
    check_advert_int(d, advert, &mut i);
    let priority_given = children_of(n).iter().any(|c| c.keyword == "priority");
    if !priority_given && i.initial_state == InitialState::Master {
        // keepalived 2.2.7 derives the priority from the state: a MASTER without one is the
        // address owner, and advertises 255 (measured on the wire).
        d.warn(
            &n.at,
            format!(
                "vrrp_instance {}: state MASTER without priority means priority 255 (address owner), as in keepalived",
                i.name
            ),
        );
        i.priority = 255;
    }
    if i.virtual_router_id == 0 {
        let given = children_of(n)
            .iter()
            .any(|c| c.keyword == "virtual_router_id");
        if !given {
            d.error(
                &n.at,
                format!(
                    "vrrp_instance {} has no virtual_router_id: expected virtual_router_id 1..255",
                    i.name
                ),
            );
        }
        return None;
    }
    if i.virtual_ipaddresses.is_empty() && i.version == VrrpVersion::V3 {
        // RFC 5798 5.2.5: an advert lists at least one address. keepalived 2.2.7 stops on it.
        d.error(
            &n.at,
            format!(
                "vrrp_instance {}: no virtual_ipaddress; VRRPv3 requires at least one (keepalived stops on this too)",
                i.name
            ),
        );
        return None;
    }
    // Strict mode makes it an error, reported with the other strict rules.
    if i.virtual_ipaddresses.is_empty() && !i.strict(global) {
        d.warn(
            &n.at,
            format!(
                "vrrp_instance {} has no virtual_ipaddress: it will only advertise",
                i.name
            ),
        );
    }
    if i.version == VrrpVersion::V3 && i.authentication.take().is_some() {
        d.warn(
            &n.at,
            format!(
                "vrrp_instance {}: VRRPv3 has no authentication; 'authentication' ignored",
                i.name
            ),
        );
    }
    Some(i)
}

fn children_of<'n>(n: &'n Node<'_>) -> &'n [Node<'n>] {
    n.block.as_deref().unwrap_or_default()
}

/// VRRPv2 carries whole seconds 1..255; VRRPv3 centiseconds up to 40.95 s.
fn check_advert_int(d: &mut Diagnostics, advert: Option<&Node>, i: &mut VrrpInstance) {
    let Some(node) = advert else { return };
    let t = i.advert_int;
    match i.version {
        VrrpVersion::V2 => {
            if t.subsec_nanos() != 0 || t < Duration::from_secs(1) || t > Duration::from_secs(255) {
                d.error(&node.at, format!("expected whole seconds 1..255 for advert_int with VRRP version 2, got '{}' (sub-second adverts need 'version 3')", node.args.first().copied().unwrap_or("")));
                i.advert_int = Duration::from_secs(1);
            }
        }
        VrrpVersion::V3 => {
            let cs = t.as_micros();
            if cs % 10_000 != 0
                || t < Duration::from_millis(10)
                || t > Duration::from_millis(40_950)
            {
                d.error(&node.at, format!("expected 0.01..40.95 seconds in steps of 0.01 for advert_int with VRRP version 3, got '{}'", node.args.first().copied().unwrap_or("")));
                i.advert_int = Duration::from_secs(1);
            }
        }
    }
}

/// One `vrrp_instance` statement; `false` when the keyword is not an instance keyword.
fn instance_keyword(d: &mut Diagnostics, c: &Node, i: &mut VrrpInstance) -> bool {
    const MAX_T: f64 = 4294.967295;
    match c.keyword {
        "state" => match v::word(d, c, "MASTER or BACKUP")
            .map(|s| s.to_ascii_uppercase())
            .as_deref()
        {
            Some("MASTER") => i.initial_state = InitialState::Master,
            Some("BACKUP") => i.initial_state = InitialState::Backup,
            Some(_) => d.error(
                &c.at,
                format!("expected MASTER or BACKUP for state, got '{}'", c.args[0]),
            ),
            None => {}
        },
        "interface" => {
            if let Some(name) = v::word(d, c, "an interface name") {
                if interface_name_ok(&name) {
                    i.interface = Some(name);
                } else {
                    d.error(&c.at, format!("expected an interface name (1..15 bytes, no '/', ':' or spaces) for interface, got '{name}'"));
                }
            }
        }
        "virtual_router_id" => {
            i.virtual_router_id = v::int(d, c, 1, 255).unwrap_or(i.virtual_router_id)
        }
        "priority" => i.priority = v::int(d, c, 1, 255).unwrap_or(i.priority),
        "advert_int" => {
            // Range depends on the version, which may come later: checked at the end.
            i.advert_int = v::timer(d, c, 0.001, 255.0).unwrap_or(i.advert_int);
        }
        "version" => {
            if let Some(ver) = v::int::<u8>(d, c, 2, 3) {
                i.version = if ver == 3 {
                    VrrpVersion::V3
                } else {
                    VrrpVersion::V2
                };
            }
        }
        "authentication" => i.authentication = authentication(d, c),
        "virtual_ipaddress" => {
            for a in children(d, c) {
                i.virtual_ipaddresses.extend(virtual_ip(d, a));
            }
        }
        "virtual_ipaddress_excluded" => {
            for a in children(d, c) {
                i.virtual_ipaddresses_excluded.extend(virtual_ip(d, a));
            }
        }
        "virtual_routes" | "virtual_rules" => {
            let lines: Vec<String> = children(d, c)
                .iter()
                .map(|r| {
                    std::iter::once(&r.keyword)
                        .chain(r.args)
                        .copied()
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .collect();
            if !lines.is_empty() {
                super::unsupported::report(d, c);
            }
            if c.keyword == "virtual_routes" {
                i.virtual_routes = lines;
            } else {
                i.virtual_rules = lines;
            }
        }
        "track_interface" => {
            i.track_interfaces = tracked(d, c, |name, weight| TrackedInterface { name, weight });
        }
        "track_script" => {
            i.track_scripts = tracked(d, c, |name, weight| TrackedScript { name, weight })
        }
        "track_file" => i.track_files = tracked(d, c, |name, weight| TrackedFile { name, weight }),
        "dont_track_primary" => i.dont_track_primary = v::flag(d, c),
        "nopreempt" => i.nopreempt = v::flag(d, c),
        "preempt" => i.nopreempt = !v::flag(d, c),
        "preempt_delay" => i.preempt_delay = v::timer(d, c, 0.0, 1000.0).unwrap_or_default(),
        "accept" => i.accept = Some(v::flag(d, c)),
        "no_accept" => i.accept = Some(!v::flag(d, c)),
        "unicast_src_ip" => i.unicast_src_ip = v::ip_arg(d, c),
        "unicast_peer" => {
            for p in children(d, c) {
                if let Some(peer) = unicast_peer(d, p) {
                    i.unicast_peers.push(peer);
                }
            }
        }
        "mcast_src_ip" => i.mcast_src_ip = v::ip_arg(d, c),
        "mcast_dst_ip" => match v::ip_arg(d, c) {
            Some(a) if a.is_multicast() => i.mcast_dst_ip = Some(a),
            Some(a) => d.error(
                &c.at,
                format!("expected a multicast address for mcast_dst_ip, got '{a}'"),
            ),
            None => {}
        },
        "garp_master_delay" => i.garp.master_delay = v::timer(d, c, 0.0, MAX_T),
        "garp_master_repeat" => i.garp.master_repeat = v::int(d, c, 0, i64::from(u32::MAX)),
        "garp_master_refresh" => i.garp.master_refresh = v::timer(d, c, 0.0, MAX_T),
        "garp_master_refresh_repeat" => {
            i.garp.master_refresh_repeat = v::int(d, c, 0, i64::from(u32::MAX))
        }
        "garp_lower_prio_delay" => i.garp.lower_prio_delay = v::timer(d, c, 0.0, MAX_T),
        "garp_lower_prio_repeat" => i.garp.lower_prio_repeat = v::int(d, c, 0, i64::from(u32::MAX)),
        "smtp_alert" => i.smtp_alert = v::boolean(d, c),
        "lvs_sync_daemon_interface" => {
            d.warn(&c.at, "lvs_sync_daemon_interface in a vrrp_instance is deprecated; use lvs_sync_daemon in global_defs");
            i.lvs_sync_daemon_interface = v::word(d, c, "an interface name");
        }
        "native_ipv6" => i.native_ipv6 = v::flag(d, c),
        "use_vmac" => {
            super::unsupported::report(d, c);
            no_extra(d, c, 1);
            i.use_vmac = Some(c.args.first().map(|s| s.to_string()));
        }
        "vmac_xmit_base" => {
            super::unsupported::report(d, c);
            i.vmac_xmit_base = v::flag(d, c);
        }
        "strict_mode" => i.strict_mode = v::boolean(d, c),
        "skip_check_adv_addr" => i.skip_check_adv_addr = v::boolean(d, c),
        // An invalid value keeps the previous one, as keepalived does.
        "lower_prio_no_advert" => {
            i.lower_prio_no_advert = v::boolean(d, c).or(i.lower_prio_no_advert)
        }
        "higher_prio_send_advert" => {
            i.higher_prio_send_advert = v::boolean(d, c).or(i.higher_prio_send_advert)
        }
        _ => return false,
    }
    true
}

/// Linux interface names: 1..=15 bytes (IFNAMSIZ - 1), no '/', ':' or white space.
pub fn interface_name_ok(name: &str) -> bool {
    !name.is_empty()
        && name.len() < 16
        && name != "."
        && name != ".."
        && !name.contains(|c: char| c == '/' || c == ':' || c.is_whitespace())
}

fn authentication(d: &mut Diagnostics, c: &Node) -> Option<Authentication> {
    let mut kind = None;
    let mut password = None;
    for a in children(d, c) {
        match a.keyword {
            "auth_type" => match v::word(d, a, "PASS or AH")
                .map(|s| s.to_ascii_uppercase())
                .as_deref()
            {
                Some("PASS") => kind = Some(AuthType::Pass),
                Some("AH") => {
                    // The daemon refuses to start such an instance (daemon/plan.rs).
                    d.warn(
                        &a.at,
                        "'auth_type AH' is not supported by lbd: an instance using it is not \
                         started (RFC 3768 withdrew AH; strict mode drops it instead); use \
                         PASS or no authentication on every node",
                    );
                    kind = Some(AuthType::Ah);
                }
                Some(_) => d.error(
                    &a.at,
                    format!("expected PASS or AH for auth_type, got '{}'", a.args[0]),
                ),
                None => {}
            },
            "auth_pass" => {
                if let Some(p) = v::arg(d, a, "a password of up to 8 characters") {
                    let mut bytes = p.as_bytes().to_vec();
                    if bytes.len() > 8 {
                        d.warn(&a.at, "auth_pass longer than 8 characters is truncated to 8 (as keepalived does)");
                        bytes.truncate(8);
                    }
                    password = Some(bytes);
                }
                no_extra(d, a, 1);
            }
            _ => unknown(d, a, &["auth_type", "auth_pass"], &[]),
        }
    }
    match (kind, password) {
        (Some(kind), Some(password)) => Some(Authentication { kind, password }),
        (None, _) => {
            d.error(
                &c.at,
                "authentication without auth_type: expected auth_type PASS|AH",
            );
            None
        }
        (Some(_), None) => {
            d.error(
                &c.at,
                "authentication without auth_pass: expected auth_pass PASSWORD",
            );
            None
        }
    }
}

fn unicast_peer(d: &mut Diagnostics, p: &Node) -> Option<UnicastPeer> {
    let addr = p.keyword.parse::<IpAddr>().ok().or_else(|| {
        d.error(
            &p.at,
            format!(
                "expected an IP address in unicast_peer, got '{}'",
                p.keyword
            ),
        );
        None
    })?;
    let mut peer = UnicastPeer {
        addr,
        min_ttl: None,
        max_ttl: None,
    };
    let mut it = p.args.iter();
    while let Some(key) = it.next() {
        let slot = match *key {
            "min_ttl" => &mut peer.min_ttl,
            "max_ttl" => &mut peer.max_ttl,
            other => {
                d.error(
                    &p.at,
                    format!(
                        "unexpected '{other}' after unicast peer: expected min_ttl N or max_ttl N"
                    ),
                );
                break;
            }
        };
        match it.next() {
            Some(val) => *slot = v::int_value(d, p, val, 0, 255),
            None => d.error(
                &p.at,
                format!("missing value after {key}: expected an integer 0..255"),
            ),
        }
    }
    Some(peer)
}

/// `IP[/PREFIX] [brd IP|+|-] [dev IF] [scope S] [label L] [no_track] [...]`.
pub fn virtual_ip(d: &mut Diagnostics, n: &Node) -> Option<VirtualIp> {
    if n.keyword == "{" {
        return None;
    }
    let (addr_s, prefix_s) = match n.keyword.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (n.keyword, None),
    };
    let Ok(addr) = addr_s.parse::<IpAddr>() else {
        d.error(
            &n.at,
            format!(
                "expected an IP address[/prefix] for a virtual address, got '{}'",
                n.keyword
            ),
        );
        return None;
    };
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix_len = match prefix_s {
        None => max,
        Some(p) => match p.parse::<u8>().ok().filter(|&p| p <= max) {
            Some(p) => p,
            None => {
                d.error(
                    &n.at,
                    format!(
                        "expected a prefix length 0..{max} after '/' in '{}'",
                        n.keyword
                    ),
                );
                return None;
            }
        },
    };
    let mut vip = VirtualIp {
        addr,
        prefix_len,
        broadcast: None,
        dev: None,
        scope: None,
        label: None,
        no_track: false,
        other_options: Vec::new(),
        origin: n.at.clone(),
    };
    let mut it = n.args.iter();
    while let Some(opt) = it.next() {
        let needs_value = [
            "brd",
            "broadcast",
            "dev",
            "scope",
            "label",
            "preferred_lft",
            "peer",
        ];
        let value = if needs_value.contains(opt) {
            match it.next() {
                Some(val) => Some(*val),
                None => {
                    d.error(
                        &n.at,
                        format!(
                            "missing value after '{opt}' for virtual address {}",
                            n.keyword
                        ),
                    );
                    return None;
                }
            }
        } else {
            None
        };
        match (*opt, value) {
            ("brd" | "broadcast", Some(b)) => {
                vip.broadcast = match b {
                    "+" => Some(Broadcast::Derive),
                    "-" => Some(Broadcast::Clear),
                    b => match b.parse() {
                        Ok(a) if addr.is_ipv4() => Some(Broadcast::Addr(a)),
                        _ => {
                            d.error(&n.at, format!("expected an IPv4 address, '+' or '-' after brd for {}, got '{b}'", n.keyword));
                            return None;
                        }
                    },
                }
            }
            ("dev", Some(dev)) => {
                if !interface_name_ok(dev) {
                    d.error(
                        &n.at,
                        format!(
                            "expected an interface name after dev for {}, got '{dev}'",
                            n.keyword
                        ),
                    );
                    return None;
                }
                vip.dev = Some(dev.to_string());
            }
            ("scope", Some(s)) => {
                vip.scope = Some(match s {
                    "global" => AddrScope::Global,
                    "site" => AddrScope::Site,
                    "link" => AddrScope::Link,
                    "host" => AddrScope::Host,
                    "nowhere" => AddrScope::Nowhere,
                    s => match s.parse::<u8>() {
                        Ok(x) => AddrScope::Other(x),
                        Err(_) => {
                            d.error(&n.at, format!("expected global, site, link, host, nowhere or 0..255 after scope, got '{s}'"));
                            return None;
                        }
                    },
                })
            }
            ("label", Some(l)) => vip.label = Some(l.to_string()),
            ("no_track", None) => vip.no_track = true,
            (o @ ("preferred_lft" | "peer"), Some(val)) => {
                vip.other_options.push(o.to_string());
                vip.other_options.push(val.to_string());
            }
            (o @ ("home" | "nodad" | "noprefixroute" | "autojoin" | "-"), None) => {
                vip.other_options.push(o.to_string())
            }
            (o, _) => {
                d.error(&n.at, format!("unknown option '{o}' for virtual address {}: expected brd, dev, scope, label, no_track, preferred_lft, home, nodad, noprefixroute or autojoin", n.keyword));
                return None;
            }
        }
    }
    Some(vip)
}
