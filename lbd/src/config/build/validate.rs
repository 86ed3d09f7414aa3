//! Checks that need the whole configuration: unique names, references between blocks.

use std::collections::{HashMap, HashSet};

use crate::config::diag::{Diagnostics, Location};
use crate::config::model::{CheckerKind, Config, ServiceKey, VirtualServer};

/// `declared`: every `vrrp_instance` name written, including instances dropped for errors
/// (already reported, so not reported again as missing).
pub fn validate(d: &mut Diagnostics, cfg: &mut Config, declared: &[&str]) {
    // Named blocks are deduplicated as they are built; services by their address here.
    dedup(d, "virtual_server", &mut cfg.virtual_servers, |v| {
        (v.key.to_string(), v.origin.clone())
    });

    // Two instances with one VRID on one interface and family would fight over one MAC.
    let mut vrids: HashMap<(Option<&str>, u8, bool), &str> = HashMap::new();
    for i in &cfg.instances {
        let v6 = i
            .virtual_ipaddresses
            .first()
            .is_some_and(|a| a.addr.is_ipv6());
        let key = (i.interface.as_deref(), i.virtual_router_id, v6);
        if let Some(other) = vrids.insert(key, &i.name) {
            d.error(
                &i.origin,
                format!(
                    "vrrp_instance {}: virtual_router_id {} on {} is already used by vrrp_instance {other}",
                    i.name,
                    i.virtual_router_id,
                    i.interface.as_deref().unwrap_or("the default interface")
                ),
            );
        }
        if let Some(src) = i.unicast_src_ip {
            for p in i
                .unicast_peers
                .iter()
                .filter(|p| p.addr.is_ipv6() != src.is_ipv6())
            {
                d.error(&i.origin, format!("vrrp_instance {}: unicast peer {} and unicast_src_ip {src} are of different address families", i.name, p.addr));
            }
        }
        // The family the daemon gives the instance (daemon/plan.rs): adverts of the other
        // family cannot go to this group.
        let family_v6 = i.native_ipv6
            || i.virtual_ipaddresses
                .first()
                .map(|a| a.addr)
                .or(i.unicast_src_ip)
                .or(i.unicast_peers.first().map(|p| p.addr))
                .is_some_and(|a| a.is_ipv6());
        if let Some(group) = i.mcast_dst_ip.filter(|g| g.is_ipv6() != family_v6) {
            d.error(
                &i.origin,
                format!(
                    "vrrp_instance {}: mcast_dst_ip {group} is not of the instance's address \
                     family (IPv{})",
                    i.name,
                    if family_v6 { 6 } else { 4 }
                ),
            );
        }
    }

    let declared: HashSet<&str> = declared.iter().copied().collect();
    let mut member_of: HashMap<&str, &str> = HashMap::new();
    for g in &cfg.sync_groups {
        for m in &g.members {
            if !declared.contains(&m.as_str()) {
                d.error(
                    &g.origin,
                    format!(
                        "vrrp_sync_group {}: member '{m}' is not a defined vrrp_instance",
                        g.name
                    ),
                );
            } else if cfg.instance(m).is_none() {
                continue;
            } else if let Some(other) = member_of.insert(m, &g.name) {
                d.error(&g.origin, format!("vrrp_sync_group {}: vrrp_instance {m} is already in vrrp_sync_group {other}", g.name));
            }
        }
    }

    // Like keepalived, a reference to a missing script or file is dropped with a warning:
    // the instance still runs, untracked.
    let scripts: HashSet<String> = cfg.vrrp_scripts.iter().map(|s| s.name.clone()).collect();
    let files = track_file_names(cfg);
    for i in &mut cfg.instances {
        let at = i.origin.clone();
        let name = i.name.clone();
        i.track_scripts
            .retain(|t| known(d, &at, &name, "vrrp_script", &t.name, &scripts));
        i.track_files
            .retain(|t| known(d, &at, &name, "track file", &t.name, &files));
    }
    for g in &mut cfg.sync_groups {
        let at = g.origin.clone();
        let name = g.name.clone();
        g.track_scripts
            .retain(|t| known(d, &at, &name, "vrrp_script", &t.name, &scripts));
        g.track_files
            .retain(|t| known(d, &at, &name, "track file", &t.name, &files));
    }

    for vs in &cfg.virtual_servers {
        virtual_server_references(d, vs, cfg, &files);
    }

    if let Some(sd) = &cfg.global.lvs_sync_daemon {
        if let Some(inst) = &sd.vrrp_instance {
            if cfg.instance(inst).is_none() {
                // No line is kept for global options; point at the file's first line.
                if let Some(at) = cfg.instances.first().map(|i| i.origin.clone()) {
                    d.warn(
                        &at,
                        format!(
                            "lvs_sync_daemon refers to vrrp_instance {inst}, which is not defined"
                        ),
                    );
                }
            }
        }
    }
}

/// What a virtual server refers to in the rest of the configuration: its
/// `virtual_server_group` and the track files of its FILE_CHECKs (`files`: the names of
/// `cfg.track_files`). Also what an incremental reload checks of a re-read virtual server.
pub fn virtual_server_references(
    d: &mut Diagnostics,
    vs: &VirtualServer,
    cfg: &Config,
    files: &HashSet<String>,
) {
    if let ServiceKey::Group(name) = &vs.key {
        if cfg.virtual_server_group(name).is_none() {
            d.error(
                &vs.origin,
                format!("virtual_server group {name}: no virtual_server_group named '{name}'"),
            );
        }
    }
    for rs in &vs.real_servers {
        for c in &rs.checkers {
            if let CheckerKind::File(f) = &c.kind {
                if !files.contains(&f.name) {
                    d.error(
                        &c.origin,
                        format!(
                            "FILE_CHECK: track_file '{}' is not defined by any vrrp_track_file",
                            f.name
                        ),
                    );
                }
            }
        }
    }
}

/// The names of the track files, as [`virtual_server_references`] takes them.
pub fn track_file_names(cfg: &Config) -> HashSet<String> {
    cfg.track_files.iter().map(|t| t.name.clone()).collect()
}

fn known(
    d: &mut Diagnostics,
    at: &Location,
    owner: &str,
    what: &str,
    name: &str,
    defined: &HashSet<String>,
) -> bool {
    let ok = defined.contains(name);
    if !ok {
        d.warn(
            at,
            format!(
                "{owner}: tracked {what} '{name}' is not defined (or was dropped); not tracked"
            ),
        );
    }
    ok
}

/// Keeps the first of each name; later ones are errors naming where the first is.
fn dedup<T>(
    d: &mut Diagnostics,
    what: &str,
    items: &mut Vec<T>,
    key: impl Fn(&T) -> (String, Location),
) {
    let mut seen: HashMap<String, Location> = HashMap::new();
    items.retain(|item| {
        let (name, at) = key(item);
        match seen.get(&name) {
            Some(first) => {
                d.error(&at, format!("{what} {name} is already defined at {first}"));
                false
            }
            None => {
                seen.insert(name, at);
                true
            }
        }
    });
}
