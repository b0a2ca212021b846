//! The Socket.IO server state: every Engine.IO session's namespace sockets, driven sans-IO.
//!
//! The engine reports sessions opening, messages arriving and sessions closing, with the time;
//! the server answers with [`Transmit`]s (payloads for one session, one shared encoding for
//! many, sessions to close), a deadline, and [`Event`]s for the application, whose commands
//! (`emit`, `ack`, `join`, ...) are methods too, in `commands.rs`. Like quinn-proto and str0m:
//! no clock, socket, thread or OS randomness; ids come from a seeded CSPRNG.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::{json, Map, Value};
use smallvec::SmallVec;

use super::app::{
    AckId, CloseReason, CommandError, DisconnectReason, Event, ServerAckId, SessionCloseReason,
    Transmit,
};
use super::assembly::{Assembler, Limits};
use super::cluster_reports::{ClusterReports, PendingLookup};
use super::ids::{IdMap, IdSource, SocketId};
use super::namespace::{Admission, NamespaceState, TimerKey};
use super::packet::{self, Args, Packet, PacketError, PacketType};
use super::recovery::{RecoveryConfig, RecoveryStore, Restored};
use crate::engineio::{Payload, Sid};

/// Settings of the Socket.IO layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// A session with no namespace connected after this long is closed
    /// (`SIO_CONNECT_TIMEOUT_MS`, 45000).
    pub connect_timeout: Duration,
    /// Connection state recovery (E6) of `/` and of namespaces added with `add_namespace`;
    /// `None` turns it off (then no `pid`, no offsets).
    pub recovery: Option<RecoveryConfig>,
    /// Binary attachments one packet may announce.
    pub max_attachments: usize,
    /// Bytes of binary attachments one packet may carry.
    pub max_attachment_bytes: usize,
    /// Rooms one socket may be in, its own included.
    pub max_rooms_per_socket: usize,
    /// Server acks one socket may have pending.
    pub max_pending_acks: usize,
    /// In a cluster, how long a CONNECT waits for its session to be fetched from Redis before
    /// it gets a fresh socket (`cluster_recovery.rs`).
    pub recovery_lookup_timeout: Duration,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            connect_timeout: Duration::from_millis(45_000),
            recovery: Some(RecoveryConfig::default()),
            max_attachments: 64,
            max_attachment_bytes: 10_000_000,
            max_rooms_per_socket: 1_024,
            max_pending_acks: 1_024,
            recovery_lookup_timeout: Duration::from_millis(2_000),
        }
    }
}

/// One Engine.IO session as Socket.IO sees it.
pub(super) struct Session {
    /// Its sockets: namespace index and socket id (at most one per namespace). The index is a
    /// `u32` (a server has a handful of namespaces), so that an entry takes 24 bytes, not 32.
    /// One inline (the common case: a session in one namespace), so it costs no allocation.
    sockets: SmallVec<[(u32, SocketId); 1]>,
    connect_timer: Option<TimerKey>,
    /// CONNECTs waiting for the app's answer (`Admission::ByApp`): namespace index and auth.
    pub(super) admitting: Vec<(usize, Value)>,
    /// CONNECTs waiting for their session from another instance (`cluster_recovery.rs`).
    pub(super) looking_up: Vec<PendingLookup>,
    assembler: Assembler,
}

pub(super) enum Timer {
    Connect(Sid),
    Ack {
        ns: usize,
        socket: SocketId,
        id: u64,
    },
    Lookup {
        sid: Sid,
        ns: usize,
    },
}

/// The Socket.IO protocol v5 state of a whole server.
pub struct Server {
    pub(super) config: Config,
    ids: IdSource,
    pub(super) namespaces: Vec<NamespaceState>,
    /// Boxed, as the engine's: an empty slot of the table costs a pointer, not a session.
    pub(super) sessions: IdMap<Sid, Box<Session>>,
    pub(super) timers: BTreeMap<TimerKey, Timer>,
    next_timer: u64,
    pub(super) transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    /// What a cluster is told (`cluster.rs`), once asked for.
    pub(super) cluster: Option<ClusterReports>,
}

impl Server {
    /// A server with the main namespace `/`; `seed` (from the OS RNG) makes its ids.
    pub fn new(config: Config, seed: [u8; 32]) -> Server {
        let mut server = Server {
            config,
            ids: IdSource::from_seed(seed),
            namespaces: Vec::new(),
            sessions: IdMap::default(),
            timers: BTreeMap::new(),
            next_timer: 0,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            cluster: None,
        };
        server.add_namespace("/");
        server
    }

