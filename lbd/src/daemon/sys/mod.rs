//! Kernel I/O building blocks of the daemon: sockets, netlink, child processes, files.
//!
//! Everything here is non-blocking and registrable with the daemon's single mio
//! loop (each long-lived handle implements [`mio::event::Source`]). Nothing here
//! knows VRRP semantics: the modules move bytes and kernel state, the engines decide.
//!
//! * [`vrrp_socket`]: one raw IPPROTO 112 socket per (interface, family).
//! * [`addr`]: rtnetlink address add/del/list and interface name/index resolution.
//! * [`link`]: rtnetlink multicast subscription for link (and address) events.
//! * [`announce`]: gratuitous ARP and unsolicited neighbour advertisements.
//! * [`script`]: notify/track scripts run without blocking, reaped via pidfd.
//! * [`dump`]: the state dump file under /run, written without following symlinks.
//! * [`inotify`]: directory watches, for FILE_CHECK's track files.

pub mod addr;
pub mod announce;
pub mod dump;
pub mod inotify;
pub mod link;
mod netlink;
pub mod script;
pub mod vrrp_socket;

pub use addr::{AddrError, AddrSpec, Address, RouteSocket, Scope};
pub use announce::{Announcement, Announcer};
pub use dump::{write_json, DumpError};
pub use link::{LinkMonitor, LinkState, NetEvent, Subscription};
pub use script::{
    notify_args, CommandLine, Credentials, ExitOutcome, NotifyKind, RunningScript, ScriptError,
};
pub use vrrp_socket::{OpenError, RxPacket, VrrpSocket};

/// Implements [`mio::event::Source`] for a type holding its descriptor in `self.$field`
/// (anything with `AsRawFd`), so that the daemon registers our handles directly.
macro_rules! impl_source_via_fd {
    ($ty:ty, $($field:tt)+) => {
        impl mio::event::Source for $ty {
            fn register(
                &mut self,
                registry: &mio::Registry,
                token: mio::Token,
                interests: mio::Interest,
            ) -> std::io::Result<()> {
                let fd = std::os::fd::AsRawFd::as_raw_fd(&self.$($field)+);
                mio::unix::SourceFd(&fd).register(registry, token, interests)
            }

            fn reregister(
                &mut self,
                registry: &mio::Registry,
                token: mio::Token,
                interests: mio::Interest,
            ) -> std::io::Result<()> {
                let fd = std::os::fd::AsRawFd::as_raw_fd(&self.$($field)+);
                mio::unix::SourceFd(&fd).reregister(registry, token, interests)
            }

            fn deregister(&mut self, registry: &mio::Registry) -> std::io::Result<()> {
                let fd = std::os::fd::AsRawFd::as_raw_fd(&self.$($field)+);
                mio::unix::SourceFd(&fd).deregister(registry)
            }
        }

        impl std::os::fd::AsRawFd for $ty {
            fn as_raw_fd(&self) -> std::os::fd::RawFd {
                std::os::fd::AsRawFd::as_raw_fd(&self.$($field)+)
            }
        }
    };
}
pub(crate) use impl_source_via_fd;

/// Resolves an interface name to its index in the current network namespace.
///
/// Returns `None` when no such interface exists (or the name cannot be one).
pub fn if_index(name: &str) -> Option<u32> {
    let c = std::ffi::CString::new(name).ok()?;
    // SAFETY: `c` is a valid NUL-terminated string for the duration of the call.
    let idx = unsafe { libc::if_nametoindex(c.as_ptr()) };
    (idx != 0).then_some(idx)
}

/// Resolves an interface index to its current name.
pub fn if_name(index: u32) -> Option<String> {
    let mut buf = [0 as libc::c_char; libc::IF_NAMESIZE];
    // SAFETY: `buf` has IF_NAMESIZE bytes as if_indextoname requires.
    let p = unsafe { libc::if_indextoname(index, buf.as_mut_ptr()) };
    if p.is_null() {
        return None;
    }
    // SAFETY: on success if_indextoname wrote a NUL-terminated name into `buf`.
    let name = unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) };
    name.to_str().ok().map(str::to_owned)
}

/// Converts a libc return value (-1 meaning failure) into an `io::Result`.
pub(crate) fn cvt(ret: libc::c_int) -> std::io::Result<libc::c_int> {
    if ret < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// `setsockopt` with a plain-old-data value.
pub(crate) fn setsockopt<T: Copy>(
    fd: std::os::fd::RawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: T,
) -> std::io::Result<()> {
    // SAFETY: `value` lives for the call and its exact size is passed.
    let ret = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&value as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    cvt(ret).map(drop)
}
