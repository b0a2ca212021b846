//! What the layer above (Socket.IO) learns about sessions.
//!
//! Its own file because both the [`Engine`](super::Engine) and each session produce these: kept
//! beside either, the other would have to reach back into it.

use std::net::IpAddr;

use super::close::CloseReason;
use super::{Payload, Sid};

/// What the layer above (Socket.IO) learns about sessions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EngineEvent {
    /// A handshake opened a session.
    Opened(Sid),
    /// The client sent a message.
    Message(Sid, Payload),
    /// The session moved from polling to WebSocket.
    Upgraded(Sid),
    /// The session is over; sending to it does nothing from now on. The address is the one it
    /// was opened from ([`Engine::set_client`](super::Engine::set_client)), for the log lines
    /// of the layers above, which outlive the session by one event.
    Closed(Sid, CloseReason, IpAddr),
}
