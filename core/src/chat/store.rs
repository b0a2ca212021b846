//! What the chat asks of its store and what it gets back, as plain data.
//!
//! The store is I/O (a database on its own thread, in `gif-chat-io`); the chat logic is not. They
//! meet here: the logic builds a [`StoreRequest`], a runtime hands it to the store, and the one
//! [`StoreReply`] that comes back is fed to the logic again. Each request has exactly one reply,
//! of the variant its documentation names, or [`StoreReply::Failed`].

use super::{Chat, Colour, GifName, NewChat, NewRoom, Password, Room, RoomId};

/// The chat app's name for one [`StoreRequest`] until its [`StoreReply`]: the runtime hands the
/// reply back under the same ticket (`Hub::handle_store_reply`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StoreTicket(pub u64);

/// One thing to ask the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreRequest {
    /// Create a room: [`StoreReply::Room`] with its new id.
    CreateRoom(NewRoom),
    /// Every room, oldest first: [`StoreReply::Rooms`].
    ListRooms,
    /// One room: [`StoreReply::Room`], or [`StoreError::NoSuchRoom`].
    GetRoom(RoomId),
    /// Check a password typed to enter a room: [`StoreReply::Password`], or
    /// [`StoreError::NoSuchRoom`].
    CheckPassword {
        /// The room.
        room: RoomId,
        /// What the visitor typed.
        password: Password,
    },
    /// Pass the owner's role on (C9): [`StoreReply::Room`] as it now is, or
    /// [`StoreError::NoSuchRoom`].
    SetOwner {
        /// The room.
        room: RoomId,
        /// The new owner's colour.
        owner: Colour,
    },
    /// Store a line: [`StoreReply::Chat`] with its id and time, or [`StoreError::NoSuchRoom`].
    AppendChat(NewChat),
    /// The last `limit` lines of a room, oldest first: [`StoreReply::History`] (empty for a room
    /// that does not exist).
    History {
        /// The room.
        room: RoomId,
        /// How many lines at most.
        limit: u32,
    },
    /// Delete a room and its lines: [`StoreReply::RoomDeleted`] with the images its lines
    /// named, for the caller to delete from the upload directory; or [`StoreError::NoSuchRoom`].
    DeleteRoom(RoomId),
}

/// Whether a password opens a room.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasswordVerdict {
    /// It is the room's password.
    Right,
    /// It is not.
    Wrong,
    /// The room has no password: anyone may enter.
    NotNeeded,
}

/// The store's answer to one [`StoreRequest`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreReply {
    /// The room created, found or changed.
    Room(Room),
    /// Every room.
    Rooms(Vec<Room>),
    /// The verdict on a password.
    Password(PasswordVerdict),
    /// The line stored.
    Chat(Chat),
    /// A room's lines, oldest first.
    History(Vec<Chat>),
    /// The room is gone, with its lines; these images were in them.
    RoomDeleted {
        /// The images to delete from the upload directory.
        gifs: Vec<GifName>,
    },
    /// The request was not carried out.
    Failed(StoreError),
}

/// Why the store did not carry out a request.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// No room has this id (never had, or deleted).
    #[error("no such room")]
    NoSuchRoom,
    /// The store's queue is full: the request was refused rather than let memory grow. Try
    /// again later, or answer the visitor that the server is busy.
    #[error("the store is busy")]
    Busy,
    /// The store has shut down.
    #[error("the store is closed")]
    Closed,
    /// The database failed (disk full, file unreadable, a row that does not decode, ...).
    #[error("the database failed: {0}")]
    Backend(String),
}
