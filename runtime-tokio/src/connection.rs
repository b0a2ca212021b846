//! One task per TCP connection, owning the core's [`Connection`] and moving bytes for it.
//!
//! The task is a loop around one `tokio::select!`: it waits only for what the core can use right
//! now (readable while the core wants input, writable while output is blocked, the core's next
//! deadline, the server's stop) and then hands whatever happened to the core. Reads go through a
//! per-thread 64 KiB scratch buffer with `try_read`, and writes come straight from the core's
//! output with `try_write`, so no buffer lives across an `.await`: an idle connection costs its
//! task (the core's state plus a few hundred bytes of futures), not a read buffer. The deadline
//! is one pinned `Sleep` that is reset, not re-created, so the timer wheel entry is reused.

use std::cell::RefCell;
use std::future::Future;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use gif_chat_core::{Config, Connection};
use socket2::SockRef;
use tokio::io::Interest;
use tokio::net::TcpStream;
use tokio::sync::Notify;

use crate::logger::Logger;

/// Size of the per-thread read buffer.
const SCRATCH_BYTES: usize = 64 * 1024;
/// Reads per wake-up before the task goes back through `select!`, so one fast peer cannot keep
/// its connection from writing, ticking or stopping.
const READ_BUDGET: usize = 16;

thread_local! {
    /// Shared by every connection task that runs on this worker thread; only borrowed between
    /// awaits, so tasks never see each other's bytes.
    static SCRATCH: RefCell<Box<[u8]>> = RefCell::new(vec![0; SCRATCH_BYTES].into_boxed_slice());
}

/// How many connection tasks are alive, so a graceful stop knows when it is done.
#[derive(Debug, Default)]
pub struct OpenConnections {
    count: AtomicUsize,
    /// Signalled when `count` drops to zero; a stored permit covers a waiter that arrives late.
    idle: Notify,
}

impl OpenConnections {
    pub fn new() -> Arc<OpenConnections> {
        Arc::new(OpenConnections::default())
    }

    /// Connections currently open.
    pub fn count(&self) -> usize {
        self.count.load(Ordering::Acquire)
    }

    /// Counts a new connection until the returned guard is dropped.
    pub fn open(self: &Arc<Self>) -> OpenGuard {
        self.count.fetch_add(1, Ordering::AcqRel);
        OpenGuard(Arc::clone(self))
    }

    /// Resolves once no connection is open.
    pub async fn all_closed(&self) {
        while self.count() > 0 {
            self.idle.notified().await;
        }
    }
}

/// One open connection; dropping it (the task ended or was cancelled) uncounts it.
#[derive(Debug)]
pub struct OpenGuard(Arc<OpenConnections>);

impl Drop for OpenGuard {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_one();
        }
    }
}

/// The server's stop, broadcast to every connection task.
///
/// A flag plus a [`Notify`]: each task creates its `Notified` future once, before it first
/// checks the flag, and keeps it pinned, so a `notify_waiters` can never fall between the check
/// and the wait. This costs each task 64 bytes, about half of a `watch::Receiver::changed()`.
#[derive(Debug, Default)]
pub struct StopFlag {
    stopping: AtomicBool,
    notify: Notify,
}

impl StopFlag {
    pub fn new() -> Arc<StopFlag> {
        Arc::new(StopFlag::default())
    }

    /// Tells every connection, present and future, that the server is stopping.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    /// Whether [`stop`](Self::stop) was called.
    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }
}

/// What every connection task shares with the server.
#[derive(Debug, Clone)]
pub struct Shared {
    pub config: Arc<Config>,
    pub logger: Logger,
    pub stop: Arc<StopFlag>,
}

