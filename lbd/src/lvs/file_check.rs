//! FILE_CHECK: what a track file's contents mean for a real server (keepalived 2.2.7's
//! `track_file.c` and `check_file.c`).
//!
//! The file holds an integer, read by [`crate::track_value`] (the same reading as for a VRRP
//! instance's `track_file`). Times the checker's weight (negated with `reverse`), it is
//! added to the real server's configured weight; a product at or below `i32::MIN` (keepalived's
//! `IPVS_WEIGHT_FAULT`) fails the checker, and the server leaves the pool as for any failed
//! checker. With weight 0 the value is only good or bad: 0 is up, anything else down
//! (the other way round with `reverse`).
//!
//! keepalived 2.2.7 starts a weight-0 `reverse` checker as if `reverse` were not there until
//! the file first changes; lbd applies the same rule at start-up as on every change.

use crate::config::{FileCheck, FileWeight, TrackFile};

/// What one reading of the file does to the checker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Failed: the real server is down while it lasts.
    Fault,
    /// Up, adding this much to the real server's weight (negative lowers it; the IPVS weight
    /// stops at 0).
    Weight(i32),
}

/// The weight a FILE_CHECK applies: its own `weight` line, else the track file's.
pub fn binding(check: &FileCheck, file: &TrackFile) -> FileWeight {
    check.weight.unwrap_or(FileWeight {
        weight: i32::from(file.weight.weight),
        reverse: file.weight.reverse,
    })
}

