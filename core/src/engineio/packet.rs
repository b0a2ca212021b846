//! Engine.IO v4 packets and the two ways they travel: one per WebSocket message, or many joined
//! in one HTTP long-polling body.
//!
//! A packet is a type digit (`0` open … `6` noop) followed by its data. Over WebSocket a binary
//! message is a `message` packet with no digit. In a polling body, packets are joined by the
//! record separator `\x1e` and a binary packet is written `b` followed by its base64, so the body
//! stays text. Decoding borrows from the input [`Bytes`] (no copy for text) and never panics:
//! every malformed input is a [`DecodeError`].

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use bytes::{BufMut, Bytes, BytesMut};

use super::websocket::WsMessage;
use super::Payload;

/// Separates packets in a polling body.
pub const RECORD_SEPARATOR: u8 = 0x1e;

/// One Engine.IO packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Packet {
    /// `0`: the handshake, carrying its JSON (server to client only).
    Open(Bytes),
    /// `1`: the session ends.
    Close,
    /// `2`: a heartbeat ping (the server's), or `2probe` opening an upgrade (the client's).
    Ping(Bytes),
    /// `3`: the answer to a ping; `3probe` answers the probe.
    Pong(Bytes),
    /// `4`: a message for the layer above.
    Message(Payload),
    /// `5`: the client completes the upgrade to WebSocket.
    Upgrade,
    /// `6`: nothing; releases a pending polling GET during an upgrade.
    Noop,
}

/// Why bytes are not an Engine.IO packet or payload.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// An empty packet (an empty message, or two separators in a row).
    #[error("empty packet")]
    Empty,
    /// The first character is not a packet type.
    #[error("unknown packet type {0:#04x}")]
    UnknownType(u8),
    /// A text packet or polling body that is not UTF-8.
    #[error("text is not UTF-8")]
    InvalidUtf8,
    /// A `b` packet whose base64 does not decode.
    #[error("invalid base64 in a binary packet")]
    InvalidBase64,
    /// More bytes than the configured maximum payload.
    #[error("payload of {len} bytes is over the maximum of {max}")]
    TooLarge {
        /// The input's length.
        len: usize,
        /// The maximum allowed.
        max: usize,
    },
}

impl Packet {
    /// The packet's type digit.
    pub fn type_digit(&self) -> u8 {
        match self {
            Packet::Open(_) => b'0',
            Packet::Close => b'1',
            Packet::Ping(_) => b'2',
            Packet::Pong(_) => b'3',
            Packet::Message(_) => b'4',
            Packet::Upgrade => b'5',
            Packet::Noop => b'6',
        }
    }

    fn data(&self) -> Bytes {
        match self {
            Packet::Open(data) | Packet::Ping(data) | Packet::Pong(data) => data.clone(),
            Packet::Message(Payload::Text(data) | Payload::Binary(data)) => data.clone(),
            Packet::Close | Packet::Upgrade | Packet::Noop => Bytes::new(),
        }
    }

    /// The packet as one WebSocket message.
    pub fn to_ws_message(&self) -> WsMessage {
        match self {
            Packet::Message(Payload::Binary(data)) => WsMessage::Binary(data.clone()),
            other => WsMessage::Text {
                packet_type: other.type_digit(),
                data: other.data(),
            },
        }
    }

    /// How many bytes the packet costs in an output queue: its length over WebSocket (a
    /// polling body adds a separator, and a third for base64, which the high-water mark
    /// does not need to be exact about).
    pub fn wire_len(&self) -> usize {
        self.to_ws_message().len()
    }

    /// Decodes a text WebSocket message (or one record of a polling body).
    pub fn decode_text(text: Bytes) -> Result<Packet, DecodeError> {
        if simdutf8::basic::from_utf8(&text).is_err() {
            return Err(DecodeError::InvalidUtf8);
        }
        Packet::decode_utf8(text)
    }

    /// Decodes a text packet already known to be UTF-8.
    fn decode_utf8(text: Bytes) -> Result<Packet, DecodeError> {
        let Some(&first) = text.first() else {
            return Err(DecodeError::Empty);
        };
        let data = text.slice(1..);
        Ok(match first {
            b'0' => Packet::Open(data),
            b'1' => Packet::Close,
            b'2' => Packet::Ping(data),
            b'3' => Packet::Pong(data),
            // `data` is a suffix of valid UTF-8 after a one-byte ASCII digit: still valid.
            b'4' => Packet::Message(Payload::Text(data)),
            b'5' => Packet::Upgrade,
            b'6' => Packet::Noop,
            other => return Err(DecodeError::UnknownType(other)),
        })
    }

    /// Decodes a binary WebSocket message: always a `message` packet.
    pub fn decode_binary(data: Bytes) -> Packet {
        Packet::Message(Payload::Binary(data))
    }

