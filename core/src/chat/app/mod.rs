//! The GIF chat room's server side (SPEC §6), as an application above the Socket.IO server: the
//! namespaces `/room` (the live room list) and `/chat` (one room's members and lines), and the
//! HTTP side's [`ChatRequest`]s, over one cache of rooms and members and one store.
//!
//! Like everything in the core it is sans-IO: the hub hands it Socket.IO [`Event`]s, HTTP
//! requests and store replies with the time, and takes out emits (through the [`Server`]'s
//! commands), HTTP answers, [`StoreRequest`]s, files to delete and log lines. Whatever needs the
//! store waits for its reply under a [`StoreTicket`] (`pending`); everything else is answered
//! at once from the cache.
//!
//! - [`rooms`]: rooms, members (visitors, each with their sockets) and admissions;
//! - `sockets`: the `/chat` handshake and events (join, leave, chat, whisper, kick, hand-over);
//! - `requests`: the HTTP side's actions and the store replies they wait for;
//! - [`rate`]: the per-visitor limit on chats and uploads;
//! - [`wire`]: the events' JSON.
//!
//! Rooms are removed once empty (no `/chat` socket) for `empty_room_removal`; a stop is not
//! leaving (its disconnects change nothing), and the rooms loaded at start each get the window
//! from when the list arrives.
//!
//! The cache is filled at start and read through: a room asked for and not in it (created
//! through another instance sharing the store) is fetched with [`StoreRequest::GetRoom`], and
//! the request or CONNECT that asked waits for the reply.
//!
//! # In a fleet
//!
//! With [`ChatConfig::fleet`] (`REDIS_URL` set), several instances share one store (PostgreSQL)
//! and their Socket.IO broadcasts (through Redis). What holds across instances: a room created
//! through one is entered, listed and posted to through any other (read through, and the list is
//! read from the store); its history is the store's, whichever instance wrote it; a line sent to
//! a room reaches its members on every instance (the room's Socket.IO broadcast). What does not
//! hold yet, because it lives in each instance's memory: the members list (`members`, a seat
//! count against `max`), the visitors admitted to a password room (a visitor who gave the
//! password through one instance is asked again by another), the rate limit, and the owner's
//! hand-over (decided among the instance's own members). And since no instance knows whether
//! the others still have members in a room, a fleet never removes a room for being empty: it
//! stays in the store until removed by hand.
//!
//! [`Event`]: crate::socketio::Event

pub mod rate;
mod requests;
pub mod rooms;
mod sockets;
pub mod wire;

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::chat::{
    Author, ChatAnswer, ChatKind, ChatRefusal, ChatRequest, ChatTicket, Colour, GifName, NewChat,
    RoomId, SessionId, StoreError, StoreReply, StoreRequest, StoreTicket,
};
use crate::engineio::Sid;
use crate::log::LogLine;
use crate::socketio::{self, AckId, Admission, Args, CommandError, Server, SocketId, To};

pub use rate::{ChatRate, ChatRateError};
use rooms::Rooms;

/// The room list's namespace.
pub const ROOM_NAMESPACE: &str = "/room";
/// The room page's namespace.
pub const CHAT_NAMESPACE: &str = "/chat";
/// Both, as the hub routes events by them.
pub const NAMESPACES: [&str; 2] = [ROOM_NAMESPACE, CHAT_NAMESPACE];

/// The chat's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChatConfig {
    /// `ROOM_EMPTY_REMOVAL_MS`: how long a room may stay empty before it is removed.
    pub empty_room_removal: Duration,
    /// `CHAT_MAX_CHARS`: the longest chat line (at most [`ChatText::MAX_CHARS`]).
    ///
    /// [`ChatText::MAX_CHARS`]: crate::chat::ChatText::MAX_CHARS
    pub max_chars: usize,
    /// `CHAT_RATE`: chats and uploads per visitor.
    pub rate: ChatRate,
    /// `CHAT_HISTORY_LIMIT`: lines of history a room page shows.
    pub history_limit: u32,
    /// Other instances share the store and the rooms (`REDIS_URL` is set): the room list is
    /// read from the store, and no room is removed for being empty here (see the module doc).
    pub fleet: bool,
}

