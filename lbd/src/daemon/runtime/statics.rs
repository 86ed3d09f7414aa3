//! `static_ipaddress`: addresses that belong to the node, not to a VRRP instance. As keepalived
//! 2.2.7 (measured in a namespace): added at start whatever the VRRP state, a reload adds the
//! new ones and removes the dropped ones, and a stop removes them all, even one that was on
//! the interface before the daemon started and even under `--dont-release-vrrp`.

use super::*;
use crate::daemon::plan::StaticAddress;

impl Runtime {
    /// Brings the installed static addresses in line with the configuration: dropped or
    /// changed entries are removed first, then missing ones added. An address removed by
    /// someone else is not put back (keepalived does not watch them either).
    pub(super) fn sync_statics(&mut self) {
        let (wanted, failed) = plan::static_addresses(&self.config, &KernelView { addrs: &[] });
        for (addr, err) in failed {
            if !self.statics_failed.contains(&addr) {
                tracing::warn!("static address {addr} not added: {err}");
                self.statics_failed.push(addr);
            }
        }
        for old in std::mem::take(&mut self.statics) {
            if wanted.contains(&old) {
                self.statics.push(old);
            } else {
                self.del_static(&old);
            }
        }
        for s in wanted {
            if self.statics.contains(&s) {
                continue;
            }
            match self.route.add_address(&s.spec) {
                Ok(()) | Err(sys::AddrError::AlreadyExists) => {
                    tracing::info!("static address {} set on {}", s.spec.addr, s.dev);
                    self.statics_failed.retain(|a| *a != s.spec.addr);
                    self.statics.push(s);
                }
                Err(e) => {
                    if !self.statics_failed.contains(&s.spec.addr) {
                        tracing::error!(
                            "cannot add static address {} on {}: {e}",
                            s.spec.addr,
                            s.dev
                        );
                        self.statics_failed.push(s.spec.addr);
                    }
                }
            }
        }
    }

    /// At stop: every static address goes.
    pub(super) fn remove_statics(&mut self) {
        for s in std::mem::take(&mut self.statics) {
            self.del_static(&s);
        }
    }

    fn del_static(&mut self, s: &StaticAddress) {
        match self.route.del_address(&s.spec) {
            Ok(()) | Err(sys::AddrError::NotPresent) => {
                tracing::info!("static address {} removed from {}", s.spec.addr, s.dev)
            }
            Err(e) => tracing::error!(
                "cannot remove static address {} from {}: {e}",
                s.spec.addr,
                s.dev
            ),
        }
    }
}
