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

#[cfg(test)]
mod tests {
    //! Two instances and a Redis kept in memory (the commands applied as Redis would): the
    //! decision to wait for a lookup, what is restored, and what is delivered, in which order.

    use std::collections::HashMap;
    use std::time::{Duration, Instant};

    use serde_json::{json, Value};

    use super::super::cluster::HubCluster;
    use super::*;
    use crate::cluster::Uid;
    use crate::socketio::{Args, Config, Event, RecoveryConfig, To, Transmit};

    const NS: &str = "/chat";

    /// Redis as the recovery commands use it.
    #[derive(Default)]
    struct MemoryRedis {
        strings: HashMap<String, Bytes>,
        streams: HashMap<String, Vec<PacketEntry>>,
    }

    impl MemoryRedis {
        /// Runs an instance's commands; lookups are answered, in order.
        fn run(&mut self, cluster: &mut HubCluster) -> Vec<LookupAnswer> {
            let mut answers = Vec::new();
            while let Some(command) = cluster.recovery.poll_command() {
                match command {
                    RecoveryCommand::Append { stream, entry, .. } => {
                        self.streams.entry(stream).or_default().push(entry);
                    }
                    RecoveryCommand::SaveSession { key, record, .. } => {
                        self.strings.insert(key, record);
                    }
                    RecoveryCommand::ForgetSession { key } => {
                        self.strings.remove(&key);
                    }
                    RecoveryCommand::Lookup {
                        id,
                        session,
                        stream,
                        offset,
                        ..
                    } => {
                        let entries = self.streams.get(&stream).cloned().unwrap_or_default();
                        let after = entries
                            .iter()
                            .position(|entry| entry.offset == offset)
                            .map(|index| entries[index + 1..].to_vec());
                        answers.push(LookupAnswer {
                            id,
                            session: self.strings.remove(&session),
                            after,
                        });
                    }
                }
            }
            answers
        }
    }

    fn instance(uid: u8) -> (Server, HubCluster) {
        let config = Config {
            recovery: Some(RecoveryConfig {
                window: Duration::from_secs(60),
                ..RecoveryConfig::default()
            }),
            ..Config::default()
        };
        let mut server = Server::new(config, [uid; 32]);
        server.add_namespace(NS);
        let cluster = HubCluster::new(Uid::from_random([uid; 8]), &mut server);
        (server, cluster)
    }

    /// The texts each session was sent, in order.
    fn sent(server: &mut Server) -> Vec<(Sid, String)> {
        let mut out = Vec::new();
        while let Some(transmit) = server.poll_transmit() {
            let (sids, payloads) = match transmit {
                Transmit::Send { sid, payload } => (vec![sid], vec![payload]),
                Transmit::Broadcast { sids, payloads } => (sids, payloads),
                Transmit::Close { .. } => continue,
            };
            for sid in sids {
                for payload in &payloads {
                    if let Payload::Text(bytes) = payload {
                        out.push((sid, String::from_utf8_lossy(bytes).into_owned()));
                    }
                }
            }
        }
        out
    }

    fn texts_to(server: &mut Server, sid: Sid) -> Vec<String> {
        sent(server)
            .into_iter()
            .filter(|(to, _)| *to == sid)
            .map(|(_, text)| text)
            .collect()
    }

    /// A session sending CONNECT to `/chat` with `auth`; the events it caused.
    fn open(server: &mut Server, now: Instant, fill: u8, auth: Value) -> (Sid, Vec<Event>) {
        let sid = Sid::from_random([fill; 15]);
        server.handle_open(now, sid);
        server.handle_message(now, sid, Payload::text(format!("0{NS},{auth}")));
        (sid, std::iter::from_fn(|| server.poll_event()).collect())
    }

    fn connected(events: &[Event]) -> Option<(SocketId, bool)> {
        events.iter().find_map(|event| match event {
            Event::Connected {
                socket, recovered, ..
            } => Some((*socket, *recovered)),
            _ => None,
        })
    }

