//! Between one instance's Socket.IO server and the cluster: which options a local emit is
//! published with, and which local emit a broadcast from another instance becomes.
//!
//! An emit is delivered to this instance's sockets by the server as always, and published
//! (through [`ClusterNode::publish_emit`]) so that every other instance delivers it to its own
//! sockets; a received broadcast is delivered here and never published again. That is how each
//! member of a room gets a message once, wherever it is connected (M1).
//!
//! The adapter's options are sets of rooms: `rooms` (any of them; every socket when empty)
//! minus `except` (rooms too: `socket.to(room).emit` excepts the sender's own room, named by
//! its id). The server's [`To`] names one room and one excepted socket at most, which covers
//! everything socket.io's usual calls and gif-chat's apps publish; a broadcast from elsewhere
//! that needs more (several rooms, a room excepted) is handed back as
//! [`Delivery::Select`] for the caller to resolve against its rooms.

use super::message::{EventPacket, Flags, Options};
use super::node::{ClusterNode, Publish};
use crate::socketio::{Args, Server, SocketId, To};

/// The options other instances deliver a local emit with; `None` for an emit to one socket of
/// this instance, which concerns nobody else.
pub fn options_for(to: To<'_>) -> Option<Options> {
    let (rooms, except) = match to {
        To::Socket(_) => return None,
        To::Room(room) => (vec![room.to_owned()], Vec::new()),
        To::RoomExcept { room, except } => (vec![room.to_owned()], vec![except.to_string()]),
        To::Namespace => (Vec::new(), Vec::new()),
        To::NamespaceExcept(except) => (Vec::new(), vec![except.to_string()]),
    };
    Some(Options {
        rooms,
        except,
        flags: Flags::default(),
    })
}

impl ClusterNode {
    /// What to publish so that the other instances deliver `emit(event, ...args)` to their
    /// sockets in `to`; `None` when it stays here.
    pub fn publish_emit(&self, to: To<'_>, event: &str, args: &Args) -> Option<Publish> {
        let packet = EventPacket {
            name: event.to_owned(),
            args: args.clone(),
        };
        self.broadcast(packet, options_for(to)?)
    }
}

/// What this instance knows of its own sockets in one namespace.
pub trait LocalSockets {
    /// The local socket whose id is `id`, if any.
    fn socket(&self, id: &str) -> Option<SocketId>;
    /// Whether a local socket is in `room` (a socket is in the room named by its own id).
    fn has_members(&self, room: &str) -> bool;
}

/// A namespace of a Socket.IO server as [`LocalSockets`].
#[derive(Clone, Copy)]
pub struct ServerSockets<'a> {
    pub server: &'a Server,
    pub ns: &'a str,
}

impl LocalSockets for ServerSockets<'_> {
    fn socket(&self, id: &str) -> Option<SocketId> {
        SocketId::parse(id).filter(|socket| self.server.session_of(self.ns, *socket).is_some())
    }

    fn has_members(&self, room: &str) -> bool {
        self.server.room_len(self.ns, room) > 0
    }
}

/// How to deliver a received broadcast to this instance's sockets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delivery<'a> {
    /// No local socket is concerned.
    Nobody,
    /// One emit of the server.
    Emit(To<'a>),
    /// The sockets in any of `rooms` (the whole namespace when empty) and in none of `except`,
    /// each once: more than one [`To`] can say. Only rooms with local members are listed.
    Select {
        rooms: Vec<&'a str>,
        except: Vec<&'a str>,
    },
}

