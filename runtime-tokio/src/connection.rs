//! One task per TCP connection, owning the core's [`Connection`] and moving bytes for it.
//!
//! The task is a loop around one wait: it waits only for what the core can use right now
//! (readable while the core wants input, writable while output is blocked, the core's next
//! deadline, the server's stop, the hub's wake) and then hands whatever happened to the core.
//! The read and write loops themselves are `gif_chat_io::transfer`'s, given one non-blocking
//! read or write through the socket's `AsyncFd` as their one call; reads go through its
//! per-thread scratch buffer, so no buffer lives across an `.await`.
//!
//! An idle Socket.IO WebSocket gives up its task and its registration and waits in
//! `gif_chat_io::parking` ([`resume`] gives it a task again). Every other connection costs its
//! task while it waits, so the task is kept small: the wait is one `poll_fn`
//! over the socket's registration and the other sources (no readiness future, no `select!`
//! tuple of them), and the deadline's `Sleep` is boxed and made only while the core asks for a
//! deadline, then reset, not re-created, as the deadline moves. An idle Socket.IO session has
//! none (its heartbeat is the hub's timer), so it keeps no timer entry either.

use std::future::{poll_fn, Future};
use std::io::{self, Write as _};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use event_listener::EventListener;
use gif_chat_core::{Config, Connection};
use gif_chat_io::parking::{self, Pace, ParkGrace, ParkedConnection, Parking, ParkingLot};
use gif_chat_io::transfer::{self, Interest, READ_BUDGET};
use gif_chat_io::{HubLink, HubWait, Log, OpenGuard, SharedHub, SocketCell, StopFlag};
use tokio::io::unix::AsyncFd;
use tokio::time::Sleep;

/// What every connection task shares with the server.
#[derive(Debug, Clone)]
pub struct Shared {
    pub config: Arc<Config>,
    pub log: Log,
    pub stop: Arc<StopFlag>,
    /// The process's Socket.IO hub.
    pub hub: Arc<SharedHub>,
    /// Where idle Socket.IO WebSockets wait without a task.
    pub lot: Arc<ParkingLot<ParkedConnection>>,
}

/// The socket: owned by the task, or shared with the hub once the connection holds a Socket.IO
/// WebSocket, so that a broadcast can be written to it directly while the task waits or while
/// the connection is parked (`gif_chat_io::fanout`). tokio knows it through an `AsyncFd`.
type Socket = SocketCell<TcpStream>;

/// A connection whose socket tokio watches: what its task starts from.
struct Registered {
    conn: Connection,
    link: HubLink,
    socket: AsyncFd<Socket>,
    open: OpenGuard,
}

/// The task for one accepted connection: drives it until the core says it is closed, or until
/// nothing can move it any more, then closes the socket (by dropping it); or until it is idle,
/// when it parks it. The socket is registered here, in the order connections are accepted, so
/// that the reactor reports them in that order too. An error means it could not be (the
/// socket is then closed).
pub fn drive(
    stream: TcpStream,
    peer: SocketAddr,
    shared: &Shared,
    open: OpenGuard,
) -> io::Result<impl Future<Output = ()> + Send + 'static> {
    // Small writes (a tick, a pong) must leave at once, not wait for Nagle. Failing to set it
    // only costs latency, and a dead socket will report itself on the first read or write.
    let _ = stream.set_nodelay(true);
    let socket = register(SocketCell::new(stream))?;
    let registered = Registered {
        conn: Connection::new(Arc::clone(&shared.config), peer, Instant::now()),
        link: HubLink::new(),
        socket,
        open,
    };
    Ok(run(registered, shared.clone(), None))
}

/// The task of a connection the parking lot hands back, its socket registered again (in the
/// runtime's context). `None`: it could not be, and the connection has ended.
pub fn resume(
    parked: ParkedConnection,
    pace: Pace,
    shared: &Shared,
) -> Option<impl Future<Output = ()> + Send + 'static> {
    let ParkedConnection {
        conn,
        link,
        socket,
        open,
    } = parked;
    match register(socket) {
        Ok(socket) => {
            let registered = Registered {
                conn,
                link,
                socket,
                open,
            };
            Some(run(registered, shared.clone(), Some(pace)))
        }
        Err(e) => {
            abandon(shared, conn, link, &e);
            drop(open);
            None
        }
    }
}

