//! The `/metrics` document: VRRP metrics derived from a [`Status`] at scrape time, plus the
//! observations other parts of the daemon push through the hooks ([`Metrics::record_check`],
//! [`Metrics::record_probe`], [`Metrics::record_ipvs_apply`]).
//!
//! Health checks have two sources. Verdict changes (a real server going up or down) come as
//! [`CheckObservation`]s; every attempt comes as a probe (result and duration) on a series
//! registered once with [`Metrics::check_series`], so that recording one, thousands of times
//! a second, allocates nothing.
//!
//! Nothing is emitted that has no real value: a hook's families appear only once something
//! was recorded through it, so a VRRP-only daemon shows no checker or IPVS series at all.

use std::collections::BTreeMap;
use std::time::Duration;

use healthcheck::ProbeResult;

use super::exposition::{le_label, Kind, Labels, Writer};
use super::status::Status;

/// Health-check latency buckets (seconds): connect-and-answer checks, 1 ms to 10 s.
const CHECK_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// IPVS netlink round trips (seconds): 50 µs to 1 s.
const IPVS_BUCKETS: &[f64] = &[
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.1, 1.0,
];

/// The most bounds a histogram here has ([`CHECK_BUCKETS`]).
const MAX_BOUNDS: usize = 13;

/// A cumulative histogram with fixed buckets, the bounds given by its owner (one of the
/// constants above): there is one per health-check series, tens of thousands, so its counts
/// sit inline and it keeps no pointer to its bounds.
#[derive(Debug, Clone, Default)]
struct Histogram {
    /// Per bucket (not cumulative); after the bounds' count, +Inf.
    counts: [u64; MAX_BOUNDS + 1],
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, bounds: &[f64], d: Duration) {
        let v = d.as_secs_f64();
        let i = bounds.iter().position(|b| v <= *b).unwrap_or(bounds.len());
        if let Some(c) = self.counts.get_mut(i) {
            *c += 1;
        }
        self.sum += v;
    }

    /// Observations so far: the buckets' total (not kept apart, one per series adds up).
    fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// `les` is [`le_labels`] of this histogram's bounds (spelled once per scrape).
    fn write(&self, w: &mut Writer, labels: &Labels, les: &[String]) {
        let mut cumulative = 0;
        for (c, le) in self.counts.iter().zip(les) {
            cumulative += c;
            w.sample_with("_bucket", labels, Some(("le", le)), cumulative);
        }
        w.sample_with("_sum", labels, None, self.sum);
        w.sample_with("_count", labels, None, self.count());
    }
}

/// The `le` label values of `bounds`, `+Inf` last.
fn le_labels(bounds: &[f64]) -> Vec<String> {
    bounds
        .iter()
        .copied()
        .chain([f64::INFINITY])
        .map(le_label)
        .collect()
}

/// Handle of one health-check series (virtual server, real server, checker), from
/// [`Metrics::check_series`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CheckSeriesId(usize);

/// One health-check series; its labels are its key in [`Metrics::check_index`].
#[derive(Debug, Clone, Default)]
struct CheckSeries {
    /// Verdict changes ([`Metrics::record_check`]).
    success: u64,
    failure: u64,
    /// Whether the last check (attempt or verdict, whichever came last) succeeded; `None`
    /// until one is known.
    last_up: Option<bool>,
    /// Attempts by result label (`success` or a failure kind), in label order: a handful of
    /// entries, each allocated the first time its label is seen, one at a time (most
    /// series only ever see `success`).
    probes: Vec<(&'static str, u64)>,
    /// Attempt durations, start to verdict.
    duration: Histogram,
}

/// One finished health check, as the checker side reports it.
#[derive(Debug, Clone, Copy)]
pub struct CheckObservation<'a> {
    /// The virtual server as the config names it (`192.0.2.10:80/tcp`, `fwmark 1`).
    pub virtual_server: &'a str,
    /// `ADDR:PORT` of the real server.
    pub real_server: &'a str,
    /// `HTTP_GET`, `TCP_CHECK`, `MISC_CHECK`, ...
    pub checker: &'a str,
    pub success: bool,
    /// From sending the probe to the verdict; `None` when the reporter does not measure it
    /// (verdict changes carry none: their attempts come through [`Metrics::record_probe`]),
    /// so nothing is observed rather than a made-up value.
    pub latency: Option<Duration>,
}

