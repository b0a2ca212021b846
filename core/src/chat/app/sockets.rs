//! The `/chat` namespace: who may connect to a room, and what members do in it.
//!
//! A CONNECT names its room in the handshake's auth (`{roomId}`); the visitor is the session's
//! cookie. Admission is decided from the cache at once (the room exists, the visitor is
//! admitted to a password room, a seat is free or theirs already), the socket joins the
//! Socket.IO room named by the room id, and a visitor's first socket is their arrival. Leaving
//! is the mirror: the last socket of a visitor gone, they left; if they owned the room, the
//! longest-present member takes it over (C9).
//!
//! Client events (`chat`, `whisper`, `kick`) are answered through their ack: `{ok: true}` or
//! `{error}`. Lines wait for the store before they go out, so what a room sees is what its
//! history will show.

use std::time::Instant;

use serde_json::Value;

use super::{wire, ChatApp, Origin, Pending, CHAT_NAMESPACE, ROOM_NAMESPACE};
use crate::chat::{Author, ChatKind, ChatRefusal, ChatText, Colour, NewChat, RoomId, StoreRequest};
use crate::engineio::Sid;
use crate::log::LogLine;
use crate::socketio::{AckId, Args, CommandError, Server, SocketId, To};

/// Why a socket event was refused, as its ack's `error`.
const NO_SESSION: &str = "세션이 없습니다. 방 목록에서 다시 입장하세요.";
const NOT_A_MEMBER_THERE: &str = "방에 없는 사람입니다.";
const OWNER_ONLY: &str = "방장만 강퇴할 수 있습니다.";
const NOT_YOURSELF: &str = "자기 자신은 강퇴할 수 없습니다.";
const BAD_ARGUMENTS: &str = "잘못된 요청입니다.";
const TOO_LONG: &str = "채팅이 너무 깁니다.";
const EMPTY: &str = "채팅을 입력하세요.";

/// How a member left.
enum Leaving {
    /// Their last socket went.
    Left,
    /// The owner kicked them.
    Kicked,
}

impl ChatApp {
    pub(super) fn handle_connect_request(
        &mut self,
        now: Instant,
        server: &mut Server,
        sid: Sid,
        auth: &Value,
    ) -> Result<(), CommandError> {
        let Some(visitor) = self.visitors.get(&sid).cloned() else {
            return server.refuse(CHAT_NAMESPACE, sid, NO_SESSION);
        };
        let room = room_in(auth);
        let Some(state) = room.and_then(|room| self.rooms.get(&room)) else {
            return server.refuse(CHAT_NAMESPACE, sid, ChatRefusal::NoSuchRoom.message());
        };
        if !state.is_admitted(&visitor) {
            let refusal = ChatRefusal::PasswordNeeded(state.room.clone());
            return server.refuse(CHAT_NAMESPACE, sid, refusal.message());
        }
        if !state.has_seat_for(&visitor) {
            return server.refuse(CHAT_NAMESPACE, sid, ChatRefusal::RoomFull.message());
        }
        let room = state.room.id;
        let socket = server.admit(now, CHAT_NAMESPACE, sid)?;
        server.join(CHAT_NAMESPACE, socket, room.as_str())?;
        self.rooms.bind_socket(socket, room);
        let Some(state) = self.rooms.get_mut(&room) else {
            return Ok(());
        };
        let arrived = state.add_socket(&visitor, socket);
        let colour = crate::chat::colour_of(&visitor);
        if arrived {
            let text = format!("{colour}님이 입장하셨습니다.");
            let args = Args::json(vec![wire::system(&text)]);
            let to = To::RoomExcept {
                room: room.as_str(),
                except: socket,
            };
            server.emit(now, CHAT_NAMESPACE, to, "join", &args)?;
            self.store_system_line(room, text);
        }
        self.send_members(now, server, room)
    }

    /// `members` to the whole room.
    fn send_members(
        &mut self,
        now: Instant,
        server: &mut Server,
        room: RoomId,
    ) -> Result<(), CommandError> {
        let Some(state) = self.rooms.get(&room) else {
            return Ok(());
        };
        let args = Args::json(vec![wire::members(
            state.room.owner_colour,
            &state.colours(),
        )]);
        server.emit(
            now,
            CHAT_NAMESPACE,
            To::Room(room.as_str()),
            "members",
            &args,
        )
    }

