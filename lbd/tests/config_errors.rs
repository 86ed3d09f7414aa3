//! Each class of diagnostic, with its exact `FILE:LINE: severity: message`.

use lbd::config::{load_str, ConfigError, Loaded};

/// All diagnostics (warnings and errors) as displayed.
fn diags(text: &str) -> Vec<String> {
    match load_str("t.conf", text) {
        Ok(Loaded { warnings, .. }) => warnings.iter().map(ToString::to_string).collect(),
        Err(ConfigError::Invalid { diagnostics }) => {
            diagnostics.iter().map(ToString::to_string).collect()
        }
        Err(e) => panic!("{e}"),
    }
}

fn is_ok(text: &str) -> bool {
    load_str("t.conf", text).is_ok()
}

/// A valid instance with `extra` lines inserted after `priority` (line 5 onwards).
fn instance(extra: &str) -> String {
    format!(
        "vrrp_instance VI_1 {{\n    interface eth0\n    virtual_router_id 51\n    priority 100\n{extra}\n    virtual_ipaddress {{\n        192.0.2.1/24\n    }}\n}}\n"
    )
}

#[test]
fn valid_base_is_clean() {
    assert_eq!(diags(&instance("")), Vec::<String>::new());
    assert!(is_ok(&instance("")));
}

#[test]
fn unknown_keyword_suggests_the_closest() {
    assert_eq!(
        diags(&instance("    priorty 100")),
        vec!["t.conf:5: warning: unknown keyword 'priorty' (did you mean 'priority'?)"]
    );
    assert_eq!(
        diags(&instance("    frobnicate")),
        vec!["t.conf:5: warning: unknown keyword 'frobnicate'"]
    );
    assert_eq!(
        diags("global_defs {\n  router_idd x\n}\n"),
        vec!["t.conf:2: warning: unknown keyword 'router_idd' (did you mean 'router_id'?)"]
    );
    assert_eq!(
        diags("vrrp_instanse X {\n}\n"),
        vec!["t.conf:1: warning: unknown keyword 'vrrp_instanse' (did you mean 'vrrp_instance'?)"]
    );
    // Unknown keywords do not stop the configuration.
    assert!(is_ok(&instance("    priorty 100")));
}

#[test]
fn accepted_but_unused_keywords_warn() {
    assert_eq!(
        diags(&instance("    debug 2")),
        vec!["t.conf:5: warning: 'debug' is not supported by lbd: ignored"]
    );
}

#[test]
fn wrong_value_types_say_what_was_expected() {
    let text = "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id abc\n}\n";
    assert_eq!(
        diags(text),
        vec!["t.conf:3: error: expected an integer 1..255 for virtual_router_id, got 'abc'"]
    );
    assert_eq!(
        diags(&instance("    advert_int fast")),
        vec!["t.conf:5: error: expected a time in seconds 0.001..255 for advert_int, got 'fast'"]
    );
    assert_eq!(
        diags(&instance("    state PRIMARY")),
        vec!["t.conf:5: error: expected MASTER or BACKUP for state, got 'PRIMARY'"]
    );
    assert_eq!(
        diags(&instance("    unicast_src_ip 192.0.2.256")),
        vec!["t.conf:5: error: expected an IPv4 or IPv6 address for unicast_src_ip, got '192.0.2.256'"]
    );
    assert_eq!(
        diags(&instance("    preempt_delay 5 10")),
        vec!["t.conf:5: warning: extra argument(s) after preempt_delay ignored: '10'"]
    );
}

#[test]
fn ranges() {
    let vrid = "vrrp_instance VI_1 {\n  virtual_router_id 0\n}\n";
    assert_eq!(
        diags(vrid),
        vec!["t.conf:2: error: expected an integer 1..255 for virtual_router_id, got '0'"]
    );
    assert_eq!(
        diags(&instance("    priority 256")),
        vec!["t.conf:5: error: expected an integer 1..255 for priority, got '256'"]
    );
    assert_eq!(
        diags("vrrp_script s {\n script x\n weight -254\n}\n"),
        vec!["t.conf:3: error: expected an integer -253..253 for weight, got '-254'"]
    );
    assert_eq!(
        diags(&instance(
            "    track_interface {\n      eth1 weight 300\n    }"
        )),
        vec!["t.conf:6: error: expected an integer -253..253 for the weight of eth1, got '300'"]
    );
}

