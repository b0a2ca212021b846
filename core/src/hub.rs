//! The shared real-time state of a server: the Engine.IO sessions, the Socket.IO server above
//! them and the application, as one sans-IO value beside the per-TCP [`Connection`]s.
//!
//! An Engine.IO session outlives a TCP connection (long-polling spreads it over many requests,
//! then it may move to a WebSocket), so it cannot live in a `Connection`. The [`Hub`] holds
//! every session; a connection only carries the requests and WebSocket messages of one of them
//! in ([`HubCall`]s, from [`Connection::poll_hub_call`]) and the answers out. Inside, the hub
//! wires the engine's events into the Socket.IO server, the server's transmits back into the
//! engine, and the server's events into the app, until all three are quiet.
//!
//! It is driven like everything else here: `handle_*` with the time passed in, `poll_*` for what
//! to do (sessions whose connections have output, log lines, the next deadline). With
//! `CONFORMANCE=true`, a second engine serves raw Engine.IO at `/engine.io/`, echoing every
//! message, and the conformance app's namespaces are mounted (SPEC E8).
//!
//! The GIF chat room ([`ChatApp`], SPEC §6) is always mounted, on `/room` and `/chat`: its
//! Socket.IO events come through the pump like the conformance app's, its HTTP requests through
//! [`Hub::handle_chat_request`] (answers from [`Hub::poll_chat_answer`]), and what it asks of
//! the store goes out through [`Hub::poll_store_request`] and comes back through
//! [`Hub::handle_store_reply`]. The two apps share the server, each on its own namespaces.
//!
//! With [`HubConfig::cluster`] set, the hub is one instance of several sharing broadcasts
//! through Redis (SPEC M1–M3, `hub/cluster.rs`): what to subscribe and publish comes out of
//! [`Hub::poll_subscription`] and [`Hub::poll_publish`], what the others published goes into
//! [`Hub::handle_cluster_message`]. Connection state recovery across instances (M5,
//! `hub/cluster_recovery.rs`) writes and reads gif-chat's own Redis keys the same way:
//! [`Hub::poll_recovery_command`] out, [`Hub::handle_recovery_answer`] in.
//!
//! [`Connection`]: crate::Connection
//! [`Connection::poll_hub_call`]: crate::Connection::poll_hub_call

use std::collections::VecDeque;
use std::net::IpAddr;
use std::time::Instant;

use bytes::Bytes;

use crate::chat::app::{self as chat_app, ChatApp, ChatConfig};
use crate::chat::{
    ChatAnswer, ChatRequest, ChatTicket, GifName, SessionId, StoreReply, StoreRequest, StoreTicket,
};
use crate::cluster::{LookupAnswer, Publish, RecoveryCommand, Subscription, Uid};
use crate::engineio::{
    self, Answer, Engine, EngineConfig, EngineEvent, Method, Query, Request, RequestError, Sid,
    WsInput, WsOutput,
};
use crate::log::LogLine;
use crate::socketio::{self, ConformanceApp, Server};

mod cluster;
mod cluster_recovery;

use cluster::HubCluster;

/// Which Engine.IO server a request or a session belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mount {
    /// `/socket.io/`: Socket.IO above Engine.IO.
    SocketIo,
    /// `/engine.io/` (conformance mode only): raw Engine.IO, every message echoed.
    EngineIo,
}

impl Mount {
    /// The mount a request path is for, if any: `/socket.io/` always, `/engine.io/` only in
    /// conformance mode.
    pub fn for_path(path: &str, conformance: bool) -> Option<Mount> {
        match path {
            "/socket.io/" => Some(Mount::SocketIo),
            "/engine.io/" if conformance => Some(Mount::EngineIo),
            _ => None,
        }
    }

    /// The path it is served at, as logged.
    pub fn path(self) -> &'static str {
        match self {
            Mount::SocketIo => "/socket.io/",
            Mount::EngineIo => "/engine.io/",
        }
    }
}

