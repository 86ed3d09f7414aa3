//! The virtual servers on the loop: their tokens, their deadline, reload and stop. Their
//! notify and quorum scripts go through the loop's script runner like VRRP's.

use super::reconcile::Reloaded;
use super::*;
use crate::daemon::virtual_servers::{VirtualServers, VsError};

/// First token of the health checkers: far above the scripts', which count up from
/// [`SCRIPT_BASE`] one per run. The token just below is FILE_CHECK's inotify watch.
const HEALTH_BASE: usize = usize::MAX / 2;

/// Which sides run (keepalived's `-P`/`-C`) and the virtual servers when they do.
#[derive(Debug)]
pub(super) struct Sides {
    running: Option<VirtualServers>,
    /// Virtual servers wanted (not `-P`): a reload to a configuration with some starts them.
    vs_enabled: bool,
    /// VRRP wanted (not `-C`).
    vrrp_enabled: bool,
    remove_on_stop: bool,
}

impl Default for Sides {
    /// VRRP only, until [`Runtime::open_virtual_servers`].
    fn default() -> Self {
        Sides {
            running: None,
            vs_enabled: false,
            vrrp_enabled: true,
            remove_on_stop: false,
        }
    }
}

impl Sides {
    pub(super) fn vrrp_enabled(&self) -> bool {
        self.vrrp_enabled
    }
}

impl Runtime {
    /// `-C`: health checks and IPVS only, no VRRP instance (nor static address) is run.
    pub fn disable_vrrp(&mut self) {
        self.vs.vrrp_enabled = false;
    }

    /// Starts the virtual servers of the configuration, if it has any: adopts and programs
    /// IPVS and starts the checkers. With `remove_on_stop`, a stop removes the services.
    pub fn open_virtual_servers(&mut self, remove_on_stop: bool) -> Result<(), VsError> {
        self.vs.vs_enabled = true;
        self.vs.remove_on_stop = remove_on_stop;
        let mut scripts = Vec::new();
        self.vs.running = VirtualServers::open(
            &self.config,
            self.poll.registry(),
            HEALTH_BASE,
            remove_on_stop,
            Instant::now(),
            &mut scripts,
            &mut self.ops.metrics,
        )?;
        self.run_vs_scripts(scripts);
        release_free_memory();
        Ok(())
    }

    /// The virtual servers for `lbd status`; `None` when they do not run here.
    pub(super) fn vs_status(&self) -> Option<Vec<crate::ops::status::VirtualServerStatus>> {
        self.vs.running.as_ref().map(VirtualServers::status)
    }

    pub(super) fn vs_owns(&self, token: Token) -> bool {
        self.vs.running.as_ref().is_some_and(|vs| vs.owns(token))
    }

    pub(super) fn on_vs_token(&mut self, token: Token, now: Instant) {
        let mut scripts = Vec::new();
        if let Some(vs) = self.vs.running.as_mut() {
            vs.on_token(token, now, &mut scripts, &mut self.ops.metrics);
        }
        self.run_vs_scripts(scripts);
    }

    /// The health checkers' next deadline.
    pub(super) fn vs_deadline(&mut self) -> Option<Instant> {
        self.vs
            .running
            .as_mut()
            .and_then(VirtualServers::poll_timeout)
    }

    /// Runs the checks due at `now`.
    pub(super) fn vs_timers(&mut self, now: Instant) {
        if self.vs_deadline().is_none_or(|d| d > now) {
            return;
        }
        let mut scripts = Vec::new();
        if let Some(vs) = self.vs.running.as_mut() {
            vs.on_timeout(now, &mut scripts, &mut self.ops.metrics);
        }
        self.run_vs_scripts(scripts);
    }

    /// After the configuration was (re)loaded into `self.config`: carries the virtual servers
    /// over (only those that changed, when that is all the reload changed); starts them if
    /// the previous configuration had none.
    pub(super) fn vs_reload(&mut self, reloaded: &Reloaded, now: Instant) {
        let mut scripts = Vec::new();
        match (self.vs.running.as_mut(), reloaded) {
            (Some(_), Reloaded::Unchanged) => {}
            (Some(vs), Reloaded::VirtualServers(changed)) => {
                if changed.is_empty() {
                    return;
                }
                if let Err(e) = vs.reload_changed(
                    &self.config,
                    changed,
                    now,
                    &mut scripts,
                    &mut self.ops.metrics,
                ) {
                    tracing::error!("{e}; keeping the running virtual servers");
                }
            }
            (Some(vs), Reloaded::Full | Reloaded::Failed) => {
                if let Err(e) = vs.reload(&self.config, now, &mut scripts, &mut self.ops.metrics) {
                    tracing::error!("{e}; keeping the running virtual servers");
                }
            }
            (None, _) if self.vs.vs_enabled => {
                if let Err(e) = self.open_virtual_servers(self.vs.remove_on_stop) {
                    tracing::error!("{e}");
                }
            }
            (None, _) => {}
        }
        self.run_vs_scripts(scripts);
    }

    /// SIGTERM: leaves IPVS as programmed, or removes it (see `open_virtual_servers`).
    pub(super) fn vs_stop(&mut self) {
        let mut scripts = Vec::new();
        if let Some(vs) = self.vs.running.as_mut() {
            vs.stop(&mut scripts, &mut self.ops.metrics);
        }
        self.run_vs_scripts(scripts);
    }

    /// A VRRP instance changed state: the IPVS sync daemon that follows it (global
    /// `lvs_sync_daemon IF INSTANCE`, or the instance's own `lvs_sync_daemon_interface`)
    /// becomes master with it, backup otherwise.
    pub(super) fn vs_follow_vrrp(&mut self, instance: &str, state: State) {
        let Some(vs) = self.vs.running.as_mut() else {
            return;
        };
        let Some(inst) = self.config.instance(instance) else {
            return;
        };
        let role = if state == State::Master {
            ipvs_sys::DaemonRole::Master
        } else {
            ipvs_sys::DaemonRole::Backup
        };
        let global = self
            .config
            .global
            .lvs_sync_daemon
            .as_ref()
            .filter(|s| s.vrrp_instance.as_deref() == Some(instance));
        let daemon = match (global, &inst.lvs_sync_daemon_interface) {
            (Some(s), _) => crate::lvs::desired::sync_daemon(s, role, inst.virtual_router_id),
            (None, Some(ifname)) => {
                ipvs_sys::Daemon::new(role, ifname.clone(), u32::from(inst.virtual_router_id))
            }
            (None, None) => return,
        };
        vs.sync_daemon(&daemon);
    }

    /// Runs the scripts the virtual servers asked for and sends the mails they queued.
    fn run_vs_scripts(&mut self, scripts: Vec<String>) {
        let mails = self
            .vs
            .running
            .as_mut()
            .map(VirtualServers::take_mails)
            .unwrap_or_default();
        for alert in &mails {
            self.smtp_checker_alert(alert);
        }
        for line in scripts {
            self.spawn_script(&line, &[], None, None, Purpose::Notify(line.clone()));
        }
    }
}
