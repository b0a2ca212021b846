//! The glue between the core's one [`Hub`] and the many connections of a runtime: the hub
//! behind a mutex, a registry from each Engine.IO session to the connection that holds it, and
//! the calls a connection task makes. The same for tokio, smol and mio.
//!
//! A broadcast reaches sessions held by other tasks (other threads on tokio and smol) like
//! this: the task whose input caused it hands its calls to the hub under the lock, the hub
//! queues the shared bytes in each recipient session, and names those sessions ready; the task
//! then wakes each ready session's owner through its [`HubWake`] (an atomic flag plus one
//! waker slot, an `AtomicWaker`: a connection is waited on by its own task only, so it needs
//! no list of listeners, and waiting allocates nothing; any executor can wait on it as a
//! [`HubWait`], and mio reads the woken tokens instead). The owner pulls its session's output under the lock when it runs.
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

pub use chat::{ChatIo, ChatIoError};

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::task::{Context, Poll};
use std::time::Instant;

use atomic_waker::AtomicWaker;

use event_listener::{Event, EventListener};
use gif_chat_core::chat::{ChatTicket, GifName, StoreReply, StoreRequest, StoreTicket};
use gif_chat_core::engineio::Answer;
use gif_chat_core::{Config, Connection, Hub, HubSession, LogLine};

use self::chat::{ChatJobs, ChatLink, Done};

use crate::log_writer::Log;

/// The OS random source failed: no unguessable sids can be made.
#[derive(Debug, thiserror::Error)]
#[error("the OS random source failed: {0}")]
pub struct SeedError(String);

/// How the hub wakes a connection whose session has output.
#[derive(Debug)]
pub struct HubWake {
    woken: AtomicBool,
    /// The task waiting on this connection, if it waits.
    waker: AtomicWaker,
    /// The runtime's name for the connection (mio's token); unused by the others.
    token: usize,
}

impl HubWake {
    fn wake(&self) {
        // The flag first: a waiter that registers after `wake` took its waker sees the flag.
        self.woken.store(true, Ordering::SeqCst);
        self.waker.wake();
    }
}

/// A future that resolves once the connection's session was woken (see
/// [`HubLink::listen`]). Polling it registers the task's waker, then looks at the flag, so a
/// wake is never missed; it does not clear the flag: the next [`SharedHub::exchange`] does.
#[derive(Debug)]
pub struct HubWait(Arc<HubWake>);

impl Future for HubWait {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.0.waker.register(cx.waker());
        if self.0.woken.load(Ordering::SeqCst) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

/// A connection's side of the registry: its wake handle (made on first use, so a connection
/// that never speaks Engine.IO costs one word) and the session it is registered for.
#[derive(Debug, Default)]
pub struct HubLink {
    wake: Option<Arc<HubWake>>,
    registered: Option<HubSession>,
    /// The chat work the connection waits for or writes.
    chat: ChatLink,
}

impl HubLink {
    /// A link for a connection that holds no session yet.
    pub fn new() -> HubLink {
        HubLink::default()
    }

    /// Whether the connection holds a session or waits for chat work (an answer, an upload
    /// stored, a file read), so it must wait for a wake too.
    pub fn is_registered(&self) -> bool {
        self.registered.is_some() || self.chat.job.is_some()
    }

    /// A future that resolves on the next wake, while the connection holds a session. It
    /// allocates nothing (an `Arc` is cloned), so taking one per turn costs nothing.
    pub fn listen(&self) -> Option<HubWait> {
        let wake = self.wake.as_ref()?;
        self.is_registered().then(|| HubWait(Arc::clone(wake)))
    }

    /// Whether a wake came since the last [`SharedHub::exchange`].
    pub fn is_woken(&self) -> bool {
        self.wake
            .as_ref()
            .is_some_and(|wake| wake.woken.load(Ordering::SeqCst))
    }

    /// The wake handle, made on first use.
    fn wake_handle(&mut self, token: usize) -> Arc<HubWake> {
        let wake = self.wake.get_or_insert_with(|| {
            Arc::new(HubWake {
                woken: AtomicBool::new(false),
                waker: AtomicWaker::new(),
                token,
            })
        });
        Arc::clone(wake)
    }