/// What a connection asks of the hub.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HubCall {
    /// An HTTP request to an Engine.IO path, body read: answer it with
    /// [`Connection::handle_hub_answer`](crate::Connection::handle_hub_answer).
    Request {
        mount: Mount,
        method: Method,
        /// The query string, without the `?`.
        query: String,
        body: Bytes,
        /// A valid WebSocket upgrade request (its handshake already checked).
        websocket_upgrade: bool,
        /// The client's address, as logged.
        client_ip: IpAddr,
        /// The visitor of the request's signed `connect.sid` cookie, if valid: who a session
        /// opened by this request is, for the chat's `/chat` namespace.
        visitor: Option<SessionId>,
    },
    /// A message arrived on a session's WebSocket.
    WsMessage {
        mount: Mount,
        sid: Sid,
        message: WsInput,
    },
    /// A session's WebSocket ended.
    WsClosed { mount: Mount, sid: Sid },
    /// A connection holding a session's parked GET ended before it was answered.
    GetAborted { mount: Mount, sid: Sid },
}

/// The hub's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HubConfig {
    /// `CONFORMANCE`: mount the conformance app and raw Engine.IO at `/engine.io/`.
    pub conformance: bool,
    /// The Engine.IO settings (both mounts).
    pub engine: EngineConfig,
    /// The Socket.IO settings.
    pub socketio: socketio::Config,
    /// The chat room's settings.
    pub chat: ChatConfig,
    /// This instance's id in a cluster of instances sharing broadcasts through Redis (SPEC
    /// M1–M3; the I/O layer draws it at random when `REDIS_URL` is set); `None`: alone.
    pub cluster: Option<Uid>,
}

/// Every Engine.IO session, the Socket.IO server and the app, driven with `handle_*` and
/// drained with `poll_*`.
///
/// The runtime's part:
/// 1. hand each [`HubCall`] a connection yields to [`handle_call`](Self::handle_call), and an
///    answer back to that connection;
/// 2. after any input, take every [`poll_ready`](Self::poll_ready) sid and wake the connection
///    that holds it (its parked GET or WebSocket), which then pulls
///    [`poll_get_answer`](Self::poll_get_answer) or [`poll_websocket`](Self::poll_websocket);
/// 3. print every [`poll_log`](Self::poll_log) line;
/// 4. call [`handle_timeout`](Self::handle_timeout) once [`poll_timeout`](Self::poll_timeout)
///    has passed, and [`handle_shutdown`](Self::handle_shutdown) when the server stops.
pub struct Hub {
    engine: Engine,
    server: Server,
    /// SPEC E8's reference behaviour, in conformance mode.
    conformance: Option<ConformanceApp>,
    /// The GIF chat room.
    chat: ChatApp,
    /// `/engine.io/`'s echo engine, in conformance mode.
    raw: Option<Engine>,
    /// Sessions opened by the request being handled, waiting for its client address (kept by
    /// the engine's session, not in a table of the hub's: one less entry per session).
    pending_open: Vec<Sid>,
    /// Sessions closed during a pump, forgotten at its end, with the address their sockets'
    /// disconnect lines name (the engine has forgotten them already).
    closed: Vec<(Mount, Sid, IpAddr)>,
    ready: VecDeque<(Mount, Sid)>,
    log: VecDeque<LogLine>,
    stopping: bool,
    /// The cluster's nodes, with [`HubConfig::cluster`] (`hub/cluster.rs`).
    cluster: Option<HubCluster>,
}