/// The task for one accepted connection: drives it until the core says it is closed, then
/// closes the socket (by dropping it).
///
/// Everything the task keeps is built here and captured by the returned future, which then
/// holds one copy of each: the stream, the core's connection, two `Arc`s, the guard, the pinned
/// `Sleep` and `Notified`, and one readiness future while waiting.
pub fn drive(
    stream: TcpStream,
    peer: SocketAddr,
    shared: &Shared,
    open: OpenGuard,
) -> impl Future<Output = ()> + Send + 'static {
    // Small writes (a tick, a pong) must leave at once, not wait for Nagle. Failing to set it
    // only costs latency, and a dead socket will report itself on the first read or write.
    let _ = stream.set_nodelay(true);
    let mut conn = Connection::new(Arc::clone(&shared.config), peer, Instant::now());
    let logger = shared.logger.clone();
    let stop = Arc::clone(&shared.stop);

    async move {
        let stop_notified = stop.notify.notified();
        tokio::pin!(stop_notified);
        stop_notified.as_mut().enable();
        // Checked after `enable`, so a stop is either seen here or delivered to the future.
        let mut stop_seen = stop.is_stopping();
        if stop_seen {
            conn.handle_shutdown(Instant::now());
        }

        // Any instant will do: the branch is disabled until the core asks for a deadline.
        let sleep = tokio::time::sleep_until(tokio::time::Instant::now());
        tokio::pin!(sleep);
        let mut armed: Option<Instant> = None;

        loop {
            let write_blocked = write_pending(&stream, &mut conn);
            if conn.poll_shutdown_write() {
                shutdown_write(&stream, &mut conn);
            }
            let log_backed_up = logger.push_events(&mut conn);
            if conn.is_closed() {
                break;
            }
            if log_backed_up {
                // This connection is logging faster than the log is written: read no more
                // until it catches up (memory stays bounded whatever the peer sends).
                logger.wait_drained().await;
            }

            let deadline = conn.poll_timeout();
            if let Some(at) = deadline {
                if armed != Some(at) {
                    sleep.as_mut().reset(at.into());
                    armed = Some(at);
                }
            }
            // One readiness future for both directions (half the size of `readable()` plus
            // `writable()` side by side). Writable only after a write would block; the next
            // turn writes again.
            let interest = match (conn.wants_input(), write_blocked) {
                (true, true) => Some(Interest::READABLE | Interest::WRITABLE),
                (true, false) => Some(Interest::READABLE),
                (false, true) => Some(Interest::WRITABLE),
                (false, false) => None,
            };

            // `select!` builds every branch's future, disabled or not, hence the placeholder
            // interest when there is none.
            let wait_for = interest.unwrap_or(Interest::READABLE);

            tokio::select! {
                ready = stream.ready(wait_for), if interest.is_some() => match ready {
                    // Includes a peer's FIN or reset, which the read turns into EOF or an error.
                    Ok(ready) if ready.is_readable() => {
                        // `try_read` is invisible to tokio's cooperative budget, unlike its own
                        // async reads: charge each read, or a peer that keeps its socket readable
                        // keeps this worker (and the timers it drives) from everyone else.
                        for _ in 0..read_available(&stream, &mut conn) {
                            tokio::task::consume_budget().await;
                        }
                    }
                    Ok(_) => {}
                    Err(e) => conn.handle_io_error(Instant::now(), &e),
                },
                () = &mut sleep, if deadline.is_some() => {
                    conn.handle_timeout(Instant::now());
                }
                () = &mut stop_notified, if !stop_seen => {
                    stop_seen = true;
                    conn.handle_shutdown(Instant::now());
                }
                // Nothing to wait for, yet not closed: the core can make no more progress, so
                // end the connection rather than keep a task that nothing will ever wake.
                else => break,
            }
        }
        // Uncounted only after the last events were logged, so a graceful stop that sees zero
        // open connections also sees their farewell lines.
        drop(open);
    }
}

/// Writes what the core has until it has nothing more or the socket would block; returns
/// whether output is left waiting for writability.
fn write_pending(stream: &TcpStream, conn: &mut Connection) -> bool {
    while let Some(output) = conn.poll_transmit() {
        match stream.try_write(output) {
            Ok(0) => {
                let e = io::Error::from(io::ErrorKind::WriteZero);
                conn.handle_io_error(Instant::now(), &e);
                return false;
            }
            Ok(n) => conn.handle_written(Instant::now(), n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                conn.handle_io_error(Instant::now(), &e);
                return false;
            }
        }
    }
    false
}

