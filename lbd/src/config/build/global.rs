//! `global_defs { }`.

use std::net::IpAddr;

use super::{children, unknown};
use crate::config::diag::Diagnostics;
use crate::config::model::{GlobalDefs, LvsSyncDaemon, SmtpHost, SmtpServer, VrrpVersion};
use crate::config::tree::Node;
use crate::config::values::{self as v, no_extra};

pub const KEYWORDS: &[&str] = &[
    "router_id",
    "lvs_id",
    "notification_email",
    "notification_email_from",
    "smtp_server",
    "smtp_helo_name",
    "smtp_connect_timeout",
    "smtp_alert",
    "smtp_alert_vrrp",
    "smtp_alert_checker",
    "no_email_faults",
    "no_checker_emails",
    "vrrp_strict",
    "vrrp_skip_check_adv_addr",
    "vrrp_lower_prio_no_advert",
    "vrrp_higher_prio_send_advert",
    "vrrp_version",
    "vrrp_garp_master_delay",
    "vrrp_garp_master_repeat",
    "vrrp_garp_master_refresh",
    "vrrp_garp_master_refresh_repeat",
    "vrrp_garp_lower_prio_delay",
    "vrrp_garp_lower_prio_repeat",
    "vrrp_garp_interval",
    "vrrp_gna_interval",
    "vrrp_mcast_group4",
    "vrrp_mcast_group6",
    "vrrp_iptables",
    "enable_script_security",
    "script_user",
    "lvs_timeouts",
    "lvs_sync_daemon",
    "enable_traps",
    "dynamic_interfaces",
];

const UNUSED: &[&str] = &[
    "default_interface",
    "vrrp_ipsets",
    "vrrp_nftables",
    "vrrp_nftables_priority",
    "vrrp_nftables_ifindex",
    "vrrp_check_unicast_src",
    "vrrp_garp_lower_prio_no_advert",
    "vrrp_priority",
    "checker_priority",
    "bfd_priority",
    "vrrp_no_swap",
    "checker_no_swap",
    "bfd_no_swap",
    "vrrp_rt_priority",
    "checker_rt_priority",
    "bfd_rt_priority",
    "vrrp_rlimit_rttime",
    "checker_rlimit_rttime",
    "vrrp_cpu_affinity",
    "checker_cpu_affinity",
    "notify_fifo",
    "notify_fifo_script",
    "vrrp_notify_fifo",
    "vrrp_notify_fifo_script",
    "lvs_notify_fifo",
    "lvs_notify_fifo_script",
    "vrrp_notify_priority_changes",
    "lvs_flush",
    "lvs_flush_onstop",
    "enable_snmp_vrrp",
    "enable_snmp_keepalived",
    "enable_snmp_checker",
    "enable_snmp_rfc",
    "enable_snmp_rfcv2",
    "enable_snmp_rfcv3",
    "snmp_socket",
    "enable_dbus",
    "enable_dbus_create_instance",
    "process_names",
    "process_name",
    "vrrp_process_name",
    "checker_process_name",
    "bfd_process_name",
    "max_auto_priority",
    "min_auto_priority_delay",
    "vrrp_netlink_cmd_rcv_bufs",
    "vrrp_netlink_cmd_rcv_bufs_force",
    "vrrp_netlink_monitor_rcv_bufs",
    "vrrp_netlink_monitor_rcv_bufs_force",
    "lvs_netlink_cmd_rcv_bufs",
    "lvs_netlink_monitor_rcv_bufs",
    "vrrp_rx_bufs_policy",
    "vrrp_rx_bufs_multiplier",
    "vrrp_startup_delay",
    "vrrp_min_garp",
    "vrrp_garp_extra_if",
    "vrrp_use_ipvs_sync",
    "checker_log_all_failures",
    "log_unknown_vrids",
    "script_security",
    "random_seed",
    "reload_check_config",
    "reload_time_file",
    "reload_repeat",
    "reload_file",
    "config_save_dir",
    "data_use_instance",
    "tmp_config_directory",
    "umask",
    "fifo_write_vrrp_states_on_reload",
    "net_namespace",
    "net_namespace_ipvs",
    "namespace_with_ipsets",
    "instance",
    "use_pid_dir",
    "linkbeat_use_polling",
    "child_wait_time",
    "disable_local_igmp",
    "nftables",
    "cpu_affinity",
    "bfd_cpu_affinity",
    "bfd_rlimit_rttime",
    "dbus_service_name",
    "lvs_flush_on_stop",
    "lvs_netlink_cmd_rcv_bufs_force",
    "lvs_netlink_monitor_rcv_bufs_force",
    "nftables_counters",
    "nftables_ifindex",
    "nftables_ipvs",
    "nftables_ipvs_priority",
    "nftables_ipvs_start_fwmark",
    "nftables_priority",
    "process_monitor_rcv_bufs",
    "process_monitor_rcv_bufs_force",
    "rs_init_notifies",
    "startup_script",
    "startup_script_timeout",
    "shutdown_script",
    "shutdown_script_timeout",
    "vmac_prefix",
    "vmac_addr_prefix",
    "vrrp_down_timer_adverts",
];

