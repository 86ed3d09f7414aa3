//! Diff-and-apply: the minimal list of requests that turns the kernel's table
//! into the desired one. Edits use SET in place (no delete + add, which would
//! drop the connections of a destination), and nothing is ever flushed.

use crate::client::VirtualServer;
use crate::msg::Request;
use crate::types::{Dest, Service, ServiceKey};
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::net::SocketAddr;

/// A service and its destinations, configuration only (no counters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub service: Service,
    pub dests: BTreeMap<SocketAddr, Dest>,
}

/// An IPVS table as configuration: what the daemon wants, or what the kernel
/// has (via [`Table::from_dump`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    pub services: BTreeMap<ServiceKey, Entry>,
}

/// Why a request cannot apply to a [`Table`]; mirrors the kernel's errnos.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    #[error("service {0} already exists")]
    ServiceExists(ServiceKey),
    #[error("service {0} does not exist")]
    NoSuchService(ServiceKey),
    #[error("destination {1} already exists in {0}")]
    DestExists(ServiceKey, SocketAddr),
    #[error("destination {1} does not exist in {0}")]
    NoSuchDest(ServiceKey, SocketAddr),
}

impl Table {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces a service, keeping its destinations if it existed.
    pub fn insert_service(&mut self, service: Service) {
        match self.services.get_mut(&service.key) {
            Some(e) => e.service = service,
            None => {
                self.services.insert(
                    service.key,
                    Entry {
                        service,
                        dests: BTreeMap::new(),
                    },
                );
            }
        }
    }

    /// Adds or replaces a destination; false if the service is unknown.
    pub fn insert_dest(&mut self, service: ServiceKey, dest: Dest) -> bool {
        match self.services.get_mut(&service) {
            Some(e) => {
                e.dests.insert(dest.addr, dest);
                true
            }
            None => false,
        }
    }

    pub fn from_dump(dump: &[VirtualServer]) -> Self {
        let mut t = Table::new();
        for vs in dump {
            t.insert_service(vs.entry.service.clone());
            for d in &vs.dests {
                t.insert_dest(vs.entry.service.key, d.dest);
            }
        }
        t
    }

    /// Applies one request with the kernel's semantics (used to test the
    /// diff, and for dry runs).
    pub fn apply(&mut self, req: &Request) -> Result<(), ApplyError> {
        match req {
            Request::NewService(s) => {
                if self.services.contains_key(&s.key) {
                    return Err(ApplyError::ServiceExists(s.key));
                }
                self.insert_service(s.clone());
            }
            Request::SetService(s) => {
                let e = self
                    .services
                    .get_mut(&s.key)
                    .ok_or(ApplyError::NoSuchService(s.key))?;
                e.service = s.clone();
            }
            Request::DelService(k) => {
                self.services
                    .remove(k)
                    .ok_or(ApplyError::NoSuchService(*k))?;
            }
            Request::NewDest { service, dest } => {
                let e = self
                    .services
                    .get_mut(service)
                    .ok_or(ApplyError::NoSuchService(*service))?;
                if e.dests.contains_key(&dest.addr) {
                    return Err(ApplyError::DestExists(*service, dest.addr));
                }
                e.dests.insert(dest.addr, *dest);
            }
            Request::SetDest { service, dest } => {
                let e = self
                    .services
                    .get_mut(service)
                    .ok_or(ApplyError::NoSuchService(*service))?;
                let d = e
                    .dests
                    .get_mut(&dest.addr)
                    .ok_or(ApplyError::NoSuchDest(*service, dest.addr))?;
                *d = *dest;
            }
            Request::DelDest { service, addr } => {
                let e = self
                    .services
                    .get_mut(service)
                    .ok_or(ApplyError::NoSuchService(*service))?;
                e.dests
                    .remove(addr)
                    .ok_or(ApplyError::NoSuchDest(*service, *addr))?;
            }
            Request::Flush => self.services.clear(),
            Request::Zero(Some(k)) => {
                if !self.services.contains_key(k) {
                    return Err(ApplyError::NoSuchService(*k));
                }
            }
            Request::Zero(None)
            | Request::SetTimeouts(_)
            | Request::NewDaemon(_)
            | Request::DelDaemon(_) => {}
        }
        Ok(())
    }
}