/// How a broadcast with `opts`, received from another instance, reaches the local sockets.
/// Exceptions without local members (the sender's own room, on its instance) are dropped.
pub fn delivery<'a>(opts: &'a Options, local: &impl LocalSockets) -> Delivery<'a> {
    let except: Vec<&str> = opts
        .except
        .iter()
        .map(String::as_str)
        .filter(|room| local.has_members(room))
        .collect();
    let rooms: Vec<&str> = opts
        .rooms
        .iter()
        .map(String::as_str)
        .filter(|room| local.has_members(room))
        .collect();
    if !opts.rooms.is_empty() && rooms.is_empty() {
        return Delivery::Nobody;
    }
    let except_socket = match except.as_slice() {
        [] => None,
        [one] => match local.socket(one) {
            Some(socket) => Some(socket),
            None => return Delivery::Select { rooms, except },
        },
        _ => return Delivery::Select { rooms, except },
    };
    match (rooms.as_slice(), except_socket) {
        ([], None) => Delivery::Emit(To::Namespace),
        ([], Some(socket)) => Delivery::Emit(To::NamespaceExcept(socket)),
        ([room], None) => Delivery::Emit(To::Room(room)),
        ([room], Some(socket)) => Delivery::Emit(To::RoomExcept {
            room,
            except: socket,
        }),
        _ => Delivery::Select { rooms, except },
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::cluster::{Body, Message, Uid};

    /// A socket id of the server's shape: twenty URL-safe characters.
    fn id(fill: char) -> SocketId {
        SocketId::parse(&fill.to_string().repeat(20)).expect("a socket id's shape")
    }

    /// Local sockets: each room's members; a socket's own room is its id.
    struct Fake {
        sockets: Vec<SocketId>,
        rooms: HashMap<&'static str, Vec<SocketId>>,
    }

    impl LocalSockets for Fake {
        fn socket(&self, id: &str) -> Option<SocketId> {
            self.sockets.iter().copied().find(|s| s.as_str() == id)
        }
        fn has_members(&self, room: &str) -> bool {
            self.socket(room).is_some() || self.rooms.get(room).is_some_and(|m| !m.is_empty())
        }
    }

    fn opts(rooms: &[&str], except: &[&str]) -> Options {
        Options {
            rooms: rooms.iter().map(|r| r.to_string()).collect(),
            except: except.iter().map(|r| r.to_string()).collect(),
            flags: Flags::default(),
        }
    }

    #[test]
    fn local_emits_become_the_adapters_options() {
        let (alice, bob) = (id('a'), id('b'));
        assert_eq!(options_for(To::Socket(alice)), None);
        assert_eq!(options_for(To::Room("lobby")), Some(opts(&["lobby"], &[])));
        assert_eq!(
            options_for(To::RoomExcept {
                room: "lobby",
                except: bob,
            }),
            Some(opts(&["lobby"], &[bob.as_str()]))
        );
        assert_eq!(options_for(To::Namespace), Some(opts(&[], &[])));
        assert_eq!(
            options_for(To::NamespaceExcept(alice)),
            Some(opts(&[], &[alice.as_str()]))
        );
    }

    #[test]
    fn a_published_emit_is_the_adapters_broadcast_on_the_rooms_channel() {
        let node = ClusterNode::new(Uid::from_random([7; 8]), "/chat");
        let args = Args::json(vec![serde_json::json!("hi")]);
        let publish = node
            .publish_emit(To::Room("lobby"), "chat", &args)
            .expect("published");
        assert_eq!(publish.channel, "socket.io#/chat#lobby#");
        assert_eq!(
            publish.payload.as_ref(),
            br#"{"type":3,"data":{"packet":{"type":2,"data":["chat","hi"]},"opts":{"rooms":["lobby"],"except":[],"flags":{}}},"uid":"0707070707070707","nsp":"/chat"}"#
        );
        let message = Message::decode(&publish.payload).expect("decodes");
        assert!(matches!(message.body, Body::Broadcast(_)));
        assert_eq!(node.publish_emit(To::Socket(id('a')), "chat", &args), None);
    }

    #[test]
    fn a_received_broadcast_becomes_one_local_emit_when_it_can() {
        let (here, elsewhere) = (id('h'), id('e'));
        let local = Fake {
            sockets: vec![here],
            rooms: HashMap::from([("lobby", vec![here]), ("kitchen", vec![here])]),
        };
        let sender = elsewhere.to_string();
        let cases = [
            (opts(&[], &[]), Delivery::Emit(To::Namespace)),
            // The sender's own room lives on its instance: nothing to except here.
            (opts(&[], &[&sender]), Delivery::Emit(To::Namespace)),
            (
                opts(&["lobby"], &[&sender]),
                Delivery::Emit(To::Room("lobby")),
            ),
            (
                opts(&["lobby", "attic"], &[]),
                Delivery::Emit(To::Room("lobby")),
            ),
            (opts(&["attic"], &[]), Delivery::Nobody),
            (
                opts(&["lobby"], &[here.as_str()]),
                Delivery::Emit(To::RoomExcept {
                    room: "lobby",
                    except: here,
                }),
            ),
            (
                opts(&[], &[here.as_str()]),
                Delivery::Emit(To::NamespaceExcept(here)),
            ),
            (
                opts(&["lobby", "kitchen"], &[]),
                Delivery::Select {
                    rooms: vec!["lobby", "kitchen"],
                    except: vec![],
                },
            ),
            (
                opts(&["lobby"], &["kitchen"]),
                Delivery::Select {
                    rooms: vec!["lobby"],
                    except: vec!["kitchen"],
                },
            ),
        ];
        for (opts, expected) in &cases {
            assert_eq!(&delivery(opts, &local), expected, "{opts:?}");
        }
    }
}
