//! The pid file (`-p FILE`): refuses to start a second daemon, removed again on exit.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// keepalived's default for the VRRP process when `-p` is not given is `/run/keepalived.pid`;
/// ours is named for us so both can run side by side (interop tests do).
pub const DEFAULT_PID_FILE: &str = "/run/lbd.pid";

#[derive(Debug, thiserror::Error)]
pub enum PidFileError {
    #[error("daemon is already running (pid {pid} in {path})")]
    AlreadyRunning { path: PathBuf, pid: i32 },
    #[error("cannot write pid file {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

/// A written pid file; removed when dropped (only if it still holds our pid).
#[derive(Debug)]
pub struct PidFile {
    path: PathBuf,
    pid: u32,
}

impl PidFile {
    /// Writes our pid to `path`. A file naming a live process other than us is an error; a stale
    /// one (left by `kill -9`) is replaced.
    pub fn create(path: &Path) -> Result<Self, PidFileError> {
        let pid = std::process::id();
        if let Some(other) = read_pid(path) {
            if other != pid as i32 && process_alive(other) {
                return Err(PidFileError::AlreadyRunning {
                    path: path.to_owned(),
                    pid: other,
                });
            }
        }
        let io_err = |source| PidFileError::Io {
            path: path.to_owned(),
            source,
        };
        // Remove first so that a symlink planted at the path is replaced, never followed.
        match fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err(e)),
        }
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)
            .map_err(io_err)?;
        writeln!(file, "{pid}").map_err(io_err)?;
        Ok(Self {
            path: path.to_owned(),
            pid,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        if read_pid(&self.path) == Some(self.pid as i32) {
            let _ = fs::remove_file(&self.path);
        }
    }
}

fn read_pid(path: &Path) -> Option<i32> {
    fs::read_to_string(path)
        .ok()?
        .trim()
        .parse()
        .ok()
        .filter(|p| *p > 0)
}

fn process_alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks for existence and permission.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_path(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("lbd-pidfile-test-{}-{name}", std::process::id()))
    }

    #[test]
    fn writes_and_removes() {
        let path = temp_path("a");
        let pf = PidFile::create(&path).unwrap();
        assert_eq!(read_pid(&path), Some(std::process::id() as i32));
        drop(pf);
        assert!(!path.exists());
    }

    #[test]
    fn replaces_stale_refuses_live() {
        let path = temp_path("b");
        // A pid that cannot exist (above the kernel's pid_max limit of 2^22).
        fs::write(&path, "99999999\n").unwrap();
        let pf = PidFile::create(&path).unwrap();
        drop(pf);
        // pid 1 is always alive.
        fs::write(&path, "1\n").unwrap();
        assert!(matches!(
            PidFile::create(&path),
            Err(PidFileError::AlreadyRunning { pid: 1, .. })
        ));
        fs::remove_file(&path).unwrap();
    }
}
