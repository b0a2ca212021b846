//! Recovery across instances (SPEC M5), the hub's part: the server's recovery writes and
//! lookups turned into [`RecoveryCommand`]s on gif-chat's own Redis keys, and the bridge's
//! answers turned back into sessions the server restores.
//!
//! The hub owns no socket to Redis, as for the broadcasts: commands come out of
//! [`Hub::poll_recovery_command`], answers go into [`Hub::handle_recovery_answer`]; a lookup
//! never answered is ended by the server's own timeout (a fresh socket).
//!
//! [`Hub::poll_recovery_command`]: super::Hub::poll_recovery_command
//! [`Hub::handle_recovery_answer`]: super::Hub::handle_recovery_answer

use std::collections::{HashMap, VecDeque};

use bytes::Bytes;

use crate::cluster::{LookupAnswer, PacketEntry, RecoveryCommand, RecoveryKeys, SessionRecord};
use crate::engineio::{Payload, Sid};
use crate::socketio::{RecoveryWrite, RemoteSession, Room, Server, SocketId, Target};

/// Lookups in flight are few (reconnecting clients, each answered or timed out within
/// seconds); past this many, the oldest is forgotten (its CONNECT times out on its own).
const MAX_PENDING_LOOKUPS: usize = 10_000;

/// The commands waiting for the bridge, and the lookups waiting for their answer.
#[derive(Debug, Default)]
pub(super) struct RecoveryRequests {
    commands: VecDeque<RecoveryCommand>,
    pending: HashMap<u64, (String, Sid)>,
    order: VecDeque<u64>,
    next_id: u64,
}

impl RecoveryRequests {
    /// Takes the server's writes and lookups since the last call.
    pub(super) fn collect(&mut self, server: &mut Server) {
        while let Some(write) = server.poll_recovery_write() {
            self.commands.push_back(command_for(write));
        }
        while let Some(lookup) = server.poll_recovery_lookup() {
            let id = self.next_id;
            self.next_id += 1;
            let keys = RecoveryKeys::new(lookup.ns.as_str());
            self.commands.push_back(RecoveryCommand::Lookup {
                id,
                session: keys.session(&lookup.pid),
                stream: keys.packets(),
                offset: lookup.offset,
                window: lookup.window,
            });
            self.pending
                .insert(id, (lookup.ns.as_str().to_owned(), lookup.sid));
            self.order.push_back(id);
            while self.order.len() > MAX_PENDING_LOOKUPS {
                if let Some(oldest) = self.order.pop_front() {
                    self.pending.remove(&oldest);
                }
            }
        }
    }

    pub(super) fn poll_command(&mut self) -> Option<RecoveryCommand> {
        self.commands.pop_front()
    }

    /// A lookup's answer: the waiting CONNECT is restored with what was found, or gets a
    /// fresh socket. An answer to no pending lookup (timed out, forgotten) is dropped.
    pub(super) fn answer(&mut self, server: &mut Server, answer: LookupAnswer) {
        let Some((ns, sid)) = self.pending.remove(&answer.id) else {
            return;
        };
        self.order.retain(|id| *id != answer.id);
        server.resume_connect(&ns, sid, remote_session(answer));
    }
}

/// The Redis command for one of the server's writes.
fn command_for(write: RecoveryWrite) -> RecoveryCommand {
    match write {
        RecoveryWrite::Session {
            ns,
            pid,
            socket,
            rooms,
            ttl,
        } => RecoveryCommand::SaveSession {
            key: RecoveryKeys::new(ns.as_str()).session(pid.as_str()),
            record: SessionRecord {
                sid: socket.as_str().to_owned(),
                rooms: rooms.iter().map(|room| room.to_string()).collect(),
            }
            .encode(),
            ttl,
        },
        RecoveryWrite::Forget { ns, pid } => RecoveryCommand::ForgetSession {
            key: RecoveryKeys::new(ns.as_str()).session(pid.as_str()),
        },
        RecoveryWrite::Packet {
            ns,
            offset,
            target,
            payloads,
            max_packets,
            ttl,
        } => {
            let mut text = Bytes::new();
            let mut attachments = Vec::new();
            for payload in payloads {
                match payload {
                    Payload::Text(bytes) => text = bytes,
                    Payload::Binary(bytes) => attachments.push(bytes),
                }
            }
            RecoveryCommand::Append {
                stream: RecoveryKeys::new(ns.as_str()).packets(),
                entry: PacketEntry {
                    offset: offset.into(),
                    room: target.room.map(|room| room.to_string()),
                    except: target.except.map(|room| room.to_string()),
                    text,
                    attachments,
                },
                max_len: max_packets,
                ttl,
            }
        }
    }
}

/// The session an answer holds, with its packets; `None` when the session or the offset was
/// not found, or the record is not one gif-chat wrote.
fn remote_session(answer: LookupAnswer) -> Option<RemoteSession> {
    let record = SessionRecord::decode(&answer.session?)?;
    let socket = SocketId::parse(&record.sid)?;
    let mut after = Vec::new();
    for entry in answer.after? {
        // The text packet was written as UTF-8; anything else was not written by gif-chat.
        std::str::from_utf8(&entry.text).ok()?;
        let mut payloads = vec![Payload::Text(entry.text)];
        payloads.extend(entry.attachments.into_iter().map(Payload::Binary));
        let target = Target {
            room: entry.room.map(Room::from),
            except: entry.except.map(Room::from),
        };
        after.push((entry.offset.into_boxed_str(), target, payloads));
    }
    Some(RemoteSession {
        socket,
        rooms: record.rooms.into_iter().map(Room::from).collect(),
        after,
    })
}
