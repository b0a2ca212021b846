//! Socket.IO protocol v5 packets: the text header of every packet, and its binary attachments.
//!
//! A packet travels as one Engine.IO text message, `<type>[<n>-][/<nsp>,][<id>][<json>]`,
//! followed, for BINARY_EVENT and BINARY_ACK, by `n` Engine.IO binary messages whose bytes
//! replace the placeholders `{"_placeholder":true,"num":i}` in the JSON. The decoder follows
//! socket.io-parser's rules (which payload each type accepts, reserved event names) so that a
//! packet the reference server rejects is rejected here too, and it returns a typed error for
//! any input instead of panicking: the caller closes the session on an error.
//!
//! Attachments are not spliced into the JSON: arguments stay as received, placeholders
//! included, with the attachments beside them ([`Args`]). An echo therefore re-encodes to the
//! client's own bytes, and a broadcast shares the attachment [`Bytes`] with every recipient.

use bytes::Bytes;
use serde_json::Value;

/// Event names a client may not use: the reference parser keeps them for its own events.
pub(crate) const RESERVED_EVENTS: [&str; 6] = [
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// The seven Socket.IO packet types, numbered as on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PacketType {
    Connect = 0,
    Disconnect = 1,
    Event = 2,
    Ack = 3,
    ConnectError = 4,
    BinaryEvent = 5,
    BinaryAck = 6,
}

impl PacketType {
    fn from_digit(c: u8) -> Option<PacketType> {
        Some(match c {
            b'0' => PacketType::Connect,
            b'1' => PacketType::Disconnect,
            b'2' => PacketType::Event,
            b'3' => PacketType::Ack,
            b'4' => PacketType::ConnectError,
            b'5' => PacketType::BinaryEvent,
            b'6' => PacketType::BinaryAck,
            _ => return None,
        })
    }

    /// Whether binary attachments follow a packet of this type.
    pub fn is_binary(self) -> bool {
        matches!(self, PacketType::BinaryEvent | PacketType::BinaryAck)
    }

    fn digit(self) -> u8 {
        b'0' + self as u8
    }
}

/// Why a text message is not a Socket.IO packet. Any of them closes the session.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PacketError {
    #[error("empty packet")]
    Empty,
    #[error("unknown packet type")]
    UnknownType,
    #[error("illegal attachment count")]
    BadAttachmentCount,
    #[error("more than {0} attachments")]
    TooManyAttachments(usize),
    #[error("ack id out of range")]
    BadAckId,
    #[error("payload is not JSON")]
    NotJson,
    #[error("invalid payload for a {0:?} packet")]
    InvalidPayload(PacketType),
    #[error("placeholder for a missing attachment")]
    BadPlaceholder,
    #[error("binary message outside a binary packet")]
    UnexpectedBinary,
    #[error("text message while attachments were awaited")]
    MissingAttachments,
    #[error("attachments larger than {0} bytes")]
    AttachmentsTooLarge(usize),
}

/// A decoded packet header: everything in the text message.
#[derive(Clone, Debug, PartialEq)]
pub struct Packet {
    pub kind: PacketType,
    /// Binary attachments that follow (0 unless `kind.is_binary()`).
    pub attachments: usize,
    /// `/` when the message names none.
    pub namespace: String,
    pub id: Option<u64>,
    pub data: Option<Value>,
}

