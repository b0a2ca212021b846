//! One TCP connection, from its first HTTP byte to its close: the state machine at the heart of
//! the server.
//!
//! IMPLEMENTATION IN PROGRESS: the public API below is final; bodies are being written.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use crate::config::Config;
use crate::event::Event;
use crate::lifecycle::Lifecycle;

/// A connection's whole protocol state. Drive it with `handle_*`, then drain `poll_*`.
///
/// The runtime loop, in short:
/// 1. read into any buffer, `handle_input(now, &buf[..n])` (or `handle_eof` on 0 bytes,
///    `handle_io_error` on an error); read only while [`wants_input`](Self::wants_input);
/// 2. write what [`poll_transmit`](Self::poll_transmit) gives, report it with
///    [`handle_written`](Self::handle_written); when
///    [`poll_shutdown_write`](Self::poll_shutdown_write) says so, shut down the write side;
/// 3. print every [`poll_event`](Self::poll_event);
/// 4. sleep until input, writability, or [`poll_timeout`](Self::poll_timeout), then call
///    [`handle_timeout`](Self::handle_timeout) when that deadline passed;
/// 5. close the socket once [`is_closed`](Self::is_closed) (after the output is written).
#[derive(Debug)]
pub struct Connection {
    _config: Arc<Config>,
}

impl Connection {
    /// A new connection from `peer`, accepted at `now`.
    pub fn new(config: Arc<Config>, peer: SocketAddr, now: Instant) -> Connection {
        let _ = (peer, now);
        Connection { _config: config }
    }

    /// Bytes read from the socket, in any chunking. All of `input` is taken.
    pub fn handle_input(&mut self, now: Instant, input: &[u8]) {
        let _ = (now, input);
        todo!()
    }

    /// The peer shut down its side (a read returned 0).
    pub fn handle_eof(&mut self, now: Instant) {
        let _ = now;
        todo!()
    }

    /// Reading or writing failed: the connection is over.
    pub fn handle_io_error(&mut self, now: Instant, error: &io::Error) {
        let _ = (now, error);
        todo!()
    }

    /// Time passed: call when `now` reaches [`poll_timeout`](Self::poll_timeout) (early calls
    /// are harmless).
    pub fn handle_timeout(&mut self, now: Instant) {
        let _ = now;
        todo!()
    }

    /// The server is stopping (B4): WebSockets get close 1001, HTTP connections close after the
    /// response in flight.
    pub fn handle_shutdown(&mut self, now: Instant) {
        let _ = now;
        todo!()
    }

    /// `n` bytes of [`poll_transmit`](Self::poll_transmit)'s slice were written at `now`.
    pub fn handle_written(&mut self, now: Instant, n: usize) {
        let _ = (now, n);
        todo!()
    }

    /// Bytes waiting to be written, if any.
    pub fn poll_transmit(&self) -> Option<&[u8]> {
        todo!()
    }

    /// `true` once, when the runtime should shut down the socket's write side (FIN) because our
    /// last bytes are written.
    pub fn poll_shutdown_write(&mut self) -> bool {
        todo!()
    }

    /// The next instant at which [`handle_timeout`](Self::handle_timeout) must be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        todo!()
    }

    /// The next event to log.
    pub fn poll_event(&mut self) -> Option<Event> {
        todo!()
    }

    /// Whether the runtime should read: `false` while unsent output is above the high-water mark
    /// (B5) and once closed.
    pub fn wants_input(&self) -> bool {
        todo!()
    }

    /// Whether the socket should be closed now: [`Lifecycle::Closed`] and nothing left to write.
    pub fn is_closed(&self) -> bool {
        todo!()
    }

    /// Where the connection is.
    pub fn lifecycle(&self) -> Lifecycle {
        todo!()
    }
}