impl HubConfig {
    /// The [`defaults`](crate::defaults), written once.
    pub fn new() -> HubConfig {
        use crate::defaults;
        use std::time::Duration;
        HubConfig {
            conformance: defaults::CONFORMANCE,
            engine: EngineConfig {
                ping_interval: Duration::from_millis(defaults::EIO_PING_INTERVAL_MS),
                ping_timeout: Duration::from_millis(defaults::EIO_PING_TIMEOUT_MS),
                max_payload: defaults::EIO_MAX_PAYLOAD_BYTES,
                high_water_mark: defaults::HIGH_WATER_MARK_BYTES,
                ..EngineConfig::default()
            },
            socketio: socketio::Config {
                connect_timeout: Duration::from_millis(defaults::SIO_CONNECT_TIMEOUT_MS),
                recovery: Some(socketio::RecoveryConfig {
                    window: Duration::from_millis(defaults::SIO_RECOVERY_MS),
                    ..socketio::RecoveryConfig::default()
                }),
                ..socketio::Config::default()
            },
            chat: ChatConfig::new(),
            cluster: None,
        }
    }
}

impl Default for HubConfig {
    fn default() -> Self {
        HubConfig::new()
    }
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("engine", &self.engine)
            .field("sessions", &self.session_count())
            .finish_non_exhaustive()
    }
}

impl Hub {
    /// A hub with no sessions. `seed` (32 bytes from the OS RNG; a test fixes it) keys the
    /// sids and socket ids.
    pub fn new(config: HubConfig, seed: [u8; 32]) -> Hub {
        let mut server_seed = seed;
        server_seed[0] ^= 0x5a;
        let mut raw_seed = seed;
        raw_seed[0] ^= 0xa5;
        let mut server = Server::new(config.socketio.clone(), server_seed);
        let conformance = config
            .conformance
            .then(|| ConformanceApp::mount(&mut server));
        let chat = ChatApp::mount(&mut server, config.chat.clone());
        let cluster = config
            .cluster
            .clone()
            .map(|uid| HubCluster::new(uid, &mut server));
        Hub {
            engine: Engine::new(config.engine.clone(), seed),
            server,
            conformance,
            chat,
            raw: config
                .conformance
                .then(|| Engine::new(config.engine.clone(), raw_seed)),
            pending_open: Vec::new(),
            closed: Vec::new(),
            ready: VecDeque::new(),
            log: VecDeque::new(),
            stopping: false,
            cluster,
        }
    }

    fn engine_mut(&mut self, mount: Mount) -> Option<&mut Engine> {
        match mount {
            Mount::SocketIo => Some(&mut self.engine),
            Mount::EngineIo => self.raw.as_mut(),
        }
    }

    /// Takes one call from a connection. A [`HubCall::Request`] gets the answer to give its
    /// connection; the others get `None`.
    pub fn handle_call(&mut self, now: Instant, call: HubCall) -> Option<Answer> {
        let mut answer = None;
        let mut opened_by = None;
        match call {
            HubCall::Request {
                mount,
                method,
                query,
                body,
                websocket_upgrade,
                client_ip,
                visitor,
            } => {
                let request = Request {
                    method,
                    query: Query::parse(&query),
                    body,
                    websocket_upgrade,
                };
                let stopping = self.stopping;
                let result = match self.engine_mut(mount) {
                    // A stopping server opens no new session.
                    Some(_) if stopping && request.query.sid.is_none() => {
                        Answer::Error(RequestError::BadRequest)
                    }
                    Some(engine) => engine.handle_request(&request, now),
                    None => Answer::Error(RequestError::UnknownTransport),
                };
                opened_by = Some((mount, client_ip, visitor));
                answer = Some(result);
            }
            HubCall::WsMessage {
                mount,
                sid,
                message,
            } => {
                if let Some(engine) = self.engine_mut(mount) {
                    if engine.handle_websocket_message(sid, message, now).is_err() {
                        // Unknown to the engine: let the connection find that out and close.
                        self.ready.push_back((mount, sid));
                    }
                }
            }
            HubCall::WsClosed { mount, sid } => {
                if let Some(engine) = self.engine_mut(mount) {
                    engine.handle_websocket_closed(sid, now);
                }
            }
            HubCall::GetAborted { mount, sid } => {
                if let Some(engine) = self.engine_mut(mount) {
                    engine.handle_get_aborted(sid, now);
                }
            }
        }
        self.pump(now);
        if let Some((mount, client_ip, visitor)) = opened_by {
            self.remember_client(mount, client_ip, visitor);
        }
        self.pending_open.clear();
        answer
    }

