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
/// Receive buffer of a destination-dump socket. The kernel sizes a dump's
/// datagrams to the largest buffer the socket has read with (at least
/// NLMSG_GOODSIZE, under 8 KiB on every page size), so this also keeps it
/// from allocating 32 KiB per datagram for a few destinations, and a
/// service with more destinations than fit simply takes more datagrams.
const DUMP_RX_BUF: usize = 16 * 1024;
/// Below this many services, [`Client::table`] reads the destinations on its
/// own socket: threads would cost more than they save.
const PARALLEL_MIN_SERVICES: usize = 64;
/// Most threads [`Client::table`] uses by default: the kernel serialises
/// IPVS dumps (genl and `__ip_vs_mutex`), so more than the syscall overhead
/// cannot overlap.
const MAX_DUMP_WORKERS: usize = 4;

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
    /// Threads (each with its own socket) reading destinations in `table`.
    dump_workers: usize,
    /// Their sockets, opened on first use and kept; one that failed is dropped.
    dump_socks: Vec<DumpSocket>,
}

/// A socket of its own for one destination-dump thread: a netlink socket runs
/// one dump at a time (the kernel answers a second one with EBUSY), so dumps
/// in flight together need one socket each.
struct DumpSocket {
    sock: NetlinkSocket,
    slots: Vec<Vec<u8>>,
    tx: BytesMut,
}

impl DumpSocket {
    fn open() -> Result<Self> {
        Ok(DumpSocket {
            sock: NetlinkSocket::open(libc::NETLINK_GENERIC, RCVBUF)?,
            slots: (0..QUERY_SLOTS).map(|_| vec![0u8; DUMP_RX_BUF]).collect(),
            tx: BytesMut::with_capacity(512),
        })
    }

