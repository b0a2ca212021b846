//! What the chat's HTTP side asks of the chat app in the hub, and what it gets back.
//!
//! The chat's pages and forms arrive on [`Connection`](crate::Connection)s, but the rooms, their
//! members and the store live in the [`Hub`](crate::Hub), beside the Socket.IO sessions they
//! share with the page's sockets (a room is full when its `/chat` sockets say so, a chat posted
//! over HTTP goes out to those sockets). So a connection parses and checks a request (cookie,
//! same origin, form fields) into a [`ChatRequest`], the runtime hands it to the hub under a
//! [`ChatTicket`] of its choosing, and the one [`ChatAnswer`] the hub gives for that ticket (at
//! once, or after the store replied) goes back to the connection, which writes the response.
//!
//! The Socket.IO side of the same app (events of namespaces `/room` and `/chat`) is in the
//! chat app's module docs and `core/BEHAVIOUR.md`.

use std::net::IpAddr;
use std::time::Duration;

use super::{
    Chat, ChatText, Colour, GifName, Password, Room, RoomId, RoomMax, SessionId, StoreError, Title,
};

/// The runtime's name for a [`ChatRequest`] until its answer: unique among the requests it has
/// in flight.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChatTicket(pub u64);

/// One checked request of a visitor's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChatRequest {
    /// The visitor: from the signed cookie, or the new session the response will set.
    pub visitor: SessionId,
    /// The client's address, as logged.
    pub client_ip: IpAddr,
    /// What they asked.
    pub action: ChatAction,
}

/// What a visitor asks over HTTP (SPEC §6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChatAction {
    /// `GET /rooms`: [`ChatAnswer::Rooms`].
    ListRooms,
    /// `POST /room`, its form checked: [`ChatAnswer::Created`], the creator admitted to it.
    CreateRoom {
        /// The title.
        title: Title,
        /// How many members it admits.
        max: RoomMax,
        /// The password of a private room.
        password: Option<Password>,
    },
    /// `GET /room/<id>` (`password: None`) or the password form's `POST /room/<id>`:
    /// [`ChatAnswer::Entered`], or refused with [`ChatRefusal::NoSuchRoom`],
    /// [`ChatRefusal::RoomFull`], [`ChatRefusal::PasswordNeeded`] or
    /// [`ChatRefusal::WrongPassword`]. A visitor once admitted to a password room is not asked
    /// again (a reload, the page's socket).
    Enter {
        /// The room.
        room: RoomId,
        /// What the visitor typed in the password form.
        password: Option<Password>,
    },
    /// `POST /room/<id>/chat` by a member: [`ChatAnswer::Posted`] once stored and sent to the
    /// room.
    PostChat {
        /// The room.
        room: RoomId,
        /// The text.
        text: ChatText,
    },
    /// Before an upload's body is read: may this visitor post an image to this room (a member,
    /// within the rate limit)? [`ChatAnswer::UploadAllowed`] or refused.
    MayUpload {
        /// The room.
        room: RoomId,
    },
    /// The upload is stored under the server's name: [`ChatAnswer::Posted`] once its line is
    /// stored and sent to the room.
    GifStored {
        /// The room.
        room: RoomId,
        /// The stored file's name.
        gif: GifName,
        /// Its size, for the log line (C10).
        bytes: u64,
    },
}

/// The hub's answer to one [`ChatRequest`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChatAnswer {
    /// Every room, oldest first.
    Rooms(Vec<Room>),
    /// The new room.
    Created(Room),
    /// The visitor may be in the room: its page.
    Entered {
        /// The room.
        room: Room,
        /// Its lines, oldest first, only those the visitor may see ([`Chat::visible_to`]).
        history: Vec<Chat>,
        /// The visitor's colour.
        me: Colour,
    },
    /// The line, stored and sent to the room.
    Posted(Chat),
    /// The upload's body may be read.
    UploadAllowed,
    /// Not done, and why.
    Refused(ChatRefusal),
}

/// Why a [`ChatRequest`] was not carried out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChatRefusal {
    /// No room has this id.
    NoSuchRoom,
    /// The room has as many members as it admits.
    RoomFull,
    /// The room takes a password, and none was given (the form is shown).
    PasswordNeeded(Room),
    /// The password is not the room's.
    WrongPassword,
    /// Only a member of the room (a visitor with a socket in it) may post to it.
    NotAMember,
    /// The text is longer than `CHAT_MAX_CHARS`.
    TooLong,
    /// The visitor's chats or uploads came faster than the rate limit allows.
    TooFast {
        /// When the next one would be accepted.
        retry_after: Duration,
    },
    /// The server is stopping.
    Stopping,
    /// The store did not carry the request out.
    Store(StoreError),
}

impl ChatRefusal {
    /// The text a visitor reads, in the book's words where the book has them (C3).
    pub fn message(&self) -> &'static str {
        match self {
            ChatRefusal::NoSuchRoom => "존재하지 않는 방입니다.",
            ChatRefusal::RoomFull => "허용 인원이 초과하였습니다.",
            ChatRefusal::PasswordNeeded(_) => "비밀번호를 입력하세요.",
            ChatRefusal::WrongPassword => "비밀번호가 틀렸습니다.",
            ChatRefusal::NotAMember => "방에 입장한 사람만 보낼 수 있습니다.",
            ChatRefusal::TooLong => "채팅이 너무 깁니다.",
            ChatRefusal::TooFast { .. } => "너무 빠릅니다. 잠시 후 다시 시도하세요.",
            ChatRefusal::Stopping => "서버가 종료 중입니다.",
            ChatRefusal::Store(_) => "잠시 후 다시 시도하세요.",
        }
    }

    /// The HTTP status of an API answer (`POST /room/<id>/chat`, `/gif`); the pages answer a
    /// refusal to enter with a redirect to `/rooms?error=` instead.
    pub fn status(&self) -> u16 {
        match self {
            ChatRefusal::NoSuchRoom => 404,
            ChatRefusal::RoomFull => 409,
            ChatRefusal::PasswordNeeded(_) | ChatRefusal::WrongPassword => 403,
            ChatRefusal::NotAMember => 403,
            ChatRefusal::TooLong => 400,
            ChatRefusal::TooFast { .. } => 429,
            ChatRefusal::Stopping | ChatRefusal::Store(_) => 503,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_to_enter_use_the_books_words() {
        assert_eq!(ChatRefusal::NoSuchRoom.message(), "존재하지 않는 방입니다.");
        assert_eq!(
            ChatRefusal::RoomFull.message(),
            "허용 인원이 초과하였습니다."
        );
        assert_eq!(
            ChatRefusal::WrongPassword.message(),
            "비밀번호가 틀렸습니다."
        );
        let busy = ChatRefusal::TooFast {
            retry_after: Duration::from_secs(1),
        };
        assert_eq!(busy.status(), 429);
    }
}