/// One attempt to apply a change to the kernel's IPVS table.
#[derive(Debug, Clone, Copy)]
pub struct IpvsApply<'a> {
    /// `add_service`, `edit_dest`, `batch` ... (a small fixed set: it becomes a label).
    pub operation: &'static str,
    /// Netlink requests the attempt carried (1 for a single request, more for a batch).
    pub requests: usize,
    /// `None` on success, else a short fixed error label (`exists`, `no_such_service`, `io`).
    pub error: Option<&'a str>,
    pub duration: Duration,
}

#[derive(Debug, Clone)]
struct IpvsSeries {
    duration: Histogram,
    requests: u64,
    /// By error label.
    errors: BTreeMap<String, u64>,
}

/// Observations pushed by the hooks; the VRRP side needs none (it is read from the engines).
#[derive(Debug, Default)]
pub struct Metrics {
    /// Check series by [`CheckSeriesId`]; `None` for a removed one (its index is reused).
    checks: Vec<Option<CheckSeries>>,
    /// The same series by their labels (virtual server, real server, checker), rendered
    /// once when the series is registered: the only copy of its names, and the order
    /// the series are written in.
    check_index: BTreeMap<Labels, usize>,
    free_checks: Vec<usize>,
    /// Attempt records the checker side could not deliver (its queue was full).
    probes_dropped: u64,
    ipvs: BTreeMap<&'static str, IpvsSeries>,
}

impl Metrics {
    /// The series of one checker of one real server, created on first use: the handle for
    /// [`record_probe`](Self::record_probe). Two checkers of the same type on the same real
    /// server share a series.
    pub fn check_series(
        &mut self,
        virtual_server: &str,
        real_server: &str,
        checker: &str,
    ) -> CheckSeriesId {
        let key = Labels::new(&[
            ("virtual_server", virtual_server),
            ("real_server", real_server),
            ("checker", checker),
        ]);
        if let Some(&i) = self.check_index.get(&key) {
            return CheckSeriesId(i);
        }
        let series = CheckSeries::default();
        let i = match self.free_checks.pop() {
            Some(i) => {
                self.checks[i] = Some(series);
                i
            }
            None => {
                self.checks.push(Some(series));
                self.checks.len() - 1
            }
        };
        self.check_index.insert(key, i);
        CheckSeriesId(i)
    }

    /// Room for `additional` more check series without growing the table (a caller about
    /// to register tens of thousands spares it the doubling slack).
    pub fn reserve_check_series(&mut self, additional: usize) {
        let free = self.free_checks.len();
        self.checks.reserve_exact(additional.saturating_sub(free));
    }

    /// Drops every check series `keep` says no to (real servers a reload removed), so that
    /// the exposition does not go on showing servers that no longer exist.
    pub fn retain_check_series(&mut self, keep: impl Fn(CheckSeriesId) -> bool) {
        let checks = &mut self.checks;
        let free = &mut self.free_checks;
        self.check_index.retain(|_, i| {
            let kept = keep(CheckSeriesId(*i));
            if !kept {
                if let Some(slot) = checks.get_mut(*i) {
                    *slot = None;
                }
                free.push(*i);
            }
            kept
        });
    }

    /// Drops the series of (virtual server, real server, checker), if there is one: what
    /// [`Metrics::retain_check_series`] does for one series, without visiting the others.
    pub fn drop_check_series(&mut self, virtual_server: &str, real_server: &str, checker: &str) {
        let key = Labels::new(&[
            ("virtual_server", virtual_server),
            ("real_server", real_server),
            ("checker", checker),
        ]);
        if let Some(i) = self.check_index.remove(&key) {
            if let Some(slot) = self.checks.get_mut(i) {
                *slot = None;
            }
            self.free_checks.push(i);
        }
    }

