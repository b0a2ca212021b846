//! The chat's in-memory world: one [`Hub`], a fake store that answers every
//! [`StoreRequest`] as the real one would, visitors with WebSocket sessions, and a virtual
//! clock. Shared by the `chat_*` tests.

#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use bytes::Bytes;
use gif_chat_core::chat::{
    Chat, ChatAction, ChatAnswer, ChatId, ChatKind, ChatRequest, ChatTicket, GifName,
    PasswordVerdict, Room, RoomId, SessionId, StoreError, StoreReply, StoreRequest, UnixMillis,
    SESSION_ID_RANDOM_BYTES,
};
use gif_chat_core::engineio::{Answer, Method, Sid, WsInput, WsMessage, WsOutput};
use gif_chat_core::{Hub, HubCall, HubConfig, Mount};
use serde_json::Value;

/// What the SQLite store does, in memory.
#[derive(Default, Clone)]
pub struct FakeStore {
    pub rooms: Vec<(Room, Option<String>)>,
    pub chats: Vec<Chat>,
    next_room: u8,
    next_chat: i64,
    pub requests: usize,
}

impl FakeStore {
    pub fn handle(&mut self, request: StoreRequest) -> StoreReply {
        self.requests += 1;
        let clock = UnixMillis(1_796_070_847_000 + self.requests as i64);
        match request {
            StoreRequest::CreateRoom(new) => {
                self.next_room += 1;
                let room = Room {
                    id: RoomId::from_random([self.next_room; 16]),
                    title: new.title,
                    max: new.max,
                    owner_colour: new.owner,
                    has_password: new.password.is_some(),
                    created_at: clock,
                };
                let password = new.password.map(|p| p.expose().to_owned());
                self.rooms.push((room.clone(), password));
                StoreReply::Room(room)
            }
            StoreRequest::ListRooms => {
                StoreReply::Rooms(self.rooms.iter().map(|(r, _)| r.clone()).collect())
            }
            StoreRequest::GetRoom(id) => match self.rooms.iter().find(|(r, _)| r.id == id) {
                Some((room, _)) => StoreReply::Room(room.clone()),
                None => StoreReply::Failed(StoreError::NoSuchRoom),
            },
            StoreRequest::CheckPassword { room, password } => {
                match self.rooms.iter().find(|(r, _)| r.id == room) {
                    None => StoreReply::Failed(StoreError::NoSuchRoom),
                    Some((_, None)) => StoreReply::Password(PasswordVerdict::NotNeeded),
                    Some((_, Some(p))) if p == password.expose() => {
                        StoreReply::Password(PasswordVerdict::Right)
                    }
                    Some(_) => StoreReply::Password(PasswordVerdict::Wrong),
                }
            }
            StoreRequest::SetOwner { room, owner } => {
                match self.rooms.iter_mut().find(|(r, _)| r.id == room) {
                    Some((r, _)) => {
                        r.owner_colour = owner;
                        StoreReply::Room(r.clone())
                    }
                    None => StoreReply::Failed(StoreError::NoSuchRoom),
                }
            }
            StoreRequest::AppendChat(new) => {
                if !self.rooms.iter().any(|(r, _)| r.id == new.room) {
                    return StoreReply::Failed(StoreError::NoSuchRoom);
                }
                self.next_chat += 1;
                let chat = Chat {
                    id: ChatId(self.next_chat),
                    room: new.room,
                    user: new.user,
                    kind: new.kind,
                    created_at: clock,
                };
                self.chats.push(chat.clone());
                StoreReply::Chat(chat)
            }
            StoreRequest::History { room, limit } => {
                let lines: Vec<Chat> = self
                    .chats
                    .iter()
                    .filter(|c| c.room == room)
                    .cloned()
                    .collect();
                let skip = lines.len().saturating_sub(limit as usize);
                StoreReply::History(lines[skip..].to_vec())
            }
            StoreRequest::DeleteRoom(id) => {
                if !self.rooms.iter().any(|(r, _)| r.id == id) {
                    return StoreReply::Failed(StoreError::NoSuchRoom);
                }
                self.rooms.retain(|(r, _)| r.id != id);
                let gifs = self
                    .chats
                    .iter()
                    .filter(|c| c.room == id)
                    .filter_map(|c| match &c.kind {
                        ChatKind::Gif(name) => Some(name.clone()),
                        _ => None,
                    })
                    .collect();
                self.chats.retain(|c| c.room != id);
                StoreReply::RoomDeleted { gifs }
            }
        }
    }

    /// The texts of a room's system lines, in order.
    pub fn system_lines(&self) -> Vec<String> {
        self.chats
            .iter()
            .filter_map(|c| match &c.kind {
                ChatKind::System(text) => Some(text.clone()),
                _ => None,
            })
            .collect()
    }
}

pub struct World {
    pub hub: Hub,
    pub now: Instant,
    pub store: FakeStore,
    pub logs: Vec<String>,
    next_ticket: u64,
    /// Store replies held back (a slow store), when `hold_store` is set.
    pub hold_store: bool,
}

pub fn visitor(n: u8) -> SessionId {
    SessionId::from_random([n; SESSION_ID_RANDOM_BYTES])
}

impl World {
    pub fn new(config: HubConfig, store: FakeStore) -> World {
        let mut world = World {
            hub: Hub::new(config, [3; 32]),
            now: Instant::now(),
            store,
            logs: Vec::new(),
            next_ticket: 0,
            hold_store: false,
        };
        world.settle();
        world
    }

    pub fn chat_config() -> HubConfig {
        let mut config = HubConfig::new();
        config.socketio.recovery = None;
        config
    }

