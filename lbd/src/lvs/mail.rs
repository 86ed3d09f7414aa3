//! `smtp_alert` on the checker side: which health events keepalived 2.2.7 mails about, and
//! in which words. The state machine ([`super::state`]) reports the facts as
//! [`Notice::Mail`](super::Notice::Mail); this module decides, from the configuration,
//! whether they become a mail and what it says. The daemon adds `[router_id] ` to the
//! subject and delivers it.
//!
//! keepalived's rules (`check_data.c`, `ipwrapper.c`, the checkers, `smtp.c`):
//! - a virtual server's `smtp_alert` defaults to `smtp_alert_checker`, else `smtp_alert`,
//!   else off; a real server's the same, but else **on** (keepalived keeps its old default);
//! - a checker whose result flips mails about its real server (subject `Realserver RS of
//!   virtual server VS - UP|DOWN`, the server's state after the flip; the body is the
//!   checker's own sentence), unless `no_checker_emails` and the server did not change;
//! - a live real server taken away by a reload or a shutdown (`omega`) mails `DOWN`;
//! - the quorum mails `Virtualserver VS - UP|DOWN` when it moves (at start too).
//!
//! FILE_CHECK changes mail nothing: keepalived's track-file checker has no `smtp_alert`.

use std::collections::HashMap;

use crate::config::{CheckerKind, Config, GlobalDefs, VirtualServer};

use super::desired::VsSpec;

/// A health event keepalived may mail about, with the names it prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailEvent {
    /// The virtual server, as keepalived names it (`[192.0.2.100]:tcp:80`).
    pub vs: String,
    pub what: MailWhat,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailWhat {
    /// A checker of real server `rs` now says `up`; `was_alive` / `alive`: the server before
    /// and after. `reason`: the failure's log sentence (SMTP_CHECK and MISC_CHECK quote it).
    Checker {
        rs: String,
        check: CheckTag,
        up: bool,
        was_alive: bool,
        alive: bool,
        reason: Option<String>,
    },
    /// A live real server left IPVS because its service went (`stopping`) or a reload dropped
    /// it (keepalived's `SMTP_MSG_RS_SHUT`).
    Removed { rs: String, stopping: bool },
    /// The quorum moved (`init`: the first evaluation; `stopping`: the shutdown of an
    /// `omega` service). The numbers are those of keepalived's log line.
    Quorum {
        up: bool,
        init: bool,
        stopping: bool,
        quorum: u32,
        hysteresis: u32,
        threshold: i64,
        sum: i64,
    },
}

/// Which checker spoke: each words its mail differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckTag {
    Tcp,
    /// `HTTP_GET` and `SSL_GET`.
    Http,
    Smtp,
    Dns,
    Misc,
    Ping,
    Udp,
    File,
}

impl CheckTag {
    pub fn of(kind: &CheckerKind) -> Self {
        match kind {
            CheckerKind::Tcp => CheckTag::Tcp,
            CheckerKind::Http(_) => CheckTag::Http,
            CheckerKind::Smtp(_) => CheckTag::Smtp,
            CheckerKind::Dns(_) => CheckTag::Dns,
            CheckerKind::Misc(_) => CheckTag::Misc,
            CheckerKind::Ping => CheckTag::Ping,
            CheckerKind::Udp(_) => CheckTag::Udp,
            CheckerKind::File(_) => CheckTag::File,
        }
    }
}

/// A mail to send: the subject without keepalived's `[router_id] ` prefix, and the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub subject: String,
    pub body: String,
}

/// One virtual server's resolved `smtp_alert`, and its real servers' by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct VsAlerts {
    own: bool,
    /// Sorted by name, held exactly: one entry per real server, 40,000 of them at scale,
    /// where a hash map per virtual server took twice the room.
    rs: Vec<(Box<str>, bool)>,
}

impl VsAlerts {
    fn of(g: &GlobalDefs, v: &VirtualServer, spec: &VsSpec) -> Self {
        let mut rs: Vec<(Box<str>, bool)> = v
            .real_servers
            .iter()
            .zip(&spec.real_servers)
            .map(|(r, rspec)| {
                (
                    rspec.name.to_string().into_boxed_str(),
                    g.real_server_smtp_alert(r.smtp_alert),
                )
            })
            .collect();
        // Names are unique (`specs` refuses a real server listed twice).
        rs.sort_by(|a, b| a.0.cmp(&b.0));
        VsAlerts {
            own: g.checker_smtp_alert(v.smtp_alert),
            rs,
        }
    }
}

