//! Channel names, and which channel a message goes on, as the sharded adapter decides.
//!
//! A namespace has one channel every instance subscribes to, `<prefix>#<nsp>#`; each instance
//! has a reply channel `<prefix>#<nsp>#<uid>#`; each room a channel `<prefix>#<nsp>#<room>#`
//! that only instances with members in the room subscribe to. Routing a broadcast on the room's
//! channel is what spares the other instances (M3); every other message goes on the namespace
//! channel, and replies on the requester's reply channel.

use super::message::{Body, Message};

/// The adapter's default `channelPrefix`.
pub const DEFAULT_PREFIX: &str = "socket.io";

/// Whether the adapter would take `room` for a socket id: a string of 20 UTF-16 code units
/// (JavaScript's `length`). A broadcast to exactly one such room goes on the namespace channel,
/// since a socket's own room has no channel.
pub fn looks_like_socket_id(room: &str) -> bool {
    room.encode_utf16().take(21).count() == 20
}

/// The channel names of one namespace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Channels {
    /// `<prefix>#<nsp>#`, the start of every other name.
    namespace: String,
}

impl Channels {
    /// The channels of namespace `nsp` (`"/chat"`) under `prefix` (usually [`DEFAULT_PREFIX`]).
    pub fn new(prefix: &str, nsp: &str) -> Channels {
        Channels {
            namespace: format!("{prefix}#{nsp}#"),
        }
    }

    /// The namespace's channel, which every instance subscribes to.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The channel on which the instance `uid` receives replies to its requests.
    pub fn responses(&self, uid: &str) -> String {
        format!("{}{uid}#", self.namespace)
    }

    /// A room's channel.
    pub fn room(&self, room: &str) -> String {
        format!("{}{room}#", self.namespace)
    }

    /// Where the adapter publishes a request (`computeChannel`, "dynamic" subscription mode):
    /// a BROADCAST without ack to exactly one room that does not look like a socket id goes on
    /// the room's channel, anything else on the namespace channel.
    pub fn for_message(&self, message: &Message) -> String {
        match &message.body {
            Body::Broadcast(broadcast) if broadcast.request_id.is_none() => {
                match broadcast.opts.rooms.as_slice() {
                    [room] if !looks_like_socket_id(room) => self.room(room),
                    _ => self.namespace.clone(),
                }
            }
            _ => self.namespace.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_ids_are_counted_in_utf16_units() {
        assert!(looks_like_socket_id("abcdefghijklmnopqrst"));
        assert!(!looks_like_socket_id("abcdefghijklmnopqrs"));
        assert!(!looks_like_socket_id("abcdefghijklmnopqrstu"));
        // Twenty units, forty UTF-8 bytes.
        assert!(looks_like_socket_id(&"é".repeat(20)));
        // Ten astral characters are twenty units.
        assert!(looks_like_socket_id(&"😀".repeat(10)));
    }

    #[test]
    fn names() {
        let channels = Channels::new(DEFAULT_PREFIX, "/chat");
        assert_eq!(channels.namespace(), "socket.io#/chat#");
        assert_eq!(channels.responses("a1b2"), "socket.io#/chat#a1b2#");
        assert_eq!(channels.room("lobby"), "socket.io#/chat#lobby#");
        assert_eq!(Channels::new("p", "/").namespace(), "p#/#");
    }
}
