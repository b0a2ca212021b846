//! The conformance app (SPEC E8): the behaviour the official socket.io-protocol test suite and
//! the benchmark expect of a server, written against the application interface only.
//!
//! - `/`: on connect, emits `auth` with the handshake's auth; answers `message` with
//!   `message-back` and the same arguments; acks `message-with-ack` with its arguments.
//! - `/custom`: on connect, emits `auth` with the handshake's auth.
//! - `/relay` (the benchmark's app, the one the peers run): joins the room named by the auth's
//!   `room`, and sends each `chat` event to that room, sender included.

use std::time::Instant;

use super::app::{CommandError, Event, To};
use super::ids::{IdMap, SocketId};
use super::packet::Args;
use super::server::Server;

/// The namespaces the conformance app serves besides `/`.
pub const NAMESPACES: [&str; 2] = ["/custom", "/relay"];

/// The conformance app's state: the relay room of each `/relay` socket.
#[derive(Default)]
pub struct ConformanceApp {
    relay_rooms: IdMap<SocketId, String>,
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
                    let Some(room) = auth.get("room").and_then(|r| r.as_str()) else {
                        return Ok(());
                    };
                    server.join("/relay", socket, room)?;
                    self.relay_rooms.insert(socket, room.to_owned());
                    Ok(())
                }
                _ => Ok(()),
            },
            Event::Event {
                ns,
                socket,
                name,
                args,
                ack,
            } => match (ns.as_str(), name.as_str(), ack) {
                ("/", "message", _) => {
                    server.emit(now, "/", To::Socket(socket), "message-back", &args)
                }
                ("/", "message-with-ack", Some(id)) => server.ack("/", socket, id, &args),
                ("/relay", "chat", _) => match self.relay_rooms.get(&socket) {
                    Some(room) => server.emit(now, "/relay", To::Room(room), "chat", &args),
                    None => Ok(()),
                },
                _ => Ok(()),
            },
            Event::Disconnected { ns, socket, .. } => {
                if ns.as_str() == "/relay" {
                    self.relay_rooms.remove(&socket);
                }
                Ok(())
            }
            Event::ConnectRequest { .. }
            | Event::AckReceived { .. }
            | Event::AckTimedOut { .. }
            | Event::SessionClosed { .. } => Ok(()),
        }
    }
}