impl Packet {
    /// Decodes one text message; `max_attachments` bounds what a client may announce.
    pub fn decode(text: &str, max_attachments: usize) -> Result<Packet, PacketError> {
        let bytes = text.as_bytes();
        let kind = PacketType::from_digit(*bytes.first().ok_or(PacketError::Empty)?)
            .ok_or(PacketError::UnknownType)?;
        let mut i = 1;
        let mut attachments = 0;
        if kind.is_binary() {
            let start = i;
            while bytes.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            if i == start || bytes.get(i) != Some(&b'-') {
                return Err(PacketError::BadAttachmentCount);
            }
            attachments = text[start..i]
                .parse::<usize>()
                .map_err(|_| PacketError::TooManyAttachments(max_attachments))?;
            if attachments > max_attachments {
                return Err(PacketError::TooManyAttachments(max_attachments));
            }
            i += 1;
        }
        let mut namespace = "/";
        if bytes.get(i) == Some(&b'/') {
            let start = i;
            while i < bytes.len() && bytes[i] != b',' {
                i += 1;
            }
            namespace = &text[start..i];
            if i < bytes.len() {
                i += 1; // the ','
            }
        }
        let mut id = None;
        if bytes.get(i).is_some_and(u8::is_ascii_digit) {
            let start = i;
            while bytes.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            id = Some(text[start..i].parse().map_err(|_| PacketError::BadAckId)?);
        }
        let data = if i < bytes.len() {
            let value: Value =
                serde_json::from_str(&text[i..]).map_err(|_| PacketError::NotJson)?;
            if !payload_is_valid(kind, &value) {
                return Err(PacketError::InvalidPayload(kind));
            }
            if kind.is_binary() && !placeholders_are_valid(&value, attachments) {
                return Err(PacketError::BadPlaceholder);
            }
            Some(value)
        } else if matches!(kind, PacketType::Event | PacketType::BinaryEvent) {
            // The reference parser lets it through, to emit an event without a name; no app
            // could handle that, so it is as invalid as `[]`.
            return Err(PacketError::InvalidPayload(kind));
        } else {
            None
        };
        Ok(Packet {
            kind,
            attachments,
            namespace: namespace.to_owned(),
            id,
            data,
        })
    }
}

/// socket.io-parser's `isPayloadValid`, the rule for what JSON each type may carry.
fn payload_is_valid(kind: PacketType, value: &Value) -> bool {
    match kind {
        PacketType::Connect => value.is_object(),
        PacketType::Disconnect => false,
        PacketType::ConnectError => value.is_object() || value.is_string(),
        PacketType::Event | PacketType::BinaryEvent => match value.as_array().map(|a| a.first()) {
            Some(Some(Value::Number(_))) => true,
            Some(Some(Value::String(name))) => !RESERVED_EVENTS.contains(&name.as_str()),
            _ => false,
        },
        PacketType::Ack | PacketType::BinaryAck => value.is_array(),
    }
}

/// Whether a value is a placeholder object, and for which attachment.
fn placeholder_num(value: &Value) -> Option<Option<u64>> {
    let object = value.as_object()?;
    if object.get("_placeholder") != Some(&Value::Bool(true)) {
        return None;
    }
    Some(object.get("num").and_then(Value::as_u64))
}

/// Every placeholder must name an attachment that will arrive (the reference parser throws
/// "illegal attachments" otherwise). serde_json's recursion limit bounds the depth.
fn placeholders_are_valid(value: &Value, attachments: usize) -> bool {
    if let Some(num) = placeholder_num(value) {
        return num.is_some_and(|n| n < attachments as u64);
    }
    match value {
        Value::Array(items) => items.iter().all(|v| placeholders_are_valid(v, attachments)),
        Value::Object(map) => map.values().all(|v| placeholders_are_valid(v, attachments)),
        _ => true,
    }
}

/// The arguments of an event or an ack: JSON values, where binary data appears as placeholders
/// `{"_placeholder":true,"num":i}` standing for `attachments[i]`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Args {
    pub values: Vec<Value>,
    pub attachments: Vec<Bytes>,
}

impl Args {
    /// Plain JSON arguments, no binary data.
    pub fn json(values: Vec<Value>) -> Args {
        Args {
            values,
            attachments: Vec::new(),
        }
    }

    /// Adds binary data as an attachment and returns the placeholder to put among the values.
    pub fn attach(&mut self, bytes: Bytes) -> Value {
        let num = self.attachments.len();
        self.attachments.push(bytes);
        serde_json::json!({"_placeholder": true, "num": num})
    }

    /// The attachment a value stands for, if it is a placeholder for one of ours.
    pub fn attachment(&self, value: &Value) -> Option<&Bytes> {
        let num = placeholder_num(value)??;
        self.attachments.get(usize::try_from(num).ok()?)
    }
}

/// Writes the header of a packet: type, attachment count, namespace and ack id.
fn write_header(
    out: &mut Vec<u8>,
    kind: PacketType,
    attachments: usize,
    namespace: &str,
    id: Option<u64>,
) {
    use std::io::Write;
    let kind = match (kind, attachments > 0) {
        (PacketType::Event, true) => PacketType::BinaryEvent,
        (PacketType::Ack, true) => PacketType::BinaryAck,
        (kind, _) => kind,
    };
    out.push(kind.digit());
    // Writing into a Vec cannot fail.
    if kind.is_binary() {
        let _ = write!(out, "{attachments}-");
    }
    if namespace != "/" {
        out.extend_from_slice(namespace.as_bytes());
        out.push(b',');
    }
    if let Some(id) = id {
        let _ = write!(out, "{id}");
    }
}

