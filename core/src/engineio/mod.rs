//! Engine.IO protocol v4: the transport layer under Socket.IO.
//!
//! Engine.IO gives each client a session (a [`Sid`]) that outlives any one TCP connection: with
//! HTTP long-polling a session is spread over many requests, and it may move to a WebSocket in
//! the middle of its life. Above it, Socket.IO only sees sessions opening, [`Payload`]s arriving
//! and sessions closing, and hands back payloads to send; everything about transports,
//! heartbeats and buffering stays in this module, as engineioxide keeps it apart from
//! socketioxide.
//!
//! [`Engine`] holds every session and is the only entry point: requests and WebSocket messages
//! in, [`EngineEvent`]s, answers and deadlines out, time passed in, like
//! [`Connection`](crate::Connection).

mod close;
mod config;
mod direct;
mod engine;
mod event;
mod packet;
mod payload;
mod request;
mod session;
mod sid;
mod websocket;

pub use close::{CloseReason, TransportFault};
pub use config::EngineConfig;
pub use direct::DirectFrame;
pub use engine::{Engine, UnknownSession};
pub use event::EngineEvent;
pub use packet::{decode_polling, encode_polling, DecodeError, Packet, RECORD_SEPARATOR};
pub use payload::Payload;
pub use request::{Answer, Method, Query, Request, RequestError};
pub use session::TransportKind;
pub use sid::Sid;
pub use websocket::{WsInput, WsMessage, WsOutput};
