//! A tiny one-request-per-connection server inside the daemon's mio loop: accept, read one
//! bounded request, let the loop build the answer, write it, close. Used for `/metrics` (TCP)
//! and the status socket (Unix).
//!
//! Why so small: the loop also runs VRRP, whose timers are sub-second; a client must never be
//! able to stall it. Hence no blocking call anywhere, a fixed number of connection slots (a
//! connection beyond them is closed at once), a request size cap, and a deadline per connection
//! after which it is dropped whatever its state (a slow or silent client costs one slot for at
//! most that long).

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use mio::event::Source;
use mio::{Interest, Registry, Token};

/// The largest response body kept allocated between two responses.
const MAX_SPARE_BODY: usize = 16 << 20;

/// How long a connection may take from accept to the last byte written.
pub const CONN_DEADLINE: Duration = Duration::from_secs(5);

/// What a listener hands out.
pub trait Listen: Source {
    type Stream: Read + Write + Source;
    fn accept_one(&self) -> io::Result<Self::Stream>;
}

impl Listen for mio::net::TcpListener {
    type Stream = mio::net::TcpStream;
    fn accept_one(&self) -> io::Result<Self::Stream> {
        self.accept().map(|(s, _)| s)
    }
}

impl Listen for mio::net::UnixListener {
    type Stream = mio::net::UnixStream;
    fn accept_one(&self) -> io::Result<Self::Stream> {
        self.accept().map(|(s, _)| s)
    }
}

/// What a protocol makes of the bytes read so far.
#[derive(Debug, PartialEq, Eq)]
pub enum Parse<R> {
    /// Need more bytes.
    Incomplete,
    /// A complete request: the loop answers it.
    Request(R),
    /// Answer these bytes at once (a malformed or refused request) and close.
    Reply(Vec<u8>),
}

/// The protocol spoken on one listener.
pub struct Protocol<R> {
    /// Bytes read beyond this without a complete request: answered with `too_large`.
    pub max_request: usize,
    pub parse: fn(&[u8]) -> Parse<R>,
    pub too_large: fn() -> Vec<u8>,
}

struct Conn<S> {
    stream: S,
    inbox: Vec<u8>,
    outbox: Vec<u8>,
    /// Sent after `outbox` (a large body, kept apart from its small head).
    body: Vec<u8>,
    /// Bytes of `outbox` then `body` written so far.
    written: usize,
    /// The request was handed to the loop and is being answered.
    answered: bool,
    deadline: Instant,
}

pub struct Server<L: Listen, R> {
    listener: L,
    listener_token: Token,
    /// Connection `i` is registered with `Token(first_conn + i)`.
    first_conn: usize,
    conns: Vec<Option<Conn<L::Stream>>>,
    proto: Protocol<R>,
    /// Called on each accepted stream; `false` closes it without a word (peer checks).
    admit: fn(&L::Stream) -> bool,
    /// The largest body sent so far, emptied, for the next response to be built in.
    spare_body: Vec<u8>,
}

impl<L: Listen, R> Server<L, R> {
    /// Registers `listener` with `listener_token`; connections use the `slots` tokens after
    /// `first_conn`.
    pub fn new(
        registry: &Registry,
        mut listener: L,
        listener_token: Token,
        first_conn: usize,
        slots: usize,
        proto: Protocol<R>,
        admit: fn(&L::Stream) -> bool,
    ) -> io::Result<Self> {
        registry.register(&mut listener, listener_token, Interest::READABLE)?;
        Ok(Self {
            listener,
            listener_token,
            first_conn,
            conns: (0..slots).map(|_| None).collect(),
            proto,
            admit,
            spare_body: Vec::new(),
        })
    }

    pub fn owns(&self, token: Token) -> bool {
        token == self.listener_token || self.slot(token).is_some()
    }

    fn slot(&self, token: Token) -> Option<usize> {
        let i = token.0.checked_sub(self.first_conn)?;
        (i < self.conns.len()).then_some(i)
    }

    /// Handles readiness of `token`; returns a complete request the loop must answer with
    /// [`respond`](Self::respond).
    pub fn on_ready(&mut self, registry: &Registry, token: Token, now: Instant) -> Option<R> {
        if token == self.listener_token {
            self.accept_all(registry, now);
            return None;
        }
        let i = self.slot(token)?;
        let conn = self.conns.get_mut(i)?.as_mut()?;
        if conn.answered {
            self.flush(registry, i);
            return None;
        }
        let mut chunk = [0u8; 1024];
        let eof = loop {
            let room = self.proto.max_request.saturating_sub(conn.inbox.len());
            if room == 0 {
                break false;
            }
            let want = room.min(chunk.len());
            match conn.stream.read(&mut chunk[..want]) {
                Ok(0) => break true,
                Ok(n) => conn.inbox.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => break true,
            }
        };
        match (self.proto.parse)(&conn.inbox) {
            Parse::Request(r) => {
                conn.answered = true;
                Some(r)
            }
            Parse::Reply(bytes) => {
                self.respond(registry, token, bytes);
                None
            }
            Parse::Incomplete if conn.inbox.len() >= self.proto.max_request => {
                let bytes = (self.proto.too_large)();
                self.respond(registry, token, bytes);
                None
            }
            Parse::Incomplete => {
                if eof {
                    self.close(registry, i);
                }
                None
            }
        }
    }

