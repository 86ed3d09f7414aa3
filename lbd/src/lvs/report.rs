//! What the virtual-server side reports to [`crate::ops`]: the `lbd status` view of an
//! [`Lvs`] and the metrics record of a health event. Pure conversions, so they are tested
//! without IPVS or a checker.

use healthcheck::Change;

use super::state::{CheckerRef, Lvs};
use crate::config::{Checker, CheckerKind};
use crate::ops::status::{RealServerStatus, VirtualServerStatus};
use crate::ops::CheckObservation;

/// A health event, resolved to the names the metrics use.
///
/// The healthcheck runtime reports changes of a checker's verdict (up, down, a new dynamic
/// weight), not every probe, and no latency: so a record is one per transition and its
/// [`CheckObservation::latency`] is `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckRecord {
    /// The checker's position, so the caller can key its own bookkeeping.
    pub checker_ref: CheckerRef,
    pub virtual_server: String,
    pub real_server: String,
    pub checker: &'static str,
    /// `None` for a weight change: it says nothing about success.
    pub success: Option<bool>,
    /// The result in words, for `lbd status`.
    pub text: String,
}

impl CheckRecord {
    /// The metrics hook's view; `None` for a weight change (not a success nor a failure).
    pub fn observation(&self) -> Option<CheckObservation<'_>> {
        Some(CheckObservation {
            virtual_server: &self.virtual_server,
            real_server: &self.real_server,
            checker: self.checker,
            success: self.success?,
            latency: None,
        })
    }
}

/// keepalived's keyword for a checker.
pub fn checker_name(c: &Checker) -> &'static str {
    match &c.kind {
        CheckerKind::Tcp => "TCP_CHECK",
        CheckerKind::Http(h) if h.tls => "SSL_GET",
        CheckerKind::Http(_) => "HTTP_GET",
        CheckerKind::Smtp(_) => "SMTP_CHECK",
        CheckerKind::Dns(_) => "DNS_CHECK",
        CheckerKind::Misc(_) => "MISC_CHECK",
        CheckerKind::Ping => "PING_CHECK",
        CheckerKind::Udp(_) => "UDP_CHECK",
        CheckerKind::File(_) => "FILE_CHECK",
    }
}

/// Resolves a health event (its `subscriber` id and `change`) against `lvs`; `None` if it
/// names no checker of it (a stale event after a reload).
pub fn check_record(lvs: &Lvs, subscriber: u64, change: &Change) -> Option<CheckRecord> {
    let r = CheckerRef::from_id(subscriber);
    let spec = lvs.spec(r.vs as usize)?;
    let rs = spec.real_servers.get(r.rs as usize)?;
    let checker = rs.checkers.get(usize::from(r.checker))?;
    let name = checker_name(&checker.config);
    let (success, text) = match change {
        Change::Up => (Some(true), format!("{name} up")),
        Change::Down { reason } => (Some(false), format!("{name} down: {}", reason.message)),
        Change::WeightChanged { weight } => (None, format!("{name} set weight {weight}")),
    };
    Some(CheckRecord {
        checker_ref: r,
        virtual_server: spec.name.to_string(),
        real_server: rs.dest.addr.to_string(),
        checker: name,
        success,
        text,
    })
}

