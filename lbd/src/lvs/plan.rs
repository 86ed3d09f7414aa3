//! `lbd plan -f NEW.conf`: what a reload to a new configuration would change in IPVS,
//! printed and not applied.
//!
//! The preview runs the same machinery as the real thing: the current configuration's state
//! is rebuilt from the kernel's table ([`Lvs::assume_from_kernel`], as no daemon is asked),
//! carried over to the new configuration by [`reload`], and reconciled with the kernel by
//! [`adopt`]. So what it prints is what the reload would send, line for line.

use std::fmt::Write as _;

use ipvs_sys::{Dest, Netmask, Request, Service, ServiceKey, Table};

use super::adopt::adopt;
use super::desired::{specs, DesiredError};
use super::reload::reload;
use super::state::{Lvs, StateError};
use crate::config::Config;

/// Why no plan could be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Desired(#[from] DesiredError),
    #[error(transparent)]
    State(#[from] StateError),
}

/// A previewed reload.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// One line per change: `+` added, `~` changed, `-` removed.
    pub lines: Vec<String>,
    /// The requests the reload would send.
    pub requests: Vec<Request>,
    /// Services in the kernel that neither configuration owns (never touched).
    pub foreign: Vec<ServiceKey>,
}

/// The plan for moving the kernel from `current` (the running configuration; `None` if no
/// daemon runs) to `new`.
pub fn plan(current: Option<&Config>, new: &Config, kernel: &Table) -> Result<Plan, PlanError> {
    let new_specs = specs(new)?;
    let (desired, previously_owned) = match current {
        Some(cur) => {
            let cur_specs = specs(cur)?;
            let owned: Vec<ServiceKey> = cur_specs.iter().flat_map(|s| s.keys()).collect();
            let mut running = Lvs::new(cur_specs)?;
            running.start();
            running.assume_from_kernel(kernel);
            (reload(&running, new_specs)?.lvs.table(), owned)
        }
        None => {
            let mut fresh = Lvs::new(new_specs)?;
            fresh.start();
            fresh.assume_from_kernel(kernel);
            (fresh.table(), Vec::new())
        }
    };
    let a = adopt(kernel, &desired, previously_owned);
    Ok(Plan {
        lines: describe(kernel, &a.requests),
        requests: a.requests,
        foreign: a.foreign,
    })
}

/// `rr persistent 50 mask 255.255.255.0 ops flag-2`, as ipvsadm words the options.
pub fn service_options(s: &Service) -> String {
    let mut out = s.scheduler.clone();
    if let Some(p) = &s.persistence {
        let _ = write!(out, " persistent {}", p.timeout);
        if p.netmask != Netmask::host(s.key.family()) {
            match p.netmask {
                Netmask::V4(m) => {
                    let _ = write!(out, " mask {m}");
                }
                Netmask::V6(l) => {
                    let _ = write!(out, " mask {l}");
                }
            }
        }
    }
    if s.one_packet {
        out.push_str(" ops");
    }
    for (flag, name) in [
        (ipvs_sys::SchedFlags::FLAG1, "flag-1"),
        (ipvs_sys::SchedFlags::FLAG2, "flag-2"),
        (ipvs_sys::SchedFlags::FLAG3, "flag-3"),
    ] {
        if s.sched_flags.contains(flag) {
            let _ = write!(out, " {name}");
        }
    }
    if let Some(pe) = &s.pe_name {
        let _ = write!(out, " pe {pe}");
    }
    out
}

fn dest_line(d: &Dest) -> String {
    format!("{} {} {}", d.addr, d.forward.name(), d.weight)
}

/// What changed in a destination: `weight 1 -> 3`, `Route -> Masq`, ...
fn dest_change(old: &Dest, new: &Dest) -> String {
    let mut parts = Vec::new();
    if old.weight != new.weight {
        parts.push(format!("weight {} -> {}", old.weight, new.weight));
    }
    if old.forward != new.forward {
        parts.push(format!("{:?} -> {:?}", old.forward, new.forward));
    }
    if old.upper_threshold != new.upper_threshold {
        parts.push(format!(
            "uthreshold {} -> {}",
            old.upper_threshold, new.upper_threshold
        ));
    }
    if old.lower_threshold != new.lower_threshold {
        parts.push(format!(
            "lthreshold {} -> {}",
            old.lower_threshold, new.lower_threshold
        ));
    }
    parts.join(", ")
}

