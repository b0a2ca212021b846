//! Engine.IO protocol v4: the transport layer under Socket.IO.
//!
//! Engine.IO gives each client a session (a [`Sid`]) that outlives any one TCP connection: with
//! HTTP long-polling a session is spread over many requests, and it may move to a WebSocket in
//! the middle of its life. Above it, Socket.IO only sees sessions opening, [`Payload`]s arriving
//! and sessions closing, and hands back payloads to send; everything about transports,
//! heartbeats and buffering stays in this module, as engineioxide keeps it apart from
//! socketioxide.

mod payload;
mod sid;

pub use payload::Payload;
pub use sid::Sid;