/// keepalived's `update_track_file_status` for a real server.
pub fn verdict(value: i64, w: FileWeight) -> Verdict {
    if w.weight == 0 {
        return if (value != 0) != w.reverse {
            Verdict::Fault
        } else {
            Verdict::Weight(0)
        };
    }
    let sign = if w.reverse { -1 } else { 1 };
    // |value| <= 2^31 and |weight| < 2^31: the product fits an i128 trivially, an i64 too,
    // but saturating keeps that reasoning out of the way.
    let product = value
        .saturating_mul(i64::from(w.weight))
        .saturating_mul(sign);
    if product <= i64::from(i32::MIN) {
        Verdict::Fault
    } else {
        Verdict::Weight(product.min(i64::from(i32::MAX)) as i32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(weight: i32, reverse: bool) -> FileWeight {
        FileWeight { weight, reverse }
    }

    #[test]
    fn weighted_values_add_to_the_weight_until_the_fault_line() {
        assert_eq!(verdict(0, w(1, false)), Verdict::Weight(0));
        assert_eq!(verdict(5, w(1, false)), Verdict::Weight(5));
        assert_eq!(verdict(5, w(10, true)), Verdict::Weight(-50));
        assert_eq!(verdict(-3, w(-2, false)), Verdict::Weight(6));
        assert_eq!(
            verdict(-2_147_483_647, w(1, false)),
            Verdict::Weight(-2_147_483_647)
        );
        assert_eq!(verdict(-2_147_483_648, w(1, false)), Verdict::Fault);
        assert_eq!(verdict(2_147_483_648, w(1, true)), Verdict::Fault);
        assert_eq!(verdict(-100_000, w(100_000, false)), Verdict::Fault);
        assert_eq!(
            verdict(2_147_483_648, w(2_147_483_647, false)),
            Verdict::Weight(i32::MAX)
        );
    }

    #[test]
    fn weight_zero_is_up_or_down() {
        assert_eq!(verdict(0, w(0, false)), Verdict::Weight(0));
        assert_eq!(verdict(3, w(0, false)), Verdict::Fault);
        assert_eq!(verdict(-3, w(0, false)), Verdict::Fault);
        assert_eq!(verdict(0, w(0, true)), Verdict::Fault);
        assert_eq!(verdict(3, w(0, true)), Verdict::Weight(0));
    }

    #[test]
    fn the_checker_weight_wins_over_the_track_file_weight() {
        let file = TrackFile {
            name: "f".into(),
            origin: crate::config::Location::new(std::path::Path::new("t.conf").into(), 1),
            file: "/tmp/f".into(),
            weight: crate::config::TrackWeight {
                weight: -7,
                reverse: true,
            },
            init_file: None,
        };
        let mut check = FileCheck {
            name: "f".into(),
            weight: None,
        };
        assert_eq!(binding(&check, &file), w(-7, true));
        check.weight = Some(w(1000, false));
        assert_eq!(binding(&check, &file), w(1000, false));
    }

    // The state machine's side: what a verdict does to the real server and to IPVS.

    use crate::config::load_str;
    use crate::lvs::{desired, CheckerRef, Lvs, Notice};
    use ipvs_sys::{Request, ServiceKey};

    const CONF: &str = "track_file tf {\n file /nonexistent/lbd-tf\n}\n\
        virtual_server 192.0.2.100 80 {\n lb_algo wrr\n alpha\n quorum 4\n \
        real_server 192.0.2.10 80 {\n weight 3\n notify_down /bin/down10\n \
        FILE_CHECK {\n track_file tf\n weight 2\n }\n }\n \
        real_server 192.0.2.11 80 {\n weight 1\n }\n}\n";

    const FILE: CheckerRef = CheckerRef {
        vs: 0,
        rs: 0,
        checker: 0,
    };

    fn lvs(text: &str) -> Lvs {
        let cfg = load_str("t.conf", text).unwrap().config;
        Lvs::new(desired::specs(&cfg).unwrap()).unwrap()
    }

    fn dests(l: &Lvs) -> Vec<(String, u32)> {
        let key = ServiceKey::tcp("192.0.2.100:80".parse().unwrap());
        l.table().services[&key]
            .dests
            .values()
            .map(|d| (d.addr.to_string(), d.weight))
            .collect()
    }

    fn rs(weight10: Option<u32>) -> Vec<(String, u32)> {
        let mut v: Vec<(String, u32)> = weight10
            .map(|w| ("192.0.2.10:80".to_string(), w))
            .into_iter()
            .collect();
        v.push(("192.0.2.11:80".to_string(), 1));
        v
    }

    #[test]
    fn the_first_reading_sets_the_start_silently() {
        // alpha on the virtual server does not hold a FILE_CHECK down.
        let mut l = lvs(CONF);
        l.seed_file_check(FILE, Verdict::Weight(4)).unwrap();
        let n = l.start();
        assert_eq!(dests(&l), rs(Some(7)));
        assert!(n
            .iter()
            .any(|n| *n
                == Notice::Log("Gained quorum 4+0=4 <= 8 for VS [192.0.2.100]:tcp:80".into())));

        let mut l = lvs(CONF);
        l.seed_file_check(FILE, Verdict::Fault).unwrap();
        let n = l.start();
        assert_eq!(dests(&l), rs(None));
        assert!(
            !n.iter().any(|n| matches!(n, Notice::Script { .. })),
            "{n:?}"
        );
    }

    #[test]
    fn a_value_moves_the_weight_with_one_edit() {
        let mut l = lvs(CONF);
        l.seed_file_check(FILE, Verdict::Weight(0)).unwrap();
        l.start();
        let u = l.file_check(FILE, Verdict::Weight(10)).unwrap();
        assert_eq!(
            u.logs(),
            ["Changing weight from 3 to 13 for active service [192.0.2.10]:tcp:80 of VS [192.0.2.100]:tcp:80"]
        );
        assert!(matches!(&u.requests[..], [Request::SetDest { dest, .. }] if dest.weight == 13));
        assert_eq!(
            l.file_check(FILE, Verdict::Weight(10)).unwrap(),
            Default::default()
        );
        // Below zero the server stays in, at weight 0, and the quorum follows.
        let u = l.file_check(FILE, Verdict::Weight(-5)).unwrap();
        assert_eq!(
            u.logs(),
            [
                "Changing weight from 13 to 0 for active service [192.0.2.10]:tcp:80 of VS [192.0.2.100]:tcp:80",
                "Lost quorum 4-0=4 > 1 for VS [192.0.2.100]:tcp:80",
            ]
        );
        assert_eq!(dests(&l), rs(Some(0)));
    }

    #[test]
    fn a_fault_takes_the_server_out_and_back_at_its_new_weight() {
        let mut l = lvs(CONF);
        l.seed_file_check(FILE, Verdict::Weight(2)).unwrap();
        l.start();
        let u = l.file_check(FILE, Verdict::Fault).unwrap();
        assert_eq!(
            u.logs()[0],
            "Removing service [192.0.2.10]:tcp:80 from VS [192.0.2.100]:tcp:80"
        );
        assert!(u.notices.contains(&Notice::Script {
            command: "/bin/down10".into(),
            cause: crate::lvs::ScriptCause::RealServerDown,
        }));
        assert!(matches!(&u.requests[..], [Request::DelDest { .. }]));
        assert_eq!(dests(&l), rs(None));
        assert_eq!(
            l.file_check(FILE, Verdict::Fault).unwrap(),
            Default::default()
        );
        let u = l.file_check(FILE, Verdict::Weight(6)).unwrap();
        assert_eq!(
            u.logs(),
            [
                "Adding service [192.0.2.10]:tcp:80 to VS [192.0.2.100]:tcp:80",
                "Gained quorum 4+0=4 <= 10 for VS [192.0.2.100]:tcp:80",
            ]
        );
        assert_eq!(dests(&l), rs(Some(9)));
    }

    #[test]
    fn inhibit_keeps_a_faulted_server_at_weight_zero() {
        let mut l = lvs(&CONF.replace("weight 3\n", "weight 3\n inhibit_on_failure\n"));
        l.seed_file_check(FILE, Verdict::Weight(0)).unwrap();
        l.start();
        let u = l.file_check(FILE, Verdict::Fault).unwrap();
        assert_eq!(
            u.logs()[0],
            "Disabling service [192.0.2.10]:tcp:80 of VS [192.0.2.100]:tcp:80"
        );
        assert_eq!(dests(&l), rs(Some(0)));
    }

    #[test]
    fn only_file_checks_take_verdicts() {
        let mut l = lvs(&CONF.replace("weight 1\n }", "weight 1\n TCP_CHECK {\n }\n }"));
        let tcp = CheckerRef {
            vs: 0,
            rs: 1,
            checker: 0,
        };
        assert!(l.file_check(tcp, Verdict::Fault).is_err());
        assert!(l.seed_file_check(tcp, Verdict::Fault).is_err());
    }

    #[test]
    fn file_check_parsing_follows_keepalived() {
        let conf = |body: &str| {
            format!(
                "track_file tf {{\n file /tmp/tf\n weight -3 reverse\n}}\n\
                 virtual_server 192.0.2.100 80 {{\n protocol TCP\n real_server 192.0.2.10 80 {{\n \
                 FILE_CHECK {{\n track_file tf\n {body}\n }}\n }}\n}}\n"
            )
        };
        let check = |body: &str| {
            let loaded = load_str("t.conf", &conf(body)).unwrap();
            let kind = loaded.config.virtual_servers[0].real_servers[0].checkers[0]
                .kind
                .clone();
            let crate::config::CheckerKind::File(f) = kind else {
                panic!("{kind:?}")
            };
            let warnings: Vec<String> = loaded.warnings.iter().map(|d| d.message.clone()).collect();
            (f.weight, warnings)
        };
        assert_eq!(check(""), (None, vec![]));
        assert_eq!(check("weight 70000"), (Some(w(70000, false)), vec![]));
        assert_eq!(
            check("weight -2147483647 reverse"),
            (Some(w(-2_147_483_647, true)), vec![])
        );
        assert_eq!(check("weight 5 noreverse"), (Some(w(5, false)), vec![]));
        // keepalived reads only the name on the track_file line.
        let (weight, warnings) = check("track_file tf weight 9");
        assert_eq!(weight, None);
        assert!(warnings[0].contains("'weight 9' after the track_file name is ignored"));
        // No connection options: it connects nowhere.
        let (_, warnings) = check("connect_timeout 3");
        assert!(
            warnings[0].contains("unknown keyword 'connect_timeout'"),
            "{warnings:?}"
        );
        for bad in [
            "weight 2147483648",
            "weight -2147483648",
            "weight 1 sideways",
            "weight",
        ] {
            assert!(load_str("t.conf", &conf(bad)).is_err(), "{bad}");
        }
    }
}