    /// The `pid` and the last event's offset a client read from these texts.
    fn pid_and_offset(texts: &[String]) -> (String, String) {
        let answer: Value =
            serde_json::from_str(texts[0].strip_prefix("0/chat,").expect("a CONNECT answer"))
                .expect("JSON");
        let last: Value = serde_json::from_str(
            texts
                .last()
                .expect("an event")
                .strip_prefix("2/chat,")
                .expect("an event"),
        )
        .expect("JSON");
        let offset = last.as_array().and_then(|a| a.last()).expect("an offset");
        (
            answer["pid"].as_str().expect("a pid").to_owned(),
            offset.as_str().expect("a string").to_owned(),
        )
    }

    fn emit(server: &mut Server, cluster: &mut HubCluster, now: Instant, to: To<'_>, text: &str) {
        let args = Args::json(vec![json!(text)]);
        server.emit(now, NS, to, "chat", &args).expect("emitted");
        cluster.collect(server);
    }

    #[test]
    fn a_socket_of_a_killed_instance_comes_back_on_another_with_what_it_missed_in_its_rooms() {
        let now = Instant::now();
        let mut redis = MemoryRedis::default();
        let (mut a, mut cluster_a) = instance(1);
        let (mut b, mut cluster_b) = instance(2);
        let (client, events) = open(&mut a, now, 1, json!({}));
        let (socket, _) = connected(&events).expect("connected on A");
        a.join(NS, socket, "lobby").expect("joined");
        cluster_a.collect(&mut a);
        let (_, events) = open(&mut b, now, 2, json!({}));
        let (member, _) = connected(&events).expect("connected on B");
        b.join(NS, member, "lobby").expect("joined");
        cluster_b.collect(&mut b);

        // B's broadcast reaches the client on A with B's offset.
        emit(&mut b, &mut cluster_b, now, To::Room("lobby"), "before");
        while let Some(publish) = cluster_b.poll_publish() {
            cluster_a
                .handle_message(now, &mut a, &publish.payload)
                .expect("delivered");
        }
        let seen = texts_to(&mut a, client);
        let (pid, offset) = pid_and_offset(&seen);
        assert!(
            seen.last().is_some_and(|t| t.contains("before")),
            "{seen:?}"
        );
        redis.run(&mut cluster_a);
        redis.run(&mut cluster_b);
        // A is killed: it writes nothing more. B goes on.
        drop((a, cluster_a));
        emit(&mut b, &mut cluster_b, now, To::Room("lobby"), "missed 1");
        emit(
            &mut b,
            &mut cluster_b,
            now,
            To::Room("kitchen"),
            "not for it",
        );
        emit(&mut b, &mut cluster_b, now, To::Namespace, "missed 2");
        redis.run(&mut cluster_b);
        sent(&mut b);

        // The client comes back on B: its CONNECT waits for the lookup.
        let auth = json!({ "pid": pid, "offset": offset });
        let (again, events) = open(&mut b, now, 3, auth);
        assert!(connected(&events).is_none(), "waits for Redis: {events:?}");
        cluster_b.collect(&mut b);
        // Emitted while Redis is asked, after its stream was read: delivered from B's own log.
        emit(&mut b, &mut cluster_b, now, To::Room("lobby"), "meanwhile");
        let answers = redis.run(&mut cluster_b);
        assert_eq!(answers.len(), 1);
        // `meanwhile` reached the stream after the lookup read it: it comes from B's own log.
        let answer = answers[0].clone();
        assert!(answer.after.as_ref().is_some_and(|after| after.len() == 3));
        cluster_b.recovery.answer(&mut b, answer);
        let events: Vec<Event> = std::iter::from_fn(|| b.poll_event()).collect();
        assert_eq!(connected(&events), Some((socket, true)), "the same socket");
        let texts = texts_to(&mut b, again);
        let events: Vec<&str> = texts[1..]
            .iter()
            .map(|text| text.split('"').nth(3).unwrap_or_default())
            .collect();
        assert_eq!(events, ["missed 1", "missed 2", "meanwhile"], "{texts:?}");
        assert_eq!(b.rooms(NS, socket), Some(vec![socket.as_str(), "lobby"]));

        // The same pid presented again while its socket is here: not a second copy of it.
        let auth = json!({ "pid": pid, "offset": offset });
        let (_, events) = open(&mut b, now, 4, auth);
        assert!(connected(&events).is_none());
        cluster_b.collect(&mut b);
        for answer in redis.run(&mut cluster_b) {
            cluster_b.recovery.answer(&mut b, answer);
        }
        let events: Vec<Event> = std::iter::from_fn(|| b.poll_event()).collect();
        let (fresh, recovered) = connected(&events).expect("connected");
        assert!(fresh != socket && !recovered, "{events:?}");
    }

