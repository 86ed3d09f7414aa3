//! MISC_CHECK command lines and exit-status semantics, as pure functions.

use crate::outcome::{CheckOutcome, Failure, FailureKind};

/// How to run a `misc_path`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CommandLine {
    /// Program and arguments, split like keepalived splits script lines (whitespace, quotes, backslash).
    Direct(Vec<String>),
    /// The line uses shell syntax (pipes, redirections, `$`, globs, `&&`, ...): run it with `/bin/sh -c`.
    Shell(String),
}

/// The identity a MISC_CHECK program runs as (keepalived's `user USERNAME [GROUPNAME]`, or
/// the global `script_user`), already resolved to numbers: looking names up in the user
/// database is the embedder's business, done once when the configuration is read, never in
/// the child between fork and exec.
///
/// The child drops to it before exec: supplementary groups cleared, then `gid`, then `uid`.
/// keepalived sets the supplementary list to the primary group alone; an empty list plus the
/// primary gid grants exactly the same access. Without one, the program runs as the daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RunAs {
    pub uid: u32,
    pub gid: u32,
}

/// A command line that cannot be run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CommandLineError {
    #[error("empty command line")]
    Empty,
    #[error("unterminated quote in command line")]
    UnterminatedQuote,
}

const SHELL_META: &[char] = &[
    '|', '&', ';', '<', '>', '(', ')', '$', '`', '*', '?', '[', ']', '{', '}', '~', '\n',
];

impl CommandLine {
    /// Split `line`. Unquoted shell metacharacters mean the user wrote shell, which keepalived would only
    /// run correctly if the script were a shell script; running it through `sh -c` is the faithful reading.
    pub fn parse(line: &str) -> Result<CommandLine, CommandLineError> {
        let mut words = Vec::new();
        let mut word = String::new();
        let mut in_word = false;
        let mut quote: Option<char> = None;
        let mut chars = line.chars();
        let mut needs_shell = false;
        while let Some(c) = chars.next() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some('"'), '\\') => match chars.next() {
                    Some(n @ ('"' | '\\' | '$' | '`')) => word.push(n),
                    Some(n) => {
                        word.push('\\');
                        word.push(n);
                    }
                    None => return Err(CommandLineError::UnterminatedQuote),
                },
                (Some(_), c) => word.push(c),
                (None, '"' | '\'') => {
                    quote = Some(c);
                    in_word = true;
                }
                (None, '\\') => {
                    if let Some(n) = chars.next() {
                        word.push(n);
                        in_word = true;
                    }
                }
                (None, c) if c.is_whitespace() && c != '\n' => {
                    if in_word {
                        words.push(std::mem::take(&mut word));
                        in_word = false;
                    }
                }
                (None, c) => {
                    if SHELL_META.contains(&c) || (c == '#' && !in_word) {
                        needs_shell = true;
                    }
                    word.push(c);
                    in_word = true;
                }
            }
        }
        if quote.is_some() {
            return Err(CommandLineError::UnterminatedQuote);
        }
        if in_word {
            words.push(word);
        }
        if words.is_empty() {
            return Err(CommandLineError::Empty);
        }
        Ok(if needs_shell {
            CommandLine::Shell(line.to_owned())
        } else {
            CommandLine::Direct(words)
        })
    }

    /// Program and arguments to execute.
    pub fn argv(&self) -> Vec<&str> {
        match self {
            CommandLine::Direct(w) => w.iter().map(String::as_str).collect(),
            CommandLine::Shell(line) => vec!["/bin/sh", "-c", line.as_str()],
        }
    }
}

/// Map an exit status to an outcome. With `dynamic`: 0 up, 1 down, 2..=255 up with weight `code - 2`;
/// without: 0 up, anything else down. A death by signal is always down.
pub fn outcome_for_exit(path: &str, code: Option<i32>, dynamic: bool) -> CheckOutcome {
    match code {
        Some(0) => CheckOutcome::Up,
        Some(c @ 2..=255) if dynamic => CheckOutcome::UpWithWeight((c - 2) as u32),
        Some(c) => CheckOutcome::Down(Failure::new(
            FailureKind::Script,
            format!("Misc check for [{path}] failed with retcode [{c}]."),
        )),
        None => CheckOutcome::Down(Failure::new(
            FailureKind::Script,
            format!("Misc check for [{path}] was killed by a signal."),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_quotes_and_detects_shell() {
        assert_eq!(
            CommandLine::parse(r#"/usr/bin/check "a b" 'c d' e\ f"#).unwrap(),
            CommandLine::Direct(vec![
                "/usr/bin/check".into(),
                "a b".into(),
                "c d".into(),
                "e f".into()
            ])
        );
        assert_eq!(
            CommandLine::parse("[ -f /etc/down ] && exit 1 || exit 0").unwrap(),
            CommandLine::Shell("[ -f /etc/down ] && exit 1 || exit 0".into())
        );
        assert_eq!(
            CommandLine::parse("check '$HOME|x'").unwrap(),
            CommandLine::Direct(vec!["check".into(), "$HOME|x".into()])
        );
        assert_eq!(CommandLine::parse("  "), Err(CommandLineError::Empty));
        assert_eq!(
            CommandLine::parse("a 'b"),
            Err(CommandLineError::UnterminatedQuote)
        );
    }

    #[test]
    fn dynamic_exit_codes() {
        assert_eq!(outcome_for_exit("p", Some(0), true), CheckOutcome::Up);
        assert!(matches!(
            outcome_for_exit("p", Some(1), true),
            CheckOutcome::Down(_)
        ));
        assert_eq!(
            outcome_for_exit("p", Some(12), true),
            CheckOutcome::UpWithWeight(10)
        );
        assert_eq!(
            outcome_for_exit("p", Some(255), true),
            CheckOutcome::UpWithWeight(253)
        );
        assert!(matches!(
            outcome_for_exit("p", Some(12), false),
            CheckOutcome::Down(_)
        ));
        assert!(matches!(
            outcome_for_exit("p", None, true),
            CheckOutcome::Down(_)
        ));
    }
}