#[test]
fn advert_int_depends_on_the_version() {
    assert_eq!(
        diags(&instance("    advert_int 0.1")),
        vec!["t.conf:5: error: expected whole seconds 1..255 for advert_int with VRRP version 2, got '0.1' (sub-second adverts need 'version 3')"]
    );
    // `version` may come after advert_int.
    assert!(is_ok(&instance("    advert_int 0.1\n    version 3")));
    assert!(is_ok(&format!(
        "global_defs {{\n vrrp_version 3\n}}\n{}",
        instance("    advert_int 0.25")
    )));
    assert_eq!(
        diags(&instance("    version 3\n    advert_int 41")),
        vec!["t.conf:6: error: expected 0.01..40.95 seconds in steps of 0.01 for advert_int with VRRP version 3, got '41'"]
    );
    let l = load_str("t.conf", &instance("    version 3\n    advert_int 0.1")).unwrap();
    assert_eq!(
        l.config.instances[0].advert_int,
        std::time::Duration::from_millis(100)
    );
}

#[test]
fn unbalanced_braces_say_where_the_block_opened() {
    let text = "global_defs {\n  router_id a\n}\nvrrp_instance VI_1 {\n  virtual_router_id 1\n  virtual_ipaddress {\n    192.0.2.1\n}\n";
    assert_eq!(
        diags(text),
        vec!["t.conf:4: error: block 'vrrp_instance' opened here is never closed (missing '}')"]
    );
    assert_eq!(
        diags("global_defs {\n  router_id a\n}\n}\n"),
        vec!["t.conf:4: error: '}' does not close any block"]
    );
    assert_eq!(
        diags("{\n}\n"),
        vec!["t.conf:1: error: '{' without a keyword before it"]
    );
}

#[test]
fn missing_values() {
    assert_eq!(
        diags(&instance("    priority")),
        vec!["t.conf:5: error: missing value for priority: expected an integer 1..255"]
    );
    assert_eq!(
        diags("vrrp_instance VI_1 {\n  interface eth0\n}\n"),
        vec!["t.conf:1: error: vrrp_instance VI_1 has no virtual_router_id: expected virtual_router_id 1..255"]
    );
    assert_eq!(
        diags("vrrp_instance {\n  virtual_router_id 1\n}\n"),
        vec!["t.conf:1: error: missing name after vrrp_instance: expected vrrp_instance NAME { ... }"]
    );
    assert_eq!(
        diags(&instance(
            "    authentication {\n      auth_type PASS\n    }"
        )),
        vec!["t.conf:5: error: authentication without auth_pass: expected auth_pass PASSWORD"]
    );
    assert_eq!(
        diags(&instance("    virtual_ipaddress_excluded 192.0.2.9")),
        vec!["t.conf:5: error: 'virtual_ipaddress_excluded' expects a block: virtual_ipaddress_excluded ... { ... }"]
    );
}

#[test]
fn addresses_and_interfaces() {
    assert_eq!(
        diags(&instance("    virtual_ipaddress_excluded {\n      192.0.2.5/33\n      2001:db8::1/64 dev eth0 scope link\n      192.0.2.6 dve eth0\n    }")),
        vec![
            "t.conf:6: error: expected a prefix length 0..32 after '/' in '192.0.2.5/33'",
            "t.conf:8: error: unknown option 'dve' for virtual address 192.0.2.6: expected brd, dev, scope, label, no_track, preferred_lft, home, nodad, noprefixroute or autojoin",
        ]
    );
    assert_eq!(
        diags(&instance("    interface this-name-is-too-long")),
        vec!["t.conf:5: error: expected an interface name (1..15 bytes, no '/', ':' or spaces) for interface, got 'this-name-is-too-long'"]
    );
    assert_eq!(
        diags(&instance("    virtual_ipaddress {\n      2001:db8::1\n    }")),
        vec!["t.conf:9: error: virtual_ipaddress 192.0.2.1 is not of the same address family as the first one; VRRP adverts carry one family (use virtual_ipaddress_excluded)"]
    );
}

