//! The messages instances exchange, and their two encodings, as socket.io-adapter's
//! `ClusterAdapter` and the sharded Redis adapter write them.
//!
//! Every message is an object `{"type": <n>, "data": {...}, "uid": <sender>, "nsp": <namespace>}`
//! (keys in that order; `data` absent for heartbeats). The data's keys and their order per type
//! are those of `cluster-adapter.js`, so that gif-chat's bytes are the adapter's bytes: a message
//! the adapter would encode as JSON is `JSON.stringify`'s output, one carrying binary is
//! notepack.io's msgpack (see [`super::msgpack`]).
//!
//! Binary data is held as Socket.IO attachments: the packet's arguments are an [`Args`], JSON
//! values with placeholders beside the bytes, the form the Socket.IO layer already uses, so a
//! client's BINARY_EVENT crosses the cluster without being rebuilt.

use bytes::Bytes;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Number, Value};

use super::msgpack::{self, MsgpackError};
use crate::socketio::Args;

/// The message types of socket.io-adapter's `MessageType`, numbered as on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MessageType {
    InitialHeartbeat = 1,
    Heartbeat = 2,
    Broadcast = 3,
    SocketsJoin = 4,
    SocketsLeave = 5,
    DisconnectSockets = 6,
    FetchSockets = 7,
    FetchSocketsResponse = 8,
    ServerSideEmit = 9,
    ServerSideEmitResponse = 10,
    BroadcastClientCount = 11,
    BroadcastAck = 12,
    AdapterClose = 13,
}

impl MessageType {
    fn from_number(n: u64) -> Option<MessageType> {
        use MessageType::*;
        Some(match n {
            1 => InitialHeartbeat,
            2 => Heartbeat,
            3 => Broadcast,
            4 => SocketsJoin,
            5 => SocketsLeave,
            6 => DisconnectSockets,
            7 => FetchSockets,
            8 => FetchSocketsResponse,
            9 => ServerSideEmit,
            10 => ServerSideEmitResponse,
            11 => BroadcastClientCount,
            12 => BroadcastAck,
            13 => AdapterClose,
            _ => return None,
        })
    }
}

/// One message between instances of a namespace.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    /// The sender's instance id (16 hex digits for the Node adapter; `"emitter"` for the
    /// Redis emitter). An instance drops its own messages by it.
    pub uid: String,
    /// The namespace, `"/chat"`; an instance drops messages of other namespaces.
    pub nsp: String,
    pub body: Body,
}

/// What a message says, by type.
#[derive(Clone, Debug, PartialEq)]
pub enum Body {
    /// Never sent by the sharded adapter (its heartbeat-less base class); decoded all the same.
    InitialHeartbeat,
    Heartbeat,
    /// Deliver a packet to the local sockets `opts` selects.
    Broadcast(Broadcast),
    /// Make the selected sockets join `rooms`.
    SocketsJoin {
        opts: Options,
        rooms: Vec<String>,
    },
    /// Make the selected sockets leave `rooms`.
    SocketsLeave {
        opts: Options,
        rooms: Vec<String>,
    },
    /// Disconnect the selected sockets (`close`: close the underlying connection too).
    DisconnectSockets {
        opts: Options,
        close: bool,
    },
    /// Describe the selected sockets, answered by [`Body::FetchSocketsResponse`].
    FetchSockets {
        opts: Options,
        request_id: String,
    },
    /// `sockets`: an array of `{id, handshake, rooms, data}`.
    FetchSocketsResponse {
        request_id: String,
        sockets: Data,
    },
    /// An event for the servers themselves (`io.serverSideEmit`); with a request id, each
    /// server answers with [`Body::ServerSideEmitResponse`].
    ServerSideEmit {
        request_id: Option<String>,
        packet: EventPacket,
    },
    /// `packet`: the argument the server's callback was called with (absent for `undefined`).
    ServerSideEmitResponse {
        request_id: String,
        packet: Option<Data>,
    },
    /// How many local clients a broadcast with ack reached.
    BroadcastClientCount {
        request_id: String,
        client_count: u64,
    },
    /// One client's acknowledgement of a broadcast with ack: its first argument.
    BroadcastAck {
        request_id: String,
        packet: Option<Data>,
    },
    AdapterClose,
}

