mod common;

use std::time::Duration;

use common::*;
use healthcheck::misc::RunAs;
use healthcheck::{CheckKind, CheckOutcome, CheckSpec, FailureKind, MiscConfig, Timing};

fn misc_spec(path: &str, timeout: Duration, dynamic: bool) -> CheckSpec {
    CheckSpec {
        kind: CheckKind::Misc(MiscConfig {
            path: path.into(),
            timeout: Some(timeout),
            dynamic,
            run_as: None,
        }),
        timing: Timing::misc(Duration::from_secs(1)),
    }
}

const T: Duration = Duration::from_secs(5);

#[test]
fn exit_status_decides() {
    assert_up(&attempt(&misc_spec("/bin/true", T, false)).0);
    let (o, _) = attempt(&misc_spec("/bin/false", T, false));
    assert_down(
        &o,
        FailureKind::Script,
        "Misc check for [/bin/false] failed with retcode [1].",
    );
    // Arguments are split without a shell; quotes group words.
    assert_up(&attempt(&misc_spec("/usr/bin/test 'a b' = \"a b\"", T, false)).0);
    // Shell syntax goes through /bin/sh -c.
    assert_up(&attempt(&misc_spec("[ -d /tmp ] && exit 0 || exit 1", T, false)).0);
    let (o, _) = attempt(&misc_spec("/nonexistent/check", T, false));
    assert_down(&o, FailureKind::Script, "could not be started");
}

#[test]
fn misc_dynamic_weights() {
    let dir = std::env::temp_dir().join(format!("hc-misc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("weight.sh");
    std::fs::write(&script, "#!/bin/sh\nexit \"$1\"\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    wait_not_busy(&script);
    let path = |code: u8| format!("{} {code}", script.display());
    assert_eq!(attempt(&misc_spec(&path(0), T, true)).0, CheckOutcome::Up);
    assert!(matches!(
        attempt(&misc_spec(&path(1), T, true)).0,
        CheckOutcome::Down(_)
    ));
    assert_eq!(
        attempt(&misc_spec(&path(12), T, true)).0,
        CheckOutcome::UpWithWeight(10)
    );
    assert_eq!(
        attempt(&misc_spec(&path(255), T, true)).0,
        CheckOutcome::UpWithWeight(253)
    );
    // Without misc_dynamic, any non-zero status is a failure.
    assert!(matches!(
        attempt(&misc_spec(&path(12), T, false)).0,
        CheckOutcome::Down(_)
    ));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn killed_after_misc_timeout_with_its_children() {
    let marker = std::env::temp_dir().join(format!("hc-misc-kill-{}", std::process::id()));
    let _ = std::fs::remove_file(&marker);
    // The grandchild would create the marker after 1.5 s if the process group survived.
    let line = format!("sleep 1.5 && touch {} ; sleep 10", marker.display());
    let t = Duration::from_millis(300);
    let (o, elapsed) = attempt(&misc_spec(&line, t, false));
    assert_down(&o, FailureKind::Script, "timed out");
    assert!(
        elapsed >= t && elapsed < t + Duration::from_millis(300),
        "{elapsed:?}"
    );
    std::thread::sleep(Duration::from_millis(1800));
    assert!(!marker.exists(), "process group was not killed");
}

/// Debian's `nobody` and `nogroup`: present on every system, and never the test's own ids.
const NOBODY: RunAs = RunAs {
    uid: 65534,
    gid: 65534,
};

#[test]
fn runs_as_the_configured_user_with_no_other_group() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: changing user needs root");
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("hc-misc-user-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = dir.join("id");
    let line = format!(
        "/bin/sh -c 'id -u > {0}; id -g >> {0}; id -G >> {0}'",
        out.display()
    );
    let mut spec = misc_spec(&line, T, false);
    if let CheckKind::Misc(m) = &mut spec.kind {
        m.run_as = Some(NOBODY);
    }
    assert_up(&attempt(&spec).0);
    let ids = std::fs::read_to_string(&out).unwrap();
    // uid, gid, and the group list: the primary group alone, none of root's groups.
    assert_eq!(ids, "65534\n65534\n65534\n");
    // The file is the child's, created as nobody.
    use std::os::unix::fs::MetadataExt;
    assert_eq!(std::fs::metadata(&out).unwrap().uid(), 65534);

    // Without run_as the same line runs as the daemon (root here).
    std::fs::remove_file(&out).unwrap();
    assert_up(&attempt(&misc_spec(&line, T, false)).0);
    let ids = std::fs::read_to_string(&out).unwrap();
    assert!(ids.starts_with("0\n0\n"), "{ids}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_program_the_user_cannot_run_is_a_failure() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: changing user needs root");
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("hc-misc-noexec-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("root-only.sh");
    std::fs::write(&script, "#!/bin/sh\nexit 0\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o700)).unwrap();
    wait_not_busy(&script);
    let mut spec = misc_spec(script.to_str().unwrap(), T, false);
    assert_up(&attempt(&spec).0);
    if let CheckKind::Misc(m) = &mut spec.kind {
        m.run_as = Some(NOBODY);
    }
    let (o, _) = attempt(&spec);
    assert_down(&o, FailureKind::Script, "could not be started");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A script just written can be briefly unexecutable (ETXTBSY): a child that another test
/// thread forks at that moment inherits the writable descriptor until its exec closes it.
/// Runs the script (as root, where these tests run) until the kernel lets it.
fn wait_not_busy(script: &std::path::Path) {
    for _ in 0..100 {
        match std::process::Command::new(script).arg("0").status() {
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            _ => return,
        }
    }
    panic!("{} stayed busy (ETXTBSY)", script.display());
}
