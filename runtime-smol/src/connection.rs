//! One task per TCP connection, owning its [`Connection`]: the task is the connection's whole
//! I/O loop, and nothing of it outlives the task (S9), except while an idle Socket.IO WebSocket
//! waits without one in `gif_chat_io::parking` ([`resume`] gives it a task again). The read and write loops are
//! `gif_chat_io::transfer`'s, given plain non-blocking calls on the `TcpStream`; what is smol's
//! here is the wait.
//!
//! Each turn writes what the core wants written, logs its events, then sleeps on everything that
//! can move the connection forward at once: readability (only while the core wants input, so a
//! peer that does not read its answers stops being read from: B5), writability (only while
//! output is pending), the core's next deadline and the server's stop signal. The wait polls
//! the socket's readiness directly (`Async::poll_readable`/`poll_writable`) instead of holding a
//! read future, so reads land in the per-thread scratch buffer, borrowed only between two
//! awaits, and an idle connection holds no read buffer at all.
//!
//! The deadline is one [`Timer`] per connection, re-armed with `set_at` only when the core's
//! deadline changes: the core moves it on every message (ping, tick, keep-alive), and re-arming
//! costs one entry in the reactor's timer queue, not an allocation.

use std::future::{poll_fn, Future};
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use async_io::{Async, Timer};
use event_listener::EventListener;
use gif_chat_core::{Config, Connection};
use gif_chat_io::parking::{self, Pace, ParkGrace, ParkedConnection, Parking, ParkingLot};
use gif_chat_io::transfer::{self, Interest, READ_BUDGET};
use gif_chat_io::{HubLink, HubWait, Log, OpenGuard, SharedHub, SocketCell, StopFlag};

/// What every connection task shares with the server.
#[derive(Debug)]
pub struct Shared {
    pub config: Arc<Config>,
    pub log: Log,
    pub stop: StopFlag,
    /// The process's Socket.IO hub.
    pub hub: Arc<SharedHub>,
    /// Where idle Socket.IO WebSockets wait without a task.
    pub lot: ParkingLot<ParkedConnection>,
}

/// The socket: owned by the task, or shared with the hub once the connection holds a Socket.IO
/// WebSocket, so that a broadcast can be written to it directly while the task waits or while
/// the connection is parked (`gif_chat_io::fanout`).
type Socket = SocketCell<TcpStream>;

/// A connection whose socket the reactor watches: what its task starts from.
struct Registered {
    conn: Connection,
    link: HubLink,
    stream: Async<Socket>,
    open: OpenGuard,
}

/// Drives one accepted connection until the core closes it, or until nothing can move it any
/// more, or until it is idle and parks. The socket is registered here, in the order
/// connections are accepted. An error means it could not be (the socket is then closed).
pub fn drive(
    shared: &Shared,
    stream: TcpStream,
    peer: SocketAddr,
    open: OpenGuard,
) -> io::Result<impl Future<Output = ()> + Send + '_> {
    // Small writes (ticks, echoes) must leave at once, not wait for Nagle's ACK. A failure only
    // costs latency, so it is not worth ending the connection over.
    let _ = stream.set_nodelay(true);
    let stream = Async::new(SocketCell::new(stream))?;
    let registered = Registered {
        conn: Connection::new(shared.config.clone(), peer, Instant::now()),
        link: HubLink::new(),
        stream,
        open,
    };
    Ok(run(shared, registered, None))
}

