mod common;

use std::time::Duration;

use common::*;
use healthcheck::{CheckKind, CheckOutcome, CheckSpec, FailureKind, MiscConfig, Timing};

fn misc_spec(path: &str, timeout: Duration, dynamic: bool) -> CheckSpec {
    CheckSpec {
        kind: CheckKind::Misc(MiscConfig {
            path: path.into(),
            timeout: Some(timeout),
            dynamic,
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
