//! What one check attempt concludes.

use std::fmt;

/// The result of one check attempt, before retry policy is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckOutcome {
    /// The service answered as expected.
    Up,
    /// The service answered as expected and asked for this weight (MISC_CHECK with `misc_dynamic`).
    UpWithWeight(u32),
    /// The attempt failed.
    Down(Failure),
}

/// Why an attempt failed: a machine-readable kind plus the sentence keepalived logs.
///
/// The message carries the target (`[ip]:tcp:port`) so that the daemon can log it verbatim and operators
/// can grep for the same lines they know from keepalived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Coarse classification, stable for metrics.
    pub kind: FailureKind,
    /// Human-readable reason, worded as keepalived words it.
    pub message: String,
}

impl Failure {
    /// A failure of `kind` with the given log sentence.
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Self {
        Failure {
            kind,
            message: message.into(),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Coarse classes of failure, so callers can count them without parsing messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureKind {
    /// The socket could not be created, bound or connected (refused, unreachable, ...).
    Connect,
    /// The connection was not established within `connect_timeout`.
    ConnectTimeout,
    /// No complete answer arrived within the timeout.
    ReadTimeout,
    /// Reading or writing the established connection failed, or the peer closed early.
    Io,
    /// The peer spoke, but not the protocol we expected (garbage, oversized, wrong reply code).
    Protocol,
    /// HTTP status code outside the accepted set.
    HttpStatus,
    /// HTTP body digest mismatch.
    Digest,
    /// TLS handshake or record layer failure, including certificate verification.
    Tls,
    /// The DNS server answered with a non-zero RCODE or a mismatching answer.
    Dns,
    /// A MISC_CHECK script failed, could not be started, or timed out.
    Script,
}

impl FailureKind {
    /// Stable snake_case label for counters.
    pub fn label(self) -> &'static str {
        match self {
            FailureKind::Connect => "connect",
            FailureKind::ConnectTimeout => "connect_timeout",
            FailureKind::ReadTimeout => "read_timeout",
            FailureKind::Io => "io",
            FailureKind::Protocol => "protocol",
            FailureKind::HttpStatus => "http_status",
            FailureKind::Digest => "digest",
            FailureKind::Tls => "tls",
            FailureKind::Dns => "dns",
            FailureKind::Script => "script",
        }
    }
}
