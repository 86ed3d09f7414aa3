//! keepalived keywords lbd does not implement: each says at its FILE:LINE what the operator
//! loses (`'KW' is not supported by lbd: ...`), as an error where running without it would
//! do something else than the file asks, and as a warning otherwise. `lbd -t` exits 1 on
//! the errors only.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use lbd::config::{load_str, ConfigError, Loaded};

/// All diagnostics as displayed, and whether the configuration was refused.
fn diags(text: &str) -> (Vec<String>, bool) {
    match load_str("t.conf", text) {
        Ok(Loaded { warnings, .. }) => (warnings.iter().map(ToString::to_string).collect(), false),
        Err(ConfigError::Invalid { diagnostics }) => {
            (diagnostics.iter().map(ToString::to_string).collect(), true)
        }
        Err(e) => panic!("{e}"),
    }
}

/// A valid instance with `extra` at line 5 (inside the block).
fn instance(extra: &str) -> String {
    format!(
        "vrrp_instance VI_1 {{\n    interface eth0\n    virtual_router_id 51\n    priority 100\n{extra}\n    virtual_ipaddress {{\n        192.0.2.1/24\n    }}\n}}\n"
    )
}

/// `global_defs` with `extra` at line 2, then a valid instance.
fn global(extra: &str) -> String {
    format!("global_defs {{\n{extra}\n}}\n{}", instance(""))
}

/// The one diagnostic `text` gives; asserts it starts with `prefix` and the severity.
fn one(text: &str, prefix: &str, refused: bool) -> String {
    let (d, is_refused) = diags(text);
    assert_eq!(d.len(), 1, "{d:?}\nfor\n{text}");
    assert!(
        d[0].starts_with(prefix),
        "{:?} does not start with {prefix:?}",
        d[0]
    );
    assert_eq!(is_refused, refused, "{d:?}");
    d[0].clone()
}

#[test]
fn net_namespace_is_an_error_in_both_places() {
    let m = one(
        &global("    net_namespace blue"),
        "t.conf:2: error: 'net_namespace' is not supported by lbd: ",
        true,
    );
    assert!(m.contains("ip netns exec blue lbd"), "{m}");
    one(
        &format!("net_namespace blue\n{}", instance("")),
        "t.conf:1: error: 'net_namespace' is not supported by lbd: ",
        true,
    );
    one(
        &global("    net_namespace_ipvs blue"),
        "t.conf:2: error: 'net_namespace_ipvs' is not supported by lbd: ",
        true,
    );
}

#[test]
fn old_unicast_checksum_is_an_error_unless_never() {
    let m = one(
        &instance("    old_unicast_checksum"),
        "t.conf:5: error: 'old_unicast_checksum' is not supported by lbd: ",
        true,
    );
    assert!(m.contains("RFC 5798 checksum"), "{m}");
    // `never` asks for what lbd does.
    assert_eq!(
        diags(&instance("    old_unicast_checksum never")),
        (vec![], false)
    );
    one(
        &instance("    old_unicast_checksum sometimes"),
        "t.conf:5: warning: 'old_unicast_checksum' is not supported by lbd: unknown mode 'sometimes'",
        false,
    );
}

#[test]
fn auth_type_ah_warns_that_the_instance_will_not_start() {
    let text = instance("    authentication {\n        auth_type AH\n        auth_pass x\n    }");
    let m = one(
        &text,
        "t.conf:6: warning: 'auth_type AH' is not supported by lbd: ",
        false,
    );
    assert!(m.contains("not started"), "{m}");
}