    /// Hook for the checker side: one finished attempt of the checker behind `id`. Allocates
    /// nothing once the result's label has been seen on the series.
    pub fn record_probe(&mut self, id: CheckSeriesId, result: ProbeResult, duration: Duration) {
        let Some(s) = self.checks.get_mut(id.0).and_then(Option::as_mut) else {
            return;
        };
        let label = result.label();
        match s.probes.binary_search_by(|(l, _)| (*l).cmp(label)) {
            Ok(i) => s.probes[i].1 += 1,
            Err(i) => {
                s.probes.reserve_exact(1);
                s.probes.insert(i, (label, 1));
            }
        }
        s.last_up = Some(result == ProbeResult::Success);
        s.duration.observe(CHECK_BUCKETS, duration);
    }

    /// How many attempt records the checker side has lost so far (a running total).
    pub fn set_probes_dropped(&mut self, total: u64) {
        self.probes_dropped = total;
    }

    /// Hook for the checker side: call once per verdict change.
    pub fn record_check(&mut self, o: CheckObservation<'_>) {
        let id = self.check_series(o.virtual_server, o.real_server, o.checker);
        let Some(s) = self.checks.get_mut(id.0).and_then(Option::as_mut) else {
            return;
        };
        if o.success {
            s.success += 1;
        } else {
            s.failure += 1;
        }
        s.last_up = Some(o.success);
        if let Some(l) = o.latency {
            s.duration.observe(CHECK_BUCKETS, l);
        }
    }

    /// Hook for the virtual-server side: call once per IPVS apply (a request or a batch).
    pub fn record_ipvs_apply(&mut self, a: IpvsApply<'_>) {
        let s = self.ipvs.entry(a.operation).or_insert_with(|| IpvsSeries {
            duration: Histogram::default(),
            requests: 0,
            errors: BTreeMap::new(),
        });
        s.duration.observe(IPVS_BUCKETS, a.duration);
        s.requests += u64::try_from(a.requests).unwrap_or(u64::MAX);
        if let Some(e) = a.error {
            *s.errors.entry(e.to_owned()).or_insert(0) += 1;
        }
    }

    /// The whole exposition document.
    pub fn render(&self, st: &Status) -> String {
        self.render_into(st, String::new())
    }

    /// [`render`](Self::render) into `buf`'s allocation (its content is dropped).
    pub fn render_into(&self, st: &Status, buf: String) -> String {
        let mut w = Writer::reusing(buf);
        write_process(&mut w, st);
        write_vrrp(&mut w, st);
        self.write_checks(&mut w);
        self.write_ipvs(&mut w);
        w.finish()
    }

    /// The check series with their labels, in label order.
    fn check_series_sorted(&self) -> impl Iterator<Item = (&Labels, &CheckSeries)> {
        self.check_index
            .iter()
            .filter_map(|(l, i)| Some((l, self.checks.get(*i)?.as_ref()?)))
    }

    fn write_checks(&self, w: &mut Writer) {
        if self.check_index.is_empty() {
            return;
        }
        if self
            .check_series_sorted()
            .any(|(_, s)| s.success + s.failure > 0)
        {
            w.family(
                "lbd_check_results_total",
                Kind::Counter,
                "Health verdict changes of the real server (up = success, down = failure).",
            );
            for (labels, s) in self
                .check_series_sorted()
                .filter(|(_, s)| s.success + s.failure > 0)
            {
                for (result, n) in [("success", s.success), ("failure", s.failure)] {
                    w.sample_with("", labels, Some(("result", result)), n);
                }
            }
        }
        if self.check_series_sorted().any(|(_, s)| s.last_up.is_some()) {
            w.family(
                "lbd_check_up",
                Kind::Gauge,
                "1 if the last health check of the real server succeeded.",
            );
            for (labels, s) in self.check_series_sorted() {
                if let Some(up) = s.last_up {
                    w.sample_with("", labels, None, u64::from(up));
                }
            }
        }
        if self
            .check_series_sorted()
            .any(|(_, s)| !s.probes.is_empty())
        {
            w.family(
                "lbd_check_probes_total",
                Kind::Counter,
                "Health check attempts, by result: success or the failure kind.",
            );
            for (labels, s) in self.check_series_sorted() {
                for (result, n) in &s.probes {
                    w.sample_with("", labels, Some(("result", result)), *n);
                }
            }
        }
        if self
            .check_series_sorted()
            .any(|(_, s)| s.duration.count() > 0)
        {
            w.family(
                "lbd_check_duration_seconds",
                Kind::Histogram,
                "Duration of health check attempts, from connect (or spawn) to verdict.",
            );
            let les = le_labels(CHECK_BUCKETS);
            for (labels, s) in self
                .check_series_sorted()
                .filter(|(_, s)| s.duration.count() > 0)
            {
                s.duration.write(w, labels, &les);
            }
            w.family(
                "lbd_check_probes_dropped_total",
                Kind::Counter,
                "Attempt records lost before they were counted (the checker side's queue was full).",
            );
            w.sample("", &[], self.probes_dropped);
        }
    }