    /// Appends the packet as a polling body record (without separator).
    fn encode_polling_into(&self, out: &mut BytesMut) {
        match self {
            Packet::Message(Payload::Binary(data)) => {
                out.put_u8(b'b');
                let start = out.len();
                let encoded_len = data.len().div_ceil(3) * 4;
                out.resize(start + encoded_len, 0);
                // The buffer was sized for exactly this encoding.
                let written = BASE64
                    .encode_slice(data, &mut out[start..])
                    .unwrap_or_default();
                out.truncate(start + written);
            }
            other => {
                out.put_u8(other.type_digit());
                out.put_slice(&other.data());
            }
        }
    }
}

/// Joins packets into one polling body (`\x1e` between them, binary as `b<base64>`).
pub fn encode_polling<'a>(packets: impl IntoIterator<Item = &'a Packet>) -> Bytes {
    let mut out = BytesMut::new();
    for (i, packet) in packets.into_iter().enumerate() {
        if i > 0 {
            out.put_u8(RECORD_SEPARATOR);
        }
        packet.encode_polling_into(&mut out);
    }
    out.freeze()
}

/// Splits a polling body into packets. The body must be UTF-8 and at most `max_payload` bytes;
/// the first malformed record fails the whole body (the reference parser stops there too).
pub fn decode_polling(body: Bytes, max_payload: usize) -> Result<Vec<Packet>, DecodeError> {
    if body.len() > max_payload {
        return Err(DecodeError::TooLarge {
            len: body.len(),
            max: max_payload,
        });
    }
    if simdutf8::basic::from_utf8(&body).is_err() {
        return Err(DecodeError::InvalidUtf8);
    }
    let mut packets = Vec::new();
    let mut start = 0;
    // The separator is ASCII, so every record is itself valid UTF-8.
    for end in separators(&body).chain(std::iter::once(body.len())) {
        let record = body.slice(start..end);
        start = end + 1;
        packets.push(match record.first() {
            Some(b'b') => {
                let data = BASE64
                    .decode(&record[1..])
                    .map_err(|_| DecodeError::InvalidBase64)?;
                Packet::Message(Payload::Binary(Bytes::from(data)))
            }
            _ => Packet::decode_utf8(record)?,
        });
    }
    Ok(packets)
}

fn separators(body: &[u8]) -> impl Iterator<Item = usize> + '_ {
    body.iter()
        .enumerate()
        .filter(|(_, &b)| b == RECORD_SEPARATOR)
        .map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    #[test]
    fn every_packet_type_decodes_from_its_digit() {
        assert_eq!(
            Packet::decode_text(text("0{}")),
            Ok(Packet::Open(text("{}")))
        );
        assert_eq!(Packet::decode_text(text("1")), Ok(Packet::Close));
        assert_eq!(
            Packet::decode_text(text("2probe")),
            Ok(Packet::Ping(text("probe")))
        );
        assert_eq!(
            Packet::decode_text(text("3")),
            Ok(Packet::Pong(Bytes::new()))
        );
        assert_eq!(
            Packet::decode_text(text("4héllo")),
            Ok(Packet::Message(Payload::text("héllo")))
        );
        assert_eq!(Packet::decode_text(text("5")), Ok(Packet::Upgrade));
        assert_eq!(Packet::decode_text(text("6")), Ok(Packet::Noop));
        assert_eq!(
            Packet::decode_text(text("abc")),
            Err(DecodeError::UnknownType(b'a'))
        );
        assert_eq!(Packet::decode_text(Bytes::new()), Err(DecodeError::Empty));
        assert_eq!(
            Packet::decode_text(Bytes::from_static(b"4\xff")),
            Err(DecodeError::InvalidUtf8)
        );
    }

    #[test]
    fn a_polling_body_round_trips_text_and_binary() {
        let packets = vec![
            Packet::Message(Payload::text("hello")),
            Packet::Message(Payload::Binary(Bytes::from_static(&[1, 2, 3, 4]))),
            Packet::Ping(Bytes::new()),
        ];
        let body = encode_polling(&packets);
        assert_eq!(&body[..], b"4hello\x1ebAQIDBA==\x1e2");
        assert_eq!(decode_polling(body, 1000), Ok(packets));
    }

    #[test]
    fn a_bad_polling_body_is_a_typed_error() {
        assert_eq!(
            decode_polling(text("4a\x1e\x1e4b"), 100),
            Err(DecodeError::Empty)
        );
        assert_eq!(
            decode_polling(text("b!!"), 100),
            Err(DecodeError::InvalidBase64)
        );
        assert_eq!(
            decode_polling(text("4hello"), 3),
            Err(DecodeError::TooLarge { len: 6, max: 3 })
        );
        assert_eq!(decode_polling(Bytes::new(), 3), Err(DecodeError::Empty));
    }

    #[test]
    fn websocket_messages_keep_the_digit_apart_from_the_shared_data() {
        let shared = Bytes::from_static(b"hi");
        let message = Packet::Message(Payload::Text(shared.clone())).to_ws_message();
        assert_eq!(message.to_vec(), b"4hi");
        match message {
            WsMessage::Text { data, .. } => assert_eq!(data.as_ptr(), shared.as_ptr()),
            WsMessage::Binary(_) => panic!("a text payload became binary"),
        }
        assert_eq!(
            Packet::Message(Payload::Binary(shared.clone())).to_ws_message(),
            WsMessage::Binary(shared)
        );
    }
}
