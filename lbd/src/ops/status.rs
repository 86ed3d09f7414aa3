//! What the daemon reports about itself: one [`Status`] document, built from the running
//! engines when asked, served as JSON on the control socket (`lbd status --json` prints it as
//! is) and rendered as text by `lbd status`. The Prometheus metrics are derived from the same
//! document, so the two never disagree.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// Bumped when a field changes meaning (adding fields does not bump it).
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    pub format: u32,
    pub version: String,
    pub pid: u32,
    pub config_file: String,
    /// Unix time (ms) the daemon started.
    pub started_at_ms: u64,
    pub reloads: u64,
    pub instances: Vec<InstanceStatus>,
    /// Instances in the configuration that are not running, with why.
    pub not_running: Vec<NotRunning>,
    /// Packets dropped on receive, by reason label (vrrp-core's `RxError` labels, plus
    /// `own_advert`, `unknown_vrid`, `truncated`, `io_error`), all instances together.
    pub dropped: BTreeMap<String, u64>,
    /// The virtual-server side. `None`: this process does not manage virtual servers
    /// (VRRP only, or a configuration without any).
    pub virtual_servers: Option<Vec<VirtualServerStatus>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotRunning {
    pub name: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceStatus {
    pub name: String,
    /// keepalived's spelling: INIT, BACKUP, MASTER, FAULT.
    pub state: String,
    pub interface: String,
    /// `inet` or `inet6`.
    pub family: String,
    pub vrid: u8,
    pub version: u8,
    pub sync_group: Option<String>,
    pub base_priority: u8,
    pub effective_priority: u8,
    /// How the effective priority comes from the base: one term per tracked object.
    pub priority_terms: Vec<PriorityTerm>,
    /// The master as this instance sees it (itself when MASTER).
    pub master: Option<MasterInfo>,
    pub last_transition: Option<Transition>,
    /// State transitions since the daemon started (kept across reloads).
    pub transitions: u64,
    pub vips: Vec<String>,
    pub vips_installed: bool,
    pub counters: Counters,
    /// Packets for this instance rejected since the daemon started, by reason (vrrp-core's
    /// drop labels: `auth_mismatch`, `interval_mismatch`, `ttl`, ...).
    pub dropped_by_reason: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriorityTerm {
    /// `interface eth0`, `script chk_haproxy`, `file maint`.
    pub tracker: String,
    /// As configured (before `reverse`).
    pub weight: i16,
    pub reverse: bool,
    /// The tracked object's own state: `up` or `down`.
    pub state: String,
    /// What it adds to the base priority now (0 for weight-0 trackers).
    pub contribution: i32,
    /// A weight-0 tracker that is down: it holds the instance in FAULT.
    pub faulting: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MasterInfo {
    pub address: String,
    /// Unknown for ourselves only if never advertised; a peer's priority as last heard.
    pub priority: u8,
    pub is_self: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    pub from: String,
    pub to: String,
    /// vrrp-core's reason, in keepalived's wording.
    pub reason: String,
    /// Unix time (ms).
    pub at_ms: u64,
}

/// Counters since the instance's engine was (re)started; a reload that changes the instance
/// restarts them, which Prometheus' `rate()` handles as a counter reset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    pub adverts_sent: u64,
    pub adverts_received: u64,
    pub priority_zero_sent: u64,
    pub priority_zero_received: u64,
    pub dropped: u64,
    pub ignored: u64,
    pub became_master: u64,
    pub released_master: u64,
    /// Packets the instance's socket dropped before VRRP parsing (shared by its instances).
    pub ip_malformed: u64,
}

/// One virtual server with its real servers, as the LVS side reports it (built from its
/// health state by `crate::lvs::report`). A VRRP-only daemon has none:
/// [`Status::virtual_servers`] is then `None`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VirtualServerStatus {
    /// `192.0.2.10:80/tcp`, `fwmark 1`.
    pub service: String,
    pub scheduler: String,
    /// Whether the live real servers' weights reach the configured quorum (a sorry server,
    /// if any, serves while they do not).
    pub quorum_up: bool,
    pub real_servers: Vec<RealServerStatus>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RealServerStatus {
    pub address: String,
    pub up: bool,
    pub weight: u32,
    /// The last check result in words (`HTTP 200 in 3 ms`, `connection refused`).
    pub last_check: Option<String>,
}

/// Milliseconds since the Unix epoch (0 for a clock before 1970).
pub fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl Status {
    /// The text `lbd status` prints. `now_ms`: the reader's clock, for "ago".
    pub fn render_text(&self, now_ms: u64) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "lbd {} (pid {}), config {}, up {}, {} reload{}",
            self.version,
            self.pid,
            self.config_file,
            human(now_ms.saturating_sub(self.started_at_ms)),
            self.reloads,
            if self.reloads == 1 { "" } else { "s" }
        );
        let _ = writeln!(s, "\nVRRP instances:");
        if self.instances.is_empty() {
            let _ = writeln!(s, "  (none running)");
        }
        for i in &self.instances {
            render_instance(&mut s, i, now_ms);
        }
        for n in &self.not_running {
            let _ = writeln!(s, "  {:<12} NOT RUNNING: {}", n.name, n.reason);
        }
        if !self.dropped.is_empty() {
            let list: Vec<String> = self
                .dropped
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect();
            let _ = writeln!(s, "\nDropped packets: {}", list.join(", "));
        }
        let _ = writeln!(s, "\nVirtual servers:");
        match &self.virtual_servers {
            None => {
                let _ = writeln!(s, "  (not managed by this daemon)");
            }
            Some(vs) if vs.is_empty() => {
                let _ = writeln!(s, "  (none configured)");
            }
            Some(vs) => {
                for v in vs {
                    let _ = writeln!(
                        s,
                        "  {} ({}), quorum {}",
                        v.service,
                        v.scheduler,
                        if v.quorum_up { "up" } else { "down" }
                    );
                    for r in &v.real_servers {
                        let _ = writeln!(
                            s,
                            "    {:<24} {:<4} weight {:<5} {}",
                            r.address,
                            if r.up { "UP" } else { "DOWN" },
                            r.weight,
                            r.last_check.as_deref().unwrap_or("-")
                        );
                    }
                }
            }
        }
        s
    }
}

