//! Notify and track scripts, run without ever blocking the event loop.
//!
//! Each script runs in its own process group (so a timeout kills whatever it
//! spawned too), with stdin/stdout/stderr on /dev/null, optionally as another
//! user (keepalived's `script_user`). Completion is signalled by a pidfd that the
//! daemon registers with mio: it becomes readable when the child exits, and only
//! then is the child reaped, by pid, with `WNOHANG`. No SIGCHLD handler, no
//! `waitpid(-1)`, so nothing else in the process can steal our exit statuses and
//! a pid cannot be reused under us while we hold it unreaped.
//!
//! The command line is split like keepalived splits it (whitespace separates
//! words, quotes group, backslash escapes) and executed directly; only a line
//! containing unquoted shell syntax (`&&`, `|`, `$`, redirections, ...) is
//! handed to `/bin/sh -c`, since it cannot mean anything without a shell.

use std::ffi::CString;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::impl_source_via_fd;

/// After SIGTERM on timeout, how long a script gets before SIGKILL.
pub const KILL_GRACE: Duration = Duration::from_secs(2);

/// A parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandLine {
    /// Run directly: `argv[0]` is the program (searched in PATH if no `/`).
    Exec(Vec<String>),
    /// Needs a shell: run as `/bin/sh -c LINE`.
    Shell(String),
}

/// Why a script could not be started (its own failures are [`ExitOutcome`]s).
#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    #[error("empty command line")]
    Empty,
    #[error("unterminated quote in command line")]
    UnterminatedQuote,
    #[error("command line contains a NUL byte")]
    Nul,
    #[error("unknown user {0:?}")]
    UnknownUser(String),
    #[error("unknown group {0:?}")]
    UnknownGroup(String),
    #[error("cannot start {program:?}: {source}")]
    Spawn {
        program: String,
        #[source]
        source: io::Error,
    },
    #[error("pidfd_open: {0}")]
    Pidfd(io::Error),
}

/// Characters that only mean something to a shell when unquoted.
const SHELL_META: &[char] = &[
    '|', '&', ';', '<', '>', '(', ')', '$', '`', '*', '?', '[', ']', '{', '}', '~', '#', '!', '\n',
];

impl CommandLine {
    /// Parses a keepalived script line (the config parser has already removed the
    /// outer quotes of a quoted string).
    pub fn parse(line: &str) -> Result<Self, ScriptError> {
        if line.contains('\0') {
            return Err(ScriptError::Nul);
        }
        let mut words = Vec::new();
        let mut cur = String::new();
        let mut in_word = false;
        let mut chars = line.chars();
        let mut first_word = true;
        while let Some(c) = chars.next() {
            match c {
                '\'' => {
                    in_word = true;
                    loop {
                        match chars.next() {
                            Some('\'') => break,
                            Some(c) => cur.push(c),
                            None => return Err(ScriptError::UnterminatedQuote),
                        }
                    }
                }
                '"' => {
                    in_word = true;
                    loop {
                        match chars.next() {
                            Some('"') => break,
                            Some('\\') => match chars.next() {
                                Some(c) => cur.push(c),
                                None => return Err(ScriptError::UnterminatedQuote),
                            },
                            // Expansion inside double quotes is shell business.
                            Some('$' | '`') => return Ok(CommandLine::Shell(line.trim().into())),
                            Some(c) => cur.push(c),
                            None => return Err(ScriptError::UnterminatedQuote),
                        }
                    }
                }
                '\\' => {
                    in_word = true;
                    if let Some(c) = chars.next() {
                        cur.push(c);
                    }
                }
                c if c == ' ' || c == '\t' => {
                    if in_word {
                        words.push(std::mem::take(&mut cur));
                        in_word = false;
                        first_word = false;
                    }
                }
                c if SHELL_META.contains(&c) => return Ok(CommandLine::Shell(line.trim().into())),
                // `VAR=value cmd` is a shell assignment.
                '=' if first_word => return Ok(CommandLine::Shell(line.trim().into())),
                c => {
                    in_word = true;
                    cur.push(c);
                }
            }
        }
        if in_word {
            words.push(cur);
        }
        if words.is_empty() {
            return Err(ScriptError::Empty);
        }
        Ok(CommandLine::Exec(words))
    }

