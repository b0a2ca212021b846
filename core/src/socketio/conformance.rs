//! The conformance app (SPEC E8): the behaviour the official socket.io-protocol test suite, the
//! client scenarios (`tests/sio/README.md`) and the benchmark expect of a server, written
//! against the application interface only.
//!
//! - `/`: on connect, emits `auth` with the handshake's auth; answers `message` with
//!   `message-back` and the same arguments; acks `message-with-ack` with its arguments;
//!   `ask-ack` asks the client for an ack and reports whether it came in time.
//! - `/custom`: on connect, emits `auth` with the handshake's auth.
//! - `/relay` (the benchmark's app, the one the peers run): joins the room named by the auth's
//!   `room` (without one, the socket is put out); `chat` goes to that room, sender included,
//!   `chat-others` to the room but the sender, `chat-all` to the namespace; a socket that
//!   leaves is announced to the rest of its room as `left`.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::app::{AckId, CommandError, Event, ServerAckId, To};
use super::ids::SocketId;
use super::packet::Args;
use super::recovery::Room;
use super::server::Server;

/// The namespaces the conformance app serves besides `/`.
pub const NAMESPACES: [&str; 2] = ["/custom", "/relay"];

/// `ask-ack`'s timeout when the client gives none.
const DEFAULT_ASK_TIMEOUT: Duration = Duration::from_millis(1_000);

/// The conformance app's state: the client acks `ask-ack` waits for. A `/relay` socket's room
/// is the server's to keep (the first after its own), not a second copy here.
#[derive(Default)]
pub struct ConformanceApp {
    /// Server ack id (with its socket) -> the client's ack id to answer.
    asking: std::collections::HashMap<(SocketId, ServerAckId), AckId>,
}

impl ConformanceApp {
    /// Opens the app's namespaces on `server`.
    pub fn mount(server: &mut Server) -> ConformanceApp {
        for ns in NAMESPACES {
            server.add_namespace(ns);
        }
        ConformanceApp::default()
    }

    /// Reacts to one event from the server. A command refused (a socket gone meanwhile) is
    /// returned for the log; the app's state stays consistent either way.
    pub fn handle_event(
        &mut self,
        now: Instant,
        server: &mut Server,
        event: Event,
    ) -> Result<(), CommandError> {
        match event {
            Event::Connected {
                ns, socket, auth, ..
            } => match ns.as_str() {
                "/" | "/custom" => {
                    let args = Args::json(vec![auth]);
                    server.emit(now, ns.as_str(), To::Socket(socket), "auth", &args)
                }
                "/relay" => {
                    let room = auth
                        .get("room")
                        .and_then(Value::as_str)
                        .filter(|room| !room.is_empty());
                    let Some(room) = room else {
                        return server.disconnect(now, "/relay", socket);
                    };
                    server.join("/relay", socket, room)
                }
                _ => Ok(()),
            },
            Event::Event {
                ns,
                socket,
                name,
                args,
                ack,
            } => self.handle_client_event(now, server, ns.as_str(), socket, &name, args, ack),
            Event::AckReceived {
                socket, id, args, ..
            } => match self.asking.remove(&(socket, id)) {
                Some(answer) => {
                    let reply = json!({"answered": true, "reply": args.values});
                    let args = Args {
                        values: vec![reply],
                        attachments: args.attachments,
                    };
                    server.ack("/", socket, answer, &args)
                }
                None => Ok(()),
            },
            Event::AckTimedOut { socket, id, .. } => match self.asking.remove(&(socket, id)) {
                Some(answer) => {
                    let args = Args::json(vec![json!({"answered": false})]);
                    server.ack("/", socket, answer, &args)
                }
                None => Ok(()),
            },
            Event::Disconnected {
                ns,
                socket,
                reason,
                rooms,
                ..
            } => {
                self.asking.retain(|(asked, _), _| *asked != socket);
                if ns.as_str() != "/relay" {
                    return Ok(());
                }
                // The event lists its own room first.
                let Some(room) = relay_room(rooms.get(1..).unwrap_or_default()) else {
                    return Ok(());
                };
                let args = Args::json(vec![json!(socket.as_str()), json!(reason.as_str())]);
                server.emit(now, "/relay", To::Room(room), "left", &args)
            }
            Event::ConnectRequest { .. } | Event::SessionClosed { .. } => Ok(()),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn handle_client_event(
        &mut self,
        now: Instant,
        server: &mut Server,
        ns: &str,
        socket: SocketId,
        name: &str,
        args: Args,
        ack: Option<AckId>,
    ) -> Result<(), CommandError> {
        match (ns, name, ack) {
            ("/", "message", _) => server.emit(now, "/", To::Socket(socket), "message-back", &args),
            ("/", "message-with-ack", Some(id)) => server.ack("/", socket, id, &args),
            ("/", "ask-ack", Some(id)) => {
                let Some(Value::Object(request)) = args.values.first() else {
                    return Ok(());
                };
                let timeout = request
                    .get("timeout_ms")
                    .and_then(Value::as_u64)
                    .map_or(DEFAULT_ASK_TIMEOUT, Duration::from_millis);
                let payload = request.get("payload").cloned().unwrap_or(Value::Null);
                let ask = Args::json(vec![payload]);
                let asked = server.emit_with_ack(now, "/", socket, "ask", &ask, timeout)?;
                self.asking.insert((socket, asked), id);
                Ok(())
            }
            ("/relay", "chat" | "chat-others" | "chat-all", _) => {
                let rooms = server.joined_rooms("/relay", socket);
                let Some(room) = rooms.and_then(relay_room).cloned() else {
                    return Ok(());
                };
                let to = match name {
                    "chat" => To::Room(&room),
                    "chat-others" => To::RoomExcept {
                        room: &room,
                        except: socket,
                    },
                    _ => To::Namespace,
                };
                server.emit(now, "/relay", to, "chat", &args)
            }
            _ => Ok(()),
        }
    }
}

/// A `/relay` socket's room among the rooms it joined: the one it joined at its CONNECT.
fn relay_room(joined: &[Room]) -> Option<&Room> {
    joined.first()
}
