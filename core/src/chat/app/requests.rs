//! The HTTP side's actions ([`ChatAction`]) and the store replies they wait for.
//!
//! What the cache can decide (the list, whether a room exists, is full, admits the visitor, the
//! rate limit) is answered at once; what needs the database (a new room, a password, the
//! history, a line to store) goes out as a [`StoreRequest`] and is answered from the reply. A
//! room may be removed while its reply is on the way: the answer then says so.

use std::time::Instant;

use super::{wire, ChatApp, Origin, Pending, CHAT_NAMESPACE, ROOM_NAMESPACE};
use crate::chat::{
    colour_of, Author, ChatAction, ChatAnswer, ChatKind, ChatRefusal, ChatRequest, ChatTicket,
    Colour, GifName, NewChat, NewRoom, PasswordVerdict, RoomId, SessionId, StoreError, StoreReply,
    StoreRequest,
};
use crate::log::LogLine;
use crate::socketio::{Args, CommandError, Server, To};

impl ChatApp {
    pub(super) fn handle_loaded_request(
        &mut self,
        now: Instant,
        ticket: ChatTicket,
        request: ChatRequest,
    ) {
        let ChatRequest {
            visitor, action, ..
        } = request;
        match action {
            ChatAction::ListRooms if self.config.fleet => {
                self.store(StoreRequest::ListRooms, Pending::List(ticket));
            }
            ChatAction::ListRooms => {
                let rooms = self.rooms.list();
                self.answer(ticket, ChatAnswer::Rooms(rooms));
            }
            ChatAction::CreateRoom {
                title,
                max,
                password,
            } => {
                if self.stopping {
                    return self.refuse(ticket, ChatRefusal::Stopping);
                }
                let new = NewRoom {
                    title,
                    max,
                    password,
                    owner: colour_of(&visitor),
                };
                self.store(
                    StoreRequest::CreateRoom(new),
                    Pending::Create { ticket, visitor },
                );
            }
            ChatAction::Enter { room, password } => {
                let Some(state) = self.rooms.get(&room) else {
                    return self.refuse(ticket, ChatRefusal::NoSuchRoom);
                };
                if !state.has_seat_for(&visitor) {
                    return self.refuse(ticket, ChatRefusal::RoomFull);
                }
                if state.is_admitted(&visitor) {
                    return self.ask_history(ticket, visitor, room);
                }
                match password {
                    None => {
                        let refusal = ChatRefusal::PasswordNeeded(state.room.clone());
                        self.refuse(ticket, refusal);
                    }
                    Some(password) => self.store(
                        StoreRequest::CheckPassword { room, password },
                        Pending::Password {
                            ticket,
                            visitor,
                            room,
                        },
                    ),
                }
            }
            ChatAction::PostChat { room, text } => {
                if text.as_str().chars().count() > self.config.max_chars {
                    return self.refuse(ticket, ChatRefusal::TooLong);
                }
                if let Err(refusal) = self.may_post(now, &visitor, room) {
                    return self.refuse(ticket, refusal);
                }
                let colour = colour_of(&visitor);
                let line = NewChat {
                    room,
                    user: Author::Visitor(colour),
                    kind: ChatKind::Text(text),
                };
                self.store(
                    StoreRequest::AppendChat(line),
                    Pending::Post {
                        origin: Origin::Http(ticket),
                        colour,
                        gif: None,
                    },
                );
            }
            ChatAction::MayUpload { room } => match self.may_post(now, &visitor, room) {
                Ok(()) => self.answer(ticket, ChatAnswer::UploadAllowed),
                Err(refusal) => self.refuse(ticket, refusal),
            },
            ChatAction::GifStored { room, gif, bytes } => {
                if self.rooms.get(&room).is_none() {
                    // Nothing will name the file: it goes with the room it was for.
                    self.removed_gifs.push_back(gif);
                    return self.refuse(ticket, ChatRefusal::NoSuchRoom);
                }
                let colour = colour_of(&visitor);
                let line = NewChat {
                    room,
                    user: Author::Visitor(colour),
                    kind: ChatKind::Gif(gif.clone()),
                };
                self.store(
                    StoreRequest::AppendChat(line),
                    Pending::Post {
                        origin: Origin::Http(ticket),
                        colour,
                        gif: Some((gif, bytes)),
                    },
                );
            }
        }
    }

