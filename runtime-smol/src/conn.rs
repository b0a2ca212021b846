//! One task per TCP connection, owning its [`Connection`]: the task is the connection's whole
//! I/O loop, and nothing of it outlives the task (S9).
//!
//! Each turn writes what the core wants written, logs its events, then sleeps on everything that
//! can move the connection forward at once: readability (only while the core wants input, so a
//! peer that does not read its answers stops being read from: B5), writability (only while
//! output is pending), the core's next deadline and the server's stop signal. The wait polls
//! the socket's readiness directly (`Async::poll_readable`/`poll_writable`) instead of holding a
//! read future, so the socket I/O itself is plain non-blocking calls on the `TcpStream`: reads
//! land in a per-thread scratch buffer that is borrowed only between two awaits, and an idle
//! connection holds no read buffer at all.
//!
//! The deadline is one [`Timer`] per connection, re-armed with `set_at` only when the core's
//! deadline changes: the core moves it on every message (ping, tick, keep-alive), and re-arming
//! costs one entry in the reactor's timer queue, not an allocation.

use std::cell::Cell;
use std::future::{poll_fn, Future};
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use async_io::{Async, Timer};
use event_listener::EventListener;
use gif_chat_core::Connection;

use crate::server::Shared;

/// The scratch buffer's size: one read takes up to this much.
pub const SCRATCH_BYTES: usize = 64 * 1024;
/// Reads per turn at most, so one fast sender cannot keep a thread from other connections.
pub const READ_BUDGET: usize = 16;

thread_local! {
    /// The executor thread's read buffer, shared by every connection that thread runs. It is
    /// taken out for one synchronous read loop and put back before the task awaits again.
    static SCRATCH: Cell<Option<Box<[u8]>>> = const { Cell::new(None) };
}

/// Serves one accepted connection until the core closes it.
pub async fn serve(shared: &Shared, stream: Async<TcpStream>, peer: SocketAddr) {
    // Small writes (ticks, echoes) must leave at once, not wait for Nagle's ACK. A failure only
    // costs latency, so it is not worth ending the connection over.
    let _ = stream.get_ref().set_nodelay(true);
    let mut conn = Connection::new(shared.config.clone(), peer, Instant::now());
    // Listen before looking at the flag: a stop that starts in between is still heard.
    let mut stop = Some(shared.stop.listen());
    if shared.is_stopping() {
        conn.handle_shutdown(Instant::now());
        stop = None;
    }
    let mut timer = Timer::never();
    let mut armed: Option<Instant> = None;

    loop {
        flush_output(&stream, &mut conn);
        if conn.poll_shutdown_write() {
            shutdown_write(&stream, &mut conn);
        }
        let log_backed_up = shared.log.events(|| conn.poll_event());
        if conn.is_closed() {
            // Dropping the `Async` deregisters the socket and closes it.
            return;
        }
        if log_backed_up {
            // This connection logs faster than the log is written: read no more until it
            // catches up.
            shared.log.wait_drained().await;
        }

        let deadline = conn.poll_timeout();
        if deadline != armed {
            match deadline {
                Some(at) => timer.set_at(at),
                None => timer.clear(),
            }
            armed = deadline;
        }
        let interest = Interest {
            read: conn.wants_input(),
            write: conn.poll_transmit().is_some(),
            deadline: deadline.is_some(),
        };
        let ready = wait(&stream, &mut timer, &mut stop, interest).await;

        if let Some(error) = ready.error {
            conn.handle_io_error(Instant::now(), &error);
            continue;
        }
        // Input first: what the peer sent before a deadline or a stop is still taken.
        if ready.readable {
            read_input(&stream, &mut conn);
        }
        if ready.timeout {
            // The timer has fired and is disarmed until set again.
            armed = None;
            conn.handle_timeout(Instant::now());
        }
        if ready.stop {
            stop = None;
            conn.handle_shutdown(Instant::now());
        }
    }
}

/// What a turn waits for.
#[derive(Debug, Clone, Copy)]
struct Interest {
    read: bool,
    write: bool,
    deadline: bool,
}

/// What woke the task; several at once are handled in one turn.
#[derive(Debug, Default)]
struct Ready {
    readable: bool,
    timeout: bool,
    stop: bool,
    /// The reactor could not watch the socket.
    error: Option<io::Error>,
}

