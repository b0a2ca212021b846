//! The parking lot: where an idle Socket.IO WebSocket waits without a task.
//!
//! On tokio and smol an idle connection used to cost a task (784 B on tokio, its future plus
//! 88 B on smol) and its socket's registration with the runtime's reactor (265 B / 217 B): half
//! of what an idle chat session cost there, and what mio, whose connections are slab slots and
//! whose registrations live in the kernel, never paid. A chat server's sessions are idle nearly
//! all the time, so a connection that has nothing to do but wait hands its state to the lot
//! ([`ParkingLot::park`]) and its task ends:
//! - **what parks:** a connection holding an Engine.IO WebSocket with nothing unsent, no
//!   deadline of its own (its heartbeat is the hub's), no chat work and no unanswered wake
//!   ([`may_park`]), in a server that is not stopping;
//! - **while parked** its socket stays offered to broadcasters ([`crate::fanout`]), who write
//!   to it as before without waking anyone; the hub's heartbeat pings go the same way;
//! - **what wakes it:** its peer (the socket readable, or closed), the hub (a broadcast the
//!   socket could not take whole, its session closed), or the stop. The lot then hands the
//!   state back ([`ParkingLot::run`]'s `revive`), and the runtime registers the socket and
//!   spawns a task, which carries on from where the last one stopped.
//!
//! The lot is one epoll set (mio's `Poll`: its registrations are kernel memory only) watched by
//! one thread, and a slab of the parked states. A wake costs two `epoll_ctl` (out of the lot,
//! into the reactor) and a spawn, a park two more. A connection parks once it has been idle for
//! [`GRACE`] ([`ParkGrace`]): a conversation in progress (a client that opens a session,
//! CONNECTs and joins a room, then leaves) answers within that and keeps its task, where
//! parking between its steps cost every step a park and a wake (churn fell to 0.87× of
//! socketioxide's sessions/s; 1.1–1.2× with the grace, the same at 2 ms as at 10 ms). The
//! grace is short so that tasks never pile up: a task cell freed after a long idleness would
//! stay in malloc's free lists, not go back to the system, and at 10,000 new sessions a second
//! only twenty wait out their grace at once (idle RSS per session moved by under 2%).
//!
//! A sender is the exception: a room's sender at 5 events/s parked after every event, and each
//! event paid a revival (the lot's thread, two `epoll_ctl`, a spawn, a worker's wake-up; 3–15%
//! of each delivery's CPU in the 50-room load). So the grace adapts: a connection its peer
//! revives within [`QUICK_RETURN`] of parking, [`STEADY_RETURNS`] times in a row, waits
//! [`SENDER_GRACE`] instead, and keeps its task while it sends. Idle sessions, whose peers
//! speak once a heartbeat (25 s), and new ones, which return at most once (their CONNECT),
//! keep the short grace. What the count needs to survive a park travels in the socket's epoll
//! registration (its token holds the slot, the park's time and the count), so a parked session
//! costs not a byte more.
//!
//! Races: the hub's wake reaches the lot through the session's waker slot, registered before
//! the state enters the slab, and the lot's wake flag is cleared before it looks at the
//! sessions' wake flags, so a wake at any moment either is seen by the park or wakes the lot
//! again. A readiness event for a slot that was revived and filled again in the same turn
//! revives the new occupant for nothing: it reads nothing and parks again.

use std::fmt;
use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Wake, Waker};
use std::time::{Duration, Instant};

use std::net::TcpStream;
use std::os::fd::AsRawFd;

use gif_chat_core::Connection;
use mio::unix::SourceFd;
use mio::{Events, Poll, Token};
use slab::Slab;

use crate::transfer::Interest;
use crate::{HubLink, OpenGuard, SocketCell};

mod grace;

pub use grace::{Pace, ParkGrace, Parking, GRACE, QUICK_RETURN, SENDER_GRACE, STEADY_RETURNS};

/// The lot's own wake-up; parked slots use their slab index as token (see [`Ticket`]).
const WAKE: Token = Token(usize::MAX);

/// A connection's state while it has no task: what the runtime needs to give it one again.
pub trait Parked: Send + 'static {
    /// The connection's socket, which the lot watches for readability.
    fn fd(&self) -> RawFd;
    /// Its link to the hub, whose wake the lot takes over.
    fn link(&self) -> &HubLink;
}

/// A tokio or smol connection without a task: everything its task keeps that outlives a wait.
#[derive(Debug)]
pub struct ParkedConnection {
    pub conn: Connection,
    pub link: HubLink,
    /// Owned, or shared with the hub for direct writes.
    pub socket: SocketCell<TcpStream>,
    /// Counts the connection as open while it is parked, for the graceful stop.
    pub open: OpenGuard,
}

