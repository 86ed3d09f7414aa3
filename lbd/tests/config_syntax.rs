//! The keepalived.conf grammar: blocks, comments, quotes, CRLF, tabs, UTF-8, parameters,
//! conditions and includes.

use std::fs;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use lbd::config::{load, load_str, ConfigError, Loaded};

fn ok(text: &str) -> Loaded {
    match load_str("t.conf", text) {
        Ok(l) => l,
        Err(ConfigError::Invalid { diagnostics }) => {
            panic!(
                "{:#?}",
                diagnostics
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
            )
        }
        Err(e) => panic!("{e}"),
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// A fresh directory for one test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("config_syntax_{name}"));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn braces_anywhere_keepalived_allows_them() {
    let text = "vrrp_instance VI_1\n{\n\tinterface eth0\n  virtual_router_id 7\n  virtual_ipaddress { 192.0.2.1/24 dev eth0 }\n  virtual_ipaddress_excluded\n  {\n 192.0.2.2\n } track_interface { eth1 weight -10 }\n}";
    let l = ok(text);
    let i = &l.config.instances[0];
    assert_eq!(i.virtual_ipaddresses[0].prefix_len, 24);
    assert_eq!(i.virtual_ipaddresses[0].dev.as_deref(), Some("eth0"));
    assert_eq!(i.virtual_ipaddresses_excluded[0].addr, ip("192.0.2.2"));
    assert_eq!(i.track_interfaces[0].name, "eth1");
    assert_eq!(i.track_interfaces[0].weight.map(|w| w.weight), Some(-10));
    // A name glued to the brace, as in the shared fragment (`vrrp_instance NAME{`).
    let l = ok("vrrp_instance X{\nvirtual_router_id 1\n}\n");
    assert_eq!(l.config.instances[0].name, "X");
}

#[test]
fn comments_crlf_tabs_and_utf8() {
    let text = "! head\r\n# 注释\r\nglobal_defs {\t# 全局\r\n\trouter_id\tR1 ! trailing\r\n  notification_email {\r\n    ops@example.org # mail\r\n  }\r\n}\r\nvrrp_instance VI_1 {   \r\n  virtual_router_id 1 #虚拟路由\r\n  priority 200!x\r\n  virtual_ipaddress { 192.0.2.1 }\r\n}\r\n";
    let l = ok(text);
    assert_eq!(l.config.global.router_id.as_deref(), Some("R1"));
    assert_eq!(l.config.global.notification_email, vec!["ops@example.org"]);
    assert_eq!(l.config.instances[0].priority, 200);
    assert!(l.warnings.is_empty(), "{:?}", l.warnings);
}

#[test]
fn quoted_strings_keep_spaces_comment_chars_and_braces() {
    let text = "vrrp_script chk {\n  script \"/usr/bin/test -f '/run/a b' # not a comment { }\"\n  interval 2.5\n  weight 10 reverse\n  init_fail\n  user nobody nogroup\n}\n";
    let s = ok(text).config.vrrp_scripts.remove(0);
    assert_eq!(s.script, "/usr/bin/test -f '/run/a b' # not a comment { }");
    assert_eq!(s.interval, Duration::from_millis(2500));
    assert!(s.weight.reverse && s.init_fail);
    assert_eq!(s.user.unwrap().group.as_deref(), Some("nogroup"));
}

#[test]
fn parameters_and_multiline_definitions() {
    let text = "$IF=eth9\n$BASE=192.0.2\n$VI= \\\nvrrp_instance VI_${N} { \\\n  interface $IF \\\n  virtual_router_id ${N} \\\n  virtual_ipaddress { \\\n    ${BASE}.${N}/32 \\\n  } \\\n}\n$N=1\n$VI\n$N=2\n$VI\n";
    let c = ok(text).config;
    let got: Vec<(&str, u8, Option<&str>, IpAddr)> = c
        .instances
        .iter()
        .map(|i| {
            (
                i.name.as_str(),
                i.virtual_router_id,
                i.interface.as_deref(),
                i.virtual_ipaddresses[0].addr,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("VI_1", 1, Some("eth9"), ip("192.0.2.1")),
            ("VI_2", 2, Some("eth9"), ip("192.0.2.2"))
        ]
    );
    // An undefined parameter stays as written (scripts may contain `$`).
    let s = ok("vrrp_script s {\n script \"echo $HOME\"\n}\n")
        .config
        .vrrp_scripts
        .remove(0);
    assert_eq!(s.script, "echo $HOME");
}

#[test]
fn conditional_lines_for_another_host_are_skipped() {
    let text = "global_defs {\n  @lbd-no-such-host router_id other\n  @^lbd-no-such-host router_id mine\n}\n";
    assert_eq!(ok(text).config.global.router_id.as_deref(), Some("mine"));
}

#[test]
fn include_with_globs_relative_to_the_including_file() {
    let dir = scratch("include");
    fs::create_dir_all(dir.join("conf.d/sub")).unwrap();
    fs::write(
        dir.join("main.conf"),
        "global_defs {\n  router_id main\n}\ninclude conf.d/*.conf\ninclude \"conf.d/{x,y}.inc\"\n",
    )
    .unwrap();
    fs::write(
        dir.join("conf.d/10-a.conf"),
        "vrrp_instance A {\n  virtual_router_id 1\n  include sub/body.inc\n  virtual_ipaddress {\n    192.0.2.1\n  }\n}\n",
    )
    .unwrap();
    fs::write(dir.join("conf.d/sub/body.inc"), "priority 42\n").unwrap();
    fs::write(
        dir.join("conf.d/20-b.conf"),
        "vrrp_instance B {\n  virtual_router_id 2\n  virtual_ipaddress {\n    192.0.2.2\n  }\n}\n",
    )
    .unwrap();
    fs::write(
        dir.join("conf.d/x.inc"),
        "vrrp_script sx {\n script /bin/true\n}\n",
    )
    .unwrap();
    fs::write(dir.join("conf.d/20-b.conf.bak"), "this is not included {\n").unwrap();
    let l = load(&dir.join("main.conf")).unwrap();
    let names: Vec<(&str, u8)> = l
        .config
        .instances
        .iter()
        .map(|i| (i.name.as_str(), i.priority))
        .collect();
    assert_eq!(names, vec![("A", 42), ("B", 100)]);
    assert_eq!(l.config.vrrp_scripts[0].name, "sx");
    // y.inc does not exist: no warning, the pattern as a whole matched a file.
    assert_eq!(l.warnings.len(), 0, "{:?}", l.warnings);
    assert_eq!(
        l.config.instances[1].origin.file.file_name().unwrap(),
        "20-b.conf"
    );
}

#[test]
fn errors_in_included_files_name_that_file() {
    let dir = scratch("include_err");
    fs::write(dir.join("main.conf"), "include inc.conf\n").unwrap();
    fs::write(
        dir.join("inc.conf"),
        "\n\nvrrp_instance A {\n  virtual_router_id 999\n}\n",
    )
    .unwrap();
    let Err(ConfigError::Invalid { diagnostics }) = load(&dir.join("main.conf")) else {
        panic!()
    };
    assert_eq!(diagnostics.len(), 1);
    assert!(diagnostics[0].file.ends_with("inc.conf"));
    assert_eq!(diagnostics[0].line, 4);
}

#[test]
fn include_loops_and_missing_files_do_not_hang() {
    let dir = scratch("include_loop");
    fs::write(dir.join("a.conf"), "include b.conf\n").unwrap();
    fs::write(
        dir.join("b.conf"),
        "include a.conf\ninclude nothing-*.conf\n",
    )
    .unwrap();
    let Err(ConfigError::Invalid { diagnostics }) = load(&dir.join("a.conf")) else {
        panic!()
    };
    assert!(diagnostics
        .iter()
        .any(|d| d.is_error() && d.message.contains("include loop")));
    assert!(diagnostics
        .iter()
        .any(|d| d.message == "include 'nothing-*.conf' matches no file"));
}

#[test]
fn missing_main_file_is_an_io_error() {
    assert!(matches!(
        load(Path::new("/nonexistent/lbd.conf")),
        Err(ConfigError::Io { .. })
    ));
}

#[test]
fn full_vrrp_instance_model() {
    let text = r#"
global_defs {
  vrrp_garp_master_delay 2
  lvs_sync_daemon eth1 VI_1 id 3
  lvs_timeouts tcp 900 tcpfin 120 udp 300
  smtp_server mail.example.org 587
  script_user keepalived_script
  enable_script_security
}
vrrp_track_file tf {
  file /run/lbd/prio
  weight -5
  init_file 0 overwrite
}
vrrp_script chk {
  script /bin/true
}
vrrp_instance VI_1 {
  state master
  interface eth0
  virtual_router_id 9
  priority 150
  advert_int 1
  nopreempt
  preempt_delay 30
  no_accept
  unicast_src_ip 192.0.2.1
  unicast_peer {
    192.0.2.2
    192.0.2.3 min_ttl 250 max_ttl 255
  }
  garp_master_delay 1
  garp_master_repeat 3
  garp_master_refresh 60
  garp_master_refresh_repeat 2
  notify "/usr/local/bin/notify.sh all"
  notify_master /usr/local/bin/m.sh arg
  smtp_alert
  dont_track_primary
  use_vmac vrrp9
  track_script {
    chk weight 20
  }
  track_file {
    tf
  }
  virtual_ipaddress {
    192.0.2.10/24 brd 192.0.2.255 dev eth0 scope global label eth0:1
    192.0.2.11 no_track
  }
}
vrrp_sync_group G {
  group {
    VI_1
  }
  notify_fault /bin/f
}
"#;
    let l = ok(text);
    let c = &l.config;
    assert_eq!(c.global.garp.master_delay, Some(Duration::from_secs(2)));
    let sd = c.global.lvs_sync_daemon.as_ref().unwrap();
    assert_eq!(
        (
            sd.interface.as_str(),
            sd.vrrp_instance.as_deref(),
            sd.sync_id
        ),
        ("eth1", Some("VI_1"), Some(3))
    );
    assert_eq!(c.global.lvs_timeouts.tcpfin, Some(Duration::from_secs(120)));
    assert_eq!(c.global.smtp_server.as_ref().unwrap().port, 587);
    assert!(c.global.enable_script_security);
    assert_eq!(
        c.track_files[0].init_file.as_ref().map(|i| i.overwrite),
        Some(true)
    );
    let i = &c.instances[0];
    assert!(i.nopreempt);
    assert_eq!(i.preempt_delay, Duration::from_secs(30));
    assert_eq!(i.accept, Some(false));
    assert_eq!(i.unicast_peers.len(), 2);
    assert_eq!(i.unicast_peers[1].min_ttl, Some(250));
    assert_eq!(i.garp.master_refresh, Some(Duration::from_secs(60)));
    assert_eq!(
        i.notify.any.as_deref(),
        Some("/usr/local/bin/notify.sh all")
    );
    assert_eq!(i.notify.master.as_deref(), Some("/usr/local/bin/m.sh arg"));
    assert_eq!(i.use_vmac, Some(Some("vrrp9".into())));
    assert_eq!(i.track_scripts[0].weight.map(|w| w.weight), Some(20));
    assert_eq!(i.track_files[0].name, "tf");
    let v = &i.virtual_ipaddresses[0];
    assert_eq!(v.label.as_deref(), Some("eth0:1"));
    assert_eq!(
        v.broadcast,
        Some(lbd::config::Broadcast::Addr("192.0.2.255".parse().unwrap()))
    );
    assert!(i.virtual_ipaddresses[1].no_track);
    assert_eq!(c.sync_groups[0].notify.fault.as_deref(), Some("/bin/f"));
}

#[test]
fn ipv6_instances_use_vrrp_v3() {
    let l = ok("vrrp_instance V6 {\n  virtual_router_id 1\n  advert_int 0.5\n  virtual_ipaddress {\n    2001:db8::1/64\n  }\n}\n");
    assert_eq!(l.config.instances[0].version, lbd::config::VrrpVersion::V3);
    assert_eq!(l.config.instances[0].advert_int, Duration::from_millis(500));
}

#[test]
fn full_virtual_server_model() {
    use lbd::config::*;
    let text = r#"
virtual_server fwmark 7 {
  delay_loop 10
  lb_algo wlc
  lb_kind TUN
  tun_type gue
  tun_port 6080
  persistence_timeout 600
  persistence_granularity 255.255.255.0
  sorry_server 192.0.2.99 80
  sorry_server_inhibit
  quorum 2
  hysteresis 1
  quorum_up "/bin/up"
  quorum_down /bin/down
  alpha
  omega
  inhibit_on_failure
  ha_suspend
  virtualhost www.example.org
  real_server 192.0.2.20 80 {
    weight 5
    notify_up /bin/rs-up
    DNS_CHECK {
      type A
      name example.org
      connect_timeout 2.5
    }
    MISC_CHECK {
      misc_path "/bin/check 192.0.2.20"
      misc_timeout 5
      misc_dynamic
      user nobody
    }
    UDP_CHECK {
      payload 00ff
      require_reply 01
    }
    PING_CHECK {
      retry 2
    }
    SSL_GET {
      url {
        path /health
        status_code 200-299 301
      }
      virtualhost api.example.org
      enable_sni
      connect_port 443
      bindto 192.0.2.1
      warmup 5
    }
  }
  real_server 192.0.2.21 {
  }
}
"#;
    let c = ok(text).config;
    let vs = &c.virtual_servers[0];
    assert_eq!(vs.key, ServiceKey::Fwmark(7));
    assert_eq!(
        vs.lb_kind,
        LbKind::Tun(TunnelOptions {
            kind: TunnelKind::Gue,
            port: Some(6080),
            flags: None
        })
    );
    assert_eq!(
        vs.persistence_granularity,
        Some(Granularity::Netmask("255.255.255.0".parse().unwrap()))
    );
    assert_eq!((vs.quorum, vs.hysteresis), (2, 1));
    assert!(
        vs.alpha && vs.omega && vs.inhibit_on_failure && vs.ha_suspend && vs.sorry_server_inhibit
    );
    let rs = &vs.real_servers[0];
    assert_eq!(rs.checkers.len(), 5);
    assert_eq!(
        rs.checkers[0].kind,
        CheckerKind::Dns(DnsCheck {
            name: "example.org".into(),
            query_type: DnsType::A
        })
    );
    assert_eq!(
        rs.checkers[0].common.connect_timeout,
        Some(Duration::from_millis(2500))
    );
    let CheckerKind::Misc(m) = &rs.checkers[1].kind else {
        panic!()
    };
    assert_eq!(m.path, "/bin/check 192.0.2.20");
    assert!(m.dynamic);
    assert_eq!(
        rs.checkers[2].kind,
        CheckerKind::Udp(UdpCheck {
            payload: Some(vec![0, 0xff]),
            require_reply: Some(vec![1])
        })
    );
    assert_eq!(rs.checkers[3].common.retry, Some(2));
    let CheckerKind::Http(h) = &rs.checkers[4].kind else {
        panic!()
    };
    assert!(h.tls && h.enable_sni);
    assert_eq!(h.urls[0].status_codes, vec![(200, 299), (301, 301)]);
    assert_eq!(rs.checkers[4].common.connect_port, Some(443));
    assert_eq!(vs.real_servers[1].port, None);
}

#[test]
fn config_id_option_selects_conditional_lines() {
    let dir = scratch("config_id");
    let f = dir.join("k.conf");
    fs::write(
        &f,
        "global_defs {\n  @main router_id main_router\n  @backup router_id backup_router\n}\n",
    )
    .unwrap();
    for (id, want) in [
        ("main", Some("main_router")),
        ("backup", Some("backup_router")),
        ("other", None),
    ] {
        let opts = lbd::config::LoadOptions {
            config_id: Some(id.into()),
        };
        let l = lbd::config::load_with(&f, &opts).unwrap();
        assert_eq!(l.config.global.router_id.as_deref(), want, "{id}");
    }
}

#[test]
fn sync_group_of_wan_and_lan() {
    let text = "vrrp_sync_group VGM {\n  group {\n    WAN\n    LAN\n  }\n  notify_master \"/etc/keepalived/master.sh\"\n  smtp_alert\n}\nvrrp_instance WAN {\n  interface eth0\n  virtual_router_id 1\n  lvs_sync_daemon_interface eth1\n  virtual_ipaddress {\n    192.0.2.1\n  }\n}\nvrrp_instance LAN {\n  interface eth1\n  virtual_router_id 2\n  virtual_ipaddress {\n    198.51.100.1\n  }\n}\n";
    let l = ok(text);
    let g = &l.config.sync_groups[0];
    assert_eq!(g.members, vec!["WAN", "LAN"]);
    assert_eq!(g.smtp_alert, Some(true));
    assert_eq!(
        g.notify.master.as_deref(),
        Some("/etc/keepalived/master.sh")
    );
    assert_eq!(
        l.config.instances[0].lvs_sync_daemon_interface.as_deref(),
        Some("eth1")
    );
    // The deprecation is reported as keepalived does.
    assert_eq!(l.warnings.len(), 1);
    assert_eq!(l.warnings[0].line, 12);
}

#[test]
fn missing_interfaces_are_reported_against_a_sysfs_view() {
    let sys = scratch("sysfs");
    fs::create_dir_all(sys.join("eth0")).unwrap();
    let l = ok("vrrp_instance A {\n  interface eth0\n  virtual_router_id 1\n  track_interface {\n    eth7\n  }\n  virtual_ipaddress {\n    192.0.2.1 dev eth9\n  }\n}\n");
    let w: Vec<String> = lbd::config::missing_interfaces(&l.config, &sys)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        w,
        vec![
            "t.conf:8: warning: interface eth9 (address 192.0.2.1) does not exist on this host",
            "t.conf:1: warning: interface eth7 (tracked by vrrp_instance A) does not exist on this host",
        ]
    );
}

#[test]
fn global_smtp_alert_defaults_resolve_as_keepalived() {
    let text = |global: &str, own: &str| {
        format!(
            "global_defs {{\n{global}\n}}\nvrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 1\n{own}\n  virtual_ipaddress {{\n    192.0.2.1\n  }}\n}}\n"
        )
    };
    let resolved = |global: &str, own: &str| {
        let l = load_str("t.conf", &text(global, own)).unwrap();
        assert!(l.warnings.is_empty(), "{:?}", l.warnings);
        let g = &l.config.global;
        (
            g.vrrp_smtp_alert(l.config.instances[0].smtp_alert),
            g.checker_smtp_alert(None),
        )
    };
    assert_eq!(resolved("", ""), (false, false));
    assert_eq!(resolved("  smtp_alert", ""), (true, true));
    assert_eq!(resolved("  smtp_alert_vrrp", ""), (true, false));
    assert_eq!(resolved("  smtp_alert_checker on", ""), (false, true));
    // The specific default wins over smtp_alert, the instance over both.
    assert_eq!(
        resolved("  smtp_alert yes\n  smtp_alert_vrrp no", ""),
        (false, true)
    );
    assert_eq!(
        resolved("  smtp_alert_vrrp no", "  smtp_alert"),
        (true, false)
    );
    assert_eq!(resolved("  smtp_alert", "  smtp_alert off"), (false, true));

    let l = load_str(
        "t.conf",
        &text("  no_email_faults\n  no_checker_emails", ""),
    )
    .unwrap();
    assert!(l.config.global.no_email_faults && l.config.global.no_checker_emails);
    assert!(l.warnings.is_empty(), "{:?}", l.warnings);
    // keepalived 2.2.7 has no `email_faults` keyword.
    let l = load_str("t.conf", &text("  email_faults", "")).unwrap();
    assert_eq!(
        l.warnings[0].to_string(),
        "t.conf:2: warning: unknown keyword 'email_faults' (did you mean 'no_email_faults'?)"
    );
}