    /// Opens a namespace (`/chat`) to clients: every CONNECT accepted, recovery as the
    /// server's [`Config`] says. Adding one twice does nothing.
    pub fn add_namespace(&mut self, name: &str) {
        let recovery = self.config.recovery.clone();
        self.add_namespace_with(name, Admission::Open, recovery);
    }

    /// Opens a namespace whose CONNECTs are accepted as `admission` says, with its own
    /// recovery settings (`None`: no `pid`, no offsets, nothing kept).
    pub fn add_namespace_with(
        &mut self,
        name: &str,
        admission: Admission,
        recovery: Option<RecoveryConfig>,
    ) {
        if self.namespace_index(name).is_some() {
            return;
        }
        let recovery = recovery.map(|config| RecoveryStore::new(config, self.ids.next_u32()));
        let mut namespace = NamespaceState::new(name, admission, recovery);
        if self.cluster.is_some() {
            namespace.report_room_changes();
        }
        self.namespaces.push(namespace);
    }

    pub(super) fn namespace_index(&self, name: &str) -> Option<usize> {
        self.namespaces
            .iter()
            .position(|ns| ns.name.as_str() == name)
    }

    pub(super) fn namespace(&self, name: &str) -> Result<usize, CommandError> {
        self.namespace_index(name)
            .ok_or_else(|| CommandError::UnknownNamespace(name.to_owned()))
    }

    pub(super) fn set_timer(&mut self, at: Instant, timer: Timer) -> TimerKey {
        let key = (at, self.next_timer);
        self.next_timer += 1;
        self.timers.insert(key, timer);
        key
    }

    // ---- inputs from the engine ----

    /// A new Engine.IO session: it has the connect timeout to join a namespace.
    pub fn handle_open(&mut self, now: Instant, sid: Sid) {
        if self.sessions.contains_key(&sid) {
            return;
        }
        self.arm_session_refresh(now);
        let key = self.set_timer(
            super::deadline(now, self.config.connect_timeout),
            Timer::Connect(sid),
        );
        self.sessions.insert(
            sid,
            Box::new(Session {
                sockets: SmallVec::new(),
                connect_timer: Some(key),
                admitting: Vec::new(),
                looking_up: Vec::new(),
                assembler: Assembler::default(),
            }),
        );
    }

    /// One Engine.IO message from a session. An invalid packet closes the session.
    pub fn handle_message(&mut self, now: Instant, sid: Sid, payload: Payload) {
        if let Err(error) = self.receive(now, sid, payload) {
            self.close_session(now, sid, SessionCloseReason::InvalidPacket(error));
        }
    }

    fn receive(&mut self, now: Instant, sid: Sid, payload: Payload) -> Result<(), PacketError> {
        let limits = Limits {
            max_attachments: self.config.max_attachments,
            max_attachment_bytes: self.config.max_attachment_bytes,
        };
        let Some(session) = self.sessions.get_mut(&sid) else {
            return Ok(());
        };
        if let Some((packet, attachments)) = session.assembler.feed(payload, limits)? {
            self.dispatch(now, sid, packet, attachments);
        }
        Ok(())
    }

