//! Errors, worded so that the person reading them knows what to do next.

use crate::msg::{InvalidRequest, Query, Request};
use crate::netlink::DecodeError;
use crate::types::{DaemonRole, ServiceKey};
use std::net::SocketAddr;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("netlink socket: {0}")]
    Io(#[from] std::io::Error),
    #[error("the kernel has no IPVS generic netlink family: load it with `modprobe ip_vs`")]
    FamilyNotFound,
    #[error("no reply from the kernel within {0:?}")]
    Timeout(Duration),
    #[error("a netlink reply of {0} bytes did not fit the receive buffer")]
    Truncated(usize),
    #[error("malformed reply from the kernel: {0}")]
    Decode(#[from] DecodeError),
    #[error("the table changed during the dump; read it again")]
    DumpInterrupted,
    #[error("invalid request: {0}")]
    Invalid(#[from] InvalidRequest),
    #[error("scheduler '{0}' not found: modprobe ip_vs_{0}")]
    SchedulerNotFound(String),
    #[error("scheduler '{sched}' or persistence engine '{pe}' not found: modprobe ip_vs_{sched} ip_vs_pe_{pe}")]
    SchedulerOrPeNotFound { sched: String, pe: String },
    #[error("service {0} already exists")]
    ServiceExists(ServiceKey),
    #[error("service {0} does not exist")]
    NoSuchService(ServiceKey),
    #[error("destination {dest} already exists in service {service}")]
    DestExists {
        service: ServiceKey,
        dest: SocketAddr,
    },
    #[error("destination {dest} does not exist in service {service}")]
    NoSuchDest {
        service: ServiceKey,
        dest: SocketAddr,
    },
    #[error("a {} sync daemon is already running", .0.name())]
    DaemonRunning(DaemonRole),
    #[error("no {} sync daemon is running", .0.name())]
    NoDaemon(DaemonRole),
    #[error("{op}: permission denied (IPVS changes need CAP_NET_ADMIN; run as root)")]
    PermissionDenied { op: String },
    #[error("{op}: {message} (errno {errno})")]
    Kernel {
        op: String,
        errno: i32,
        message: String,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

fn strerror(errno: i32) -> String {
    std::io::Error::from_raw_os_error(errno).to_string()
}

impl Error {
    /// The errno the kernel returned, when this error came from it.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::Kernel { errno, .. } => Some(*errno),
            Error::ServiceExists(_) | Error::DestExists { .. } | Error::DaemonRunning(_) => {
                Some(libc::EEXIST)
            }
            Error::NoSuchService(_) | Error::NoDaemon(_) => Some(libc::ESRCH),
            Error::NoSuchDest { .. } | Error::SchedulerNotFound(_) => Some(libc::ENOENT),
            Error::SchedulerOrPeNotFound { .. } => Some(libc::ENOENT),
            Error::PermissionDenied { .. } => Some(libc::EPERM),
            _ => None,
        }
    }

    /// Maps a kernel errno for `req` to the error a person can act on; the
    /// errno meanings are those of `net/netfilter/ipvs/ip_vs_ctl.c`.
    pub(crate) fn from_request(req: &Request, errno: i32, ext: Option<String>) -> Error {
        use Request::*;
        match (req, errno) {
            (_, libc::EPERM) => Error::PermissionDenied {
                op: req.to_string(),
            },
            (NewService(s), libc::EEXIST) => Error::ServiceExists(s.key),
            (NewService(s) | SetService(s), libc::ENOENT) => match &s.pe_name {
                Some(pe) => Error::SchedulerOrPeNotFound {
                    sched: s.scheduler.clone(),
                    pe: pe.clone(),
                },
                None => Error::SchedulerNotFound(s.scheduler.clone()),
            },
            (SetService(s), libc::ESRCH) => Error::NoSuchService(s.key),
            (DelService(k) | Zero(Some(k)), libc::ESRCH) => Error::NoSuchService(*k),
            (
                NewDest { service, .. } | SetDest { service, .. } | DelDest { service, .. },
                libc::ESRCH,
            ) => Error::NoSuchService(*service),
            (NewDest { service, dest }, libc::EEXIST) => Error::DestExists {
                service: *service,
                dest: dest.addr,
            },
            (SetDest { service, dest }, libc::ENOENT) => Error::NoSuchDest {
                service: *service,
                dest: dest.addr,
            },
            (DelDest { service, addr }, libc::ENOENT) => Error::NoSuchDest {
                service: *service,
                dest: *addr,
            },
            (NewDaemon(d), libc::EEXIST) => Error::DaemonRunning(d.role),
            (DelDaemon(r), libc::ESRCH) => Error::NoDaemon(*r),
            (NewDaemon(_), libc::EINVAL) => Error::Kernel {
                op: req.to_string(),
                errno,
                message: ext.unwrap_or_else(|| {
                    "invalid argument: the kernel refuses sync while any service has \
                     destinations of another address family, and needs a multicast group"
                        .to_owned()
                }),
            },
            _ => Error::Kernel {
                op: req.to_string(),
                errno,
                message: ext.unwrap_or_else(|| strerror(errno)),
            },
        }
    }

    pub(crate) fn from_query(q: &Query, errno: i32, ext: Option<String>) -> Error {
        match (q, errno) {
            (Query::Service(k) | Query::Dests(k), libc::ESRCH) => Error::NoSuchService(*k),
            _ => Error::Kernel {
                op: format!("{q:?}"),
                errno,
                message: ext.unwrap_or_else(|| strerror(errno)),
            },
        }
    }
}