    /// Reads the destinations of each of `services`, in order; `None` for a
    /// service deleted since the service dump.
    fn dests_of(
        &mut self,
        family: u16,
        mut seq: u32,
        timeout: Duration,
        services: &[ServiceEntry],
    ) -> Result<Vec<Option<Vec<DestEntry>>>> {
        let mut out = Vec::with_capacity(services.len());
        for entry in services {
            seq = seq.wrapping_add(1).max(1);
            let key = entry.service.key;
            let mut dests = Vec::new();
            let r = run_query(
                &self.sock,
                &mut self.slots,
                &mut self.tx,
                timeout,
                family,
                seq,
                Query::Dests(key),
                |p| {
                    dests.push(msg::decode_dest_msg(p, key.family())?);
                    Ok(())
                },
            );
            match r {
                Ok(()) => out.push(Some(dests)),
                Err(Error::NoSuchService(_)) => out.push(None),
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }
}

/// Sends `q` on `sock` and feeds every data message's genl payload to `each`.
#[allow(clippy::too_many_arguments)]
fn run_query(
    sock: &NetlinkSocket,
    slots: &mut [Vec<u8>],
    tx: &mut BytesMut,
    timeout: Duration,
    family: u16,
    seq: u32,
    q: Query,
    mut each: impl FnMut(&[u8]) -> Result<()>,
) -> Result<()> {
    tx.clear();
    q.encode(tx, family, seq);
    sock.send(tx)?;
    let mut interrupted = false;
    let mut lens = [0usize; QUERY_SLOTS];
    let n_slots = slots.len().min(QUERY_SLOTS);
    loop {
        // One recvmmsg takes a dump's last data datagram and its DONE.
        let count = match sock.recv_many(&mut slots[..n_slots], &mut lens, timeout) {
            Ok(n) => n,
            Err(RecvError::Timeout) => return Err(Error::Timeout(timeout)),
            Err(RecvError::Truncated(n)) => return Err(Error::Truncated(n)),
            Err(RecvError::Io(e)) => return Err(Error::Io(e)),
        };
        for m in slots[..count]
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
            dump_workers: std::thread::available_parallelism()
                .map_or(1, |n| n.get())
                .min(MAX_DUMP_WORKERS),
            dump_socks: Vec::new(),
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
    fn query(&mut self, q: Query, each: impl FnMut(&[u8]) -> Result<()>) -> Result<()> {
        let seq = self.next_seq();
        run_query(
            &self.sock,
            &mut self.qslots,
            &mut self.tx,
            self.timeout,
            self.family,
            seq,
            q,
            each,
        )
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

    /// Every service with its destinations, in the kernel's order (that of
    /// `ipvsadm -Ln`). A service deleted between the two dumps is left out; a
    /// dump interrupted by concurrent changes is read again (up to three
    /// times).
    ///
    /// The kernel has no dump of all destinations, only one per service, and
    /// a socket runs one dump at a time: with many services the destination
    /// dumps run on several sockets, one thread each (see
    /// [`Client::set_dump_workers`]).
    pub fn table(&mut self) -> Result<Vec<VirtualServer>> {
        let mut attempt = 0;
        loop {
            match self.table_once() {
                Err(Error::DumpInterrupted) if attempt < 2 => attempt += 1,
                other => return other,
            }
        }
    }

    /// The kernel's table as configuration, ready to diff: [`Client::table`]
    /// without the counters.
    pub fn read_table(&mut self) -> Result<crate::diff::Table> {
        Ok(crate::diff::Table::from_dump(&self.table()?))
    }

    /// How many threads [`Client::table`] may use to read destinations (at
    /// least 1; 1 reads them all on this client's socket). The default is
    /// the number of CPUs, at most 4.
    pub fn set_dump_workers(&mut self, workers: usize) {
        self.dump_workers = workers.max(1);
        self.dump_socks.truncate(self.dump_workers);
    }

    fn table_once(&mut self) -> Result<Vec<VirtualServer>> {
        let services = self.services()?;
        let dests = if self.dump_workers > 1 && services.len() >= PARALLEL_MIN_SERVICES {
            self.dests_parallel(&services)?
        } else {
            let mut all = Vec::with_capacity(services.len());
            for entry in &services {
                match self.dests(entry.service.key) {
                    Ok(d) => all.push(Some(d)),
                    Err(Error::NoSuchService(_)) => all.push(None),
                    Err(e) => return Err(e),
                }
            }
            all
        };
        Ok(services
            .into_iter()
            .zip(dests)
            .filter_map(|(entry, dests)| dests.map(|dests| VirtualServer { entry, dests }))
            .collect())
    }

    /// The destinations of each service (in order), read by up to
    /// `dump_workers` threads over contiguous slices. The sockets are opened
    /// here, in the caller's thread, so they belong to its network namespace.
    fn dests_parallel(&mut self, services: &[ServiceEntry]) -> Result<Vec<Option<Vec<DestEntry>>>> {
        let workers = self.dump_workers.min(services.len());
        while self.dump_socks.len() < workers {
            self.dump_socks.push(DumpSocket::open()?);
        }
        let chunk = services.len().div_ceil(workers);
        let (family, timeout) = (self.family, self.timeout);
        // Each thread's sequence numbers start from a different base, so a
        // stale reply on a reused socket cannot match a new request.
        let base = self.seq;
        self.seq = self.seq.wrapping_add(services.len() as u32 + 1);
        let results: Vec<Result<Vec<Option<Vec<DestEntry>>>>> = std::thread::scope(|scope| {
            let handles: Vec<_> = self
                .dump_socks
                .iter_mut()
                .zip(services.chunks(chunk))
                .enumerate()
                .map(|(i, (sock, part))| {
                    let seq = base.wrapping_add((i * chunk) as u32);
                    scope.spawn(move || sock.dests_of(family, seq, timeout, part))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        });
        let mut out = Vec::with_capacity(services.len());
        let mut first_err = None;
        for (i, r) in results.into_iter().enumerate() {
            match r {
                Ok(part) => out.extend(part),
                Err(e) => {
                    // Its dump may still be running in the kernel: a fresh
                    // socket next time, rather than EBUSY.
                    self.dump_socks[i] = DumpSocket::open()?;
                    first_err.get_or_insert(e);
                }
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(out),
        }
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
    /// programmed) to `desired` without reading the kernel. Prefer
    /// [`Client::reconcile_recorded`], which also keeps the record up to date.
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
    /// changes (see [`mod@crate::diff`]), reading the whole kernel table first
    /// ([`Client::table`]); never flushes. This is the path that trusts
    /// nothing, and its cost grows with the table (one destination dump per
    /// service); a daemon that keeps what it programmed uses
    /// [`Client::reconcile_recorded`] instead.
    pub fn reconcile(
        &mut self,
        desired: &crate::diff::Table,
    ) -> Result<(Vec<Request>, BatchReport)> {
        let current = self.read_table()?;
        let changes = crate::diff::diff(&current, desired);
        let report = self.apply(&changes)?;
        Ok((changes, report))
    }

    /// Reconciles against `recorded`, the caller's record of what the kernel
    /// holds, instead of reading the kernel: the diff runs in memory and the
    /// kernel sees only the changes (none at all when nothing changed). The
    /// requests the kernel acknowledged are then applied to `recorded`, so it
    /// stays the record of the kernel; a rejected one leaves it as it was.
    ///
    /// What this trusts: that nobody else changed, since `recorded` was read
    /// or last reconciled, the services and destinations it holds. Any
    /// other change to them goes unnoticed until a request about them
    /// fails (a failure in the report is the sign to re-read with
    /// [`Client::read_table`]), and stays unrepaired. [`Client::verify_services`]
    /// catches the common drift (a flush, a deleted or edited service)
    /// for the price of one service dump; only a full read catches a
    /// changed destination.
    pub fn reconcile_recorded(
        &mut self,
        recorded: &mut crate::diff::Table,
        desired: &crate::diff::Table,
    ) -> Result<(Vec<Request>, BatchReport)> {
        let changes = crate::diff::diff(recorded, desired);
        if changes.is_empty() {
            return Ok((changes, BatchReport::default()));
        }
        let report = self.apply(&changes)?;
        let mut failed = report.failures.iter().map(|(i, _)| *i).peekable();
        for (i, req) in changes.iter().enumerate() {
            if failed.next_if_eq(&i).is_some() {
                continue;
            }
            // Cannot fail: the diff was computed from this very table.
            let _ = recorded.apply(req);
        }
        Ok((changes, report))
    }

    /// Whether every service of `recorded` is in the kernel with the
    /// recorded configuration, from one dump of the services (no
    /// destinations): the check that someone flushed, deleted or edited
    /// services behind the caller's back. Kernel services absent from
    /// `recorded` are ignored (the record may cover only the caller's own
    /// part of the table). Destinations are not compared: a `true` says
    /// nothing about them.
    pub fn verify_services(&mut self, recorded: &crate::diff::Table) -> Result<bool> {
        let mut found = 0usize;
        let mut same = true;
        let dumped = self.query(Query::Services, |p| {
            if same {
                let entry = msg::decode_service_msg(p)?;
                if let Some(e) = recorded.services.get(&entry.service.key) {
                    found += 1;
                    same = e.service == entry.service;
                }
            }
            Ok(())
        });
        match dumped {
            Ok(()) => Ok(same && found == recorded.services.len()),
            // Someone changed services during the dump: not what was recorded.
            Err(Error::DumpInterrupted) => Ok(false),
            Err(e) => Err(e),
        }
    }
}