/// The minimal requests turning `current` into `desired`, in an order the
/// kernel accepts: removals first (destinations, then services), then service
/// additions and edits, then destination edits and additions.
///
/// Both tables are walked once, side by side in key order (a merge, no
/// lookups): a no-op diff of a large table is what a daemon pays on every
/// event, so it must stay a linear scan.
pub fn diff(current: &Table, desired: &Table) -> Vec<Request> {
    let mut out = Changes::default();
    let mut cur = current.services.iter().peekable();
    let mut want = desired.services.iter().peekable();
    loop {
        let order = match (cur.peek(), want.peek()) {
            (None, None) => break,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            // Equality first: in a no-op every key matches, and `==` is
            // cheaper than `cmp`.
            (Some((c, _)), Some((w, _))) if c == w => Ordering::Equal,
            (Some((c, _)), Some((w, _))) => c.cmp(w),
        };
        match order {
            Ordering::Less => {
                if let Some((key, _)) = cur.next() {
                    out.del_services.push(Request::DelService(*key));
                }
            }
            Ordering::Greater => {
                if let Some((key, w)) = want.next() {
                    out.services.push(Request::NewService(w.service.clone()));
                    out.dests.extend(w.dests.values().map(|d| Request::NewDest {
                        service: *key,
                        dest: *d,
                    }));
                }
            }
            Ordering::Equal => {
                if let (Some((key, c)), Some((_, w))) = (cur.next(), want.next()) {
                    if same_entry(c, w) {
                        continue;
                    }
                    if c.service != w.service {
                        out.services.push(Request::SetService(w.service.clone()));
                    }
                    out.dests_of(*key, &c.dests, &w.dests);
                }
            }
        }
    }
    out.into_requests()
}

/// Whether a service and its destinations are unchanged: the common case,
/// checked without the merge of [`Changes::dests_of`]. Destinations are
/// compared by value alone, since a destination's key is its address.
fn same_entry(a: &Entry, b: &Entry) -> bool {
    a.dests.len() == b.dests.len()
        && a.dests.values().zip(b.dests.values()).all(|(x, y)| x == y)
        && a.service == b.service
}

/// The four groups of [`diff`]'s output, each in key order.
#[derive(Default)]
struct Changes {
    del_dests: Vec<Request>,
    del_services: Vec<Request>,
    services: Vec<Request>,
    dests: Vec<Request>,
}

impl Changes {
    /// The destination changes of a service in both tables (a merge again).
    fn dests_of(
        &mut self,
        service: ServiceKey,
        cur: &BTreeMap<SocketAddr, Dest>,
        want: &BTreeMap<SocketAddr, Dest>,
    ) {
        let mut cur = cur.iter().peekable();
        let mut want = want.iter().peekable();
        loop {
            let order = match (cur.peek(), want.peek()) {
                (None, None) => break,
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (Some((c, _)), Some((w, _))) => c.cmp(w),
            };
            match order {
                Ordering::Less => {
                    if let Some((addr, _)) = cur.next() {
                        self.del_dests.push(Request::DelDest {
                            service,
                            addr: *addr,
                        });
                    }
                }
                Ordering::Greater => {
                    if let Some((_, d)) = want.next() {
                        self.dests.push(Request::NewDest { service, dest: *d });
                    }
                }
                Ordering::Equal => {
                    if let (Some((_, old)), Some((_, d))) = (cur.next(), want.next()) {
                        if old != d {
                            self.dests.push(Request::SetDest { service, dest: *d });
                        }
                    }
                }
            }
        }
    }

