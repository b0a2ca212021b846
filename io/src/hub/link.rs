//! A connection's side of the hub: how the hub wakes the connection that holds a session
//! ([`HubWake`]), the future a task waits on for it ([`HubWait`]), and what the connection keeps
//! of the registry ([`HubLink`]).
//!
//! The wake is an atomic flag plus one waker slot (an `AtomicWaker`): a connection is waited on
//! by its own task only, so it needs no list of listeners, and waiting allocates nothing. Any
//! executor can wait on it as a [`HubWait`]; mio reads the woken tokens instead. The same
//! handle carries the connection's socket for broadcasters ([`crate::fanout`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use atomic_waker::AtomicWaker;
use gif_chat_core::{Connection, HubSession};

use super::chat::ChatLink;
use crate::fanout::{DirectSlot, DirectSocket};

/// How the hub wakes a connection whose session has output.
#[derive(Debug)]
pub struct HubWake {
    woken: AtomicBool,
    /// The task waiting on this connection, if it waits.
    waker: AtomicWaker,
    /// The runtime's name for the connection (mio's token); unused by the others.
    pub(super) token: usize,
    /// Whether a broadcaster may write to the connection's socket now.
    pub(super) direct: DirectSlot,
}

impl HubWake {
    pub(super) fn wake(&self) {
        // The flag first: a waiter that registers after `wake` took its waker sees the flag.
        self.woken.store(true, Ordering::SeqCst);
        self.waker.wake();
    }
}

/// A future that resolves once the connection's session was woken (see
/// [`HubLink::listen`]). Polling it registers the task's waker, then looks at the flag, so a
/// wake is never missed; it does not clear the flag: the next [`SharedHub::exchange`](super::SharedHub::exchange) does.
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
#[derive(Default)]
pub struct HubLink {
    pub(super) wake: Option<Arc<HubWake>>,
    pub(super) registered: Option<HubSession>,
    /// The chat work the connection waits for or writes.
    pub(super) chat: ChatLink,
    /// The connection's socket, for broadcasters (given to the wake handle when it is made).
    socket: Option<Arc<dyn DirectSocket>>,
}

impl std::fmt::Debug for HubLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HubLink")
            .field("wake", &self.wake)
            .field("registered", &self.registered)
            .field("socket", &self.socket.is_some())
            .field("chat", &self.chat)
            .finish()
    }
}

impl HubLink {
    /// A link for a connection that holds no session yet.
    pub fn new() -> HubLink {
        HubLink::default()
    }

    /// A link whose connection's socket broadcasts may be written to directly while the
    /// connection waits (see [`crate::fanout`] and [`offer_direct`](Self::offer_direct)).
    pub fn with_socket(socket: Arc<dyn DirectSocket>) -> HubLink {
        HubLink {
            wake: None,
            registered: None,
            chat: ChatLink::default(),
            socket: Some(socket),
        }
    }

    /// Call just before waiting, after the turn's writes: when the core says the connection
    /// has nothing unsent on its Engine.IO WebSocket, broadcasters may write to its socket
    /// until its next [`SharedHub::exchange`](super::SharedHub::exchange), which must come before it writes anything.
    pub fn offer_direct(&self, conn: &Connection) {
        if let (Some(wake), Some(HubSession::WebSocket(..))) = (&self.wake, self.registered) {
            if conn.accepts_direct() {
                wake.direct.offer();
            }
        }
    }

    /// Whether the connection's session takes broadcasts straight to its socket (an Engine.IO
    /// WebSocket) and the hub has no socket for it yet: give one with
    /// [`give_socket`](Self::give_socket) (see [`crate::fanout::SocketCell`]).
    pub fn wants_socket(&self) -> bool {
        matches!(self.registered, Some(HubSession::WebSocket(..)))
            && self
                .wake
                .as_ref()
                .is_some_and(|wake| !wake.direct.has_socket())
    }

    /// The connection's socket, for broadcasters; the first one given stays.
    pub fn give_socket(&self, socket: Arc<dyn DirectSocket>) {
        if let Some(wake) = &self.wake {
            wake.direct.give(socket);
        }
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

    /// Whether the connection has nothing to do but wait for its peer or the hub: it holds an
    /// Engine.IO WebSocket with nothing unsent (its socket offered to broadcasters), no chat
    /// work, and no wake unanswered. Such a connection may leave its task for the parking lot
    /// ([`crate::parking`]).
    pub fn is_idle(&self, conn: &Connection) -> bool {
        matches!(self.registered, Some(HubSession::WebSocket(..)))
            && self.wake.is_some()
            && self.chat.is_idle()
            && !self.is_woken()
            && !conn.awaits_chat_io()
            && conn.accepts_direct()
    }

    /// Makes the hub's next wake call `waker` instead of the connection's task's (the parking
    /// lot's, while the connection is parked).
    pub fn wake_with(&self, waker: &Waker) {
        if let Some(wake) = &self.wake {
            wake.waker.register(waker);
        }
    }

    /// Whether a wake came since the last [`SharedHub::exchange`](super::SharedHub::exchange).
    pub fn is_woken(&self) -> bool {
        self.wake
            .as_ref()
            .is_some_and(|wake| wake.woken.load(Ordering::SeqCst))
    }

    /// The wake handle, made on first use; the connection's socket (if it offers one to
    /// broadcasters) moves into it.
    pub(super) fn wake_handle(&mut self, token: usize) -> Arc<HubWake> {
        let socket = &mut self.socket;
        let wake = self.wake.get_or_insert_with(|| {
            Arc::new(HubWake {
                woken: AtomicBool::new(false),
                waker: AtomicWaker::new(),
                token,
                direct: DirectSlot::new(socket.take()),
            })
        });
        Arc::clone(wake)
    }

    pub(super) fn take_woken(&self) -> bool {
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
            wake.direct.close();
        }
    }
}