/// The connection's loop. Its state is taken apart before the future is made, so that the
/// future holds each piece once (an `async fn` would keep its argument beside the pieces).
///
/// A `revived` connection (the lot hands it back with its [`Pace`]) reads first: the lot
/// woke it because its socket is readable, or for the hub, and a turn that parked again without
/// reading would leave its input unread.
fn run(
    registered: Registered,
    shared: Shared,
    revived: Option<Pace>,
) -> impl Future<Output = ()> + Send + 'static {
    let Registered {
        mut conn,
        mut link,
        mut socket,
        mut open,
    } = registered;
    async move {
        // Listening before the flag is checked, so a stop is either seen here or delivered to
        // the listener.
        let mut stop_listener = shared.stop.listen();
        let mut stop_seen = shared.stop.is_stopping();
        if stop_seen {
            conn.handle_shutdown(Instant::now());
        }

        // The core's deadline, made only while it asks for one: an idle Socket.IO session (its
        // heartbeat is the hub's) then keeps no timer entry. Reset, not re-created, while the
        // deadline moves.
        let mut sleep: Option<Pin<Box<Sleep>>> = None;
        let resumed = revived.is_some();
        let pace = revived.unwrap_or_default();
        let mut grace = ParkGrace::default();

        if resumed {
            // Straight from the socket: the new registration reports no readiness before the
            // reactor's next turn.
            let stream = socket.get_ref().get();
            transfer::with_scratch(|scratch| {
                transfer::read_available(&mut conn, scratch, READ_BUDGET, true, |buf| {
                    io::Read::read(&mut &*stream, buf)
                })
            });
        }

        loop {
            // Calls for the hub from the last turn's input, and this session's output if woken.
            shared.hub.exchange(&mut conn, &mut link, 0);
            socket.get_mut().share_if_wanted(&link);
            let written = transfer::write_pending(&mut conn, |bytes| {
                socket.try_io(tokio::io::Interest::WRITABLE, |socket| {
                    socket.get().write(bytes)
                })
            });
            transfer::shutdown_if_done(&mut conn, || {
                socket.get_ref().get().shutdown(Shutdown::Write)
            });
            if conn.has_hub_call() && !conn.is_closed() {
                // A written answer let the pipeline go on to its next Engine.IO request.
                continue;
            }
            let log_backed_up = shared.log.push_events(&mut conn);
            if conn.is_closed() {
                break;
            }
            if log_backed_up {
                // This connection is logging faster than the log is written: read no more until
                // it catches up (memory stays bounded whatever the peer sends).
                shared.log.wait_drained().await;
            }

            // Nothing unsent: a broadcast may be written straight to the socket while we wait.
            link.offer_direct(&conn);
            // Listening before the flag is checked, as for the stop: a wake between the two is
            // not missed.
            let mut hub_listener = link.listen();
            if link.is_woken() {
                continue;
            }
            let interest = Interest::of(&conn, written);
            if interest.is_empty() && stop_seen && hub_listener.is_none() {
                // Nothing to wait for, yet not closed: the core can make no more progress, so end
                // the connection rather than keep a task that nothing will ever wake.
                break;
            }
            let may_park = !stop_seen && parking::may_park(&conn, &link, interest);
            let deadline = match grace.decide(may_park, pace, Instant::now) {
                Parking::No => interest.deadline,
                // Idle within the grace: the wait ends at its end (the core has no deadline
                // then: `may_park`), and the next turn parks.
                Parking::At(at) => Some(at),
                Parking::Now => {
                    // Idle for the grace: the lot waits instead of this task, which ends here.
                    let parked = ParkedConnection {
                        conn,
                        link,
                        socket: socket.into_inner(),
                        open,
                    };
                    match shared.lot.park(parked, pace) {
                        Ok(()) => return,
                        Err(refused) => {
                            // The lot is stopping (or epoll refused): wait here after all.
                            let socket_back;
                            ParkedConnection {
                                conn,
                                link,
                                socket: socket_back,
                                open,
                            } = refused;
                            socket = match register(socket_back) {
                                Ok(socket) => socket,
                                Err(e) => return abandon(&shared, conn, link, &e),
                            };
                            continue;
                        }
                    }
                }
            };
            match (deadline, sleep.as_mut()) {
                (None, _) => sleep = None,
                (Some(at), None) => sleep = Some(Box::pin(tokio::time::sleep_until(at.into()))),
                (Some(at), Some(sleep)) => {
                    if sleep.deadline() != at.into() {
                        sleep.as_mut().reset(at.into());
                    }
                }
            }

            let woke = poll_fn(|cx| {
                wait(
                    cx,
                    &socket,
                    interest,
                    sleep.as_mut(),
                    (!stop_seen).then_some(&mut stop_listener),
                    hub_listener.as_mut(),
                )
            })
            .await;
            if !matches!(woke, Woke::Deadline) {
                grace.moved();
            }
            match woke {
                Woke::Readable => {
                    let outcome = transfer::with_scratch(|scratch| {
                        transfer::read_available(&mut conn, scratch, READ_BUDGET, true, |buf| {
                            read_once(&socket, buf)
                        })
                    });
                    // A non-blocking read is invisible to tokio's cooperative budget, unlike its
                    // own async reads: charge each read, or a peer that keeps its socket readable
                    // keeps this worker (and the timers it drives) from everyone else.
                    for _ in 0..outcome.reads {
                        tokio::task::consume_budget().await;
                    }
                }
                Woke::Error(e) => conn.handle_io_error(Instant::now(), &e),
                // The grace's end, not the core's: the next turn parks.
                Woke::Deadline if interest.deadline.is_none() => continue,
                Woke::Deadline => conn.handle_timeout(Instant::now()),
                Woke::Stop => {
                    stop_seen = true;
                    conn.handle_shutdown(Instant::now());
                }
                // The next turn writes what was blocked, or takes the hub's output.
                Woke::Writable | Woke::Hub => {}
            }
        }
        // The end of a parked GET or of a WebSocket reaches the hub even when the connection
        // closed in the turn's last step.
        shared.hub.exchange(&mut conn, &mut link, 0);
        // Uncounted only after the last events were logged, so a graceful stop that sees zero
        // open connections also sees their farewell lines.
        drop(open);
    }
}

