//! The safe API: one netlink socket bound to the IPVS family, every kernel
//! command as a method, and batched application of many changes.

use crate::attr::IPVS_GENL_NAME;
use crate::error::{Error, Result};
use crate::genl;
use crate::msg::{self, Query, Request};
use crate::netlink::{messages, Reply, NLM_F_DUMP_INTR};
use crate::socket::{NetlinkSocket, RecvError};
use crate::types::*;
use bytes::BytesMut;
use std::time::Duration;

/// Receive buffer for one datagram; the kernel's dump skbs are at most 32 KiB.
const RX_BUF: usize = 64 * 1024;
/// Socket receive queue: must hold the ACKs of a whole in-flight batch.
const RCVBUF: usize = 8 << 20;
/// A batch datagram stays below the default send buffer (~208 KiB).
const MAX_DATAGRAM: usize = 128 * 1024;
/// Requests in flight before their ACKs are read.
const MAX_INFLIGHT: usize = 1024;
/// Datagrams drained per `recvmmsg`.
const RX_SLOTS: usize = 128;
const RX_SLOT_SIZE: usize = 4096;
/// Datagrams per `recvmmsg` while reading replies to a query.
const QUERY_SLOTS: usize = 4;

/// The outcome of [`Client::apply`]: which requests failed, and what it cost.
#[derive(Debug, Default)]
pub struct BatchReport {
    /// Index into the request slice, and why it failed.
    pub failures: Vec<(usize, Error)>,
    /// Requests the kernel acknowledged.
    pub succeeded: usize,
    /// `sendto` calls (datagrams).
    pub sends: usize,
    /// `recvmmsg` calls.
    pub receives: usize,
}

impl BatchReport {
    /// The first failure, if any.
    pub fn into_result(mut self) -> Result<()> {
        if self.failures.is_empty() {
            Ok(())
        } else {
            Err(self.failures.swap_remove(0).1)
        }
    }
}

/// A service and its destinations, as dumped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualServer {
    pub entry: ServiceEntry,
    pub dests: Vec<DestEntry>,
}

pub struct Client {
    sock: NetlinkSocket,
    family: u16,
    seq: u32,
    timeout: Duration,
    rx: Vec<u8>,
    tx: BytesMut,
    slots: Vec<Vec<u8>>,
    qslots: Vec<Vec<u8>>,
}

impl Client {
    /// Connects with a 5 second timeout on every read.
    pub fn connect() -> Result<Self> {
        Self::with_timeout(Duration::from_secs(5))
    }