    fn write_ipvs(&self, w: &mut Writer) {
        if self.ipvs.is_empty() {
            return;
        }
        w.family(
            "lbd_ipvs_apply_duration_seconds",
            Kind::Histogram,
            "Duration of IPVS netlink requests, by operation.",
        );
        let les = le_labels(IPVS_BUCKETS);
        for (op, s) in &self.ipvs {
            s.duration
                .write(w, &Labels::new(&[("operation", op)]), &les);
        }
        w.family(
            "lbd_ipvs_requests_total",
            Kind::Counter,
            "IPVS netlink requests sent, by operation.",
        );
        for (op, s) in &self.ipvs {
            w.sample("", &[("operation", op)], s.requests);
        }
        if self.ipvs.values().all(|s| s.errors.is_empty()) {
            return;
        }
        w.family(
            "lbd_ipvs_apply_errors_total",
            Kind::Counter,
            "Failed IPVS netlink requests, by operation and error.",
        );
        for (op, s) in &self.ipvs {
            for (e, n) in &s.errors {
                w.sample("", &[("operation", op), ("error", e)], *n);
            }
        }
    }
}

fn write_process(w: &mut Writer, st: &Status) {
    w.family("lbd_build_info", Kind::Gauge, "Always 1; the lbd version.");
    w.sample("", &[("version", &st.version)], 1u64);
    w.family(
        "lbd_start_time_seconds",
        Kind::Gauge,
        "Unix time the daemon started.",
    );
    w.sample("", &[], st.started_at_ms as f64 / 1000.0);
    w.family(
        "lbd_config_reloads_total",
        Kind::Counter,
        "Successful configuration reloads (SIGHUP).",
    );
    w.sample("", &[], st.reloads);
}

/// The four states, keepalived's spelling, as the `state` label.
const STATES: [&str; 4] = ["INIT", "BACKUP", "MASTER", "FAULT"];

