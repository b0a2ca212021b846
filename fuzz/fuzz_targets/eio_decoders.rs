//! The Engine.IO and Socket.IO decoders on arbitrary bytes.
//!
//! Layout: one option byte (bits 0-1 pick the maximum payload from [`MAX_PAYLOADS`], bits 2-3
//! the Socket.IO attachment limit from [`MAX_ATTACHMENTS`]), then the input. Every input goes
//! through every decoder, because a client reaches each of them with bytes of its choosing:
//!
//! - `Packet::decode_text` (a WebSocket text message) and `Packet::decode_binary`: what decodes
//!   re-encodes as a WebSocket message of `wire_len` bytes, no longer than the input, that
//!   decodes to the same packet; one whose data has no record separator round-trips through a
//!   polling body too;
//! - `decode_polling` (a POST body, `\x1e`-separated, binary as `b<base64>`): nothing over the
//!   maximum payload decodes; what decodes is at least one packet, and `encode_polling` gives a
//!   body no longer than the input (so within the bound) that decodes to the same packets;
//! - `socketio::packet::Packet::decode` on the input as text: the attachment count stays within
//!   its limit, and a packet the core's encoders can write (`encode`, `encode_event`,
//!   `encode_ack`) re-encodes to text that decodes to the same packet;
//! - `Query::parse` and `Sid::parse`, the request's own decoders: a parsed sid prints back as
//!   the input.
//!
//! Why: these are the only code paths where a remote peer chooses bytes before any session
//! state exists; a panic is a remote crash, and an encoder that does not invert its decoder
//! corrupts what the server forwards (echoes, broadcasts, acks).
#![no_main]

use bytes::Bytes;
use gif_chat_core::engineio::{
    decode_polling, encode_polling, DecodeError, Packet, Payload, Query, Sid, WsMessage,
    RECORD_SEPARATOR,
};
use gif_chat_core::socketio::packet::{self as sio, PacketType};
use gif_chat_core::socketio::Args;
use libfuzzer_sys::fuzz_target;

/// Small limits reach `TooLarge` with small inputs; the last is the default.
const MAX_PAYLOADS: [usize; 4] = [0, 16, 300, 1_000_000];
const MAX_ATTACHMENTS: [usize; 4] = [0, 1, 10, 1000];

fuzz_target!(|data: &[u8]| {
    let Some((&option, input)) = data.split_first() else {
        return;
    };
    let max_payload = MAX_PAYLOADS[usize::from(option & 3)];
    let max_attachments = MAX_ATTACHMENTS[usize::from(option >> 2 & 3)];
    let input = Bytes::copy_from_slice(input);

    if let Ok(packet) = Packet::decode_text(input.clone()) {
        check_packet(&packet, input.len());
    }
    check_packet(&Packet::decode_binary(input.clone()), input.len());
    check_polling(&input, max_payload);

    let text = String::from_utf8_lossy(&input);
    check_socketio(&text, max_attachments);
    let _ = Query::parse(&text);
    if let Some(sid) = Sid::parse(&text) {
        assert_eq!(sid.as_str(), text);
        assert_eq!(Sid::parse(sid.as_str()), Some(sid));
    }
});

/// A decoded Engine.IO packet re-encodes over WebSocket (and polling) to itself.
fn check_packet(packet: &Packet, input_len: usize) {
    let message = packet.to_ws_message();
    let bytes = Bytes::from(message.to_vec());
    assert_eq!(bytes.len(), message.len());
    assert_eq!(packet.wire_len(), message.len());
    // Close, upgrade and noop drop their data; nothing grows.
    assert!(bytes.len() <= input_len.max(1));
    let again = match message {
        WsMessage::Text { .. } => Packet::decode_text(bytes.clone()),
        WsMessage::Binary(_) => Ok(Packet::decode_binary(bytes.clone())),
    };
    assert_eq!(again.as_ref(), Ok(packet));

    // A text record cannot carry the separator through a polling body (the reference parser
    // has the same limit; Socket.IO's JSON escapes control characters, so it never sends one).
    let text_with_separator = matches!(packet, Packet::Message(Payload::Text(_)) | Packet::Open(_)
            | Packet::Ping(_) | Packet::Pong(_) if bytes.contains(&RECORD_SEPARATOR));
    if !text_with_separator {
        let body = encode_polling([packet]);
        assert_eq!(decode_polling(body, usize::MAX), Ok(vec![packet.clone()]));
    }
}

/// A polling body decodes within its bound, and what decodes re-encodes to itself.
fn check_polling(input: &Bytes, max_payload: usize) {
    match decode_polling(input.clone(), max_payload) {
        Ok(packets) => {
            assert!(input.len() <= max_payload);
            assert!(!packets.is_empty());
            let body = encode_polling(&packets);
            assert!(body.len() <= input.len(), "re-encoding grew the body");
            assert_eq!(decode_polling(body, max_payload), Ok(packets));
        }
        Err(DecodeError::TooLarge { len, max }) => {
            assert_eq!((len, max), (input.len(), max_payload));
            assert!(len > max);
        }
        Err(_) => assert!(input.len() <= max_payload, "an oversized body was parsed"),
    }
}

/// A decoded Socket.IO packet that the core's encoders can express re-encodes to itself.
fn check_socketio(text: &str, max_attachments: usize) {
    let Ok(packet) = sio::Packet::decode(text, max_attachments) else {
        return;
    };
    assert!(packet.attachments <= max_attachments);
    assert!(packet.attachments == 0 || packet.kind.is_binary());
    let Some(encoded) = reencode(&packet) else {
        return;
    };
    let again = sio::Packet::decode(&encoded, max_attachments)
        .unwrap_or_else(|e| panic!("{text:?} re-encoded as {encoded:?}, which fails: {e}"));
    // The encoders write a binary type only with attachments: `50-[...]` comes back as `2[...]`.
    let expected_kind = match (packet.kind, packet.attachments) {
        (PacketType::BinaryEvent, 0) => PacketType::Event,
        (PacketType::BinaryAck, 0) => PacketType::Ack,
        (kind, _) => kind,
    };
    assert_eq!(again.kind, expected_kind, "{text:?} -> {encoded:?}");
    assert_eq!(
        (&again.namespace, again.id, again.attachments, &again.data),
        (
            &packet.namespace,
            packet.id,
            packet.attachments,
            &packet.data
        ),
        "{text:?} -> {encoded:?}"
    );
}

/// The packet through the encoder the server would use for it, if one can write it exactly.
fn reencode(packet: &sio::Packet) -> Option<String> {
    // The attachments' bytes travel apart; only their count is in the text.
    let attachments = vec![Bytes::new(); packet.attachments];
    let items = packet.data.as_ref().and_then(|data| data.as_array());
    match packet.kind {
        PacketType::Connect | PacketType::Disconnect | PacketType::ConnectError => packet
            .id
            .is_none()
            .then(|| sio::encode(packet.kind, &packet.namespace, packet.data.as_ref())),
        PacketType::Event | PacketType::BinaryEvent => {
            // `encode_event` takes the name as a string; a numeric first element has no encoder.
            let (name, values) = items?.split_first()?;
            let args = Args {
                values: values.to_vec(),
                attachments,
            };
            let name = name.as_str()?;
            Some(sio::encode_event(
                &packet.namespace,
                packet.id,
                name,
                &args,
                None,
            ))
        }
        PacketType::Ack | PacketType::BinaryAck => {
            let args = Args {
                values: items?.clone(),
                attachments,
            };
            Some(sio::encode_ack(&packet.namespace, packet.id?, &args))
        }
    }
}
