//! Configuration reload: carry the health state of what did not change, and change in IPVS
//! only what did.
//!
//! Virtual servers are matched by [`super::desired::VsId`] (keepalived's `vs_iseq`), real
//! servers by address and port, checkers by what they check ([`CheckerSpec::same_check`]).
//! A matched checker keeps its state, so a server that was down stays down and one that was
//! up is not re-added; the requests are the diff between the old and the new table, so one
//! weight edit is exactly one `SetDest`.

use std::collections::{BTreeMap, HashMap};

use ipvs_sys::{diff, Table};

use super::desired::{CheckerSpec, VsId, VsSpec};
use super::names::VsName;
use super::state::{
    announce_checkers, numberable, CheckerRef, Lvs, Notice, StateError, Update, VsState, WEIGHT_MAX,
};

/// The outcome of a reload.
#[derive(Debug, Clone, PartialEq)]
pub struct Reload {
    /// The state under the new configuration.
    pub lvs: Lvs,
    pub update: Update,
    /// Unchanged checkers: keep running them, now reporting under the new id.
    pub kept: Vec<(CheckerRef, CheckerRef)>,
    /// Checkers to start (new, or changed).
    pub started: Vec<CheckerRef>,
    /// Checkers to stop (gone, or changed).
    pub stopped: Vec<CheckerRef>,
}

/// What the carry-over of virtual servers says and does with their checkers, collected in
/// the order a full reload visits them (so a partial one says the same in the same order).
#[derive(Debug, Default)]
struct Handover {
    notices: Vec<Notice>,
    kept: Vec<(CheckerRef, CheckerRef)>,
    started: Vec<CheckerRef>,
    stopped: Vec<CheckerRef>,
}

fn refs(vs: usize, rs: usize, n: usize) -> impl Iterator<Item = CheckerRef> {
    (0..n).map(move |c| CheckerRef {
        vs: vs as u32,
        rs: rs as u32,
        checker: c as u16,
    })
}

/// Whether IPVS must hear of the move from `ov` to `nv` (the same virtual server): only
/// those enter the diff, as with thousands of services building and comparing whole tables
/// would dominate a reload that edits one weight.
fn differs(ov: &VsState, nv: &VsState) -> bool {
    !(ov.spec.services == nv.spec.services && ov.same_dests(nv))
}

/// Moves from `old` (running) to `new_specs`.
pub fn reload(old: &Lvs, new_specs: Vec<VsSpec>) -> Result<Reload, StateError> {
    let mut new = Lvs::new(new_specs)?;
    let mut h = Handover::default();

    let new_index: HashMap<VsId, usize> = new
        .vs
        .iter()
        .enumerate()
        .map(|(i, v)| (v.spec.id.clone(), i))
        .collect();
    let mut matched = vec![false; new.vs.len()];
    let mut old_of: Vec<Option<usize>> = vec![None; new.vs.len()];

    // First the old virtual servers, in order: removed ones go, kept ones hand over state.
    for (oi, ov) in old.vs.iter().enumerate() {
        match new_index.get(&ov.spec.id) {
            None => {
                match &ov.spec.name {
                    VsName::Group(g) => h
                        .notices
                        .push(Notice::Log(format!("Removing Virtual Server Group [{g}]"))),
                    name => h
                        .notices
                        .push(Notice::Log(format!("Removing Virtual Server {name}"))),
                }
                let mut gone = ov.clone();
                gone.clear(false, &mut h.notices);
                for (ri, rs) in ov.spec.real_servers.iter().enumerate() {
                    h.stopped.extend(refs(oi, ri, rs.checkers.len()));
                }
            }
            Some(&ni) => {
                matched[ni] = true;
                old_of[ni] = Some(oi);
                migrate(oi, ov, ni, &mut new.vs[ni], &mut h);
            }
        }
    }

    // Then the new ones, in order: fresh ones start, kept ones re-evaluate their quorum.
    for (ni, nv) in new.vs.iter_mut().enumerate() {
        if matched[ni] {
            nv.update_quorum_init(&mut h.notices);
        } else {
            announce_checkers(&nv.spec, |_| true, &mut h.notices);
            for (ri, rs) in nv.spec.real_servers.iter().enumerate() {
                h.started.extend(refs(ni, ri, rs.checkers.len()));
            }
            nv.init(&mut h.notices);
        }
    }

    let mut unchanged_old = vec![false; old.vs.len()];
    let mut before = Table::new();
    let mut after = Table::new();
    for (ni, nv) in new.vs.iter().enumerate() {
        let same = old_of[ni].is_some_and(|oi| {
            let same = !differs(&old.vs[oi], nv);
            unchanged_old[oi] = same;
            same
        });
        if !same {
            nv.add_to(&mut after);
        }
    }
    for (oi, ov) in old.vs.iter().enumerate() {
        if !unchanged_old[oi] {
            ov.add_to(&mut before);
        }
    }
    let requests = diff(&before, &after);
    new.settle_all();
    Ok(Reload {
        lvs: new,
        update: Update {
            notices: h.notices,
            requests,
        },
        kept: h.kept,
        started: h.started,
        stopped: h.stopped,
    })
}