/// The task of a connection the parking lot hands back, its socket registered again. `None`:
/// it could not be, and the connection has ended.
pub fn resume(
    shared: &Shared,
    parked: ParkedConnection,
    pace: Pace,
) -> Option<impl Future<Output = ()> + Send + '_> {
    let ParkedConnection {
        conn,
        link,
        socket,
        open,
    } = parked;
    match Async::new(socket) {
        Ok(stream) => {
            let registered = Registered {
                conn,
                link,
                stream,
                open,
            };
            Some(run(shared, registered, Some(pace)))
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
    shared: &Shared,
    registered: Registered,
    revived: Option<Pace>,
) -> impl Future<Output = ()> + Send + '_ {
    let Registered {
        mut conn,
        mut link,
        mut stream,
        mut open,
    } = registered;
    async move {
        // Listen before looking at the flag: a stop that starts in between is still heard.
        let mut stop = Some(shared.stop.listen());
        if shared.stop.is_stopping() {
            conn.handle_shutdown(Instant::now());
            stop = None;
        }
        let mut timer = Timer::never();
        let mut armed: Option<Instant> = None;
        let resumed = revived.is_some();
        let pace = revived.unwrap_or_default();
        let mut grace = ParkGrace::default();

        if resumed {
            let socket = stream.get_ref().get();
            transfer::with_scratch(|scratch| {
                transfer::read_available(&mut conn, scratch, READ_BUDGET, true, |buf| {
                    (&*socket).read(buf)
                })
            });
        }

        loop {
            // Calls for the hub from the last turn's input, and this session's output if woken.
            shared.hub.exchange(&mut conn, &mut link, 0);
            if link.wants_socket() {
                // Once per session. Taking the cell out of the reactor to share it cost a
                // deregistration and a registration (two `epoll_ctl`, an `ioctl` and the
                // reactor's source) on every Socket.IO WebSocket.
                // SAFETY: sharing moves the socket into an `Arc` the cell keeps; it is not
                // dropped, and the descriptor the reactor watches stays open and the same.
                #[allow(unsafe_code)]
                let socket = unsafe { stream.get_mut() };
                socket.share_if_wanted(&link);
            }
            let socket = stream.get_ref().get();
            let written = transfer::write_pending(&mut conn, |bytes| (&*socket).write(bytes));
            transfer::shutdown_if_done(&mut conn, || socket.shutdown(Shutdown::Write));
            if conn.has_hub_call() && !conn.is_closed() {
                // A written answer let the pipeline go on to its next Engine.IO request.
                continue;
            }
            let log_backed_up = shared.log.push_events(&mut conn);
            if conn.is_closed() {
                // The end of a parked GET or of a WebSocket reaches the hub even when the
                // connection closed in the turn's last step.
                shared.hub.exchange(&mut conn, &mut link, 0);
                // Dropping the `Async` deregisters the socket and closes it.
                return;
            }
            if log_backed_up {
                // This connection logs faster than the log is written: read no more until it
                // catches up.
                shared.log.wait_drained().await;
            }

            // Nothing unsent: a broadcast may be written straight to the socket while we wait.
            link.offer_direct(&conn);
            // Listening before the flag is checked: a wake between the two is not missed.
            let mut hub_wake = link.listen();
            if link.is_woken() {
                continue;
            }
            let mut interest = Interest::of(&conn, written);
            if interest.is_empty() && stop.is_none() && hub_wake.is_none() {
                // Nothing to wait for, yet not closed: the core can make no more progress, so end
                // the connection rather than keep a task that nothing will ever wake.
                shared.hub.exchange(&mut conn, &mut link, 0);
                return;
            }
            let may_park = stop.is_some() && parking::may_park(&conn, &link, interest);
            let core_timer = interest.deadline.is_some();
            match grace.decide(may_park, pace, Instant::now) {
                Parking::No => {}
                // Idle within the grace: the wait ends at its end (the core has no deadline
                // then: `may_park`), and the next turn parks. A timer armed for earlier stays
                // as it is: async-io wakes its reactor for every timer it sets, which a
                // sender's grace would pay on every event; when it fires, the turn decides
                // again.
                Parking::At(at) => {
                    interest.deadline = Some(armed.filter(|&armed| armed <= at).unwrap_or(at));
                }
                Parking::Now => {
                    // Idle for the grace: the lot waits instead of this task, which ends here.
                    let socket = match stream.into_inner() {
                        Ok(socket) => socket,
                        Err(e) => return abandon(shared, conn, link, &e),
                    };
                    let parked = ParkedConnection {
                        conn,
                        link,
                        socket,
                        open,
                    };
                    match shared.lot.park(parked, pace) {
                        Ok(()) => return,
                        Err(refused) => {
                            // The lot is stopping (or epoll refused): wait here after all.
                            let socket;
                            ParkedConnection {
                                conn,
                                link,
                                socket,
                                open,
                            } = refused;
                            stream = match Async::new(socket) {
                                Ok(stream) => stream,
                                Err(e) => return abandon(shared, conn, link, &e),
                            };
                            continue;
                        }
                    }
                }
            }
            if interest.deadline != armed {
                match interest.deadline {
                    Some(at) => timer.set_at(at),
                    None => timer.clear(),
                }
                armed = interest.deadline;
            }
            // A `poll_fn` over borrowed state, not an `async fn`: the task's future then holds one
            // copy of the borrows, not two (an idle connection costs its task).
            let ready = poll_fn(|cx| {
                poll_ready(cx, &stream, &mut timer, &mut stop, &mut hub_wake, interest)
            })
            .await;

            if ready.readable || ready.stop || ready.error.is_some() || !ready.timeout {
                // Anything but the grace's end (a hub wake shows as nothing else).
                grace.moved();
            }
            if let Some(error) = ready.error {
                conn.handle_io_error(Instant::now(), &error);
                continue;
            }
            // Input first: what the peer sent before a deadline or a stop is still taken.
            if ready.readable {
                // Data left behind (budget spent) is not lost: the reactor's interest is
                // level-triggered, so the next wait wakes at once while the socket is readable. A
                // short read ends the loop for the same reason: anything that arrived meanwhile
                // wakes the task again.
                let socket = stream.get_ref().get();
                transfer::with_scratch(|scratch| {
                    transfer::read_available(&mut conn, scratch, READ_BUDGET, true, |buf| {
                        (&*socket).read(buf)
                    })
                });
            }
            if ready.timeout {
                // The timer has fired and is disarmed until set again.
                armed = None;
                // The grace's end is not the core's: the next turn parks, or sets the timer
                // for the grace's end if the idleness began after it was set.
                if core_timer {
                    conn.handle_timeout(Instant::now());
                }
            }
            if ready.stop {
                stop = None;
                conn.handle_shutdown(Instant::now());
            }
        }
    }
}

