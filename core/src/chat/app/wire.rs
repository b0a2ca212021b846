//! What the chat's Socket.IO events carry, as JSON: one function per shape, so that the page,
//! the tests and `core/BEHAVIOUR.md` read one definition.
//!
//! The shapes are the book's (`{user, chat}`, `{_id, room, user, chat, createdAt}`), with what
//! the book got wrong left out: a room's password is never sent, only whether it has one.

use serde_json::{json, Value};

use crate::chat::{Author, Chat, ChatKind, Colour, Room, UnixMillis};

/// `newRoom` and `updateRoom` on `/room`: `{_id, title, max, owner, password: bool}`.
pub fn room(room: &Room) -> Value {
    json!({
        "_id": room.id.as_str(),
        "title": room.title.as_str(),
        "max": room.max.get(),
        "owner": room.owner_colour.to_string(),
        "password": room.has_password,
    })
}

/// A system line as `join`, `exit` and `system` carry it: `{user: "system", chat}`.
pub fn system(text: &str) -> Value {
    json!({ "user": Author::SYSTEM, "chat": text })
}

/// `members`: `{owner, members: [...] (join order), count}`.
pub fn members(owner: Colour, members: &[Colour]) -> Value {
    let names: Vec<String> = members.iter().map(Colour::to_string).collect();
    json!({ "owner": owner.to_string(), "members": names, "count": members.len() })
}

/// `kicked`: `{by}`.
pub fn kicked(by: Colour) -> Value {
    json!({ "by": by.to_string() })
}

/// A stored line as `chat` or `whisper` carry it: `{_id, room, user, chat | gif, [to],
/// createdAt}`; a system line as `{user: "system", chat}` with the same id and time.
pub fn chat(line: &Chat) -> Value {
    let mut value = json!({
        "_id": line.id.to_string(),
        "room": line.room.as_str(),
        "user": line.user.to_string(),
    });
    if let Value::Object(fields) = &mut value {
        match &line.kind {
            ChatKind::Text(text) => {
                fields.insert("chat".into(), json!(text.as_str()));
            }
            ChatKind::Gif(name) => {
                fields.insert("gif".into(), json!(name.as_str()));
            }
            ChatKind::System(text) => {
                fields.insert("chat".into(), json!(text));
            }
            ChatKind::Whisper { to, text } => {
                fields.insert("to".into(), json!(to.to_string()));
                fields.insert("chat".into(), json!(text.as_str()));
            }
        }
        fields.insert("createdAt".into(), json!(iso_8601(line.created_at)));
    }
    value
}

/// An ack's answer: `{ok: true}`.
pub fn ok() -> Value {
    json!({ "ok": true })
}

/// An ack's refusal: `{error: message}`.
pub fn error(message: &str) -> Value {
    json!({ "error": message })
}

/// `UnixMillis` as JavaScript's `Date.prototype.toISOString`: `2026-11-30T20:34:07.123Z`.
pub fn iso_8601(time: UnixMillis) -> String {
    let millis = time.0.rem_euclid(1000);
    let seconds = time.0.div_euclid(1000);
    let days = seconds.div_euclid(86_400);
    let of_day = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, exact for every `i64` day a `UnixMillis` can name).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_javascripts_to_iso_string() {
        assert_eq!(iso_8601(UnixMillis(0)), "1970-01-01T00:00:00.000Z");
        // new Date(1796070847123).toISOString()
        assert_eq!(
            iso_8601(UnixMillis(1_796_070_847_123)),
            "2026-11-30T20:34:07.123Z"
        );
        assert_eq!(
            iso_8601(UnixMillis(951_782_400_000)),
            "2000-02-29T00:00:00.000Z"
        );
        assert_eq!(iso_8601(UnixMillis(-1)), "1969-12-31T23:59:59.999Z");
    }
}
