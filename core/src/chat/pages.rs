//! The chat's pages (C1–C3, C9), filled in from the templates `demo-page` embeds.
//!
//! A page is a pure function of what the store knows, so the HTTP side can call it wherever it
//! has the data and a test can read the markup. The templates hold the markup; this file puts in
//! text and the parts that repeat (table rows, chat lines). Every value goes through the one HTML
//! escaper the error page uses (`http::route`), colours and ids included although they are
//! checked types: escaping what cannot need it costs nothing and survives a type that grows.
//!
//! A template has two kinds of holes: `{{name}}` takes text, escaped; `<!--slot:name-->` takes
//! markup built here. The template is cut at its slots before any text goes in, so nothing a
//! visitor typed is ever scanned again for a slot or a placeholder.
//!
//! What changes while a page is open (new rooms, lines, members) is the browser scripts' work
//! (`public/rooms.js`, `public/room.js`), which build the same markup with DOM calls. They read
//! the room id and the visitor's colour from `data-` attributes, never from a script body.

use std::fmt::Display;

use super::{Author, Chat, ChatKind, Colour, Room, RoomMax, GIF_PATH_PREFIX};
use crate::http::route::{escape_into, render};

/// Opens a slot marker in a template; the slot's name and [`SLOT_CLOSE`] follow.
const SLOT_OPEN: &str = "<!--slot:";
/// Closes a slot marker.
const SLOT_CLOSE: &str = "-->";

/// `GET /rooms` (C1): the room list, with `error` (from `?error=`) shown when present.
pub fn rooms_page(rooms: &[Room], error: Option<&str>) -> String {
    let mut rows = String::new();
    for room in rooms {
        push_room_row(&mut rows, room);
    }
    let error = error.unwrap_or_default();
    fill(
        demo_page::ROOMS_HTML,
        |name| (name == "error").then_some(error),
        |slot| (slot == "rows").then_some(rows.as_str()),
    )
}

/// `GET /room` (C2): the create form, with the reason a submission was refused and the values
/// typed (never the password). An empty `max` shows the default, 10.
pub fn create_page(error: Option<&str>, title: &str, max: &str) -> String {
    let default_max = RoomMax::DEFAULT.get().to_string();
    let max = if max.is_empty() { &default_max } else { max };
    let error = error.unwrap_or_default();
    fill(
        demo_page::CREATE_HTML,
        |name| match name {
            "error" => Some(error),
            "title" => Some(title),
            "max" => Some(max),
            _ => None,
        },
        |_| None,
    )
}

/// The password form of a private room (C3), with `error` when the last try was wrong. It posts
/// to `/room/<id>`: the password never goes in a URL.
pub fn password_page(room: &Room, error: Option<&str>) -> String {
    let error = error.unwrap_or_default();
    fill(
        demo_page::PASSWORD_HTML,
        |name| match name {
            "id" => Some(room.id.as_str()),
            "title" => Some(room.title.as_str()),
            "error" => Some(error),
            _ => None,
        },
        |_| None,
    )
}

/// `GET /room/<id>` (C3): the room page with its history, as seen by the visitor `me`: their
/// lines `.mine`, the others' `.other`, the server's `.system`. A whisper shows only to its
/// author and its target, whatever history the caller passes.
pub fn room_page(room: &Room, history: &[Chat], me: Colour) -> String {
    let mut lines = String::new();
    for chat in history.iter().filter(|chat| chat.visible_to(me)) {
        push_chat_line(&mut lines, chat, me);
    }
    let me = me.to_string();
    let owner = room.owner_colour.to_string();
    let max = room.max.get().to_string();
    fill(
        demo_page::ROOM_HTML,
        |name| match name {
            "id" => Some(room.id.as_str()),
            "title" => Some(room.title.as_str()),
            "me" => Some(me.as_str()),
            "owner" => Some(owner.as_str()),
            "max" => Some(max.as_str()),
            _ => None,
        },
        |slot| (slot == "history").then_some(lines.as_str()),
    )
}