/// Sends our FIN once the core's last bytes are out.
fn shutdown_write(stream: &TcpStream, conn: &mut Connection) {
    match SockRef::from(stream).shutdown(Shutdown::Write) {
        // The peer already reset the connection: nothing left to shut down.
        Err(e) if e.kind() == io::ErrorKind::NotConnected => {}
        Err(e) => conn.handle_io_error(Instant::now(), &e),
        Ok(()) => {}
    }
}

/// Reads until the socket is drained, the core stops wanting input, or the budget is spent;
/// returns how many reads returned data.
fn read_available(stream: &TcpStream, conn: &mut Connection) -> usize {
    SCRATCH.with_borrow_mut(|scratch| {
        let mut reads = 0;
        for _ in 0..READ_BUDGET {
            if !conn.wants_input() {
                break;
            }
            match read_once(stream, scratch) {
                Ok(0) => {
                    conn.handle_eof(Instant::now());
                    break;
                }
                Ok(n) => match scratch.get(..n) {
                    Some(input) => {
                        reads += 1;
                        conn.handle_input(Instant::now(), input);
                        if n < scratch.len() {
                            // Drained (see `read_once`): no second read just to hear EAGAIN.
                            break;
                        }
                    }
                    // `read` never returns more than the buffer's length.
                    None => break,
                },
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    conn.handle_io_error(Instant::now(), &e);
                    break;
                }
            }
        }
        reads
    })
}

/// One non-blocking read. A short read means the socket's receive queue was emptied, so the
/// readiness tokio caches is cleared then too, as tokio's own `poll_read` does: the task then
/// sleeps until new data instead of paying a read that only says `WouldBlock` (half the read
/// syscalls of a ticking connection).
fn read_once(stream: &TcpStream, scratch: &mut [u8]) -> io::Result<usize> {
    let mut got = None;
    let result = stream.try_io(Interest::READABLE, || {
        let n = io::Read::read(&mut &*SockRef::from(stream), scratch)?;
        got = Some(n);
        if n > 0 && n < scratch.len() {
            // Reported as `WouldBlock` only so that `try_io` clears the readiness; the bytes
            // are returned through `got`.
            Err(io::ErrorKind::WouldBlock.into())
        } else {
            Ok(n)
        }
    });
    match (result, got) {
        (Err(e), Some(n)) if e.kind() == io::ErrorKind::WouldBlock => Ok(n),
        (result, _) => result,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logger::Sinks;

    #[tokio::test]
    async fn the_count_reaches_zero_when_the_last_guard_drops() {
        let open = OpenConnections::new();
        let (a, b) = (open.open(), open.open());
        assert_eq!(open.count(), 2);
        drop(a);
        assert_eq!(open.count(), 1);
        let waiter = tokio::spawn({
            let open = Arc::clone(&open);
            async move { open.all_closed().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished(), "one connection is still open");
        drop(b);
        tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
            .await
            .expect("all_closed resolves")
            .expect("the waiter did not panic");
    }

    /// The whole per-connection cost is this future (tokio stores it in the task): keep the
    /// runtime's part of it small.
    #[tokio::test]
    async fn the_connection_task_is_small() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let stream = TcpStream::connect(addr).await.expect("connect");
        let shared = Shared {
            config: Arc::new(Config::new()),
            logger: Logger::new(false, Sinks::stdio()),
            stop: StopFlag::new(),
        };
        let task = drive(stream, addr, &shared, OpenConnections::new().open());
        let runtime_part = std::mem::size_of_val(&task) - std::mem::size_of::<Connection>();
        assert!(
            runtime_part < 640,
            "the task future is {} bytes beyond the core's {}",
            runtime_part,
            std::mem::size_of::<Connection>()
        );
    }
}