    #[test]
    fn nothing_found_or_no_answer_in_time_gives_a_fresh_socket_and_one_instance_never_waits() {
        let now = Instant::now();
        let (mut b, mut cluster_b) = instance(2);
        let auth = json!({ "pid": "AAAAAAAAAAAAAAAAAAAA", "offset": "0-0" });
        let (_, events) = open(&mut b, now, 1, auth.clone());
        assert!(connected(&events).is_none());
        cluster_b.collect(&mut b);
        let Some(RecoveryCommand::Lookup { id, .. }) = cluster_b.recovery.poll_command() else {
            panic!("a lookup");
        };
        cluster_b.recovery.answer(&mut b, LookupAnswer::nothing(id));
        let events: Vec<Event> = std::iter::from_fn(|| b.poll_event()).collect();
        assert!(matches!(connected(&events), Some((_, false))), "{events:?}");

        let (_, events) = open(&mut b, now, 2, auth.clone());
        assert!(connected(&events).is_none());
        b.handle_timeout(now + Duration::from_millis(1_999));
        assert!(b.poll_event().is_none(), "still waiting");
        b.handle_timeout(now + Duration::from_secs(2));
        let events: Vec<Event> = std::iter::from_fn(|| b.poll_event()).collect();
        assert!(matches!(connected(&events), Some((_, false))), "{events:?}");

        // A single instance (no cluster): an unknown pid gets a fresh socket at once.
        let mut single = Server::new(Config::default(), [3; 32]);
        single.add_namespace(NS);
        let (_, events) = open(&mut single, now, 1, auth);
        assert!(matches!(connected(&events), Some((_, false))), "{events:?}");
    }

    #[test]
    fn a_live_sockets_session_is_written_again_every_half_window_and_forgotten_when_it_leaves() {
        let now = Instant::now();
        let mut redis = MemoryRedis::default();
        let (mut a, mut cluster_a) = instance(1);
        let (sid, events) = open(&mut a, now, 1, json!({}));
        let (socket, _) = connected(&events).expect("connected");
        a.join(NS, socket, "lobby").expect("joined");
        cluster_a.collect(&mut a);
        redis.run(&mut cluster_a);
        assert_eq!(redis.strings.len(), 1, "its session");
        redis.strings.clear(); // as if its TTL ran out
        assert_eq!(a.poll_timeout(), Some(now + Duration::from_secs(30)));
        a.handle_timeout(now + Duration::from_secs(30));
        cluster_a.collect(&mut a);
        redis.run(&mut cluster_a);
        let record = redis.strings.values().next().expect("written again");
        assert_eq!(
            SessionRecord::decode(record),
            Some(SessionRecord {
                sid: socket.as_str().to_owned(),
                rooms: vec!["lobby".to_owned()]
            })
        );
        // Leaving on its own (a DISCONNECT): nothing to restore.
        a.handle_message(now, sid, Payload::text(format!("1{NS},")));
        cluster_a.collect(&mut a);
        redis.run(&mut cluster_a);
        assert!(redis.strings.is_empty());
    }
}