/// The `smtp_alert` settings of one configuration, by the names the events carry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MailSettings {
    /// `smtp_server` and `notification_email` are set: keepalived mails nothing otherwise
    /// (and says nothing, real servers mailing by default).
    configured: bool,
    no_checker_emails: bool,
    vs: HashMap<String, VsAlerts>,
}

/// The union of two lists sorted by name; `first`'s setting wins for a name in both.
fn merge_keeping_first(
    first: Vec<(Box<str>, bool)>,
    second: Vec<(Box<str>, bool)>,
) -> Vec<(Box<str>, bool)> {
    let mut out = Vec::with_capacity(first.len() + second.len());
    let mut a = first.into_iter().peekable();
    let mut b = second.into_iter().peekable();
    loop {
        let order = match (a.peek(), b.peek()) {
            (None, None) => break,
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (Some(x), Some(y)) => x.0.cmp(&y.0),
        };
        if order.is_eq() {
            b.next();
        }
        out.extend(if order.is_le() { a.next() } else { b.next() });
    }
    out.shrink_to_fit();
    out
}

impl GlobalDefs {
    /// A real server's `smtp_alert`: its own, else `smtp_alert_checker`, else `smtp_alert`,
    /// else on (unlike every other default, for compatibility with older keepalived).
    pub fn real_server_smtp_alert(&self, own: Option<bool>) -> bool {
        own.or(self.smtp_alert_checker)
            .or(self.smtp_alert)
            .unwrap_or(true)
    }
}

impl MailSettings {
    /// `specs` are `cfg`'s virtual servers, in configuration order ([`super::desired::specs`]).
    pub fn of(cfg: &Config, specs: &[VsSpec]) -> Self {
        let g = &cfg.global;
        let vs = cfg
            .virtual_servers
            .iter()
            .zip(specs)
            .map(|(v, spec)| (spec.name.to_string(), VsAlerts::of(g, v, spec)))
            .collect();
        MailSettings {
            configured: g.smtp_server.is_some() && !g.notification_email.is_empty(),
            no_checker_emails: g.no_checker_emails,
            vs,
        }
    }

    /// After a reload of virtual server `v` alone (`spec` resolved from it, its name that of
    /// no other virtual server, `global_defs` unchanged): [`MailSettings::of`] then
    /// [`MailSettings::keep_dropped`] for it, the other virtual servers' settings being as
    /// they were.
    pub fn replace_vs(&mut self, cfg: &Config, v: &VirtualServer, spec: &VsSpec) {
        let mut alerts = VsAlerts::of(&cfg.global, v, spec);
        if let Some(old) = self.vs.remove(&spec.name.to_string()) {
            alerts.rs = merge_keeping_first(std::mem::take(&mut alerts.rs), old.rs);
        }
        self.vs.insert(spec.name.to_string(), alerts);
    }

    /// After a reload: what the old configuration said of servers the new one dropped, so
    /// their removal is mailed as the old configuration asked (keepalived uses the old
    /// server's setting there).
    pub fn keep_dropped(&mut self, old: MailSettings) {
        for (name, old_vs) in old.vs {
            let vs = self.vs.entry(name).or_insert_with(|| VsAlerts {
                own: old_vs.own,
                rs: Vec::new(),
            });
            vs.rs = merge_keeping_first(std::mem::take(&mut vs.rs), old_vs.rs);
        }
    }

    fn rs_alert(&self, vs: &str, rs: &str) -> bool {
        self.vs
            .get(vs)
            .and_then(|v| {
                let i = v.rs.binary_search_by(|(n, _)| (**n).cmp(rs)).ok()?;
                v.rs.get(i).map(|(_, on)| on)
            })
            .copied()
            .unwrap_or(false)
    }