#[test]
fn features_lbd_lacks_warn_with_their_consequence() {
    let cases: &[(String, &str, &str)] = &[
        (
            instance("    use_vmac"),
            "t.conf:5",
            "use_vmac' is not supported by lbd: no VMAC",
        ),
        (
            instance("    vmac_xmit_base"),
            "t.conf:5",
            "vmac_xmit_base' is not supported by lbd: there are no VMAC",
        ),
        (
            instance("    track_bfd {\n        b1\n    }"),
            "t.conf:5",
            "track_bfd' is not supported by lbd: there is no BFD",
        ),
        (
            instance("    track_process {\n        p1\n    }"),
            "t.conf:5",
            "track_process' is not supported by lbd: processes are not tracked",
        ),
        (
            global("    vrrp_iptables"),
            "t.conf:2",
            "vrrp_iptables' is not supported by lbd: lbd installs no firewall",
        ),
        (
            global("    vrrp_nftables"),
            "t.conf:2",
            "vrrp_nftables' is not supported by lbd: lbd installs no firewall",
        ),
        (
            global("    enable_snmp_vrrp"),
            "t.conf:2",
            "enable_snmp_vrrp' is not supported by lbd: there is no SNMP agent",
        ),
        (
            global("    enable_traps"),
            "t.conf:2",
            "enable_traps' is not supported by lbd: there is no SNMP agent",
        ),
        (
            global("    enable_dbus"),
            "t.conf:2",
            "enable_dbus' is not supported by lbd: there is no D-Bus",
        ),
        (
            global("    notify_fifo /run/k.fifo"),
            "t.conf:2",
            "notify_fifo' is not supported by lbd: state changes are not written to a FIFO",
        ),
        (
            format!("bfd_instance b1 {{\n}}\n{}", instance("")),
            "t.conf:1",
            "bfd_instance' is not supported by lbd: there is no BFD",
        ),
        (
            format!("vrrp_track_process p {{\n}}\n{}", instance("")),
            "t.conf:1",
            "vrrp_track_process' is not supported by lbd: processes are not tracked",
        ),
    ];
    let more: &[(String, &str, &str)] = &[
        (
            global("    startup_script /usr/local/bin/up"),
            "t.conf:2",
            "startup_script' is not supported by lbd: the script is not run at start",
        ),
        (
            global("    vrrp_down_timer_adverts 5"),
            "t.conf:2",
            "vrrp_down_timer_adverts' is not supported by lbd: ignored: a backup waits",
        ),
        (
            global("    nftables_ipvs"),
            "t.conf:2",
            "nftables_ipvs' is not supported by lbd: lbd installs no firewall",
        ),
        (
            instance("    track_src_ip"),
            "t.conf:5",
            "track_src_ip' is not supported by lbd: the instance does not go to FAULT",
        ),
        (
            instance("    use_vmac_addr"),
            "t.conf:5",
            "use_vmac_addr' is not supported by lbd: there are no VMAC",
        ),
        (
            instance("    debug 2"),
            "t.conf:5",
            "debug' is not supported by lbd: ignored",
        ),
    ];
    for (text, at, message) in cases.iter().chain(more) {
        one(text, &format!("{at}: warning: '{message}"), false);
    }
}

#[test]
fn routes_and_rules_are_not_installed() {
    let routes = "static_routes {\n    198.51.100.0/24 via 192.0.2.254\n    203.0.113.0/24 via 192.0.2.254\n}\n";
    one(
        &format!("{routes}{}", instance("")),
        "t.conf:1: warning: 'static_routes' is not supported by lbd: the 2 route(s) are not installed; ignored",
        false,
    );
    one(
        &format!("static_rules {{\n    from 192.0.2.0/24 table 10\n}}\n{}", instance("")),
        "t.conf:1: warning: 'static_rules' is not supported by lbd: the 1 rule(s) are not installed; ignored",
        false,
    );
    let m = one(
        &instance("    virtual_routes {\n        198.51.100.0/24 via 192.0.2.254\n    }"),
        "t.conf:5: warning: 'virtual_routes' is not supported by lbd: the 1 route(s) are not installed; ignored",
        false,
    );
    assert!(m.contains("notify_master"), "{m}");
    one(
        &instance("    virtual_rules {\n        from 192.0.2.1 table 10\n    }"),
        "t.conf:5: warning: 'virtual_rules' is not supported by lbd: the 1 rule(s) are not installed",
        false,
    );
}

#[test]
fn static_ipaddress_needs_a_device() {
    one(
        &format!("static_ipaddress {{\n    192.0.2.50/24 dev eth0\n    192.0.2.51/24\n}}\n{}", instance("")),
        "t.conf:3: error: static_ipaddress 192.0.2.51/24 has no interface: expected 192.0.2.51/24 dev IFNAME",
        true,
    );
}

#[test]
fn mcast_dst_ip_must_be_multicast() {
    assert_eq!(
        diags(&instance("    mcast_dst_ip 224.0.0.19")),
        (vec![], false)
    );
    one(
        &instance("    mcast_dst_ip ff02::113"),
        "t.conf:1: error: vrrp_instance VI_1: mcast_dst_ip ff02::113 is not of the instance's address family (IPv4)",
        true,
    );
    one(
        &instance("    mcast_dst_ip 192.0.2.9"),
        "t.conf:5: error: expected a multicast address for mcast_dst_ip, got '192.0.2.9'",
        true,
    );
}

fn write(name: &str, text: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("config_unsupported");
    fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    fs::write(&path, text).unwrap();
    path
}

/// `lbd -t`: the real file name and line, exit 1 only for the errors.
#[test]
fn lbd_t_names_file_and_line() {
    let run = |path: &Path| {
        let out = Command::new(env!("CARGO_BIN_EXE_lbd"))
            .arg("-t")
            .arg("-f")
            .arg(path)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let warn = write("warn.conf", &global("    enable_dbus"));
    let (code, err) = run(&warn);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains(&format!(
            "{}:2: warning: 'enable_dbus' is not supported by lbd: ",
            warn.display()
        )),
        "{err}"
    );
    let bad = write("bad.conf", &global("    net_namespace blue"));
    let (code, err) = run(&bad);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "{}:2: error: 'net_namespace' is not supported by lbd: ",
            bad.display()
        )),
        "{err}"
    );
}
