//! One instance's side of a namespace in the cluster, as sans-IO state: which channels to be
//! subscribed to, what to publish where, and which incoming messages are for it.
//!
//! The owner (a runtime's Redis bridge) tells the node when local sockets join and leave rooms,
//! polls the SSUBSCRIBE/SUNSUBSCRIBE commands that follow ([`ClusterNode::poll_subscription`]),
//! SPUBLISHes the [`Publish`]es it is handed, and feeds every received payload to
//! [`ClusterNode::handle_message`]. As in the sharded adapter's "dynamic" mode, a room's channel
//! is subscribed while the instance has members there, so an instance hears none of the traffic
//! of rooms it has no member in (M3); a socket's own room (named by its id) has no channel, as
//! no adapter publishes on one.

use std::collections::{HashMap, HashSet, VecDeque};

use bytes::Bytes;

use super::channel::{Channels, DEFAULT_PREFIX};
use super::message::{Body, Broadcast, DecodeError, EventPacket, Message, Options};

/// An instance's id in the cluster: 16 lowercase hex digits, as the Node adapter draws its own
/// (`randomBytes(8).toString("hex")`). The owner supplies the randomness.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Uid(String);

impl Uid {
    pub fn from_random(bytes: [u8; 8]) -> Uid {
        use std::fmt::Write;
        let mut hex = String::with_capacity(16);
        for byte in bytes {
            // Writing into a String cannot fail.
            let _ = write!(hex, "{byte:02x}");
        }
        Uid(hex)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A change to the node's Redis subscriptions, in the order it must be sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Subscription {
    /// `SSUBSCRIBE channel`.
    Subscribe(String),
    /// `SUNSUBSCRIBE channel`.
    Unsubscribe(String),
}

/// `SPUBLISH channel payload`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Publish {
    pub channel: String,
    pub payload: Bytes,
}

/// One instance in one namespace of the cluster.
#[derive(Debug)]
pub struct ClusterNode {
    uid: Uid,
    nsp: String,
    channels: Channels,
    responses: String,
    /// Each room with local members, and those members' socket ids.
    rooms: HashMap<String, HashSet<String>>,
    changes: VecDeque<Subscription>,
}

impl ClusterNode {
    /// A node for namespace `nsp` (`"/chat"`) under the adapter's default channel prefix. Its
    /// first subscriptions are the namespace channel and its reply channel.
    pub fn new(uid: Uid, nsp: &str) -> ClusterNode {
        ClusterNode::with_prefix(uid, DEFAULT_PREFIX, nsp)
    }

    /// A node whose channels start with `prefix` (the adapter's `channelPrefix` option).
    pub fn with_prefix(uid: Uid, prefix: &str, nsp: &str) -> ClusterNode {
        let channels = Channels::new(prefix, nsp);
        let responses = channels.responses(uid.as_str());
        let changes = VecDeque::from([
            Subscription::Subscribe(channels.namespace().to_owned()),
            Subscription::Subscribe(responses.clone()),
        ]);
        ClusterNode {
            uid,
            nsp: nsp.to_owned(),
            channels,
            responses,
            rooms: HashMap::new(),
            changes,
        }
    }

    pub fn uid(&self) -> &Uid {
        &self.uid
    }

    pub fn channels(&self) -> &Channels {
        &self.channels
    }

    /// Local socket `socket` joined `room`. The first local member subscribes the room's channel;
    /// joining twice, or joining one's own room, changes nothing.
    pub fn join(&mut self, socket: &str, room: &str) {
        if socket == room {
            return;
        }
        let members = self.rooms.entry(room.to_owned()).or_default();
        if members.insert(socket.to_owned()) && members.len() == 1 {
            self.changes
                .push_back(Subscription::Subscribe(self.channels.room(room)));
        }
    }

    /// Local socket `socket` left `room`. The last local member's leaving unsubscribes it.
    pub fn leave(&mut self, socket: &str, room: &str) {
        let Some(members) = self.rooms.get_mut(room) else {
            return;
        };
        if members.remove(socket) && members.is_empty() {
            self.rooms.remove(room);
            self.changes
                .push_back(Subscription::Unsubscribe(self.channels.room(room)));
        }
    }

    /// Whether a local socket is in `room`.
    pub fn has_members(&self, room: &str) -> bool {
        self.rooms.contains_key(room)
    }

    /// The next subscription change to send to Redis.
    pub fn poll_subscription(&mut self) -> Option<Subscription> {
        self.changes.pop_front()
    }

    /// Every channel the node should be subscribed to now (after a reconnection to Redis, say):
    /// the namespace's, its reply channel, and each room's with local members.
    pub fn subscribed_channels(&self) -> Vec<String> {
        let mut channels = vec![self.channels.namespace().to_owned(), self.responses.clone()];
        channels.extend(self.rooms.keys().map(|room| self.channels.room(room)));
        channels
    }

    /// What to publish for a broadcast of `packet` to the sockets `opts` selects on other
    /// instances (the owner delivers to its own sockets itself), or nothing for a local-only one.
    pub fn broadcast(&self, packet: EventPacket, opts: Options) -> Option<Publish> {
        if opts.flags.is_local() {
            return None;
        }
        Some(self.publish(Body::Broadcast(Broadcast {
            packet,
            opts,
            request_id: None,
        })))
    }

    /// A request from this instance, on the channel the adapter would choose.
    pub fn publish(&self, body: Body) -> Publish {
        let message = self.message(body);
        Publish {
            channel: self.channels.for_message(&message),
            payload: Bytes::from(message.encode()),
        }
    }

    /// A reply to the instance `requester`, on its reply channel.
    pub fn respond(&self, requester: &str, body: Body) -> Publish {
        Publish {
            channel: self.channels.responses(requester),
            payload: Bytes::from(self.message(body).encode()),
        }
    }

    /// A message received on any of the node's channels: the message, or `None` when it is this
    /// instance's own (heard back on a channel it publishes to) or another namespace's. The
    /// channel does not matter: replies are told apart by their type.
    pub fn handle_message(&self, payload: &[u8]) -> Result<Option<Message>, DecodeError> {
        Ok(self.handle_message_decoded(Message::decode(payload)?))
    }

    /// [`handle_message`](Self::handle_message) for a message decoded already (by an owner of
    /// several nodes, to find the node of its namespace).
    pub fn handle_message_decoded(&self, message: Message) -> Option<Message> {
        if message.uid == self.uid.as_str() || message.nsp != self.nsp {
            return None;
        }
        Some(message)
    }

    fn message(&self, body: Body) -> Message {
        Message {
            uid: self.uid.as_str().to_owned(),
            nsp: self.nsp.clone(),
            body,
        }
    }
}
