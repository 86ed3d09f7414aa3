//! The status socket: a Unix stream socket (default [`DEFAULT_PATH`]) the daemon answers
//! `status\n` on with its [`Status`] as JSON, and the client side `lbd status` uses.
//!
//! Root only: the socket is created 0600 (under a umask, so it is never reachable with looser
//! permissions, not even briefly) and a peer whose uid is neither root nor ours is closed at
//! once. A socket file left by a killed daemon is detected (nobody accepts on it) and replaced;
//! one a live daemon listens on is left alone. On exit the daemon removes the file only if it is
//! still the one it created.

use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::server::{Parse, Protocol};
use super::status::Status;

pub const DEFAULT_PATH: &str = "/run/lbd/lbd.sock";

/// The request line the client sends.
const STATUS_REQUEST: &[u8] = b"status\n";
const MAX_REQUEST: usize = 256;
/// Answers larger than this are not a status document.
const MAX_ANSWER: u64 = 64 * 1024 * 1024;
const CLIENT_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("another daemon is listening on {0}")]
    InUse(PathBuf),
    #[error("{0} exists and is not a socket; not touching it")]
    NotASocket(PathBuf),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// Requests the daemon answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlRequest {
    Status,
}

pub fn protocol() -> Protocol<ControlRequest> {
    Protocol {
        max_request: MAX_REQUEST,
        parse,
        too_large: || b"error: request too long\n".to_vec(),
    }
}

fn parse(buf: &[u8]) -> Parse<ControlRequest> {
    let Some(end) = buf.iter().position(|b| *b == b'\n') else {
        return Parse::Incomplete;
    };
    match buf[..end].strip_suffix(b"\r").unwrap_or(&buf[..end]) {
        b"status" => Parse::Request(ControlRequest::Status),
        _ => Parse::Reply(b"error: unknown request (try \"status\")\n".to_vec()),
    }
}

/// The bound socket file; removed on drop if it is still ours.
#[derive(Debug)]
pub struct SocketFile {
    path: PathBuf,
    dev: u64,
    ino: u64,
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        let ours = std::fs::symlink_metadata(&self.path)
            .is_ok_and(|m| m.dev() == self.dev && m.ino() == self.ino);
        if ours {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Binds the daemon's socket at `path`, replacing a stale one.
pub fn bind(path: &Path) -> Result<(mio::net::UnixListener, SocketFile), ControlError> {
    let io_err = |source| ControlError::Io {
        path: path.to_owned(),
        source,
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        if !parent.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(parent)
                .map_err(io_err)?;
        }
    }
    match std::fs::symlink_metadata(path) {
        Ok(m) if !m.file_type().is_socket() => return Err(ControlError::NotASocket(path.into())),
        Ok(_) => match std::os::unix::net::UnixStream::connect(path) {
            Ok(_) => return Err(ControlError::InUse(path.into())),
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                tracing::info!("removing stale status socket {}", path.display());
                std::fs::remove_file(path).map_err(io_err)?;
            }
            Err(e) => return Err(io_err(e)),
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_err(e)),
    }
    // SAFETY: umask only swaps the process mask; the daemon is single-threaded here.
    let old = unsafe { libc::umask(0o177) };
    let bound = mio::net::UnixListener::bind(path);
    // SAFETY: as above, restoring the previous mask.
    unsafe { libc::umask(old) };
    let listener = bound.map_err(io_err)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(io_err)?;
    let meta = std::fs::symlink_metadata(path).map_err(io_err)?;
    Ok((
        listener,
        SocketFile {
            path: path.to_owned(),
            dev: meta.dev(),
            ino: meta.ino(),
        },
    ))
}

/// Admits root and our own uid (SO_PEERCRED); the file mode already keeps others out, this
/// holds even if someone loosens it.
pub fn admit(stream: &mio::net::UnixStream) -> bool {
    let mut cred = libc::ucred {
        pid: 0,
        uid: u32::MAX,
        gid: u32::MAX,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: `cred` and `len` are valid for writes of the sizes passed.
    let rc = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    rc == 0 && (cred.uid == 0 || cred.uid == euid)
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("no daemon listening on {}", .0.display())]
    NoDaemon(PathBuf),
    #[error("permission denied on {} (the status socket is root only)", .0.display())]
    PermissionDenied(PathBuf),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("unexpected answer from the daemon: {0}")]
    BadAnswer(String),
}

/// Asks the daemon at `path` for its status.
pub fn query(path: &Path) -> Result<Status, ClientError> {
    let io_err = |source| ClientError::Io {
        path: path.to_owned(),
        source,
    };
    let mut stream = match std::os::unix::net::UnixStream::connect(path) {
        Ok(s) => s,
        Err(e) => {
            return Err(match e.kind() {
                io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused => {
                    ClientError::NoDaemon(path.to_owned())
                }
                io::ErrorKind::PermissionDenied => ClientError::PermissionDenied(path.to_owned()),
                _ => io_err(e),
            })
        }
    };
    stream
        .set_read_timeout(Some(CLIENT_TIMEOUT))
        .map_err(io_err)?;
    stream
        .set_write_timeout(Some(CLIENT_TIMEOUT))
        .map_err(io_err)?;
    stream.write_all(STATUS_REQUEST).map_err(io_err)?;
    let mut answer = Vec::new();
    stream
        .take(MAX_ANSWER)
        .read_to_end(&mut answer)
        .map_err(io_err)?;
    if answer.is_empty() {
        // Closed without a word: the peer check refused us.
        return Err(ClientError::PermissionDenied(path.to_owned()));
    }
    serde_json::from_slice(&answer).map_err(|e| {
        let text = String::from_utf8_lossy(&answer[..answer.len().min(200)]).into_owned();
        ClientError::BadAnswer(format!("{e}: {}", text.trim_end()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests() {
        assert_eq!(parse(b"stat"), Parse::Incomplete);
        assert_eq!(parse(b"status\n"), Parse::Request(ControlRequest::Status));
        assert_eq!(parse(b"status\r\n"), Parse::Request(ControlRequest::Status));
        assert!(matches!(parse(b"reload\n"), Parse::Reply(_)));
    }

    #[test]
    fn bind_replaces_stale_refuses_live_and_non_sockets() {
        let dir = std::env::temp_dir().join(format!("opctl-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("sub/lbd.sock");
        let (l, file) = bind(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(matches!(bind(&path), Err(ControlError::InUse(_))));
        // A killed daemon: the file stays, nobody listens.
        drop(l);
        std::mem::forget(file);
        assert!(path.exists());
        let (_l2, file2) = bind(&path).unwrap();
        drop(file2);
        assert!(!path.exists(), "removed on drop");
        let plain = dir.join("plain");
        std::fs::write(&plain, b"x").unwrap();
        assert!(matches!(bind(&plain), Err(ControlError::NotASocket(_))));
        assert!(matches!(
            query(&dir.join("none.sock")),
            Err(ClientError::NoDaemon(_))
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