    fn dispatch(&mut self, now: Instant, sid: Sid, packet: Packet, attachments: Vec<Bytes>) {
        let Some(ns) = self.namespace_index(&packet.namespace) else {
            if packet.kind == PacketType::Connect {
                let error = json!({"message": "Invalid namespace"});
                let text =
                    packet::encode(PacketType::ConnectError, &packet.namespace, Some(&error));
                self.send(sid, Payload::text(text));
            }
            return;
        };
        let socket = self.sessions.get(&sid).and_then(|s| {
            s.sockets
                .iter()
                .find(|(i, _)| *i as usize == ns)
                .map(|(_, id)| *id)
        });
        let Some(socket) = socket else {
            // As socket.io: anything but CONNECT for a namespace not joined is ignored.
            if packet.kind == PacketType::Connect {
                let auth = packet.data.unwrap_or_else(|| Value::Object(Map::new()));
                self.request_connect(now, sid, ns, auth);
            }
            return;
        };
        let name = self.namespaces[ns].name.clone();
        let values = match packet.data {
            Some(Value::Array(values)) => values,
            _ => Vec::new(),
        };
        match packet.kind {
            // A second CONNECT to a joined namespace and a client's CONNECT_ERROR are ignored.
            PacketType::Connect | PacketType::ConnectError => {}
            PacketType::Disconnect => {
                self.remove_socket(now, ns, socket, DisconnectReason::ClientNamespaceDisconnect);
            }
            PacketType::Event | PacketType::BinaryEvent => {
                let mut values = values.into_iter();
                let name_value = values.next();
                let event = match name_value {
                    Some(Value::String(event)) => event,
                    Some(Value::Number(n)) => n.to_string(),
                    _ => return, // the decoder allows no other shape
                };
                self.events.push_back(Event::Event {
                    ns: name,
                    socket,
                    name: event,
                    args: Args {
                        values: values.collect(),
                        attachments,
                    },
                    ack: packet.id.map(AckId),
                });
            }
            PacketType::Ack | PacketType::BinaryAck => {
                let Some(id) = packet.id else { return };
                let Some(state) = self.namespaces[ns].sockets.get_mut(&socket) else {
                    return;
                };
                // An answer to no pending ack (unknown or timed out) is dropped, as socket.io does.
                let Some(key) = state.acks.remove(id) else {
                    return;
                };
                self.timers.remove(&key);
                self.events.push_back(Event::AckReceived {
                    ns: name,
                    socket,
                    id: ServerAckId(id),
                    args: Args {
                        values,
                        attachments,
                    },
                });
            }
        }
    }

    fn request_connect(&mut self, now: Instant, sid: Sid, ns: usize, auth: Value) {
        if self.namespaces[ns].admission == Admission::Open {
            if !self.start_lookup(now, sid, ns, &auth) {
                self.connect(now, sid, ns, auth);
            }
            return;
        }
        let Some(session) = self.sessions.get_mut(&sid) else {
            return;
        };
        // One request per namespace at a time: a repeated CONNECT while the app decides is
        // ignored, so the list never outgrows the namespaces.
        if session.admitting.iter().any(|(i, _)| *i == ns) {
            return;
        }
        session.admitting.push((ns, auth.clone()));
        self.events.push_back(Event::ConnectRequest {
            ns: self.namespaces[ns].name.clone(),
            sid,
            auth,
        });
    }

    /// Joins a session to a namespace: a recovered socket or a fresh one.
    pub(super) fn connect(&mut self, now: Instant, sid: Sid, ns: usize, auth: Value) -> SocketId {
        let namespace = &mut self.namespaces[ns];
        let restored = match (&mut namespace.recovery, auth.get("pid"), auth.get("offset")) {
            (Some(store), Some(Value::String(pid)), Some(Value::String(offset))) => {
                store.restore(now, pid, offset)
            }
            _ => None,
        };
        self.join_namespace(sid, ns, auth, restored)
    }

    /// Joins a session to a namespace as `restored` (kept here or fetched from another
    /// instance) or as a fresh socket.
    pub(super) fn join_namespace(
        &mut self,
        sid: Sid,
        ns: usize,
        auth: Value,
        restored: Option<Restored>,
    ) -> SocketId {
        let namespace = &mut self.namespaces[ns];
        let recovered = restored.is_some();
        let (socket, pid, rooms, missed) = match restored {
            Some(r) => (r.socket, Some(r.pid), r.rooms, r.missed),
            None => {
                let socket = self.ids.socket_id();
                let pid = namespace.recovery.is_some().then(|| self.ids.pid());
                (socket, pid, Vec::new(), Vec::new())
            }
        };
        namespace.add_socket(socket, sid, pid, rooms);
        let name = namespace.name.clone();
        if let Some(session) = self.sessions.get_mut(&sid) {
            // Exactly: a session is in one namespace or two, and `push` would make room for four.
            session.sockets.reserve_exact(1);
            session.sockets.push((ns as u32, socket));
            if let Some(key) = session.connect_timer.take() {
                self.timers.remove(&key);
            }
        }
        let answer = match pid {
            Some(pid) => json!({"sid": socket.as_str(), "pid": pid.as_str()}),
            None => json!({"sid": socket.as_str()}),
        };
        let text = packet::encode(PacketType::Connect, name.as_str(), Some(&answer));
        self.send(sid, Payload::text(text));
        self.report_session(ns, socket);
        for payloads in missed {
            for payload in payloads {
                self.send(sid, payload);
            }
        }
        self.events.push_back(Event::Connected {
            ns: name,
            socket,
            sid,
            auth,
            recovered,
        });
        socket
    }