pub fn global_defs(d: &mut Diagnostics, n: &Node, g: &mut GlobalDefs) {
    for c in children(d, n) {
        if !keyword(d, c, g) {
            unknown(d, c, KEYWORDS, UNUSED);
        }
    }
}

/// Handles one `global_defs` statement; `false` when the keyword is not one of [`KEYWORDS`].
fn keyword(d: &mut Diagnostics, c: &Node, g: &mut GlobalDefs) -> bool {
    const MAX_T: f64 = 4294.967295;
    match c.keyword {
        "router_id" | "lvs_id" => g.router_id = v::word(d, c, "a router id"),
        "notification_email" => {
            let emails = c.block.as_deref().unwrap_or_default();
            if c.block.is_none() {
                d.error(
                    &c.at,
                    "'notification_email' expects a block of addresses: notification_email { a@b }",
                );
            } else if emails.is_empty() {
                d.warn(&c.at, "empty notification_email block");
            }
            // As keepalived, every word of the block is an address.
            for e in emails {
                for addr in std::iter::once(&e.keyword).chain(e.args) {
                    if !addr.contains('@') {
                        d.warn(
                            &e.at,
                            format!("'{addr}' in notification_email has no '@' (a local user?)"),
                        );
                    }
                    g.notification_email.push(addr.to_string());
                }
            }
        }
        "notification_email_from" => g.notification_email_from = v::word(d, c, "an e-mail address"),
        "smtp_server" => {
            if let Some(host) = v::arg(d, c, "an address or host name [port]") {
                let host = match host.parse::<IpAddr>() {
                    Ok(ip) => SmtpHost::Addr(ip),
                    Err(_) => SmtpHost::Name(host.to_string()),
                };
                let port = match c.args.get(1) {
                    Some(p) => v::int_value(d, c, p, 1, 65535),
                    None => Some(25),
                };
                no_extra(d, c, 2);
                if let Some(port) = port {
                    g.smtp_server = Some(SmtpServer { host, port });
                }
            }
        }
        "smtp_helo_name" => g.smtp_helo_name = v::word(d, c, "a host name"),
        "smtp_connect_timeout" => g.smtp_connect_timeout = v::timer(d, c, 0.000001, MAX_T),
        "smtp_alert" => g.smtp_alert = v::boolean(d, c),
        "smtp_alert_vrrp" => g.smtp_alert_vrrp = v::boolean(d, c),
        "smtp_alert_checker" => g.smtp_alert_checker = v::boolean(d, c),
        "no_email_faults" => g.no_email_faults = v::flag(d, c),
        "no_checker_emails" => g.no_checker_emails = v::boolean(d, c).unwrap_or(true),
        "vrrp_strict" => g.vrrp_strict = v::flag(d, c),
        "vrrp_skip_check_adv_addr" => g.vrrp_skip_check_adv_addr = v::boolean(d, c).unwrap_or(true),
        // An invalid value keeps the previous one, as keepalived does.
        "vrrp_lower_prio_no_advert" => {
            if let Some(on) = v::boolean(d, c) {
                g.vrrp_lower_prio_no_advert = on;
            }
        }
        "vrrp_higher_prio_send_advert" => {
            if let Some(on) = v::boolean(d, c) {
                g.vrrp_higher_prio_send_advert = on;
            }
        }
        "vrrp_version" => {
            if let Some(ver) = v::int::<u8>(d, c, 2, 3) {
                g.vrrp_version = if ver == 3 {
                    VrrpVersion::V3
                } else {
                    VrrpVersion::V2
                };
            }
        }
        "vrrp_garp_master_delay" => g.garp.master_delay = v::timer(d, c, 0.0, MAX_T),
        "vrrp_garp_master_repeat" => g.garp.master_repeat = v::int(d, c, 0, i64::from(u32::MAX)),
        "vrrp_garp_master_refresh" => g.garp.master_refresh = v::timer(d, c, 0.0, MAX_T),
        "vrrp_garp_master_refresh_repeat" => {
            g.garp.master_refresh_repeat = v::int(d, c, 0, i64::from(u32::MAX))
        }
        "vrrp_garp_lower_prio_delay" => g.garp.lower_prio_delay = v::timer(d, c, 0.0, MAX_T),
        "vrrp_garp_lower_prio_repeat" => {
            g.garp.lower_prio_repeat = v::int(d, c, 0, i64::from(u32::MAX))
        }
        "vrrp_garp_interval" => g.vrrp_garp_interval = v::lenient_timer(d, c, 0.000001, MAX_T),
        "vrrp_gna_interval" => g.vrrp_gna_interval = v::lenient_timer(d, c, 0.000001, MAX_T),
        "vrrp_mcast_group4" => {
            if let Some(a) = v::arg(d, c, "an IPv4 multicast address") {
                g.vrrp_mcast_group4 = v::ipv4(d, c, a).filter(|a| a.is_multicast()).or_else(|| {
                    d.error(
                        &c.at,
                        format!(
                            "expected an IPv4 multicast address for vrrp_mcast_group4, got '{a}'"
                        ),
                    );
                    None
                });
            }
        }
        "vrrp_mcast_group6" => {
            if let Some(a) = v::arg(d, c, "an IPv6 multicast address") {
                g.vrrp_mcast_group6 = a.parse::<std::net::Ipv6Addr>().ok().filter(|a| a.is_multicast()).or_else(|| {
                    d.error(&c.at, format!("expected an IPv6 multicast address for vrrp_mcast_group6, got '{a}'"));
                    None
                });
            }
        }
        "vrrp_iptables" => {
            super::unsupported::report(d, c);
            no_extra(d, c, 2);
            g.vrrp_iptables = Some(c.args.iter().take(2).map(|s| s.to_string()).collect());
        }
        "enable_script_security" => g.enable_script_security = v::flag(d, c),
        "script_user" => g.script_user = v::script_user(d, c),
        "lvs_timeouts" => lvs_timeouts(d, c, g),
        "lvs_sync_daemon" => g.lvs_sync_daemon = lvs_sync_daemon(d, c),
        "enable_traps" => {
            super::unsupported::report(d, c);
            g.enable_traps = v::flag(d, c);
        }
        "dynamic_interfaces" => g.dynamic_interfaces = true,
        _ => return false,
    }
    true
}