fn write_vrrp(w: &mut Writer, st: &Status) {
    let insts = &st.instances;
    w.family(
        "lbd_vrrp_instances_not_running",
        Kind::Gauge,
        "Configured VRRP instances that could not start (e.g. missing interface).",
    );
    w.sample("", &[], st.not_running.len() as u64);
    if !insts.is_empty() {
        w.family(
            "lbd_vrrp_state",
            Kind::Gauge,
            "1 for the state the VRRP instance is in, 0 for the others.",
        );
        for i in insts {
            for s in STATES {
                let labels = [
                    ("instance", i.name.as_str()),
                    ("interface", i.interface.as_str()),
                    ("state", s),
                ];
                w.sample("", &labels, u64::from(i.state == s));
            }
        }
        gauge(w, st, "lbd_vrrp_priority", "Effective priority.", |i| {
            u64::from(i.effective_priority)
        });
        gauge(
            w,
            st,
            "lbd_vrrp_base_priority",
            "Configured priority.",
            |i| u64::from(i.base_priority),
        );
        gauge(
            w,
            st,
            "lbd_vrrp_vips_installed",
            "1 while the instance's virtual addresses are installed.",
            |i| u64::from(i.vips_installed),
        );
        counter(
            w,
            st,
            "lbd_vrrp_transitions_total",
            "State transitions since the daemon started.",
            |i| i.transitions,
        );
        counter(
            w,
            st,
            "lbd_vrrp_adverts_sent_total",
            "Adverts sent (one per destination).",
            |i| i.counters.adverts_sent,
        );
        counter(
            w,
            st,
            "lbd_vrrp_adverts_received_total",
            "Valid adverts received and processed.",
            |i| i.counters.adverts_received,
        );
        counter(
            w,
            st,
            "lbd_vrrp_priority_zero_sent_total",
            "Priority-0 adverts sent (master leaving).",
            |i| i.counters.priority_zero_sent,
        );
        counter(
            w,
            st,
            "lbd_vrrp_priority_zero_received_total",
            "Priority-0 adverts received.",
            |i| i.counters.priority_zero_received,
        );
        counter(
            w,
            st,
            "lbd_vrrp_became_master_total",
            "Times the instance became MASTER.",
            |i| i.counters.became_master,
        );
    }
    if insts.iter().any(|i| !i.dropped_by_reason.is_empty()) {
        w.family(
            "lbd_vrrp_adverts_dropped_total",
            Kind::Counter,
            "Packets for an instance rejected since the daemon started, by reason.",
        );
        for i in insts {
            for (reason, n) in &i.dropped_by_reason {
                w.sample("", &[("instance", &i.name), ("reason", reason)], *n);
            }
        }
    }
    if !st.dropped.is_empty() {
        w.family(
            "lbd_vrrp_packets_dropped_total",
            Kind::Counter,
            "Received VRRP packets dropped, by reason, all instances.",
        );
        for (reason, n) in &st.dropped {
            w.sample("", &[("reason", reason)], *n);
        }
    }
}

fn gauge(
    w: &mut Writer,
    st: &Status,
    name: &str,
    help: &str,
    f: impl Fn(&super::status::InstanceStatus) -> u64,
) {
    per_instance(w, st, name, Kind::Gauge, help, f);
}

fn counter(
    w: &mut Writer,
    st: &Status,
    name: &str,
    help: &str,
    f: impl Fn(&super::status::InstanceStatus) -> u64,
) {
    per_instance(w, st, name, Kind::Counter, help, f);
}