fn render_instance(s: &mut String, i: &InstanceStatus, now_ms: u64) {
    let group = i
        .sync_group
        .as_deref()
        .map(|g| format!(", sync group {g}"))
        .unwrap_or_default();
    let _ = writeln!(
        s,
        "  {:<12} {:<7} {} {} VRID {} v{}{group}",
        i.name, i.state, i.interface, i.family, i.vrid, i.version
    );
    // Weighted trackers make the sum; weight-0 ones only decide FAULT, listed after it.
    let mut why = format!("base {}", i.base_priority);
    let mut gates = Vec::new();
    for t in &i.priority_terms {
        let rev = if t.reverse { " reverse" } else { "" };
        if t.weight == 0 {
            let effect = if t.faulting {
                "holding FAULT"
            } else {
                "FAULT when down"
            };
            gates.push(format!("{} {}{rev} ({effect})", t.tracker, t.state));
        } else {
            let _ = write!(
                why,
                " {:+} ({} {}, weight {}{rev})",
                t.contribution, t.tracker, t.state, t.weight
            );
        }
    }
    if !gates.is_empty() {
        let _ = write!(why, "; {}", gates.join(", "));
    }
    if i.base_priority == 255 {
        why.push_str(", address owner: weights do not apply");
    }
    let _ = writeln!(s, "    priority   {} = {why}", i.effective_priority);
    match &i.master {
        Some(m) if m.is_self => {
            let _ = writeln!(s, "    master     {} (this node)", m.address);
        }
        Some(m) => {
            let _ = writeln!(s, "    master     {} priority {}", m.address, m.priority);
        }
        None => {
            let _ = writeln!(s, "    master     (none heard)");
        }
    }
    if let Some(t) = &i.last_transition {
        let _ = writeln!(
            s,
            "    since      {} ({} ago): {} -> {}, {}",
            rfc3339(t.at_ms),
            human(now_ms.saturating_sub(t.at_ms)),
            t.from,
            t.to,
            t.reason
        );
    }
    let c = &i.counters;
    let reasons: Vec<String> = i
        .dropped_by_reason
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    let reasons = if reasons.is_empty() {
        String::new()
    } else {
        format!(" ({})", reasons.join(", "))
    };
    let _ = writeln!(
        s,
        "    adverts    sent {}, received {}, dropped {}{reasons}; {} transition{}",
        c.adverts_sent,
        c.adverts_received,
        c.dropped,
        i.transitions,
        if i.transitions == 1 { "" } else { "s" }
    );
    let _ = writeln!(
        s,
        "    vips       {} ({})",
        if i.vips.is_empty() {
            "-".to_owned()
        } else {
            i.vips.join(" ")
        },
        if i.vips_installed {
            "installed"
        } else {
            "not installed"
        }
    );
}

