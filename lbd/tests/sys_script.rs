//! Scripts: exit codes through a pidfd registered with mio, direct exec vs
//! shell, keepalived's notify arguments, timeouts with SIGTERM -> SIGKILL
//! escalation, running as another user, and no zombies left behind.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use lbd::daemon::sys::script::KILL_GRACE;
use lbd::daemon::sys::{
    notify_args, CommandLine, Credentials, ExitOutcome, NotifyKind, RunningScript,
};
use mio::{Events, Interest, Poll, Token};

fn tmpdir(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("sys_script_{name}"));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Drives a script as the daemon would: mio readiness on the pidfd, timer checks
/// at its deadline. Returns the outcome and how long it took.
fn run(mut s: RunningScript) -> (ExitOutcome, Duration) {
    let start = Instant::now();
    let mut poll = Poll::new().unwrap();
    poll.registry()
        .register(&mut s, Token(3), Interest::READABLE)
        .unwrap();
    let mut events = Events::with_capacity(4);
    loop {
        let timeout = s
            .deadline()
            .map(|d| d.saturating_duration_since(Instant::now()));
        match poll.poll(&mut events, timeout.or(Some(Duration::from_secs(10)))) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => panic!("poll: {e}"),
        }
        for ev in events.iter() {
            assert_eq!(ev.token(), Token(3));
        }
        if let Some(o) = s.try_wait().unwrap() {
            assert_gone(s.pid());
            return (o, start.elapsed());
        }
        s.check_timeout(Instant::now());
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "script never ended"
        );
    }
}

/// Reaped, not a zombie: the pid no longer exists.
fn assert_gone(pid: u32) {
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "process {pid} still exists (zombie?)"
    );
}

fn spawn(line: &str, args: &[&str], timeout: Option<Duration>) -> RunningScript {
    RunningScript::spawn(&CommandLine::parse(line).unwrap(), args, None, timeout).unwrap()
}

#[test]
fn exit_codes_through_pidfd() {
    assert_eq!(run(spawn("true", &[], None)).0, ExitOutcome::Exited(0));
    assert_eq!(run(spawn("false", &[], None)).0, ExitOutcome::Exited(1));
    assert_eq!(
        run(spawn("sh -c 'exit 7'", &[], None)).0,
        ExitOutcome::Exited(7)
    );
    assert!(!ExitOutcome::Exited(7).success());
    // A signal we did not send is reported as such.
    assert_eq!(
        run(spawn("sh -c 'kill -USR1 $$'", &[], None)).0,
        ExitOutcome::Signaled(libc::SIGUSR1)
    );
    let missing = RunningScript::spawn(
        &CommandLine::parse("/nonexistent/script").unwrap(),
        &[],
        None,
        None,
    );
    assert!(missing.is_err());
}

#[test]
fn plain_command_runs_without_shell_and_shell_lines_with_one() {
    // spawn() returns after exec, so /proc/PID/exe is the program itself.
    let mut s = spawn("sleep 5", &[], None);
    let exe = std::fs::read_link(format!("/proc/{}/exe", s.pid())).unwrap();
    assert!(exe.ends_with("sleep"), "{exe:?}");
    s.kill();
    assert_eq!(run(s).0, ExitOutcome::Killed);

    let mut s = spawn("sleep 5; true", &[], None);
    let exe = std::fs::read_link(format!("/proc/{}/exe", s.pid())).unwrap();
    let sh = std::fs::canonicalize("/bin/sh").unwrap();
    assert_eq!(exe, sh);
    s.kill();
    assert_eq!(run(s).0, ExitOutcome::Killed);

    let dir = tmpdir("shell");
    let flag = dir.join("maintenance");
    let line = format!("[ -f {} ] && exit 1 || exit 0", flag.display());
    assert!(matches!(
        CommandLine::parse(&line).unwrap(),
        CommandLine::Shell(_)
    ));
    assert_eq!(run(spawn(&line, &[], None)).0, ExitOutcome::Exited(0));
    std::fs::write(&flag, b"").unwrap();
    assert_eq!(run(spawn(&line, &[], None)).0, ExitOutcome::Exited(1));
}

#[test]
fn notify_gets_keepalived_arguments() {
    let dir = tmpdir("notify");
    let out = dir.join("args");
    let script = dir.join("notify.sh");
    std::fs::write(
        &script,
        format!("#!/bin/sh\nprintf '%s|' \"$@\" > {}\n", out.display()),
    )
    .unwrap();
    std::process::Command::new("chmod")
        .arg("755")
        .arg(&script)
        .status()
        .unwrap();
    let args = notify_args(NotifyKind::Instance, "VI_1", "MASTER", 100);
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    // Configured arguments come first, keepalived's four after them.
    let line = format!("{} 'my arg'", script.display());
    assert_eq!(run(spawn(&line, &argv, None)).0, ExitOutcome::Exited(0));
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "my arg|INSTANCE|VI_1|MASTER|100|"
    );
    // Same through the shell path.
    let line = format!("printf '%s|' pre > {}", out.display());
    assert_eq!(run(spawn(&line, &argv, None)).0, ExitOutcome::Exited(0));
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "pre|INSTANCE|VI_1|MASTER|100|"
    );
}

#[test]
fn timeout_terminates_then_kills() {
    let (o, took) = run(spawn("sleep 30", &[], Some(Duration::from_millis(200))));
    assert_eq!(o, ExitOutcome::TimedOut);
    assert!(took < Duration::from_secs(2), "took {took:?}");

    // Ignores SIGTERM (and so do its children: ignored dispositions survive
    // exec): only the SIGKILL after the grace period ends it, children included.
    let (o, took) = run(spawn(
        "trap '' TERM; sleep 30; sleep 30",
        &[],
        Some(Duration::from_millis(200)),
    ));
    assert_eq!(o, ExitOutcome::TimedOut);
    assert!(took >= KILL_GRACE, "took {took:?}");
    assert!(took < KILL_GRACE + Duration::from_secs(2), "took {took:?}");
}

#[test]
fn dropping_a_running_script_leaves_nothing() {
    let s = spawn("sleep 30", &[], None);
    let pid = s.pid();
    drop(s);
    assert_gone(pid);
}

#[test]
fn runs_as_script_user() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: needs root");
        return;
    }
    let creds = Credentials::lookup("nobody", None).unwrap();
    assert_ne!(creds.uid, 0);
    let line = format!(
        "[ \"$(id -u)\" = {} ] && [ \"$(id -g)\" = {} ] && [ \"$(id -G)\" = {} ]",
        creds.uid, creds.gid, creds.gid
    );
    let s =
        RunningScript::spawn(&CommandLine::parse(&line).unwrap(), &[], Some(creds), None).unwrap();
    assert_eq!(run(s).0, ExitOutcome::Exited(0));
    assert!(Credentials::lookup("no-such-user-sys", None).is_err());
    assert!(Credentials::lookup("nobody", Some("no-such-group-sys")).is_err());
}