    /// The mail keepalived sends for `ev`, if any.
    pub fn render(&self, ev: &MailEvent) -> Option<Alert> {
        if !self.configured {
            return None;
        }
        let vs = &ev.vs;
        match &ev.what {
            MailWhat::Checker {
                rs,
                check,
                up,
                was_alive,
                alive,
                reason,
            } => {
                if !self.rs_alert(vs, rs) || (self.no_checker_emails && was_alive == alive) {
                    return None;
                }
                let body = checker_body(*check, *up, reason.as_deref())?;
                let state = if *alive { "UP" } else { "DOWN" };
                Some(Alert {
                    subject: format!("Realserver {rs} of virtual server {vs} - {state}"),
                    body,
                })
            }
            MailWhat::Removed { rs, stopping } => {
                if !self.rs_alert(vs, rs) {
                    return None;
                }
                let body = if *stopping {
                    "=> Shutting down <="
                } else {
                    "=> Removing <="
                };
                Some(Alert {
                    subject: format!("Realserver {rs} of virtual server {vs} - DOWN"),
                    body: body.to_owned(),
                })
            }
            MailWhat::Quorum {
                up,
                init,
                stopping,
                quorum,
                hysteresis,
                threshold,
                sum,
            } => {
                if !self.vs.get(vs).is_some_and(|v| v.own) {
                    return None;
                }
                let body = if *stopping {
                    "=> Shutting down <=".to_owned()
                } else {
                    let what = match (up, init) {
                        (true, true) => "Starting with quorum up",
                        (true, false) => "Gained quorum",
                        (false, true) => "Starting with quorum down",
                        (false, false) => "Lost quorum",
                    };
                    // keepalived prints `+` whichever way the hysteresis went.
                    format!("=> {what} {quorum}+{hysteresis}={threshold} <= {sum} <=")
                };
                let state = if *up { "UP" } else { "DOWN" };
                Some(Alert {
                    subject: format!("Virtualserver {vs} - {state}"),
                    body,
                })
            }
        }
    }
}