/// A broadcast: an EVENT packet and the sockets it is for.
#[derive(Clone, Debug, PartialEq)]
pub struct Broadcast {
    pub packet: EventPacket,
    pub opts: Options,
    /// Set for a broadcast with acknowledgements: every instance answers with
    /// [`Body::BroadcastClientCount`] and then one [`Body::BroadcastAck`] per client ack.
    pub request_id: Option<String>,
}

/// An event: the name and arguments of `emit(name, ...args)`, on the wire the array
/// `[name, ...args]` (a broadcast wraps it as the packet `{"type": 2, "data": [...]}`).
#[derive(Clone, Debug, PartialEq)]
pub struct EventPacket {
    pub name: String,
    pub args: Args,
}

/// A JSON value whose binary parts are attachments (placeholders in `value`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Data {
    pub value: Value,
    pub attachments: Vec<Bytes>,
}

/// Which sockets a request is for (the adapter's `BroadcastOptions`): those in any of `rooms`
/// (every socket when empty) and in none of `except`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Options {
    #[serde(default)]
    pub rooms: Vec<String>,
    #[serde(default)]
    pub except: Vec<String>,
    #[serde(default)]
    pub flags: Flags,
}

/// The broadcast flags socket.io sets. Absent ones are not written; on the wire their order is
/// the order the application chained them in, written here in declaration order (a different
/// order decodes equal).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Flags {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compress: Option<bool>,
    /// A volatile packet may be dropped, and is not kept for connection state recovery.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volatile: Option<bool>,
    /// Only this instance's sockets: such a broadcast is never published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local: Option<bool>,
    /// Milliseconds to wait for acknowledgements (or fetchSockets answers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Number>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect_single_response: Option<bool>,
    /// gif-chat's own: the offset the emitting instance gave the packet, so that every
    /// gif-chat instance delivers it with the same one (SPEC M5, `recovery.rs`). Node's adapter
    /// carries flags it does not know and never shows them to its clients.
    #[serde(
        default,
        rename = "gifChatOffset",
        skip_serializing_if = "Option::is_none"
    )]
    pub offset: Option<String>,
}

impl Flags {
    pub fn is_volatile(&self) -> bool {
        self.volatile == Some(true)
    }

    pub fn is_local(&self) -> bool {
        self.local == Some(true)
    }
}

