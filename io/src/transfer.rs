//! Moving bytes between a socket and the core's [`Connection`]: the read loop, the write loop and
//! the final `shutdown(Write)`, the same for every runtime.
//!
//! What differs between runtimes is only *how* one read or one write is made (tokio's
//! `try_read`/`try_write` behind its readiness cache, a plain non-blocking call on smol's
//! `Async<TcpStream>`, mio's stream) and how the task waits for the socket afterwards. So the
//! loops here are generic over a closure that makes one call, and they return what the runtime
//! must know to wait: whether output is blocked, why reading stopped. The error rules live here
//! once: `WouldBlock` ends a loop, `Interrupted` retries, a zero-byte write is `WriteZero`, every
//! other error goes to the core (which logs it and closes), and a `shutdown` refused with
//! `NotConnected` means the peer is gone already, which is no error.
//!
//! Reads land in a per-thread scratch buffer ([`with_scratch`]) borrowed only for one read loop,
//! never across a wait, so an idle connection holds no read buffer at all.

use std::cell::Cell;
use std::io;
use std::time::Instant;

use gif_chat_core::Connection;

/// Size of the per-thread read buffer: one read takes up to this much.
pub const SCRATCH_BYTES: usize = 64 * 1024;

/// Reads per [`read_available`] call at most, so that one fast sender cannot keep its thread from
/// other connections, nor its own connection from writing, ticking or stopping.
pub const READ_BUDGET: usize = 16;

thread_local! {
    /// The thread's read buffer, shared by every connection that thread serves. It is taken out
    /// for one read loop and put back after, so a nested use gets a fresh buffer, never a shared
    /// one.
    static SCRATCH: Cell<Option<Box<[u8]>>> = const { Cell::new(None) };
}

/// Runs `f` with this thread's scratch buffer ([`SCRATCH_BYTES`] long).
pub fn with_scratch<R>(f: impl FnOnce(&mut [u8]) -> R) -> R {
    SCRATCH.with(|slot| {
        let mut buffer = slot
            .take()
            .unwrap_or_else(|| vec![0; SCRATCH_BYTES].into_boxed_slice());
        let result = f(&mut buffer);
        slot.set(Some(buffer));
        result
    })
}

/// Where [`write_pending`] left the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    /// Everything the core had is written.
    Done,
    /// The socket would block with output left: wait until it is writable, then write again.
    Blocked,
    /// The socket failed; the core has been told (and will close the connection).
    Failed,
}

/// Writes what the core has until it has nothing more or the socket would block. `write` makes
/// one non-blocking write of the slice it is given.
pub fn write_pending(
    conn: &mut Connection,
    mut write: impl FnMut(&[u8]) -> io::Result<usize>,
) -> WriteOutcome {
    // An empty slice is nothing to write, not a zero-length write that would look like a dead
    // peer.
    while let Some(output) = conn.poll_transmit().filter(|bytes| !bytes.is_empty()) {
        match write(output) {
            Ok(0) => {
                conn.handle_io_error(Instant::now(), &io::ErrorKind::WriteZero.into());
                return WriteOutcome::Failed;
            }
            Ok(n) => conn.handle_written(Instant::now(), n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return WriteOutcome::Blocked,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                conn.handle_io_error(Instant::now(), &e);
                return WriteOutcome::Failed;
            }
        }
    }
    WriteOutcome::Done
}

/// Sends our FIN if the core's last bytes are out and it asks for it. `shutdown` makes the
/// `shutdown(Write)` call. Returns whether the socket failed (the core has been told).
pub fn shutdown_if_done(conn: &mut Connection, shutdown: impl FnOnce() -> io::Result<()>) -> bool {
    if !conn.poll_shutdown_write() {
        return false;
    }
    match shutdown() {
        // The peer already reset the connection: there is nobody left to tell.
        Err(e) if e.kind() == io::ErrorKind::NotConnected => false,
        Err(e) => {
            conn.handle_io_error(Instant::now(), &e);
            true
        }
        Ok(()) => false,
    }
}

/// Why [`read_available`] stopped reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadEnd {
    /// The core wants no more input for now (backpressure, or it is closing).
    NotWanted,
    /// The budget is spent and the socket may hold more: read again soon, without waiting.
    BudgetSpent,
    /// A read returned less than the buffer: on epoll and kqueue the receive queue is empty, so
    /// new data will raise a new readiness edge.
    ShortRead,
    /// The socket said `WouldBlock`: wait for readiness.
    WouldBlock,
    /// The peer ended its side; the core has been told.
    Eof,
    /// The socket failed; the core has been told.
    Failed,
}

/// What [`read_available`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadOutcome {
    /// Read calls made (each counts against the budget).
    pub reads: usize,
    pub end: ReadEnd,
}

/// Reads into `scratch` and hands the bytes to the core, until the core stops wanting input, the
/// socket is drained, or `budget` reads were made. `read` makes one non-blocking read.
///
/// A short read ends the loop (no second read just to hear `WouldBlock`) unless
/// `short_read_drains` is false: a runtime whose readiness edge for a pending EOF has already
/// been consumed must read on to find it.
pub fn read_available(
    conn: &mut Connection,
    scratch: &mut [u8],
    budget: usize,
    short_read_drains: bool,
    mut read: impl FnMut(&mut [u8]) -> io::Result<usize>,
) -> ReadOutcome {
    let mut reads = 0;
    let end = loop {
        if !conn.wants_input() {
            break ReadEnd::NotWanted;
        }
        if reads >= budget {
            break ReadEnd::BudgetSpent;
        }
        reads += 1;
        match read(scratch) {
            Ok(0) => {
                conn.handle_eof(Instant::now());
                break ReadEnd::Eof;
            }
            Ok(n) => {
                // `read` never reports more than the buffer holds; `get` keeps that unprovable
                // promise from becoming a panic.
                let Some(input) = scratch.get(..n) else {
                    break ReadEnd::ShortRead;
                };
                conn.handle_input(Instant::now(), input);
                if short_read_drains && n < scratch.len() {
                    break ReadEnd::ShortRead;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break ReadEnd::WouldBlock,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                conn.handle_io_error(Instant::now(), &e);
                break ReadEnd::Failed;
            }
        }
    };
    ReadOutcome { reads, end }
}

/// What a connection can wait for after a turn: the runtime turns this into its own wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interest {
    /// The core wants input: wait for readability.
    pub read: bool,
    /// Output is blocked: wait for writability.
    pub write: bool,
    /// The core's next deadline.
    pub deadline: Option<Instant>,
}