impl ChatConfig {
    /// The [`defaults`](crate::defaults).
    pub fn new() -> ChatConfig {
        use crate::defaults;
        ChatConfig {
            empty_room_removal: Duration::from_millis(defaults::ROOM_EMPTY_REMOVAL_MS),
            max_chars: defaults::CHAT_MAX_CHARS,
            rate: ChatRate {
                per_second: defaults::CHAT_RATE_PER_SECOND,
                burst: defaults::CHAT_RATE_BURST,
            },
            history_limit: defaults::CHAT_HISTORY_LIMIT,
            fleet: false,
        }
    }
}

impl Default for ChatConfig {
    fn default() -> ChatConfig {
        ChatConfig::new()
    }
}

/// Who waits for a stored line: an HTTP request, or a socket's ack.
#[derive(Clone, Copy, Debug)]
enum Origin {
    Http(ChatTicket),
    Socket(SocketId, Option<AckId>),
}

/// What to do with a store reply when it comes.
#[derive(Debug)]
enum Pending {
    /// The room list at start.
    Load,
    /// The room list for a request (in a fleet, where the cache may lack rooms).
    List(ChatTicket),
    /// A room missing from the cache; what waits for it is in `ChatApp::lookups`.
    Lookup(RoomId),
    Create {
        ticket: ChatTicket,
        visitor: SessionId,
    },
    Password {
        ticket: ChatTicket,
        visitor: SessionId,
        room: RoomId,
    },
    History {
        ticket: ChatTicket,
        visitor: SessionId,
        room: RoomId,
    },
    /// A text, image or whisper line to send once stored.
    Post {
        origin: Origin,
        colour: Colour,
        /// The image of an upload's line and its size: deleted if the line cannot be stored.
        gif: Option<(GifName, u64)>,
    },
    /// A system line or an owner change: sent already, stored for the history.
    Quiet(&'static str),
    Delete,
}

/// Work that arrived before the room list was loaded, done once it is.
#[derive(Debug)]
enum Deferred {
    Request(ChatTicket, ChatRequest),
    Connect(Sid, Value),
}

/// The chat app's whole state.
#[derive(Debug)]
pub struct ChatApp {
    config: ChatConfig,
    rooms: Rooms,
    rate: rate::RateLimit,
    /// The visitor of each Engine.IO session, from its cookie at the handshake.
    visitors: HashMap<Sid, SessionId>,
    loaded: bool,
    deferred: Vec<Deferred>,
    /// Rooms asked of the store after a cache miss, with the work waiting for each.
    lookups: HashMap<RoomId, Vec<Deferred>>,
    next_ticket: u64,
    pending: HashMap<StoreTicket, Pending>,
    store_requests: VecDeque<(StoreTicket, StoreRequest)>,
    answers: VecDeque<(ChatTicket, ChatAnswer)>,
    removed_gifs: VecDeque<GifName>,
    log: VecDeque<LogLine>,
    stopping: bool,
}

impl ChatApp {
    /// Opens `/room` and `/chat` on `server` and asks the store for the rooms it keeps.
    pub fn mount(server: &mut Server, config: ChatConfig) -> ChatApp {
        // No recovery: a page that lost its socket reconnects and is a member again, and the
        // list page follows `newRoom`/`removeRoom` from its reload.
        server.add_namespace_with(ROOM_NAMESPACE, Admission::Open, None);
        server.add_namespace_with(CHAT_NAMESPACE, Admission::ByApp, None);
        let mut app = ChatApp {
            rate: rate::RateLimit::new(config.rate),
            config,
            rooms: Rooms::default(),
            visitors: HashMap::new(),
            loaded: false,
            deferred: Vec::new(),
            lookups: HashMap::new(),
            next_ticket: 0,
            pending: HashMap::new(),
            store_requests: VecDeque::new(),
            answers: VecDeque::new(),
            removed_gifs: VecDeque::new(),
            log: VecDeque::new(),
            stopping: false,
        };
        app.store(StoreRequest::ListRooms, Pending::Load);
        app
    }

