//! Tree -> typed model: one builder per block kind, each with its keyword table, then the
//! cross-reference checks that need the whole configuration.

mod global;
mod lvs;
mod strict;
mod unsupported;
mod validate;
mod vrrp;

use std::collections::HashMap;

use super::diag::{Diagnostics, Location};
use super::model::Config;
use super::tree::Node;
use super::values::suggest;

/// Top-level keywords lbd models.
pub const TOP_KEYWORDS: &[&str] = &[
    "global_defs",
    "vrrp_script",
    "vrrp_track_file",
    "track_file",
    "vrrp_sync_group",
    "vrrp_instance",
    "static_ipaddress",
    "virtual_server_group",
    "virtual_server",
];

/// Real keepalived top-level keywords that lbd accepts and ignores.
const TOP_UNUSED: &[&str] = &[
    "static_routes",
    "static_rules",
    "static_track_group",
    "linkbeat_interfaces",
    "linkbeat_use_polling",
    "net_namespace",
    "net_namespace_ipvs",
    "namespace_with_ipsets",
    "instance",
    "use_pid_dir",
    "child_wait_time",
    "vrrp_track_process",
    "track_process",
    "garp_group",
    "bfd_instance",
];

/// Builds the model one top-level statement at a time, as the tree parser finishes each,
/// so that the tree of a large configuration never exists whole.
pub struct Builder<'a> {
    cfg: Config,
    /// Names of named blocks seen so far, even those later dropped for errors, so that a
    /// duplicate is always reported against the first definition.
    seen: HashMap<(&'a str, &'a str), Location>,
    d: Diagnostics,
}

impl<'a> Builder<'a> {
    pub fn new() -> Self {
        Builder {
            cfg: Config::default(),
            seen: HashMap::new(),
            d: Diagnostics::default(),
        }
    }

    /// The next top-level statement.
    pub fn top(&mut self, n: &Node<'a>) {
        let (cfg, d) = (&mut self.cfg, &mut self.d);
        let kind = match n.keyword {
            "vrrp_track_file" | "track_file" => Some("track file"),
            k @ ("vrrp_script" | "vrrp_sync_group" | "vrrp_instance" | "virtual_server_group") => {
                Some(k)
            }
            _ => None,
        };
        if let (Some(kind), Some(name)) = (kind, n.args.first()) {
            if let Some(first) = self.seen.get(&(kind, *name)) {
                d.error(
                    &n.at,
                    format!("{kind} {name} is already defined at {first}"),
                );
                return;
            }
            self.seen.insert((kind, name), n.at.clone());
        }
        match n.keyword {
            "global_defs" => global::global_defs(d, n, &mut cfg.global),
            "vrrp_script" => cfg.vrrp_scripts.extend(vrrp::vrrp_script(d, n)),
            "vrrp_track_file" | "track_file" => cfg.track_files.extend(vrrp::track_file(d, n)),
            "vrrp_sync_group" => cfg.sync_groups.extend(vrrp::sync_group(d, n)),
            "vrrp_instance" => cfg.instances.extend(vrrp::instance(d, n, &cfg.global)),
            "static_ipaddress" => {
                for c in children(d, n) {
                    let Some(v) = vrrp::virtual_ip(d, c) else {
                        continue;
                    };
                    // keepalived falls back to default_interface (eth0 unless set), and stops
                    // when that does not exist; lbd has no default interface.
                    if v.dev.is_none() {
                        d.error(
                            &c.at,
                            format!(
                                "static_ipaddress {} has no interface: expected {} dev IFNAME",
                                c.keyword, c.keyword
                            ),
                        );
                        continue;
                    }
                    cfg.static_ipaddresses.push(v);
                }
            }
            "virtual_server_group" => cfg.virtual_server_groups.extend(lvs::server_group(d, n)),
            "virtual_server" => cfg.virtual_servers.extend(lvs::virtual_server(d, n)),
            _ => unknown(d, n, TOP_KEYWORDS, TOP_UNUSED),
        }
    }

    /// How many virtual servers have been built so far: tells which entry a statement made.
    pub fn virtual_server_count(&self) -> usize {
        self.cfg.virtual_servers.len()
    }

    /// The checks that need the whole configuration; the model and what was said about it.
    pub fn finish(mut self) -> (Config, Diagnostics) {
        let declared: Vec<&str> = self
            .seen
            .keys()
            .filter(|(kind, _)| *kind == "vrrp_instance")
            .map(|(_, name)| *name)
            .collect();
        strict::apply(&mut self.d, &mut self.cfg);
        validate::validate(&mut self.d, &mut self.cfg, &declared);
        (self.cfg, self.d)
    }
}

/// A `virtual_server` statement re-read on its own (an incremental reload), built as
/// [`Builder::top`] builds it and checked against the rest of `cfg` as [`Builder::finish`]
/// checks every virtual server, except for uniqueness: the caller keeps the key unchanged.
/// `None` when `n` is not a `virtual_server` or could not be built (reported in `d`).
pub fn rebuilt_virtual_server(
    d: &mut Diagnostics,
    n: &Node,
    cfg: &Config,
) -> Option<super::model::VirtualServer> {
    if n.keyword != "virtual_server" {
        return None;
    }
    let vs = lvs::virtual_server(d, n)?;
    validate::virtual_server_references(d, &vs, cfg, &validate::track_file_names(cfg));
    Some(vs)
}

