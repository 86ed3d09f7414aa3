//! The Prometheus text exposition format (version 0.0.4), written by hand.
//!
//! Why not the `prometheus-client` crate: our values already live in the engines (the routers'
//! counters) and are read at scrape time; a registry of atomics would have to be kept in sync
//! with them on every event. The format itself is small; what matters is escaping label values
//! and HELP text, spelling non-finite floats, and keeping each family's samples together, which
//! this writer does by construction (a family is opened, then only its samples follow).

use std::fmt::Write as _;

/// Content type of the format, for the HTTP response.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The metric types we emit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// A sample value: integers print exactly, floats in Prometheus' spelling.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    Int(u64),
    Float(f64),
}

impl From<u64> for Value {
    fn from(v: u64) -> Self {
        Value::Int(v)
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}

/// Label pairs rendered once (`k="v",k="v"`, escaped), for a series written at every scrape:
/// with tens of thousands of health-check series, formatting their labels anew each time is
/// most of a scrape's cost, and the scrape runs on the event loop.
/// Ordered by their text, so they can key the series map they are written from; held
/// without spare capacity (tens of thousands are kept).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Labels(Box<str>);

impl Labels {
    pub fn new(labels: &[(&str, &str)]) -> Self {
        let mut s = String::new();
        push_labels(&mut s, labels);
        Self(s.into_boxed_str())
    }
}

/// Accumulates one exposition document.
#[derive(Debug, Default)]
pub struct Writer {
    out: String,
    /// Name of the family being written: samples are only accepted for it.
    family: String,
}

impl Writer {
    pub fn new() -> Self {
        Self::default()
    }

    /// A writer appending to `out` (emptied): a buffer kept from the previous document spares
    /// growing a large one and faulting in its pages again.
    pub fn reusing(mut out: String) -> Self {
        out.clear();
        Self {
            out,
            family: String::new(),
        }
    }

    /// Starts a family: its `# HELP` and `# TYPE` lines.
    pub fn family(&mut self, name: &str, kind: Kind, help: &str) {
        debug_assert!(valid_name(name), "metric name {name:?}");
        self.family.clear();
        self.family.push_str(name);
        self.out.push_str("# HELP ");
        self.out.push_str(name);
        self.out.push(' ');
        escape_into(&mut self.out, help, false);
        self.out.push_str("\n# TYPE ");
        self.out.push_str(name);
        self.out.push(' ');
        self.out.push_str(kind.as_str());
        self.out.push('\n');
    }

    /// One sample of the current family (`suffix` is `_bucket`, `_sum`, `_count` for
    /// histograms, empty otherwise).
    pub fn sample(&mut self, suffix: &str, labels: &[(&str, &str)], value: impl Into<Value>) {
        self.out.push_str(&self.family);
        self.out.push_str(suffix);
        if !labels.is_empty() {
            self.out.push('{');
            push_labels(&mut self.out, labels);
            self.out.push('}');
        }
        self.value(value.into());
    }

    /// Like [`sample`](Self::sample) with labels rendered beforehand, plus at most one more
    /// pair after them (`le`, `result`).
    pub fn sample_with(
        &mut self,
        suffix: &str,
        labels: &Labels,
        extra: Option<(&str, &str)>,
        value: impl Into<Value>,
    ) {
        self.out.push_str(&self.family);
        self.out.push_str(suffix);
        if !labels.0.is_empty() || extra.is_some() {
            self.out.push('{');
            self.out.push_str(&labels.0);
            if let Some(pair) = extra {
                if !labels.0.is_empty() {
                    self.out.push(',');
                }
                push_labels(&mut self.out, &[pair]);
            }
            self.out.push('}');
        }
        self.value(value.into());
    }

    fn value(&mut self, value: Value) {
        self.out.push(' ');
        match value {
            Value::Int(v) => push_int(&mut self.out, v),
            Value::Float(v) => push_float(&mut self.out, v),
        }
        self.out.push('\n');
    }