    /// The settings.
    pub fn config(&self) -> &ChatConfig {
        &self.config
    }

    /// Records the visitor of a session just opened (from its handshake's cookie).
    pub fn handle_session_open(&mut self, sid: Sid, visitor: Option<SessionId>) {
        if let Some(visitor) = visitor {
            self.visitors.insert(sid, visitor);
        }
    }

    /// Forgets a closed session's visitor.
    pub fn handle_session_closed(&mut self, sid: Sid) {
        self.visitors.remove(&sid);
    }

    /// The server is stopping: sockets dropped from now on are not leaving, and no room is
    /// removed.
    pub fn handle_shutdown(&mut self) {
        self.stopping = true;
    }

    /// Reacts to a Socket.IO event of `/room` or `/chat`.
    pub fn handle_event(
        &mut self,
        now: Instant,
        server: &mut Server,
        event: socketio::Event,
    ) -> Result<(), CommandError> {
        use socketio::Event as E;
        match event {
            E::ConnectRequest { ns, sid, auth } if ns.as_str() == CHAT_NAMESPACE => {
                if !self.loaded {
                    self.deferred.push(Deferred::Connect(sid, auth));
                    return Ok(());
                }
                self.connect_or_look_up(now, server, sid, auth)
            }
            E::Event {
                ns,
                socket,
                name,
                args,
                ack,
            } if ns.as_str() == CHAT_NAMESPACE => {
                self.handle_socket_event(now, server, socket, &name, &args, ack)
            }
            E::Disconnected { ns, socket, .. } if ns.as_str() == CHAT_NAMESPACE => {
                self.handle_disconnected(now, server, socket)
            }
            _ => Ok(()),
        }
    }

    /// Takes one HTTP request; its answer comes out of [`poll_answer`](Self::poll_answer), now
    /// or once the store replied.
    pub fn handle_request(&mut self, now: Instant, ticket: ChatTicket, request: ChatRequest) {
        if !self.loaded {
            self.deferred.push(Deferred::Request(ticket, request));
            return;
        }
        self.request_or_look_up(now, ticket, request);
    }

    /// Handles a request, or first fetches the room it names when the cache lacks it.
    fn request_or_look_up(&mut self, now: Instant, ticket: ChatTicket, request: ChatRequest) {
        match requests::room_named(&request.action) {
            Some(room) if self.rooms.get(&room).is_none() => {
                self.look_up(room, Deferred::Request(ticket, request));
            }
            _ => self.handle_loaded_request(now, ticket, request),
        }
    }

    /// Handles a `/chat` CONNECT, or first fetches its room when the cache lacks it.
    fn connect_or_look_up(
        &mut self,
        now: Instant,
        server: &mut Server,
        sid: Sid,
        auth: Value,
    ) -> Result<(), CommandError> {
        match sockets::room_in(&auth) {
            Some(room) if self.rooms.get(&room).is_none() => {
                self.look_up(room, Deferred::Connect(sid, auth));
                Ok(())
            }
            _ => self.handle_connect_request(now, server, sid, &auth),
        }
    }

    /// Asks the store for `room` (once, however many wait for it) and parks `waiting`.
    fn look_up(&mut self, room: RoomId, waiting: Deferred) {
        let asked = self.lookups.contains_key(&room);
        self.lookups.entry(room).or_default().push(waiting);
        if !asked {
            self.store(StoreRequest::GetRoom(room), Pending::Lookup(room));
        }
    }

