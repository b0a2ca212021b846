//! The GIF chat room's data (SPEC §6): rooms, chat lines, what visitors type, and the requests
//! and replies exchanged with the store.
//!
//! Everything here is plain data and validation, with no I/O: the store that keeps these values
//! lives in `gif-chat-io` on its own thread, and the chat logic only ever sees a
//! [`StoreRequest`] go out and a [`StoreReply`] come back.
//!
//! - ids: [`RoomId`] (unguessable, 22 characters), [`ChatId`], [`UnixMillis`];
//! - [`Colour`]: a visitor's name;
//! - checked input: [`Title`], [`RoomMax`], [`Password`], [`ChatText`], refused with an
//!   [`InputError`];
//! - stored values: [`Room`], [`NewRoom`], [`Chat`], [`NewChat`], [`ChatKind`], [`Author`],
//!   [`GifName`];
//! - the store's protocol: [`StoreRequest`] under a [`StoreTicket`], [`StoreReply`],
//!   [`PasswordVerdict`],
//!   [`StoreError`];
//! - visitors: [`SessionId`] in a cookie signed with a [`CookieSecret`], their colour
//!   ([`colour_of`]) and names unique within a room ([`unique_names`]);
//! - uploads: [`ImageType`] by the first bytes, the server-chosen [`StoredImage`] name;
//! - the HTTP side's requests to the chat app in the hub: [`ChatRequest`], [`ChatAnswer`];
//! - the chat app itself, in the hub: [`app::ChatApp`] (namespaces `/room` and `/chat`).

pub mod app;
mod colour;
mod ids;
mod image;
mod input;
mod line;
pub mod pages;
mod room;
mod session;
mod store;
mod visitor;
mod web;

pub use colour::Colour;
pub use ids::{ChatId, RoomId, UnixMillis, ROOM_ID_LEN, ROOM_ID_RANDOM_BYTES};
pub use image::{
    ImageType, Sniff, StoredImage, GIF_PATH_PREFIX, SNIFF_LEN, STORED_NAME_RANDOM_BYTES,
};
pub use input::{ChatText, InputError, Password, RoomMax, Title};
pub use line::{Author, Chat, ChatKind, GifName, NewChat};
pub use room::{NewRoom, Room};
pub use session::{
    session_from_cookie_header, set_cookie_header, signed_value, unsign, CookieSecret, SessionId,
    SessionIds, SESSION_COOKIE, SESSION_ID_LEN, SESSION_ID_RANDOM_BYTES,
};
pub use store::{PasswordVerdict, StoreError, StoreReply, StoreRequest, StoreTicket};
pub use visitor::{colour_hash, colour_of, unique_names};
pub use web::{ChatAction, ChatAnswer, ChatRefusal, ChatRequest, ChatTicket};
