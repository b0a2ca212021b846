//! The glue between the core's one [`Hub`] and the many connections of a runtime: the hub
//! behind a mutex, a registry from each Engine.IO session to the connection that holds it, and
//! the calls a connection task makes. The same for tokio, smol and mio.
//!
//! A broadcast reaches sessions held by other tasks (other threads on tokio and smol) like
//! this: the task whose input caused it hands its calls to the hub under the lock, the hub
//! queues the shared bytes in each recipient session, and names those sessions ready; the task
//! then wakes each ready session's owner through its [`HubWake`] (`hub/link.rs`: an atomic
//! flag and one waker slot, awaited as a [`HubWait`]; mio reads the woken tokens instead). The
//! owner pulls its session's output under the lock when it runs.
//! One lock per batch of input keeps the critical sections short: decoding and framing happen
//! outside it, in the connection. mio takes the same lock uncontended on its one thread.
//!
//! Deadlines (heartbeats, connect and ack timeouts, recovery expiry) are the hub's, not a
//! connection's: one timer per process waits for [`SharedHub::next_deadline`] and calls
//! [`SharedHub::handle_timeout`]; a deadline that moves earlier notifies it
//! ([`SharedHub::timer_listener`]).
//!
//! The chat's I/O (its store, uploads and image reads, [`ChatIo`]) is attached with
//! [`SharedHub::attach_chat`]; how its work leaves the lock and comes back is in `hub/chat.rs`.
//! The cluster's Redis bridge (SPEC M1–M3) is attached with [`SharedHub::attach_redis`]; its
//! side is `hub/cluster.rs`.

mod chat;
mod cluster;
mod link;

pub use chat::{ChatIo, ChatIoError};
pub use link::{HubLink, HubWait, HubWake};

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::time::Instant;

use bytes::Bytes;
use event_listener::{Event, EventListener};
use gif_chat_core::engineio::Answer;
use gif_chat_core::{Config, Connection, Hub, HubSession, LogLine, Mount};

use crate::fanout::{self, DirectSlot, DirectWrite};

use self::chat::ChatJobs;

use crate::log_writer::Log;

/// The OS random source failed: no unguessable sids can be made.
#[derive(Debug, thiserror::Error)]
#[error("the OS random source failed: {0}")]
pub struct SeedError(String);

struct Inner {
    hub: Hub,
    /// Who holds each session: its parked GET and its WebSocket may be two connections at
    /// once (during the upgrade), and both may need waking.
    owners: HashMap<HubSession, Arc<HubWake>>,
    /// The deadline the timer waits for, to know when a new one is earlier.
    armed: Option<Instant>,
    /// Tokens of woken connections, for a runtime that reads them (mio).
    woken: Vec<usize>,
    /// Log lines, for a runtime without a log writer thread (mio).
    lines: Vec<LogLine>,
    /// Chat work in flight for connections.
    jobs: ChatJobs,
    /// The rest of a frame a socket took only part of, for its owner (see [`crate::fanout`]).
    rests: Vec<(HubSession, Bytes)>,
    /// The cluster's link to Redis, once attached (`hub/cluster.rs`).
    bridge: Option<crate::redis::RedisBridge>,
}

/// The hub every connection of a process shares.
pub struct SharedHub {
    inner: Mutex<Inner>,
    /// Notified when the hub's next deadline became earlier than the one the timer waits for.
    timer: Event,
    /// Where the hub's lines go; `None`: kept for [`take_log_lines`](SharedHub::take_log_lines).
    log: Option<Log>,
    collect_tokens: bool,
    /// Threads a broadcast's direct writes may use at once ([`Self::spread_broadcasts`]).
    broadcast_threads: AtomicUsize,
    /// Itself, for the callbacks of the store and the blocking pool.
    me: Weak<SharedHub>,
    /// The chat's store and upload directory, once attached.
    chat_io: OnceLock<Arc<ChatIo>>,
    /// Wakes the runtime's loop from another thread (mio's `Waker`); tokio and smol need none.
    loop_wake: OnceLock<Box<dyn Fn() + Send + Sync>>,
}

impl std::fmt::Debug for SharedHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedHub").finish_non_exhaustive()
    }
}