/// Room for a short chat line in the first allocation (serde_json's `to_vec` starts at 128
/// too): with less, a 100-byte EVENT grew its buffer twice, which made encoding it 1.8× what
/// serde_json takes for the same value (`cargo bench --bench socketio_packet`).
const EVENT_CAPACITY: usize = 128;

fn push_json(out: &mut Vec<u8>, value: &Value) {
    // Serialising a `Value` into a Vec cannot fail: its keys are strings.
    let _ = serde_json::to_writer(&mut *out, value);
}

/// Encodes an EVENT (BINARY_EVENT when `args` has attachments): `[name, ...values, offset?]`.
/// The recovery offset, when given, is the extra last argument socket.io 4.6+ appends.
pub fn encode_event(
    namespace: &str,
    id: Option<u64>,
    name: &str,
    args: &Args,
    offset: Option<&str>,
) -> String {
    let mut out = Vec::with_capacity(EVENT_CAPACITY + name.len() + namespace.len());
    write_header(
        &mut out,
        PacketType::Event,
        args.attachments.len(),
        namespace,
        id,
    );
    out.push(b'[');
    let _ = serde_json::to_writer(&mut out, name);
    for value in &args.values {
        out.push(b',');
        push_json(&mut out, value);
    }
    if let Some(offset) = offset {
        out.push(b',');
        let _ = serde_json::to_writer(&mut out, offset);
    }
    out.push(b']');
    into_string(out)
}

/// Encodes an ACK (BINARY_ACK when `args` has attachments): `<id>[...values]`.
pub fn encode_ack(namespace: &str, id: u64, args: &Args) -> String {
    let mut out = Vec::with_capacity(EVENT_CAPACITY + namespace.len());
    write_header(
        &mut out,
        PacketType::Ack,
        args.attachments.len(),
        namespace,
        Some(id),
    );
    out.push(b'[');
    for (i, value) in args.values.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_json(&mut out, value);
    }
    out.push(b']');
    into_string(out)
}

/// Encodes a packet of any type with an optional JSON payload (CONNECT answers, DISCONNECT,
/// CONNECT_ERROR).
pub fn encode(kind: PacketType, namespace: &str, data: Option<&Value>) -> String {
    let mut out = Vec::with_capacity(48 + namespace.len());
    write_header(&mut out, kind, 0, namespace, None);
    if let Some(data) = data {
        push_json(&mut out, data);
    }
    into_string(out)
}