fn per_instance(
    w: &mut Writer,
    st: &Status,
    name: &str,
    kind: Kind,
    help: &str,
    f: impl Fn(&super::status::InstanceStatus) -> u64,
) {
    w.family(name, kind, help);
    for i in &st.instances {
        w.sample("", &[("instance", &i.name)], f(i));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::status::FORMAT_VERSION;

    fn empty_status() -> Status {
        Status {
            format: FORMAT_VERSION,
            version: "0.1.0".into(),
            pid: 1,
            config_file: "x".into(),
            started_at_ms: 1500,
            reloads: 2,
            instances: vec![],
            not_running: vec![],
            dropped: BTreeMap::new(),
            virtual_servers: None,
        }
    }

    /// The benchmark's shape (2,500 virtual servers x 16 real servers, TCP_CHECK, every
    /// series probed): prints the render time and body size, and checks the line count.
    #[test]
    fn render_40k_check_series() {
        use healthcheck::FailureKind;
        let mut m = Metrics::default();
        for v in 0..2500u32 {
            let vs = format!("[192.0.{}.{}]:tcp:80", v / 250, v % 250);
            for r in 0..16u32 {
                let rs = format!("198.51.{}.{}:8080", v % 200, r);
                let id = m.check_series(&vs, &rs, "TCP_CHECK");
                m.record_probe(
                    id,
                    ProbeResult::Success,
                    Duration::from_micros(700 + u64::from(r)),
                );
                if r == 3 {
                    m.record_probe(
                        id,
                        ProbeResult::Failure(FailureKind::ConnectTimeout),
                        Duration::from_secs(3),
                    );
                }
            }
        }
        let st = empty_status();
        let text = m.render(&st);
        let runs = 5;
        let started = std::time::Instant::now();
        for _ in 0..runs {
            assert_eq!(m.render(&st).len(), text.len());
        }
        let per = started.elapsed() / runs;
        let mut buf = String::new();
        let started = std::time::Instant::now();
        for _ in 0..runs {
            buf = m.render_into(&st, buf);
        }
        let reused = started.elapsed() / runs;
        assert_eq!(buf, text);
        let digest = {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            text.hash(&mut h);
            h.finish()
        };
        eprintln!(
            "render 40000 check series: {per:?} per scrape ({reused:?} reusing the buffer), \
             {} bytes, digest {digest:x}",
            text.len()
        );
        let series = 40_000;
        // up + probes (success, plus connect_timeout on 1 in 16) + 14 buckets, sum, count.
        let samples = series + series + series / 16 + series * 16;
        assert!(text.lines().count() > samples, "{}", text.lines().count());
    }

    #[test]
    fn hooks_emit_nothing_until_used() {
        let m = Metrics::default();
        let text = m.render(&empty_status());
        assert!(!text.contains("lbd_check"), "{text}");
        assert!(!text.contains("lbd_ipvs"), "{text}");
        assert!(text.contains("lbd_config_reloads_total 2\n"), "{text}");
        assert!(text.contains("lbd_start_time_seconds 1.5\n"), "{text}");
    }

    #[test]
    fn check_without_latency_has_no_histogram() {
        let mut m = Metrics::default();
        m.record_check(CheckObservation {
            virtual_server: "192.0.2.10:80/tcp",
            real_server: "198.51.100.1:80",
            checker: "TCP_CHECK",
            success: false,
            latency: None,
        });
        let text = m.render(&empty_status());
        assert!(text.contains("lbd_check_up{"), "{text}");
        assert!(!text.contains("lbd_check_duration_seconds"), "{text}");
        assert!(!text.contains("lbd_check_probes_total"), "{text}");
    }

    #[test]
    fn check_and_ipvs_hooks() {
        let mut m = Metrics::default();
        for (ok, ms) in [(true, 3), (false, 40), (true, 7)] {
            m.record_check(CheckObservation {
                virtual_server: "192.0.2.10:80/tcp",
                real_server: "198.51.100.1:80",
                checker: "HTTP_GET",
                success: ok,
                latency: Some(Duration::from_millis(ms)),
            });
        }
        m.record_ipvs_apply(IpvsApply {
            operation: "add_dest",
            requests: 1,
            error: Some("exists"),
            duration: Duration::from_micros(300),
        });
        let text = m.render(&empty_status());
        let rs = "virtual_server=\"192.0.2.10:80/tcp\",real_server=\"198.51.100.1:80\",checker=\"HTTP_GET\"";
        assert!(
            text.contains(&format!(
                "lbd_check_results_total{{{rs},result=\"success\"}} 2\n"
            )),
            "{text}"
        );
        assert!(text.contains(&format!(
            "lbd_check_results_total{{{rs},result=\"failure\"}} 1\n"
        )));
        assert!(text.contains(&format!("lbd_check_up{{{rs}}} 1\n")));
        assert!(text.contains(&format!(
            "lbd_check_duration_seconds_bucket{{{rs},le=\"0.005\"}} 1\n"
        )));
        assert!(text.contains(&format!(
            "lbd_check_duration_seconds_bucket{{{rs},le=\"0.01\"}} 2\n"
        )));
        assert!(text.contains(&format!(
            "lbd_check_duration_seconds_bucket{{{rs},le=\"+Inf\"}} 3\n"
        )));
        assert!(text.contains(&format!("lbd_check_duration_seconds_count{{{rs}}} 3\n")));
        assert!(text
            .contains("lbd_ipvs_apply_errors_total{operation=\"add_dest\",error=\"exists\"} 1\n"));
        assert!(text.contains("lbd_ipvs_requests_total{operation=\"add_dest\"} 1\n"));
        assert!(
            text.contains(
                "lbd_ipvs_apply_duration_seconds_bucket{operation=\"add_dest\",le=\"0.0005\"} 1\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn probes_fill_counters_and_the_histogram_of_their_series() {
        use healthcheck::FailureKind;
        let mut m = Metrics::default();
        let a = m.check_series("[192.0.2.10]:tcp:80", "198.51.100.1:80", "HTTP_GET");
        let b = m.check_series("[192.0.2.10]:tcp:80", "198.51.100.2:80", "HTTP_GET");
        assert_eq!(
            m.check_series("[192.0.2.10]:tcp:80", "198.51.100.1:80", "HTTP_GET"),
            a
        );
        // Registered but never probed: nothing to show yet (no made-up zeros or downs).
        let text = m.render(&empty_status());
        assert!(!text.contains("lbd_check"), "{text}");

        m.record_probe(a, ProbeResult::Success, Duration::from_millis(3));
        m.record_probe(a, ProbeResult::Success, Duration::from_millis(30));
        m.record_probe(
            a,
            ProbeResult::Failure(FailureKind::ConnectTimeout),
            Duration::from_secs(3),
        );
        m.record_probe(b, ProbeResult::Success, Duration::from_micros(800));
        m.set_probes_dropped(4);
        let text = m.render(&empty_status());
        let la = "virtual_server=\"[192.0.2.10]:tcp:80\",real_server=\"198.51.100.1:80\",checker=\"HTTP_GET\"";
        let lb = la.replace("198.51.100.1", "198.51.100.2");
        for line in [
            format!("lbd_check_probes_total{{{la},result=\"success\"}} 2\n"),
            format!("lbd_check_probes_total{{{la},result=\"connect_timeout\"}} 1\n"),
            format!("lbd_check_probes_total{{{lb},result=\"success\"}} 1\n"),
            format!("lbd_check_up{{{la}}} 0\n"),
            format!("lbd_check_up{{{lb}}} 1\n"),
            format!("lbd_check_duration_seconds_bucket{{{la},le=\"0.005\"}} 1\n"),
            format!("lbd_check_duration_seconds_bucket{{{la},le=\"0.05\"}} 2\n"),
            format!("lbd_check_duration_seconds_bucket{{{la},le=\"2.5\"}} 2\n"),
            format!("lbd_check_duration_seconds_bucket{{{la},le=\"5\"}} 3\n"),
            format!("lbd_check_duration_seconds_count{{{la}}} 3\n"),
            format!("lbd_check_duration_seconds_bucket{{{lb},le=\"0.001\"}} 1\n"),
            "lbd_check_probes_dropped_total 4\n".to_owned(),
        ] {
            assert!(text.contains(&line), "{line}in:\n{text}");
        }
        // No verdict change yet: no results family.
        assert!(!text.contains("lbd_check_results_total"), "{text}");

        // A reload that drops b: its series goes, a's stays.
        m.retain_check_series(|id| id == a);
        let text = m.render(&empty_status());
        assert!(!text.contains("198.51.100.2"), "{text}");
        assert!(
            text.contains(&format!("lbd_check_up{{{la}}} 0\n")),
            "{text}"
        );
        // The freed slot is reused, starting empty.
        let c = m.check_series("[192.0.2.10]:tcp:80", "198.51.100.3:80", "HTTP_GET");
        assert_eq!(c, b);
        let text = m.render(&empty_status());
        assert!(!text.contains("198.51.100.3"), "{text}");
        // A probe on a stale handle is ignored rather than misattributed.
        m.retain_check_series(|id| id == a);
        m.record_probe(c, ProbeResult::Success, Duration::ZERO);
        assert!(!m.render(&empty_status()).contains("198.51.100.3"));
        // One series dropped by name, as a reload of one virtual server does.
        let d = m.check_series("[192.0.2.10]:tcp:80", "198.51.100.4:80", "HTTP_GET");
        m.record_probe(d, ProbeResult::Success, Duration::ZERO);
        assert!(m.render(&empty_status()).contains("198.51.100.4"));
        m.drop_check_series("[192.0.2.10]:tcp:80", "198.51.100.4:80", "HTTP_GET");
        let text = m.render(&empty_status());
        assert!(!text.contains("198.51.100.4"), "{text}");
        assert!(
            text.contains(&format!("lbd_check_up{{{la}}} 0\n")),
            "{text}"
        );
        assert_eq!(
            m.check_series("[192.0.2.10]:tcp:80", "198.51.100.5:80", "HTTP_GET"),
            d
        );
    }
}