impl Parked for ParkedConnection {
    fn fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }

    fn link(&self) -> &HubLink {
        &self.link
    }
}

/// Whether a connection that is about to wait for `interest` may park instead: only input, or
/// the hub, can move it on (see the module's docs). The runtime adds that it has not seen the
/// stop.
pub fn may_park(conn: &Connection, link: &HubLink, interest: Interest) -> bool {
    interest.read && !interest.write && interest.deadline.is_none() && link.is_idle(conn)
}

/// A parked connection's epoll token: its slot in the lot's slab, and the [`Pace`] and park
/// time its revival needs, which the kernel keeps for the lot. Bits 0–31: the slot; 32–33:
/// the quick returns; 34–63: the park's time in milliseconds since the lot began,
/// wrapping every 12 days (only differences under a second matter). Where a token is narrower
/// than 64 bits it holds the slot alone, and every revival looks slow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Ticket {
    slot: usize,
    quick_returns: u8,
    /// Wrapped to [`TIME_MASK`]; `None` when the token had no room for it.
    parked_ms: Option<u32>,
}

const SLOT_BITS: u32 = 32;
const RETURN_BITS: u32 = 2;
const TIME_MASK: u64 = (1 << (64 - SLOT_BITS - RETURN_BITS)) - 1;

impl Ticket {
    /// The token, or `None` for a slot beyond what a token can name beside the lot's wake.
    fn token(self) -> Option<Token> {
        let slot = u32::try_from(self.slot)
            .ok()
            .filter(|&slot| slot != u32::MAX)?;
        let Some(parked_ms) = self.parked_ms.filter(|_| usize::BITS >= 64) else {
            return Some(Token(self.slot));
        };
        let bits = u64::from(slot)
            | u64::from(self.quick_returns.min(3)) << SLOT_BITS
            | (u64::from(parked_ms) & TIME_MASK) << (SLOT_BITS + RETURN_BITS);
        usize::try_from(bits).ok().map(Token)
    }

    /// What a parked connection's token says.
    fn of(token: Token) -> Ticket {
        if usize::BITS < 64 {
            return Ticket {
                slot: token.0,
                quick_returns: 0,
                parked_ms: None,
            };
        }
        let bits = token.0 as u64;
        Ticket {
            slot: (bits & u64::from(u32::MAX)) as usize,
            quick_returns: ((bits >> SLOT_BITS) & 0b11) as u8,
            parked_ms: Some((bits >> (SLOT_BITS + RETURN_BITS) & TIME_MASK) as u32),
        }
    }
}

/// Milliseconds from `epoch` to `now`, wrapped as a [`Ticket`] keeps them.
fn wrapped_ms(epoch: Instant, now: Instant) -> u32 {
    (now.saturating_duration_since(epoch).as_millis() as u64 & TIME_MASK) as u32
}

/// How long ago `parked_ms` was, at `now_ms` (both wrapped).
fn parked_for(parked_ms: u32, now_ms: u32) -> Duration {
    Duration::from_millis(u64::from(now_ms.wrapping_sub(parked_ms)) & TIME_MASK)
}

/// Idle connections without a task, and the one thread that watches them.
pub struct ParkingLot<P> {
    registry: mio::Registry,
    signal: Arc<Signal>,
    state: Mutex<State<P>>,
    /// Taken by [`run`](Self::run).
    poll: Mutex<Option<Poll>>,
    /// Where the parks' times in the tokens count from.
    epoch: Instant,
}

struct State<P> {
    parked: Slab<P>,
    /// No more parking; everything parked goes back.
    stopping: bool,
}

/// The lot's wake: the waker parked sessions' hub wakes call, and the stop.
struct Signal {
    waker: mio::Waker,
    /// A wake was sent that the lot has not taken yet (one `write` to the eventfd per turn).
    pending: AtomicBool,
}

impl Wake for Signal {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.pending.swap(true, Ordering::SeqCst) {
            // Fails only if the eventfd cannot be written, which it always can.
            let _ = self.waker.wake();
        }
    }
}

impl<P> fmt::Debug for ParkingLot<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("ParkingLot")
            .field("parked", &state.parked.len())
            .field("stopping", &state.stopping)
            .finish()
    }
}

impl<P> ParkingLot<P> {
    fn lock(&self) -> MutexGuard<'_, State<P>> {
        // Nothing under the lock can leave the slab half-changed.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl<P: Parked> ParkingLot<P> {
    /// An empty lot; nothing is woken until a thread calls [`run`](Self::run).
    pub fn new() -> io::Result<ParkingLot<P>> {
        let poll = Poll::new()?;
        let registry = poll.registry().try_clone()?;
        let waker = mio::Waker::new(&registry, WAKE)?;
        Ok(ParkingLot {
            registry,
            signal: Arc::new(Signal {
                waker,
                pending: AtomicBool::new(false),
            }),
            state: Mutex::new(State {
                parked: Slab::new(),
                stopping: false,
            }),
            poll: Mutex::new(Some(poll)),
            epoch: Instant::now(),
        })
    }