impl Interest {
    /// What `conn` waits for, given whether its last write blocked.
    pub fn of(conn: &Connection, write: WriteOutcome) -> Interest {
        Interest {
            read: conn.wants_input(),
            write: write == WriteOutcome::Blocked,
            deadline: conn.poll_timeout(),
        }
    }

    /// Nothing can move the connection on. Once the stop has also been delivered, nothing ever
    /// will: every runtime then ends the connection rather than keep something nothing wakes.
    pub fn is_empty(&self) -> bool {
        !self.read && !self.write && self.deadline.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;
    use std::sync::Arc;

    use gif_chat_core::Config;

    fn connection() -> Connection {
        let peer: SocketAddr = "127.0.0.1:5000".parse().expect("literal");
        Connection::new(Arc::new(Config::new()), peer, Instant::now())
    }

    /// Feeds a request for the page and returns the connection with its response pending.
    fn answering() -> Connection {
        let mut conn = connection();
        with_scratch(|scratch| {
            let mut request: &[u8] = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
            let outcome = read_available(&mut conn, scratch, READ_BUDGET, true, |buf| {
                io::Read::read(&mut request, buf)
            });
            assert_eq!(outcome.end, ReadEnd::ShortRead);
            assert_eq!(outcome.reads, 1);
        });
        conn
    }

    #[test]
    fn a_blocked_write_resumes_where_it_stopped() {
        let mut conn = answering();
        let mut sent = Vec::new();
        let mut room = 100;
        let outcome = write_pending(&mut conn, |bytes| {
            if room == 0 {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            let n = bytes.len().min(room);
            room -= n;
            sent.extend_from_slice(&bytes[..n]);
            Ok(n)
        });
        assert_eq!(outcome, WriteOutcome::Blocked);
        assert_eq!(sent.len(), 100);
        assert!(Interest::of(&conn, outcome).write);
        let outcome = write_pending(&mut conn, |bytes| {
            sent.extend_from_slice(bytes);
            Ok(bytes.len())
        });
        assert_eq!(outcome, WriteOutcome::Done);
        assert!(sent.starts_with(b"HTTP/1.1 200 OK\r\n"));
        assert!(sent.ends_with(b"</html>\n") || sent.ends_with(b"</html>"));
    }

    #[test]
    fn interrupted_calls_are_retried_and_a_zero_write_fails() {
        let mut conn = answering();
        let mut interrupted = false;
        let mut writes = 0;
        let outcome = write_pending(&mut conn, |_| {
            writes += 1;
            if interrupted {
                Ok(0)
            } else {
                interrupted = true;
                Err(io::ErrorKind::Interrupted.into())
            }
        });
        assert_eq!(outcome, WriteOutcome::Failed);
        assert_eq!(writes, 2);
    }

    #[test]
    fn reading_stops_at_the_budget_and_at_eof() {
        let mut conn = connection();
        let mut calls = 0;
        // A peer trickling a request head one byte per read, never short of the buffer.
        let outcome = read_available(&mut conn, &mut [0; 1], 3, true, |buf| {
            calls += 1;
            buf[0] = b"GET / HTTP/1.1\r\n"[calls - 1];
            Ok(1)
        });
        assert_eq!(
            outcome,
            ReadOutcome {
                reads: 3,
                end: ReadEnd::BudgetSpent
            }
        );
        let outcome = read_available(&mut conn, &mut [0; 64], 3, true, |_| Ok(0));
        assert_eq!(
            outcome,
            ReadOutcome {
                reads: 1,
                end: ReadEnd::Eof
            }
        );
    }

    #[test]
    fn a_short_read_reads_on_when_it_does_not_drain() {
        let mut conn = connection();
        let mut input: &[u8] = b"GET / HTT";
        let outcome = read_available(&mut conn, &mut [0; 64], READ_BUDGET, false, |buf| {
            io::Read::read(&mut input, buf)
        });
        assert_eq!(
            outcome,
            ReadOutcome {
                reads: 2,
                end: ReadEnd::Eof
            }
        );
    }

    #[test]
    fn a_refused_shutdown_of_a_gone_peer_is_no_error() {
        let mut conn = connection();
        // The core asks for no FIN yet: the call is not made.
        assert!(!shutdown_if_done(&mut conn, || panic!("not asked for")));

        for (error, failed) in [
            (io::ErrorKind::NotConnected, false),
            (io::ErrorKind::PermissionDenied, true),
        ] {
            let mut conn = connection();
            let mut request: &[u8] = b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
            read_available(&mut conn, &mut [0; 256], READ_BUDGET, true, |buf| {
                io::Read::read(&mut request, buf)
            });
            let written = write_pending(&mut conn, |bytes| Ok(bytes.len()));
            assert_eq!(written, WriteOutcome::Done);
            let mut calls = 0;
            let result = shutdown_if_done(&mut conn, || {
                calls += 1;
                Err(error.into())
            });
            assert_eq!((calls, result), (1, failed), "{error:?}");
        }
    }
}