    /// Whether `visitor` may post to `room` now: the room exists, they are in it, and their
    /// rate allows one more (which this takes).
    fn may_post(
        &mut self,
        now: Instant,
        visitor: &SessionId,
        room: RoomId,
    ) -> Result<(), ChatRefusal> {
        if self.stopping {
            return Err(ChatRefusal::Stopping);
        }
        let state = self.rooms.get(&room).ok_or(ChatRefusal::NoSuchRoom)?;
        if !state.is_member(visitor) {
            return Err(ChatRefusal::NotAMember);
        }
        self.rate
            .take(visitor, now)
            .map_err(|retry_after| ChatRefusal::TooFast { retry_after })
    }

    fn ask_history(&mut self, ticket: ChatTicket, visitor: SessionId, room: RoomId) {
        let limit = self.config.history_limit;
        self.store(
            StoreRequest::History { room, limit },
            Pending::History {
                ticket,
                visitor,
                room,
            },
        );
    }

    pub(super) fn handle_created(
        &mut self,
        now: Instant,
        server: &mut Server,
        ticket: ChatTicket,
        visitor: &SessionId,
        reply: StoreReply,
    ) -> Result<(), CommandError> {
        let room = match reply {
            StoreReply::Room(room) => room,
            StoreReply::Failed(error) => {
                self.refuse(ticket, ChatRefusal::Store(error));
                return Ok(());
            }
            other => {
                self.refuse(ticket, unexpected(&other));
                return Ok(());
            }
        };
        // Empty until the creator's page connects: the window runs from now, as the book's.
        let state = self.rooms.insert(room.clone(), Some(now));
        state.admitted.insert(visitor.clone());
        self.log.push_back(LogLine::room_created(
            &room.id,
            room.title.as_str(),
            &room.owner_colour,
        ));
        self.answer(ticket, ChatAnswer::Created(room.clone()));
        let args = Args::json(vec![wire::room(&room)]);
        server.emit(now, ROOM_NAMESPACE, To::Namespace, "newRoom", &args)
    }

    pub(super) fn handle_password_checked(
        &mut self,
        ticket: ChatTicket,
        visitor: SessionId,
        room: RoomId,
        reply: StoreReply,
    ) {
        match reply {
            StoreReply::Password(PasswordVerdict::Right | PasswordVerdict::NotNeeded) => {
                let Some(state) = self.rooms.get_mut(&room) else {
                    return self.refuse(ticket, ChatRefusal::NoSuchRoom);
                };
                state.admitted.insert(visitor.clone());
                if !state.has_seat_for(&visitor) {
                    return self.refuse(ticket, ChatRefusal::RoomFull);
                }
                self.ask_history(ticket, visitor, room);
            }
            StoreReply::Password(PasswordVerdict::Wrong) => {
                self.refuse(ticket, ChatRefusal::WrongPassword)
            }
            StoreReply::Failed(StoreError::NoSuchRoom) => {
                self.refuse(ticket, ChatRefusal::NoSuchRoom)
            }
            StoreReply::Failed(error) => self.refuse(ticket, ChatRefusal::Store(error)),
            other => self.refuse(ticket, unexpected(&other)),
        }
    }

    pub(super) fn handle_history(
        &mut self,
        ticket: ChatTicket,
        visitor: &SessionId,
        room: RoomId,
        reply: StoreReply,
    ) {
        match reply {
            StoreReply::History(lines) => {
                let Some(state) = self.rooms.get(&room) else {
                    return self.refuse(ticket, ChatRefusal::NoSuchRoom);
                };
                let me = colour_of(visitor);
                let history = lines.into_iter().filter(|l| l.visible_to(me)).collect();
                let room = state.room.clone();
                self.answer(ticket, ChatAnswer::Entered { room, history, me });
            }
            StoreReply::Failed(StoreError::NoSuchRoom) => {
                self.refuse(ticket, ChatRefusal::NoSuchRoom)
            }
            StoreReply::Failed(error) => self.refuse(ticket, ChatRefusal::Store(error)),
            other => self.refuse(ticket, unexpected(&other)),
        }
    }

