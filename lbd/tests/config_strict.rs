//! `vrrp_strict` / `strict_mode` and `accept` / `no_accept`: what keepalived 2.2.7 resets,
//! refuses or accepts (checked with `keepalived -t` and the daemon in a namespace), and the
//! firewall rule lbd says it does not install.

use lbd::config::{load_str, ConfigError, InitialState, Loaded, VrrpInstance};

fn load(text: &str) -> Result<Loaded, Vec<String>> {
    load_str("t.conf", text).map_err(|e| match e {
        ConfigError::Invalid { diagnostics } => {
            diagnostics.iter().map(ToString::to_string).collect()
        }
        e => panic!("{e}"),
    })
}

fn warnings(l: &Loaded) -> Vec<String> {
    l.warnings.iter().map(ToString::to_string).collect()
}

/// `global_defs` (line 1-3) then one instance from line 4 with `body` after the VRID.
fn conf(global: &str, body: &str) -> String {
    format!(
        "global_defs {{\n{global}\n}}\nvrrp_instance VI_1 {{\n    interface eth0\n    virtual_router_id 51\n{body}\n}}\n"
    )
}

const VIP: &str = "    virtual_ipaddress {\n        192.0.2.100\n    }";

fn only(l: &Loaded) -> &VrrpInstance {
    assert_eq!(l.config.instances.len(), 1);
    &l.config.instances[0]
}

const NO_ACCEPT: &str =
    "no_accept (the strict mode default) is not enforced: lbd installs no firewall rule";

#[test]
fn strict_resets_what_the_rfcs_forbid() {
    let body = format!(
        "    state MASTER\n    priority 200\n    preempt_delay 5\n    authentication {{\n        auth_type PASS\n        auth_pass secret\n    }}\n    garp_lower_prio_repeat 2\n    garp_lower_prio_delay 3\n{VIP}"
    );
    let l = load(&conf("    vrrp_strict", &body)).unwrap();
    let i = only(&l);
    assert_eq!(i.initial_state, InitialState::Backup);
    assert_eq!(i.authentication, None);
    assert!(i.preempt_delay.is_zero());
    assert_eq!(i.garp.lower_prio_repeat, Some(0));
    assert_eq!(i.garp.lower_prio_delay, Some(std::time::Duration::ZERO));
    assert!(!i.accept_mode(&l.config.global));
    let w = warnings(&l);
    let expect = [
        "t.conf:4: warning: vrrp_instance VI_1: state MASTER requires being the address owner (priority 255); starting as BACKUP (strict mode)",
        "t.conf:4: warning: vrrp_instance VI_1: authentication is not supported; ignored (strict mode)",
        "t.conf:4: warning: vrrp_instance VI_1: preempt_delay is not allowed; reset to 0 (strict mode)",
        "t.conf:4: warning: vrrp_instance VI_1: garp_lower_prio_repeat must be 0; reset (strict mode)",
        "t.conf:4: warning: vrrp_instance VI_1: garp_lower_prio_delay must be 0; reset (strict mode)",
    ];
    assert_eq!(w[..expect.len()], expect, "{w:#?}");
    assert!(w[expect.len()].contains(NO_ACCEPT), "{w:#?}");
    assert_eq!(w.len(), expect.len() + 1, "{w:#?}");
}

#[test]
fn strict_mode_on_the_instance_overrides_the_global() {
    let l = load(&conf(
        "",
        &format!("    strict_mode\n    preempt_delay 5\n{VIP}"),
    ))
    .unwrap();
    assert!(only(&l).preempt_delay.is_zero());
    let l = load(&conf(
        "    vrrp_strict",
        &format!("    strict_mode off\n    preempt_delay 5\n{VIP}"),
    ))
    .unwrap();
    assert_eq!(only(&l).preempt_delay, std::time::Duration::from_secs(5));
    assert!(warnings(&l).is_empty(), "{:?}", warnings(&l));
    assert!(only(&l).accept_mode(&l.config.global));
}

