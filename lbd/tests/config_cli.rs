//! `lbd -t -f FILE`: diagnostics on stderr, exit 0 without errors (warnings allowed),
//! 1 with errors, like `keepalived -t`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn lbd_t(file: &Path) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_lbd"))
        .arg("-t")
        .arg("-f")
        .arg(file)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn write(name: &str, text: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("config_cli");
    fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    fs::write(&path, text).unwrap();
    path
}

#[test]
fn valid_config_exits_zero() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/vrrp-master.conf");
    let (code, err) = lbd_t(&example);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("configuration OK"), "{err}");
}

#[test]
fn warnings_alone_exit_zero() {
    let f = write("warn.conf", "global_defs {\n  router_idd x\n}\n");
    let (code, err) = lbd_t(&f);
    assert_eq!(code, 0, "{err}");
    let expected = format!(
        "{}:2: warning: unknown keyword 'router_idd' (did you mean 'router_id'?)",
        f.display()
    );
    assert!(err.lines().any(|l| l == expected), "{err}");
}

#[test]
fn errors_exit_one_with_file_and_line() {
    let f = write(
        "bad.conf",
        "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  priority abc\n}\n",
    );
    let (code, err) = lbd_t(&f);
    assert_eq!(code, 1, "{err}");
    let expected = format!(
        "{}:4: error: expected an integer 1..255 for priority, got 'abc'",
        f.display()
    );
    assert!(err.lines().any(|l| l == expected), "{err}");
    assert!(err.contains("1 error(s)"), "{err}");
}

#[test]
fn missing_file_exits_one() {
    let (code, err) = lbd_t(Path::new("/nonexistent/keepalived.conf"));
    assert_eq!(code, 1);
    assert!(
        err.contains("cannot read /nonexistent/keepalived.conf"),
        "{err}"
    );
}

/// `keepalived -t -f FILE`: (exit code, stderr).
fn keepalived_t(file: &Path) -> (i32, String) {
    let out = Command::new("/usr/sbin/keepalived")
        .arg("-t")
        .arg("-f")
        .arg(file)
        .output()
        .expect("this test compares with /usr/sbin/keepalived (Debian's keepalived 2.2.7)");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn missing_virtual_router_id_fails_like_keepalived() {
    // keepalived 2.2.7 does not drop the instance and carry on: `-t` fails and the daemon
    // exits with "permanent error CONFIG", whatever else the file holds. lbd does the same.
    let f = write(
        "novrid.conf",
        "vrrp_instance VI_1 {\n    interface lo\n    virtual_ipaddress {\n        192.0.2.100\n    }\n}\n\
         vrrp_instance VI_2 {\n    interface lo\n    virtual_router_id 52\n    virtual_ipaddress {\n        192.0.2.101\n    }\n}\n",
    );
    let (code, err) = keepalived_t(&f);
    assert_ne!(code, 0, "{err}");
    assert!(
        err.contains("(VI_1) the virtual router id must be set"),
        "{err}"
    );
    let (code, err) = lbd_t(&f);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("novrid.conf:1: error: vrrp_instance VI_1 has no virtual_router_id"),
        "{err}"
    );
}