    /// Remembers the client address of sessions just opened (the engine reported them while
    /// answering the request that carried `client_ip`).
    fn remember_client(&mut self, mount: Mount, client_ip: IpAddr, visitor: Option<SessionId>) {
        for sid in std::mem::take(&mut self.pending_open) {
            if let Some(engine) = self.engine_mut(mount) {
                engine.set_client(sid, client_ip);
            }
            if mount == Mount::SocketIo {
                self.chat.handle_session_open(sid, visitor.clone());
            }
        }
    }

    /// Runs every deadline due at `now`: heartbeats, connect and ack timeouts, recovery expiry.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.engine.handle_timeout(now);
        self.server.handle_timeout(now);
        if let Err(error) = self.chat.handle_timeout(now, &mut self.server) {
            self.log
                .push_back(LogLine::socketio_command_refused(&error));
        }
        if let Some(raw) = &mut self.raw {
            raw.handle_timeout(now);
        }
        self.pump(now);
    }

    /// The server is stopping (B4): as socket.io's `close()`, every session is closed (its
    /// sockets leave with `server shutting down`), and no new session opens.
    pub fn handle_shutdown(&mut self, now: Instant) {
        if self.stopping {
            return;
        }
        self.stopping = true;
        // Before the sessions close: the sockets a stop drops are not leaving their rooms.
        self.chat.handle_shutdown();
        let raw = self.raw.iter().flat_map(|raw| raw.sids());
        let sessions: Vec<(Mount, Sid)> = (self.engine.sids())
            .map(|sid| (Mount::SocketIo, sid))
            .chain(raw.map(|sid| (Mount::EngineIo, sid)))
            .collect();
        for (mount, sid) in sessions {
            if mount == Mount::SocketIo {
                self.server
                    .handle_close(now, sid, socketio::CloseReason::ServerShuttingDown);
            }
            if let Some(engine) = self.engine_mut(mount) {
                let _ = engine.close(sid, now);
            }
        }
        self.pump(now);
    }

    /// Moves events between the engine, the server and the app until all are quiet.
    fn pump(&mut self, now: Instant) {
        loop {
            let mut moved = false;
            while let Some(event) = self.engine.poll_event() {
                moved = true;
                self.handle_engine_event(now, event);
            }
            while let Some(event) = self.server.poll_event() {
                moved = true;
                self.log_socketio_event(&event);
                let for_chat =
                    event_namespace(&event).is_some_and(|ns| chat_app::NAMESPACES.contains(&ns));
                let result = match &mut self.conformance {
                    _ if for_chat => self.chat.handle_event(now, &mut self.server, event),
                    Some(app) => app.handle_event(now, &mut self.server, event),
                    None => Ok(()),
                };
                if let Err(error) = result {
                    self.log
                        .push_back(LogLine::socketio_command_refused(&error));
                }
            }
            while let Some(transmit) = self.server.poll_transmit() {
                moved = true;
                match transmit {
                    socketio::Transmit::Send { sid, payload } => {
                        let _ = self.engine.send(sid, payload, now);
                    }
                    socketio::Transmit::Broadcast { sids, payloads } => {
                        self.engine.broadcast(&sids, &payloads, now);
                    }
                    socketio::Transmit::Close { sid } => {
                        let _ = self.engine.close(sid, now);
                    }
                }
            }
            if let Some(raw) = &mut self.raw {
                while let Some(event) = raw.poll_event() {
                    moved = true;
                    match event {
                        EngineEvent::Message(sid, payload) => {
                            let _ = raw.send(sid, payload, now);
                        }
                        EngineEvent::Opened(sid) => self.pending_open.push(sid),
                        EngineEvent::Closed(sid, reason, client) => {
                            self.closed.push((Mount::EngineIo, sid, client));
                            log_close(&mut self.log, &reason);
                        }
                        EngineEvent::Upgraded(_) => {}
                    }
                }
            }
            if !moved {
                break;
            }
        }
        if let Some(cluster) = &mut self.cluster {
            cluster.collect(&mut self.server);
        }
        for (mount, sid, _) in self.closed.drain(..) {
            if mount == Mount::SocketIo {
                self.chat.handle_session_closed(sid);
            }
        }
        while let Some(line) = self.chat.poll_log() {
            self.log.push_back(line);
        }
        while let Some(sid) = self.engine.poll_ready() {
            self.ready.push_back((Mount::SocketIo, sid));
        }
        if let Some(raw) = &mut self.raw {
            while let Some(sid) = raw.poll_ready() {
                self.ready.push_back((Mount::EngineIo, sid));
            }
        }
    }

    fn handle_engine_event(&mut self, now: Instant, event: EngineEvent) {
        match event {
            EngineEvent::Opened(sid) => {
                self.pending_open.push(sid);
                self.server.handle_open(now, sid);
            }
            EngineEvent::Message(sid, payload) => self.server.handle_message(now, sid, payload),
            EngineEvent::Upgraded(_) => {}
            EngineEvent::Closed(sid, reason, client) => {
                log_close(&mut self.log, &reason);
                let reason = if self.stopping {
                    socketio::CloseReason::ServerShuttingDown
                } else {
                    close_reason(&reason)
                };
                self.server.handle_close(now, sid, reason);
                // Forgotten once the pump is over: its sockets' disconnect lines need it.
                self.closed.push((Mount::SocketIo, sid, client));
            }
        }
    }

    /// The address a Socket.IO session was opened from: the engine's while it knows the
    /// session, then the closed list's until the pump ends.
    fn client(&self, sid: Sid) -> Option<IpAddr> {
        self.engine.client(sid).or_else(|| {
            (self.closed.iter())
                .find(|(mount, closed, _)| *mount == Mount::SocketIo && *closed == sid)
                .map(|(_, _, client)| *client)
        })
    }

    fn log_socketio_event(&mut self, event: &socketio::Event) {
        let line = match event {
            socketio::Event::Connected { ns, sid, .. } => {
                let ip = self.client(*sid);
                ip.map(|ip| LogLine::namespace_connected(ip, ns.as_str()))
            }
            socketio::Event::Disconnected { ns, sid, .. } => {
                let ip = self.client(*sid);
                ip.map(|ip| LogLine::namespace_disconnected(ip, ns.as_str()))
            }
            socketio::Event::SessionClosed {
                reason: reason @ socketio::SessionCloseReason::InvalidPacket(_),
                ..
            } => Some(LogLine::socketio_session_closed(reason)),
            _ => None,
        };
        self.log.extend(line);
    }

    /// A session whose connection has something to do: its parked GET can be answered, or its
    /// WebSocket has output (or must close). Each is named once until polled again.
    pub fn poll_ready(&mut self) -> Option<(Mount, Sid)> {
        self.ready.pop_front()
    }

    /// The answer for the GET parked for `sid`: `Ok` with its body when it can be answered now,
    /// `Error` when the session is gone (drop the request), `Parked` to keep waiting.
    pub fn poll_get_answer(&mut self, mount: Mount, sid: Sid) -> Answer {
        let Some(engine) = self.engine_mut(mount) else {
            return Answer::Error(RequestError::UnknownSid);
        };
        let answer = match engine.poll_get_answer(sid) {
            Some(body) => Answer::Ok(body),
            None if engine.transport(sid).is_some() => Answer::Parked(sid),
            None => Answer::Error(RequestError::UnknownSid),
        };
        self.drain_ready();
        answer
    }

    /// The next message (or the close) for `sid`'s WebSocket; `Close` as well when the session
    /// is gone.
    pub fn poll_websocket(&mut self, mount: Mount, sid: Sid) -> Option<WsOutput> {
        let engine = self.engine_mut(mount)?;
        let output = match engine.poll_websocket(sid) {
            Some(output) => Some(output),
            None if engine.queued_bytes(sid).is_none() => Some(WsOutput::Close),
            None => None,
        };
        self.drain_ready();
        output
    }

    fn drain_ready(&mut self) {
        while let Some(sid) = self.engine.poll_ready() {
            self.ready.push_back((Mount::SocketIo, sid));
        }
        if let Some(raw) = &mut self.raw {
            while let Some(sid) = raw.poll_ready() {
                self.ready.push_back((Mount::EngineIo, sid));
            }
        }
    }

    /// Whether broadcasts are offered for writing straight to idle recipients' sockets
    /// ([`poll_direct`](Self::poll_direct); see [`engineio::DirectFrame`]). Off by default.
    pub fn set_direct_delivery(&mut self, on: bool) {
        self.engine.set_direct_delivery(on);
    }

    /// The next broadcast frame offered straight to its recipients' sockets (`/socket.io/`
    /// sessions): after every `handle_*`, take them all, write each to the recipients whose
    /// connection has nothing unsent, and report the others with
    /// [`handle_direct_refused`](Self::handle_direct_refused), before anything else.
    pub fn poll_direct(&mut self) -> Option<engineio::DirectFrame> {
        self.engine.poll_direct()
    }

    /// `sid` could not take `frame` straight away: it is queued for its connection, which
    /// [`poll_ready`](Self::poll_ready) then names.
    pub fn handle_direct_refused(&mut self, frame: &engineio::DirectFrame, sid: Sid, now: Instant) {
        self.engine.handle_direct_refused(frame, sid, now);
        // Queueing it may cross the high-water mark and close the session: tell the server.
        self.pump(now);
    }

    /// The next line to log.
    pub fn poll_log(&mut self) -> Option<LogLine> {
        self.log.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) next has work.
    pub fn poll_timeout(&self) -> Option<Instant> {
        [
            self.engine.poll_timeout(),
            self.server.poll_timeout(),
            self.chat.poll_timeout(),
            self.raw.as_ref().and_then(Engine::poll_timeout),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    // ---- the chat's HTTP side and its store (SPEC §6) ----

    /// A chat request from a connection, under the runtime's `ticket`: its answer comes out of
    /// [`poll_chat_answer`](Self::poll_chat_answer), at once or after the store replied.
    pub fn handle_chat_request(&mut self, now: Instant, ticket: ChatTicket, request: ChatRequest) {
        self.chat.handle_request(now, ticket, request);
        self.pump(now);
    }

    /// The next answer to a chat request, with its ticket.
    pub fn poll_chat_answer(&mut self) -> Option<(ChatTicket, ChatAnswer)> {
        self.chat.poll_answer()
    }

    /// The next request for the store: hand it to the store and its reply to
    /// [`handle_store_reply`](Self::handle_store_reply) under the same ticket.
    pub fn poll_store_request(&mut self) -> Option<(StoreTicket, StoreRequest)> {
        self.chat.poll_store_request()
    }

    /// The store's reply to the request of `ticket`.
    pub fn handle_store_reply(&mut self, now: Instant, ticket: StoreTicket, reply: StoreReply) {
        if let Err(error) = self
            .chat
            .handle_store_reply(now, &mut self.server, ticket, reply)
        {
            self.log
                .push_back(LogLine::socketio_command_refused(&error));
        }
        self.pump(now);
    }

    /// The next uploaded image nothing refers to any more (its room was removed), for the I/O
    /// layer to delete from the upload directory.
    pub fn poll_removed_gif(&mut self) -> Option<GifName> {
        self.chat.poll_removed_gif()
    }

    // ---- the cluster (SPEC M1–M3, `hub/cluster.rs`) ----

    /// A payload received on one of the cluster's channels: a broadcast from another instance
    /// is delivered to the local sockets it is for. A message that cannot be read or delivered
    /// gets one log line.
    pub fn handle_cluster_message(&mut self, now: Instant, payload: &[u8]) {
        let Some(cluster) = &mut self.cluster else {
            return;
        };
        if let Err(error) = cluster.handle_message(now, &mut self.server, payload) {
            self.log.push_back(LogLine::cluster_message_refused(&error));
        }
        self.pump(now);
    }

    /// The next change to the cluster's Redis subscriptions (`SSUBSCRIBE`/`SUNSUBSCRIBE`), in
    /// order.
    pub fn poll_subscription(&mut self) -> Option<Subscription> {
        self.cluster.as_mut()?.poll_subscription()
    }

    /// The next payload to `SPUBLISH` for the other instances.
    pub fn poll_publish(&mut self) -> Option<Publish> {
        self.cluster.as_mut()?.poll_publish()
    }

    /// The next command on gif-chat's recovery keys in Redis (SPEC M5,
    /// `hub/cluster_recovery.rs`), to run in order with the publishes.
    pub fn poll_recovery_command(&mut self) -> Option<RecoveryCommand> {
        self.cluster.as_mut()?.recovery.poll_command()
    }

    /// What Redis held for a [`RecoveryCommand::Lookup`]: the CONNECT that waited for it is
    /// answered (restored or fresh).
    pub fn handle_recovery_answer(&mut self, now: Instant, answer: LookupAnswer) {
        let Some(cluster) = &mut self.cluster else {
            return;
        };
        cluster.recovery.answer(&mut self.server, answer);
        self.pump(now);
    }

    /// The chat app, for tests and the stop line.
    pub fn chat(&self) -> &ChatApp {
        &self.chat
    }

    /// Open Engine.IO sessions, both mounts.
    pub fn session_count(&self) -> usize {
        self.engine.session_count() + self.raw.as_ref().map_or(0, Engine::session_count)
    }
}

/// The namespace an app event is about (`None`: the whole session's).
fn event_namespace(event: &socketio::Event) -> Option<&str> {
    use socketio::Event as E;
    match event {
        E::Connected { ns, .. }
        | E::ConnectRequest { ns, .. }
        | E::Event { ns, .. }
        | E::AckReceived { ns, .. }
        | E::AckTimedOut { ns, .. }
        | E::Disconnected { ns, .. } => Some(ns.as_str()),
        E::SessionClosed { .. } => None,
    }
}

/// The Socket.IO layer's name for why the engine closed a session.
fn close_reason(reason: &engineio::CloseReason) -> socketio::CloseReason {
    use engineio::CloseReason as E;
    match reason {
        E::ClientClose | E::TransportClose => socketio::CloseReason::TransportClose,
        E::TransportError(_) | E::ParseError(_) | E::PayloadTooLarge { .. } => {
            socketio::CloseReason::TransportError
        }
        E::PingTimeout => socketio::CloseReason::PingTimeout,
        E::BufferFull { .. } | E::ServerClose => socketio::CloseReason::ForcedClose,
    }
}

/// Sessions closed for a reason worth an operator's attention get a line on stderr (E7's
/// buffer bound among them); ordinary ends (the client left, a ping timeout) get none.
fn log_close(log: &mut VecDeque<LogLine>, reason: &engineio::CloseReason) {
    use engineio::CloseReason as E;
    if matches!(
        reason,
        E::BufferFull { .. } | E::PayloadTooLarge { .. } | E::ParseError(_)
    ) {
        log.push_back(LogLine::engineio_session_closed(reason));
    }
}