    fn take_woken(&self) -> bool {
        self.wake
            .as_ref()
            .is_some_and(|wake| wake.woken.swap(false, Ordering::SeqCst))
    }
}

impl Drop for HubLink {
    fn drop(&mut self) {
        // A registry entry that outlived its connection (a task dropped mid-turn) must not
        // keep the task's waker, and with it the task, alive.
        if let Some(wake) = &self.wake {
            drop(wake.waker.take());
        }
    }
}

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
    /// The cluster's link to Redis, once attached (`hub/cluster.rs`).
    bridge: Option<crate::redis::RedisBridge>,
}

/// What the chat app asked for under the lock, done once it is released (a store that refuses
/// at once answers on the caller's thread, which would take the lock again).
#[derive(Default)]
struct ChatOutbox {
    store: Vec<(StoreTicket, StoreRequest)>,
    gifs: Vec<GifName>,
}

/// The hub every connection of a process shares.
pub struct SharedHub {
    inner: Mutex<Inner>,
    /// Notified when the hub's next deadline became earlier than the one the timer waits for.
    timer: Event,
    /// Where the hub's lines go; `None`: kept for [`take_log_lines`](SharedHub::take_log_lines).
    log: Option<Log>,
    collect_tokens: bool,
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
        Ok(Arc::new_cyclic(|me| SharedHub {
            inner: Mutex::new(Inner {
                hub: Hub::new(config.hub.clone(), seed),
                owners: HashMap::new(),
                armed: None,
                woken: Vec::new(),
                lines: Vec::new(),
                jobs: ChatJobs::default(),
                bridge: None,
            }),
            timer: Event::new(),
            log,
            collect_tokens,
            me: me.clone(),
            chat_io: OnceLock::new(),
            loop_wake: OnceLock::new(),
        }))
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
        loop {
            for call in calls.drain(..) {
                if let Some(answer) = inner.hub.handle_call(now, call) {
                    conn.handle_hub_answer(now, answer);
                }
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
                }
            }
            if let Some(key) = session {
                let wake = link.wake.get_or_insert_with(|| {
                    Arc::new(HubWake {
                        woken: AtomicBool::new(false),
                        waker: AtomicWaker::new(),
                        token,
                    })
                });
                inner.owners.insert(key, Arc::clone(wake));
                link.registered = Some(key);
            }
        }
        self.exchange_chat(inner, conn, link, token, now);
        self.settle(inner, link.registered);
        let outbox = self.take_chat_outbox(inner);
        drop(guard);
        self.send_chat_outbox(outbox);
    }

    /// Wakes the owners of ready sessions (but `own`, which just pulled), logs, re-arms the
    /// timer when the deadline moved earlier.
    fn settle(&self, inner: &mut Inner, own: Option<HubSession>) {
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

/// The chat's side of the shared hub: its store, its HTTP requests, uploads and files.
impl SharedHub {
    /// Attaches the chat's store and upload directory, and (mio) how to wake the loop from the
    /// store's thread or the blocking pool. The room list is asked for at once, so that the
    /// rooms of the last run get their removal window from this start. Without it, the chat
    /// runs on an empty store that keeps nothing.
    pub fn attach_chat(&self, io: ChatIo, loop_wake: Option<Box<dyn Fn() + Send + Sync>>) {
        if let Some(wake) = loop_wake {
            let _ = self.loop_wake.set(wake);
        }
        let _ = self.chat_io.set(Arc::new(io));
        let outbox = self.take_chat_outbox(&mut self.lock());
        self.send_chat_outbox(outbox);
    }

    /// Hands a connection's chat requests, upload steps and file reads out, and gives it what
    /// came back. At most one job per connection is in flight (its pipeline waits for it).
    fn exchange_chat(
        &self,
        inner: &mut Inner,
        conn: &mut Connection,
        link: &mut HubLink,
        token: usize,
        now: Instant,
    ) {
        if link.chat.is_idle() && !conn.awaits_chat_io() {
            return;
        }
        let io = self.chat_io.get().cloned();
        loop {
            if let Some(job) = link.chat.job {
                if let Some(done) = inner.jobs.done.remove(&job) {
                    link.chat.job = None;
                    done.apply(conn, now);
                }
            }
            if conn.is_closed() {
                if let Some(job) = link.chat.job.take() {
                    inner.jobs.abandon(job);
                }
                link.chat.drop_upload();
                return;
            }
            while let Some(step) = conn.poll_upload() {
                let finish = matches!(step, gif_chat_core::upload::UploadStep::Finish);
                let upload = match &io {
                    Some(io) => chat::write_step(&mut link.chat, io, step),
                    None => None,
                };
                if !finish {
                    continue;
                }
                let wake = link.wake_handle(token);
                let job = inner.jobs.start(&wake);
                link.chat.job = Some(job);
                match upload {
                    Some(upload) => {
                        let me = self.me.clone();
                        chat::off_loop(move || {
                            let stored = chat::commit(upload);
                            if let Some(hub) = me.upgrade() {
                                hub.finish_job(job, Done::Stored(stored));
                            }
                        });
                    }
                    None => {
                        let reason = link
                            .chat
                            .take_upload_error()
                            .unwrap_or_else(|| "the upload was not written".to_owned());
                        let failed = Err(gif_chat_core::upload::UploadFailure::Storage(reason));
                        inner.jobs.finish(job, Done::Stored(failed));
                    }
                }
            }
            if link.chat.job.is_some() {
                if inner
                    .jobs
                    .done
                    .contains_key(&link.chat.job.unwrap_or_default())
                {
                    continue;
                }
                return;
            }
            if let Some(request) = conn.poll_chat_request() {
                let wake = link.wake_handle(token);
                let job = inner.jobs.start(&wake);
                link.chat.job = Some(job);
                inner.hub.handle_chat_request(now, ChatTicket(job), request);
                self.collect_chat_answers(inner);
                continue;
            }
            if let Some(name) = conn.poll_file_read() {
                let wake = link.wake_handle(token);
                let job = inner.jobs.start(&wake);
                link.chat.job = Some(job);
                match &io {
                    Some(io) => {
                        let io = Arc::clone(io);
                        let me = self.me.clone();
                        chat::off_loop(move || {
                            let file = chat::read_image(io.uploads.path(), &name);
                            if let Some(hub) = me.upgrade() {
                                hub.finish_job(job, Done::File(file));
                            }
                        });
                    }
                    None => {
                        inner.jobs.finish(job, Done::File(None));
                    }
                }
                continue;
            }
            return;
        }
    }

    /// Moves the hub's chat answers to their jobs and wakes their connections.
    fn collect_chat_answers(&self, inner: &mut Inner) {
        while let Some((ticket, answer)) = inner.hub.poll_chat_answer() {
            if let Some(waiter) = inner.jobs.finish(ticket.0, Done::Answer(answer)) {
                waiter.wake();
                if self.collect_tokens {
                    inner.woken.push(waiter.token);
                }
            }
        }
    }

    /// Chat answers delivered, store requests and files to delete taken, under the lock.
    fn take_chat_outbox(&self, inner: &mut Inner) -> ChatOutbox {
        self.flush_cluster(inner);
        self.collect_chat_answers(inner);
        let mut outbox = ChatOutbox::default();
        while let Some(request) = inner.hub.poll_store_request() {
            outbox.store.push(request);
        }
        while let Some(gif) = inner.hub.poll_removed_gif() {
            outbox.gifs.push(gif);
        }
        outbox
    }

    /// Sends the store requests and deletes the files, the lock released.
    fn send_chat_outbox(&self, outbox: ChatOutbox) {
        let io = self.chat_io.get();
        if !outbox.gifs.is_empty() {
            if let Some(io) = io {
                let io = Arc::clone(io);
                let gifs = outbox.gifs;
                chat::off_loop(move || chat::remove_gifs(&io, gifs));
            }
        }
        for (ticket, request) in outbox.store {
            match io {
                Some(io) => {
                    let me = self.me.clone();
                    io.store.submit(
                        request,
                        Box::new(move |reply| {
                            if let Some(hub) = me.upgrade() {
                                hub.handle_store_reply(ticket, reply);
                            }
                        }),
                    );
                }
                // No store attached: an empty one that keeps nothing.
                None => {
                    let reply = match request {
                        StoreRequest::ListRooms => StoreReply::Rooms(Vec::new()),
                        _ => chat::no_store(),
                    };
                    self.handle_store_reply(ticket, reply);
                }
            }
        }
    }

    /// The store's reply (on its thread, or on the caller's for a refusal): fed to the hub,
    /// whoever it concerns woken.
    fn handle_store_reply(&self, ticket: StoreTicket, reply: StoreReply) {
        let mut inner = self.lock();
        inner.hub.handle_store_reply(Instant::now(), ticket, reply);
        self.settle(&mut inner, None);
        let outbox = self.take_chat_outbox(&mut inner);
        drop(inner);
        self.send_chat_outbox(outbox);
        self.wake_loop();
    }

    /// A job of the blocking pool is done.
    fn finish_job(&self, job: u64, done: Done) {
        let mut inner = self.lock();
        if let Some(waiter) = inner.jobs.finish(job, done) {
            waiter.wake();
            if self.collect_tokens {
                inner.woken.push(waiter.token);
            }
        }
        drop(inner);
        self.wake_loop();
    }

    fn wake_loop(&self) {
        if let Some(wake) = self.loop_wake.get() {
            wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;

    fn connection(config: &Arc<Config>) -> Connection {
        let peer: SocketAddr = "127.0.0.1:5000".parse().expect("literal");
        Connection::new(Arc::clone(config), peer, Instant::now())
    }

    fn written(conn: &mut Connection) -> String {
        let mut out = Vec::new();
        while let Some(bytes) = conn.poll_transmit() {
            let n = bytes.len();
            out.extend_from_slice(bytes);
            conn.handle_written(Instant::now(), n);
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    fn body(response: &str) -> &str {
        response.split_once("\r\n\r\n").map_or("", |(_, body)| body)
    }

    /// A GET parked on one connection is woken (flag and token) by a POST on another, and
    /// answered by its own exchange; its registration goes when it is answered.
    #[test]
    fn a_post_on_one_connection_wakes_the_get_parked_on_another() {
        let mut config = Config::new();
        config.hub.conformance = true;
        let config = Arc::new(config);
        let hub = SharedHub::new(&config, None, true).expect("the OS random source");

        let mut getter = connection(&config);
        let mut link = HubLink::new();
        getter.handle_input(
            Instant::now(),
            b"GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: a\r\n\r\n",
        );
        hub.exchange(&mut getter, &mut link, 7);
        let open = written(&mut getter);
        let sid = body(&open)
            .split("\"sid\":\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("a sid")
            .to_owned();
        let get = format!(
            "GET /engine.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: a\r\n\r\n"
        );
        getter.handle_input(Instant::now(), get.as_bytes());
        hub.exchange(&mut getter, &mut link, 7);
        assert_eq!(written(&mut getter), "", "parked");
        assert!(link.is_registered());
        let listener = link.listen();
        assert!(listener.is_some());

        let mut poster = connection(&config);
        let mut poster_link = HubLink::new();
        let post = format!(
            "POST /engine.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: a\r\n\
             Content-Length: 6\r\n\r\n4hello"
        );
        poster.handle_input(Instant::now(), post.as_bytes());
        hub.exchange(&mut poster, &mut poster_link, 8);
        assert_eq!(body(&written(&mut poster)), "ok");
        assert!(!poster_link.is_registered());

        assert!(link.is_woken());
        assert_eq!(hub.take_woken_tokens(), [7]);
        hub.exchange(&mut getter, &mut link, 7);
        assert_eq!(body(&written(&mut getter)), "4hello");
        assert!(!link.is_registered());
        assert!(!link.is_woken());
    }
}