    pub fn finish(self) -> String {
        self.out
    }
}

fn push_labels(out: &mut String, labels: &[(&str, &str)]) {
    for (i, (k, v)) in labels.iter().enumerate() {
        debug_assert!(valid_name(k), "label name {k:?}");
        if i > 0 {
            out.push(',');
        }
        out.push_str(k);
        out.push_str("=\"");
        escape_into(out, v, true);
        out.push('"');
    }
}

/// Decimal digits without going through `fmt` (most samples are small counters).
fn push_int(out: &mut String, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.push_str(std::str::from_utf8(&buf[i..]).unwrap_or_default());
}

fn push_float(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v == f64::INFINITY {
        out.push_str("+Inf");
    } else if v == f64::NEG_INFINITY {
        out.push_str("-Inf");
    } else {
        let _ = write!(out, "{v}");
    }
}

/// Bucket bound as a label value (`le="0.005"`, `le="+Inf"`).
pub fn le_label(bound: f64) -> String {
    let mut s = String::new();
    push_float(&mut s, bound);
    s
}

/// HELP text escapes `\` and newline; label values also `"`.
fn escape_into(out: &mut String, s: &str, quote: bool) {
    let special = |b: u8| b == b'\\' || b == b'\n' || (quote && b == b'"');
    if !s.bytes().any(special) {
        out.push_str(s);
        return;
    }
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' if quote => out.push_str("\\\""),
            c => out.push(c),
        }
    }
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*` (our names are constants; checked in debug builds and tests).
fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_groups() {
        let mut w = Writer::new();
        w.family("lbd_x_total", Kind::Counter, "a \\ help\nline");
        w.sample("", &[("instance", "V\"I\\1\n")], 3u64);
        w.sample("", &[], f64::INFINITY);
        w.family("lbd_y", Kind::Gauge, "y");
        w.sample("", &[("a", "1"), ("b", "2")], 0.25);
        let text = w.finish();
        assert_eq!(
            text,
            "# HELP lbd_x_total a \\\\ help\\nline\n# TYPE lbd_x_total counter\n\
             lbd_x_total{instance=\"V\\\"I\\\\1\\n\"} 3\nlbd_x_total +Inf\n\
             # HELP lbd_y y\n# TYPE lbd_y gauge\nlbd_y{a=\"1\",b=\"2\"} 0.25\n"
        );
    }

    #[test]
    fn names() {
        assert!(valid_name("lbd_vrrp_state"));
        assert!(valid_name("le"));
        assert!(!valid_name("1abc"));
        assert!(!valid_name("a-b"));
        assert!(!valid_name(""));
        assert_eq!(le_label(0.005), "0.005");
        assert_eq!(le_label(f64::INFINITY), "+Inf");
    }

    #[test]
    fn integers_and_prerendered_labels() {
        let mut w = Writer::new();
        w.family("lbd_z", Kind::Counter, "z");
        for v in [0, 7, 10, 4_294_967_296, u64::MAX] {
            w.sample("", &[], v);
        }
        let l = Labels::new(&[("a", "x\"y"), ("b", "2")]);
        w.sample_with("_bucket", &l, Some(("le", "+Inf")), 3u64);
        w.sample_with("", &l, None, 0.5);
        w.sample_with("", &Labels::default(), Some(("result", "ok")), 1u64);
        w.sample_with("", &Labels::default(), None, 2u64);
        assert_eq!(
            w.finish(),
            "# HELP lbd_z z\n# TYPE lbd_z counter\nlbd_z 0\nlbd_z 7\nlbd_z 10\n\
             lbd_z 4294967296\nlbd_z 18446744073709551615\n\
             lbd_z_bucket{a=\"x\\\"y\",b=\"2\",le=\"+Inf\"} 3\nlbd_z{a=\"x\\\"y\",b=\"2\"} 0.5\n\
             lbd_z{result=\"ok\"} 1\nlbd_z 2\n"
        );
    }
}
