//! The event loop: one thread, one `mio::Poll`, every socket and the signal pipe in it.
//!
//! Each turn: wait in `poll` until an event or the nearest deadline (a connection's, the end of
//! an accept pause, the end of a graceful stop); drive the connections the events name; accept
//! what the listener has; drive the connections that yielded their read budget last turn; fire
//! the due timers; print the turn's log lines with one write per stream. No async runtime, no
//! wakers, no locks: the loop owns everything, which is what makes it small per connection.
//!
//! Sockets are registered once for both directions and never re-registered; what a socket may
//! do is tracked in its [`Slot`] (see [`crate::connection`]), so a turn costs a syscall only for
//! real I/O. The log is one [`LogBuffer`] written once per turn on this thread: the loop owns
//! everything, so it needs no writer thread and no lock.

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gif_chat_core::{AcceptThrottle, Config, Connection, LogLine};
use gif_chat_io::start::EXIT_CANNOT_START;
use gif_chat_io::{LogBuffer, SharedHub, Sinks};
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook_mio::v1_0::Signals;
use slab::Slab;

use crate::connection::{Slot, Status};
use crate::timer::{Entry, Timers};

/// The listening socket's token. Connection tokens are slab keys, which stay far below.
const LISTENER: Token = Token(usize::MAX - 1);
/// The signal pipe's token.
const SIGNALS: Token = Token(usize::MAX - 2);
/// The chat's store thread and blocking pool wake the loop with this token: what they finished
/// is picked up by `settle_hub`, which runs after every poll.
const CHAT_WAKER: Token = Token(usize::MAX - 3);
/// The largest slab key admitted: timer entries store keys as `u32`, and the tokens above must
/// stay out of reach (on 32-bit targets too).
const MAX_KEY: u32 = u32::MAX - 4;

/// Readiness events taken per `poll`.
const EVENTS_CAPACITY: usize = 1024;
/// Connections accepted per turn before the others get a turn; the rest wait for the next one.
const ACCEPT_BUDGET: usize = 256;

/// Accepting: whether the listener may hold connections, and whether accepting is paused.
#[derive(Debug, Default)]
struct Accept {
    /// The listener reported readiness and was not drained to `WouldBlock` yet. Readiness is
    /// edge-triggered, so this is the only memory of it.
    pending: bool,
    /// Out of descriptors (B6): no accepting until then.
    paused_until: Option<Instant>,
    throttle: AcceptThrottle,
}

/// A bound server, ready to [`serve`](Server::serve).
pub struct Server {
    poll: Poll,
    listener: Option<TcpListener>,
    local_addr: SocketAddr,
    signals: Signals,
    config: Arc<Config>,
    shutdown_timeout: Duration,
    conns: Slab<Slot>,
    next_generation: u32,
    timers: Timers,
    /// Scratch list of due timers, kept to reuse its allocation.
    due: Vec<Entry>,
    /// Connections that used their read budget with input left, with their generation.
    ready: VecDeque<(usize, u32)>,
    accept: Accept,
    /// Set by the first stop signal: when the graceful stop gives up.
    stop_deadline: Option<Instant>,
    /// The turn's log lines, written out at the end of the turn.
    log: LogBuffer,
    sinks: Sinks,
    /// The Socket.IO hub; on this one thread its lock is never contended.
    hub: Arc<SharedHub>,
}

impl Server {
    /// Sets up the loop around `listener` (bound, listening, non-blocking) and installs the
    /// signal handlers. Signals are watched from here on, so that a stop requested as soon as
    /// the port is announced is handled gracefully rather than by the default action.
    pub fn new(
        listener: std::net::TcpListener,
        config: Arc<Config>,
        shutdown_timeout: Duration,
    ) -> io::Result<Server> {
        let poll = Poll::new()?;
        let mut signals = Signals::new([SIGINT, SIGTERM])?;
        poll.registry()
            .register(&mut signals, SIGNALS, Interest::READABLE)?;
        let local_addr = listener.local_addr()?;
        let mut listener = TcpListener::from_std(listener);
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        let hub = SharedHub::new(&config, None, true).map_err(io::Error::other)?;
        Ok(Server {
            poll,
            listener: Some(listener),
            local_addr,
            signals,
            config,
            shutdown_timeout,
            conns: Slab::new(),
            next_generation: 0,
            timers: Timers::new(),
            due: Vec::new(),
            ready: VecDeque::new(),
            accept: Accept::default(),
            stop_deadline: None,
            log: LogBuffer::default(),
            sinks: Sinks::stdio(),
            hub,
        })
    }

