//! Log output: keepalived's wording on stderr (`-l`) or syslog (the default), via `tracing`.
//!
//! The messages themselves are written where the events happen (`(VI_1) Entering MASTER STATE`);
//! this module only decides where they go and how much detail (`-D`) is kept.

use std::ffi::CString;
use std::io::{self, Write};
use std::sync::{Mutex, MutexGuard, Once};
use tracing::{Level, Metadata};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

/// Where log lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sink {
    /// `-l`: stderr, one line per event, with a timestamp (with a `<N>` priority prefix and
    /// no timestamp when stderr is the systemd journal).
    Console,
    /// The default: the local syslog daemon, ident `Keepalived_vrrp` like keepalived's VRRP child
    /// so existing log filters keep matching.
    Syslog,
}

/// Installs the global subscriber. Safe to call more than once (later calls do nothing), which
/// integration tests that run the daemon in-process rely on.
pub fn init(sink: Sink, detail: bool) {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = if detail { "debug" } else { "info" };
        // `LBD_LOG` overrides, with the usual `tracing` directive syntax.
        let filter = EnvFilter::try_from_env("LBD_LOG").unwrap_or_else(|_| {
            // netlink-packet-route warns about every link attribute newer kernels add (six
            // IFLA_INET6_* lines per start on 6.18); they are not the operator's business.
            EnvFilter::new(format!("{default},netlink_packet_route=error"))
        });
        let builder = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_target(detail)
            .with_ansi(false);
        let result = match sink {
            // Under systemd the journal stamps and ranks each line itself.
            Sink::Console if crate::ops::journal::stderr_is_journal() => builder
                .without_time()
                .with_level(false)
                .with_writer(crate::ops::journal::JournalWriter)
                .try_init(),
            Sink::Console => builder.with_writer(BufferedStderr).try_init(),
            Sink::Syslog => {
                openlog();
                builder
                    .without_time()
                    .with_level(false)
                    .with_writer(SyslogWriter)
                    .try_init()
            }
        };
        if let Err(e) = result {
            // Another subscriber is already installed (an embedding program): use it.
            eprintln!("lbd: logging already initialised: {e}");
        }
    });
}

/// Console lines not yet written. Start-up with tens of thousands of checkers logs as many
/// lines in one go; a `write(2)` each cost more than the work they describe (and far more
/// under emulation).
static CONSOLE: Mutex<Vec<u8>> = Mutex::new(Vec::new());

/// Past this many bytes the buffer is written even before the loop sleeps.
const CONSOLE_BUFFER: usize = 64 * 1024;

/// Writes the buffered console lines. The event loop calls it before it waits, so a line
/// is never held while the daemon is idle; warnings and errors are written at once anyway
/// (the process may be about to exit).
pub fn flush() {
    write_out(&mut console());
}

fn console() -> MutexGuard<'static, Vec<u8>> {
    // A panic while formatting leaves bytes, not a broken invariant.
    CONSOLE.lock().unwrap_or_else(|e| e.into_inner())
}

fn write_out(buf: &mut Vec<u8>) {
    if !buf.is_empty() {
        // Nowhere to report a failure to write the log.
        let _ = io::stderr().write_all(buf);
        buf.clear();
    }
}

/// `-l` without the journal: stderr through [`CONSOLE`].
#[derive(Debug, Clone, Copy)]
struct BufferedStderr;

/// One event being formatted, straight into the shared buffer.
struct ConsoleLine {
    buf: MutexGuard<'static, Vec<u8>>,
    urgent: bool,
}

impl Write for ConsoleLine {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for ConsoleLine {
    fn drop(&mut self) {
        if self.urgent || self.buf.len() >= CONSOLE_BUFFER {
            write_out(&mut self.buf);
        }
    }
}

impl<'a> MakeWriter<'a> for BufferedStderr {
    type Writer = ConsoleLine;
    fn make_writer(&'a self) -> ConsoleLine {
        ConsoleLine {
            buf: console(),
            urgent: true,
        }
    }
    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> ConsoleLine {
        ConsoleLine {
            buf: console(),
            urgent: *meta.level() <= Level::WARN,
        }
    }
}

fn openlog() {
    // The ident pointer must stay valid for the life of the process: a static C string.
    const IDENT: &[u8] = b"Keepalived_vrrp\0";
    // SAFETY: IDENT is NUL terminated and 'static; openlog stores the pointer.
    unsafe {
        libc::openlog(
            IDENT.as_ptr().cast(),
            libc::LOG_PID | libc::LOG_NDELAY,
            libc::LOG_DAEMON,
        )
    };
}

/// A `MakeWriter` that hands each formatted event to `syslog(3)` with the event's level.
#[derive(Debug, Clone, Copy)]
struct SyslogWriter;

/// Buffers one formatted event; the line is sent on drop (tracing writes an event in pieces).
struct SyslogLine {
    priority: libc::c_int,
    buf: Vec<u8>,
}

impl Write for SyslogLine {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for SyslogLine {
    fn drop(&mut self) {
        while self.buf.last().is_some_and(|b| *b == b'\n') {
            self.buf.pop();
        }
        self.buf.retain(|b| *b != 0);
        if let Ok(line) = CString::new(std::mem::take(&mut self.buf)) {
            // SAFETY: both strings are NUL terminated; "%s" consumes exactly one argument.
            unsafe { libc::syslog(self.priority, c"%s".as_ptr(), line.as_ptr()) };
        }
    }
}

impl<'a> MakeWriter<'a> for SyslogWriter {
    type Writer = SyslogLine;
    fn make_writer(&'a self) -> SyslogLine {
        SyslogLine {
            priority: libc::LOG_INFO,
            buf: Vec::with_capacity(128),
        }
    }
    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> SyslogLine {
        let priority = match *meta.level() {
            Level::ERROR => libc::LOG_ERR,
            Level::WARN => libc::LOG_WARNING,
            Level::INFO => libc::LOG_INFO,
            Level::DEBUG | Level::TRACE => libc::LOG_DEBUG,
        };
        SyslogLine {
            priority,
            buf: Vec::with_capacity(128),
        }
    }
}