/// The sentence each checker of keepalived 2.2.7 mails when it flips to `up`.
fn checker_body(check: CheckTag, up: bool, reason: Option<&str>) -> Option<String> {
    let fixed = |ok: &str, failed: &str| Some(if up { ok } else { failed }.to_owned());
    match check {
        CheckTag::Tcp => fixed(
            "=> TCP CHECK succeed on service <=",
            "=> TCP CHECK failed on service <=",
        ),
        CheckTag::Http => fixed(
            "=> CHECK succeed on service <=",
            "=> CHECK failed on service : HTTP request failed <=",
        ),
        CheckTag::Smtp if up => Some("=> CHECK succeed on service <=".to_owned()),
        // keepalived quotes its own log line without the `SMTP_CHECK ` it starts with.
        CheckTag::Smtp => Some(match reason {
            Some(r) => {
                let r = r.strip_prefix("SMTP_CHECK ").unwrap_or(r);
                format!(
                    "=> CHECK failed on service : {} <=",
                    r.strip_suffix('.').unwrap_or(r)
                )
            }
            None => "=> CHECK failed on service <=".to_owned(),
        }),
        CheckTag::Dns => fixed(
            "=> DNS_CHECK: succeed on service <=",
            "=> DNS_CHECK: failed on service <=",
        ),
        CheckTag::Misc => {
            let how = if up {
                "succeeded"
            } else if reason.is_some_and(|r| r.ends_with("timed out.")) {
                "timed out"
            } else {
                "failed"
            };
            Some(format!("=> MISC CHECK {how} on service <="))
        }
        CheckTag::Ping => fixed(
            "=> ICMP CHECK succeed on service <=",
            "=> ICMP CHECK failed on service <=",
        ),
        CheckTag::Udp => fixed(
            "=> UDP CHECK succeed on service <=",
            "=> UDP CHECK failed on service <=",
        ),
        CheckTag::File => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_str;
    use crate::lvs::desired;

    const VS: &str = "[192.0.2.100]:tcp:80";
    const RS: &str = "[198.51.100.1]:tcp:80";

    fn settings(global: &str, vs: &str, rs: &str) -> MailSettings {
        let text = format!(
            "global_defs {{\n notification_email {{\n  ops@example.org\n }}\n \
             smtp_server 192.0.2.25\n{global}\n}}\nvirtual_server 192.0.2.100 80 {{\n protocol TCP\n{vs}\n \
             real_server 198.51.100.1 80 {{\n{rs}\n  TCP_CHECK {{\n  }}\n }}\n}}\n"
        );
        let cfg = load_str("t.conf", &text).unwrap().config;
        let specs = desired::specs(&cfg).unwrap();
        MailSettings::of(&cfg, &specs)
    }

    fn checker(check: CheckTag, up: bool, was_alive: bool, alive: bool) -> MailEvent {
        MailEvent {
            vs: VS.into(),
            what: MailWhat::Checker {
                rs: RS.into(),
                check,
                up,
                was_alive,
                alive,
                reason: None,
            },
        }
    }

    fn quorum(up: bool, init: bool) -> MailEvent {
        MailEvent {
            vs: VS.into(),
            what: MailWhat::Quorum {
                up,
                init,
                stopping: false,
                quorum: 2,
                hysteresis: 1,
                threshold: 3,
                sum: 4,
            },
        }
    }

    #[test]
    fn real_server_mails_by_default_virtual_server_does_not() {
        let s = settings("", "", "");
        let a = s
            .render(&checker(CheckTag::Tcp, false, true, false))
            .unwrap();
        assert_eq!(
            a.subject,
            "Realserver [198.51.100.1]:tcp:80 of virtual server [192.0.2.100]:tcp:80 - DOWN"
        );
        assert_eq!(a.body, "=> TCP CHECK failed on service <=");
        let a = s
            .render(&checker(CheckTag::Tcp, true, false, true))
            .unwrap();
        assert!(a.subject.ends_with(" - UP"));
        assert_eq!(a.body, "=> TCP CHECK succeed on service <=");
        assert_eq!(s.render(&quorum(true, false)), None);
    }

    #[test]
    fn nothing_is_mailed_without_a_server_and_recipients() {
        let text = "global_defs {\n smtp_alert\n notification_email {\n  ops@example.org\n }\n}\n\
                    virtual_server 192.0.2.100 80 {\n protocol TCP\n real_server 198.51.100.1 80 {\n }\n}\n";
        let cfg = load_str("t.conf", text).unwrap().config;
        let s = MailSettings::of(&cfg, &desired::specs(&cfg).unwrap());
        assert_eq!(s.render(&checker(CheckTag::Tcp, false, true, false)), None);
        assert_eq!(s.render(&quorum(false, false)), None);
    }

    #[test]
    fn smtp_alert_resolves_like_keepalived() {
        let rs_on = |s: &MailSettings| {
            s.render(&checker(CheckTag::Tcp, false, true, false))
                .is_some()
        };
        let vs_on = |s: &MailSettings| s.render(&quorum(false, false)).is_some();
        // Global smtp_alert off silences the real servers, on enables the virtual server.
        let s = settings(" smtp_alert off", "", "");
        assert!(!rs_on(&s) && !vs_on(&s));
        let s = settings(" smtp_alert", "", "");
        assert!(rs_on(&s) && vs_on(&s));
        // smtp_alert_checker wins over smtp_alert.
        let s = settings(" smtp_alert on\n smtp_alert_checker off", "", "");
        assert!(!rs_on(&s) && !vs_on(&s));
        // Each server's own setting wins over both.
        let s = settings(" smtp_alert_checker off", " smtp_alert", "  smtp_alert on");
        assert!(rs_on(&s) && vs_on(&s));
        let s = settings(
            " smtp_alert_checker on",
            " smtp_alert off",
            "  smtp_alert no",
        );
        assert!(!rs_on(&s) && !vs_on(&s));
    }

    #[test]
    fn no_checker_emails_keeps_only_real_server_changes() {
        let s = settings(" no_checker_emails", "", "");
        // A second checker failing on a server already down: no mail.
        assert_eq!(s.render(&checker(CheckTag::Tcp, false, false, false)), None);
        // One checker recovering while another still fails: no mail either.
        assert_eq!(s.render(&checker(CheckTag::Tcp, true, false, false)), None);
        assert!(s
            .render(&checker(CheckTag::Tcp, false, true, false))
            .is_some());
        // Without it both are mailed, with the server's state in the subject.
        let s = settings("", "", "");
        let a = s
            .render(&checker(CheckTag::Tcp, true, false, false))
            .unwrap();
        assert!(a.subject.ends_with(" - DOWN"), "{}", a.subject);
        assert_eq!(a.body, "=> TCP CHECK succeed on service <=");
    }

    #[test]
    fn every_checker_words_its_mail() {
        let s = settings("", "", "");
        let body = |check, up, reason: Option<&str>| {
            let mut ev = checker(check, up, !up, up);
            if let MailWhat::Checker { reason: r, .. } = &mut ev.what {
                *r = reason.map(str::to_owned);
            }
            s.render(&ev).map(|a| a.body)
        };
        let cases = [
            (CheckTag::Http, true, None, "=> CHECK succeed on service <="),
            (
                CheckTag::Http,
                false,
                None,
                "=> CHECK failed on service : HTTP request failed <=",
            ),
            (CheckTag::Smtp, true, None, "=> CHECK succeed on service <="),
            (
                CheckTag::Smtp,
                false,
                Some("SMTP_CHECK Connection timeout to server [198.51.100.1]:tcp:25."),
                "=> CHECK failed on service : Connection timeout to server [198.51.100.1]:tcp:25 <=",
            ),
            (CheckTag::Dns, true, None, "=> DNS_CHECK: succeed on service <="),
            (CheckTag::Dns, false, None, "=> DNS_CHECK: failed on service <="),
            (CheckTag::Misc, true, None, "=> MISC CHECK succeeded on service <="),
            (
                CheckTag::Misc,
                false,
                Some("Misc check for [/bin/false] failed with retcode [1]."),
                "=> MISC CHECK failed on service <=",
            ),
            (
                CheckTag::Misc,
                false,
                Some("Misc check for [/bin/sleep 9] timed out."),
                "=> MISC CHECK timed out on service <=",
            ),
            (CheckTag::Ping, false, None, "=> ICMP CHECK failed on service <="),
            (CheckTag::Udp, true, None, "=> UDP CHECK succeed on service <="),
        ];
        for (check, up, reason, want) in cases {
            assert_eq!(
                body(check, up, reason).as_deref(),
                Some(want),
                "{check:?} {up}"
            );
        }
        assert_eq!(body(CheckTag::File, false, None), None);
    }

    #[test]
    fn quorum_and_removal_wording() {
        let s = settings("", " smtp_alert", "");
        let a = s.render(&quorum(true, true)).unwrap();
        assert_eq!(a.subject, "Virtualserver [192.0.2.100]:tcp:80 - UP");
        assert_eq!(a.body, "=> Starting with quorum up 2+1=3 <= 4 <=");
        assert_eq!(
            s.render(&quorum(true, false)).unwrap().body,
            "=> Gained quorum 2+1=3 <= 4 <="
        );
        let a = s.render(&quorum(false, false)).unwrap();
        assert_eq!(a.subject, "Virtualserver [192.0.2.100]:tcp:80 - DOWN");
        assert_eq!(a.body, "=> Lost quorum 2+1=3 <= 4 <=");
        assert_eq!(
            s.render(&quorum(false, true)).unwrap().body,
            "=> Starting with quorum down 2+1=3 <= 4 <="
        );
        let mut stop = quorum(false, false);
        if let MailWhat::Quorum { stopping, .. } = &mut stop.what {
            *stopping = true;
        }
        assert_eq!(s.render(&stop).unwrap().body, "=> Shutting down <=");
        for (stopping, body) in [(false, "=> Removing <="), (true, "=> Shutting down <=")] {
            let a = s
                .render(&MailEvent {
                    vs: VS.into(),
                    what: MailWhat::Removed {
                        rs: RS.into(),
                        stopping,
                    },
                })
                .unwrap();
            assert_eq!(
                a.subject,
                "Realserver [198.51.100.1]:tcp:80 of virtual server [192.0.2.100]:tcp:80 - DOWN"
            );
            assert_eq!(a.body, body);
        }
        // A server nobody configured (or named wrongly) is never mailed about.
        let stranger = MailEvent {
            vs: "FWM 7".into(),
            what: MailWhat::Removed {
                rs: RS.into(),
                stopping: false,
            },
        };
        assert_eq!(s.render(&stranger), None);
    }

    #[test]
    fn a_reload_keeps_the_dropped_servers_settings() {
        let mut new = settings(" smtp_alert_checker off", "", "");
        new.keep_dropped(settings("", " smtp_alert", ""));
        // The server still configured follows the new configuration.
        assert_eq!(
            new.render(&checker(CheckTag::Tcp, false, true, false)),
            None
        );
        let mut gone = settings("", "", "");
        gone.vs.clear();
        gone.keep_dropped(settings("", " smtp_alert", ""));
        assert!(gone.render(&quorum(false, false)).is_some());
    }

    #[test]
    fn merged_real_servers_stay_sorted_and_the_new_setting_wins() {
        let list = |v: &[(&str, bool)]| -> Vec<(Box<str>, bool)> {
            v.iter().map(|(n, on)| ((*n).into(), *on)).collect()
        };
        let new = list(&[("b", false), ("d", true)]);
        let old = list(&[("a", true), ("b", true), ("c", false), ("e", true)]);
        assert_eq!(
            merge_keeping_first(new, old),
            list(&[
                ("a", true),
                ("b", false),
                ("c", false),
                ("d", true),
                ("e", true)
            ])
        );
        assert_eq!(
            merge_keeping_first(Vec::new(), list(&[("a", true)])),
            list(&[("a", true)])
        );
    }
}