/// Why [`reload_changed`] cannot stand for a full [`reload`]: the caller does the full one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InPlaceError {
    #[error("virtual server {index} is not in the running configuration ({len} of them)")]
    Index { index: usize, len: usize },
    #[error("virtual server {0} is listed twice")]
    Repeated(usize),
    /// A new [`VsId`] is another virtual server: a full reload matches it elsewhere.
    #[error("virtual server {0} is not the same virtual server any more")]
    Identity(usize),
    /// Its IPVS services differ: only a full reload checks that no other virtual server
    /// defines them, or that none moves between virtual servers.
    #[error("virtual server {0} has other IPVS services")]
    Services(usize),
    /// Another virtual server has its name (a group or fwmark one, under two protocols or
    /// address families): mail settings and metrics are keyed by it, and a full reload may
    /// match the two to each other.
    #[error("virtual server {0} shares its name with another")]
    SharedName(usize),
    #[error(transparent)]
    State(#[from] StateError),
}

/// The outcome of [`reload_changed`]: [`Reload`]'s fields for the virtual servers it
/// visited (every other one keeps its checkers under the same references, untouched).
#[derive(Debug, Clone, PartialEq)]
pub struct PartialReload {
    pub update: Update,
    pub kept: Vec<(CheckerRef, CheckerRef)>,
    pub started: Vec<CheckerRef>,
    pub stopped: Vec<CheckerRef>,
    /// The specs the changed virtual servers had, in index order: what the caller's own
    /// per-virtual-server state (checker contexts, metrics names) was built from.
    pub replaced: Vec<(usize, VsSpec)>,
    /// Every virtual server carried over, in index order: the changed ones and those
    /// [`Lvs`] knew a reload would touch even unchanged (a checker yet to report in alpha
    /// mode), whose checkers are all in [`PartialReload::kept`] under their own reference.
    pub visited: Vec<usize>,
}

/// [`reload`] for the case where only the virtual servers in `changed` (by index) changed,
/// each keeping its index and its [`VsId`]: `old` is updated in place, at a cost that
/// follows the size of those virtual servers, not of the configuration. The notices, IPVS
/// requests and state are those [`reload`] gives for the whole new configuration, and its
/// kept, started and stopped checkers are these plus every checker of the virtual servers
/// not visited, kept under its own reference. On error `old` is untouched.
pub fn reload_changed(
    old: &mut Lvs,
    mut changed: Vec<(usize, VsSpec)>,
) -> Result<PartialReload, InPlaceError> {
    changed.sort_by_key(|(i, _)| *i);
    for w in changed.windows(2) {
        if w[0].0 == w[1].0 {
            return Err(InPlaceError::Repeated(w[0].0));
        }
    }
    for (i, spec) in &changed {
        let ov = old.vs.get(*i).ok_or(InPlaceError::Index {
            index: *i,
            len: old.vs.len(),
        })?;
        if ov.spec.id != spec.id {
            return Err(InPlaceError::Identity(*i));
        }
        if !ov.spec.keys().eq(spec.keys()) {
            return Err(InPlaceError::Services(*i));
        }
        if !numberable(spec) {
            return Err(StateError::TooLarge.into());
        }
        // Addresses name one virtual server (two would define one service twice).
        let shared = !matches!(spec.name, VsName::Inet(_))
            && old
                .vs
                .iter()
                .enumerate()
                .any(|(j, v)| j != *i && v.spec.name == spec.name);
        if shared {
            return Err(InPlaceError::SharedName(*i));
        }
    }

    // The changed virtual servers, and the unchanged ones a full reload would touch anyway.
    let changed_at: Vec<usize> = changed.iter().map(|(i, _)| *i).collect();
    let mut visit: BTreeMap<usize, VsState> = changed
        .into_iter()
        .map(|(i, spec)| (i, VsState::fresh(spec)))
        .collect();
    for &i in &old.unsettled {
        visit
            .entry(i)
            .or_insert_with(|| VsState::fresh(old.vs[i].spec.clone()));
    }

    // The full reload's two passes, over these only.
    let mut h = Handover::default();
    for (&i, nv) in &mut visit {
        migrate(i, &old.vs[i], i, nv, &mut h);
    }
    for nv in visit.values_mut() {
        nv.update_quorum_init(&mut h.notices);
    }
    let mut before = Table::new();
    let mut after = Table::new();
    for (&i, nv) in &visit {
        if differs(&old.vs[i], nv) {
            old.vs[i].add_to(&mut before);
            nv.add_to(&mut after);
        }
    }
    let requests = diff(&before, &after);

    let mut replaced = Vec::with_capacity(changed_at.len());
    let mut visited = Vec::with_capacity(visit.len());
    for (i, nv) in visit {
        let ov = std::mem::replace(&mut old.vs[i], nv);
        if changed_at.binary_search(&i).is_ok() {
            replaced.push((i, ov.spec));
        }
        old.settle(i);
        visited.push(i);
    }
    Ok(PartialReload {
        update: Update {
            notices: h.notices,
            requests,
        },
        kept: h.kept,
        started: h.started,
        stopped: h.stopped,
        replaced,
        visited,
    })
}

