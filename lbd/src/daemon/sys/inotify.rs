//! inotify on directories: which names in them were written, moved or deleted.
//!
//! A file is watched through its directory, as keepalived does for its track files: the
//! watch then survives the file being deleted, replaced by `mv`, or created later.

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// What happened to a name in a watched directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirEvent {
    /// Written and closed, or moved in: read it again.
    Written { wd: i32, name: OsString },
    /// Deleted or moved away.
    Gone { wd: i32, name: OsString },
    /// The directory itself went away: its watch is over.
    Unwatched { wd: i32 },
    /// The kernel dropped events: read everything again.
    Overflow,
}

/// One non-blocking inotify instance.
#[derive(Debug)]
pub struct Inotify {
    fd: OwnedFd,
}

super::impl_source_via_fd!(Inotify, fd);

/// The events a directory watch asks for: keepalived's set.
const MASK: u32 = libc::IN_CLOSE_WRITE | libc::IN_DELETE | libc::IN_MOVE;

impl Inotify {
    pub fn new() -> io::Result<Self> {
        // SAFETY: no pointer arguments; the result is checked.
        let fd = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just returned by the kernel and is owned by nobody else.
        Ok(Inotify {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// Watches `dir`; the same directory twice gives the same descriptor.
    pub fn watch_dir(&self, dir: &Path) -> io::Result<i32> {
        let c = std::ffi::CString::new(dir.as_os_str().as_bytes())
            .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        // SAFETY: `c` is a valid NUL-terminated path for the duration of the call.
        let wd = unsafe { libc::inotify_add_watch(self.fd.as_raw_fd(), c.as_ptr(), MASK) };
        if wd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(wd)
    }

    /// Every event waiting, until the kernel has no more (the fd is edge-triggered in mio).
    pub fn drain(&self, out: &mut Vec<DirEvent>) -> io::Result<()> {
        // Room for many events with names up to NAME_MAX.
        let mut buf = vec![0u8; 16 * (EVENT_HEADER + 256)];
        loop {
            // SAFETY: `buf` is valid for writes of `buf.len()` bytes.
            let n = unsafe {
                libc::read(
                    self.fd.as_raw_fd(),
                    buf.as_mut_ptr().cast::<libc::c_void>(),
                    buf.len(),
                )
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                return match e.kind() {
                    io::ErrorKind::WouldBlock => Ok(()),
                    io::ErrorKind::Interrupted => continue,
                    _ => Err(e),
                };
            }
            let n = n as usize;
            if n == 0 {
                return Ok(());
            }
            parse(&buf[..n], out);
        }
    }
}

/// `struct inotify_event` without its name: wd, mask, cookie, len.
const EVENT_HEADER: usize = 16;

/// The events in one `read` of an inotify descriptor.
fn parse(mut bytes: &[u8], out: &mut Vec<DirEvent>) {
    while bytes.len() >= EVENT_HEADER {
        let word = |i: usize| {
            let mut w = [0u8; 4];
            w.copy_from_slice(&bytes[i..i + 4]);
            w
        };
        let wd = i32::from_ne_bytes(word(0));
        let mask = u32::from_ne_bytes(word(4));
        let len = u32::from_ne_bytes(word(12)) as usize;
        let Some(name) = bytes.get(EVENT_HEADER..EVENT_HEADER + len) else {
            return;
        };
        // The name is NUL-padded to an alignment boundary.
        let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
        let name = OsStr::from_bytes(&name[..end]).to_owned();
        bytes = &bytes[EVENT_HEADER + len..];
        if mask & libc::IN_Q_OVERFLOW != 0 {
            out.push(DirEvent::Overflow);
        } else if mask & libc::IN_IGNORED != 0 {
            out.push(DirEvent::Unwatched { wd });
        } else if mask & libc::IN_ISDIR != 0 {
            // Directories with the file's name are not the file.
        } else if mask & (libc::IN_DELETE | libc::IN_MOVED_FROM) != 0 {
            out.push(DirEvent::Gone { wd, name });
        } else if mask & (libc::IN_CLOSE_WRITE | libc::IN_MOVED_TO) != 0 {
            out.push(DirEvent::Written { wd, name });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &[u8]) -> OsString {
        OsStr::from_bytes(s).to_owned()
    }

    fn event(wd: i32, mask: u32, name: &str) -> Vec<u8> {
        let mut padded = name.as_bytes().to_vec();
        padded.resize(name.len().div_ceil(16).max(1) * 16, 0);
        let mut v = Vec::new();
        v.extend_from_slice(&wd.to_ne_bytes());
        v.extend_from_slice(&mask.to_ne_bytes());
        v.extend_from_slice(&0u32.to_ne_bytes());
        v.extend_from_slice(&(padded.len() as u32).to_ne_bytes());
        v.extend_from_slice(&padded);
        v
    }

    #[test]
    fn events_parse_by_kind() {
        let mut bytes = event(1, libc::IN_CLOSE_WRITE, "weight");
        bytes.extend(event(1, libc::IN_MOVED_FROM, "weight"));
        bytes.extend(event(2, libc::IN_DELETE | libc::IN_ISDIR, "weight"));
        bytes.extend(event(2, libc::IN_IGNORED, ""));
        bytes.extend(event(-1, libc::IN_Q_OVERFLOW, ""));
        // A truncated tail is dropped.
        bytes.extend(&event(1, libc::IN_MOVED_TO, "x")[..20]);
        let mut out = Vec::new();
        parse(&bytes, &mut out);
        assert_eq!(
            out,
            [
                DirEvent::Written {
                    wd: 1,
                    name: name(b"weight")
                },
                DirEvent::Gone {
                    wd: 1,
                    name: name(b"weight")
                },
                DirEvent::Unwatched { wd: 2 },
                DirEvent::Overflow,
            ]
        );
    }

    #[test]
    fn a_written_file_is_reported_by_name() {
        let dir = std::env::temp_dir().join(format!("lbd-inotify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ino = Inotify::new().unwrap();
        let wd = ino.watch_dir(&dir).unwrap();
        assert_eq!(ino.watch_dir(&dir).unwrap(), wd);
        std::fs::write(dir.join("value"), "3\n").unwrap();
        std::fs::remove_file(dir.join("value")).unwrap();
        let mut out = Vec::new();
        ino.drain(&mut out).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(
            out,
            [
                DirEvent::Written {
                    wd,
                    name: name(b"value")
                },
                DirEvent::Gone {
                    wd,
                    name: name(b"value")
                },
            ]
        );
    }
}