impl Default for Builder<'_> {
    fn default() -> Self {
        Self::new()
    }
}

/// Reports a keyword its block does not know: "not supported by lbd" with what that costs
/// for real keepalived keywords lbd ignores ([`unsupported`]), otherwise "unknown" with the
/// closest valid keyword, a warning as in keepalived.
pub(crate) fn unknown(d: &mut Diagnostics, n: &Node, known: &[&str], unused: &[&str]) {
    if n.keyword == "{" {
        return; // already reported by the tree builder
    }
    if unused.contains(&n.keyword) {
        unsupported::report(d, n);
        return;
    }
    let all: Vec<&str> = known.iter().chain(unused).copied().collect();
    let message = match suggest(n.keyword, &all) {
        Some(s) => format!("unknown keyword '{}' (did you mean '{s}'?)", n.keyword),
        None => format!("unknown keyword '{}'", n.keyword),
    };
    d.warn(&n.at, message);
}

/// The statement's `{ }` block; an error when it has none.
pub(crate) fn children<'n>(d: &mut Diagnostics, n: &'n Node<'_>) -> &'n [Node<'n>] {
    match &n.block {
        Some(c) => c,
        None => {
            d.error(
                &n.at,
                format!(
                    "'{}' expects a block: {} ... {{ ... }}",
                    n.keyword, n.keyword
                ),
            );
            &[]
        }
    }
}

/// The name after a block keyword (`vrrp_instance NAME {`).
pub(crate) fn block_name(d: &mut Diagnostics, n: &Node) -> Option<String> {
    match n.args.first() {
        Some(name) => {
            super::values::no_extra(d, n, 1);
            Some(name.to_string())
        }
        None => {
            d.error(
                &n.at,
                format!(
                    "missing name after {}: expected {} NAME {{ ... }}",
                    n.keyword, n.keyword
                ),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{load_str, ConfigError};

    fn messages(text: &str) -> Vec<String> {
        match load_str("t.conf", text) {
            Ok(l) => l.warnings.into_iter().map(|d| d.message).collect(),
            Err(ConfigError::Invalid { diagnostics }) => {
                diagnostics.into_iter().map(|d| d.message).collect()
            }
            Err(e) => panic!("{e}"),
        }
    }

    /// Keywords a block parses into the model and still reports as not supported (what they
    /// ask for is not done).
    const PARSED_UNSUPPORTED: &[&str] = &[
        "vrrp_iptables",
        "enable_traps",
        "use_vmac",
        "vmac_xmit_base",
    ];

    /// Each keyword a block lists (for "did you mean") is really handled by that block.
    fn assert_handled(keywords: &[&str], wrap: impl Fn(&str) -> String) {
        for kw in keywords.iter().filter(|k| !PARSED_UNSUPPORTED.contains(k)) {
            let text = wrap(kw);
            let unknown: Vec<String> = messages(&text)
                .into_iter()
                .filter(|m| {
                    m.contains(&format!("keyword '{kw}'"))
                        || m.contains(&format!("'{kw}' is not supported"))
                })
                .collect();
            assert!(unknown.is_empty(), "{kw}: {unknown:?} in\n{text}");
        }
    }

    #[test]
    fn messages_about_one_line_keep_the_order_of_the_steps() {
        // The block is built as soon as it closes, before the stray '}' after it is seen;
        // the tree's message still comes first, as when the whole tree was built first.
        assert_eq!(
            messages("x { } }\n"),
            vec!["'}' does not close any block", "unknown keyword 'x'"]
        );
    }

    #[test]
    fn every_listed_keyword_is_handled() {
        assert_handled(super::TOP_KEYWORDS, |k| format!("{k} x {{\n}}\n"));
        assert_handled(super::global::KEYWORDS, |k| {
            format!("global_defs {{\n {k} 1\n}}\n")
        });
        assert_handled(super::vrrp::SCRIPT_KEYWORDS, |k| {
            format!("vrrp_script s {{\n {k} 1\n}}\n")
        });
        assert_handled(super::vrrp::TRACK_FILE_KEYWORDS, |k| {
            format!("vrrp_track_file f {{\n {k} 1\n}}\n")
        });
        assert_handled(super::vrrp::SYNC_KEYWORDS, |k| {
            format!("vrrp_sync_group g {{\n {k} 1\n}}\n")
        });
        assert_handled(super::vrrp::INSTANCE_KEYWORDS, |k| {
            format!("vrrp_instance i {{\n virtual_router_id 1\n {k} 1\n}}\n")
        });
        assert_handled(super::lvs::VS_KEYWORDS, |k| {
            format!("virtual_server 192.0.2.1 80 {{\n {k} 1\n}}\n")
        });
        assert_handled(super::lvs::RS_KEYWORDS, |k| {
            format!(
                "virtual_server 192.0.2.1 80 {{\n real_server 192.0.2.2 80 {{\n  {k} 1\n }}\n}}\n"
            )
        });
        for checker in [
            "TCP_CHECK",
            "HTTP_GET",
            "SMTP_CHECK",
            "DNS_CHECK",
            "MISC_CHECK",
            "PING_CHECK",
            "UDP_CHECK",
        ] {
            assert_handled(super::lvs::COMMON_KEYWORDS, |k| {
                format!("virtual_server 192.0.2.1 80 {{\n real_server 192.0.2.2 80 {{\n  {checker} {{\n   {k} 1\n  }}\n }}\n}}\n")
            });
        }
    }
}
