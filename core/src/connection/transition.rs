//! What a phase asks of its connection.
//!
//! A phase (HTTP, WebSocket) owns its input, its deadlines and its answer to a stop, and writes
//! into the outbox it is lent; what happens to the connection as a whole (closing, lingering,
//! becoming a WebSocket) it only asks for, as a [`Transition`], because the lifecycle is the
//! connection's alone: one place moves it, and it only moves forward.

use crate::engineio::Sid;
use crate::event::ConnectionError;
use crate::http::Endpoint;
use crate::hub::Mount;

/// The connection-wide consequence of a phase's step.
#[derive(Debug)]
pub(super) enum Transition {
    /// Carry on.
    None,
    /// We are done: close at once if nothing is left to write, else once it is written.
    Finish,
    /// Both close frames are out: send the FIN, then close, once our output is written.
    CloseWhenFlushed,
    /// We sent our close frame: wait for the peer's close or FIN (a bounded time).
    AwaitPeerClose,
    /// A final HTTP response is queued: send it and the FIN, then read and drop what the peer
    /// still sends until its FIN (a lingering close, bounded in time).
    AwaitPeerEof,
    /// Over now, for this reason if it is an error worth a log line.
    Closed(Option<ConnectionError>),
    /// The `101` is queued: the connection becomes a WebSocket.
    Upgrade(Upgrade),
    /// The `101` is queued: the connection becomes an Engine.IO session's WebSocket.
    EngineUpgrade(EngineUpgrade),
}

/// An Engine.IO WebSocket the hub accepted.
#[derive(Debug)]
pub(super) struct EngineUpgrade {
    pub(super) mount: Mount,
    pub(super) sid: Sid,
    /// The request's `X-Forwarded-For`, for the logged client address.
    pub(super) forwarded_for: Option<String>,
    /// Bytes that followed the request: the first frames.
    pub(super) rest: Vec<u8>,
}

/// An accepted WebSocket upgrade.
#[derive(Debug)]
pub(super) struct Upgrade {
    pub(super) endpoint: Endpoint,
    /// The request's `X-Forwarded-For`, for the logged client address.
    pub(super) forwarded_for: Option<String>,
    /// Bytes that followed the request: the first frames.
    pub(super) rest: Vec<u8>,
}
