//! Configuration reload: carry the health state of what did not change, and change in IPVS
//! only what did.
//!
//! Virtual servers are matched by [`super::desired::VsId`] (keepalived's `vs_iseq`), real
//! servers by address and port, checkers by what they check ([`CheckerSpec::same_check`]).
//! A matched checker keeps its state, so a server that was down stays down and one that was
//! up is not re-added; the requests are the diff between the old and the new table, so one
//! weight edit is exactly one `SetDest`.

use std::collections::HashMap;

use ipvs_sys::{diff, Table};

use super::desired::{CheckerSpec, VsId, VsSpec};
use super::names::VsName;
use super::state::{
    announce_checkers, CheckerRef, Lvs, Notice, StateError, Update, VsState, WEIGHT_MAX,
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

fn refs(vs: usize, rs: usize, n: usize) -> impl Iterator<Item = CheckerRef> {
    (0..n).map(move |c| CheckerRef {
        vs: vs as u32,
        rs: rs as u32,
        checker: c as u16,
    })
}

/// Moves from `old` (running) to `new_specs`.
pub fn reload(old: &Lvs, new_specs: Vec<VsSpec>) -> Result<Reload, StateError> {
    let mut new = Lvs::new(new_specs)?;
    let mut notices = Vec::new();
    let mut kept = Vec::new();
    let mut started = Vec::new();
    let mut stopped = Vec::new();

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
                    VsName::Group(g) => {
                        notices.push(Notice::Log(format!("Removing Virtual Server Group [{g}]")))
                    }
                    name => notices.push(Notice::Log(format!("Removing Virtual Server {name}"))),
                }
                let mut gone = ov.clone();
                gone.clear(false, &mut notices);
                for (ri, rs) in ov.spec.real_servers.iter().enumerate() {
                    stopped.extend(refs(oi, ri, rs.checkers.len()));
                }
            }
            Some(&ni) => {
                matched[ni] = true;
                old_of[ni] = Some(oi);
                let nv = &mut new.vs[ni];
                migrate(
                    oi,
                    ov,
                    ni,
                    nv,
                    &mut notices,
                    &mut kept,
                    &mut started,
                    &mut stopped,
                );
            }
        }
    }

    // Then the new ones, in order: fresh ones start, kept ones re-evaluate their quorum.
    for (ni, nv) in new.vs.iter_mut().enumerate() {
        if matched[ni] {
            nv.update_quorum_init(&mut notices);
        } else {
            announce_checkers(&nv.spec, |_| true, &mut notices);
            for (ri, rs) in nv.spec.real_servers.iter().enumerate() {
                started.extend(refs(ni, ri, rs.checkers.len()));
            }
            nv.init(&mut notices);
        }
    }

    // Diff only the virtual servers that differ: with thousands of services, building and
    // comparing whole tables would dominate a reload that edits one weight.
    let mut unchanged_old = vec![false; old.vs.len()];
    let mut before = Table::new();
    let mut after = Table::new();
    for (ni, nv) in new.vs.iter().enumerate() {
        let same = old_of[ni].is_some_and(|oi| {
            let ov = &old.vs[oi];
            let same = ov.spec.services == nv.spec.services && ov.same_dests(nv);
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
    Ok(Reload {
        lvs: new,
        update: Update { notices, requests },
        kept,
        started,
        stopped,
    })
}

#[allow(clippy::too_many_arguments)]
fn migrate(
    oi: usize,
    ov: &VsState,
    ni: usize,
    nv: &mut VsState,
    notices: &mut Vec<Notice>,
    kept: &mut Vec<(CheckerRef, CheckerRef)>,
    started: &mut Vec<CheckerRef>,
    stopped: &mut Vec<CheckerRef>,
) {
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
        // keepalived's migrate_checkers: checkers that have not run yet start failed in alpha
        // mode if the server is already failing (or was never seen up); otherwise they do not
        // pull a live server out.
        let failing = nst.checkers.iter().any(|c| c.has_run && !c.up);
        let none_run = !nst.checkers.iter().any(|c| c.has_run);
        let pessimistic = failing || (!nst.alive && none_run);
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