    pub fn with_timeout(timeout: Duration) -> Result<Self> {
        let sock = NetlinkSocket::open(libc::NETLINK_GENERIC, RCVBUF)?;
        let mut c = Client {
            sock,
            family: 0,
            seq: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as u32)
                .unwrap_or(1),
            timeout,
            rx: vec![0; RX_BUF],
            tx: BytesMut::with_capacity(MAX_DATAGRAM + 4096),
            slots: Vec::new(),
            qslots: (0..QUERY_SLOTS).map(|_| vec![0u8; RX_BUF]).collect(),
        };
        c.family = c.resolve_family(IPVS_GENL_NAME)?;
        Ok(c)
    }

    /// The generic netlink id of the IPVS family.
    pub fn family_id(&self) -> u16 {
        self.family
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        if self.seq == 0 {
            self.seq = 1;
        }
        self.seq
    }

    fn recv(&mut self) -> Result<usize> {
        match self.sock.recv(&mut self.rx, self.timeout) {
            Ok(n) => Ok(n),
            Err(RecvError::Timeout) => Err(Error::Timeout(self.timeout)),
            Err(RecvError::Truncated(n)) => Err(Error::Truncated(n)),
            Err(RecvError::Io(e)) => Err(Error::Io(e)),
        }
    }

    fn resolve_family(&mut self, name: &str) -> Result<u16> {
        let seq = self.next_seq();
        self.tx.clear();
        genl::encode_get_family(&mut self.tx, seq, name);
        self.sock.send(&self.tx)?;
        let mut id = None;
        loop {
            let n = self.recv()?;
            for m in messages(&self.rx[..n]) {
                match Reply::parse(m?)? {
                    Reply::Data {
                        seq: s, payload, ..
                    } if s == seq => id = Some(genl::decode_family_id(payload)?),
                    Reply::Ack { seq: s } if s == seq => {
                        return id.ok_or(Error::FamilyNotFound);
                    }
                    Reply::Error { seq: s, errno, .. } if s == seq => {
                        return Err(if errno == libc::ENOENT {
                            Error::FamilyNotFound
                        } else {
                            Error::Kernel {
                                op: format!("resolve generic netlink family {name}"),
                                errno,
                                message: std::io::Error::from_raw_os_error(errno).to_string(),
                            }
                        });
                    }
                    _ => {}
                }
            }
        }
    }

    /// Sends `q` and feeds every data message's genl payload to `each`.
    fn query(&mut self, q: Query, mut each: impl FnMut(&[u8]) -> Result<()>) -> Result<()> {
        let seq = self.next_seq();
        self.tx.clear();
        q.encode(&mut self.tx, self.family, seq);
        self.sock.send(&self.tx)?;
        let mut interrupted = false;
        let mut lens = [0usize; QUERY_SLOTS];
        loop {
            // One recvmmsg takes a dump's last data datagram and its DONE.
            let count = match self
                .sock
                .recv_many(&mut self.qslots, &mut lens, self.timeout)
            {
                Ok(n) => n,
                Err(RecvError::Timeout) => return Err(Error::Timeout(self.timeout)),
                Err(RecvError::Truncated(n)) => return Err(Error::Truncated(n)),
                Err(RecvError::Io(e)) => return Err(Error::Io(e)),
            };
            for m in self.qslots[..count]
                .iter()
                .zip(lens.iter())
                .flat_map(|(b, &len)| messages(&b[..len]))
            {
                match Reply::parse(m?)? {
                    Reply::Data {
                        seq: s,
                        flags,
                        payload,
                        ..
                    } if s == seq => {
                        interrupted |= flags & NLM_F_DUMP_INTR != 0;
                        each(payload)?;
                    }
                    Reply::Ack { seq: s } if s == seq && !q.is_dump() => return Ok(()),
                    Reply::Done { seq: s, errno } if s == seq => {
                        if errno != 0 {
                            return Err(Error::from_query(&q, errno, None));
                        }
                        if interrupted {
                            return Err(Error::DumpInterrupted);
                        }
                        return Ok(());
                    }
                    Reply::Error {
                        seq: s,
                        errno,
                        message,
                    } if s == seq => return Err(Error::from_query(&q, errno, message)),
                    // Stale replies of an earlier, timed-out request.
                    _ => {}
                }
            }
        }
    }

    /// `IPVS_CMD_GET_INFO`: version and connection table size.
    pub fn info(&mut self) -> Result<Info> {
        let mut out = None;
        self.query(Query::Info, |p| {
            out = Some(msg::decode_info(p)?);
            Ok(())
        })?;
        out.ok_or(Error::Decode(crate::netlink::DecodeError::MissingAttr(
            "GET_INFO reply",
        )))
    }

    /// `IPVS_CMD_GET_CONFIG`: the connection timeouts.
    pub fn timeouts(&mut self) -> Result<Timeouts> {
        let mut out = None;
        self.query(Query::Config, |p| {
            out = Some(msg::decode_timeouts(p)?);
            Ok(())
        })?;
        out.ok_or(Error::Decode(crate::netlink::DecodeError::MissingAttr(
            "GET_CONFIG reply",
        )))
    }

    /// All services (without destinations).
    pub fn services(&mut self) -> Result<Vec<ServiceEntry>> {
        let mut out = Vec::new();
        self.query(Query::Services, |p| {
            out.push(msg::decode_service_msg(p)?);
            Ok(())
        })?;
        Ok(out)
    }

    /// One service.
    pub fn service(&mut self, key: ServiceKey) -> Result<ServiceEntry> {
        let mut out = None;
        self.query(Query::Service(key), |p| {
            out = Some(msg::decode_service_msg(p)?);
            Ok(())
        })?;
        out.ok_or(Error::NoSuchService(key))
    }

    /// The destinations of one service.
    pub fn dests(&mut self, key: ServiceKey) -> Result<Vec<DestEntry>> {
        let mut out = Vec::new();
        let family = key.family();
        self.query(Query::Dests(key), |p| {
            out.push(msg::decode_dest_msg(p, family)?);
            Ok(())
        })?;
        Ok(out)
    }

    /// Every service with its destinations. A service deleted between the
    /// two dumps is left out; a dump interrupted by concurrent changes is
    /// read again (up to three times).
    pub fn table(&mut self) -> Result<Vec<VirtualServer>> {
        let mut attempt = 0;
        loop {
            match self.table_once() {
                Err(Error::DumpInterrupted) if attempt < 2 => attempt += 1,
                other => return other,
            }
        }
    }

    fn table_once(&mut self) -> Result<Vec<VirtualServer>> {
        let services = self.services()?;
        let mut out = Vec::with_capacity(services.len());
        for entry in services {
            match self.dests(entry.service.key) {
                Ok(dests) => out.push(VirtualServer { entry, dests }),
                Err(Error::NoSuchService(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// The running sync daemons (zero, one or two).
    pub fn daemons(&mut self) -> Result<Vec<Daemon>> {
        let mut out = Vec::new();
        self.query(Query::Daemons, |p| {
            out.push(msg::decode_daemon_msg(p)?);
            Ok(())
        })?;
        Ok(out)
    }

    /// Sends one request and waits for its ACK.
    pub fn execute(&mut self, req: &Request) -> Result<()> {
        self.apply(std::slice::from_ref(req))?.into_result()
    }

    pub fn add_service(&mut self, s: &Service) -> Result<()> {
        self.execute(&Request::NewService(s.clone()))
    }
    pub fn edit_service(&mut self, s: &Service) -> Result<()> {
        self.execute(&Request::SetService(s.clone()))
    }
    pub fn delete_service(&mut self, key: ServiceKey) -> Result<()> {
        self.execute(&Request::DelService(key))
    }
    pub fn add_dest(&mut self, service: ServiceKey, dest: &Dest) -> Result<()> {
        self.execute(&Request::NewDest {
            service,
            dest: *dest,
        })
    }
    pub fn edit_dest(&mut self, service: ServiceKey, dest: &Dest) -> Result<()> {
        self.execute(&Request::SetDest {
            service,
            dest: *dest,
        })
    }
    pub fn delete_dest(&mut self, service: ServiceKey, addr: std::net::SocketAddr) -> Result<()> {
        self.execute(&Request::DelDest { service, addr })
    }
    /// Zeroes the counters of one service, or of all.
    pub fn zero(&mut self, service: Option<ServiceKey>) -> Result<()> {
        self.execute(&Request::Zero(service))
    }
    /// Removes every service. Reconciliation never uses this.
    pub fn flush(&mut self) -> Result<()> {
        self.execute(&Request::Flush)
    }
    pub fn set_timeouts(&mut self, t: Timeouts) -> Result<()> {
        self.execute(&Request::SetTimeouts(t))
    }
    pub fn start_daemon(&mut self, d: &Daemon) -> Result<()> {
        self.execute(&Request::NewDaemon(d.clone()))
    }
    pub fn stop_daemon(&mut self, role: DaemonRole) -> Result<()> {
        self.execute(&Request::DelDaemon(role))
    }

    /// Applies many requests in order with few syscalls: requests are packed
    /// into large datagrams (each with NLM_F_ACK), and the ACKs are drained
    /// with `recvmmsg`, each matched by sequence number to its request. A
    /// failed request does not stop the ones after it (the kernel carries on
    /// with the datagram); every failure is reported.
    pub fn apply(&mut self, reqs: &[Request]) -> Result<BatchReport> {
        let mut report = BatchReport::default();
        if self.slots.is_empty() {
            self.slots = (0..RX_SLOTS).map(|_| vec![0u8; RX_SLOT_SIZE]).collect();
        }
        let mut lens = vec![0usize; RX_SLOTS];
        let mut next = 0;
        // Within one datagram, the k-th sent request has seq `base + k`.
        while next < reqs.len() {
            self.tx.clear();
            let base = self.seq.wrapping_add(1);
            let mut pending = 0usize;
            let mut sent_idx: Vec<usize> = Vec::new();
            while next < reqs.len() && sent_idx.len() < MAX_INFLIGHT && self.tx.len() < MAX_DATAGRAM
            {
                let req = &reqs[next];
                match req.validate() {
                    Ok(()) => {
                        let seq = self.next_seq();
                        debug_assert_eq!(seq.wrapping_sub(base) as usize, sent_idx.len());
                        req.encode(&mut self.tx, self.family, seq);
                        sent_idx.push(next);
                        pending += 1;
                    }
                    Err(e) => report.failures.push((next, Error::Invalid(e))),
                }
                next += 1;
            }
            if pending == 0 {
                continue;
            }
            self.sock.send(&self.tx)?;
            report.sends += 1;
            let mut acked = vec![false; sent_idx.len()];
            while pending > 0 {
                let n = match self
                    .sock
                    .recv_many(&mut self.slots, &mut lens, self.timeout)
                {
                    Ok(n) => n,
                    Err(RecvError::Timeout) => return Err(Error::Timeout(self.timeout)),
                    Err(RecvError::Truncated(n)) => return Err(Error::Truncated(n)),
                    Err(RecvError::Io(e)) => return Err(Error::Io(e)),
                };
                report.receives += 1;
                for (buf, &len) in self.slots.iter().zip(lens.iter()).take(n) {
                    for m in messages(&buf[..len]) {
                        let (seq, outcome) = match Reply::parse(m?)? {
                            Reply::Ack { seq } => (seq, None),
                            Reply::Error {
                                seq,
                                errno,
                                message,
                            } => (seq, Some((errno, message))),
                            _ => continue,
                        };
                        let k = seq.wrapping_sub(base) as usize;
                        if k >= sent_idx.len() || acked[k] {
                            continue; // not ours (stale)
                        }
                        acked[k] = true;
                        pending -= 1;
                        match outcome {
                            None => report.succeeded += 1,
                            Some((errno, message)) => {
                                let i = sent_idx[k];
                                report
                                    .failures
                                    .push((i, Error::from_request(&reqs[i], errno, message)));
                            }
                        }
                    }
                }
            }
        }
        report.failures.sort_by_key(|(i, _)| *i);
        Ok(report)
    }

    /// Applies the changes from `current` (what the caller knows it
    /// programmed) to `desired` without reading the kernel: the cheap path
    /// for a daemon that tracks its own state. Use [`Client::reconcile`] when
    /// the kernel may have drifted.
    pub fn apply_diff(
        &mut self,
        current: &crate::diff::Table,
        desired: &crate::diff::Table,
    ) -> Result<(Vec<Request>, BatchReport)> {
        let changes = crate::diff::diff(current, desired);
        let report = self.apply(&changes)?;
        Ok((changes, report))
    }

    /// Makes the kernel's table equal to `desired` with the minimal set of
    /// changes (see [`mod@crate::diff`]), reading the kernel's table first (one
    /// dump of services, one of destinations per service); never flushes.
    pub fn reconcile(
        &mut self,
        desired: &crate::diff::Table,
    ) -> Result<(Vec<Request>, BatchReport)> {
        let current = crate::diff::Table::from_dump(&self.table()?);
        let changes = crate::diff::diff(&current, desired);
        let report = self.apply(&changes)?;
        Ok((changes, report))
    }
}
