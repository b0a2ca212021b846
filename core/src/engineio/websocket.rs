//! What crosses a session's WebSocket: the messages the runtime decoded, the messages it should
//! send, and when it should close.
//!
//! One WebSocket message carries one packet, so no framing is needed beyond the type digit of a
//! text message; a binary message is a `message` packet as it is.

use bytes::Bytes;

/// One WebSocket message carrying one packet, as a runtime writes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WsMessage {
    /// A text message: the packet type digit, then `data`. The two are kept apart so that a
    /// shared payload is written (vectored, or into the frame buffer) without a copy per
    /// recipient.
    Text {
        /// The packet type as its ASCII digit (`b'0'`..=`b'6'`).
        packet_type: u8,
        /// The rest of the message.
        data: Bytes,
    },
    /// A binary message: a `message` packet's bytes as they are.
    Binary(Bytes),
}

impl WsMessage {
    /// The message's length on the wire (frame header excluded).
    pub fn len(&self) -> usize {
        match self {
            WsMessage::Text { data, .. } => 1 + data.len(),
            WsMessage::Binary(data) => data.len(),
        }
    }

    /// Whether the message is empty (never, for a text message).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether this is a text message.
    pub fn is_text(&self) -> bool {
        matches!(self, WsMessage::Text { .. })
    }

    /// The message's bytes in one buffer (a copy; for tests and simple writers).
    pub fn to_vec(&self) -> Vec<u8> {
        match self {
            WsMessage::Text { packet_type, data } => {
                let mut out = Vec::with_capacity(1 + data.len());
                out.push(*packet_type);
                out.extend_from_slice(data);
                out
            }
            WsMessage::Binary(data) => data.to_vec(),
        }
    }
}

/// A WebSocket message the runtime received on a session's WebSocket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WsInput {
    /// A text message.
    Text(Bytes),
    /// A binary message.
    Binary(Bytes),
}

impl WsInput {
    /// The message's length in bytes.
    pub fn len(&self) -> usize {
        match self {
            WsInput::Text(data) | WsInput::Binary(data) => data.len(),
        }
    }

    /// Whether the message is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What a session's WebSocket connection should do next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WsOutput {
    /// Send this message.
    Message(WsMessage),
    /// Close the WebSocket (a close frame, then the socket); the session no longer refers to it.
    Close,
}