#[test]
fn strict_without_a_vip_is_an_error_as_in_keepalived() {
    // keepalived 2.2.7: "(VI_1) No VIP specified; at least one is required", and the VRRP
    // process exits with a configuration error.
    let err = load(&conf("    vrrp_strict", "    priority 100")).unwrap_err();
    assert_eq!(
        err,
        ["t.conf:4: error: vrrp_instance VI_1: no virtual_ipaddress; strict mode requires at least one (keepalived stops on this too)"]
    );
}

#[test]
fn strict_accept_on_v2_is_reset_and_v3_keeps_it() {
    let l = load(&conf("    vrrp_strict", &format!("    accept\n{VIP}"))).unwrap();
    assert_eq!(only(&l).accept, Some(false));
    let w = warnings(&l);
    assert!(
        w[0].ends_with(
            "accept mode does not exist in VRRPv2 (RFC 3768); using no_accept (strict mode)"
        ),
        "{w:?}"
    );
    // `no_accept` said explicitly: the firewall warning without "(the strict mode default)".
    assert!(
        w[1].contains("vrrp_instance VI_1: no_accept is not enforced"),
        "{w:?}"
    );
    let l = load(&conf(
        "    vrrp_strict",
        &format!("    version 3\n    accept\n{VIP}"),
    ))
    .unwrap();
    assert_eq!(only(&l).accept, Some(true));
    assert!(only(&l).accept_mode(&l.config.global));
    assert!(warnings(&l).is_empty(), "{:?}", warnings(&l));
}

#[test]
fn accept_and_no_accept_resolve_consistently() {
    let global = |l: &Loaded| l.config.global.clone();
    // Default without strict: accept.
    let l = load(&conf("", VIP)).unwrap();
    assert!(only(&l).accept_mode(&global(&l)));
    assert!(warnings(&l).is_empty());
    // Explicit no_accept without strict: applied, and said to be unenforced.
    let l = load(&conf("", &format!("    no_accept\n{VIP}"))).unwrap();
    assert!(!only(&l).accept_mode(&global(&l)));
    assert_eq!(
        warnings(&l),
        ["t.conf:4: warning: vrrp_instance VI_1: no_accept is not enforced: lbd installs no firewall rule, so while MASTER this host accepts packets sent to the VIPs as with 'accept' (add your own nftables drop rule; see docs/operations.md)"]
    );
    // The last of accept / no_accept wins, as in keepalived.
    let l = load(&conf("", &format!("    no_accept\n    accept\n{VIP}"))).unwrap();
    assert!(only(&l).accept_mode(&global(&l)));
    // The address owner always accepts: no rule to miss.
    let l = load(&conf(
        "    vrrp_strict",
        &format!("    state MASTER\n    priority 255\n{VIP}"),
    ))
    .unwrap();
    assert!(only(&l).accept_mode(&global(&l)));
    assert!(warnings(&l).is_empty(), "{:?}", warnings(&l));
}

#[test]
fn strict_unicast_and_ipv6_rules_warn() {
    let body = "    version 3\n    unicast_src_ip 192.0.2.1\n    unicast_peer {\n        192.0.2.2\n    }\n    virtual_ipaddress {\n        192.0.2.100\n    }";
    let l = load(&conf("    vrrp_strict", body)).unwrap();
    assert_eq!(
        only(&l).unicast_peers.len(),
        1,
        "kept, as keepalived 2.2.7 does"
    );
    assert!(warnings(&l)[0].contains("unicast_peer does not comply with the RFCs"));
    let body = "    virtual_ipaddress {\n        2001:db8::1\n    }";
    let l = load(&conf("    vrrp_strict", body)).unwrap();
    assert!(
        warnings(&l)[0].ends_with(
            "the first IPv6 virtual_ipaddress must be link-local (RFC 5798 5.2.9), not 2001:db8::1 (strict mode)"
        ),
        "{:?}",
        warnings(&l)
    );
    let body = "    virtual_ipaddress {\n        fe80::1\n        2001:db8::1\n    }";
    let l = load(&conf("    vrrp_strict", body)).unwrap();
    assert!(
        !warnings(&l).iter().any(|w| w.contains("link-local")),
        "{:?}",
        warnings(&l)
    );
}

