//! Console logging when stderr is the systemd journal: no timestamp (the journal has its own),
//! and the `<N>` syslog priority prefix the journal's stream reader turns into the entry's
//! priority, so `journalctl -p warning -u lbd` works.

use std::io::{self, Write};
use std::os::unix::fs::MetadataExt;

use tracing::{Level, Metadata};
use tracing_subscriber::fmt::MakeWriter;

/// Whether stderr is the journal stream systemd connected us to: `$JOURNAL_STREAM` is
/// `DEVICE:INODE` of that stream, compared with stderr's (a shell started from a unit inherits
/// the variable but not necessarily the stream).
pub fn stderr_is_journal() -> bool {
    let Some(var) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let Some((dev, ino)) = var.to_str().and_then(|s| s.split_once(':')) else {
        return false;
    };
    let (Ok(dev), Ok(ino)) = (dev.parse::<u64>(), ino.parse::<u64>()) else {
        return false;
    };
    std::fs::metadata("/proc/self/fd/2").is_ok_and(|m| m.dev() == dev && m.ino() == ino)
}

/// `MakeWriter` writing each event as one `<N>message` line on stderr.
#[derive(Debug, Clone, Copy)]
pub struct JournalWriter;

/// One event, written in a single `write` on drop so lines of a future second thread could
/// never interleave.
pub struct JournalLine {
    buf: Vec<u8>,
}

impl Write for JournalLine {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for JournalLine {
    fn drop(&mut self) {
        if !self.buf.ends_with(b"\n") {
            self.buf.push(b'\n');
        }
        let _ = io::stderr().lock().write_all(&self.buf);
    }
}

fn line(priority: u8) -> JournalLine {
    let mut buf = Vec::with_capacity(128);
    buf.extend_from_slice(&[b'<', b'0' + priority, b'>']);
    JournalLine { buf }
}

impl<'a> MakeWriter<'a> for JournalWriter {
    type Writer = JournalLine;
    fn make_writer(&'a self) -> JournalLine {
        line(6)
    }
    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> JournalLine {
        line(match *meta.level() {
            Level::ERROR => 3,
            Level::WARN => 4,
            Level::INFO => 6,
            Level::DEBUG | Level::TRACE => 7,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_journal_without_matching_stream() {
        // The test harness' stderr is not a journal stream whatever the environment says.
        if std::env::var_os("JOURNAL_STREAM").is_none() {
            assert!(!stderr_is_journal());
        }
        let l = line(3);
        assert_eq!(&l.buf, b"<3>");
        std::mem::forget(l);
    }
}
