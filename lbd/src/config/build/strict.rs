//! `vrrp_strict` / `strict_mode`: keepalived's RFC 3768 / RFC 5798 compliance rules, applied
//! once the whole configuration is known (`global_defs` may come after the instances).
//!
//! keepalived 2.2.7 resets what strict mode forbids and carries on, except an instance with no
//! VIP, which stops it; lbd does the same, with the same reasons (measured with
//! `keepalived -t` and the daemon). Also here, for every instance: the 8-bit address count
//! of an advert, and the firewall rules lbd does not install for `no_accept`.

use std::net::IpAddr;
use std::time::Duration;

use crate::config::diag::Diagnostics;
use crate::config::model::{Config, InitialState, VrrpInstance, VrrpVersion};

/// An advert's "Count IPvX Addr" field is 8 bits wide.
const MAX_ADVERTISED: usize = 255;

pub fn apply(d: &mut Diagnostics, cfg: &mut Config) {
    let global = cfg.global.clone();
    cfg.instances.retain_mut(|i| {
        cap_advertised(d, i);
        let keep = if i.strict(&global) {
            strict(d, i)
        } else {
            true
        };
        if keep && !i.accept_mode(&global) {
            d.warn(
                &i.origin,
                format!(
                    "vrrp_instance {}: no_accept{} is not enforced: lbd installs no firewall rule, \
                     so while MASTER this host accepts packets sent to the VIPs as with 'accept' \
                     (add your own nftables drop rule; see docs/operations.md)",
                    i.name,
                    if i.accept.is_none() {
                        " (the strict mode default)"
                    } else {
                        ""
                    }
                ),
            );
        }
        keep
    });
}

/// keepalived moves VIPs beyond what an advert can list to the excluded ones: still
/// installed, not advertised.
fn cap_advertised(d: &mut Diagnostics, i: &mut VrrpInstance) {
    if i.virtual_ipaddresses.len() <= MAX_ADVERTISED {
        return;
    }
    let excess = i.virtual_ipaddresses.split_off(MAX_ADVERTISED);
    d.warn(
        &i.origin,
        format!(
            "vrrp_instance {}: {} virtual_ipaddress entries exceed the {MAX_ADVERTISED} an advert \
             can carry; the last {} are installed but not advertised (as \
             virtual_ipaddress_excluded)",
            i.name,
            MAX_ADVERTISED + excess.len(),
            excess.len()
        ),
    );
    let mut moved = excess;
    moved.append(&mut i.virtual_ipaddresses_excluded);
    i.virtual_ipaddresses_excluded = moved;
}

/// The strict rules for one instance; `false` when the instance cannot run.
fn strict(d: &mut Diagnostics, i: &mut VrrpInstance) -> bool {
    let at = i.origin.clone();
    let name = i.name.clone();
    let mut warn = |what: &str| {
        d.warn(&at, format!("vrrp_instance {name}: {what} (strict mode)"));
    };
    if i.virtual_ipaddresses.is_empty() {
        d.error(
            &at,
            format!(
                "vrrp_instance {name}: no virtual_ipaddress; strict mode requires at least one \
                 (keepalived stops on this too)"
            ),
        );
        return false;
    }
    let owner = i.priority == 255;
    if i.initial_state == InitialState::Master && !owner {
        warn("state MASTER requires being the address owner (priority 255); starting as BACKUP");
        i.initial_state = InitialState::Backup;
    }
    if i.authentication.take().is_some() {
        warn("authentication is not supported; ignored");
    }
    if !i.unicast_peers.is_empty() {
        // The RFCs only know multicast; keepalived 2.2.7 nevertheless runs such an instance.
        warn("unicast_peer does not comply with the RFCs (adverts are multicast); used anyway, as keepalived does");
    }
    if !i.preempt_delay.is_zero() {
        warn("preempt_delay is not allowed; reset to 0");
        i.preempt_delay = Duration::ZERO;
    }
    if i.accept == Some(true) && !owner && i.version == VrrpVersion::V2 {
        warn("accept mode does not exist in VRRPv2 (RFC 3768); using no_accept");
        i.accept = Some(false);
    }
    if i.garp.lower_prio_repeat.is_some_and(|r| r > 0) {
        warn("garp_lower_prio_repeat must be 0; reset");
    }
    if i.garp.lower_prio_delay.is_some_and(|t| !t.is_zero()) {
        warn("garp_lower_prio_delay must be 0; reset");
    }
    i.garp.lower_prio_repeat = Some(0);
    i.garp.lower_prio_delay = Some(Duration::ZERO);
    if i.lower_prio_no_advert == Some(false) {
        warn("lower_prio_no_advert cannot be off; set");
    }
    i.lower_prio_no_advert = Some(true);
    if i.higher_prio_send_advert == Some(true) {
        warn("higher_prio_send_advert must be off; reset");
    }
    i.higher_prio_send_advert = Some(false);
    if i.vmac_xmit_base {
        warn("vmac_xmit_base is not allowed; reset");
        i.vmac_xmit_base = false;
    }
    let first_v6 = i.virtual_ipaddresses.first().and_then(|v| match v.addr {
        IpAddr::V6(a) => Some(a),
        IpAddr::V4(_) => None,
    });
    if let Some(a) = first_v6 {
        if i.unicast_peers.is_empty() && (a.segments()[0] & 0xffc0) != 0xfe80 {
            warn(&format!(
                "the first IPv6 virtual_ipaddress must be link-local (RFC 5798 5.2.9), not {a}"
            ));
        }
    }
    true
}