/// Hands the state of `ov` (old index `oi`) over to `nv` (new index `ni`), the same virtual
/// server under its new spec: what both reloads do to each virtual server they keep.
fn migrate(oi: usize, ov: &VsState, ni: usize, nv: &mut VsState, h: &mut Handover) {
    let Handover {
        notices,
        kept,
        started,
        stopped,
    } = h;
    nv.quorum_up = ov.quorum_up;

    // The sorry server: same address keeps its state; a different or dropped one goes.
    let same_sorry = match (&ov.spec.sorry, &nv.spec.sorry) {
        (Some(a), Some(b)) => a.dest.addr == b.dest.addr,
        _ => false,
    };
    if same_sorry {
        nv.sorry_alive = ov.sorry_alive;
    } else if let (Some(s), true) = (&ov.spec.sorry, ov.sorry_alive) {
        notices.push(Notice::Log(format!(
            "Removing sorry server {} from VS {}",
            s.name, ov.spec.name
        )));
        if nv.spec.sorry.is_none() {
            notices.push(Notice::Log(format!(
                "Adding alive servers to the pool for VS {}",
                nv.spec.name
            )));
        }
    }

    // Only cloned when a real server is dropped: most reloads drop none.
    let mut old_gone: Option<VsState> = None;
    let mut new_matched = vec![false; nv.rs.len()];
    // Per real server, reused: thousands of servers should not cost allocations each.
    let mut used: Vec<bool> = Vec::new();
    let mut carried: Vec<bool> = Vec::new();
    for (ori, ors) in ov.spec.real_servers.iter().enumerate() {
        // Most servers keep their place in the file.
        let same_place = nv
            .spec
            .real_servers
            .get(ori)
            .is_some_and(|r| r.dest.addr == ors.dest.addr);
        let found = if same_place {
            Some(ori)
        } else {
            nv.spec
                .real_servers
                .iter()
                .position(|r| r.dest.addr == ors.dest.addr)
        };
        let Some(nri) = found else {
            old_gone
                .get_or_insert_with(|| ov.clone())
                .drop_rs(ori, notices);
            stopped.extend(refs(oi, ori, ors.checkers.len()));
            continue;
        };
        new_matched[nri] = true;
        let ost = &ov.rs[ori];
        let nspec = &nv.spec.real_servers[nri];
        // Keep what a dynamic checker added on top of the configured weight.
        let delta = i64::from(ost.weight) - i64::from(ors.dest.weight);
        let weight = (i64::from(nspec.dest.weight) + delta).clamp(0, i64::from(WEIGHT_MAX));
        let new_checks: &[CheckerSpec] = &nspec.checkers;

        let nst = &mut nv.rs[nri];
        nst.alive = ost.alive;
        nst.weight = weight as u32;
        used.clear();
        used.resize(ors.checkers.len(), false);
        carried.clear();
        carried.resize(new_checks.len(), false);
        for (nci, nc) in new_checks.iter().enumerate() {
            let found = ors
                .checkers
                .iter()
                .enumerate()
                .position(|(oci, oc)| !used[oci] && oc.same_check(nc));
            let new_ref = CheckerRef {
                vs: ni as u32,
                rs: nri as u32,
                checker: nci as u16,
            };
            match found {
                Some(oci) => {
                    used[oci] = true;
                    kept.push((
                        CheckerRef {
                            vs: oi as u32,
                            rs: ori as u32,
                            checker: oci as u16,
                        },
                        new_ref,
                    ));
                    if ost.checkers[oci].has_run {
                        nst.checkers[nci] = ost.checkers[oci];
                        carried[nci] = true;
                    }
                }
                None => started.push(new_ref),
            }
        }
        for (oci, u) in used.iter().enumerate() {
            if !*u {
                stopped.push(CheckerRef {
                    vs: oi as u32,
                    rs: ori as u32,
                    checker: oci as u16,
                });
            }
        }
        // Only the carried checkers have run: the others start as keepalived's
        // migrate_checkers has them.
        let pessimistic = nst.pessimistic();
        for (nci, c) in nst.checkers.iter_mut().enumerate() {
            if !carried[nci] {
                c.up = !(pessimistic && new_checks[nci].alpha);
            }
        }
        if nst.failed() == 0 && !nst.alive {
            nv.perform_up(nri, notices);
        } else if nst.failed() > 0 && nst.alive {
            nst.alive = false;
        }
    }

    // Real servers new to this virtual server start as at a cold start, silently.
    for (nri, m) in new_matched.iter().enumerate() {
        if *m {
            continue;
        }
        let n = nv.spec.real_servers[nri].checkers.len();
        announce_checkers(&nv.spec, |(r, _)| r == nri, notices);
        started.extend(refs(ni, nri, n));
        if nv.rs[nri].failed() == 0 {
            nv.rs[nri].alive = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_str;
    use crate::lvs::desired::specs;
    use ipvs_sys::{Request, ServiceKey};

    fn specs_of(text: &str) -> Vec<VsSpec> {
        let cfg = match load_str("t.conf", text) {
            Ok(l) => l.config,
            Err(e) => panic!("{e:?}"),
        };
        specs(&cfg).unwrap()
    }

    const BASE: &str = "virtual_server 192.0.2.100 80 {\n lb_algo wrr\n lb_kind DR\n \
        real_server 192.0.2.10 80 {\n weight 1\n TCP_CHECK {\n connect_timeout 3\n }\n }\n \
        real_server 192.0.2.11 80 {\n weight 1\n TCP_CHECK {\n connect_timeout 3\n }\n }\n}\n\
        virtual_server 192.0.2.101 80 {\n real_server 192.0.2.20 80 {\n }\n}\n";

    fn started(text: &str) -> Lvs {
        let mut l = Lvs::new(specs_of(text)).unwrap();
        l.start();
        l
    }

    #[test]
    fn one_weight_edit_is_one_set_dest() {
        let old = started(BASE);
        let new_text = BASE.replacen(
            "real_server 192.0.2.11 80 {\n weight 1",
            "real_server 192.0.2.11 80 {\n weight 3",
            1,
        );
        let r = reload(&old, specs_of(&new_text)).unwrap();
        assert_eq!(r.update.requests.len(), 1, "{:?}", r.update.requests);
        assert!(
            matches!(r.update.requests[0], Request::SetDest { dest, .. } if dest.weight == 3 && dest.addr.to_string() == "192.0.2.11:80")
        );
        assert_eq!(r.kept.len(), 2);
        assert!(r.started.is_empty() && r.stopped.is_empty());
        assert!(r.update.notices.is_empty(), "{:?}", r.update.notices);
    }

    #[test]
    fn reordered_real_servers_change_nothing() {
        let old = started(BASE);
        let swapped = "virtual_server 192.0.2.100 80 {\n lb_algo wrr\n lb_kind DR\n \
            real_server 192.0.2.11 80 {\n weight 1\n TCP_CHECK {\n connect_timeout 3\n }\n }\n \
            real_server 192.0.2.10 80 {\n weight 1\n TCP_CHECK {\n connect_timeout 3\n }\n }\n}\n\
            virtual_server 192.0.2.101 80 {\n real_server 192.0.2.20 80 {\n }\n}\n";
        let r = reload(&old, specs_of(swapped)).unwrap();
        assert!(r.update.requests.is_empty(), "{:?}", r.update.requests);
        assert_eq!(r.kept.len(), 2);
        assert_eq!(r.lvs.table(), old.table());
        // One weight edit among reordered servers is still one request.
        let edited = swapped.replacen("weight 1", "weight 4", 1);
        let r = reload(&old, specs_of(&edited)).unwrap();
        assert_eq!(r.update.requests.len(), 1, "{:?}", r.update.requests);
    }

    #[test]
    fn health_survives_a_reload_and_changed_checkers_restart() {
        let mut old = started(BASE);
        old.checker(
            CheckerRef {
                vs: 0,
                rs: 0,
                checker: 0,
            },
            false,
        )
        .unwrap();
        // Same file with lines moved around: nothing changes.
        let moved = format!("\n\n{BASE}");
        let r = reload(&old, specs_of(&moved)).unwrap();
        assert!(r.update.requests.is_empty());
        assert_eq!(r.lvs.is_alive(0, 0), Some(false));
        // A changed checker on the failed server: it restarts, and the server (no longer
        // known to be failing) comes back as keepalived does for a non-alpha checker.
        let changed = BASE.replacen("connect_timeout 3", "connect_timeout 4", 1);
        let r = reload(&old, specs_of(&changed)).unwrap();
        assert_eq!(
            r.started,
            vec![CheckerRef {
                vs: 0,
                rs: 0,
                checker: 0
            }]
        );
        assert_eq!(
            r.stopped,
            vec![CheckerRef {
                vs: 0,
                rs: 0,
                checker: 0
            }]
        );
        assert_eq!(r.kept.len(), 1);
        assert_eq!(
            r.update.logs(),
            vec!["Adding service [192.0.2.10]:tcp:80 to VS [192.0.2.100]:tcp:80"]
        );
    }

    #[test]
    fn removed_servers_and_services_go() {
        let old = started(BASE);
        let new_text = "virtual_server 192.0.2.100 80 {\n lb_algo wrr\n lb_kind DR\n \
            real_server 192.0.2.10 80 {\n weight 1\n TCP_CHECK {\n connect_timeout 3\n }\n }\n}\n";
        let r = reload(&old, specs_of(new_text)).unwrap();
        assert_eq!(
            r.update.logs(),
            vec![
                "service [192.0.2.11]:tcp:80 no longer exist",
                "Removing service [192.0.2.11]:tcp:80 from VS [192.0.2.100]:tcp:80",
                "Removing Virtual Server [192.0.2.101]:tcp:80",
                "Removing service [192.0.2.20]:tcp:80 from VS [192.0.2.101]:tcp:80",
            ]
        );
        assert_eq!(r.update.requests.len(), 2);
        assert!(r
            .update
            .requests
            .contains(&Request::DelService(ServiceKey::tcp(
                "192.0.2.101:80".parse().unwrap()
            ))));
        assert_eq!(
            r.stopped,
            vec![CheckerRef {
                vs: 0,
                rs: 1,
                checker: 0
            }]
        );
    }

    #[test]
    fn new_real_server_and_new_service_start_fresh() {
        let old = started(BASE);
        let new_text = format!(
            "{}virtual_server 192.0.2.102 80 {{\n real_server 192.0.2.30 80 {{\n TCP_CHECK {{\n }}\n }}\n}}\n",
            BASE.replacen("real_server 192.0.2.11", "real_server 192.0.2.12 80 {\n TCP_CHECK {\n }\n }\n real_server 192.0.2.11", 1)
        );
        let r = reload(&old, specs_of(&new_text)).unwrap();
        assert_eq!(r.started.len(), 2);
        assert_eq!(r.update.requests.len(), 3, "{:?}", r.update.requests);
        assert!(r.update.logs().contains(
            &"Activating healthchecker for service [192.0.2.30]:tcp:80 for VS [192.0.2.102]:tcp:80"
        ));
    }

    #[test]
    fn a_service_moving_between_virtual_servers_is_reconciled() {
        let old = started(
            "virtual_server_group g {\n 192.0.2.100 80\n}\nvirtual_server group g {\n \
             real_server 192.0.2.10 80 {\n }\n}\n",
        );
        let r = reload(
            &old,
            specs_of("virtual_server 192.0.2.100 80 {\n real_server 192.0.2.11 80 {\n }\n}\n"),
        )
        .unwrap();
        let mut t = old.table();
        for q in &r.update.requests {
            t.apply(q).unwrap();
        }
        assert_eq!(t, r.lvs.table());
        assert_eq!(r.update.requests.len(), 2, "{:?}", r.update.requests);
    }
}

/// [`reload_changed`] against [`reload`]: both run from the same state to the same
/// configuration, and must agree on everything.
#[cfg(test)]
mod in_place_tests {
    use super::*;
    use crate::config::load_str;
    use crate::lvs::desired::specs;

    fn specs_of(text: &str) -> Vec<VsSpec> {
        let cfg = match load_str("t.conf", text) {
            Ok(l) => l.config,
            Err(e) => panic!("{e:?}\n{text}"),
        };
        specs(&cfg).unwrap()
    }

    /// Checkers remember the line they were written on: an edit that adds lines moves those
    /// of the virtual servers below it, which a partial reload does not revisit (nothing
    /// reads those lines after parsing).
    fn without_lines(mut l: Lvs) -> Lvs {
        for v in &mut l.vs {
            for rs in &mut v.spec.real_servers {
                for c in &mut rs.checkers {
                    std::sync::Arc::make_mut(&mut c.config).origin.line = 0;
                }
            }
        }
        l
    }

    /// Both reloads from `old` to `new_text`, in which only the virtual servers at `changed`
    /// differ from `old`'s configuration. Returns the partial one.
    fn both_ways(old: &Lvs, new_text: &str, changed: &[usize]) -> PartialReload {
        let new_specs = specs_of(new_text);
        let full = reload(old, new_specs.clone()).unwrap();
        let mut partial = old.clone();
        let p = reload_changed(
            &mut partial,
            changed.iter().map(|&i| (i, new_specs[i].clone())).collect(),
        )
        .unwrap();
        assert_eq!(p.update, full.update, "{new_text}");
        assert_eq!(p.started, full.started);
        assert_eq!(p.stopped, full.stopped);
        // The full reload keeps every checker of the virtual servers not visited, as is.
        let mut kept = Vec::new();
        for (vi, v) in old.vs.iter().enumerate() {
            if p.visited.contains(&vi) {
                kept.extend(p.kept.iter().filter(|(o, _)| o.vs as usize == vi));
            } else {
                for (ri, rs) in v.spec.real_servers.iter().enumerate() {
                    kept.extend(refs(vi, ri, rs.checkers.len()).map(|r| (r, r)));
                }
            }
        }
        assert_eq!(kept, full.kept);
        assert_eq!(
            without_lines(partial.clone()),
            without_lines(full.lvs.clone())
        );
        assert_eq!(partial.table(), full.lvs.table());
        for (i, spec) in &p.replaced {
            assert!(changed.contains(i));
            assert_eq!(spec, &old.vs[*i].spec);
        }
        p
    }

    const BASE: &str = "\
virtual_server 192.0.2.100 80 {
 lb_algo wrr
 lb_kind DR
 real_server 192.0.2.10 80 {
  weight 1
  TCP_CHECK {
   connect_timeout 3
  }
 }
}
virtual_server 192.0.2.101 80 {
 lb_algo wrr
 lb_kind DR
 quorum 2
 hysteresis 0
 quorum_up /bin/q1up
 quorum_down /bin/q1down
 #SORRY
 #INHIBIT
 real_server 192.0.2.20 80 {
  weight 2
  notify_up /bin/rs20-up
  notify_down /bin/rs20-down
  TCP_CHECK {
   connect_timeout 3
  }
 }
 real_server 192.0.2.21 80 {
  weight 1
  TCP_CHECK {
   connect_timeout 3
  }
  TCP_CHECK {
   connect_port 81
  }
 }
 real_server 192.0.2.22 80 {
  weight 1
  TCP_CHECK {
   connect_timeout 5
  }
 }
}
virtual_server 192.0.2.102 80 {
 alpha
 real_server 192.0.2.30 80 {
  TCP_CHECK {
   connect_timeout 3
  }
  TCP_CHECK {
   connect_port 81
  }
 }
}
virtual_server fwmark 7 {
 real_server 192.0.2.40 80 {
 }
}
";

    const RS22: &str =
        " real_server 192.0.2.22 80 {\n  weight 1\n  TCP_CHECK {\n   connect_timeout 5\n  }\n }\n";
    const RS23: &str =
        " real_server 192.0.2.23 80 {\n  weight 4\n  TCP_CHECK {\n   connect_timeout 3\n  }\n }\n";
    const PORT81: &str = "  TCP_CHECK {\n   connect_port 81\n  }\n }\n real_server 192.0.2.22";

    fn r(vs: u32, rs: u32, checker: u16) -> CheckerRef {
        CheckerRef { vs, rs, checker }
    }

    /// Edits of virtual server 1 alone: (what, the edited text).
    fn edits(base: &str) -> Vec<(&'static str, String)> {
        // An edit whose place the base lacks (its sorry server is there already) is the base.
        let e = |what, from: &str, to: &str| (what, base.replacen(from, to, 1));
        let swapped = base.replacen(RS22, "", 1).replacen(
            " real_server 192.0.2.20",
            &format!("{RS22} real_server 192.0.2.20"),
            1,
        );
        vec![
            e("weight", "weight 2\n  notify_up", "weight 5\n  notify_up"),
            e(
                "weight of a server that may be down",
                "weight 1\n  TCP_CHECK {\n   connect_timeout 5",
                "weight 3\n  TCP_CHECK {\n   connect_timeout 5",
            ),
            e("real server removed", RS22, ""),
            e(
                "real server added",
                " real_server 192.0.2.21",
                &format!("{RS23} real_server 192.0.2.21"),
            ),
            ("real servers moved", swapped),
            e("checker changed", "connect_timeout 5", "connect_timeout 6"),
            e("checker removed", PORT81, " }\n real_server 192.0.2.22"),
            e(
                "checker added",
                "weight 2\n",
                "weight 2\n  TCP_CHECK {\n   connect_port 82\n  }\n",
            ),
            e("quorum raised", "quorum 2\n", "quorum 5\n"),
            e("quorum lowered", "quorum 2\n", "quorum 1\n"),
            e("hysteresis", "hysteresis 0", "hysteresis 1"),
            e("sorry server added", "#SORRY", "sorry_server 192.0.2.99 80"),
            e(
                "inhibited sorry server added",
                "#SORRY",
                "sorry_server 192.0.2.99 80\n sorry_server_inhibit",
            ),
            e("inhibit_on_failure", "#INHIBIT", "inhibit_on_failure"),
            e("alpha", "#INHIBIT", "alpha"),
            e("notify scripts", "/bin/rs20-down", "/bin/rs20-down-now"),
            e(
                "scheduler",
                "lb_algo wrr\n lb_kind DR\n quorum",
                "lb_algo rr\n lb_kind DR\n quorum",
            ),
            e("forwarding", "lb_kind DR\n quorum", "lb_kind NAT\n quorum"),
            e("quorum scripts", "/bin/q1up", "/bin/q1-up"),
        ]
    }

    /// Health histories to reload from: (what, checker results in order).
    fn histories() -> Vec<(&'static str, Vec<(CheckerRef, bool)>)> {
        vec![
            ("just started", vec![]),
            ("one server down", vec![(r(1, 0, 0), false)]),
            (
                "quorum lost",
                vec![
                    (r(1, 0, 0), false),
                    (r(1, 1, 0), false),
                    (r(1, 2, 0), false),
                ],
            ),
            (
                "down and back",
                vec![(r(1, 0, 0), false), (r(1, 1, 1), false), (r(1, 0, 0), true)],
            ),
            (
                "an alpha checker yet to report next door",
                vec![(r(2, 0, 0), true), (r(1, 2, 0), false)],
            ),
            (
                "every alpha checker reported",
                vec![(r(2, 0, 0), true), (r(2, 0, 1), true), (r(1, 1, 1), false)],
            ),
        ]
    }

    /// `text` started, then `history` (results for checkers it lacks left out).
    fn running(text: &str, history: &[(CheckerRef, bool)]) -> Lvs {
        let mut l = Lvs::new(specs_of(text)).unwrap();
        l.start();
        for (c, up) in history {
            let _ = l.checker(*c, *up);
        }
        l
    }

    #[test]
    fn every_edit_of_one_virtual_server_after_every_history_matches_the_full_reload() {
        let with_sorry = BASE.replacen("#SORRY", "sorry_server 192.0.2.98 80", 1);
        let with_inhibited_sorry = BASE.replacen(
            "#SORRY",
            "sorry_server 192.0.2.98 80\n sorry_server_inhibit",
            1,
        );
        let with_inhibit = BASE.replacen("#INHIBIT", "inhibit_on_failure", 1);
        let mut cases = 0;
        for base in [BASE, &with_sorry, &with_inhibited_sorry, &with_inhibit] {
            for (what, text) in edits(base) {
                for (story, history) in histories() {
                    let old = running(base, &history);
                    let p = both_ways(&old, &text, &[1]);
                    assert!(p.visited.contains(&1), "{what} after {story}");
                    // And back (a sorry server or an inhibit dropped, a server back).
                    let edited = running(&text, &history);
                    both_ways(&edited, base, &[1]);
                    cases += 2;
                }
            }
        }
        assert!(cases > 400, "{cases}");
    }

    #[test]
    fn one_weight_edit_visits_one_virtual_server_and_sends_one_request() {
        let old = running(BASE, &[]);
        let text = BASE.replacen("weight 2\n", "weight 7\n", 1);
        let p = both_ways(&old, &text, &[1]);
        assert_eq!(p.visited, vec![1]);
        assert_eq!(p.update.requests.len(), 1, "{:?}", p.update.requests);
        assert!(p.update.notices.is_empty(), "{:?}", p.update.notices);
        assert_eq!(p.kept.len(), 4);
        assert!(p.kept.iter().all(|(o, n)| o == n));
        assert_eq!(p.replaced.len(), 1);
    }

    #[test]
    fn a_down_server_stays_down_through_its_weight_edit() {
        let old = running(BASE, &[(r(1, 2, 0), false)]);
        let text = BASE.replacen(
            "weight 1\n  TCP_CHECK {\n   connect_timeout 5",
            "weight 3\n  TCP_CHECK {\n   connect_timeout 5",
            1,
        );
        let mut partial = old.clone();
        both_ways(&old, &text, &[1]);
        let p = reload_changed(&mut partial, vec![(1, specs_of(&text)[1].clone())]).unwrap();
        assert_eq!(partial.is_alive(1, 2), Some(false));
        assert!(p.update.requests.is_empty(), "{:?}", p.update.requests);
    }

    #[test]
    fn an_alpha_checker_yet_to_report_elsewhere_is_carried_as_the_full_reload_does() {
        // Virtual server 2's second alpha checker has not reported, its first has: a full
        // reload brings the server in (keepalived's migrate_checkers), edit or not.
        let old = running(BASE, &[(r(2, 0, 0), true)]);
        assert!(old.unsettled.contains(&2));
        let text = BASE.replacen("weight 2\n", "weight 7\n", 1);
        let p = both_ways(&old, &text, &[1]);
        assert_eq!(p.visited, vec![1, 2]);
        assert!(p
            .update
            .logs()
            .contains(&"Adding service [192.0.2.30]:tcp:80 to VS [192.0.2.102]:tcp:80"));
        assert_eq!(
            p.replaced.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
            vec![1]
        );
    }

    #[test]
    fn several_virtual_servers_at_once() {
        for (_, history) in histories() {
            let old = running(BASE, &history);
            let text = BASE
                .replacen(
                    "weight 1\n  TCP_CHECK {\n   connect_timeout 3\n  }\n }\n}",
                    "weight 4\n  TCP_CHECK {\n   connect_timeout 3\n  }\n }\n}",
                    1,
                )
                .replacen(RS22, "", 1)
                .replacen(" alpha\n", " alpha\n quorum 2\n", 1);
            both_ways(&old, &text, &[0, 1, 2]);
            both_ways(&old, &text, &[2, 0, 1]);
        }
    }

    #[test]
    fn what_a_partial_reload_cannot_stand_for_is_refused_and_changes_nothing() {
        let old = running(BASE, &[(r(1, 0, 0), false)]);
        let refused = |text: &str, changed: Vec<usize>| {
            let new_specs = specs_of(text);
            let mut l = old.clone();
            let e = reload_changed(
                &mut l,
                changed
                    .iter()
                    .map(|&i| (i, new_specs[i.min(new_specs.len() - 1)].clone()))
                    .collect(),
            )
            .unwrap_err();
            assert_eq!(l, old);
            e
        };
        let moved = BASE.replacen("192.0.2.101 80", "192.0.2.111 80", 1);
        assert_eq!(refused(&moved, vec![1]), InPlaceError::Identity(1));
        assert_eq!(refused(BASE, vec![1, 1]), InPlaceError::Repeated(1));
        assert_eq!(
            refused(BASE, vec![9]),
            InPlaceError::Index { index: 9, len: 4 }
        );
        // A fwmark service's family is its first real server's.
        let v6 = BASE.replacen("192.0.2.40 80", "2001:db8::40 80", 1);
        assert_eq!(refused(&v6, vec![3]), InPlaceError::Services(3));
        // The configuration refuses a name twice, but what it resolves to is keyed by
        // names: a second fwmark 7 (under another protocol) is refused here as well.
        let mut twice = specs_of(BASE);
        let mut udp = twice[3].clone();
        udp.id.protocol = ipvs_sys::Protocol::Udp;
        twice.push(udp);
        let mut two = Lvs::new(twice.clone()).unwrap();
        two.start();
        let e = reload_changed(&mut two, vec![(3, twice[3].clone())]).unwrap_err();
        assert_eq!(e, InPlaceError::SharedName(3));
    }
}
