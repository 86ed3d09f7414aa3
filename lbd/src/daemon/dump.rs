//! The SIGUSR1 state dump: what each instance is doing, as JSON (written by
//! [`sys::write_json`](super::sys::write_json), 0600, never through a symlink).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use vrrp_core::wire::Family;
use vrrp_core::VirtualRouter;

use super::drops::DropLog;
use super::plan::InstancePlan;

/// What the runtime lends the dump for one instance.
pub struct InstanceView<'a> {
    pub plan: &'a InstancePlan,
    pub router: &'a VirtualRouter,
    pub vips_installed: bool,
    /// Packets the socket dropped before VRRP parsing (shared by the socket's instances).
    pub ip_malformed: u64,
}

#[derive(Debug, Serialize)]
pub struct Dump {
    pub pid: u32,
    pub config_file: String,
    pub reloads: u64,
    pub dropped: BTreeMap<&'static str, u64>,
    pub instances: Vec<InstanceDump>,
}

#[derive(Debug, Serialize)]
pub struct InstanceDump {
    pub name: String,
    pub state: String,
    pub interface: String,
    pub family: &'static str,
    pub vrid: u8,
    pub version: u8,
    pub base_priority: u8,
    pub effective_priority: u8,
    pub advert_interval_ms: u128,
    pub master: Option<String>,
    pub master_priority: Option<u8>,
    pub vips: Vec<String>,
    pub vips_installed: bool,
    pub sync_group: Option<String>,
    /// RFC 5798 Accept_Mode as resolved (`accept` / `no_accept` / strict default); lbd
    /// installs no firewall rule either way.
    pub accept_mode: bool,
    /// `garp_lower_prio_repeat` as resolved (0 in strict mode).
    pub garp_lower_prio_repeat: u32,
    /// `garp_lower_prio_delay` in ms; `None`: no second burst.
    pub garp_lower_prio_delay_ms: Option<u128>,
    /// `lower_prio_no_advert` as resolved (global default, on in strict mode).
    pub lower_prio_no_advert: bool,
    /// `higher_prio_send_advert` as resolved (global default, off in strict mode).
    pub higher_prio_send_advert: bool,
    pub stats: StatsDump,
}

#[derive(Debug, Serialize)]
pub struct StatsDump {
    pub adverts_rx: u64,
    pub adverts_tx: u64,
    pub priority_zero_rx: u64,
    pub priority_zero_tx: u64,
    pub dropped: u64,
    pub ignored: u64,
    pub became_master: u64,
    pub released_master: u64,
    pub ip_malformed: u64,
}

pub fn snapshot(
    views: Vec<InstanceView<'_>>,
    drops: &DropLog,
    reloads: u64,
    config: &Path,
) -> Dump {
    let instances = views
        .into_iter()
        .map(|v| {
            let cfg = v.router.config();
            let s = v.router.stats();
            InstanceDump {
                name: v.plan.name.clone(),
                state: v.router.state().to_string(),
                interface: v.plan.ifname.clone(),
                family: match v.plan.family {
                    Family::V4 => "inet",
                    Family::V6 => "inet6",
                },
                vrid: cfg.vrid(),
                version: cfg.version().number(),
                base_priority: cfg.priority(),
                effective_priority: v.router.priority(),
                advert_interval_ms: cfg.advert_interval().as_millis(),
                master: v.router.master().map(|m| m.addr.to_string()),
                master_priority: v.router.master().map(|m| m.priority),
                vips: v
                    .plan
                    .vips
                    .iter()
                    .map(|s| format!("{}/{}", s.addr, s.prefix_len))
                    .collect(),
                vips_installed: v.vips_installed,
                sync_group: v.plan.group.clone(),
                accept_mode: cfg.accept_mode(),
                garp_lower_prio_repeat: v.plan.lower_prio_garp.repeat,
                garp_lower_prio_delay_ms: v.plan.lower_prio_garp.delay.map(|d| d.as_millis()),
                lower_prio_no_advert: cfg.lower_prio_no_advert(),
                higher_prio_send_advert: cfg.higher_prio_send_advert(),
                stats: StatsDump {
                    adverts_rx: s.adverts_rx,
                    adverts_tx: s.adverts_tx,
                    priority_zero_rx: s.priority_zero_rx,
                    priority_zero_tx: s.priority_zero_tx,
                    dropped: s.dropped,
                    ignored: s.ignored,
                    became_master: s.became_master,
                    released_master: s.released_master,
                    ip_malformed: v.ip_malformed,
                },
            }
        })
        .collect();
    Dump {
        pid: std::process::id(),
        config_file: config.display().to_string(),
        reloads,
        dropped: drops.counts().iter().map(|(k, v)| (*k, *v)).collect(),
        instances,
    }
}
