//! keepalived keywords lbd does not implement: one message per keyword saying what the
//! operator loses, `'KW' is not supported by lbd: CONSEQUENCE`. A warning when the rest of the
//! configuration still means what it says; an error when running without the keyword would
//! make lbd do something else than asked (another namespace, checksums the peers reject).

use crate::config::diag::Diagnostics;
use crate::config::tree::Node;

/// Reports `n`, a keepalived keyword lbd accepts but does not act on.
pub(crate) fn report(d: &mut Diagnostics, n: &Node) {
    let Some((error, consequence)) = consequence(n) else {
        return;
    };
    let message = format!("'{}' is not supported by lbd: {consequence}", n.keyword);
    if error {
        d.error(&n.at, message);
    } else {
        d.warn(&n.at, message);
    }
}

/// `(is an error, consequence)`; `None` when this use of the keyword asks for what lbd does
/// anyway (`old_unicast_checksum never`).
fn consequence(n: &Node) -> Option<(bool, String)> {
    const NO_SNMP: &str = "there is no SNMP agent in lbd; ignored (use --metrics or lbd status)";
    const NO_DBUS: &str = "there is no D-Bus service in lbd; ignored (use lbd status)";
    const NO_FIFO: &str =
        "state changes are not written to a FIFO; ignored (use notify scripts or lbd status)";
    const NO_FIREWALL: &str = "lbd installs no firewall rules or sets; ignored (add your own \
         nftables rules for the VIPs, see docs/operations.md)";
    const NO_BFD: &str = "there is no BFD in lbd; ignored";
    const NOT_TRACKED: &str = "processes are not tracked; the priority never changes for them";
    let warn = |s: &str| Some((false, s.to_owned()));
    let error = |s: String| Some((true, s));
    let arg = n.args.first().copied().unwrap_or("NAME");
    match n.keyword {
        "net_namespace" => error(format!(
            "lbd runs in the network namespace it is started in, not in '{arg}'; start it \
             with 'ip netns exec {arg} lbd ...' and remove the keyword"
        )),
        "net_namespace_ipvs" => error(format!(
            "lbd programs IPVS in its own network namespace, not in '{arg}'; run lbd in \
             that namespace instead"
        )),
        "old_unicast_checksum" => match n.args.first().copied() {
            Some("never") => None,
            Some(other) => warn(&format!(
                "unknown mode '{other}' (expected 'never'); ignored, as keepalived does"
            )),
            None => error(
                "lbd sends and expects the RFC 5798 checksum on unicast adverts, which peers \
                 configured with old_unicast_checksum reject (and whose adverts lbd drops); \
                 move every node to the new checksum ('old_unicast_checksum never') first"
                    .to_owned(),
            ),
        },
        "use_vmac" => warn(
            "no VMAC (macvlan) interface is created: adverts and gratuitous ARPs use the \
             interface's own MAC address, and the VIPs go on the instance's interface",
        ),
        "vmac_xmit_base" | "use_ipvlan" | "vmac_garp_intvl" | "use_vmac_addr" | "vmac_prefix"
        | "vmac_addr_prefix" => warn("there are no VMAC interfaces in lbd; ignored"),
        "static_routes" | "static_rules" | "virtual_routes" | "virtual_rules" => {
            let lines = n.block.as_ref().map_or(0, Vec::len);
            warn(&format!(
                "the {lines} {} are not installed; ignored (add them with your network \
                 configuration{})",
                if n.keyword.ends_with("routes") {
                    "route(s)"
                } else {
                    "rule(s)"
                },
                if n.keyword.starts_with("virtual") {
                    ", or in notify_master / notify_backup scripts"
                } else {
                    ""
                }
            ))
        }
        "vrrp_iptables"
        | "vrrp_ipsets"
        | "vrrp_nftables"
        | "vrrp_nftables_priority"
        | "vrrp_nftables_ifindex"
        | "nftables"
        | "nftables_counters"
        | "nftables_ifindex"
        | "nftables_ipvs"
        | "nftables_ipvs_priority"
        | "nftables_ipvs_start_fwmark"
        | "nftables_priority" => warn(NO_FIREWALL),
        "enable_traps"
        | "enable_snmp_vrrp"
        | "enable_snmp_keepalived"
        | "enable_snmp_checker"
        | "enable_snmp_rfc"
        | "enable_snmp_rfcv2"
        | "enable_snmp_rfcv3"
        | "snmp_socket" => warn(NO_SNMP),
        "enable_dbus" | "enable_dbus_create_instance" | "dbus_service_name" => warn(NO_DBUS),
        "notify_fifo"
        | "notify_fifo_script"
        | "vrrp_notify_fifo"
        | "vrrp_notify_fifo_script"
        | "lvs_notify_fifo"
        | "lvs_notify_fifo_script"
        | "fifo_write_vrrp_states_on_reload" => warn(NO_FIFO),
        "bfd_instance" | "track_bfd" | "bfd_priority" | "bfd_no_swap" | "bfd_rt_priority"
        | "bfd_process_name" | "bfd_cpu_affinity" | "bfd_rlimit_rttime" | "BFD_CHECK" => {
            warn(NO_BFD)
        }
        "startup_script" | "startup_script_timeout" => warn(
            "the script is not run at start; ignored (run it from the unit file, ExecStartPre=)",
        ),
        "shutdown_script" | "shutdown_script_timeout" => warn(
            "the script is not run at stop; ignored (run it from the unit file, ExecStopPost=)",
        ),
        "track_src_ip" => {
            warn("the instance does not go to FAULT when its source address is removed; ignored")
        }
        "vrrp_down_timer_adverts" => {
            warn("ignored: a backup waits the RFC's Master_Down_Interval (3 adverts and the skew)")
        }
        "vrrp_track_process" | "track_process" => warn(NOT_TRACKED),
        "default_interface" => {
            warn("ignored: every vrrp_instance needs 'interface' and every static_ipaddress 'dev'")
        }
        "instance" => warn(
            "ignored: pid, dump and socket file names do not depend on it (use -p, \
             LBD_DUMP_FILE and --status-socket)",
        ),
        "lvs_flush" => warn("IPVS is not flushed at start"),
        "lvs_flush_onstop" | "lvs_flush_on_stop" => {
            warn("IPVS is left in place at stop; start lbd with --remove-ipvs-on-stop to remove it")
        }
        "linkbeat_interfaces" | "linkbeat_use_polling" => {
            warn("ignored: lbd follows link state from netlink events")
        }
        "vrrp_startup_delay" => warn("ignored: instances start at once"),
        _ => warn("ignored"),
    }
}
