//! Why an Engine.IO session ends, as a type: the layer above logs it and may act on it (a
//! Socket.IO client that timed out is not one that said goodbye).

use std::fmt;

use super::packet::DecodeError;

/// Why a session ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CloseReason {
    /// The client sent a close packet (`1`).
    ClientClose,
    /// The session's WebSocket connection ended.
    TransportClose,
    /// The client broke the transport's rules.
    TransportError(TransportFault),
    /// No pong within the ping timeout.
    PingTimeout,
    /// The client sent something that is not Engine.IO.
    ParseError(DecodeError),
    /// A WebSocket message over the maximum payload.
    PayloadTooLarge {
        /// The message's length.
        len: usize,
    },
    /// Unsent output above the high-water mark (E7): the client does not keep up.
    BufferFull {
        /// The bytes queued when the mark was crossed.
        queued: usize,
    },
    /// The server closed it ([`Engine::close`](super::Engine::close)).
    ServerClose,
}

/// How a client broke the transport's rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransportFault {
    /// A second GET while one was pending.
    PollOverlap,
    /// The pending GET's connection closed before it was answered.
    PollAborted,
    /// The client sent a ping: in protocol v4 only the server pings.
    ClientPing,
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The first words are the reference server's reasons, so logs compare.
        match self {
            CloseReason::ClientClose => f.write_str("transport close (client sent close)"),
            CloseReason::TransportClose => f.write_str("transport close"),
            CloseReason::TransportError(TransportFault::PollOverlap) => {
                f.write_str("transport error (overlap from client)")
            }
            CloseReason::TransportError(TransportFault::PollAborted) => {
                f.write_str("transport error (poll connection closed prematurely)")
            }
            CloseReason::TransportError(TransportFault::ClientPing) => {
                f.write_str("transport error (invalid heartbeat direction)")
            }
            CloseReason::PingTimeout => f.write_str("ping timeout"),
            CloseReason::ParseError(error) => write!(f, "parse error ({error})"),
            CloseReason::PayloadTooLarge { len } => {
                write!(f, "transport error (message of {len} bytes too large)")
            }
            CloseReason::BufferFull { queued } => {
                write!(
                    f,
                    "buffer full ({queued} unsent bytes over the high-water mark)"
                )
            }
            CloseReason::ServerClose => f.write_str("forced close"),
        }
    }
}