impl SharedHub {
    /// The hub for `config`, its ids keyed by 32 bytes from the OS, its lines pushed to `log`
    /// (or, with `None`, kept for [`take_log_lines`](Self::take_log_lines)). `collect_tokens`:
    /// record woken connections' tokens for [`take_woken_tokens`](Self::take_woken_tokens)
    /// (mio, whose loop owns every connection and needs no wake-up call).
    pub fn new(
        config: &Config,
        log: Option<Log>,
        collect_tokens: bool,
    ) -> Result<Arc<SharedHub>, SeedError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| SeedError(e.to_string()))?;
        let mut hub = Hub::new(config.hub.clone(), seed);
        hub.set_direct_delivery(true);
        Ok(Arc::new_cyclic(|me| SharedHub {
            inner: Mutex::new(Inner {
                hub,
                owners: HashMap::new(),
                armed: None,
                woken: Vec::new(),
                lines: Vec::new(),
                jobs: ChatJobs::default(),
                rests: Vec::new(),
                bridge: None,
            }),
            timer: Event::new(),
            log,
            collect_tokens,
            me: me.clone(),
            chat_io: OnceLock::new(),
            loop_wake: OnceLock::new(),
            broadcast_threads: AtomicUsize::new(1),
        }))
    }

    /// Lets a broadcast to a big room write to its recipients' sockets from up to `threads`
    /// threads at once: the broadcasting one and scoped helpers (see [`crate::fanout`]). 1, the
    /// default, keeps every write on the broadcasting thread, as a one-thread runtime (mio)
    /// must; tokio and smol give the machine's cores, as many as they run workers on.
    pub fn spread_broadcasts(&self, threads: usize) {
        self.broadcast_threads
            .store(threads.max(1), Ordering::Relaxed);
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic under the lock cannot leave the hub half-updated in a way worse than the
        // panic itself; carry on rather than take every connection down with it.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// After any `handle_*` on `conn`: hands its hub calls to the hub and applies the answers,
    /// pulls its own session's output, keeps the registry up to date and wakes the owners of
    /// every session that became ready. Costs nothing for a connection that has never spoken
    /// Engine.IO. `token` is the runtime's name for the connection (mio), else 0.
    pub fn exchange(&self, conn: &mut Connection, link: &mut HubLink, token: usize) {
        let mut calls = Vec::new();
        while let Some(call) = conn.poll_hub_call() {
            calls.push(call);
        }
        let woken = link.take_woken();
        if calls.is_empty()
            && !woken
            && link.registered.is_none()
            && conn.hub_session().is_none()
            && link.chat.is_idle()
            && !conn.awaits_chat_io()
        {
            return;
        }
        let now = Instant::now();
        let mut guard = self.lock();
        let inner = &mut *guard;
        if let Some(wake) = &link.wake {
            // The socket is ours again before we write; a broadcaster's rest goes first.
            if wake.direct.claim() {
                take_rest(inner, link.registered, conn);
            }
        }
        loop {
            for call in calls.drain(..) {
                if let Some(answer) = inner.hub.handle_call(now, call) {
                    conn.handle_hub_answer(now, answer);
                }
                // Before our own session's output is pulled: a refused frame is queued first.
                self.deliver_direct(inner, now);
            }
            match conn.hub_session() {
                Some(HubSession::ParkedGet(mount, sid)) => {
                    let answer = inner.hub.poll_get_answer(mount, sid);
                    if !matches!(answer, Answer::Parked(_)) {
                        conn.handle_hub_answer(now, answer);
                    }
                }
                Some(HubSession::WebSocket(mount, sid)) => {
                    while conn.wants_hub_output() {
                        let Some(output) = inner.hub.poll_websocket(mount, sid) else {
                            break;
                        };
                        conn.handle_hub_output(now, output);
                    }
                }
                None => {}
            }
            while let Some(call) = conn.poll_hub_call() {
                calls.push(call);
            }
            if calls.is_empty() {
                break;
            }
        }
        let session = conn.hub_session();
        if session != link.registered {
            if let Some(old) = link.registered.take() {
                let ours = inner
                    .owners
                    .get(&old)
                    .zip(link.wake.as_ref())
                    .is_some_and(|(owner, wake)| Arc::ptr_eq(owner, wake));
                if ours {
                    inner.owners.remove(&old);
                    inner.rests.retain(|(key, _)| *key != old);
                }
            }
            if let Some(key) = session {
                let wake = link.wake_handle(token);
                inner.owners.insert(key, wake);
                link.registered = Some(key);
            }
        }
        self.exchange_chat(inner, conn, link, token, now);
        self.settle(inner, link.registered);
        let outbox = self.take_chat_outbox(inner);
        drop(guard);
        self.send_chat_outbox(outbox);
    }

    /// Writes the broadcast frames the hub offers straight to the idle recipients' sockets
    /// (see [`crate::fanout`]); the others are queued by the hub and woken by
    /// [`settle`](Self::settle).
    fn deliver_direct(&self, inner: &mut Inner, now: Instant) {
        while let Some(frame) = inner.hub.poll_direct() {
            let key = |sid| HubSession::WebSocket(Mount::SocketIo, sid);
            let threads = self.broadcast_threads.load(Ordering::Relaxed);
            let results = {
                let slots: Vec<Option<&DirectSlot>> = frame
                    .sids
                    .iter()
                    .map(|&sid| inner.owners.get(&key(sid)).map(|owner| &owner.direct))
                    .collect();
                fanout::write_each(&frame.frame, &slots, threads)
            };
            for (&sid, written) in frame.sids.iter().zip(results) {
                match written {
                    DirectWrite::Whole => {}
                    // Only a slot that exists writes part of a frame.
                    DirectWrite::Part(n) => {
                        if let Some(owner) = inner.owners.get(&key(sid)) {
                            inner.rests.push((key(sid), frame.frame.slice(n..)));
                            owner.wake();
                            if self.collect_tokens {
                                inner.woken.push(owner.token);
                            }
                        }
                    }
                    DirectWrite::Refused => inner.hub.handle_direct_refused(&frame, sid, now),
                }
            }
        }
    }

    /// Wakes the owners of ready sessions (but `own`, which just pulled), logs, re-arms the
    /// timer when the deadline moved earlier.
    fn settle(&self, inner: &mut Inner, own: Option<HubSession>) {
        self.deliver_direct(inner, Instant::now());
        while let Some((mount, sid)) = inner.hub.poll_ready() {
            for holder in [
                HubSession::ParkedGet(mount, sid),
                HubSession::WebSocket(mount, sid),
            ] {
                if Some(holder) == own {
                    continue;
                }
                if let Some(owner) = inner.owners.get(&holder) {
                    owner.wake();
                    if self.collect_tokens {
                        inner.woken.push(owner.token);
                    }
                }
            }
        }
        while let Some(line) = inner.hub.poll_log() {
            match &self.log {
                Some(log) => log.push_line(&line),
                None => inner.lines.push(line),
            }
        }
        if let Some(at) = inner.hub.poll_timeout() {
            if inner.armed.is_none_or(|armed| at < armed) {
                inner.armed = Some(at);
                self.timer.notify(usize::MAX);
            }
        }
    }

    /// A future that resolves when the hub's deadline moved earlier: take it before
    /// [`next_deadline`](Self::next_deadline).
    pub fn timer_listener(&self) -> EventListener {
        self.timer.listen()
    }

    /// The hub's next deadline, now armed.
    pub fn next_deadline(&self) -> Option<Instant> {
        let mut inner = self.lock();
        let at = inner.hub.poll_timeout();
        inner.armed = at;
        at
    }

    /// Runs the hub's due deadlines and wakes whom they concern.
    pub fn handle_timeout(&self) {
        let mut inner = self.lock();
        inner.hub.handle_timeout(Instant::now());
        inner.armed = None;
        self.settle(&mut inner, None);
        let outbox = self.take_chat_outbox(&mut inner);
        drop(inner);
        self.send_chat_outbox(outbox);
    }

    /// The server is stopping (B4): every session is closed as socket.io's `close()` does.
    pub fn shutdown(&self) {
        let mut inner = self.lock();
        inner.hub.handle_shutdown(Instant::now());
        self.settle(&mut inner, None);
        let outbox = self.take_chat_outbox(&mut inner);
        let bridge = SharedHub::take_bridge(&mut inner);
        drop(inner);
        self.send_chat_outbox(outbox);
        // Sends what is queued for the other instances, then joins its thread.
        drop(bridge);
    }

    /// The tokens of connections woken since the last call (with `collect_tokens`).
    pub fn take_woken_tokens(&self) -> Vec<usize> {
        std::mem::take(&mut self.lock().woken)
    }

    /// The hub's log lines since the last call (without a `Log`).
    pub fn take_log_lines(&self) -> Vec<LogLine> {
        std::mem::take(&mut self.lock().lines)
    }

    /// Open Engine.IO sessions.
    pub fn session_count(&self) -> usize {
        self.lock().hub.session_count()
    }
}

/// Gives `conn` the rest of a frame a broadcaster left for it (see [`crate::fanout`]).
fn take_rest(inner: &mut Inner, session: Option<HubSession>, conn: &mut Connection) {
    let Some(at) = inner
        .rests
        .iter()
        .position(|(key, _)| Some(*key) == session)
    else {
        return;
    };
    let (_, rest) = inner.rests.swap_remove(at);
    conn.handle_direct_rest(&rest);
}
