//! Operating the daemon: what an operator (or systemd, or Prometheus) asks of it.
//!
//! * [`status`]: the status document (instances, priorities and why, transitions);
//! * [`metrics`], [`exposition`], [`http`]: `--metrics ADDR`, Prometheus text over HTTP;
//! * [`control`]: the root-only status socket and the `lbd status` client ([`status_cmd`]);
//! * [`sdnotify`], [`journal`]: `Type=notify` readiness and watchdog, journald-friendly logs;
//! * [`history`]: per-instance transition history;
//! * [`server`]: the non-blocking one-request server both listeners share.
//!
//! Everything runs inside the daemon's single mio loop: [`Ops`] owns the listeners and the
//! notifier, the runtime hands it readiness events and timer expiries, and answers each
//! complete request with a [`Status`] built from the engines at that moment. The loop never
//! blocks on a client.

pub mod control;
pub mod exposition;
pub mod history;
pub mod http;
pub mod journal;
pub mod metrics;
pub mod sdnotify;
pub mod server;
pub mod status;
pub mod status_cmd;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use mio::{Registry, Token};
use vrrp_core::wire::Family;
use vrrp_core::{TrackerId, TrackerState};

use crate::daemon::drops::DropLog;
use crate::daemon::dump::InstanceView;
use control::{ControlRequest, SocketFile};
use http::MetricsRequest;
pub use metrics::{CheckObservation, IpvsApply, Metrics};
use server::Server;
pub use status::Status;

/// Tokens the runtime leaves to us: 2..16 (it uses 0, 1 and 16 upwards).
const METRICS_LISTENER: Token = Token(2);
const CONTROL_LISTENER: Token = Token(3);
const METRICS_CONNS: usize = 4;
const METRICS_SLOTS: usize = 6;
const CONTROL_CONNS: usize = METRICS_CONNS + METRICS_SLOTS;
const CONTROL_SLOTS: usize = 6;
/// First token past ours.
pub const TOKEN_END: usize = CONTROL_CONNS + CONTROL_SLOTS;

/// Whether the runtime should hand `token`'s events to [`Ops::on_ready`].
pub fn owns(token: Token) -> bool {
    (METRICS_LISTENER.0..TOKEN_END).contains(&token.0)
}

/// What the command line asks for.
#[derive(Debug, Clone)]
pub struct OpsOptions {
    /// `--metrics ADDR:PORT`.
    pub metrics: Option<SocketAddr>,
    /// `--status-socket PATH`.
    pub status_socket: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    #[error("cannot listen for metrics on {addr}: {source}")]
    Metrics {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// A request waiting for the runtime's [`Status`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Query {
    Metrics(MetricsRequest),
    Status,
}

/// What the runtime lends to build a [`Status`].
pub struct StatusInputs<'a> {
    pub views: Vec<InstanceView<'a>>,
    /// Name of a tracked object (`script chk_x`).
    pub tracker_name: &'a dyn Fn(TrackerId) -> Option<String>,
    /// Instances that could not start, with why.
    pub not_running: Vec<(String, String)>,
    pub drops: &'a DropLog,
    pub reloads: u64,
    pub config_path: &'a Path,
    /// The virtual-server side's report; `None` while it does not run in this loop (the
    /// status then says so instead of showing anything made up).
    pub virtual_servers: Option<Vec<status::VirtualServerStatus>>,
}

pub struct Ops {
    metrics_server: Option<Server<mio::net::TcpListener, MetricsRequest>>,
    control: Option<(Server<mio::net::UnixListener, ControlRequest>, SocketFile)>,
    notifier: Option<sdnotify::Notifier>,
    started: SystemTime,
    /// Transition counts and last transitions, fed by the runtime.
    pub history: history::History,
    /// Hooks for the checker and virtual-server sides.
    pub metrics: Metrics,
}

impl std::fmt::Debug for Ops {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ops")
            .field("metrics", &self.metrics_server.is_some())
            .field("control", &self.control.as_ref().map(|c| &c.1))
            .field("notifier", &self.notifier)
            .finish()
    }
}

impl Ops {
    /// Nothing open: what the runtime holds until [`open`](Self::open) (and in tests that
    /// embed it).
    pub fn disabled() -> Self {
        Self {
            metrics_server: None,
            control: None,
            notifier: None,
            started: SystemTime::now(),
            history: history::History::default(),
            metrics: Metrics::default(),
        }
    }