    /// The program as it will be logged.
    pub fn program(&self) -> &str {
        match self {
            CommandLine::Exec(argv) => argv.first().map_or("", String::as_str),
            CommandLine::Shell(_) => "/bin/sh",
        }
    }

    fn command(&self, extra_args: &[&str]) -> Command {
        match self {
            CommandLine::Exec(argv) => {
                let mut c = Command::new(self.program());
                c.args(argv.iter().skip(1)).args(extra_args);
                c
            }
            CommandLine::Shell(line) => {
                let mut c = Command::new("/bin/sh");
                if extra_args.is_empty() {
                    c.arg("-c").arg(line);
                } else {
                    // Appends the arguments to the line as separate, unexpanded
                    // words, as if they had been written at its end.
                    c.arg("-c").arg(format!("{line} \"$@\"")).arg("sh");
                    c.args(extra_args);
                }
                c
            }
        }
    }
}

/// keepalived's notify `TYPE` argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifyKind {
    Instance,
    Group,
}

/// The four arguments keepalived appends to a `notify` script:
/// `TYPE NAME STATE PRIORITY`, e.g. `INSTANCE VI_1 MASTER 100`.
/// (`notify_master`, `notify_backup`, ... get no extra arguments.)
pub fn notify_args(kind: NotifyKind, name: &str, state: &str, priority: u8) -> [String; 4] {
    let kind = match kind {
        NotifyKind::Instance => "INSTANCE",
        NotifyKind::Group => "GROUP",
    };
    [
        kind.to_owned(),
        name.to_owned(),
        state.to_ascii_uppercase(),
        priority.to_string(),
    ]
}

/// The user and group a script runs as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Credentials {
    pub uid: u32,
    pub gid: u32,
}

impl Credentials {
    /// Looks up `user` (and `group`, defaulting to the user's primary group) in the
    /// system databases, as keepalived's `script_user username [groupname]`.
    pub fn lookup(user: &str, group: Option<&str>) -> Result<Self, ScriptError> {
        let (uid, primary_gid) =
            lookup_user(user).ok_or_else(|| ScriptError::UnknownUser(user.into()))?;
        let gid = match group {
            None => primary_gid,
            Some(g) => lookup_group(g).ok_or_else(|| ScriptError::UnknownGroup(g.into()))?,
        };
        Ok(Credentials { uid, gid })
    }
}

fn lookup_user(name: &str) -> Option<(u32, u32)> {
    let c = CString::new(name).ok()?;
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: passwd is plain data; zero is valid.
    let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result = std::ptr::null_mut();
    // SAFETY: all pointers are valid for the call; `buf` outlives the use of `pw`.
    let rc = unsafe {
        libc::getpwnam_r(
            c.as_ptr(),
            &mut pw,
            buf.as_mut_ptr(),
            buf.len(),
            &mut result,
        )
    };
    (rc == 0 && !result.is_null()).then_some((pw.pw_uid, pw.pw_gid))
}

fn lookup_group(name: &str) -> Option<u32> {
    let c = CString::new(name).ok()?;
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: group is plain data; zero is valid.
    let mut gr: libc::group = unsafe { std::mem::zeroed() };
    let mut result = std::ptr::null_mut();
    // SAFETY: as above.
    let rc = unsafe {
        libc::getgrnam_r(
            c.as_ptr(),
            &mut gr,
            buf.as_mut_ptr(),
            buf.len(),
            &mut result,
        )
    };
    (rc == 0 && !result.is_null()).then_some(gr.gr_gid)
}

/// How a script ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitOutcome {
    Exited(i32),
    /// Killed by a signal we did not send.
    Signaled(i32),
    /// We killed it because it overran its timeout.
    TimedOut,
    /// We killed it on request ([`RunningScript::kill`]), e.g. at shutdown.
    Killed,
}

