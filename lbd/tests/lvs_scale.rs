//! The benchmark shape (2,500 virtual servers, 40,000 real servers with TCP_CHECK):
//! a reload that edits one weight must be exactly one request, and stay cheap.

use std::fmt::Write as _;
use std::time::Instant;

use ipvs_sys::Request;
use lbd::config;
use lbd::lvs::desired::specs;
use lbd::lvs::reload::reload;
use lbd::lvs::Lvs;

fn big_config(edited_weight: u32) -> String {
    let mut s = String::new();
    for v in 0..2500u32 {
        let vip = format!("10.{}.{}.1", v / 250, v % 250);
        let _ = writeln!(s, "virtual_server {vip} 80 {{\n lb_algo wrr\n lb_kind DR");
        for r in 0..16u32 {
            let weight = if v == 1234 && r == 7 {
                edited_weight
            } else {
                1
            };
            let _ = writeln!(
                s,
                " real_server 127.{}.{}.{} 8080 {{\n  weight {weight}\n  TCP_CHECK {{\n   connect_timeout 3\n  }}\n }}",
                v / 250,
                v % 250,
                r + 1
            );
        }
        s.push_str("}\n");
    }
    s
}

#[test]
fn one_weight_edit_in_a_large_config_is_one_request() {
    let old_cfg = config::load_str("old.conf", &big_config(1)).unwrap().config;
    let new_cfg = config::load_str("new.conf", &big_config(9)).unwrap().config;
    let t0 = Instant::now();
    let mut running = Lvs::new(specs(&old_cfg).unwrap()).unwrap();
    running.start();
    let table = running.table();
    let cold = t0.elapsed();
    assert_eq!(table.services.len(), 2500);
    assert_eq!(running.checkers().count(), 40_000);

    let new_specs = specs(&new_cfg).unwrap();
    let t1 = Instant::now();
    let r = reload(&running, new_specs).unwrap();
    let warm = t1.elapsed();
    assert_eq!(r.update.requests.len(), 1);
    assert!(matches!(r.update.requests[0], Request::SetDest { dest, .. } if dest.weight == 9));
    assert_eq!(r.kept.len(), 40_000);
    assert!(r.started.is_empty() && r.stopped.is_empty());
    eprintln!("state+table from specs: {cold:?}; reload diff: {warm:?} (debug build)");
}