#[test]
fn cross_references() {
    let two = format!("{}{}", instance(""), instance("").replace("VI_1", "VI_2"));
    assert_eq!(
        diags(&two),
        vec!["t.conf:10: error: vrrp_instance VI_2: virtual_router_id 51 on eth0 is already used by vrrp_instance VI_1"]
    );
    let dup = format!("{}{}", instance(""), instance(""));
    assert_eq!(
        diags(&dup),
        vec!["t.conf:10: error: vrrp_instance VI_1 is already defined at t.conf:1"]
    );
    let sync = format!(
        "{}vrrp_sync_group G {{\n  group {{\n    VI_1\n    VI_X\n  }}\n}}\n",
        instance("")
    );
    assert_eq!(
        diags(&sync),
        vec!["t.conf:10: error: vrrp_sync_group G: member 'VI_X' is not a defined vrrp_instance"]
    );
    // keepalived only warns about a missing tracked script and runs untracked; so do we.
    let track = instance("    track_script {\n      chk_nope\n    }");
    assert_eq!(
        diags(&track),
        vec!["t.conf:1: warning: VI_1: tracked vrrp_script 'chk_nope' is not defined (or was dropped); not tracked"]
    );
    assert_eq!(
        diags("virtual_server group NOPE {\n  protocol TCP\n}\n"),
        vec!["t.conf:1: error: virtual_server group NOPE: no virtual_server_group named 'NOPE'"]
    );
    let vs = "virtual_server 192.0.2.1 80 {\n  protocol TCP\n}\nvirtual_server 192.0.2.1 80 {\n  protocol TCP\n}\n";
    assert_eq!(
        diags(vs),
        vec!["t.conf:4: error: virtual_server 192.0.2.1 80 is already defined at t.conf:1"]
    );
}

#[test]
fn virtual_server_values() {
    let text = "virtual_server 192.0.2.1 80 {\n  lb_kind FOO\n  lb_algo roundrobin\n  protocol ICMP\n  real_server 192.0.2.10 80 {\n    weight -1\n    HTTP_GET {\n      url {\n        path /\n        digest 12\n        status_code 700\n      }\n    }\n  }\n}\n";
    assert_eq!(
        diags(text),
        vec![
            "t.conf:2: error: expected NAT, DR or TUN for lb_kind, got 'FOO'",
            "t.conf:3: error: expected an IPVS scheduler (rr|wrr|lc|wlc|lblc|lblcr|dh|sh|sed|nq|fo|ovf|mh|twos) for lb_algo, got 'roundrobin'",
            "t.conf:4: error: expected TCP, UDP or SCTP for protocol, got 'ICMP'",
            "t.conf:6: error: expected an integer 0..65535 for weight, got '-1'",
            "t.conf:10: error: expected 32 hexadecimal digits (an MD5 sum) for digest, got '12'",
            "t.conf:11: error: expected an integer 100..599 for status_code, got '700'",
        ]
    );
    assert_eq!(
        diags("virtual_server 192.0.2.1 {\n}\n"),
        vec!["t.conf:1: error: missing second value for virtual_server: expected IP PORT, fwmark N or group NAME"]
    );
    assert_eq!(
        diags("virtual_server 192.0.2.1 80 {\n  protocol TCP\n  real_server 192.0.2.2 80 {\n    MISC_CHECK {\n      misc_timeout 5\n    }\n  }\n}\n"),
        vec!["t.conf:4: error: MISC_CHECK without misc_path: expected misc_path COMMAND"]
    );
}

#[test]
fn quotes_and_parameters_report_problems() {
    assert_eq!(
        diags("vrrp_script s {\n  script \"/bin/true\n}\n"),
        vec!["t.conf:2: warning: unterminated \"quoted string\": closed at the end of the line"]
    );
    assert_eq!(
        diags("$A=x $A\nglobal_defs {\n  router_id $A\n}\n"),
        vec!["t.conf:3: error: parameter substitution does not terminate (a $NAME refers to itself?)"]
    );
}
