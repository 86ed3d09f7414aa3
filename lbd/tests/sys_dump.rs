//! The state dump: written 0600 under /run, never through a symlink, a hard
//! link or a FIFO, never under /tmp.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use lbd::daemon::sys::dump::write_bytes;
use lbd::daemon::sys::{write_json, DumpError};

/// A private directory under /run, removed on drop.
struct RunDir(PathBuf);

impl RunDir {
    fn new(name: &str) -> Option<Self> {
        let d = PathBuf::from(format!("/run/sy-dump-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&d).ok()?;
        Some(RunDir(d))
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
}

#[test]
fn writes_json_with_mode_0600() {
    let Some(dir) = RunDir::new("json") else {
        eprintln!("skipped: /run not writable");
        return;
    };
    // Parent directory created on demand, private.
    let path = dir.0.join("sub/lbd.json");
    write_json(&path, &serde_json::json!({"VI_1": {"state": "MASTER"}})).unwrap();
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(path.parent().unwrap()), 0o700);
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(v["VI_1"]["state"], "MASTER");

    // A pre-existing, longer, world-readable file is truncated and tightened.
    std::fs::write(&path, vec![b'x'; 10_000]).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    write_bytes(&path, b"{}\n").unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"{}\n");
    assert_eq!(mode(&path), 0o600);
}

#[test]
fn refuses_symlink_hardlink_fifo_and_tmp() {
    let Some(dir) = RunDir::new("refuse") else {
        eprintln!("skipped: /run not writable");
        return;
    };
    let victim = dir.0.join("victim");
    std::fs::write(&victim, b"precious").unwrap();

    let link = dir.0.join("via-symlink.json");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    assert!(matches!(
        write_bytes(&link, b"{}"),
        Err(DumpError::Symlink(_))
    ));

    let hard = dir.0.join("via-hardlink.json");
    std::fs::hard_link(&victim, &hard).unwrap();
    assert!(matches!(
        write_bytes(&hard, b"{}"),
        Err(DumpError::NotRegular(_))
    ));
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    assert_eq!(std::fs::metadata(&victim).unwrap().nlink(), 2);

    let fifo = dir.0.join("fifo.json");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    // Must return at once (no reader), not block.
    assert!(matches!(
        write_bytes(&fifo, b"{}"),
        Err(DumpError::NotRegular(_))
    ));

    assert!(matches!(
        write_bytes(Path::new("/tmp/lbd.json"), b"{}"),
        Err(DumpError::BadPath(_))
    ));
}