    /// Opens what `opts` asks for. The metrics listener was asked for explicitly: failing to
    /// bind it is an error. The status socket is best effort (another daemon may own the
    /// default path): logged, and the daemon runs without it.
    pub fn open(opts: &OpsOptions, registry: &Registry, now: Instant) -> Result<Self, OpsError> {
        let mut ops = Self::disabled();
        if let Some(addr) = opts.metrics {
            let listener = mio::net::TcpListener::bind(addr)
                .and_then(|l| {
                    Server::new(
                        registry,
                        l,
                        METRICS_LISTENER,
                        METRICS_CONNS,
                        METRICS_SLOTS,
                        http::protocol(),
                        |_| true,
                    )
                })
                .map_err(|source| OpsError::Metrics { addr, source })?;
            tracing::info!("Serving metrics on http://{addr}/metrics");
            ops.metrics_server = Some(listener);
        }
        match control::bind(&opts.status_socket).and_then(|(l, file)| {
            Server::new(
                registry,
                l,
                CONTROL_LISTENER,
                CONTROL_CONNS,
                CONTROL_SLOTS,
                control::protocol(),
                control::admit,
            )
            .map(|s| (s, file))
            .map_err(|source| control::ControlError::Io {
                path: opts.status_socket.clone(),
                source,
            })
        }) {
            Ok(c) => {
                tracing::info!("Status socket {}", opts.status_socket.display());
                ops.control = Some(c);
            }
            Err(e) => tracing::error!("status socket: {e}; `lbd status` will not reach us"),
        }
        ops.notifier = sdnotify::Notifier::from_env(now);
        Ok(ops)
    }

    /// The first configuration is applied.
    pub fn ready(&self, instances: usize) {
        if let Some(n) = &self.notifier {
            n.ready(&format!("running {instances} VRRP instance(s)"));
        }
    }

    /// A reload (SIGHUP) starts; [`ready`](Self::ready) again when it is done.
    pub fn reloading(&self) {
        if let Some(n) = &self.notifier {
            n.reloading();
        }
    }

    pub fn stopping(&self) {
        if let Some(n) = &self.notifier {
            n.stopping();
        }
    }

