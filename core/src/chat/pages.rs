//! The chat's pages (C1–C3), rendered from the embedded templates.
//!
//! STUB until the pages land: the signatures are the contract the HTTP side calls.

use super::{Chat, Colour, Room};

/// `GET /rooms` (C1): the room list, with `error` (from `?error=`) shown when present.
pub fn rooms_page(rooms: &[Room], error: Option<&str>) -> String {
    let _ = (rooms, error);
    String::from("<!DOCTYPE html><title>GIF 채팅방</title>")
}

/// `GET /room` (C2): the create form, with the reason a submission was refused and the values
/// typed (never the password).
pub fn create_page(error: Option<&str>, title: &str, max: &str) -> String {
    let _ = (error, title, max);
    String::from("<!DOCTYPE html><title>GIF 채팅방 생성</title>")
}

/// The password form of a private room (C3), with `error` when the last try was wrong.
pub fn password_page(room: &Room, error: Option<&str>) -> String {
    let _ = (room, error);
    String::from("<!DOCTYPE html><title>비밀번호</title>")
}

/// `GET /room/<id>` (C3): the room page with its history, as seen by the visitor `me`.
pub fn room_page(room: &Room, history: &[Chat], me: Colour) -> String {
    let _ = (room, history, me);
    String::from("<!DOCTYPE html><title>GIF 채팅방</title>")
}