    fn into_requests(self) -> Vec<Request> {
        let mut out = self.del_dests;
        out.extend(self.del_services);
        out.extend(self.services);
        out.extend(self.dests);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::*;
    use proptest::prelude::*;

    fn key(i: u8) -> ServiceKey {
        match i % 4 {
            0 => ServiceKey::tcp(format!("192.0.2.{}:80", i).parse().unwrap()),
            1 => ServiceKey::udp(format!("[2001:db8::{}]:53", i).parse().unwrap()),
            2 => ServiceKey::Fwmark {
                family: Family::V4,
                mark: u32::from(i) + 1,
            },
            _ => ServiceKey::Inet {
                protocol: Protocol::Sctp,
                addr: format!("198.51.100.{}:9", i).parse().unwrap(),
            },
        }
    }

    fn arb_service(k: ServiceKey) -> impl Strategy<Value = Service> {
        (
            prop::sample::select(vec!["rr", "wlc", "sh"]),
            any::<bool>(),
            0u32..3,
        )
            .prop_map(move |(sched, persistent, timeout)| {
                let mut s = Service::new(k, sched);
                if persistent {
                    s.persistence = Some(Persistence {
                        timeout: timeout * 100 + 1,
                        netmask: Netmask::host(k.family()),
                    });
                }
                s
            })
    }

    fn arb_dest(fam: Family) -> impl Strategy<Value = Dest> {
        (0u8..5, 0u32..3, 0u8..3).prop_map(move |(a, w, f)| {
            let addr: SocketAddr = match fam {
                Family::V4 => format!("198.51.100.{}:80", a).parse().unwrap(),
                Family::V6 => format!("[2001:db8:1::{}]:80", a).parse().unwrap(),
            };
            let forward = match f {
                0 => Forward::Masq,
                1 => Forward::Route,
                _ => Forward::Tunnel(Tunnel::Ipip),
            };
            Dest::new(addr, forward, w)
        })
    }

    fn arb_table() -> impl Strategy<Value = Table> {
        prop::collection::vec(
            (0u8..8).prop_flat_map(|i| {
                let k = key(i);
                (
                    arb_service(k),
                    prop::collection::vec(arb_dest(k.family()), 0..4),
                )
            }),
            0..6,
        )
        .prop_map(|entries| {
            let mut t = Table::new();
            for (s, ds) in entries {
                let k = s.key;
                t.insert_service(s);
                for d in ds {
                    t.insert_dest(k, d);
                }
            }
            t
        })
    }

    /// The number of entries that differ: the lower bound for any diff.
    fn distance(a: &Table, b: &Table) -> usize {
        let mut n = 0;
        for (k, ea) in &a.services {
            match b.services.get(k) {
                None => n += 1,
                Some(eb) => {
                    n += usize::from(ea.service != eb.service);
                    n += ea
                        .dests
                        .keys()
                        .filter(|d| !eb.dests.contains_key(d))
                        .count();
                    n += eb
                        .dests
                        .iter()
                        .filter(|(d, v)| ea.dests.get(d) != Some(v))
                        .count();
                }
            }
        }
        for (k, eb) in &b.services {
            if !a.services.contains_key(k) {
                n += 1 + eb.dests.len();
            }
        }
        n
    }

    /// The diff as first written, with a lookup per key: the merge must
    /// produce exactly its requests, in its order.
    fn diff_by_lookup(current: &Table, desired: &Table) -> Vec<Request> {
        let mut c = Changes::default();
        for (key, cur) in &current.services {
            match desired.services.get(key) {
                None => c.del_services.push(Request::DelService(*key)),
                Some(want) => {
                    for addr in cur.dests.keys().filter(|a| !want.dests.contains_key(a)) {
                        c.del_dests.push(Request::DelDest {
                            service: *key,
                            addr: *addr,
                        });
                    }
                }
            }
        }
        for (key, want) in &desired.services {
            let cur = current.services.get(key);
            match cur {
                None => c.services.push(Request::NewService(want.service.clone())),
                Some(cur) if cur.service != want.service => {
                    c.services.push(Request::SetService(want.service.clone()))
                }
                Some(_) => {}
            }
            for (addr, d) in &want.dests {
                match cur.and_then(|c| c.dests.get(addr)) {
                    None => c.dests.push(Request::NewDest {
                        service: *key,
                        dest: *d,
                    }),
                    Some(old) if old != d => c.dests.push(Request::SetDest {
                        service: *key,
                        dest: *d,
                    }),
                    Some(_) => {}
                }
            }
        }
        c.into_requests()
    }

    proptest! {
        #[test]
        fn the_merge_matches_the_lookup_diff(cur in arb_table(), want in arb_table()) {
            prop_assert_eq!(diff(&cur, &want), diff_by_lookup(&cur, &want));
        }

        #[test]
        fn applying_the_diff_yields_the_desired_table(cur in arb_table(), want in arb_table()) {
            let changes = diff(&cur, &want);
            let mut t = cur.clone();
            for c in &changes {
                prop_assert!(t.apply(c).is_ok(), "{c} failed on {t:?}");
            }
            prop_assert_eq!(&t, &want);
            prop_assert!(!changes.iter().any(|c| matches!(c, Request::Flush)));
            prop_assert_eq!(changes.len(), distance(&cur, &want));
        }

        #[test]
        fn no_op_diff_is_empty(t in arb_table()) {
            prop_assert!(diff(&t, &t).is_empty());
        }
    }

    #[test]
    fn weight_change_is_an_edit_in_place() {
        let k = key(0);
        let mut a = Table::new();
        a.insert_service(Service::new(k, "wrr"));
        let d = Dest::new("198.51.100.1:80".parse().unwrap(), Forward::Masq, 1);
        a.insert_dest(k, d);
        let mut b = a.clone();
        b.insert_dest(k, Dest { weight: 5, ..d });
        assert_eq!(
            diff(&a, &b),
            vec![Request::SetDest {
                service: k,
                dest: Dest { weight: 5, ..d }
            }]
        );
        let mut c = a.clone();
        c.insert_service(Service::new(k, "rr"));
        assert_eq!(
            diff(&a, &c),
            vec![Request::SetService(Service::new(k, "rr"))]
        );
    }

    #[test]
    fn removal_of_a_service_does_not_delete_its_dests_one_by_one() {
        let k = key(0);
        let mut a = Table::new();
        a.insert_service(Service::new(k, "rr"));
        for i in 1..4 {
            a.insert_dest(
                k,
                Dest::new(
                    format!("198.51.100.{i}:80").parse().unwrap(),
                    Forward::Route,
                    1,
                ),
            );
        }
        assert_eq!(diff(&a, &Table::new()), vec![Request::DelService(k)]);
    }
}