fn into_string(out: Vec<u8>) -> String {
    // Only `str`s and serde_json output (UTF-8) were written.
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn decode(text: &str) -> Result<Packet, PacketError> {
        Packet::decode(text, 10)
    }

    /// A number is read as the nearest double, as `JSON.parse` reads it, so that re-encoding
    /// and reading it again gives the same value (found by the `eio_decoders` fuzz target:
    /// serde_json's default float parser is not correctly rounded for long literals).
    #[test]
    fn long_number_literals_survive_a_round_trip() {
        let text =
            r#"2["n",2.2444440444444444444,2.000000000000008289434133540621192220222222222222]"#;
        let packet = decode(text).unwrap();
        let data = packet.data.clone().unwrap();
        assert_eq!(data[1].as_f64(), Some(2.244_444_044_444_444_4));
        let again = decode(&encode(PacketType::Event, "/", Some(&data))).unwrap();
        assert_eq!(again.data, packet.data);
    }

    #[test]
    fn decodes_each_part_of_the_header() {
        let p = decode(r#"52-/chat,789["message",{"_placeholder":true,"num":1}]"#).unwrap();
        assert_eq!(p.kind, PacketType::BinaryEvent);
        assert_eq!(p.attachments, 2);
        assert_eq!(p.namespace, "/chat");
        assert_eq!(p.id, Some(789));
        assert_eq!(
            p.data,
            Some(json!(["message", {"_placeholder": true, "num": 1}]))
        );
        let p = decode("0/custom").unwrap();
        assert_eq!(
            (p.kind, p.namespace.as_str(), p.data),
            (PacketType::Connect, "/custom", None)
        );
        let p = decode(r#"0{"token":"123"}"#).unwrap();
        assert_eq!(p.namespace, "/");
        assert_eq!(p.data, Some(json!({"token": "123"})));
        assert_eq!(decode("1").unwrap().kind, PacketType::Disconnect);
    }

    #[test]
    fn rejects_what_the_reference_parser_rejects() {
        assert_eq!(decode(""), Err(PacketError::Empty));
        assert_eq!(decode("abc"), Err(PacketError::UnknownType));
        assert_eq!(decode("7"), Err(PacketError::UnknownType));
        assert_eq!(
            decode("2{}"),
            Err(PacketError::InvalidPayload(PacketType::Event))
        );
        assert_eq!(decode("2abc[\"x\"]"), Err(PacketError::NotJson));
        assert_eq!(
            decode("2[\"connect\"]"),
            Err(PacketError::InvalidPayload(PacketType::Event))
        );
        assert_eq!(
            decode("2[]"),
            Err(PacketError::InvalidPayload(PacketType::Event))
        );
        assert_eq!(
            decode("1{}"),
            Err(PacketError::InvalidPayload(PacketType::Disconnect))
        );
        assert_eq!(
            decode("0[]"),
            Err(PacketError::InvalidPayload(PacketType::Connect))
        );
        assert_eq!(
            decode("3{}"),
            Err(PacketError::InvalidPayload(PacketType::Ack))
        );
        assert_eq!(decode("5[\"x\"]"), Err(PacketError::BadAttachmentCount));
        assert_eq!(decode("5a-[\"x\"]"), Err(PacketError::BadAttachmentCount));
        assert_eq!(
            decode("511-[\"x\"]"),
            Err(PacketError::TooManyAttachments(10))
        );
        assert_eq!(
            decode(r#"51-["x",{"_placeholder":true,"num":1}]"#),
            Err(PacketError::BadPlaceholder)
        );
        assert_eq!(
            decode("299999999999999999999[\"x\"]"),
            Err(PacketError::BadAckId)
        );
    }

    #[test]
    fn encodes_as_the_reference_encoder() {
        let mut args = Args::json(vec![json!(1), json!("2")]);
        assert_eq!(
            encode_event("/", None, "hi", &args, None),
            r#"2["hi",1,"2"]"#
        );
        assert_eq!(
            encode_event("/nsp", Some(3), "hi", &args, Some("o1")),
            r#"2/nsp,3["hi",1,"2","o1"]"#
        );
        assert_eq!(encode_ack("/", 456, &args), r#"3456[1,"2"]"#);
        let placeholder = args.attach(Bytes::from_static(b"\x01"));
        args.values.push(placeholder);
        assert_eq!(
            encode_ack("/", 7, &args),
            r#"61-7[1,"2",{"_placeholder":true,"num":0}]"#
        );
        assert_eq!(
            args.attachment(&args.values[2]).map(|b| &b[..]),
            Some(&b"\x01"[..])
        );
        assert_eq!(
            encode(
                PacketType::ConnectError,
                "/random",
                Some(&json!({"message": "Invalid namespace"}))
            ),
            r#"4/random,{"message":"Invalid namespace"}"#
        );
        assert_eq!(encode(PacketType::Disconnect, "/", None), "1");
    }

    proptest! {
        #[test]
        fn never_panics_on_any_text(text in ".{0,64}") {
            let _ = decode(&text);
        }

        #[test]
        fn never_panics_on_packet_shaped_text(
            kind in 0u8..8,
            head in "[0-9-]{0,4}(/[a-z,]{0,4})?[0-9]{0,22}",
            json in r#"[\[\]{}",:0-9a-z_]{0,24}"#,
        ) {
            let _ = decode(&format!("{kind}{head}{json}"));
        }

        #[test]
        fn an_encoded_event_decodes_back(
            namespace in "(/[a-z]{1,8})?",
            id in proptest::option::of(any::<u64>()),
            name in "[a-z]{1,8}",
            values in proptest::collection::vec(any::<i64>(), 0..4),
        ) {
            let namespace = if namespace.is_empty() { "/".to_owned() } else { namespace };
            let args = Args::json(values.iter().map(|v| json!(v)).collect());
            let text = encode_event(&namespace, id, &name, &args, None);
            let packet = decode(&text).unwrap();
            prop_assert_eq!(packet.kind, PacketType::Event);
            prop_assert_eq!(packet.namespace, namespace);
            prop_assert_eq!(packet.id, id);
            let mut expected = vec![json!(name)];
            expected.extend(args.values);
            prop_assert_eq!(packet.data, Some(Value::Array(expected)));
        }
    }
}