    /// A text, image or whisper line is stored: send it and answer whoever posted it.
    pub(super) fn handle_posted(
        &mut self,
        now: Instant,
        server: &mut Server,
        (origin, colour, gif): (Origin, Colour, Option<(GifName, u64)>),
        reply: StoreReply,
    ) -> Result<(), CommandError> {
        let line = match reply {
            StoreReply::Chat(line) => line,
            failed => {
                // Nothing names the image: it goes.
                self.removed_gifs.extend(gif.map(|(name, _)| name));
                return self.fail_post(server, origin, post_refusal(failed));
            }
        };
        let room = line.room;
        let mut result = Ok(());
        match &line.kind {
            ChatKind::Whisper { to, text } => {
                self.log.push_back(LogLine::chat_posted(
                    &room,
                    &colour,
                    text.as_str().chars().count(),
                ));
                let args = Args::json(vec![wire::chat(&line)]);
                if let Some(state) = self.rooms.get(&room) {
                    let sockets: Vec<_> = state
                        .members
                        .iter()
                        .filter(|m| m.colour == *to || m.colour == colour)
                        .flat_map(|m| m.sockets.iter().copied())
                        .collect();
                    for socket in sockets {
                        let sent =
                            server.emit(now, CHAT_NAMESPACE, To::Socket(socket), "whisper", &args);
                        result = result.and(sent);
                    }
                }
            }
            kind => {
                match kind {
                    ChatKind::Text(text) => self.log.push_back(LogLine::chat_posted(
                        &room,
                        &colour,
                        text.as_str().chars().count(),
                    )),
                    ChatKind::Gif(name) => self.log.push_back(LogLine::upload_posted(
                        &room,
                        &colour,
                        name,
                        gif.as_ref().map(|(_, bytes)| *bytes),
                    )),
                    _ => {}
                }
                if self.rooms.get(&room).is_some() {
                    let args = Args::json(vec![wire::chat(&line)]);
                    result =
                        server.emit(now, CHAT_NAMESPACE, To::Room(room.as_str()), "chat", &args);
                }
            }
        }
        match origin {
            Origin::Http(ticket) => self.answer(ticket, ChatAnswer::Posted(line)),
            Origin::Socket(socket, Some(ack)) => {
                let args = Args::json(vec![wire::ok()]);
                let _ = server.ack(CHAT_NAMESPACE, socket, ack, &args);
            }
            Origin::Socket(_, None) => {}
        }
        result
    }

    fn fail_post(
        &mut self,
        server: &mut Server,
        origin: Origin,
        refusal: ChatRefusal,
    ) -> Result<(), CommandError> {
        match origin {
            Origin::Http(ticket) => self.refuse(ticket, refusal),
            Origin::Socket(socket, Some(ack)) => {
                let args = Args::json(vec![wire::error(refusal.message())]);
                // The socket may be gone meanwhile: nobody to tell.
                let _ = server.ack(CHAT_NAMESPACE, socket, ack, &args);
            }
            Origin::Socket(_, None) => {}
        }
        Ok(())
    }
}

/// Why a line was not stored, from the store's reply.
fn post_refusal(reply: StoreReply) -> ChatRefusal {
    match reply {
        StoreReply::Failed(StoreError::NoSuchRoom) => ChatRefusal::NoSuchRoom,
        StoreReply::Failed(error) => ChatRefusal::Store(error),
        other => unexpected(&other),
    }
}

/// A reply of the wrong variant: the store broke its protocol.
fn unexpected(reply: &StoreReply) -> ChatRefusal {
    ChatRefusal::Store(StoreError::Backend(format!(
        "unexpected reply {:?}",
        std::mem::discriminant(reply)
    )))
}

/// The room an action is about, whose cache entry it needs.
pub(super) fn room_named(action: &ChatAction) -> Option<RoomId> {
    match action {
        ChatAction::ListRooms | ChatAction::CreateRoom { .. } => None,
        ChatAction::Enter { room, .. }
        | ChatAction::PostChat { room, .. }
        | ChatAction::MayUpload { room }
        | ChatAction::GifStored { room, .. } => Some(*room),
    }
}
