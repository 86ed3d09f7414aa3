//! Real netlink I/O that runs anywhere: resolving the IPVS family either
//! works (IPVS kernel) or fails with the actionable FamilyNotFound.

use ipvs_sys::{Client, Error};
use std::time::Duration;

#[test]
fn connect_resolves_the_family_or_says_how_to_get_it() {
    let ipvs = std::path::Path::new("/proc/net/ip_vs").exists();
    match Client::with_timeout(Duration::from_secs(2)) {
        Ok(mut c) => {
            assert!(ipvs, "IPVS family resolved without /proc/net/ip_vs");
            let info = c.info().unwrap();
            assert!(info.conn_tab_size > 0);
        }
        Err(e @ Error::FamilyNotFound) => {
            assert!(!ipvs);
            assert!(e.to_string().contains("modprobe ip_vs"), "{e}");
        }
        Err(e) => panic!("unexpected: {e}"),
    }
}
