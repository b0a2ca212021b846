//! One accepted socket and its [`Connection`]: moving bytes between them.
//!
//! mio readiness is edge-triggered: an event says the socket *became* readable or writable, and
//! it is not repeated while that stays true. So a [`Slot`] keeps its own readiness flags, set by
//! events and cleared only when the socket says `WouldBlock` (or, for reads, returns less than
//! asked, which on epoll and kqueue means the receive queue is empty and new data will raise a
//! new edge). That lets reading stop while the core does not want input (backpressure, B5) and
//! resume later without waiting for an event that will never come.
//!
//! Nothing here is kept per connection beyond the core's state, the socket and a few flags:
//! reads go into the event loop's one scratch buffer.

use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::time::Instant;

use gif_chat_core::log::LogBuffer;
use gif_chat_core::Connection;
use mio::event::Event;
use mio::net::TcpStream;

/// Reads per [`Slot::drive`] call before the connection yields to the others (fairness: a fast
/// sender must not starve the loop). A connection that used it up is driven again next turn.
pub const READ_BUDGET: usize = 16;

/// Whether a read that returns less than asked proves the receive queue empty, so that the
/// next readiness edge can be awaited without a read that ends in `WouldBlock`. True for epoll
/// and kqueue (tokio relies on the same); not for the emulated or level-triggered selectors.
const SHORT_READ_DRAINS: bool = cfg!(any(
    target_os = "android",
    target_os = "illumos",
    target_os = "linux",
    target_os = "redox",
    target_os = "dragonfly",
    target_os = "freebsd",
    target_os = "ios",
    target_os = "macos",
    target_os = "netbsd",
    target_os = "openbsd",
));

/// A live connection in the loop's slab.
#[derive(Debug)]
pub struct Slot {
    pub conn: Connection,
    pub stream: TcpStream,
    /// The deadline of this connection's current timer entry (see [`crate::timer`]).
    pub armed: Option<Instant>,
    /// Tells this connection apart from earlier ones that used the same slab key.
    pub generation: u32,
    /// The socket may hold unread data (or an EOF or error to report).
    readable: bool,
    /// The peer shut down its side or the socket failed: read on until EOF or the error even
    /// after a short read, since the readiness edge that announced it has been consumed.
    read_closed: bool,
    /// The socket may take more output.
    writable: bool,
    /// Waiting in the loop's queue of connections that used up their read budget.
    pub queued: bool,
}

/// Where [`Slot::drive`] left the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Nothing to do until an event or its deadline.
    Waiting,
    /// The read budget ran out with input still pending: drive again next turn.
    Yielded,
    /// Done: drop the slot, which closes the socket.
    Closed,
}

impl Slot {
    /// A freshly accepted, already registered socket. Readiness starts unknown: registering
    /// reports the socket's current state as a first event.
    pub fn new(conn: Connection, stream: TcpStream, generation: u32) -> Slot {
        Slot {
            conn,
            stream,
            armed: None,
            generation,
            readable: false,
            read_closed: false,
            writable: false,
            queued: false,
        }
    }

    /// Records what a readiness event says. Errors and hang-ups count as readable and writable,
    /// so that the next read or write reports them.
    pub fn note_event(&mut self, event: &Event) {
        if event.is_readable() || event.is_read_closed() || event.is_error() {
            self.readable = true;
        }
        if event.is_read_closed() || event.is_error() {
            self.read_closed = true;
        }
        if event.is_writable() || event.is_write_closed() || event.is_error() {
            self.writable = true;
        }
    }

    /// Moves bytes until the socket would block, the core wants no more input, or the read
    /// budget is spent; then logs the core's events. `scratch` is the loop's shared read buffer.
    pub fn drive(&mut self, scratch: &mut [u8], log: &mut LogBuffer, colored: bool) -> Status {
        let mut reads = 0;
        let mut status = Status::Waiting;
        loop {
            // Output first: a response written promptly keeps the unsent total below the
            // high-water mark, and makes room to read more.
            self.write();
            if self.conn.poll_shutdown_write() {
                self.shutdown_write();
            }
            if !(self.readable && self.conn.wants_input()) {
                break;
            }
            if reads == READ_BUDGET {
                status = Status::Yielded;
                break;
            }
            reads += 1;
            self.read(scratch);
        }
        while let Some(event) = self.conn.poll_event() {
            log.push_event(&event, colored);
        }
        if self.conn.is_closed() {
            Status::Closed
        } else {
            status
        }
    }

    /// Writes what the core has until it has nothing more or the socket would block.
    fn write(&mut self) {
        while self.writable {
            // An empty slice is nothing to write, not a zero-length write that would look like
            // a dead peer.
            let Some(bytes) = self.conn.poll_transmit().filter(|b| !b.is_empty()) else {
                return;
            };
            match self.stream.write(bytes) {
                Ok(0) => self.fail(&io::Error::from(io::ErrorKind::WriteZero)),
                Ok(n) => self.conn.handle_written(Instant::now(), n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.writable = false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => self.fail(&e),
            }
        }
    }

    /// One read into the scratch buffer, handed to the core.
    fn read(&mut self, scratch: &mut [u8]) {
        match self.stream.read(scratch) {
            Ok(0) => {
                self.readable = false;
                self.conn.handle_eof(Instant::now());
            }
            Ok(n) => {
                // A short read emptied the receive queue: more data will raise a new edge.
                // (Not so for a pending EOF, whose edge is already consumed.)
                if SHORT_READ_DRAINS && n < scratch.len() && !self.read_closed {
                    self.readable = false;
                }
                if let Some(input) = scratch.get(..n) {
                    self.conn.handle_input(Instant::now(), input);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.readable = false,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => self.fail(&e),
        }
    }

    /// Sends our FIN once the core's last bytes are out.
    fn shutdown_write(&mut self) {
        match self.stream.shutdown(Shutdown::Write) {
            // The peer is already gone: nothing left to tell it.
            Err(e) if e.kind() != io::ErrorKind::NotConnected => self.fail(&e),
            _ => {}
        }
    }

    /// The socket failed: the core closes the connection; the socket is not touched again.
    fn fail(&mut self, error: &io::Error) {
        self.readable = false;
        self.writable = false;
        self.conn.handle_io_error(Instant::now(), error);
    }
}