    /// The earliest moment [`on_timer`](Self::on_timer) has work.
    pub fn next_deadline(&self) -> Option<Instant> {
        [
            self.notifier.as_ref().and_then(|n| n.next_deadline()),
            self.metrics_server.as_ref().and_then(|s| s.next_deadline()),
            self.control.as_ref().and_then(|c| c.0.next_deadline()),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Watchdog pings and connection deadlines.
    pub fn on_timer(&mut self, registry: &Registry, now: Instant) {
        if let Some(n) = self.notifier.as_mut() {
            n.on_timer(now);
        }
        if let Some(s) = self.metrics_server.as_mut() {
            s.expire(registry, now);
        }
        if let Some(c) = self.control.as_mut() {
            c.0.expire(registry, now);
        }
    }

    /// A readiness event for one of our tokens; a complete request is returned for the
    /// runtime to answer with [`answer`](Self::answer).
    pub fn on_ready(&mut self, registry: &Registry, token: Token, now: Instant) -> Option<Query> {
        if let Some(s) = self.metrics_server.as_mut().filter(|s| s.owns(token)) {
            return s.on_ready(registry, token, now).map(Query::Metrics);
        }
        if let Some(c) = self.control.as_mut().filter(|c| c.0.owns(token)) {
            return c.0.on_ready(registry, token, now).map(|r| match r {
                ControlRequest::Status => Query::Status,
            });
        }
        None
    }

    /// Answers `query` on `token` from `status`.
    pub fn answer(&mut self, registry: &Registry, token: Token, query: Query, status: &Status) {
        match query {
            Query::Metrics(req) => {
                let Some(s) = self.metrics_server.as_mut() else {
                    return;
                };
                let buf = String::from_utf8(s.take_spare_body()).unwrap_or_default();
                let body = self.metrics.render_into(status, buf).into_bytes();
                let (head, body) = http::ok(exposition::CONTENT_TYPE, body, req.head);
                s.respond_parts(registry, token, head, body);
            }
            Query::Status => {
                let bytes = match serde_json::to_vec(status) {
                    Ok(mut b) => {
                        b.push(b'\n');
                        b
                    }
                    Err(e) => format!("error: {e}\n").into_bytes(),
                };
                if let Some(c) = self.control.as_mut() {
                    c.0.respond(registry, token, bytes);
                }
            }
        }
    }

    /// The status document from what the runtime lends.
    pub fn status(&self, inputs: StatusInputs<'_>) -> Status {
        let instances = inputs
            .views
            .iter()
            .map(|v| self.instance_status(v, inputs.tracker_name))
            .collect();
        Status {
            format: status::FORMAT_VERSION,
            version: env!("CARGO_PKG_VERSION").to_owned(),
            pid: std::process::id(),
            config_file: inputs.config_path.display().to_string(),
            started_at_ms: status::unix_ms(self.started),
            reloads: inputs.reloads,
            instances,
            not_running: inputs
                .not_running
                .into_iter()
                .map(|(name, reason)| status::NotRunning { name, reason })
                .collect(),
            dropped: inputs
                .drops
                .counts()
                .iter()
                .map(|(k, v)| ((*k).to_owned(), *v))
                .collect(),
            virtual_servers: inputs.virtual_servers,
        }
    }

    fn instance_status(
        &self,
        v: &InstanceView<'_>,
        tracker_name: &dyn Fn(TrackerId) -> Option<String>,
    ) -> status::InstanceStatus {
        let cfg = v.router.config();
        let stats = v.router.stats();
        let state = v.router.state();
        let priority_terms = v
            .plan
            .bindings
            .iter()
            .map(|b| {
                // The engine holds the state it was told, which `reverse` already flipped.
                let engine = v.router.tracker(b.id).unwrap_or(TrackerState::Up);
                let object = match (engine, b.reverse) {
                    (s, false) => s,
                    (TrackerState::Up, true) => TrackerState::Down,
                    (TrackerState::Down, true) => TrackerState::Up,
                };
                let contribution = match (b.weight, engine) {
                    (w, TrackerState::Up) if w > 0 => i32::from(w),
                    (w, TrackerState::Down) if w < 0 => i32::from(w),
                    _ => 0,
                };
                status::PriorityTerm {
                    tracker: tracker_name(b.id).unwrap_or_else(|| format!("tracker {}", b.id)),
                    weight: b.configured_weight(),
                    reverse: b.reverse,
                    state: match object {
                        TrackerState::Up => "up",
                        TrackerState::Down => "down",
                    }
                    .to_owned(),
                    contribution,
                    faulting: b.weight == 0 && engine == TrackerState::Down,
                }
            })
            .collect();
        let master = match state {
            vrrp_core::State::Master => Some(status::MasterInfo {
                address: cfg.primary().to_string(),
                priority: v.router.priority(),
                is_self: true,
            }),
            vrrp_core::State::Backup => v.router.master().map(|m| status::MasterInfo {
                address: m.addr.to_string(),
                priority: m.priority,
                is_self: false,
            }),
            _ => None,
        };
        let name = v.plan.name.as_str();
        status::InstanceStatus {
            name: name.to_owned(),
            state: state.to_string(),
            interface: v.plan.ifname.clone(),
            family: match v.plan.family {
                Family::V4 => "inet",
                Family::V6 => "inet6",
            }
            .to_owned(),
            vrid: cfg.vrid(),
            version: cfg.version().number(),
            sync_group: v.plan.group.clone(),
            base_priority: cfg.priority(),
            effective_priority: v.router.priority(),
            priority_terms,
            master,
            last_transition: self.history.last(name).cloned(),
            dropped_by_reason: self.history.drops(name),
            transitions: self.history.transitions(name),
            vips: v
                .plan
                .vips
                .iter()
                .map(|s| format!("{}/{}", s.addr, s.prefix_len))
                .collect(),
            vips_installed: v.vips_installed,
            counters: status::Counters {
                adverts_sent: stats.adverts_tx,
                adverts_received: stats.adverts_rx,
                priority_zero_sent: stats.priority_zero_tx,
                priority_zero_received: stats.priority_zero_rx,
                dropped: stats.dropped,
                ignored: stats.ignored,
                became_master: stats.became_master,
                released_master: stats.released_master,
                ip_malformed: v.ip_malformed,
            },
        }
    }
}