    /// Queues the answer to the request [`on_ready`](Self::on_ready) returned and writes what
    /// the socket takes now; the rest goes out on writable events.
    pub fn respond(&mut self, registry: &Registry, token: Token, bytes: Vec<u8>) {
        self.respond_parts(registry, token, bytes, Vec::new());
    }

    /// [`respond`](Self::respond) with `head` then `body`.
    pub fn respond_parts(
        &mut self,
        registry: &Registry,
        token: Token,
        head: Vec<u8>,
        body: Vec<u8>,
    ) {
        let Some(i) = self.slot(token) else { return };
        let Some(conn) = self.conns.get_mut(i).and_then(Option::as_mut) else {
            return;
        };
        conn.answered = true;
        conn.outbox = head;
        conn.body = body;
        conn.written = 0;
        conn.inbox = Vec::new();
        self.flush(registry, i);
    }

    /// Closes connections past their deadline.
    pub fn expire(&mut self, registry: &Registry, now: Instant) {
        for i in 0..self.conns.len() {
            if self.conns[i].as_ref().is_some_and(|c| c.deadline <= now) {
                self.close(registry, i);
            }
        }
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        self.conns.iter().flatten().map(|c| c.deadline).min()
    }

    fn accept_all(&mut self, registry: &Registry, now: Instant) {
        loop {
            let mut stream = match self.listener.accept_one() {
                Ok(s) => s,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => continue,
                Err(e) => {
                    // EMFILE and the like: the listener stays readable, retried on the next
                    // event; nothing we can do now without spinning.
                    tracing::warn!("accept: {e}");
                    return;
                }
            };
            if !(self.admit)(&stream) {
                continue;
            }
            let Some(i) = self.conns.iter().position(Option::is_none) else {
                // All slots busy: closing at once is the cheapest answer.
                tracing::debug!("ops: all connection slots busy; closing a new connection");
                continue;
            };
            let token = Token(self.first_conn + i);
            if let Err(e) = registry.register(&mut stream, token, Interest::READABLE) {
                tracing::warn!("cannot watch a new connection: {e}");
                continue;
            }
            self.conns[i] = Some(Conn {
                stream,
                inbox: Vec::new(),
                outbox: Vec::new(),
                body: Vec::new(),
                written: 0,
                answered: false,
                deadline: now + CONN_DEADLINE,
            });
        }
    }

    fn flush(&mut self, registry: &Registry, i: usize) {
        let Some(conn) = self.conns.get_mut(i).and_then(Option::as_mut) else {
            return;
        };
        loop {
            let rest = match conn.written.checked_sub(conn.outbox.len()) {
                None => conn.outbox.get(conn.written..),
                Some(at) => conn.body.get(at..),
            };
            let Some(rest) = rest.filter(|r| !r.is_empty()) else {
                break;
            };
            match conn.stream.write(rest) {
                Ok(0) => break,
                Ok(n) => conn.written += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    let token = Token(self.first_conn + i);
                    if registry
                        .reregister(&mut conn.stream, token, Interest::WRITABLE)
                        .is_ok()
                    {
                        return;
                    }
                    break;
                }
                Err(_) => break,
            }
        }
        self.close(registry, i);
    }

    fn close(&mut self, registry: &Registry, i: usize) {
        if let Some(mut conn) = self.conns.get_mut(i).and_then(Option::take) {
            let _ = registry.deregister(&mut conn.stream);
            // Bodies up to 16 MiB are kept for the next scrape; a larger one (tens of thousands
            // of checkers) is freed, so that the daemon does not hold it between scrapes.
            if conn.body.capacity() > self.spare_body.capacity()
                && conn.body.capacity() <= MAX_SPARE_BODY
            {
                conn.body.clear();
                self.spare_body = conn.body;
            }
        }
    }

    /// An empty buffer for a response body: the allocation of an earlier one if there is
    /// one free, so that a body of many megabytes is not allocated and faulted in anew.
    pub fn take_spare_body(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.spare_body)
    }
}