/// Why bytes are not a message of the adapter's.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("empty message")]
    Empty,
    #[error("invalid JSON message: {0}")]
    Json(#[from] serde_json::Error),
    #[error(transparent)]
    Msgpack(#[from] MsgpackError),
    #[error("unknown message type {0}")]
    UnknownType(u64),
    #[error("message type {0:?} without data")]
    MissingData(MessageType),
    #[error("broadcast packet of type {0}, not EVENT")]
    NotAnEvent(u8),
    #[error("event without a name")]
    NoEventName,
}

// The wire shapes, fields in the order cluster-adapter.js builds its objects.

#[derive(Serialize, Deserialize)]
struct Envelope {
    #[serde(rename = "type")]
    kind: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    data: Option<Value>,
    #[serde(default)]
    uid: String,
    #[serde(default)]
    nsp: String,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BroadcastWire {
    packet: PacketWire,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    request_id: Option<String>,
    opts: Options,
}

/// socket.io's packet object before the adapter adds `nsp`: publishing happens first.
#[derive(Serialize, Deserialize)]
struct PacketWire {
    #[serde(rename = "type")]
    kind: u8,
    data: Vec<Value>,
}

/// The EVENT packet type of socket.io-parser.
const EVENT: u8 = 2;

#[derive(Serialize, Deserialize)]
struct SocketsWire {
    opts: Options,
    rooms: Vec<String>,
}

#[derive(Serialize, Deserialize)]
struct DisconnectWire {
    opts: Options,
    close: bool,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FetchSocketsWire {
    opts: Options,
    request_id: String,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FetchSocketsResponseWire {
    request_id: String,
    sockets: Value,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ServerSideEmitWire {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    request_id: Option<String>,
    packet: Vec<Value>,
}

/// BROADCAST_ACK and SERVER_SIDE_EMIT_RESPONSE: one value, absent when `undefined`.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ValueResponseWire {
    request_id: String,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    packet: Option<Value>,
}

/// A key that is present is `Some`, even when its value is `null`.
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ClientCountWire {
    request_id: String,
    client_count: u64,
}

impl Message {
    /// The message's type.
    pub fn kind(&self) -> MessageType {
        match &self.body {
            Body::InitialHeartbeat => MessageType::InitialHeartbeat,
            Body::Heartbeat => MessageType::Heartbeat,
            Body::Broadcast(_) => MessageType::Broadcast,
            Body::SocketsJoin { .. } => MessageType::SocketsJoin,
            Body::SocketsLeave { .. } => MessageType::SocketsLeave,
            Body::DisconnectSockets { .. } => MessageType::DisconnectSockets,
            Body::FetchSockets { .. } => MessageType::FetchSockets,
            Body::FetchSocketsResponse { .. } => MessageType::FetchSocketsResponse,
            Body::ServerSideEmit { .. } => MessageType::ServerSideEmit,
            Body::ServerSideEmitResponse { .. } => MessageType::ServerSideEmitResponse,
            Body::BroadcastClientCount { .. } => MessageType::BroadcastClientCount,
            Body::BroadcastAck { .. } => MessageType::BroadcastAck,
            Body::AdapterClose => MessageType::AdapterClose,
        }
    }

    /// Decodes a message as the adapter's `onRawMessage` does: JSON when the first byte is
    /// `{`, msgpack otherwise.
    pub fn decode(bytes: &[u8]) -> Result<Message, DecodeError> {
        let (tree, attachments) = match bytes.first() {
            None => return Err(DecodeError::Empty),
            Some(b'{') => (serde_json::from_slice(bytes)?, Vec::new()),
            Some(_) => msgpack::decode(bytes)?,
        };
        Message::from_tree(tree, attachments)
    }

    /// Encodes a message as the adapter's `encode` does: msgpack when it carries binary data,
    /// JSON otherwise.
    pub fn encode(&self) -> Vec<u8> {
        let (tree, attachments) = self.to_tree();
        if msgpack::has_binary(&tree, &attachments) {
            msgpack::encode(&tree, &attachments)
        } else {
            // Serialising a `Value` cannot fail: its keys are strings.
            serde_json::to_vec(&tree).unwrap_or_default()
        }
    }

    fn from_tree(tree: Value, attachments: Vec<Bytes>) -> Result<Message, DecodeError> {
        let Envelope {
            kind,
            data,
            uid,
            nsp,
        } = serde_json::from_value(tree)?;
        let kind = MessageType::from_number(kind).ok_or(DecodeError::UnknownType(kind))?;
        // Each type reads its data once.
        let data = move || data.ok_or(DecodeError::MissingData(kind));
        let body = match kind {
            MessageType::InitialHeartbeat => Body::InitialHeartbeat,
            MessageType::Heartbeat => Body::Heartbeat,
            MessageType::AdapterClose => Body::AdapterClose,
            MessageType::Broadcast => {
                let wire: BroadcastWire = serde_json::from_value(data()?)?;
                if wire.packet.kind != EVENT {
                    return Err(DecodeError::NotAnEvent(wire.packet.kind));
                }
                Body::Broadcast(Broadcast {
                    packet: event(wire.packet.data, attachments)?,
                    opts: wire.opts,
                    request_id: wire.request_id,
                })
            }
            MessageType::SocketsJoin | MessageType::SocketsLeave => {
                let SocketsWire { opts, rooms } = serde_json::from_value(data()?)?;
                if kind == MessageType::SocketsJoin {
                    Body::SocketsJoin { opts, rooms }
                } else {
                    Body::SocketsLeave { opts, rooms }
                }
            }
            MessageType::DisconnectSockets => {
                let DisconnectWire { opts, close } = serde_json::from_value(data()?)?;
                Body::DisconnectSockets { opts, close }
            }
            MessageType::FetchSockets => {
                let FetchSocketsWire { opts, request_id } = serde_json::from_value(data()?)?;
                Body::FetchSockets { opts, request_id }
            }
            MessageType::FetchSocketsResponse => {
                let wire: FetchSocketsResponseWire = serde_json::from_value(data()?)?;
                Body::FetchSocketsResponse {
                    request_id: wire.request_id,
                    sockets: Data {
                        value: wire.sockets,
                        attachments,
                    },
                }
            }
            MessageType::ServerSideEmit => {
                let wire: ServerSideEmitWire = serde_json::from_value(data()?)?;
                Body::ServerSideEmit {
                    request_id: wire.request_id,
                    packet: event(wire.packet, attachments)?,
                }
            }
            MessageType::ServerSideEmitResponse | MessageType::BroadcastAck => {
                let wire: ValueResponseWire = serde_json::from_value(data()?)?;
                let request_id = wire.request_id;
                let packet = wire.packet.map(|value| Data { value, attachments });
                if kind == MessageType::BroadcastAck {
                    Body::BroadcastAck { request_id, packet }
                } else {
                    Body::ServerSideEmitResponse { request_id, packet }
                }
            }
            MessageType::BroadcastClientCount => {
                let wire: ClientCountWire = serde_json::from_value(data()?)?;
                Body::BroadcastClientCount {
                    request_id: wire.request_id,
                    client_count: wire.client_count,
                }
            }
        };
        Ok(Message { uid, nsp, body })
    }

    /// The message as the object the adapter builds, binary parts as placeholders for the
    /// returned attachments (only one field of a message can carry binary data).
    pub(crate) fn to_tree(&self) -> (Value, Vec<Bytes>) {
        fn value<T: Serialize>(wire: T) -> Value {
            // The wire shapes have string keys only: serialising cannot fail.
            serde_json::to_value(wire).unwrap_or(Value::Null)
        }
        let none = Vec::new;
        let (data, attachments) = match &self.body {
            Body::InitialHeartbeat | Body::Heartbeat | Body::AdapterClose => (None, none()),
            Body::Broadcast(broadcast) => (
                Some(value(BroadcastWire {
                    packet: PacketWire {
                        kind: EVENT,
                        data: event_array(&broadcast.packet),
                    },
                    request_id: broadcast.request_id.clone(),
                    opts: broadcast.opts.clone(),
                })),
                broadcast.packet.args.attachments.clone(),
            ),
            Body::SocketsJoin { opts, rooms } | Body::SocketsLeave { opts, rooms } => (
                Some(value(SocketsWire {
                    opts: opts.clone(),
                    rooms: rooms.clone(),
                })),
                none(),
            ),
            Body::DisconnectSockets { opts, close } => (
                Some(value(DisconnectWire {
                    opts: opts.clone(),
                    close: *close,
                })),
                none(),
            ),
            Body::FetchSockets { opts, request_id } => (
                Some(value(FetchSocketsWire {
                    opts: opts.clone(),
                    request_id: request_id.clone(),
                })),
                none(),
            ),
            Body::FetchSocketsResponse {
                request_id,
                sockets,
            } => (
                Some(value(FetchSocketsResponseWire {
                    request_id: request_id.clone(),
                    sockets: sockets.value.clone(),
                })),
                sockets.attachments.clone(),
            ),
            Body::ServerSideEmit { request_id, packet } => (
                Some(value(ServerSideEmitWire {
                    request_id: request_id.clone(),
                    packet: event_array(packet),
                })),
                packet.args.attachments.clone(),
            ),
            Body::ServerSideEmitResponse { request_id, packet }
            | Body::BroadcastAck { request_id, packet } => (
                Some(value(ValueResponseWire {
                    request_id: request_id.clone(),
                    packet: packet.as_ref().map(|data| data.value.clone()),
                })),
                packet
                    .as_ref()
                    .map(|data| data.attachments.clone())
                    .unwrap_or_default(),
            ),
            Body::BroadcastClientCount {
                request_id,
                client_count,
            } => (
                Some(value(ClientCountWire {
                    request_id: request_id.clone(),
                    client_count: *client_count,
                })),
                none(),
            ),
        };
        let tree = value(Envelope {
            kind: self.kind() as u64,
            data,
            uid: self.uid.clone(),
            nsp: self.nsp.clone(),
        });
        (tree, attachments)
    }
}

/// `[name, ...args]` as an event.
fn event(data: Vec<Value>, attachments: Vec<Bytes>) -> Result<EventPacket, DecodeError> {
    let mut values = data.into_iter();
    let Some(Value::String(name)) = values.next() else {
        return Err(DecodeError::NoEventName);
    };
    Ok(EventPacket {
        name,
        args: Args {
            values: values.collect(),
            attachments,
        },
    })
}

fn event_array(packet: &EventPacket) -> Vec<Value> {
    let mut data = Vec::with_capacity(1 + packet.args.values.len());
    data.push(Value::String(packet.name.clone()));
    data.extend(packet.args.values.iter().cloned());
    data
}