/// One line per request, against the table it applies to.
pub fn describe(current: &Table, requests: &[Request]) -> Vec<String> {
    let old_dest = |k: &ServiceKey, a| current.services.get(k).and_then(|e| e.dests.get(a));
    requests
        .iter()
        .map(|r| match r {
            Request::NewService(s) => format!("+ {} {}", s.key, service_options(s)),
            Request::SetService(s) => match current.services.get(&s.key) {
                Some(e) => format!(
                    "~ {} {} -> {}",
                    s.key,
                    service_options(&e.service),
                    service_options(s)
                ),
                None => format!("~ {} {}", s.key, service_options(s)),
            },
            Request::DelService(k) => match current.services.get(k) {
                Some(e) if !e.dests.is_empty() => {
                    format!("- {k} ({} destinations)", e.dests.len())
                }
                _ => format!("- {k}"),
            },
            Request::NewDest { service, dest } => format!("+ {service} -> {}", dest_line(dest)),
            Request::SetDest { service, dest } => match old_dest(service, &dest.addr) {
                Some(old) => format!("~ {service} -> {} {}", dest.addr, dest_change(old, dest)),
                None => format!("~ {service} -> {}", dest_line(dest)),
            },
            Request::DelDest { service, addr } => format!("- {service} -> {addr}"),
            other => format!("* {other}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_str;
    use crate::lvs::desired::healthy_table;

    fn cfg(text: &str) -> Config {
        match load_str("t.conf", text) {
            Ok(l) => l.config,
            Err(e) => panic!("{e:?}"),
        }
    }

    const OLD: &str = "virtual_server 192.0.2.100 80 {\n lb_algo rr\n lb_kind DR\n \
        real_server 192.0.2.10 80 {\n weight 1\n TCP_CHECK {\n }\n }\n \
        real_server 192.0.2.11 80 {\n weight 1\n TCP_CHECK {\n }\n }\n}\n";

    #[test]
    fn first_plan_adds_everything() {
        let p = plan(None, &cfg(OLD), &Table::new()).unwrap();
        assert_eq!(
            p.lines,
            vec![
                "+ TCP 192.0.2.100:80 rr",
                "+ TCP 192.0.2.100:80 -> 192.0.2.10:80 Route 1",
                "+ TCP 192.0.2.100:80 -> 192.0.2.11:80 Route 1",
            ]
        );
    }

    #[test]
    fn weight_edit_scheduler_change_and_removal() {
        let old = cfg(OLD);
        let kernel = healthy_table(&old).unwrap();
        let new = cfg(&OLD
            .replace("lb_algo rr", "lb_algo wrr\n persistence_timeout 50")
            .replacen(
                "real_server 192.0.2.11 80 {\n weight 1",
                "real_server 192.0.2.11 80 {\n weight 3",
                1,
            ));
        let p = plan(Some(&old), &new, &kernel).unwrap();
        assert_eq!(
            p.lines,
            vec![
                "~ TCP 192.0.2.100:80 rr -> wrr persistent 50",
                "~ TCP 192.0.2.100:80 -> 192.0.2.11:80 weight 1 -> 3",
            ]
        );
        let p = plan(Some(&old), &cfg(""), &kernel).unwrap();
        assert_eq!(p.lines, vec!["- TCP 192.0.2.100:80 (2 destinations)"]);
    }

    #[test]
    fn a_server_down_in_the_kernel_stays_down_and_foreign_is_kept() {
        let old = cfg(OLD);
        let mut kernel = healthy_table(&old).unwrap();
        let k = ServiceKey::tcp("192.0.2.100:80".parse().unwrap());
        kernel
            .apply(&Request::DelDest {
                service: k,
                addr: "192.0.2.11:80".parse().unwrap(),
            })
            .unwrap();
        let foreign = ServiceKey::tcp("198.51.100.1:443".parse().unwrap());
        kernel.insert_service(Service::new(foreign, "wlc"));
        let p = plan(Some(&old), &old, &kernel).unwrap();
        assert!(p.lines.is_empty(), "{:?}", p.lines);
        assert_eq!(p.foreign, vec![foreign]);
    }
}