    /// Takes `parked` in (its socket deregistered from the runtime's reactor, its task about to
    /// end), with its `pace`; both come back through [`run`](Self::run)'s `revive`.
    /// Refused, and handed back, once the lot stops or when epoll cannot watch the socket: the
    /// caller then goes on waiting itself.
    pub fn park(&self, parked: P, pace: Pace) -> Result<(), P> {
        // Before the state is in the slab: a wake from now on reaches the lot.
        parked
            .link()
            .wake_with(&Waker::from(Arc::clone(&self.signal)));
        let mut state = self.lock();
        if state.stopping {
            return Err(parked);
        }
        let slot = state.parked.vacant_entry();
        let ticket = Ticket {
            slot: slot.key(),
            quick_returns: pace.quick_returns,
            parked_ms: Some(wrapped_ms(self.epoch, Instant::now())),
        };
        let Some(token) = ticket.token() else {
            return Err(parked);
        };
        let fd = parked.fd();
        if self
            .registry
            .register(&mut SourceFd(&fd), token, mio::Interest::READABLE)
            .is_err()
        {
            return Err(parked);
        }
        // A wake that came before the waker was swapped went to the old task: look now.
        let woken = parked.link().is_woken();
        slot.insert(parked);
        drop(state);
        if woken {
            self.signal.wake_by_ref();
        }
        Ok(())
    }

    /// Hands every parked connection back and refuses new ones: call when the server stops,
    /// after the connections' stop flag is set, so that the revived tasks see it. `run`
    /// returns once it has handed them back.
    pub fn stop(&self) {
        self.lock().stopping = true;
        self.signal.wake_by_ref();
    }

    /// Connections parked now.
    pub fn len(&self) -> usize {
        self.lock().parked.len()
    }