    /// The store's answer on a room missing from the cache: cached if found, then what waited
    /// is handled from the cache (refused there if the room does not exist).
    fn handle_looked_up(
        &mut self,
        now: Instant,
        server: &mut Server,
        id: RoomId,
        reply: StoreReply,
    ) {
        match reply {
            StoreReply::Room(room) if room.id == id => {
                self.rooms.insert(room, Some(now));
            }
            StoreReply::Failed(StoreError::NoSuchRoom) => {}
            StoreReply::Failed(error) => self
                .log
                .push_back(LogLine::chat_store_failed("look a room up", &error)),
            _ => {}
        }
        for waiting in self.lookups.remove(&id).unwrap_or_default() {
            let result = match waiting {
                Deferred::Request(ticket, request) => {
                    self.handle_loaded_request(now, ticket, request);
                    Ok(())
                }
                Deferred::Connect(sid, auth) => {
                    self.handle_connect_request(now, server, sid, &auth)
                }
            };
            if let Err(error) = result {
                self.log
                    .push_back(LogLine::socketio_command_refused(&error));
            }
        }
    }

    /// The store's room list for a request: cached (a room already known keeps its members)
    /// and answered; on a failure, the cache's list.
    fn handle_listed(&mut self, now: Instant, ticket: ChatTicket, reply: StoreReply) {
        match reply {
            StoreReply::Rooms(rooms) => {
                for room in &rooms {
                    self.rooms.insert(room.clone(), Some(now));
                }
                self.answer(ticket, ChatAnswer::Rooms(rooms));
            }
            other => {
                if let StoreReply::Failed(error) = other {
                    self.log
                        .push_back(LogLine::chat_store_failed("list the rooms", &error));
                }
                let rooms = self.rooms.list();
                self.answer(ticket, ChatAnswer::Rooms(rooms));
            }
        }
    }

    /// The store's reply to the request of `ticket`; unknown tickets are ignored.
    pub fn handle_store_reply(
        &mut self,
        now: Instant,
        server: &mut Server,
        ticket: StoreTicket,
        reply: StoreReply,
    ) -> Result<(), CommandError> {
        let Some(pending) = self.pending.remove(&ticket) else {
            return Ok(());
        };
        match pending {
            Pending::Load => {
                self.handle_loaded(now, server, reply);
                Ok(())
            }
            Pending::List(ticket) => {
                self.handle_listed(now, ticket, reply);
                Ok(())
            }
            Pending::Lookup(room) => {
                self.handle_looked_up(now, server, room, reply);
                Ok(())
            }
            Pending::Quiet(what) => {
                if let StoreReply::Failed(error) = reply {
                    self.log.push_back(LogLine::chat_store_failed(what, &error));
                }
                Ok(())
            }
            Pending::Delete => {
                match reply {
                    StoreReply::RoomDeleted { gifs } => self.removed_gifs.extend(gifs),
                    StoreReply::Failed(error) => self
                        .log
                        .push_back(LogLine::chat_store_failed("delete a room", &error)),
                    _ => {}
                }
                Ok(())
            }
            Pending::Post {
                origin,
                colour,
                gif,
            } => self.handle_posted(now, server, (origin, colour, gif), reply),
            Pending::Create { ticket, visitor } => {
                self.handle_created(now, server, ticket, &visitor, reply)
            }
            Pending::Password {
                ticket,
                visitor,
                room,
            } => {
                self.handle_password_checked(ticket, visitor, room, reply);
                Ok(())
            }
            Pending::History {
                ticket,
                visitor,
                room,
            } => {
                self.handle_history(ticket, &visitor, room, reply);
                Ok(())
            }
        }
    }