    pub(super) fn handle_disconnected(
        &mut self,
        now: Instant,
        server: &mut Server,
        socket: SocketId,
    ) -> Result<(), CommandError> {
        // Kicked sockets were unbound before they were put out.
        let Some(room) = self.rooms.unbind_socket(socket) else {
            return Ok(());
        };
        if self.stopping {
            // A stop is not leaving: the members stay as they were, for the next start.
            return Ok(());
        }
        let Some(state) = self.rooms.get_mut(&room) else {
            return Ok(());
        };
        match state.remove_socket(socket, now) {
            Some(member) => self.member_left(now, server, room, member.colour, Leaving::Left),
            None => Ok(()),
        }
    }

    /// A member is gone: tell the room, store the line, hand the room over if they owned it.
    fn member_left(
        &mut self,
        now: Instant,
        server: &mut Server,
        room: RoomId,
        colour: Colour,
        how: Leaving,
    ) -> Result<(), CommandError> {
        let text = match how {
            Leaving::Left => format!("{colour}님이 퇴장하셨습니다."),
            Leaving::Kicked => format!("{colour}님이 강퇴되었습니다."),
        };
        let args = Args::json(vec![wire::system(&text)]);
        let mut result = server.emit(now, CHAT_NAMESPACE, To::Room(room.as_str()), "exit", &args);
        self.store_system_line(room, text);
        let Some(state) = self.rooms.get_mut(&room) else {
            return result;
        };
        // The owner is a colour; another member of the same colour keeps the role.
        let owner_gone =
            state.room.owner_colour == colour && state.member_by_colour(colour).is_none();
        if owner_gone {
            if let Some(heir) = state.members.first().map(|m| m.colour) {
                state.room.owner_colour = heir;
                let updated = wire::room(&state.room);
                self.log.push_back(LogLine::owner_changed(&room, &heir));
                self.store(
                    StoreRequest::SetOwner { room, owner: heir },
                    Pending::Quiet("pass a room's owner role on"),
                );
                let text = format!("{heir}님이 방장이 되었습니다.");
                let args = Args::json(vec![wire::system(&text)]);
                let to = To::Room(room.as_str());
                result = result.and(server.emit(now, CHAT_NAMESPACE, to, "system", &args));
                self.store_system_line(room, text);
                let args = Args::json(vec![updated]);
                result = result.and(server.emit(
                    now,
                    ROOM_NAMESPACE,
                    To::Namespace,
                    "updateRoom",
                    &args,
                ));
            }
        }
        result.and(self.send_members(now, server, room))
    }

    pub(super) fn handle_socket_event(
        &mut self,
        now: Instant,
        server: &mut Server,
        socket: SocketId,
        name: &str,
        args: &Args,
        ack: Option<AckId>,
    ) -> Result<(), CommandError> {
        let Some(room) = self.rooms.room_of(socket) else {
            return Ok(());
        };
        let Some(member) = self
            .rooms
            .get(&room)
            .and_then(|state| state.members.iter().find(|m| m.sockets.contains(&socket)))
        else {
            return Ok(());
        };
        let (visitor, colour) = (member.visitor.clone(), member.colour);
        let first = args.values.first();
        let outcome = match name {
            "chat" => {
                let text = match first {
                    Some(Value::String(text)) => Some(text.as_str()),
                    Some(value) => value.get("chat").and_then(Value::as_str),
                    None => None,
                };
                self.checked_text(text).and_then(|text| {
                    self.take_rate(&visitor, now)?;
                    self.store_line(room, colour, ChatKind::Text(text), socket, ack);
                    Ok(None)
                })
            }
            "whisper" => {
                let to = first
                    .and_then(|v| v.get("to"))
                    .and_then(Value::as_str)
                    .and_then(Colour::parse);
                let text = first.and_then(|v| v.get("chat")).and_then(Value::as_str);
                match to {
                    None => Err(BAD_ARGUMENTS),
                    Some(to) => self.checked_text(text).and_then(|text| {
                        let present = self
                            .rooms
                            .get(&room)
                            .is_some_and(|state| state.member_by_colour(to).is_some());
                        if !present {
                            return Err(NOT_A_MEMBER_THERE);
                        }
                        self.take_rate(&visitor, now)?;
                        self.store_line(room, colour, ChatKind::Whisper { to, text }, socket, ack);
                        Ok(None)
                    }),
                }
            }
            "kick" => {
                let target = first
                    .and_then(|v| v.get("target"))
                    .and_then(Value::as_str)
                    .and_then(Colour::parse);
                match target {
                    None => Err(BAD_ARGUMENTS),
                    Some(target) => self
                        .kick(now, server, room, colour, target)
                        .map(|()| Some(wire::ok())),
                }
            }
            _ => return Ok(()),
        };
        let answer = match outcome {
            Ok(None) => return Ok(()),
            Ok(Some(answer)) => answer,
            Err(message) => wire::error(message),
        };
        match ack {
            Some(ack) => server.ack(CHAT_NAMESPACE, socket, ack, &Args::json(vec![answer])),
            None => Ok(()),
        }
    }