/// `lvs_timeouts [tcp N] [tcpfin N] [udp N]` (seconds, 1..31 days).
fn lvs_timeouts(d: &mut Diagnostics, c: &Node, g: &mut GlobalDefs) {
    let mut it = c.args.iter();
    while let Some(key) = it.next() {
        let Some(val) = it.next() else {
            d.error(
                &c.at,
                format!("missing value after '{key}' in lvs_timeouts: expected seconds"),
            );
            return;
        };
        let secs: Option<u64> = v::int_value(d, c, val, 1, 86400 * 31);
        let Some(secs) = secs.map(std::time::Duration::from_secs) else {
            continue;
        };
        match *key {
            "tcp" => g.lvs_timeouts.tcp = Some(secs),
            "tcpfin" => g.lvs_timeouts.tcpfin = Some(secs),
            "udp" => g.lvs_timeouts.udp = Some(secs),
            other => d.error(
                &c.at,
                format!("unknown lvs_timeouts field '{other}': expected tcp, tcpfin or udp"),
            ),
        }
    }
}

/// `lvs_sync_daemon IFNAME [INSTANCE] [id N] [maxlen N] [port N] [ttl N] [group IP]`.
fn lvs_sync_daemon(d: &mut Diagnostics, c: &Node) -> Option<LvsSyncDaemon> {
    let interface = v::arg(d, c, "an interface name [vrrp instance] [id N] ...")?.to_string();
    let mut sd = LvsSyncDaemon {
        interface,
        vrrp_instance: None,
        sync_id: None,
        maxlen: None,
        port: None,
        ttl: None,
        group: None,
    };
    let mut it = c.args[1..].iter().peekable();
    while let Some(key) = it.next() {
        let options = ["id", "maxlen", "port", "ttl", "group"];
        if !options.contains(key) {
            if sd.vrrp_instance.is_none() {
                sd.vrrp_instance = Some(key.to_string());
            } else {
                d.error(&c.at, format!("unexpected '{key}' in lvs_sync_daemon: expected id, maxlen, port, ttl or group"));
            }
            continue;
        }
        let Some(val) = it.next() else {
            d.error(
                &c.at,
                format!("missing value after '{key}' in lvs_sync_daemon"),
            );
            break;
        };
        match *key {
            "id" => sd.sync_id = v::int_value(d, c, val, 0, 255),
            "maxlen" => sd.maxlen = v::int_value(d, c, val, 1, 65535 - 20 - 8),
            "port" => sd.port = v::int_value(d, c, val, 1, 65535),
            "ttl" => sd.ttl = v::int_value(d, c, val, 1, 255),
            _ => sd.group = v::ip(d, c, val),
        }
    }
    Some(sd)
}
