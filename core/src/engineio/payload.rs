//! What one Engine.IO message carries, as the layer above (Socket.IO) sees it.

use bytes::Bytes;

/// The payload of one Engine.IO `message` packet (type 4).
///
/// Both variants hold reference-counted [`Bytes`]: a broadcast is encoded once and every
/// recipient's queue holds a handle to the same bytes, so fan-out costs no copy per recipient.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Payload {
    /// A text message; always valid UTF-8.
    Text(Bytes),
    /// A binary message (a Socket.IO attachment, for instance).
    Binary(Bytes),
}

impl Payload {
    /// A text payload.
    pub fn text(text: impl Into<String>) -> Payload {
        Payload::Text(Bytes::from(text.into()))
    }

    /// The text, if this is a text payload.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            // Text payloads are built only from `str`s or validated bytes.
            Payload::Text(bytes) => std::str::from_utf8(bytes).ok(),
            Payload::Binary(_) => None,
        }
    }

    /// The payload's length in bytes.
    pub fn len(&self) -> usize {
        match self {
            Payload::Text(bytes) | Payload::Binary(bytes) => bytes.len(),
        }
    }

    /// Whether the payload has no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