/// `3d4h`, `4m12s`, `850ms`: coarse, for "up" and "ago".
fn human(ms: u64) -> String {
    let d = Duration::from_millis(ms);
    let secs = d.as_secs();
    match secs {
        0 => format!("{ms}ms"),
        1..=59 => format!("{secs}s"),
        60..=3599 => format!("{}m{}s", secs / 60, secs % 60),
        3600..=86_399 => format!("{}h{}m", secs / 3600, secs % 3600 / 60),
        _ => format!("{}d{}h", secs / 86_400, secs % 86_400 / 3600),
    }
}

/// UTC timestamp `2026-11-23T17:45:03Z` (civil-from-days, proleptic Gregorian).
pub fn rfc3339(ms: u64) -> String {
    let secs = ms / 1000;
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_462_503_000), "2026-11-23T19:35:03Z");
        assert_eq!(human(850), "850ms");
        assert_eq!(human(252_000), "4m12s");
    }

    #[test]
    fn text_without_virtual_servers_says_so() {
        let st = Status {
            format: FORMAT_VERSION,
            version: "0.1.0".into(),
            pid: 1,
            config_file: "/etc/keepalived/keepalived.conf".into(),
            started_at_ms: 0,
            reloads: 0,
            instances: vec![],
            not_running: vec![NotRunning {
                name: "VI_2".into(),
                reason: "no interface".into(),
            }],
            dropped: BTreeMap::new(),
            virtual_servers: None,
        };
        let text = st.render_text(1000);
        assert!(text.contains("(not managed by this daemon)"), "{text}");
        assert!(
            text.contains("VI_2         NOT RUNNING: no interface"),
            "{text}"
        );
        let json = serde_json::to_string(&st).unwrap();
        assert_eq!(serde_json::from_str::<Status>(&json).unwrap(), st);
    }

    #[test]
    fn text_lists_virtual_servers_with_quorum_and_checks() {
        let st = Status {
            format: FORMAT_VERSION,
            version: "0.1.0".into(),
            pid: 1,
            config_file: "lbd.conf".into(),
            started_at_ms: 0,
            reloads: 0,
            instances: vec![],
            not_running: vec![],
            dropped: BTreeMap::new(),
            virtual_servers: Some(vec![VirtualServerStatus {
                service: "[192.0.2.100]:tcp:80".into(),
                scheduler: "wrr".into(),
                quorum_up: false,
                real_servers: vec![RealServerStatus {
                    address: "198.51.100.2:8002".into(),
                    up: false,
                    weight: 2,
                    last_check: Some("TCP_CHECK down: refused".into()),
                }],
            }]),
        };
        let text = st.render_text(0);
        assert!(
            text.contains("  [192.0.2.100]:tcp:80 (wrr), quorum down\n"),
            "{text}"
        );
        assert!(
            text.contains("198.51.100.2:8002        DOWN weight 2     TCP_CHECK down: refused"),
            "{text}"
        );
        let json = serde_json::to_string(&st).unwrap();
        assert_eq!(serde_json::from_str::<Status>(&json).unwrap(), st);
    }
}
