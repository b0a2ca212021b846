//! One accepted socket and its [`Connection`]: moving bytes between them.
//!
//! mio readiness is edge-triggered: an event says the socket *became* readable or writable, and
//! it is not repeated while that stays true. So a [`Slot`] keeps its own readiness flags, set by
//! events and cleared only when the socket says `WouldBlock` (or, for reads, returns less than
//! asked, which on epoll and kqueue means the receive queue is empty and new data will raise a
//! new edge). That lets reading stop while the core does not want input (backpressure, B5) and
//! resume later without waiting for an event that will never come.
//!
//! The read and write loops are `gif_chat_io::transfer`'s, given mio's stream as their one call;
//! what is mio's here is keeping those readiness flags. Nothing is kept per connection beyond the
//! core's state, the socket and a few flags: reads go into the loop thread's one scratch buffer.

use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::time::Instant;

use gif_chat_core::Connection;
use gif_chat_io::transfer::{self, Interest, ReadEnd, WriteOutcome, READ_BUDGET};
use gif_chat_io::{DirectSocket, HubLink, LogBuffer, SharedHub, SocketCell};
use mio::event::Event;
use mio::net::TcpStream;

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

/// The socket, shared with the hub once the connection holds a Socket.IO WebSocket, so that a
/// broadcast from another connection's turn can be written to it directly
/// (`gif_chat_io::fanout`). Registered with the poll before it is
/// shared; dropping the last handle closes it, which also removes it from the poll set.
#[derive(Debug)]
pub struct Socket(TcpStream);

impl DirectSocket for Socket {
    fn try_write(&self, bytes: &[u8]) -> io::Result<usize> {
        (&self.0).write(bytes)
    }
}

/// A live connection in the loop's slab.
#[derive(Debug)]
pub struct Slot {
    pub conn: Connection,
    stream: SocketCell<Socket>,
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
    /// The Engine.IO session this connection holds for the hub, if any.
    link: HubLink,
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
            link: HubLink::new(),
            stream: SocketCell::new(Socket(stream)),
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
    /// budget ([`READ_BUDGET`] reads, so a fast sender cannot starve the loop) is spent; then
    /// logs the core's events. Once the server is `stopping`, a connection that has nothing
    /// left to wait for is closed, as in every runtime.
    pub fn drive(
        &mut self,
        hub: &SharedHub,
        token: usize,
        log: &mut LogBuffer,
        colored: bool,
        stopping: bool,
    ) -> Status {
        let mut reads = 0;
        let mut status = Status::Waiting;
        let written = loop {
            // Calls for the hub from the input just read, and this session's output.
            hub.exchange(&mut self.conn, &mut self.link, token);
            self.stream.share_if_wanted(&self.link);
            // Output first: a response written promptly keeps the unsent total below the
            // high-water mark, and makes room to read more.
            let written = self.write();
            if transfer::shutdown_if_done(&mut self.conn, || {
                self.stream.get().0.shutdown(Shutdown::Write)
            }) {
                self.fail();
            }
            if self.conn.has_hub_call() && !self.conn.is_closed() {
                // A written answer let the pipeline go on to its next Engine.IO request.
                continue;
            }
            if !(self.readable && self.conn.wants_input()) {
                break written;
            }
            if reads >= READ_BUDGET {
                status = Status::Yielded;
                break written;
            }
            // A short read proves nothing for a pending EOF, whose edge is already consumed.
            let short_read_drains = SHORT_READ_DRAINS && !self.read_closed;
            let outcome = transfer::with_scratch(|scratch| {
                transfer::read_available(
                    &mut self.conn,
                    scratch,
                    READ_BUDGET - reads,
                    short_read_drains,
                    |buf| (&self.stream.get().0).read(buf),
                )
            });
            reads += outcome.reads;
            match outcome.end {
                // Looked at again at the top of the loop.
                ReadEnd::NotWanted | ReadEnd::BudgetSpent => {}
                // Drained: more data (or the EOF) will raise a new edge.
                ReadEnd::ShortRead | ReadEnd::WouldBlock | ReadEnd::Eof => self.readable = false,
                ReadEnd::Failed => self.fail(),
            }
        };
        // The end of a parked GET or of a WebSocket reaches the hub even when the connection
        // closed in the loop's last step.
        hub.exchange(&mut self.conn, &mut self.link, token);
        self.stream.share_if_wanted(&self.link);
        // Nothing unsent: a broadcast may be written straight to the socket until the next
        // drive.
        self.link.offer_direct(&self.conn);
        log.push_events(&mut self.conn, colored);
        let stuck = stopping
            && status == Status::Waiting
            && !self.link.is_registered()
            && Interest::of(&self.conn, written).is_empty();
        if self.conn.is_closed() || stuck {
            Status::Closed
        } else {
            status
        }
    }

    /// Writes what the core has until it has nothing more or the socket would block.
    fn write(&mut self) -> WriteOutcome {
        if !self.writable {
            let pending = self.conn.poll_transmit().is_some_and(|b| !b.is_empty());
            return if pending {
                WriteOutcome::Blocked
            } else {
                WriteOutcome::Done
            };
        }
        let outcome =
            transfer::write_pending(&mut self.conn, |bytes| (&self.stream.get().0).write(bytes));
        match outcome {
            WriteOutcome::Done => {}
            WriteOutcome::Blocked => self.writable = false,
            WriteOutcome::Failed => self.fail(),
        }
        outcome
    }

    /// The socket failed (the core has been told and closes the connection): the socket is
    /// not touched again.
    fn fail(&mut self) {
        self.readable = false;
        self.writable = false;
    }
}
