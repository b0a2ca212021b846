//! Streaming decoder of client frames into messages.

use super::ProtocolError;

/// A close frame's payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CloseFrame<'a> {
    pub code: u16,
    pub reason: &'a str,
}

/// What the peer sent: a whole message or a control frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Incoming<'a> {
    Text(&'a str),
    Binary(&'a [u8]),
    Ping(&'a [u8]),
    Pong(&'a [u8]),
    /// `None` for an empty close payload (no status code).
    Close(Option<CloseFrame<'a>>),
}

/// Decodes masked client frames incrementally, in any chunking.
#[derive(Debug, Default)]
pub struct MessageDecoder {
    _todo: (),
}

impl MessageDecoder {
    /// A decoder that refuses messages over `max_message_bytes` (1009).
    pub fn new(max_message_bytes: usize) -> Self {
        let _ = max_message_bytes;
        todo!()
    }

    /// Consumes bytes from the front of `input` until one item is complete or `input` is used up.
    /// Returns how many bytes were consumed and the item, if one completed. After an error the
    /// decoder is done and consumes nothing more.
    pub fn decode(&mut self, input: &[u8]) -> (usize, Option<Result<Incoming<'_>, ProtocolError>>) {
        let _ = input;
        todo!()
    }

    /// Frees buffers kept for the next message, for a connection that went quiet.
    pub fn release_memory(&mut self) {
        todo!()
    }
}
