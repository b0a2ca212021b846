//! gif-chat's own recovery keys in Redis (SPEC M5): how the core's [`RecoveryCommand`]s are
//! written as Redis commands, and how a lookup reads a session and the packets a client missed.
//!
//! The writes go into the publishes' pipeline, so a packet's `XADD` reaches Redis before the
//! `SPUBLISH` of anything the instance emitted after it. A lookup takes the session with
//! `GETDEL` (two instances never restore one socket) and reads the namespace's stream backwards
//! with `XREVRANGE`, a page at a time, down to the client's offset, keeping the entries younger
//! than the window: the stream's ids are Redis's clock, in milliseconds.

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

/// Entries read per `XREVRANGE`: a client usually comes back within seconds, so its offset is
/// among the newest.
const PAGE: usize = 128;

impl Lookup {
    /// `GETDEL` of the session, then, only if there was one (a `pid` is unguessable, so a made-up
    /// one costs a single command), the stream read backwards a page at a time until the
    /// client's offset.
    pub(super) async fn run(
        &self,
        connection: &mut MultiplexedConnection,
    ) -> RedisResult<LookupAnswer> {
        let session: Option<Vec<u8>> = redis::cmd("GETDEL")
            .arg(&self.session)
            .query_async(connection)
            .await?;
        let Some(session) = session else {
            return Ok(LookupAnswer::nothing(self.id));
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let oldest = millis(now).saturating_sub(millis(self.window));
        let mut newer = Vec::new();
        let mut end = "+".to_owned();
        let found = loop {
            let page: Value = redis::cmd("XREVRANGE")
                .arg(&self.stream)
                .arg(&end)
                .arg("-")
                .arg("COUNT")
                .arg(PAGE)
                .query_async(connection)
                .await?;
            let Value::Array(entries) = page else {
                break false;
            };
            let full = entries.len() == PAGE;
            match scan(entries, &self.offset, oldest, &mut newer) {
                Scan::Found => break true,
                Scan::Older(last) if full => end = format!("({last}"),
                _ => break false,
            }
        };
        newer.reverse();
        Ok(LookupAnswer {
            id: self.id,
            session: Some(Bytes::from(session)),
            after: found.then_some(newer),
        })
    }
}

/// Where a page read backwards left the search.
#[derive(Debug, PartialEq, Eq)]
enum Scan {
    /// The client's offset was in it.
    Found,
    /// Not in it; the oldest id read, where the next page ends.
    Older(String),
    /// Not in it, and nothing older to read (an empty page, or the window's start passed).
    Exhausted,
}

/// Reads a page of entries, newest first, into `newer` until the one whose offset is
/// `offset`; entries with an id before `oldest` (milliseconds) end the search.
fn scan(entries: Vec<Value>, offset: &str, oldest: u64, newer: &mut Vec<PacketEntry>) -> Scan {
    let mut last = None;
    for entry in entries {
        let Some((id, millis, entry)) = decode(entry) else {
            continue;
        };
        if entry.offset == offset {
            return Scan::Found;
        }
        if millis < oldest {
            return Scan::Exhausted;
        }
        newer.push(entry);
        last = Some(id);
    }
    last.map_or(Scan::Exhausted, Scan::Older)
}

/// One stream entry, `[id, [field, value, ...]]`, with its id and the id's milliseconds;
/// `None` for anything gif-chat did not write.
fn decode(entry: Value) -> Option<(String, u64, PacketEntry)> {
    let Value::Array(parts) = entry else {
        return None;
    };
    let mut parts = parts.into_iter();
    let id = String::from_utf8(bytes(parts.next()?)?.to_vec()).ok()?;
    let millis = id.split('-').next()?.parse().ok()?;
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
        let text = || String::from_utf8(value.to_vec()).ok();
        match std::str::from_utf8(&bytes(name)?).unwrap_or_default() {
            OFFSET => entry.offset = text()?,
            ROOM => entry.room = Some(text()?),
            EXCEPT => entry.except = Some(text()?),
            TEXT => entry.text = value,
            ATTACHMENT => entry.attachments.push(value),
            _ => {}
        }
    }
    Some((id, millis, entry))
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
    fn a_page_read_backwards_stops_at_the_offset_or_at_the_windows_start() {
        // Newest first, as XREVRANGE gives them.
        let page = || {
            vec![
                entry("300-0", "b-7", None),
                entry("200-0", "a-2", Some("lobby")),
                entry("100-0", "a-1", Some("lobby")),
            ]
        };
        let mut newer = Vec::new();
        assert_eq!(scan(page(), "a-2", 0, &mut newer), Scan::Found);
        assert_eq!(newer.len(), 1);
        assert_eq!(newer[0].offset, "b-7");
        assert_eq!(newer[0].room, None);
        assert_eq!(&newer[0].text[..], br#"2["m","b-7"]"#);

        let mut newer = Vec::new();
        assert_eq!(scan(page(), "a-1", 0, &mut newer), Scan::Found);
        let offsets: Vec<&str> = newer.iter().map(|e| e.offset.as_str()).collect();
        assert_eq!(offsets, ["b-7", "a-2"]);
        assert_eq!(newer[1].room.as_deref(), Some("lobby"));

        let mut newer = Vec::new();
        assert_eq!(
            scan(page(), "c-1", 0, &mut newer),
            Scan::Older("100-0".to_owned()),
            "not here: read on before 100-0"
        );
        let mut newer = Vec::new();
        assert_eq!(scan(page(), "c-1", 150, &mut newer), Scan::Exhausted);
        assert_eq!(scan(Vec::new(), "a-1", 0, &mut newer), Scan::Exhausted);
    }
}
