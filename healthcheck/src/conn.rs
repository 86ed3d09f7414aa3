//! A non-blocking TCP connection, optionally wrapped in TLS, as the stream checkers (HTTP, SMTP) see it.

use std::io::{self, Read, Write};

use mio::net::TcpStream;
use mio::{Interest, Registry};
use socket2::{Protocol, Type};

use crate::checker::Context;
use crate::endpoint::Endpoint;

/// Errors of an established (or establishing) connection.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConnError {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("{0}")]
    Tls(#[from] rustls::Error),
}

/// Result of one non-blocking read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReadStep {
    Data(usize),
    WouldBlock,
    Eof,
}

pub(crate) struct Conn {
    sock: TcpStream,
    tls: Option<Box<rustls::ClientConnection>>,
    connected: bool,
    /// The peer closed its side of the TCP connection.
    tcp_eof: bool,
    out: Vec<u8>,
    out_pos: usize,
}

impl Conn {
    /// Start connecting and register the socket for both directions under the checker's token.
    pub(crate) fn connect(
        ep: &Endpoint,
        cx: &Context<'_>,
        tls: Option<rustls::ClientConnection>,
    ) -> io::Result<Conn> {
        let socket = ep.open(Type::STREAM, Protocol::TCP)?;
        socket.set_nodelay(true)?;
        let mut sock = TcpStream::from_std(socket.into());
        cx.registry
            .register(&mut sock, cx.token, Interest::READABLE | Interest::WRITABLE)?;
        Ok(Conn {
            sock,
            tls: tls.map(Box::new),
            connected: false,
            tcp_eof: false,
            out: Vec::new(),
            out_pos: 0,
        })
    }

    /// `Ok(true)` once the TCP three-way handshake has completed.
    pub(crate) fn poll_connect(&mut self) -> io::Result<bool> {
        if self.connected {
            return Ok(true);
        }
        if let Some(e) = self.sock.take_error()? {
            return Err(e);
        }
        match self.sock.peer_addr() {
            Ok(_) => {
                self.connected = true;
                Ok(true)
            }
            Err(e)
                if e.kind() == io::ErrorKind::NotConnected
                    || e.raw_os_error() == Some(libc::EINPROGRESS) =>
            {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    /// Queue application bytes; they leave with the next [`flush`](Conn::flush) (after the TLS handshake).
    pub(crate) fn queue(&mut self, bytes: &[u8]) {
        match &mut self.tls {
            Some(tls) => {
                // Buffered by rustls until the handshake completes; writing to its buffer cannot fail.
                let _ = tls.writer().write_all(bytes);
            }
            None => self.out.extend_from_slice(bytes),
        }
    }

    /// Push queued bytes and TLS handshake records. `Ok(true)` when nothing is left to send.
    pub(crate) fn flush(&mut self) -> Result<bool, ConnError> {
        match &mut self.tls {
            Some(tls) => {
                while tls.wants_write() {
                    match tls.write_tls(&mut self.sock) {
                        Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero).into()),
                        Ok(_) => {}
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(e.into()),
                    }
                }
                Ok(true)
            }
            None => {
                while self.out_pos < self.out.len() {
                    match self.sock.write(&self.out[self.out_pos..]) {
                        Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero).into()),
                        Ok(n) => self.out_pos += n,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(e.into()),
                    }
                }
                Ok(true)
            }
        }
    }

    /// Still in the TLS handshake (always false for plain TCP).
    pub(crate) fn is_handshaking(&self) -> bool {
        self.tls.as_ref().is_some_and(|t| t.is_handshaking())
    }

    /// Read application bytes into `buf` without blocking.
    pub(crate) fn read(&mut self, buf: &mut [u8]) -> Result<ReadStep, ConnError> {
        if self.tls.is_none() {
            loop {
                return match self.sock.read(buf) {
                    Ok(0) => Ok(ReadStep::Eof),
                    Ok(n) => Ok(ReadStep::Data(n)),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(ReadStep::WouldBlock),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => Err(e.into()),
                };
            }
        }
        loop {
            let Some(tls) = self.tls.as_mut() else {
                return Ok(ReadStep::Eof);
            };
            match tls.reader().read(buf) {
                Ok(0) => return Ok(ReadStep::Eof),
                Ok(n) => return Ok(ReadStep::Data(n)),
                // Many servers close without close_notify; for a health check the body is complete.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(ReadStep::Eof),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e.into()),
            }
            if self.tcp_eof {
                return Ok(ReadStep::Eof);
            }
            match tls.read_tls(&mut self.sock) {
                Ok(0) => self.tcp_eof = true,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(ReadStep::WouldBlock),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            }
            tls.process_new_packets()?;
            // Handshake replies and the queued request go out as soon as rustls allows.
            self.flush()?;
        }
    }

    /// Deregister and close with a reset (SO_LINGER 0), as HAProxy does for its checks.
    ///
    /// A check closes thousands of connections a second at scale; a graceful close would leave each one
    /// in TIME_WAIT on the director for a minute, exhausting ephemeral ports and making every new
    /// connect() search a huge table. The verdict is already known, so nothing is lost by the reset.
    pub(crate) fn close(mut self, registry: &Registry) {
        let _ = registry.deregister(&mut self.sock);
        let _ = socket2::SockRef::from(&self.sock).set_linger(Some(std::time::Duration::ZERO));
    }
}