    /// The engine closed a session; its sockets leave their namespaces (kept for recovery).
    pub fn handle_close(&mut self, now: Instant, sid: Sid, reason: CloseReason) {
        self.end_session(now, sid, reason.into());
    }

    /// Fires due deadlines: connect timeouts, server acks, recovery expiry.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(entry) = self.timers.first_entry() {
            if entry.key().0 > now {
                break;
            }
            match entry.remove() {
                Timer::Connect(sid) => {
                    if let Some(session) = self.sessions.get_mut(&sid) {
                        session.connect_timer = None;
                        if session.sockets.is_empty() {
                            self.close_session(now, sid, SessionCloseReason::ConnectTimeout);
                        }
                    }
                }
                Timer::Lookup { sid, ns } => self.lookup_timed_out(sid, ns),
                Timer::Ack { ns, socket, id } => {
                    let namespace = &mut self.namespaces[ns];
                    if let Some(state) = namespace.sockets.get_mut(&socket) {
                        if state.acks.remove(id).is_some() {
                            self.events.push_back(Event::AckTimedOut {
                                ns: namespace.name.clone(),
                                socket,
                                id: ServerAckId(id),
                            });
                        }
                    }
                }
            }
        }
        for namespace in &mut self.namespaces {
            if let Some(store) = &mut namespace.recovery {
                store.handle_timeout(now);
            }
        }
        self.refresh_sessions(now);
    }

    // ---- outputs ----

    /// The next thing for the engine to do.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event for the application.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`Self::handle_timeout`] must next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let timer = self.timers.keys().next().map(|(at, _)| *at);
        self.namespaces
            .iter()
            .filter_map(|ns| ns.recovery.as_ref()?.poll_timeout())
            .chain(timer)
            .chain(self.session_refresh_deadline())
            .min()
    }

    pub(super) fn send(&mut self, sid: Sid, payload: Payload) {
        self.transmits.push_back(Transmit::Send { sid, payload });
    }

    pub(super) fn close_session(&mut self, now: Instant, sid: Sid, reason: SessionCloseReason) {
        if !self.sessions.contains_key(&sid) {
            return;
        }
        let disconnect = match &reason {
            SessionCloseReason::InvalidPacket(error) => DisconnectReason::ParseError(error.clone()),
            _ => DisconnectReason::ForcedServerClose,
        };
        self.end_session(now, sid, disconnect);
        self.events.push_back(Event::SessionClosed { sid, reason });
        self.transmits.push_back(Transmit::Close { sid });
    }

    pub(super) fn end_session(&mut self, now: Instant, sid: Sid, reason: DisconnectReason) {
        let Some(session) = self.sessions.remove(&sid) else {
            return;
        };
        if let Some(key) = session.connect_timer {
            self.timers.remove(&key);
        }
        for (ns, socket) in session.sockets {
            self.remove_socket(now, ns as usize, socket, reason.clone());
        }
    }

    pub(super) fn remove_socket(
        &mut self,
        now: Instant,
        ns: usize,
        socket: SocketId,
        reason: DisconnectReason,
    ) {
        let namespace = &mut self.namespaces[ns];
        let Some(state) = namespace.remove_socket(socket) else {
            return;
        };
        for key in state.acks.timers() {
            self.timers.remove(key);
        }
        if let (true, Some(store), Some(pid)) =
            (reason.is_recoverable(), &mut namespace.recovery, state.pid)
        {
            store.persist(now, pid, socket, state.rooms.to_vec());
        }
        if let Some(pid) = state.pid {
            self.report_socket_gone(ns, pid, socket, &state.rooms, reason.is_recoverable());
        }
        let namespace = &mut self.namespaces[ns];
        if let Some(session) = self.sessions.get_mut(&state.sid) {
            session
                .sockets
                .retain(|(i, id)| !(*i as usize == ns && *id == socket));
        }
        self.events.push_back(Event::Disconnected {
            ns: namespace.name.clone(),
            socket,
            sid: state.sid,
            reason,
            rooms: std::iter::once(super::recovery::Room::from(socket.as_str()))
                .chain(state.rooms)
                .collect(),
        });
    }
}
