//! The JSON state dump (keepalived's `/tmp/keepalived.data` done safely).
//!
//! keepalived historically wrote its dumps to fixed names in /tmp, where any local
//! user can plant a symlink and have root truncate a file of their choosing. We
//! write under /run only, never follow a symlink in the final component
//! (`O_NOFOLLOW`), refuse anything that is not a regular file with a single link
//! (a hard link to e.g. /etc/shadow in the same filesystem would otherwise be
//! truncated), and only truncate after those checks on the open descriptor.
//! The file is mode 0600: it lists addresses and, potentially, auth data.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Default dump location.
pub const DEFAULT_PATH: &str = "/run/lbd/lbd.json";

/// Why the dump was not written.
#[derive(Debug, thiserror::Error)]
pub enum DumpError {
    /// The path is not absolute or lies under /tmp or /var/tmp (world-writable).
    #[error("refusing dump path {0:?}: must be absolute and not under /tmp")]
    BadPath(PathBuf),
    /// The final component is a symbolic link.
    #[error("refusing to write through symlink {0:?}")]
    Symlink(PathBuf),
    /// Not a regular file, or a regular file with other hard links.
    #[error("refusing to write {0:?}: not a lone regular file")]
    NotRegular(PathBuf),
    #[error("serialising the dump: {0}")]
    Serialize(#[from] serde_json::Error),
    #[error("writing {path:?}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// Serialises `value` as pretty JSON into `path` (see the module docs for the
/// safety checks). The parent directory is created (0700) if missing.
pub fn write_json<T: serde::Serialize + ?Sized>(path: &Path, value: &T) -> Result<(), DumpError> {
    let mut bytes = serde_json::to_vec_pretty(value)?;
    bytes.push(b'\n');
    write_bytes(path, &bytes)
}

/// Writes `contents` to `path` with the same checks as [`write_json`].
pub fn write_bytes(path: &Path, contents: &[u8]) -> Result<(), DumpError> {
    check_path(path)?;
    let io_err = |source| DumpError::Io {
        path: path.to_owned(),
        source,
    };
    if let Some(parent) = path.parent() {
        if !parent.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(parent)
                .map_err(io_err)?;
        }
    }
    let mut file = open_nofollow(path)?;
    let meta = file.metadata().map_err(io_err)?;
    if !meta.file_type().is_file() || meta.nlink() != 1 {
        return Err(DumpError::NotRegular(path.to_owned()));
    }
    if meta.permissions().mode() & 0o7777 != 0o600 {
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(io_err)?;
    }
    file.set_len(0).map_err(io_err)?;
    file.write_all(contents).map_err(io_err)?;
    Ok(())
}

fn check_path(path: &Path) -> Result<(), DumpError> {
    let bad = !path.is_absolute()
        || path.file_name().is_none()
        || path.starts_with("/tmp")
        || path.starts_with("/var/tmp")
        || path.starts_with("/dev/shm");
    if bad {
        return Err(DumpError::BadPath(path.to_owned()));
    }
    Ok(())
}

fn open_nofollow(path: &Path) -> Result<File, DumpError> {
    OpenOptions::new()
        .write(true)
        .create(true)
        .mode(0o600)
        // O_NONBLOCK: opening a FIFO planted at the path must not hang the loop;
        // it is refused by the regular-file check right after.
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(|source| match source.raw_os_error() {
            Some(libc::ELOOP) => DumpError::Symlink(path.to_owned()),
            Some(libc::ENXIO) => DumpError::NotRegular(path.to_owned()),
            _ => DumpError::Io {
                path: path.to_owned(),
                source,
            },
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_tmp_and_relative_paths() {
        for p in [
            "/tmp/lbd.json",
            "/var/tmp/x",
            "relative.json",
            "/dev/shm/x",
            "/",
        ] {
            assert!(
                matches!(check_path(Path::new(p)), Err(DumpError::BadPath(_))),
                "{p}"
            );
        }
        assert!(check_path(Path::new("/run/lbd/lbd.json")).is_ok());
    }
}