    /// Whether no connection is parked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The lot's thread: waits for parked connections' sockets and wakes, and gives each
    /// woken connection, with its pace as the revival leaves it, to `revive` (which
    /// registers its socket and spawns its task, without blocking). Returns after
    /// [`stop`](Self::stop), or at once if another thread runs the lot already. An error from
    /// epoll itself stops the lot, handing everything back.
    pub fn run(&self, mut revive: impl FnMut(P, Pace)) {
        let Some(mut poll) = self
            .poll
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take()
        else {
            return;
        };
        let mut events = Events::with_capacity(1024);
        let mut woken = Vec::new();
        loop {
            let mut scan = false;
            match poll.poll(&mut events, None) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => {
                    self.lock().stopping = true;
                    scan = true;
                }
            }
            let now_ms = wrapped_ms(self.epoch, Instant::now());
            let mut state = self.lock();
            for event in &events {
                if event.token() == WAKE {
                    scan = true;
                    continue;
                }
                let ticket = Ticket::of(event.token());
                if let Some(parked) = state.parked.try_remove(ticket.slot) {
                    // Readiness: the peer sent, or closed.
                    let parked_for = ticket.parked_ms.map(|ms| parked_for(ms, now_ms));
                    let pace = Pace {
                        quick_returns: ticket.quick_returns,
                    };
                    woken.push((parked, pace.revived(parked_for)));
                }
            }
            if scan {
                // Cleared before the flags are read: a wake after this sends a new signal.
                self.signal.pending.store(false, Ordering::SeqCst);
                let stopping = state.stopping;
                let keys: Vec<usize> = state
                    .parked
                    .iter()
                    .filter(|(_, parked)| stopping || parked.link().is_woken())
                    .map(|(key, _)| key)
                    .collect();
                woken.extend(
                    keys.into_iter()
                        .map(|key| (state.parked.remove(key), Pace::default())),
                );
            }
            let stopping = state.stopping;
            drop(state);
            for (parked, pace) in woken.drain(..) {
                // Fails only for a socket epoll no longer knows, which is then unwatched anyway.
                let _ = self.registry.deregister(&mut SourceFd(&parked.fd()));
                revive(parked, pace);
            }
            if stopping {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;
    use std::net::{TcpListener, TcpStream};
    use std::os::fd::AsRawFd;
    use std::sync::mpsc;

    /// A parked "connection": a socket and a link without a session (the lot only needs the
    /// link's wake flag, which an unregistered link never raises).
    struct Socket {
        stream: TcpStream,
        link: HubLink,
        name: &'static str,
    }

    impl Parked for Socket {
        fn fd(&self) -> RawFd {
            self.stream.as_raw_fd()
        }

        fn link(&self) -> &HubLink {
            &self.link
        }
    }

    fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let client = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
        let (server, _) = listener.accept().expect("accept");
        server.set_nonblocking(true).expect("non-blocking");
        (client, server)
    }

    #[test]
    fn a_parked_connection_comes_back_when_its_peer_sends_and_the_rest_at_the_stop() {
        let lot = Arc::new(ParkingLot::new().expect("epoll"));
        let (mut quiet_peer, quiet) = pair();
        let (mut talking_peer, talking) = pair();
        for (stream, name) in [(quiet, "quiet"), (talking, "talking")] {
            let parked = Socket {
                stream,
                link: HubLink::new(),
                name,
            };
            assert!(lot.park(parked, Pace::default()).is_ok());
        }
        assert_eq!(lot.len(), 2);

        let (revived_tx, revived) = mpsc::channel();
        let runner = {
            let lot = Arc::clone(&lot);
            std::thread::spawn(move || lot.run(|parked, _| revived_tx.send(parked).expect("open")))
        };
        talking_peer.write_all(b"hi").expect("write");
        let back = revived.recv().expect("the talking one");
        assert_eq!(back.name, "talking");
        assert_eq!(lot.len(), 1);

        lot.stop();
        let back = revived.recv().expect("the quiet one, at the stop");
        assert_eq!(back.name, "quiet");
        runner.join().expect("the lot's thread");
        assert!(lot.is_empty());
        // Parked again after the stop: refused, handed back.
        assert!(lot.park(back, Pace::default()).is_err());
        quiet_peer.write_all(b"late").expect("write");
    }

    #[test]
    fn a_socket_readable_before_it_parks_comes_back_at_once() {
        let lot = ParkingLot::new().expect("epoll");
        let (mut peer, stream) = pair();
        peer.write_all(b"early").expect("write");
        // Waits until the bytes are there, so the readiness precedes the registration.
        stream.set_nonblocking(false).expect("blocking");
        stream.peek(&mut [0u8; 8]).expect("peek");
        stream.set_nonblocking(true).expect("non-blocking");
        assert!(lot
            .park(
                Socket {
                    stream,
                    link: HubLink::new(),
                    name: "early",
                },
                Pace::default()
            )
            .is_ok());
        std::thread::scope(|scope| {
            let (tx, rx) = mpsc::channel();
            scope.spawn(|| lot.run(move |parked, _| tx.send(parked.name).expect("open")));
            assert_eq!(rx.recv().expect("revived"), "early");
            lot.stop();
        });
    }

    #[test]
    fn a_ticket_keeps_the_slot_the_pace_and_the_time_in_its_token() {
        let ticket = Ticket {
            slot: 12_345,
            quick_returns: STEADY_RETURNS,
            parked_ms: Some(TIME_MASK as u32),
        };
        let token = ticket.token().expect("a token");
        assert_ne!(token, WAKE);
        assert_eq!(Ticket::of(token), ticket);
        // The lot's wake is no slot's token.
        let last = Ticket {
            slot: u32::MAX as usize,
            ..ticket
        };
        assert_eq!(last.token(), None);
        // The time wraps: a park just before the wrap, revived just after.
        assert_eq!(
            parked_for(TIME_MASK as u32 - 5, 4),
            Duration::from_millis(10)
        );
        assert_eq!(parked_for(100, 350), Duration::from_millis(250));
    }

    #[test]
    fn the_pace_travels_through_the_lot_with_the_socket() {
        let lot = ParkingLot::new().expect("epoll");
        let (mut peer, stream) = pair();
        let once = Pace::default().revived(Some(Duration::ZERO));
        let parked_at = Instant::now();
        assert!(lot
            .park(
                Socket {
                    stream,
                    link: HubLink::new(),
                    name: "sender",
                },
                once
            )
            .is_ok());
        peer.write_all(b"again").expect("write");
        std::thread::scope(|scope| {
            let (tx, rx) = mpsc::channel();
            scope.spawn(|| lot.run(move |_, pace| tx.send(pace).expect("open")));
            let pace = rx.recv().expect("revived");
            // The lot counts whole milliseconds: under 999 ms here is under a second there.
            // A stall past that leaves the lot either verdict, but never a lost count.
            let steady = once.revived(Some(Duration::ZERO));
            if parked_at.elapsed() < QUICK_RETURN - Duration::from_millis(1) {
                assert_eq!(pace, steady);
            } else {
                assert!(pace == steady || pace == Pace::default(), "{pace:?}");
            }
            lot.stop();
        });
    }
}