#[test]
fn more_vips_than_an_advert_carries_are_excluded() {
    let vips: String = (0..300)
        .map(|n| format!("        10.{}.{}.1\n", n / 256, n % 256))
        .collect();
    let body = format!("    virtual_ipaddress {{\n{vips}    }}");
    let l = load(&conf("", &body)).unwrap();
    let i = only(&l);
    assert_eq!(i.virtual_ipaddresses.len(), 255);
    assert_eq!(i.virtual_ipaddresses_excluded.len(), 45);
    assert_eq!(
        i.virtual_ipaddresses_excluded[0].addr.to_string(),
        "10.0.255.1"
    );
    assert_eq!(
        warnings(&l),
        ["t.conf:4: warning: vrrp_instance VI_1: 300 virtual_ipaddress entries exceed the 255 an advert can carry; the last 45 are installed but not advertised (as virtual_ipaddress_excluded)"]
    );
}

#[test]
fn missing_virtual_router_id_stops_the_configuration_as_in_keepalived() {
    // keepalived 2.2.7 (-t and the daemon alike): "(VI_1) the virtual router id must be
    // set", "exited with permanent error CONFIG"; the other instances do not run either.
    let text = "vrrp_instance VI_1 {\n    interface eth0\n    virtual_ipaddress {\n        192.0.2.100\n    }\n}\nvrrp_instance VI_2 {\n    interface eth0\n    virtual_router_id 52\n    virtual_ipaddress {\n        192.0.2.101\n    }\n}\n";
    assert_eq!(
        load(text).unwrap_err(),
        ["t.conf:1: error: vrrp_instance VI_1 has no virtual_router_id: expected virtual_router_id 1..255"]
    );
    // Out of range: one error at the line, not a second "missing" one.
    let text = "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 300\n    virtual_ipaddress {\n        192.0.2.100\n    }\n}\n";
    let err = load(text).unwrap_err();
    assert_eq!(err.len(), 1, "{err:?}");
    assert!(err[0].starts_with("t.conf:3: error:"), "{err:?}");
}

#[test]
fn state_master_without_priority_is_the_owner_as_in_keepalived() {
    // keepalived 2.2.7 advertises priority 255 for `state MASTER` with no `priority`.
    let l = load(&conf("", &format!("    state MASTER\n{VIP}"))).unwrap();
    assert_eq!(only(&l).priority, 255);
    assert_eq!(
        warnings(&l),
        ["t.conf:4: warning: vrrp_instance VI_1: state MASTER without priority means priority 255 (address owner), as in keepalived"]
    );
    let l = load(&conf(
        "",
        &format!("    state MASTER\n    priority 100\n{VIP}"),
    ))
    .unwrap();
    assert_eq!(only(&l).priority, 100);
    let l = load(&conf("", VIP)).unwrap();
    assert_eq!(only(&l).priority, 100);
}

#[test]
fn vrrpv3_without_a_vip_is_an_error_as_in_keepalived() {
    // keepalived 2.2.7: "(V1) No VIP specified; at least one is required" for VRRPv3 (the
    // process stops), "at least one is sensible" for VRRPv2 (it runs).
    let err = load(&conf("", "    version 3")).unwrap_err();
    assert_eq!(
        err,
        ["t.conf:4: error: vrrp_instance VI_1: no virtual_ipaddress; VRRPv3 requires at least one (keepalived stops on this too)"]
    );
    let err = load(&conf("    vrrp_version 3", "")).unwrap_err();
    assert_eq!(err.len(), 1, "{err:?}");
    let l = load(&conf("", "")).unwrap();
    assert_eq!(
        warnings(&l),
        ["t.conf:4: warning: vrrp_instance VI_1 has no virtual_ipaddress: it will only advertise"]
    );
}