/// Ends a connection whose socket tokio could not register (it is closed already): the core
/// hears of the error, and the hub and the log of the end.
fn abandon(shared: &Shared, mut conn: Connection, mut link: HubLink, error: &io::Error) {
    conn.handle_io_error(Instant::now(), error);
    shared.hub.exchange(&mut conn, &mut link, 0);
    let _ = shared.log.push_events(&mut conn);
}

/// Registers the socket with tokio's reactor, which then waits on it for this task; the error
/// closes it.
#[allow(unsafe_code)]
fn register(socket: Socket) -> io::Result<AsyncFd<Socket>> {
    // SAFETY: the cell owns its `TcpStream`, alone or through an `Arc` it keeps a clone of, so
    // the descriptor stays open as long as the `AsyncFd` holds the cell, and it always names
    // that same stream: the one change made through `get_mut` (`share_if_wanted`) moves the
    // stream into the `Arc` without replacing it.
    unsafe { AsyncFd::register(socket) }.map_err(io::Error::from)
}

/// What ended a connection's wait.
enum Woke {
    /// Includes a peer's FIN or reset, which the read turns into EOF or an error.
    Readable,
    Writable,
    Error(io::Error),
    Deadline,
    Stop,
    Hub,
}

/// One poll of everything that can move the connection forward: its deadline, the stop, the
/// hub's wake, then the socket (readable only while the core wants input, writable only after
/// a write would block). The socket is last so that a peer keeping it readable cannot starve
/// the rest; its readiness is polled straight from the registration, whose one waker slot per
/// direction is this task's, so the wait holds no readiness future (`ready()`'s is 136 bytes,
/// a third of the task beside the core's `Connection`).
fn wait(
    cx: &mut Context<'_>,
    socket: &AsyncFd<Socket>,
    interest: Interest,
    sleep: Option<&mut Pin<Box<Sleep>>>,
    stop: Option<&mut EventListener>,
    hub: Option<&mut HubWait>,
) -> Poll<Woke> {
    if sleep.is_some_and(|sleep| sleep.as_mut().poll(cx).is_ready()) {
        return Poll::Ready(Woke::Deadline);
    }
    if stop.is_some_and(|stop| Pin::new(stop).poll(cx).is_ready()) {
        return Poll::Ready(Woke::Stop);
    }
    if hub.is_some_and(|hub| Pin::new(hub).poll(cx).is_ready()) {
        return Poll::Ready(Woke::Hub);
    }
    if interest.read {
        if let Poll::Ready(ready) = socket.poll_read_ready(cx) {
            // The readiness stays set until a read finds the socket drained (`read_once`).
            return Poll::Ready(ready.map_or_else(Woke::Error, |_| Woke::Readable));
        }
    }
    if interest.write {
        if let Poll::Ready(ready) = socket.poll_write_ready(cx) {
            return Poll::Ready(ready.map_or_else(Woke::Error, |_| Woke::Writable));
        }
    }
    Poll::Pending
}

/// One non-blocking read. A short read means the socket's receive queue was emptied, so the
/// readiness tokio caches is cleared then too, as tokio's own `poll_read` does: the task then
/// sleeps until new data instead of paying a read that only says `WouldBlock` (half the read
/// syscalls of a ticking connection).
fn read_once(socket: &AsyncFd<Socket>, scratch: &mut [u8]) -> io::Result<usize> {
    let mut got = None;
    let result = socket.try_io(tokio::io::Interest::READABLE, |socket| {
        let n = io::Read::read(&mut socket.get(), scratch)?;
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
    use gif_chat_io::{OpenConnections, Sinks};

    /// The whole per-connection cost is this future (tokio stores it in the task, rounded up to
    /// 128 bytes): keep the runtime's part of it small. It was 552 bytes with a `select!` over
    /// a readiness future and an inline `Sleep`.
    #[tokio::test]
    async fn the_connection_task_is_small() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let stream = TcpStream::connect(addr).expect("connect");
        let shared = Shared {
            config: Arc::new(Config::new()),
            log: Log::new(false, Sinks::stdio()),
            stop: Arc::new(StopFlag::new()),
            hub: SharedHub::new(&Config::new(), None, false).expect("the OS random source"),
            lot: Arc::new(ParkingLot::new().expect("epoll")),
        };
        let task = drive(stream, addr, &shared, OpenConnections::new().open()).expect("register");
        let runtime_part = std::mem::size_of_val(&task) - std::mem::size_of::<Connection>();
        eprintln!("connection future: {} B", std::mem::size_of_val(&task));
        assert!(
            runtime_part < 320,
            "the task future is {} bytes beyond the core's {}",
            runtime_part,
            std::mem::size_of::<Connection>()
        );
    }
}