impl ExitOutcome {
    /// keepalived's notion of success for a track script.
    pub fn success(self) -> bool {
        self == ExitOutcome::Exited(0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Running,
    /// SIGTERM sent on timeout; SIGKILL follows at the (new) deadline.
    Terminating,
    /// SIGKILL sent after the grace period.
    TimeoutKilled,
    /// SIGKILL sent by [`RunningScript::kill`].
    Killed,
}

/// A started script. Register it with mio (readable = exited), then call
/// [`RunningScript::try_wait`]; arm a timer at [`RunningScript::deadline`] and call
/// [`RunningScript::check_timeout`] when it fires. Dropping an unfinished script
/// kills its process group and reaps it.
#[derive(Debug)]
pub struct RunningScript {
    child: Child,
    pidfd: OwnedFd,
    deadline: Option<Instant>,
    phase: Phase,
    outcome: Option<ExitOutcome>,
}

impl_source_via_fd!(RunningScript, pidfd);

impl RunningScript {
    /// Starts `cmd` with `extra_args` appended, as `creds` if given (else as us).
    pub fn spawn(
        cmd: &CommandLine,
        extra_args: &[&str],
        creds: Option<Credentials>,
        timeout: Option<Duration>,
    ) -> Result<Self, ScriptError> {
        let mut command = cmd.command(extra_args);
        command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0);
        if let Some(c) = creds {
            // std drops supplementary groups (setgroups) before setuid when root.
            command.gid(c.gid).uid(c.uid);
        }
        let mut child = command.spawn().map_err(|source| ScriptError::Spawn {
            program: cmd.program().to_owned(),
            source,
        })?;
        // The child stays a zombie until we reap it, so this pid cannot have been
        // reused even if the script already exited.
        // SAFETY: plain syscall with a pid and flags; result checked.
        let raw = unsafe { libc::syscall(libc::SYS_pidfd_open, child.id() as libc::pid_t, 0) };
        if raw < 0 {
            let e = io::Error::last_os_error();
            kill_group(&child, libc::SIGKILL);
            let _ = child.wait();
            return Err(ScriptError::Pidfd(e));
        }
        // SAFETY: a fresh descriptor we own (pidfds are O_CLOEXEC by default).
        let pidfd = unsafe { OwnedFd::from_raw_fd(raw as libc::c_int) };
        Ok(RunningScript {
            child,
            pidfd,
            deadline: timeout.map(|t| Instant::now() + t),
            phase: Phase::Running,
            outcome: None,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// When [`RunningScript::check_timeout`] must next be called, if ever.
    pub fn deadline(&self) -> Option<Instant> {
        if self.outcome.is_some() {
            None
        } else {
            self.deadline
        }
    }

    /// Reaps the script if it has exited (non-blocking). Call when the pidfd is
    /// readable; returns the same outcome again on later calls.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitOutcome>> {
        if let Some(o) = self.outcome {
            return Ok(Some(o));
        }
        if self.phase != Phase::Running {
            // A timed-out or killed script's group goes down with it. Signal the
            // group while the leader is still an unreaped zombie: its pid (the
            // pgid) cannot have been reused yet.
            if !self.exited_unreaped()? {
                return Ok(None);
            }
            kill_group(&self.child, libc::SIGKILL);
        }
        let Some(status) = self.child.try_wait()? else {
            return Ok(None);
        };
        let outcome = match self.phase {
            Phase::Killed => ExitOutcome::Killed,
            Phase::Terminating | Phase::TimeoutKilled => ExitOutcome::TimedOut,
            Phase::Running => match status.code() {
                Some(code) => ExitOutcome::Exited(code),
                None => ExitOutcome::Signaled(status.signal().unwrap_or(0)),
            },
        };
        self.outcome = Some(outcome);
        Ok(Some(outcome))
    }

    /// Whether the child has exited, without reaping it (`WNOWAIT`).
    fn exited_unreaped(&self) -> io::Result<bool> {
        // SAFETY: siginfo_t is plain data; zero is valid and means "no child".
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        let pid = libc::id_t::from(self.child.id());
        // SAFETY: waitid on our own child with a valid siginfo_t out-pointer.
        let rc = unsafe {
            libc::waitid(
                libc::P_PID,
                pid,
                &mut info,
                libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: si_pid is valid to read for a waitid result (0 if none ready).
        Ok(unsafe { info.si_pid() } != 0)
    }

    /// Enforces the timeout: past the deadline, SIGTERM the script's process group
    /// and move the deadline by [`KILL_GRACE`]; past that, SIGKILL it. Returns true
    /// if a signal was sent.
    pub fn check_timeout(&mut self, now: Instant) -> bool {
        if self.outcome.is_some() {
            return false;
        }
        match (self.phase, self.deadline) {
            (Phase::Running, Some(d)) if now >= d => {
                kill_group(&self.child, libc::SIGTERM);
                self.phase = Phase::Terminating;
                self.deadline = Some(now + KILL_GRACE);
                true
            }
            (Phase::Terminating, Some(d)) if now >= d => {
                kill_group(&self.child, libc::SIGKILL);
                self.phase = Phase::TimeoutKilled;
                self.deadline = None;
                true
            }
            _ => false,
        }
    }

    /// Kills the script's process group at once (SIGKILL); reap with `try_wait`.
    pub fn kill(&mut self) {
        if self.outcome.is_none() && self.phase == Phase::Running {
            kill_group(&self.child, libc::SIGKILL);
            self.phase = Phase::Killed;
            self.deadline = None;
        }
    }
}

impl Drop for RunningScript {
    fn drop(&mut self) {
        if self.outcome.is_none() {
            kill_group(&self.child, libc::SIGKILL);
            // Prompt after SIGKILL; this is what guarantees no zombie is left.
            let _ = self.child.wait();
        }
    }
}

/// Signals the child's process group (its pgid is its pid: `process_group(0)`).
/// Only called while the leader is unreaped, so the pgid cannot be reused.
fn kill_group(child: &Child, sig: libc::c_int) {
    let Ok(pid) = libc::pid_t::try_from(child.id()) else {
        return;
    };
    // SAFETY: plain kill(2) on our own child's process group.
    unsafe {
        libc::kill(-pid, sig);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exec(words: &[&str]) -> CommandLine {
        CommandLine::Exec(words.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn splits_like_keepalived() {
        assert_eq!(
            CommandLine::parse("/bin/check  -x 'a b'  c\\ d").unwrap(),
            exec(&["/bin/check", "-x", "a b", "c d"])
        );
        assert_eq!(
            CommandLine::parse("abcd\" efg h \"mnop").unwrap(),
            exec(&["abcd efg h mnop"])
        );
        assert_eq!(
            CommandLine::parse("killall -0 haproxy").unwrap(),
            exec(&["killall", "-0", "haproxy"])
        );
    }

    #[test]
    fn shell_only_when_needed() {
        for line in [
            "[ -f x ] && exit 1 || exit 0",
            "pidof haproxy > /dev/null",
            "echo $HOME",
            "FOO=1 /bin/true",
            "echo \"$HOME\"",
        ] {
            assert_eq!(
                CommandLine::parse(line).unwrap(),
                CommandLine::Shell(line.into()),
                "{line}"
            );
        }
        // Quoted metacharacters are just characters.
        assert_eq!(
            CommandLine::parse("grep 'a|b' f").unwrap(),
            exec(&["grep", "a|b", "f"])
        );
        assert_eq!(
            CommandLine::parse("/usr/bin/x --opt=1").unwrap(),
            exec(&["/usr/bin/x", "--opt=1"])
        );
    }

    #[test]
    fn rejects_bad_lines() {
        assert!(matches!(CommandLine::parse("   "), Err(ScriptError::Empty)));
        assert!(matches!(
            CommandLine::parse("a 'b"),
            Err(ScriptError::UnterminatedQuote)
        ));
        assert!(matches!(CommandLine::parse("a\0b"), Err(ScriptError::Nul)));
    }

    #[test]
    fn notify_arguments() {
        assert_eq!(
            notify_args(NotifyKind::Instance, "VI_1", "master", 100),
            ["INSTANCE", "VI_1", "MASTER", "100"]
        );
    }
}