/// The `lbd status` view of `lvs`. `last_check(vs, rs)`: the last result in words of the real
/// server at those indexes, if one came in.
pub fn status(
    lvs: &Lvs,
    last_check: impl Fn(usize, usize) -> Option<String>,
) -> Vec<VirtualServerStatus> {
    lvs.vs
        .iter()
        .enumerate()
        .map(|(vi, v)| VirtualServerStatus {
            service: v.spec.name.to_string(),
            scheduler: v
                .spec
                .services
                .first()
                .map(|s| s.scheduler.clone())
                .unwrap_or_default(),
            quorum_up: v.quorum_up,
            real_servers: v
                .spec
                .real_servers
                .iter()
                .zip(&v.rs)
                .enumerate()
                .map(|(ri, (spec, st))| RealServerStatus {
                    address: spec.dest.addr.to_string(),
                    up: st.alive,
                    weight: st.effective(),
                    last_check: last_check(vi, ri),
                })
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_str;
    use crate::lvs::desired::specs;
    use healthcheck::{Failure, FailureKind};

    const CONF: &str = "virtual_server 192.0.2.100 80 {\n lb_algo wrr\n lb_kind DR\n quorum 2\n \
        real_server 192.0.2.10 80 {\n weight 1\n TCP_CHECK {\n }\n }\n \
        real_server 192.0.2.11 80 {\n weight 3\n HTTP_GET {\n url {\n path /\n status_code 200\n }\n }\n }\n}\n";

    fn lvs() -> Lvs {
        let cfg = match load_str("t.conf", CONF) {
            Ok(l) => l.config,
            Err(e) => panic!("{e:?}"),
        };
        let mut l = Lvs::new(specs(&cfg).unwrap()).unwrap();
        l.start();
        l
    }

    fn id(vs: u32, rs: u32, checker: u16) -> u64 {
        CheckerRef { vs, rs, checker }.to_id().unwrap()
    }

    #[test]
    fn status_lists_servers_with_health_and_quorum() {
        let mut l = lvs();
        let st = status(&l, |_, rs| (rs == 1).then(|| "HTTP_GET up".to_owned()));
        assert_eq!(st.len(), 1);
        let v = &st[0];
        assert_eq!(v.service, "[192.0.2.100]:tcp:80");
        assert_eq!(v.scheduler, "wrr");
        // Both start alive (no alpha): weights 1 + 3 reach quorum 2.
        assert!(v.quorum_up);
        let rs: Vec<(&str, bool, u32, Option<&str>)> = v
            .real_servers
            .iter()
            .map(|r| (r.address.as_str(), r.up, r.weight, r.last_check.as_deref()))
            .collect();
        assert_eq!(
            rs,
            [
                ("192.0.2.10:80", true, 1, None),
                ("192.0.2.11:80", true, 3, Some("HTTP_GET up")),
            ]
        );

        // The heavy one fails: 1 < 2, the quorum is lost and the server shows down.
        l.checker(
            CheckerRef {
                vs: 0,
                rs: 1,
                checker: 0,
            },
            false,
        )
        .unwrap();
        let st = status(&l, |_, _| None);
        assert!(!st[0].quorum_up);
        assert!(!st[0].real_servers[1].up);
        assert!(st[0].real_servers[0].up);
    }

    #[test]
    fn check_records_name_the_server_and_carry_no_latency() {
        let l = lvs();
        let down = Change::Down {
            reason: Failure::new(
                FailureKind::Connect,
                "TCP connection to [192.0.2.10]:tcp:80 failed.",
            ),
        };
        let rec = check_record(&l, id(0, 0, 0), &down).unwrap();
        assert_eq!(rec.virtual_server, "[192.0.2.100]:tcp:80");
        assert_eq!(rec.real_server, "192.0.2.10:80");
        assert_eq!(rec.checker, "TCP_CHECK");
        assert_eq!(rec.success, Some(false));
        assert_eq!(
            rec.text,
            "TCP_CHECK down: TCP connection to [192.0.2.10]:tcp:80 failed."
        );
        let o = rec.observation().unwrap();
        assert!(!o.success);
        assert_eq!(o.latency, None);

        let up = check_record(&l, id(0, 1, 0), &Change::Up).unwrap();
        assert_eq!(up.checker, "HTTP_GET");
        assert_eq!(up.success, Some(true));
        assert_eq!(up.text, "HTTP_GET up");

        // A weight change is no verdict: recorded for status, not counted.
        let w = check_record(&l, id(0, 1, 0), &Change::WeightChanged { weight: 7 }).unwrap();
        assert_eq!(w.success, None);
        assert!(w.observation().is_none());
        assert_eq!(w.text, "HTTP_GET set weight 7");

        // Stale ids (a real server or checker a reload removed) resolve to nothing.
        assert!(check_record(&l, id(0, 2, 0), &Change::Up).is_none());
        assert!(check_record(&l, id(0, 0, 1), &Change::Up).is_none());
        assert!(check_record(&l, id(1, 0, 0), &Change::Up).is_none());
    }
}