    /// Answers every store request (unless held) and collects the log.
    pub fn settle(&mut self) {
        while !self.hold_store {
            let Some((ticket, request)) = self.hub.poll_store_request() else {
                break;
            };
            let reply = self.store.handle(request);
            self.hub.handle_store_reply(self.now, ticket, reply);
        }
        while let Some(line) = self.hub.poll_log() {
            self.logs.push(line.text);
        }
    }

    pub fn advance(&mut self, by: Duration) {
        self.now += by;
        if self.hub.poll_timeout().is_some_and(|at| at <= self.now) {
            self.hub.handle_timeout(self.now);
        }
        self.settle();
    }

    /// An HTTP chat request, answered (after the store, if it needs it).
    pub fn request(&mut self, who: &SessionId, action: ChatAction) -> ChatAnswer {
        let ticket = self.send_request(who, action);
        self.settle();
        self.answer_for(ticket).expect("an answer")
    }

    pub fn send_request(&mut self, who: &SessionId, action: ChatAction) -> ChatTicket {
        self.next_ticket += 1;
        let ticket = ChatTicket(self.next_ticket);
        let request = ChatRequest {
            visitor: who.clone(),
            client_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            action,
        };
        self.hub.handle_chat_request(self.now, ticket, request);
        ticket
    }

    pub fn answer_for(&mut self, ticket: ChatTicket) -> Option<ChatAnswer> {
        let (got, answer) = self.hub.poll_chat_answer()?;
        assert_eq!(got, ticket, "answers come in order here");
        Some(answer)
    }

    /// A WebSocket Engine.IO session of `who` (with a cookie, or none).
    pub fn open(&mut self, who: Option<&SessionId>) -> Sid {
        let call = HubCall::Request {
            mount: Mount::SocketIo,
            method: Method::Get,
            query: "EIO=4&transport=websocket".into(),
            body: Bytes::new(),
            websocket_upgrade: true,
            client_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            visitor: who.cloned(),
        };
        let Some(Answer::WebSocket(sid)) = self.hub.handle_call(self.now, call) else {
            panic!("a WebSocket session");
        };
        let open = self.received(sid);
        assert!(open[0].starts_with("0{"), "{open:?}");
        sid
    }

    /// Sends one Engine.IO message packet (`4` + the Socket.IO packet).
    pub fn send(&mut self, sid: Sid, packet: &str) {
        let call = HubCall::WsMessage {
            mount: Mount::SocketIo,
            sid,
            message: WsInput::Text(Bytes::from(format!("4{packet}"))),
        };
        self.hub.handle_call(self.now, call);
        self.settle();
    }

    /// Everything the session was sent since the last call, as Engine.IO packets.
    pub fn received(&mut self, sid: Sid) -> Vec<String> {
        while self.hub.poll_ready().is_some() {}
        let mut out = Vec::new();
        while let Some(output) = self.hub.poll_websocket(Mount::SocketIo, sid) {
            match output {
                WsOutput::Message(WsMessage::Text { packet_type, data }) => out.push(format!(
                    "{}{}",
                    packet_type as char,
                    String::from_utf8_lossy(&data)
                )),
                WsOutput::Message(other) => out.push(format!("{other:?}")),
                WsOutput::Close => {
                    out.push("close".into());
                    break;
                }
            }
        }
        out
    }

    /// The Socket.IO events (`name`, first argument) of `ns` the session was sent.
    pub fn events(&mut self, sid: Sid, ns: &str) -> Vec<(String, Value)> {
        let prefix = format!("42{ns},");
        self.received(sid)
            .iter()
            .filter_map(|p| p.strip_prefix(&prefix))
            .map(|json| {
                let json = json.trim_start_matches(|c: char| c.is_ascii_digit());
                let value: Value = serde_json::from_str(json).expect("JSON");
                (
                    value[0].as_str().unwrap_or_default().to_owned(),
                    value.get(1).cloned().unwrap_or(Value::Null),
                )
            })
            .collect()
    }

    /// Connects `/chat` for a room; the CONNECT's answer packet.
    pub fn join(&mut self, sid: Sid, room: &RoomId) -> String {
        self.send(sid, &format!("0/chat,{{\"roomId\":\"{room}\"}}"));
        let answer = self.received(sid);
        answer
            .iter()
            .find(|p| p.starts_with("40/chat,") || p.starts_with("44/chat,"))
            .cloned()
            .unwrap_or_else(|| panic!("a CONNECT answer in {answer:?}"))
    }

    /// Connects `/chat` and drops what came with the answer.
    pub fn enter(&mut self, sid: Sid, room: &RoomId) {
        let answer = self.join(sid, room);
        assert!(answer.starts_with("40/chat,"), "{answer}");
    }

    /// A visitor with a session in `room`, created by an HTTP enter first.
    pub fn member(&mut self, who: &SessionId, room: &RoomId) -> Sid {
        let answer = self.request(
            who,
            ChatAction::Enter {
                room: *room,
                password: None,
            },
        );
        assert!(matches!(answer, ChatAnswer::Entered { .. }), "{answer:?}");
        let sid = self.open(Some(who));
        self.enter(sid, room);
        sid
    }

    pub fn create(
        &mut self,
        who: &SessionId,
        title: &str,
        max: i64,
        password: Option<&str>,
    ) -> Room {
        let action = ChatAction::CreateRoom {
            title: gif_chat_core::chat::Title::new(title).expect("title"),
            max: gif_chat_core::chat::RoomMax::new(max).expect("max"),
            password: password.map(|p| gif_chat_core::chat::Password::new(p).expect("password")),
        };
        match self.request(who, action) {
            ChatAnswer::Created(room) => room,
            other => panic!("{other:?}"),
        }
    }

    pub fn gif(name: &str) -> GifName {
        GifName::parse(name).expect("a gif name")
    }
}
