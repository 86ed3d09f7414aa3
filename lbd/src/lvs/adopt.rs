//! Start-up reconciliation with the kernel's IPVS table.
//!
//! A restarted daemon must not flush: a flush drops every established connection. Instead it
//! adopts what is there. The services it *owns* are those whose key is in the configuration
//! it runs (and, on reload, in the configuration it replaces); they are brought to the
//! desired state with the minimal edits of [`ipvs_sys::diff`] (entries that already match are
//! not touched, changed ones are edited in place). Any other service belongs to someone else
//! (another daemon, an operator's `ipvsadm`) and is left alone.

use std::collections::BTreeSet;

use ipvs_sys::{diff, Request, ServiceKey, Table};

/// What adoption found and what it will send.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Adoption {
    /// The requests, in an order the kernel accepts; never a flush.
    pub requests: Vec<Request>,
    /// Owned services already in the kernel (possibly edited).
    pub adopted: Vec<ServiceKey>,
    /// Services in the kernel this configuration does not own, left untouched.
    pub foreign: Vec<ServiceKey>,
}

/// Brings the owned part of `kernel` to `desired`. `previously_owned` are the keys of the
/// configuration being replaced (empty at a cold start): those not wanted any more are
/// removed, while a service no configuration of ours ever named is kept.
pub fn adopt<I>(kernel: &Table, desired: &Table, previously_owned: I) -> Adoption
where
    I: IntoIterator<Item = ServiceKey>,
{
    let mut owned: BTreeSet<ServiceKey> = desired.services.keys().copied().collect();
    owned.extend(previously_owned);
    let mut mine = Table::new();
    let mut adopted = Vec::new();
    let mut foreign = Vec::new();
    for (key, entry) in &kernel.services {
        if owned.contains(key) {
            mine.services.insert(*key, entry.clone());
            if desired.services.contains_key(key) {
                adopted.push(*key);
            }
        } else {
            foreign.push(*key);
        }
    }
    Adoption {
        requests: diff(&mine, desired),
        adopted,
        foreign,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ipvs_sys::{Dest, Forward, Service};

    fn k(s: &str) -> ServiceKey {
        ServiceKey::tcp(s.parse().unwrap())
    }

    /// (service, scheduler, [(destination, weight)]).
    type Spec<'a> = (&'a str, &'a str, &'a [(&'a str, u32)]);

    fn table(entries: &[Spec<'_>]) -> Table {
        let mut t = Table::new();
        for (key, sched, dests) in entries {
            t.insert_service(Service::new(k(key), *sched));
            for (a, w) in *dests {
                t.insert_dest(k(key), Dest::new(a.parse().unwrap(), Forward::Route, *w));
            }
        }
        t
    }

    #[test]
    fn matching_entries_are_untouched() {
        let want = table(&[(
            "192.0.2.100:80",
            "rr",
            &[("192.0.2.10:80", 1), ("192.0.2.11:80", 1)],
        )]);
        let a = adopt(&want, &want, []);
        assert!(a.requests.is_empty());
        assert_eq!(a.adopted, vec![k("192.0.2.100:80")]);
    }

    #[test]
    fn edits_in_place_removes_stale_and_keeps_foreign() {
        let kernel = table(&[
            (
                "192.0.2.100:80",
                "wlc",
                &[("192.0.2.10:80", 1), ("192.0.2.12:80", 1)],
            ),
            ("192.0.2.200:80", "rr", &[("192.0.2.20:80", 1)]),
            ("192.0.2.150:80", "rr", &[]),
        ]);
        let want = table(&[(
            "192.0.2.100:80",
            "rr",
            &[("192.0.2.10:80", 4), ("192.0.2.11:80", 1)],
        )]);
        let a = adopt(&kernel, &want, [k("192.0.2.150:80")]);
        let shown: Vec<String> = a.requests.iter().map(|r| r.to_string()).collect();
        assert_eq!(a.foreign, vec![k("192.0.2.200:80")]);
        assert!(!a.requests.iter().any(|r| matches!(r, Request::Flush)));
        assert!(!a
            .requests
            .iter()
            .any(|r| matches!(r, Request::DelService(k2) if *k2 == k("192.0.2.200:80"))));
        assert!(
            a.requests
                .contains(&Request::DelService(k("192.0.2.150:80"))),
            "{shown:?}"
        );
        assert!(a.requests.contains(&Request::SetService(Service::new(
            k("192.0.2.100:80"),
            "rr"
        ))));
        assert_eq!(a.requests.len(), 5, "{shown:?}");
        // Applying leaves the foreign service as it was.
        let mut t = kernel.clone();
        for r in &a.requests {
            t.apply(r).unwrap();
        }
        assert_eq!(
            t.services[&k("192.0.2.200:80")],
            kernel.services[&k("192.0.2.200:80")]
        );
        assert_eq!(
            t.services[&k("192.0.2.100:80")],
            want.services[&k("192.0.2.100:80")]
        );
        assert!(!t.services.contains_key(&k("192.0.2.150:80")));
    }
}