/// Sleeps until one of the `interest`s is ready (writability only wakes: the next turn writes).
async fn wait(
    stream: &Async<TcpStream>,
    timer: &mut Timer,
    stop: &mut Option<EventListener>,
    interest: Interest,
) -> Ready {
    poll_fn(|cx| poll_ready(cx, stream, timer, stop, interest)).await
}

fn poll_ready(
    cx: &mut Context<'_>,
    stream: &Async<TcpStream>,
    timer: &mut Timer,
    stop: &mut Option<EventListener>,
    interest: Interest,
) -> Poll<Ready> {
    let mut ready = Ready::default();
    let mut woke = false;
    // Every branch is polled, even after one is ready, so each registers its waker or reports
    // its readiness in this same turn.
    if let Some(listener) = stop.as_mut() {
        if Pin::new(listener).poll(cx).is_ready() {
            ready.stop = true;
            woke = true;
        }
    }
    if interest.deadline && Pin::new(&mut *timer).poll(cx).is_ready() {
        ready.timeout = true;
        woke = true;
    }
    if interest.read {
        if let Poll::Ready(result) = stream.poll_readable(cx) {
            match result {
                Ok(()) => ready.readable = true,
                Err(error) => ready.error = Some(error),
            }
            woke = true;
        }
    }
    if interest.write {
        if let Poll::Ready(result) = stream.poll_writable(cx) {
            if let Err(error) = result {
                ready.error = Some(error);
            }
            woke = true;
        }
    }
    if woke {
        Poll::Ready(ready)
    } else {
        Poll::Pending
    }
}

/// Writes what the core has until it has nothing more or the socket is full.
fn flush_output(stream: &Async<TcpStream>, conn: &mut Connection) {
    while let Some(bytes) = conn.poll_transmit() {
        match stream.get_ref().write(bytes) {
            Ok(0) => {
                conn.handle_io_error(Instant::now(), &io::Error::from(io::ErrorKind::WriteZero));
                return;
            }
            Ok(n) => conn.handle_written(Instant::now(), n),
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => return,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => {
                conn.handle_io_error(Instant::now(), &error);
                return;
            }
        }
    }
}

/// Sends our FIN once the core's last bytes are out.
fn shutdown_write(stream: &Async<TcpStream>, conn: &mut Connection) {
    match stream.get_ref().shutdown(Shutdown::Write) {
        // The peer already reset the connection: there is nobody left to tell.
        Err(error) if error.kind() != io::ErrorKind::NotConnected => {
            conn.handle_io_error(Instant::now(), &error);
        }
        _ => {}
    }
}

/// Reads until the socket is drained, the core stops wanting input, or the budget is used.
/// Data left behind is not lost: the reactor's interest is level-triggered, so the next wait
/// wakes at once while the socket is readable.
fn read_input(stream: &Async<TcpStream>, conn: &mut Connection) {
    SCRATCH.with(|slot| {
        let mut buffer = slot
            .take()
            .unwrap_or_else(|| vec![0; SCRATCH_BYTES].into_boxed_slice());
        read_into(stream, conn, &mut buffer);
        slot.set(Some(buffer));
    });
}

fn read_into(stream: &Async<TcpStream>, conn: &mut Connection, buffer: &mut [u8]) {
    let mut reads = 0;
    while reads < READ_BUDGET && conn.wants_input() {
        match stream.get_ref().read(buffer) {
            Ok(0) => {
                conn.handle_eof(Instant::now());
                return;
            }
            Ok(n) => {
                reads += 1;
                // `read` never reports more than the buffer holds; `min` keeps that unprovable
                // promise from becoming a panic.
                conn.handle_input(Instant::now(), &buffer[..n.min(buffer.len())]);
                if n < buffer.len() {
                    // A short read emptied the receive queue: don't pay a read that only says
                    // `WouldBlock`. async-io's poller is level-triggered (oneshot), so anything
                    // that arrived meanwhile wakes the task again.
                    return;
                }
            }
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => return,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => {
                conn.handle_io_error(Instant::now(), &error);
                return;
            }
        }
    }
}
