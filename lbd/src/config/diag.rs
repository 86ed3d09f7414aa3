//! Diagnostics: where (file, line) and what went wrong, keepalived-style but always with
//! the file and with what was expected.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

/// A place in the configuration: file and 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Location {
    /// Shared: every token of a file points at the same path.
    pub file: Arc<Path>,
    pub line: u32,
}

impl Location {
    pub fn new(file: Arc<Path>, line: u32) -> Self {
        Self { file, line }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The configuration still means something; lbd carries on.
    Warning,
    /// The configuration cannot be used as written.
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// One message about the configuration, displayed as `FILE:LINE: warning|error: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub file: Arc<Path>,
    pub line: u32,
    pub message: String,
}

impl Diagnostic {
    pub fn new(severity: Severity, at: &Location, message: impl Into<String>) -> Self {
        Self {
            severity,
            file: at.file.clone(),
            line: at.line,
            message: message.into(),
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}: {}",
            self.file.display(),
            self.line,
            self.severity,
            self.message
        )
    }
}

/// Collects diagnostics while the configuration is read.
#[derive(Debug, Default)]
pub struct Diagnostics {
    list: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn warn(&mut self, at: &Location, message: impl Into<String>) {
        self.list
            .push(Diagnostic::new(Severity::Warning, at, message));
    }

    pub fn error(&mut self, at: &Location, message: impl Into<String>) {
        self.list
            .push(Diagnostic::new(Severity::Error, at, message));
    }

    pub fn has_errors(&self) -> bool {
        self.list.iter().any(Diagnostic::is_error)
    }

    /// Adds `other`'s after these, in their order.
    pub fn append(&mut self, other: Diagnostics) {
        self.list.extend(other.list);
    }

    pub fn into_vec(self) -> Vec<Diagnostic> {
        self.list
    }
}
