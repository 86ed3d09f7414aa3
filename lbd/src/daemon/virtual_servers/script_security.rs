//! `enable_script_security` for MISC_CHECK: a program that would run as root must not be
//! replaceable by anyone else.
//!
//! keepalived's rule: the program and every directory above it must be owned by root,
//! not group-writable unless the group is root, and not world-writable. lbd follows it,
//! with one reading made explicit: a world-writable directory with the sticky bit (`/tmp`)
//! does not make a root-owned file in it insecure, since only root may then rename or
//! remove that file.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Where programs named without a `/` are looked up when the daemon has no `PATH`: what a
/// root shell on Debian gets.
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Why a script may not run as root.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Insecure {
    #[error("{0} is not found in PATH")]
    NotFound(String),
    #[error("cannot inspect {}: {reason}", path.display())]
    Unreadable { path: PathBuf, reason: String },
    #[error("{} is owned by uid {uid}, not root", path.display())]
    Owner { path: PathBuf, uid: u32 },
    #[error("{} is writable by group {gid}", path.display())]
    GroupWritable { path: PathBuf, gid: u32 },
    #[error("{} is writable by everyone", path.display())]
    WorldWritable { path: PathBuf },
}

/// The program a script line starts: its first word, looked up in `PATH` when it has no `/`.
pub fn program(first_word: &str) -> Result<PathBuf, Insecure> {
    if first_word.contains('/') {
        return Ok(PathBuf::from(first_word));
    }
    let path = std::env::var("PATH").unwrap_or_else(|_| DEFAULT_PATH.to_owned());
    path.split(':')
        .filter(|d| !d.is_empty())
        .map(|d| Path::new(d).join(first_word))
        .find(|p| p.is_file())
        .ok_or_else(|| Insecure::NotFound(first_word.to_owned()))
}

/// Whether `program` and each directory above it can be changed only by root. Symbolic
/// links are followed to what will actually be executed.
pub fn check(program: &Path) -> Result<(), Insecure> {
    let real = std::fs::canonicalize(program).map_err(|e| Insecure::Unreadable {
        path: program.to_path_buf(),
        reason: e.to_string(),
    })?;
    for p in real.ancestors() {
        let m = std::fs::metadata(p).map_err(|e| Insecure::Unreadable {
            path: p.to_path_buf(),
            reason: e.to_string(),
        })?;
        secure(p, m.uid(), m.gid(), m.mode(), m.is_dir())?;
    }
    Ok(())
}

/// The rule for one path with its owner, group and mode bits.
fn secure(path: &Path, uid: u32, gid: u32, mode: u32, is_dir: bool) -> Result<(), Insecure> {
    const GROUP_WRITE: u32 = 0o020;
    const WORLD_WRITE: u32 = 0o002;
    const STICKY: u32 = 0o1000;
    if uid != 0 {
        return Err(Insecure::Owner {
            path: path.to_path_buf(),
            uid,
        });
    }
    if mode & GROUP_WRITE != 0 && gid != 0 {
        return Err(Insecure::GroupWritable {
            path: path.to_path_buf(),
            gid,
        });
    }
    if mode & WORLD_WRITE != 0 && !(is_dir && mode & STICKY != 0) {
        return Err(Insecure::WorldWritable {
            path: path.to_path_buf(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule() {
        let p = Path::new("/x");
        assert_eq!(secure(p, 0, 0, 0o755, false), Ok(()));
        assert_eq!(secure(p, 0, 0, 0o775, true), Ok(()));
        assert!(matches!(
            secure(p, 1000, 0, 0o755, false),
            Err(Insecure::Owner { uid: 1000, .. })
        ));
        assert!(matches!(
            secure(p, 0, 50, 0o775, true),
            Err(Insecure::GroupWritable { gid: 50, .. })
        ));
        assert!(matches!(
            secure(p, 0, 0, 0o777, false),
            Err(Insecure::WorldWritable { .. })
        ));
        // /tmp: world-writable but sticky.
        assert_eq!(secure(p, 0, 0, 0o1777, true), Ok(()));
        assert!(secure(p, 0, 0, 0o1777, false).is_err());
    }

    #[test]
    fn system_programs_are_secure_and_a_writable_one_is_not() {
        assert_eq!(check(&program("true").unwrap()), Ok(()));
        assert!(matches!(
            program("no-such-program-lbd"),
            Err(Insecure::NotFound(_))
        ));
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("lbd-scriptsec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let f = dir.join("check.sh");
        std::fs::write(&f, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o757)).unwrap();
        assert!(check(&f).is_err());
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o755)).unwrap();
        // Root's own file in a root-owned directory under /tmp (sticky): fine when we are
        // root; owned by someone else otherwise.
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            assert_eq!(check(&f), Ok(()));
        } else {
            assert!(matches!(check(&f), Err(Insecure::Owner { .. })));
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