/// Ends a connection whose socket the reactor could not take (it is closed already): the core
/// hears of the error, and the hub and the log of the end.
fn abandon(shared: &Shared, mut conn: Connection, mut link: HubLink, error: &io::Error) {
    conn.handle_io_error(Instant::now(), error);
    shared.hub.exchange(&mut conn, &mut link, 0);
    let _ = shared.log.push_events(&mut conn);
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

/// Whether one of the `interest`s is ready (writability only wakes: the next turn writes).
fn poll_ready(
    cx: &mut Context<'_>,
    stream: &Async<Socket>,
    timer: &mut Timer,
    stop: &mut Option<EventListener>,
    hub_wake: &mut Option<HubWait>,
    interest: Interest,
) -> Poll<Ready> {
    let mut ready = Ready::default();
    let mut woke = false;
    // The hub named this connection's session: the next turn's exchange pulls its output.
    if let Some(listener) = hub_wake.as_mut() {
        if Pin::new(listener).poll(cx).is_ready() {
            *hub_wake = None;
            woke = true;
        }
    }
    // Every branch is polled, even after one is ready, so each registers its waker or reports
    // its readiness in this same turn.
    if let Some(listener) = stop.as_mut() {
        if Pin::new(listener).poll(cx).is_ready() {
            ready.stop = true;
            woke = true;
        }
    }
    if interest.deadline.is_some() && Pin::new(&mut *timer).poll(cx).is_ready() {
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

#[cfg(test)]
mod tests {
    use super::*;
    use gif_chat_io::{Log, OpenConnections, Sinks};

    /// An idle connection costs its task, most of which is this future: keep the runtime's
    /// part of it small (the rest is the core's `Connection`).
    #[test]
    fn the_connection_future_is_small() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let stream = TcpStream::connect(addr).expect("connect");
        let shared = Shared {
            config: Arc::new(Config::new()),
            log: Log::new(false, Sinks::stdio()),
            stop: StopFlag::new(),
            hub: SharedHub::new(&Config::new(), None, false).expect("the OS random source"),
            lot: ParkingLot::new().expect("epoll"),
        };
        let task = drive(&shared, stream, addr, OpenConnections::new().open()).expect("register");
        // What the executor holds: the future as `server::spawn` wraps it.
        let task = crate::server::guarded(task);
        let runtime_part = std::mem::size_of_val(&task) - std::mem::size_of::<Connection>();
        eprintln!("connection future: {} B", std::mem::size_of_val(&task));
        assert!(
            runtime_part < 400,
            "the task future is {} bytes beyond the core's {}",
            runtime_part,
            std::mem::size_of::<Connection>()
        );
    }
}
