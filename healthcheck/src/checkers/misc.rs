//! MISC_CHECK: run a program; its exit status decides. No shell unless the line needs one, killed (with
//! its whole process group) after `misc_timeout`, as the configured user if there is one ([`RunAs`]).
//!
//! Exit is observed through a pidfd registered with mio (readable when the child exits), so there is no
//! SIGCHLD handler and no thread. Where pidfd_open is unavailable the checker polls `waitpid(WNOHANG)`
//! on a short tick instead.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Interest, Registry};

use super::down;
use crate::checker::{Checker, Context, Progress};
use crate::misc::{outcome_for_exit, CommandLine, RunAs};
use crate::outcome::FailureKind;

/// Poll interval when no pidfd is available.
const POLL_TICK: Duration = Duration::from_millis(10);

struct Running {
    child: Child,
    pidfd: Option<OwnedFd>,
    kill_at: Instant,
    next_tick: Instant,
}

/// A MISC_CHECK.
pub struct MiscCheck {
    path: String,
    command: CommandLine,
    timeout: Duration,
    dynamic: bool,
    run_as: Option<RunAs>,
    running: Option<Running>,
    /// Killed children not yet reaped; retried on every call so no zombie outlives the checker long.
    zombies: Vec<Child>,
}

impl MiscCheck {
    pub fn new(
        path: String,
        command: CommandLine,
        timeout: Duration,
        dynamic: bool,
        run_as: Option<RunAs>,
    ) -> Self {
        MiscCheck {
            path,
            command,
            timeout,
            dynamic,
            run_as,
            running: None,
            zombies: Vec::new(),
        }
    }

    fn reap_zombies(&mut self) {
        self.zombies
            .retain_mut(|c| !matches!(c.try_wait(), Ok(Some(_)) | Err(_)));
    }

    fn release(&mut self, registry: &Registry, kill: bool) {
        if let Some(mut r) = self.running.take() {
            if let Some(fd) = &r.pidfd {
                let _ = registry.deregister(&mut SourceFd(&fd.as_raw_fd()));
            }
            if kill {
                kill_group(&mut r.child);
                if !matches!(r.child.try_wait(), Ok(Some(_))) {
                    self.zombies.push(r.child);
                }
            }
        }
        self.reap_zombies();
    }

    fn check_exit(&mut self, cx: &mut Context<'_>) -> Progress {
        let Some(r) = self.running.as_mut() else {
            return Progress::Pending;
        };
        match r.child.try_wait() {
            Ok(Some(status)) => {
                self.release(cx.registry, false);
                Progress::Done(outcome_for_exit(&self.path, status.code(), self.dynamic))
            }
            Ok(None) if cx.now >= r.kill_at => {
                self.release(cx.registry, true);
                Progress::Done(down(
                    FailureKind::Script,
                    format!("Misc check for [{}] timed out.", self.path),
                ))
            }
            Ok(None) => {
                r.next_tick = cx.now + POLL_TICK;
                Progress::Pending
            }
            Err(e) => {
                self.release(cx.registry, true);
                Progress::Done(down(
                    FailureKind::Script,
                    format!(
                        "Misc check for [{}] could not be waited for: {e}.",
                        self.path
                    ),
                ))
            }
        }
    }
}

fn kill_group(child: &mut Child) {
    if let Ok(pid) = libc::pid_t::try_from(child.id()) {
        // The child leads its own process group (see `spawn`), so this also stops what it started.
        // SAFETY: kill(2) has no memory-safety preconditions.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
    let _ = child.kill();
}

fn pidfd_open(pid: u32) -> Option<OwnedFd> {
    let pid = libc::pid_t::try_from(pid).ok()?;
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    let fd = i32::try_from(fd).ok().filter(|fd| *fd >= 0)?;
    // SAFETY: the kernel just returned this descriptor to us; nothing else owns it.
    Some(unsafe { OwnedFd::from_raw_fd(fd) })
}

impl Checker for MiscCheck {
    fn start(&mut self, cx: &mut Context<'_>) -> Progress {
        self.release(cx.registry, true);
        let argv = self.command.argv();
        let Some((program, args)) = argv.split_first() else {
            return Progress::Done(down(
                FailureKind::Script,
                format!("Misc check for [{}] has an empty command line.", self.path),
            ));
        };
        let mut command = Command::new(program);
        command
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0);
        if let Some(r) = self.run_as {
            // std, in the child before exec: setgroups(0) (when root), setgid, setuid; any
            // failure is reported here as a spawn error and the program never runs.
            command.gid(r.gid).uid(r.uid);
        }
        let spawned = command.spawn();
        let child = match spawned {
            Ok(c) => c,
            Err(e) => {
                return Progress::Done(down(
                    FailureKind::Script,
                    format!("Misc check for [{}] could not be started: {e}.", self.path),
                ))
            }
        };
        let pidfd = pidfd_open(child.id()).and_then(|fd| {
            cx.registry
                .register(&mut SourceFd(&fd.as_raw_fd()), cx.token, Interest::READABLE)
                .ok()
                .map(|()| fd)
        });
        self.running = Some(Running {
            child,
            pidfd,
            kill_at: cx.now + self.timeout,
            next_tick: cx.now + POLL_TICK,
        });
        self.check_exit(cx)
    }

    fn ready(&mut self, cx: &mut Context<'_>) -> Progress {
        self.check_exit(cx)
    }

    fn deadline(&self) -> Instant {
        match &self.running {
            Some(r) if r.pidfd.is_some() => r.kill_at,
            Some(r) => r.kill_at.min(r.next_tick),
            None => Instant::now(),
        }
    }

    fn timeout(&mut self, cx: &mut Context<'_>) -> Progress {
        self.check_exit(cx)
    }

    fn cancel(&mut self, registry: &Registry) {
        self.release(registry, true);
    }

    fn describe(&self) -> String {
        format!("MISC_CHECK {}", self.path)
    }
}

impl Drop for MiscCheck {
    fn drop(&mut self) {
        if let Some(mut r) = self.running.take() {
            kill_group(&mut r.child);
            self.zombies.push(r.child);
        }
        // Best effort: a SIGKILLed child is reaped within microseconds; anything left is adopted by init
        // when we exit.
        self.reap_zombies();
    }
}
