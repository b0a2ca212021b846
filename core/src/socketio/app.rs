//! The interface between the Socket.IO layer and the applications above it.
//!
//! Applications (the conformance app, the chat room) are code outside the protocol state: they
//! poll [`Event`]s from the [`Server`](super::Server) and answer with its commands (`emit`,
//! `ack`, `join`, `leave`, `disconnect`). Everything here is plain data, so an app can be
//! tested with a scripted list of events, and the server never calls back into app code.

use std::fmt;
use std::sync::Arc;

use serde_json::Value;

use super::ids::SocketId;
use super::packet::{Args, PacketError};
use super::recovery::Room;
use crate::engineio::{Payload, Sid};

/// A namespace's name (`/`, `/chat`); cheap to clone into every event.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Namespace(pub(crate) Arc<str>);

impl Namespace {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Namespace {
    fn from(name: &str) -> Namespace {
        Namespace(Arc::from(name))
    }
}

impl fmt::Display for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Namespace({})", &self.0)
    }
}

/// The id a client gave an event it wants acknowledged; answer with `Server::ack`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AckId(pub u64);

/// The id of an ack the server asked a client for (`Server::emit_with_ack`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServerAckId(pub u64);

/// Why an Engine.IO session ended, as the engine reports it to `Server::handle_close`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseReason {
    /// The client closed the transport or the connection dropped.
    TransportClose,
    /// The transport failed (a read or write error, an oversized message).
    TransportError,
    /// No pong within the ping timeout.
    PingTimeout,
    /// The engine closed the session itself (a buffer over its high-water mark, for instance).
    ForcedClose,
    /// The server is stopping.
    ServerShuttingDown,
}

/// Why a socket left its namespace, with socket.io's names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DisconnectReason {
    /// The client sent DISCONNECT for this namespace.
    ClientNamespaceDisconnect,
    /// The app called `Server::disconnect`.
    ServerNamespaceDisconnect,
    TransportClose,
    TransportError,
    PingTimeout,
    /// The app or the engine closed the whole session.
    ForcedServerClose,
    ServerShuttingDown,
    /// The client sent an invalid packet.
    ParseError(PacketError),
}

impl DisconnectReason {
    /// Whether the client did not choose to leave, so the socket is kept for recovery
    /// (socket.io's `RECOVERABLE_DISCONNECT_REASONS`).
    pub fn is_recoverable(&self) -> bool {
        matches!(
            self,
            DisconnectReason::TransportClose
                | DisconnectReason::TransportError
                | DisconnectReason::PingTimeout
                | DisconnectReason::ForcedServerClose
                | DisconnectReason::ServerShuttingDown
        )
    }

    /// socket.io's name for the reason.
    pub fn as_str(&self) -> &'static str {
        match self {
            DisconnectReason::ClientNamespaceDisconnect => "client namespace disconnect",
            DisconnectReason::ServerNamespaceDisconnect => "server namespace disconnect",
            DisconnectReason::TransportClose => "transport close",
            DisconnectReason::TransportError => "transport error",
            DisconnectReason::PingTimeout => "ping timeout",
            DisconnectReason::ForcedServerClose => "forced server close",
            DisconnectReason::ServerShuttingDown => "server shutting down",
            DisconnectReason::ParseError(_) => "parse error",
        }
    }
}

impl From<CloseReason> for DisconnectReason {
    fn from(reason: CloseReason) -> DisconnectReason {
        match reason {
            CloseReason::TransportClose => DisconnectReason::TransportClose,
            CloseReason::TransportError => DisconnectReason::TransportError,
            CloseReason::PingTimeout => DisconnectReason::PingTimeout,
            CloseReason::ForcedClose => DisconnectReason::ForcedServerClose,
            CloseReason::ServerShuttingDown => DisconnectReason::ServerShuttingDown,
        }
    }
}

/// Why the Socket.IO layer closed a whole session (`Transmit::Close` follows).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionCloseReason {
    InvalidPacket(PacketError),
    /// No CONNECT within the connect timeout.
    ConnectTimeout,
    /// The app called `Server::close`.
    Closed,
}

/// What happened, for the application.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// A socket joined a namespace. `auth` is the CONNECT payload (`{}` when none);
    /// `recovered` says it is a dropped socket taken back (same id, rooms, missed packets sent).
    Connected {
        ns: Namespace,
        socket: SocketId,
        sid: Sid,
        auth: Value,
        recovered: bool,
    },
    /// A client asks to join a namespace opened with `Admission::ByApp`; answer with
    /// `Server::admit` or `Server::refuse`.
    ConnectRequest {
        ns: Namespace,
        sid: Sid,
        auth: Value,
    },
    /// A client emitted an event; answer `ack` with `Server::ack` if it wants one.
    Event {
        ns: Namespace,
        socket: SocketId,
        name: String,
        args: Args,
        ack: Option<AckId>,
    },
    /// A client answered an ack the server asked for.
    AckReceived {
        ns: Namespace,
        socket: SocketId,
        id: ServerAckId,
        args: Args,
    },
    /// A client did not answer an ack in time; a late answer is dropped.
    AckTimedOut {
        ns: Namespace,
        socket: SocketId,
        id: ServerAckId,
    },
    /// A socket left its namespace; its pending server acks are dropped with it.
    Disconnected {
        ns: Namespace,
        socket: SocketId,
        sid: Sid,
        reason: DisconnectReason,
        /// The rooms it was in, its own id's room first (what socket.io's `disconnecting`
        /// shows): an app need not keep its own copy of every socket's rooms.
        rooms: Vec<Room>,
    },
    /// The Socket.IO layer closed a session (for the log).
    SessionClosed {
        sid: Sid,
        reason: SessionCloseReason,
    },
}

/// Whom an emit is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum To<'a> {
    /// One socket.
    Socket(SocketId),
    /// Every socket in a room (a socket is in the room named by its own id).
    Room(&'a str),
    /// Every socket in a room but one (`socket.to(room).emit`, "except the sender").
    RoomExcept { room: &'a str, except: SocketId },
    /// Every socket of the namespace.
    Namespace,
    /// Every socket of the namespace but one (`socket.broadcast.emit`).
    NamespaceExcept(SocketId),
}

/// What the engine must do. Poll them all after every input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transmit {
    /// Send one payload to one session.
    Send { sid: Sid, payload: Payload },
    /// Send these payloads, in order, to every listed session. They were encoded once: each
    /// recipient's queue gets a clone of the same reference-counted bytes.
    Broadcast {
        sids: Vec<Sid>,
        payloads: Vec<Payload>,
    },
    /// Close the session (its sockets are already gone from the Socket.IO state).
    Close { sid: Sid },
}

/// Why a command was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    #[error("no namespace {0}")]
    UnknownNamespace(String),
    #[error("no such socket in this namespace")]
    UnknownSocket,
    #[error("event name {0:?} is reserved")]
    ReservedEvent(String),
    #[error("a socket may be in at most {0} rooms")]
    TooManyRooms(usize),
    #[error("no CONNECT from this session waits for an answer in this namespace")]
    NoConnectRequest,
    #[error("a socket may have at most {0} acks pending")]
    TooManyPendingAcks(usize),
}