    fn handle_loaded(&mut self, now: Instant, server: &mut Server, reply: StoreReply) {
        match reply {
            // Every stored room gets its window from now: whoever was in it before a restart
            // has that long to come back.
            StoreReply::Rooms(rooms) => {
                for room in rooms {
                    self.rooms.insert(room, Some(now));
                }
            }
            StoreReply::Failed(error) => self
                .log
                .push_back(LogLine::chat_store_failed("load the rooms", &error)),
            _ => {}
        }
        self.loaded = true;
        for deferred in std::mem::take(&mut self.deferred) {
            let result = match deferred {
                Deferred::Request(ticket, request) => {
                    self.request_or_look_up(now, ticket, request);
                    Ok(())
                }
                Deferred::Connect(sid, auth) => self.connect_or_look_up(now, server, sid, auth),
            };
            if let Err(error) = result {
                self.log
                    .push_back(LogLine::socketio_command_refused(&error));
            }
        }
    }

    /// Removes the rooms empty for the whole window.
    pub fn handle_timeout(
        &mut self,
        now: Instant,
        server: &mut Server,
    ) -> Result<(), CommandError> {
        self.rate.sweep(now);
        if !self.removes_empty_rooms() {
            return Ok(());
        }
        let window = self.config.empty_room_removal;
        let expired = self.rooms.expired(now, |since| after_window(since, window));
        let mut result = Ok(());
        for id in expired {
            self.rooms.remove(&id);
            self.log.push_back(LogLine::room_deleted(&id));
            self.store(StoreRequest::DeleteRoom(id), Pending::Delete);
            let args = Args::json(vec![Value::from(id.as_str())]);
            let emitted = server.emit(now, ROOM_NAMESPACE, To::Namespace, "removeRoom", &args);
            result = result.and(emitted);
        }
        result
    }

    /// When [`handle_timeout`](Self::handle_timeout) next has a room to remove.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if !self.removes_empty_rooms() {
            return None;
        }
        let window = self.config.empty_room_removal;
        self.rooms
            .earliest_empty()
            .map(|since| after_window(since, window))
    }

    /// Whether empty rooms are removed now: not while loading or stopping, and never in a
    /// fleet, where another instance may still have members in the room.
    fn removes_empty_rooms(&self) -> bool {
        self.loaded && !self.stopping && !self.config.fleet
    }

    /// The next answer to an HTTP request.
    pub fn poll_answer(&mut self) -> Option<(ChatTicket, ChatAnswer)> {
        self.answers.pop_front()
    }

    /// The next request for the store.
    pub fn poll_store_request(&mut self) -> Option<(StoreTicket, StoreRequest)> {
        self.store_requests.pop_front()
    }

    /// The next image of a removed room (or of a line that could not be stored) to delete.
    pub fn poll_removed_gif(&mut self) -> Option<GifName> {
        self.removed_gifs.pop_front()
    }

    /// The next line to log.
    pub fn poll_log(&mut self) -> Option<LogLine> {
        self.log.pop_front()
    }

    /// Rooms the app knows (for tests and the stop line).
    pub fn room_count(&self) -> usize {
        self.rooms.len()
    }

    /// Store requests sent and not yet answered.
    pub fn pending_store_requests(&self) -> usize {
        self.pending.len()
    }

    fn store(&mut self, request: StoreRequest, pending: Pending) {
        let ticket = StoreTicket(self.next_ticket);
        self.next_ticket += 1;
        self.pending.insert(ticket, pending);
        self.store_requests.push_back((ticket, request));
    }

    /// Stores a system line (already sent) for the history.
    fn store_system_line(&mut self, room: RoomId, text: String) {
        let line = NewChat {
            room,
            user: Author::System,
            kind: ChatKind::System(text),
        };
        self.store(
            StoreRequest::AppendChat(line),
            Pending::Quiet("store a system line"),
        );
    }

    fn answer(&mut self, ticket: ChatTicket, answer: ChatAnswer) {
        self.answers.push_back((ticket, answer));
    }

    fn refuse(&mut self, ticket: ChatTicket, refusal: ChatRefusal) {
        self.answer(ticket, ChatAnswer::Refused(refusal));
    }
}

/// `since + window`, never overflowing.
fn after_window(since: Instant, window: Duration) -> Instant {
    since.checked_add(window).unwrap_or(since)
}
