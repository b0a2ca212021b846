//! A chat room as the store keeps it, and what creating one takes.

use super::{Colour, Password, RoomId, RoomMax, Title, UnixMillis};

/// A stored room. Its password is never here: only whether it has one, since the list and the
/// `newRoom` event show that much and no more (the book sent the password to every visitor).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Room {
    /// The server-chosen id.
    pub id: RoomId,
    /// The title.
    pub title: Title,
    /// How many members it admits.
    pub max: RoomMax,
    /// The owner's colour: the creator's, then whoever the role passed to (C9).
    pub owner_colour: Colour,
    /// Whether entering takes a password.
    pub has_password: bool,
    /// When it was created.
    pub created_at: UnixMillis,
}

/// What the create form gives, checked: the store adds the id, the time and the password's hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewRoom {
    /// The title.
    pub title: Title,
    /// How many members it admits.
    pub max: RoomMax,
    /// The password, if the room is private.
    pub password: Option<Password>,
    /// The creator's colour.
    pub owner: Colour,
}
