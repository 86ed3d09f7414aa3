//! keepalived's default script user: without `script_user`, a script that names no `user`
//! of its own runs as `keepalived_script` when this host has that account, else as the
//! daemon itself (root), after keepalived 2.2.7's lines (`notify.c`,
//! `get_default_script_user`):
//!
//! ```text
//! Script user 'keepalived_script' does not exist
//! Unable to set default user keepalived_script for script      (enable_script_security)
//! ```
//!
//! The account is looked up once per (re)load, and only when some script needs it, as
//! keepalived does. Resolving it into `script_user` here lets every runner (tracking,
//! notify, MISC_CHECK, the script-security checks) keep one rule: own `user`, else
//! `script_user`, else the daemon.

use crate::config::{CheckerKind, Config, NotifyScripts, ScriptUser, VirtualServer};

/// The account keepalived runs scripts as by default.
pub const DEFAULT_USER: &str = "keepalived_script";

/// Sets `cfg`'s `script_user` to keepalived's default when it applies; returns keepalived's
/// warnings. `we_are_root`: only root can run a script as another user (keepalived always
/// is); `exists` looks an account up (injected so tests do not read /etc/passwd).
pub fn apply(cfg: &mut Config, we_are_root: bool, exists: impl Fn(&str) -> bool) -> Vec<String> {
    let needs = Needs::of(cfg);
    apply_with(cfg, we_are_root, exists, &needs)
}

/// [`apply`] with what `needs` knows of the virtual servers (kept up to date by the caller
/// across in-place reloads) instead of a walk over all of them.
pub fn apply_with(
    cfg: &mut Config,
    we_are_root: bool,
    exists: impl Fn(&str) -> bool,
    needs: &Needs,
) -> Vec<String> {
    if cfg.global.script_user.is_some() || !we_are_root || !needs.any(cfg) {
        return Vec::new();
    }
    if exists(DEFAULT_USER) {
        cfg.global.script_user = Some(ScriptUser {
            user: DEFAULT_USER.to_owned(),
            group: None,
        });
        return Vec::new();
    }
    let mut warnings = vec![format!("Script user '{DEFAULT_USER}' does not exist")];
    if cfg.global.enable_script_security {
        warnings.push(format!(
            "Unable to set default user {DEFAULT_USER} for script"
        ));
    }
    warnings
}

/// Which virtual servers have a script without a `user` of its own. With tens of thousands
/// of real servers, asking all of them at every reload would cost more than a reload that
/// re-reads one virtual server; the answer is kept per virtual server instead.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Needs {
    vs: Vec<bool>,
}

impl Needs {
    pub fn of(cfg: &Config) -> Self {
        Needs {
            vs: cfg.virtual_servers.iter().map(vs_needs_default).collect(),
        }
    }

    /// After `cfg.virtual_servers[i]` was replaced for each `i` in `changed`.
    pub fn update(&mut self, cfg: &Config, changed: &[usize]) {
        if self.vs.len() != cfg.virtual_servers.len() {
            *self = Needs::of(cfg);
            return;
        }
        for &i in changed {
            if let (Some(slot), Some(vs)) = (self.vs.get_mut(i), cfg.virtual_servers.get(i)) {
                *slot = vs_needs_default(vs);
            }
        }
    }

    fn any(&self, cfg: &Config) -> bool {
        vrrp_needs_default(cfg) || self.vs.iter().any(|&n| n)
    }
}

/// Whether a script of the VRRP side of `cfg` runs without a `user` of its own.
fn vrrp_needs_default(cfg: &Config) -> bool {
    let notify = |n: &NotifyScripts| {
        [
            &n.any,
            &n.master,
            &n.backup,
            &n.fault,
            &n.stop,
            &n.deleted,
            &n.master_rx_lower_pri,
        ]
        .iter()
        .any(|s| s.is_some())
    };
    cfg.vrrp_scripts.iter().any(|s| s.user.is_none())
        || cfg.instances.iter().any(|i| notify(&i.notify))
        || cfg.sync_groups.iter().any(|g| notify(&g.notify))
}