/// Fills a template: `text` answers the `{{name}}` placeholders (escaped), `markup` the
/// `<!--slot:name-->` markers (as is). Unknown names stay as they were, so a test spots them.
fn fill<'v>(
    template: &str,
    text: impl Fn(&str) -> Option<&'v str>,
    markup: impl Fn(&str) -> Option<&'v str>,
) -> String {
    let mut out = String::with_capacity(template.len() + 1024);
    let mut rest = template;
    while let Some(start) = rest.find(SLOT_OPEN) {
        let (before, marker) = rest.split_at(start);
        out.push_str(&render(before, &text));
        let after_open = marker.get(SLOT_OPEN.len()..).unwrap_or_default();
        let Some(end) = after_open.find(SLOT_CLOSE) else {
            rest = marker;
            break;
        };
        let name = after_open.get(..end).unwrap_or_default();
        let marker_len = SLOT_OPEN.len() + end + SLOT_CLOSE.len();
        match markup(name) {
            Some(fragment) => out.push_str(fragment),
            None => out.push_str(marker.get(..marker_len).unwrap_or_default()),
        }
        rest = marker.get(marker_len..).unwrap_or_default();
    }
    out.push_str(&render(rest, &text));
    out
}

/// Escapes a value's text onto `out`.
fn push_text(out: &mut String, value: impl Display) {
    escape_into(out, &value.to_string());
}

/// One room of the list: the same cells, classes and `data-` attributes `rooms.js` builds for a
/// `newRoom`, so the live table and the rendered one cannot be told apart.
fn push_room_row(out: &mut String, room: &Room) {
    let (kind, password) = if room.has_password {
        ("비밀방", "true")
    } else {
        ("공개방", "false")
    };
    out.push_str("<tr data-id=\"");
    push_text(out, room.id);
    out.push_str("\"><td class=\"room-title\">");
    push_text(out, &room.title);
    out.push_str("</td><td class=\"room-kind\">");
    out.push_str(kind);
    out.push_str("</td><td class=\"room-max\">");
    push_text(out, room.max.get());
    out.push_str("</td><td class=\"room-owner\" style=\"color: ");
    push_text(out, room.owner_colour);
    out.push_str("\">");
    push_text(out, room.owner_colour);
    out.push_str("</td><td><button type=\"button\" class=\"join-btn\" data-id=\"");
    push_text(out, room.id);
    out.push_str("\" data-password=\"");
    out.push_str(password);
    out.push_str("\">입장</button></td></tr>\n");
}

/// One line of `#chat-list`: `<div class="mine|other|system [whisper]">` with the author's name
/// in `.user` (not for the server's lines) and the text in `.chat` or the image as `img.gif`.
/// `room.js` builds the same for the lines that arrive live.
fn push_chat_line(out: &mut String, chat: &Chat, me: Colour) {
    let author = match (chat.user, &chat.kind) {
        (Author::Visitor(colour), kind) if !matches!(kind, ChatKind::System(_)) => Some(colour),
        _ => None,
    };
    let side = match author {
        None => "system",
        Some(colour) if colour == me => "mine",
        Some(_) => "other",
    };
    let whisper_to = match &chat.kind {
        ChatKind::Whisper { to, .. } => Some(*to),
        _ => None,
    };
    out.push_str("<div class=\"");
    out.push_str(side);
    if whisper_to.is_some() {
        out.push_str(" whisper");
    }
    out.push_str("\" data-id=\"");
    push_text(out, chat.id);
    out.push('"');
    if let Some(colour) = author {
        out.push_str(" data-user=\"");
        push_text(out, colour);
        out.push_str("\" style=\"color: ");
        push_text(out, colour);
        out.push_str("\"><div class=\"user\">");
        push_text(out, colour);
        if let Some(to) = whisper_to {
            out.push_str(" → ");
            push_text(out, to);
            out.push_str(" (귓속말)");
        }
        out.push_str("</div>");
    } else {
        out.push('>');
    }
    match &chat.kind {
        ChatKind::Gif(name) => {
            out.push_str("<img class=\"gif\" src=\"");
            push_text(out, GIF_PATH_PREFIX);
            push_text(out, name);
            out.push_str("\" alt=\"GIF\">");
        }
        ChatKind::Text(text) | ChatKind::Whisper { text, .. } => {
            out.push_str("<div class=\"chat\">");
            push_text(out, text);
            out.push_str("</div>");
        }
        ChatKind::System(text) => {
            out.push_str("<div class=\"chat\">");
            push_text(out, text);
            out.push_str("</div>");
        }
    }
    out.push_str("</div>\n");
}

#[cfg(test)]
mod tests;
