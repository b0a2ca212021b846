//! Several gif-chat instances, and Node socket.io servers, sharing broadcasts through Redis:
//! the wire format of `@socket.io/redis-adapter` 8.x in its sharded mode, as pure data (SPEC
//! M1–M3). No socket here: a runtime's Redis bridge sends the commands and payloads this module
//! computes.
//!
//! # The format, as read in the packages' source
//!
//! Read in `@socket.io/redis-adapter` 8.3.0 (`dist/sharded-adapter.js`, `dist/util.js`),
//! `socket.io-adapter` 2.5.9 (`dist/cluster-adapter.js`, `dist/in-memory-adapter.js`) and
//! `notepack.io` 3.0.1, and checked against bytes the real code published
//! (`tests/peers/redis-adapter-vectors/`).
//!
//! - **Channels** (prefix `socket.io` by default, [`Channels`]): `socket.io#/chat#` for the
//!   namespace, subscribed by every instance; `socket.io#/chat#<uid>#` for replies to the
//!   instance `uid`; `socket.io#/chat#<room>#` for a room, subscribed (`SSUBSCRIBE`) when the
//!   first local socket joins the room and unsubscribed when the last leaves (the default
//!   `subscriptionMode: "dynamic"`), except a socket's own room (a room named by a local socket's
//!   id), which never gets a channel. Nothing is published to Redis with a plain `PUBLISH`.
//! - **Messages** ([`Message`]): `{"type", "data", "uid", "nsp"}`, in that key order. Types
//!   ([`MessageType`]): INITIAL_HEARTBEAT 1, HEARTBEAT 2, BROADCAST 3, SOCKETS_JOIN 4,
//!   SOCKETS_LEAVE 5, DISCONNECT_SOCKETS 6, FETCH_SOCKETS 7, FETCH_SOCKETS_RESPONSE 8,
//!   SERVER_SIDE_EMIT 9, SERVER_SIDE_EMIT_RESPONSE 10, BROADCAST_CLIENT_COUNT 11,
//!   BROADCAST_ACK 12, ADAPTER_CLOSE 13 (1, 2 and 13 belong to the heartbeat variant, which the
//!   sharded adapter does not use). A BROADCAST's data is `{"packet": {"type": 2, "data": [event,
//!   ...args]}, "requestId"?, "opts": {"rooms": [...], "except": [...], "flags": {...}}}`; the
//!   packet has no `nsp` and no `id` yet (the adapter publishes before it fills them in).
//!   Requests with answers carry a `requestId` (16 hex digits); answers go to the requester's reply
//!   channel.
//! - **Encoding**: JSON (`JSON.stringify`) unless the message is of a type that may carry binary
//!   (BROADCAST, BROADCAST_ACK, FETCH_SOCKETS_RESPONSE, SERVER_SIDE_EMIT,
//!   SERVER_SIDE_EMIT_RESPONSE) and does; then msgpack by notepack.io, buffers as `bin`, strings
//!   as `str`. A receiver takes a payload whose first byte is `{` (0x7b) for JSON, anything else
//!   for msgpack (a msgpack message starts with a fixmap byte, 0x84).
//! - **Channel of a request** ([`Channels::for_message`]): a BROADCAST without `requestId` to
//!   exactly one room goes on that room's channel, unless the room's name is 20 UTF-16 code units
//!   long (the adapter takes it for a socket id, which has no channel); every other request,
//!   broadcasts to the namespace, to several rooms or with acks included, goes on the namespace
//!   channel.
//! - **Own messages**: an instance hears its own publishes on the channels it is subscribed to,
//!   and drops every message whose `uid` is its own, and every message of another `nsp`.
//! - **Offsets**: the sharded adapter's publish returns `""` as the offset and nothing on the
//!   wire carries one; a Node server with connection state recovery appends that empty offset
//!   (or, for a received broadcast, `undefined`, a `null` argument) to the packets it delivers.
//!
//! Differences from the reading: messages carry `nsp` too, and receivers filter on it;
//! `requestId` makes a single-room broadcast (with ack) go on the namespace channel; the 20-character
//! rule counts UTF-16 units, not bytes or chars; Node does subscribe to a room whose *name* is 20
//! characters long (only a local socket's own id is skipped), though no adapter publishes there.
//!
//! # The pieces
//!
//! [`Message`] encodes and decodes; [`Channels`] names channels; [`ClusterNode`] keeps one
//! instance's subscriptions in step with its rooms and turns broadcasts into [`Publish`]es and
//! received payloads into messages; [`options_for`], [`ClusterNode::publish_emit`] and
//! [`delivery`] translate between the Socket.IO server's emits and the cluster's broadcasts;
//! [`RecoveryKeys`] and [`RecoveryCommand`] are what gif-chat keeps in Redis for connection state
//! recovery across instances (M5), which the adapter does not do.

mod channel;
mod message;
mod msgpack;
mod node;
mod recovery;
mod route;

pub use channel::{looks_like_socket_id, Channels, DEFAULT_PREFIX};
pub use message::{
    Body, Broadcast, Data, DecodeError, EventPacket, Flags, Message, MessageType, Options,
};
pub use msgpack::MsgpackError;
pub use node::{ClusterNode, Publish, Subscription, Uid};
pub use recovery::{
    LookupAnswer, PacketEntry, RecoveryCommand, RecoveryKeys, SessionRecord, KEY_PREFIX,
};
pub use route::{delivery, options_for, Delivery, LocalSockets, ServerSockets};

#[cfg(test)]
mod tests;