    /// Attaches the chat's store and upload directory, with a waker for this loop.
    pub fn attach_chat(&mut self, chat: gif_chat_io::ChatIo) -> io::Result<()> {
        let waker = mio::Waker::new(self.poll.registry(), CHAT_WAKER)?;
        self.hub.attach_chat(
            chat,
            Some(Box::new(move || {
                // A failed wake leaves the loop to its next deadline; nothing to do about it.
                let _ = waker.wake();
            })),
        );
        Ok(())
    }

    /// Connects this instance to the others through Redis (SPEC M1–M3), after
    /// [`attach_chat`](Self::attach_chat), whose waker the bridge's thread wakes the loop with.
    pub fn attach_redis(
        &self,
        redis: gif_chat_io::redis::RedisConfig,
    ) -> Result<(), gif_chat_io::redis::StartError> {
        self.hub.attach_redis(redis)
    }

    /// The address actually bound (the real port when port 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves until a stop signal and the graceful stop after it; a second signal exits the
    /// process at once with status 130.
    pub fn serve(mut self) -> ExitCode {
        let mut events = Events::with_capacity(EVENTS_CAPACITY);
        loop {
            self.sinks.write_out(&mut self.log);
            if let Some(deadline) = self.stop_deadline {
                if self.conns.is_empty() || Instant::now() >= deadline {
                    self.log.push(&LogLine::stopped(self.conns.len()));
                    self.sinks.write_out(&mut self.log);
                    return ExitCode::SUCCESS;
                }
            }
            let timeout = self.poll_timeout();
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                self.log.push(&LogLine::fatal(&e));
                self.sinks.write_out(&mut self.log);
                return ExitCode::from(EXIT_CANNOT_START);
            }
            for event in events.iter() {
                match event.token() {
                    LISTENER => self.accept.pending = true,
                    SIGNALS => self.handle_signals(),
                    CHAT_WAKER => {}
                    Token(key) => {
                        if let Some(slot) = self.conns.get_mut(key) {
                            slot.note_event(event);
                            self.drive(key);
                        }
                    }
                }
            }
            self.accept();
            self.drive_ready();
            self.fire_timers();
            self.fire_hub_timer();
            self.settle_hub();
            let conns = &self.conns;
            self.timers
                .compact(conns.len(), |entry| is_current(conns, entry));
        }
    }

    /// How long `poll` may sleep: not at all with work left over, else until the nearest
    /// deadline, else for ever.
    fn poll_timeout(&mut self) -> Option<Duration> {
        let accept_now =
            self.accept.pending && self.accept.paused_until.is_none() && self.listener.is_some();
        if accept_now || !self.ready.is_empty() {
            return Some(Duration::ZERO);
        }
        let conns = &self.conns;
        let mut next = self.timers.next_deadline(|entry| is_current(conns, entry));
        for at in [
            self.accept.paused_until,
            self.stop_deadline,
            self.hub.next_deadline(),
        ]
        .into_iter()
        .flatten()
        {
            next = Some(next.map_or(at, |n| n.min(at)));
        }
        next.map(|at| at.saturating_duration_since(Instant::now()))
    }

    /// Accepts pending connections, unless paused after a resource error. The pause ends by
    /// the clock, not by an event: the listener's readiness edge may have come and gone.
    fn accept(&mut self) {
        if let Some(until) = self.accept.paused_until {
            if Instant::now() < until {
                return;
            }
            self.accept.paused_until = None;
            self.accept.pending = true;
        }
        if !self.accept.pending {
            return;
        }
        for _ in 0..ACCEPT_BUDGET {
            let Some(listener) = &self.listener else {
                return;
            };
            match listener.accept() {
                Ok((stream, peer)) => self.admit(stream, peer),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.accept.pending = false;
                    return;
                }
                Err(e) => {
                    let verdict = self.accept.throttle.handle_error(Instant::now(), &e);
                    if let Some(line) = verdict.log {
                        self.log.push(&line);
                    }
                    if let Some(at) = verdict.resume_at {
                        // `pending` stays set: accepting resumes at `at` without an event.
                        self.accept.paused_until = Some(at);
                        return;
                    }
                }
            }
        }
    }

    /// Takes in an accepted socket.
    fn admit(&mut self, mut stream: TcpStream, peer: SocketAddr) {
        // Small WebSocket frames must not wait for Nagle. Failure means the peer is already
        // gone, which the first read will tell the core.
        let _ = stream.set_nodelay(true);
        let entry = self.conns.vacant_entry();
        let key = entry.key();
        if key > MAX_KEY as usize {
            return;
        }
        let interest = Interest::READABLE | Interest::WRITABLE;
        if self
            .poll
            .registry()
            .register(&mut stream, Token(key), interest)
            .is_err()
        {
            // The kernel is out of memory for the epoll entry: refuse this one connection,
            // as a failed accept would.
            return;
        }
        let generation = self.next_generation;
        self.next_generation = self.next_generation.wrapping_add(1);
        let conn = Connection::new(self.config.clone(), peer, Instant::now());
        entry.insert(Slot::new(conn, stream, generation));
        // Nothing to read or write yet (the registration's first event tells), but the
        // request-head deadline must be armed.
        self.drive(key);
    }

    /// Drives connection `key` and files it by the outcome: dropped, waiting on its deadline,
    /// or queued for the next turn.
    fn drive(&mut self, key: usize) {
        let Some(slot) = self.conns.get_mut(key) else {
            return;
        };
        let stopping = self.stop_deadline.is_some();
        let status = slot.drive(
            &self.hub,
            key,
            &mut self.log,
            self.config.colored_log,
            stopping,
        );
        if status == Status::Closed {
            // Dropping the stream closes it, which also removes it from the poll set.
            self.conns.try_remove(key);
            return;
        }
        // Always a u32: `admit` takes no larger key.
        if let Ok(timer_key) = u32::try_from(key) {
            let want = slot.conn.poll_timeout();
            self.timers
                .arm(&mut slot.armed, timer_key, slot.generation, want);
        }
        if status == Status::Yielded && !slot.queued {
            slot.queued = true;
            self.ready.push_back((key, slot.generation));
        }
    }

    /// Drives the connections that yielded last turn (only those: a connection that yields
    /// again waits for the turn after).
    fn drive_ready(&mut self) {
        for _ in 0..self.ready.len() {
            let Some((key, generation)) = self.ready.pop_front() else {
                return;
            };
            match self.conns.get_mut(key) {
                Some(slot) if slot.generation == generation => slot.queued = false,
                _ => continue,
            }
            self.drive(key);
        }
    }

    /// Calls `handle_timeout` on every connection whose deadline passed. A connection whose
    /// entry fired early (its deadline moved later since it was armed) is just re-armed.
    fn fire_timers(&mut self) {
        let mut due = std::mem::take(&mut self.due);
        let conns = &self.conns;
        self.timers
            .pop_due(Instant::now(), |entry| is_current(conns, entry), &mut due);
        for entry in due.drain(..) {
            let key = entry.key as usize;
            let Some(slot) = self.conns.get_mut(key) else {
                continue;
            };
            slot.armed = None;
            let now = Instant::now();
            if slot.conn.poll_timeout().is_some_and(|at| at <= now) {
                slot.conn.handle_timeout(now);
            }
            self.drive(key);
        }
        self.due = due;
    }

    /// Runs the hub's deadlines once due (heartbeats, connect and ack timeouts, recovery).
    fn fire_hub_timer(&mut self) {
        if self
            .hub
            .next_deadline()
            .is_some_and(|at| at <= Instant::now())
        {
            self.hub.handle_timeout();
        }
    }

    /// Queues the connections whose sessions the hub named ready for a drive next turn (which
    /// then comes without a wait), and takes the hub's log lines into this turn's.
    fn settle_hub(&mut self) {
        for key in self.hub.take_woken_tokens() {
            if let Some(slot) = self.conns.get_mut(key) {
                if !slot.queued {
                    slot.queued = true;
                    self.ready.push_back((key, slot.generation));
                }
            }
        }
        for line in self.hub.take_log_lines() {
            self.log.push(&line);
        }
    }

    /// Reads the signal pipe: the first SIGINT/SIGTERM starts the graceful stop, the next one
    /// ends the process.
    fn handle_signals(&mut self) {
        let received = self.signals.pending().count();
        for _ in 0..received {
            if self.stop_deadline.is_none() {
                self.begin_stop();
            } else {
                gif_chat_io::stop::exit_forced(|line| {
                    self.log.push(line);
                    self.sinks.write_out(&mut self.log);
                });
            }
        }
    }

    /// B4: close the listener, tell every connection the server is stopping, and give them
    /// until the shutdown timeout to finish.
    fn begin_stop(&mut self) {
        if let Some(mut listener) = self.listener.take() {
            // Dropping closes it; deregistering first keeps the poll set exact on every
            // platform.
            let _ = self.poll.registry().deregister(&mut listener);
        }
        self.accept = Accept::default();
        self.log
            .push(&LogLine::stopping(self.conns.len(), self.shutdown_timeout));
        self.stop_deadline = Some(Instant::now() + self.shutdown_timeout);
        self.hub.shutdown();
        let keys: Vec<usize> = self.conns.iter().map(|(key, _)| key).collect();
        for key in keys {
            if let Some(slot) = self.conns.get_mut(key) {
                slot.conn.handle_shutdown(Instant::now());
            }
            self.drive(key);
        }
    }
}

/// Whether a timer entry still speaks for the connection in its slot.
fn is_current(conns: &Slab<Slot>, entry: &Entry) -> bool {
    conns
        .get(entry.key as usize)
        .is_some_and(|slot| slot.generation == entry.generation && slot.armed == Some(entry.at))
}
