//! gif-chat's own recovery keys in Redis (SPEC M5): how the core's [`RecoveryCommand`]s are
//! written as Redis commands, and how a lookup reads a session and the packets a client missed.
//!
//! The writes go into the publishes' pipeline, so a packet's `XADD` reaches Redis before the
//! `SPUBLISH` of anything the instance emitted after it. A lookup takes the session with
//! `GETDEL` (two instances never restore one socket) and reads the namespace's stream with
//! `XRANGE` (bounded by `MAXLEN ~`), then keeps the entries after the client's offset that are
//! younger than the window: the stream's ids are Redis's clock, in milliseconds.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use gif_chat_core::cluster::{LookupAnswer, PacketEntry, RecoveryCommand};
use redis::aio::MultiplexedConnection;
use redis::{Pipeline, RedisResult, Value};

/// Field names of a stream entry: offset, room, except, text packet, attachments.
const OFFSET: &str = "o";
const ROOM: &str = "r";
const EXCEPT: &str = "e";
const TEXT: &str = "p";
const ATTACHMENT: &str = "a";

/// Milliseconds, at least 1 (`PX 0` is an error).
fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}

/// Adds the Redis commands of a write (not a lookup) to `pipeline`, their answers ignored.
pub(super) fn write(pipeline: &mut Pipeline, command: &RecoveryCommand) {
    match command {
        RecoveryCommand::Append {
            stream,
            entry,
            max_len,
            ttl,
        } => {
            let xadd = pipeline
                .cmd("XADD")
                .arg(stream)
                .arg("MAXLEN")
                .arg("~")
                .arg(*max_len)
                .arg("*")
                .arg(OFFSET)
                .arg(&entry.offset);
            if let Some(room) = &entry.room {
                xadd.arg(ROOM).arg(room);
            }
            if let Some(except) = &entry.except {
                xadd.arg(EXCEPT).arg(except);
            }
            xadd.arg(TEXT).arg(entry.text.as_ref());
            for attachment in &entry.attachments {
                xadd.arg(ATTACHMENT).arg(attachment.as_ref());
            }
            xadd.ignore();
            pipeline
                .cmd("PEXPIRE")
                .arg(stream)
                .arg(millis(*ttl))
                .ignore();
        }
        RecoveryCommand::SaveSession { key, record, ttl } => {
            pipeline
                .cmd("SET")
                .arg(key)
                .arg(record.as_ref())
                .arg("PX")
                .arg(millis(*ttl))
                .ignore();
        }
        RecoveryCommand::ForgetSession { key } => {
            pipeline.cmd("DEL").arg(key).ignore();
        }
        RecoveryCommand::Lookup { .. } => {}
    }
}

/// A lookup to make.
pub(super) struct Lookup {
    pub(super) id: u64,
    pub(super) session: String,
    pub(super) stream: String,
    pub(super) offset: String,
    pub(super) window: Duration,
}

impl Lookup {
    /// `GETDEL` of the session and `XRANGE` of the stream, in one round trip.
    pub(super) async fn run(
        &self,
        connection: &mut MultiplexedConnection,
    ) -> RedisResult<LookupAnswer> {
        let (session, entries): (Option<Vec<u8>>, Value) = redis::pipe()
            .cmd("GETDEL")
            .arg(&self.session)
            .cmd("XRANGE")
            .arg(&self.stream)
            .arg("-")
            .arg("+")
            .query_async(connection)
            .await?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let oldest = millis(now).saturating_sub(millis(self.window));
        Ok(LookupAnswer {
            id: self.id,
            session: session.map(Bytes::from),
            after: after(entries, &self.offset, oldest),
        })
    }
}

/// The entries after the one whose offset is `offset`, none with an id before `oldest`
/// (milliseconds); `None` when no entry has that offset.
fn after(entries: Value, offset: &str, oldest: u64) -> Option<Vec<PacketEntry>> {
    let Value::Array(entries) = entries else {
        return None;
    };
    let mut found = false;
    let mut after = Vec::new();
    for entry in entries {
        let Some((millis, entry)) = decode(entry) else {
            continue;
        };
        if found {
            if millis >= oldest {
                after.push(entry);
            }
        } else if entry.offset == offset {
            found = true;
        }
    }
    found.then_some(after)
}

/// One `XRANGE` entry, `[id, [field, value, ...]]`, with its id's milliseconds; `None` for
/// anything gif-chat did not write.
fn decode(entry: Value) -> Option<(u64, PacketEntry)> {
    let Value::Array(parts) = entry else {
        return None;
    };
    let mut parts = parts.into_iter();
    let id = bytes(parts.next()?)?;
    let millis = std::str::from_utf8(&id)
        .ok()?
        .split('-')
        .next()?
        .parse()
        .ok()?;
    let fields = match parts.next()? {
        Value::Array(fields) => fields,
        Value::Map(pairs) => pairs.into_iter().flat_map(|(k, v)| [k, v]).collect(),
        _ => return None,
    };
    let mut entry = PacketEntry {
        offset: String::new(),
        room: None,
        except: None,
        text: Bytes::new(),
        attachments: Vec::new(),
    };
    let mut fields = fields.into_iter();
    while let (Some(name), Some(value)) = (fields.next(), fields.next()) {
        let value = bytes(value)?;
        match &*bytes(name)? {
            b"o" => entry.offset = String::from_utf8(value.to_vec()).ok()?,
            b"r" => entry.room = Some(String::from_utf8(value.to_vec()).ok()?),
            b"e" => entry.except = Some(String::from_utf8(value.to_vec()).ok()?),
            b"p" => entry.text = value,
            b"a" => entry.attachments.push(value),
            _ => {}
        }
    }
    Some((millis, entry))
}

fn bytes(value: Value) -> Option<Bytes> {
    match value {
        Value::BulkString(bytes) => Some(Bytes::from(bytes)),
        Value::SimpleString(text) => Some(Bytes::from(text)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, offset: &str, room: Option<&str>) -> Value {
        let mut fields = vec![
            Value::BulkString(OFFSET.into()),
            Value::BulkString(offset.into()),
        ];
        if let Some(room) = room {
            fields.push(Value::BulkString(ROOM.into()));
            fields.push(Value::BulkString(room.into()));
        }
        fields.push(Value::BulkString(TEXT.into()));
        fields.push(Value::BulkString(format!("2[\"m\",\"{offset}\"]").into()));
        Value::Array(vec![Value::BulkString(id.into()), Value::Array(fields)])
    }

    #[test]
    fn the_entries_after_the_offset_are_read_and_old_ones_skipped() {
        let entries = Value::Array(vec![
            entry("100-0", "a-1", Some("lobby")),
            entry("200-0", "a-2", Some("lobby")),
            entry("300-0", "b-7", None),
            entry("50-0", "b-8", Some("kitchen")),
        ]);
        let found = after(entries.clone(), "a-2", 60).expect("the offset is there");
        let offsets: Vec<&str> = found.iter().map(|e| e.offset.as_str()).collect();
        assert_eq!(offsets, ["b-7"], "b-8 is older than the window");
        assert_eq!(found[0].room, None);
        assert_eq!(&found[0].text[..], br#"2["m","b-7"]"#);
        assert_eq!(after(entries.clone(), "a-1", 0).map(|f| f.len()), Some(3));
        assert!(after(entries, "c-1", 0).is_none(), "an unknown offset");
        assert!(after(Value::Nil, "a-1", 0).is_none());
    }
}
