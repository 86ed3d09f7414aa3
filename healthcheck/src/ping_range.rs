//! `net.ipv4.ping_group_range`: which groups may open the kernel's ping sockets
//! (`SOCK_DGRAM`/`IPPROTO_ICMP[V6]`, what PING_CHECK uses). The kernel's own default, `1 0`,
//! admits nobody, root included, and many hosts keep it. keepalived lowers the range's
//! minimum to 0 as soon as a PING_CHECK is configured and puts the old minimum back when
//! its checker process exits; [`PingGroupRange::admit_root`] does the same for a daemon
//! that embeds this crate.
//!
//! The setting is per network namespace: the file opened is the one of the calling thread's
//! namespace.

use std::fs::OpenOptions;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Where the kernel exposes the range.
pub const PATH: &str = "/proc/sys/net/ipv4/ping_group_range";

/// The range as the kernel prints it: `MIN<TAB>MAX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub min: u32,
    pub max: u32,
}

impl Range {
    /// Parses the file's content; `None` when it is not two numbers.
    pub fn parse(text: &str) -> Option<Range> {
        let mut it = text.split_ascii_whitespace();
        let min = it.next()?.parse().ok()?;
        let max = it.next()?.parse().ok()?;
        it.next().is_none().then_some(Range { min, max })
    }

    /// Whether group 0 may open ping sockets.
    pub fn admits_root(self) -> bool {
        self.min == 0 && self.max >= self.min
    }
}

/// A range lowered to admit group 0; [`Drop`] puts the old minimum back, as keepalived
/// does at exit. Leak it (`std::mem::forget`) to keep the change.
#[derive(Debug)]
pub struct PingGroupRange {
    path: PathBuf,
    /// What the range was before; `None` when it already admitted root (nothing to undo).
    before: Option<Range>,
}

impl PingGroupRange {
    /// Lowers the minimum of the range in [`PATH`] to 0, keeping its maximum (the range
    /// `1 0` becomes `0 0`).
    pub fn admit_root() -> io::Result<Self> {
        Self::admit_root_at(Path::new(PATH))
    }

    /// [`Self::admit_root`] on another file (tests).
    pub fn admit_root_at(path: &Path) -> io::Result<Self> {
        let mut f = OpenOptions::new().read(true).write(true).open(path)?;
        let mut text = String::new();
        f.read_to_string(&mut text)?;
        let range = Range::parse(&text).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{}: expected 'MIN MAX', got '{}'",
                    path.display(),
                    text.trim()
                ),
            )
        })?;
        let before = if range.admits_root() {
            None
        } else {
            write_range(&mut f, 0, range.max)?;
            Some(range)
        };
        Ok(PingGroupRange {
            path: path.to_owned(),
            before,
        })
    }

    /// The range found before the change, when there was one.
    pub fn changed_from(&self) -> Option<Range> {
        self.before
    }
}

impl Drop for PingGroupRange {
    fn drop(&mut self) {
        let Some(before) = self.before else { return };
        // Only the minimum is ours; keep a maximum someone set in the meantime.
        let restore = || -> io::Result<()> {
            let mut f = OpenOptions::new().read(true).write(true).open(&self.path)?;
            let mut text = String::new();
            f.read_to_string(&mut text)?;
            let now = Range::parse(&text).unwrap_or(before);
            write_range(&mut f, before.min, now.max)
        };
        let _ = restore();
    }
}

fn write_range(f: &mut std::fs::File, min: u32, max: u32) -> io::Result<()> {
    let text = format!("{min}\t{max}\n");
    f.seek(SeekFrom::Start(0))?;
    f.write_all(text.as_bytes())?;
    // A sysctl file takes the write whole; a plain file (the tests') must lose its old tail.
    // Truncating a sysctl fails harmlessly.
    let _ = f.set_len(text.len() as u64);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_the_kernel_prints() {
        assert_eq!(Range::parse("1\t0\n"), Some(Range { min: 1, max: 0 }));
        assert_eq!(
            Range::parse("0\t2147483647\n"),
            Some(Range {
                min: 0,
                max: 2147483647
            })
        );
        assert_eq!(Range::parse("1"), None);
        assert_eq!(Range::parse("a b"), None);
        assert_eq!(Range::parse("1 2 3"), None);
    }

    #[test]
    fn the_kernel_default_does_not_admit_root() {
        assert!(!Range { min: 1, max: 0 }.admits_root());
        assert!(!Range { min: 100, max: 200 }.admits_root());
        assert!(Range { min: 0, max: 0 }.admits_root());
    }

    #[test]
    fn admit_root_lowers_the_minimum_and_drop_restores_it() {
        let dir = std::env::temp_dir().join(format!("hc-pgr-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("range");
        std::fs::write(&file, "100\t200\n").unwrap();
        let guard = PingGroupRange::admit_root_at(&file).unwrap();
        assert_eq!(guard.changed_from(), Some(Range { min: 100, max: 200 }));
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "0\t200\n");
        drop(guard);
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "100\t200\n");

        std::fs::write(&file, "0\t5\n").unwrap();
        let guard = PingGroupRange::admit_root_at(&file).unwrap();
        assert_eq!(guard.changed_from(), None);
        drop(guard);
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "0\t5\n");

        std::fs::write(&file, "junk\n").unwrap();
        let e = PingGroupRange::admit_root_at(&file).unwrap_err();
        assert!(e.to_string().contains("expected 'MIN MAX'"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