/// (global_defs, instance lines, lower_prio_no_advert, higher_prio_send_advert), as keepalived
/// 2.2.7's vrrp_complete_instance resolves them.
#[test]
fn lower_prio_no_advert_and_higher_prio_send_advert_resolve_as_keepalived() {
    let cases = [
        ("", "", false, false),
        // The keyword alone means on; the global is the default the instance overrides.
        (
            "",
            "    lower_prio_no_advert\n    higher_prio_send_advert",
            true,
            true,
        ),
        (
            "",
            "    lower_prio_no_advert off\n    higher_prio_send_advert false",
            false,
            false,
        ),
        (
            "    vrrp_lower_prio_no_advert\n    vrrp_higher_prio_send_advert",
            "",
            true,
            true,
        ),
        (
            "    vrrp_lower_prio_no_advert on\n    vrrp_higher_prio_send_advert yes",
            "    lower_prio_no_advert no\n    higher_prio_send_advert off",
            false,
            false,
        ),
        (
            "    vrrp_lower_prio_no_advert false",
            "    lower_prio_no_advert true",
            true,
            false,
        ),
        // Strict mode: lower_prio_no_advert on and higher_prio_send_advert off by default...
        ("    vrrp_strict", "", true, false),
        (
            "    vrrp_strict\n    vrrp_higher_prio_send_advert",
            "",
            true,
            false,
        ),
        ("", "    strict_mode on", true, false),
        // ...and the instance's `strict_mode off` lifts it.
        (
            "    vrrp_strict\n    vrrp_higher_prio_send_advert",
            "    strict_mode off",
            false,
            true,
        ),
    ];
    for (global, body, lower, higher) in cases {
        let text = conf(global, &format!("{body}\n{VIP}"));
        let l = load(&text).unwrap();
        let i = only(&l);
        let g = &l.config.global;
        assert_eq!(
            (i.lower_prio_no_advert(g), i.higher_prio_send_advert(g)),
            (lower, higher),
            "{text}"
        );
    }
}

#[test]
fn strict_resets_lower_prio_advert_and_higher_prio_send_advert() {
    let body = format!("    lower_prio_no_advert off\n    higher_prio_send_advert\n{VIP}");
    let l = load(&conf("    vrrp_strict", &body)).unwrap();
    let i = only(&l);
    assert_eq!(i.lower_prio_no_advert, Some(true));
    assert_eq!(i.higher_prio_send_advert, Some(false));
    let w = warnings(&l);
    let expect = [
        "t.conf:4: warning: vrrp_instance VI_1: lower_prio_no_advert cannot be off; set (strict mode)",
        "t.conf:4: warning: vrrp_instance VI_1: higher_prio_send_advert must be off; reset (strict mode)",
    ];
    assert_eq!(w[..expect.len()], expect, "{w:#?}");
}

#[test]
fn lower_prio_no_advert_takes_a_boolean() {
    for keyword in ["lower_prio_no_advert", "higher_prio_send_advert"] {
        let errors = load(&conf("", &format!("    {keyword} maybe\n{VIP}"))).unwrap_err();
        assert_eq!(
            errors,
            [format!(
                "t.conf:7: error: expected on|off|true|false|yes|no (or nothing) for {keyword}, got 'maybe'"
            )]
        );
    }
    let errors = load(&conf("    vrrp_lower_prio_no_advert 2", VIP)).unwrap_err();
    assert_eq!(
        errors,
        ["t.conf:2: error: expected on|off|true|false|yes|no (or nothing) for vrrp_lower_prio_no_advert, got '2'"]
    );
}