    /// Stores a member's line; the store's reply sends it to the room and answers the ack.
    fn store_line(
        &mut self,
        room: RoomId,
        colour: Colour,
        kind: ChatKind,
        socket: SocketId,
        ack: Option<AckId>,
    ) {
        let line = NewChat {
            room,
            user: Author::Visitor(colour),
            kind,
        };
        self.store(
            StoreRequest::AppendChat(line),
            Pending::Post {
                origin: Origin::Socket(socket, ack),
                colour,
                gif: None,
            },
        );
    }

    fn checked_text(&self, text: Option<&str>) -> Result<ChatText, &'static str> {
        let text = text.ok_or(BAD_ARGUMENTS)?;
        if text.chars().count() > self.config.max_chars {
            return Err(TOO_LONG);
        }
        ChatText::new(text).map_err(|error| match error {
            crate::chat::InputError::ChatTooLong => TOO_LONG,
            _ => EMPTY,
        })
    }

    fn take_rate(
        &mut self,
        visitor: &crate::chat::SessionId,
        now: Instant,
    ) -> Result<(), &'static str> {
        self.rate
            .take(visitor, now)
            .map_err(|retry_after| ChatRefusal::TooFast { retry_after }.message())
    }

    /// The owner puts a member out: `kicked` to each of their sockets, which leave `/chat`;
    /// the room reads `<colour>님이 강퇴되었습니다.`.
    fn kick(
        &mut self,
        now: Instant,
        server: &mut Server,
        room: RoomId,
        by: Colour,
        target: Colour,
    ) -> Result<(), &'static str> {
        let state = self.rooms.get_mut(&room).ok_or(NOT_A_MEMBER_THERE)?;
        if state.room.owner_colour != by {
            return Err(OWNER_ONLY);
        }
        if target == by {
            return Err(NOT_YOURSELF);
        }
        let member = state.remove_member(target, now).ok_or(NOT_A_MEMBER_THERE)?;
        // A password room asks a kicked visitor for the password again.
        state.admitted.remove(&member.visitor);
        self.log.push_back(LogLine::member_kicked(&room, &target));
        let args = Args::json(vec![wire::kicked(by)]);
        for socket in &member.sockets {
            self.rooms.unbind_socket(*socket);
            let emitted = server.emit(now, CHAT_NAMESPACE, To::Socket(*socket), "kicked", &args);
            let put_out = server.disconnect(now, CHAT_NAMESPACE, *socket);
            if let Err(error) = emitted.and(put_out) {
                self.log
                    .push_back(LogLine::socketio_command_refused(&error));
            }
        }
        if let Err(error) = self.member_left(now, server, room, target, Leaving::Kicked) {
            self.log
                .push_back(LogLine::socketio_command_refused(&error));
        }
        Ok(())
    }
}

/// The room a `/chat` CONNECT names in its auth (`{roomId}`), if it names a well-formed one.
pub(super) fn room_in(auth: &Value) -> Option<RoomId> {
    auth.get("roomId")
        .and_then(Value::as_str)
        .and_then(RoomId::parse)
}