/// Whether a script of `vs` (quorum, real server notify, MISC_CHECK) runs without a `user`
/// of its own.
fn vs_needs_default(vs: &VirtualServer) -> bool {
    vs.quorum_up.is_some()
        || vs.quorum_down.is_some()
        || vs.real_servers.iter().any(|rs| {
            rs.notify_up.is_some()
                || rs.notify_down.is_some()
                || rs
                    .checkers
                    .iter()
                    .any(|c| matches!(&c.kind, CheckerKind::Misc(m) if m.user.is_none()))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_str;

    fn cfg(global: &str, rest: &str) -> Config {
        load_str("t.conf", &format!("global_defs {{\n{global}\n}}\n{rest}"))
            .unwrap()
            .config
    }

    const TRACKED: &str = "vrrp_script chk {\n script /bin/true\n}\n";
    const MISC: &str = "virtual_server 192.0.2.100 80 {\n real_server 198.51.100.1 80 {\n  \
                        MISC_CHECK {\n   misc_path /bin/true\n  }\n }\n}\n";
    const NOTIFY: &str = "virtual_server 192.0.2.100 80 {\n quorum_down /bin/qd\n \
                          real_server 198.51.100.1 80 {\n }\n}\n";

    fn user(c: &Config) -> Option<&str> {
        c.global.script_user.as_ref().map(|u| u.user.as_str())
    }

    #[test]
    fn keepalived_script_is_the_default_when_it_exists() {
        for rest in [TRACKED, MISC, NOTIFY] {
            let mut c = cfg("", rest);
            assert_eq!(
                apply(&mut c, true, |u| u == DEFAULT_USER),
                Vec::<String>::new()
            );
            assert_eq!(user(&c), Some(DEFAULT_USER), "{rest}");
        }
    }

    #[test]
    fn a_missing_account_falls_back_to_root_with_keepalived_words() {
        let mut c = cfg("", TRACKED);
        assert_eq!(
            apply(&mut c, true, |_| false),
            vec!["Script user 'keepalived_script' does not exist"]
        );
        assert_eq!(user(&c), None);
        let mut c = cfg(" enable_script_security", MISC);
        assert_eq!(
            apply(&mut c, true, |_| false),
            vec![
                "Script user 'keepalived_script' does not exist",
                "Unable to set default user keepalived_script for script",
            ]
        );
    }

    #[test]
    fn nothing_changes_when_it_does_not_apply() {
        // script_user given: it stays, nothing is looked up.
        let mut c = cfg(" script_user nobody", TRACKED);
        let looked = std::cell::Cell::new(false);
        assert!(apply(&mut c, true, |_| {
            looked.set(true);
            true
        })
        .is_empty());
        assert_eq!(user(&c), Some("nobody"));
        assert!(!looked.get());
        // No script, or every script with its own user: no lookup, no warning.
        for rest in [
            "",
            "vrrp_script chk {\n script /bin/true\n user nobody\n}\n",
        ] {
            let mut c = cfg("", rest);
            assert!(apply(&mut c, true, |_| panic!("looked up")).is_empty());
            assert_eq!(user(&c), None);
        }
        // Not root: scripts can only run as ourselves.
        let mut c = cfg("", TRACKED);
        assert!(apply(&mut c, false, |_| true).is_empty());
        assert_eq!(user(&c), None);
    }

    #[test]
    fn needs_kept_per_virtual_server_match_a_fresh_count() {
        let mut c = cfg(
            "",
            &format!("{MISC}{}", NOTIFY.replace("192.0.2.100", "192.0.2.101")),
        );
        let mut needs = Needs::of(&c);
        assert_eq!(needs.vs, vec![true, true]);
        // The first virtual server's MISC_CHECK gets a user, the second loses its script.
        let other = cfg(
            "",
            "virtual_server 192.0.2.100 80 {\n real_server 198.51.100.1 80 {\n  MISC_CHECK {\n   \
             misc_path /bin/true\n   user nobody\n  }\n }\n}\n\
             virtual_server 192.0.2.101 80 {\n real_server 198.51.100.1 80 {\n }\n}\n",
        );
        c.virtual_servers = other.virtual_servers.clone();
        needs.update(&c, &[0]);
        assert_eq!(
            needs.vs,
            vec![false, true],
            "only the listed one is asked again"
        );
        needs.update(&c, &[1]);
        assert_eq!(needs, Needs::of(&c));
        assert!(apply_with(&mut c, true, |_| panic!("looked up"), &needs).is_empty());
        assert_eq!(user(&c), None);
    }
}
