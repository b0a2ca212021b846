//! The SQLite backend: each [`StoreRequest`] as SQL on one connection.
//!
//! The connection runs in WAL mode (readers never wait for the writer, and a commit is one
//! append; `synchronous = NORMAL` is durable across a process crash, which is what a chat
//! needs), with foreign keys on so deleting a room deletes its chats. Values are checked again
//! as they are read back: a row that does not decode into the core's types is an error, not a
//! panic and not a visitor-controlled string passed on unchecked.

use std::path::Path;
use std::time::{Duration, Instant};

use gif_chat_core::chat::{
    Author, Chat, ChatId, ChatKind, ChatText, Colour, GifName, NewChat, NewRoom, Password,
    PasswordVerdict, Room, RoomId, RoomMax, StoreError, StoreReply, StoreRequest, Title,
    UnixMillis, ROOM_ID_RANDOM_BYTES,
};
use rusqlite::types::Type;
use rusqlite::{params, Connection, ErrorCode, OptionalExtension, Row};

use super::backend::{now, Backend, OpenError};
use super::migrations::migrate;
use super::password::{self, PasswordError};

/// How long a statement waits for another process's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// One SQLite connection, its schema up to date.
pub struct SqliteBackend {
    connection: Connection,
}

/// Why one request failed, before it becomes the core's [`StoreError`].
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error("no such room")]
    NoSuchRoom,
    #[error(transparent)]
    Sql(#[from] rusqlite::Error),
    #[error(transparent)]
    Password(#[from] PasswordError),
    #[error("no randomness for a room id: {0}")]
    Random(getrandom::Error),
}

impl From<Failure> for StoreError {
    fn from(failure: Failure) -> StoreError {
        match failure {
            Failure::NoSuchRoom => StoreError::NoSuchRoom,
            other => StoreError::Backend(other.to_string()),
        }
    }
}

impl SqliteBackend {
    /// Opens (creating it if need be) a database file.
    pub fn open_file(path: &Path) -> Result<SqliteBackend, OpenError> {
        let connection = Connection::open(path).map_err(|source| OpenError::SqliteOpen {
            path: path.display().to_string(),
            source,
        })?;
        SqliteBackend::set_up(connection)
    }

    /// Opens a database in memory.
    pub fn open_in_memory() -> Result<SqliteBackend, OpenError> {
        let connection = Connection::open_in_memory().map_err(|source| OpenError::SqliteOpen {
            path: ":memory:".into(),
            source,
        })?;
        SqliteBackend::set_up(connection)
    }

    fn set_up(mut connection: Connection) -> Result<SqliteBackend, OpenError> {
        connection.busy_timeout(BUSY_TIMEOUT)?;
        connection.pragma_update(None, "foreign_keys", true)?;
        enable_wal(&connection)?;
        connection.pragma_update(None, "synchronous", "NORMAL")?;
        migrate(&mut connection)?;
        Ok(SqliteBackend { connection })
    }

    fn create_room(&mut self, new: NewRoom) -> Result<StoreReply, Failure> {
        let mut random = [0u8; ROOM_ID_RANDOM_BYTES];
        getrandom::fill(&mut random).map_err(Failure::Random)?;
        let id = RoomId::from_random(random);
        let hash = new.password.as_ref().map(password::hash).transpose()?;
        let created_at = now();
        self.connection.execute(
            "INSERT INTO rooms (id, title, max_members, owner, password_hash, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                id.as_str(),
                new.title.as_str(),
                new.max.get(),
                new.owner.to_string(),
                hash,
                created_at.0
            ],
        )?;
        Ok(StoreReply::Room(Room {
            id,
            title: new.title,
            max: new.max,
            owner_colour: new.owner,
            has_password: hash.is_some(),
            created_at,
        }))
    }

    fn list_rooms(&mut self) -> Result<StoreReply, Failure> {
        let mut statement = self
            .connection
            .prepare_cached(&format!("SELECT {ROOM_COLUMNS} FROM rooms ORDER BY seq"))?;
        let rooms = statement.query_map([], room_from_row)?;
        Ok(StoreReply::Rooms(rooms.collect::<Result<_, _>>()?))
    }

    fn get_room(&mut self, room: RoomId) -> Result<StoreReply, Failure> {
        self.connection
            .prepare_cached(&format!("SELECT {ROOM_COLUMNS} FROM rooms WHERE id = ?1"))?
            .query_row([room.as_str()], room_from_row)
            .optional()?
            .map(StoreReply::Room)
            .ok_or(Failure::NoSuchRoom)
    }

    fn check_password(&mut self, room: RoomId, typed: &Password) -> Result<StoreReply, Failure> {
        let stored: Option<String> = self
            .connection
            .prepare_cached("SELECT password_hash FROM rooms WHERE id = ?1")?
            .query_row([room.as_str()], |row| row.get(0))
            .optional()?
            .ok_or(Failure::NoSuchRoom)?;
        let verdict = match stored {
            None => PasswordVerdict::NotNeeded,
            Some(hash) if password::verify(typed, &hash)? => PasswordVerdict::Right,
            Some(_) => PasswordVerdict::Wrong,
        };
        Ok(StoreReply::Password(verdict))
    }

    fn set_owner(&mut self, room: RoomId, owner: Colour) -> Result<StoreReply, Failure> {
        let changed = self.connection.execute(
            "UPDATE rooms SET owner = ?1 WHERE id = ?2",
            params![owner.to_string(), room.as_str()],
        )?;
        if changed == 0 {
            return Err(Failure::NoSuchRoom);
        }
        self.get_room(room)
    }

    fn append_chat(&mut self, new: NewChat) -> Result<StoreReply, Failure> {
        let (kind, body, whisper_to) = match &new.kind {
            ChatKind::Text(text) => ("text", text.as_str(), None),
            ChatKind::Gif(name) => ("gif", name.as_str(), None),
            ChatKind::System(text) => ("system", text.as_str(), None),
            ChatKind::Whisper { to, text } => ("whisper", text.as_str(), Some(to.to_string())),
        };
        let created_at = now();
        // Inserting only if the room exists answers `NoSuchRoom` without reading SQLite's error
        // codes, in SQL PostgreSQL runs too; the foreign key still guards the table.
        let id: Option<i64> = self
            .connection
            .prepare_cached(
                "INSERT INTO chats (room, author, kind, body, whisper_to, created_at)
                 SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE EXISTS (SELECT 1 FROM rooms WHERE id = ?1)
                 RETURNING id",
            )?
            .query_row(
                params![
                    new.room.as_str(),
                    new.user.to_string(),
                    kind,
                    body,
                    whisper_to,
                    created_at.0
                ],
                |row| row.get(0),
            )
            .optional()?;
        let id = id.ok_or(Failure::NoSuchRoom)?;
        Ok(StoreReply::Chat(Chat {
            id: ChatId(id),
            room: new.room,
            user: new.user,
            kind: new.kind,
            created_at,
        }))
    }

    fn history(&mut self, room: RoomId, limit: u32) -> Result<StoreReply, Failure> {
        let mut statement = self.connection.prepare_cached(
            "SELECT id, room, author, kind, body, whisper_to, created_at FROM (
                 SELECT * FROM chats WHERE room = ?1 ORDER BY id DESC LIMIT ?2
             ) AS recent ORDER BY id",
        )?;
        let chats = statement.query_map(params![room.as_str(), limit], chat_from_row)?;
        Ok(StoreReply::History(chats.collect::<Result<_, _>>()?))
    }

    fn delete_room(&mut self, room: RoomId) -> Result<StoreReply, Failure> {
        let transaction = self.connection.transaction()?;
        let gifs = {
            let mut statement = transaction.prepare_cached(
                "SELECT body FROM chats WHERE room = ?1 AND kind = 'gif' ORDER BY id",
            )?;
            let names = statement.query_map([room.as_str()], |row| row.get::<_, String>(0))?;
            // Only a safe file name is ever handed out for deletion; a row that is not one
            // (never written by this store) is skipped rather than trusted.
            names
                .filter_map(|name| name.map(|name| GifName::parse(&name)).transpose())
                .collect::<Result<Vec<_>, _>>()?
        };
        let deleted = transaction.execute("DELETE FROM rooms WHERE id = ?1", [room.as_str()])?;
        if deleted == 0 {
            return Err(Failure::NoSuchRoom);
        }
        transaction.commit()?;
        Ok(StoreReply::RoomDeleted { gifs })
    }
}

impl Backend for SqliteBackend {
    fn handle(&mut self, request: StoreRequest) -> StoreReply {
        let result = match request {
            StoreRequest::CreateRoom(new) => self.create_room(new),
            StoreRequest::ListRooms => self.list_rooms(),
            StoreRequest::GetRoom(room) => self.get_room(room),
            StoreRequest::CheckPassword { room, password } => self.check_password(room, &password),
            StoreRequest::SetOwner { room, owner } => self.set_owner(room, owner),
            StoreRequest::AppendChat(new) => self.append_chat(new),
            StoreRequest::History { room, limit } => self.history(room, limit),
            StoreRequest::DeleteRoom(room) => self.delete_room(room),
        };
        result.unwrap_or_else(|failure| StoreReply::Failed(failure.into()))
    }
}

/// Puts the database in WAL mode (it stays so, in the file). Two processes switching one new
/// file at once can get `SQLITE_BUSY` without SQLite waiting on its busy timeout (each holds the
/// shared lock the other's switch needs), so a busy switch is retried, briefly, until the
/// timeout.
fn enable_wal(connection: &Connection) -> rusqlite::Result<()> {
    let deadline = Instant::now() + BUSY_TIMEOUT;
    let mut pause = Duration::from_millis(1);
    loop {
        // An in-memory database answers `memory`: it has no journal file to put in WAL mode.
        let switched = connection
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0));
        match switched {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == ErrorCode::DatabaseBusy && Instant::now() < deadline =>
            {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            other => return other.map(drop),
        }
    }
}

const ROOM_COLUMNS: &str = "id, title, max_members, owner, password_hash IS NOT NULL, created_at";

fn room_from_row(row: &Row<'_>) -> rusqlite::Result<Room> {
    Ok(Room {
        id: checked(row, 0, RoomId::parse)?,
        title: checked(row, 1, |text| Title::new(text).ok())?,
        max: RoomMax::new(row.get(2)?).map_err(|e| bad_value(2, Type::Integer, e))?,
        owner_colour: checked(row, 3, Colour::parse)?,
        has_password: row.get(4)?,
        created_at: UnixMillis(row.get(5)?),
    })
}

fn chat_from_row(row: &Row<'_>) -> rusqlite::Result<Chat> {
    let kind: String = row.get(3)?;
    let body: String = row.get(4)?;
    let text = |body: &str| ChatText::new(body).map_err(|e| bad_value(4, Type::Text, e));
    let kind = match kind.as_str() {
        "text" => ChatKind::Text(text(&body)?),
        "gif" => ChatKind::Gif(checked(row, 4, GifName::parse)?),
        "system" => ChatKind::System(body),
        "whisper" => ChatKind::Whisper {
            to: checked(row, 5, Colour::parse)?,
            text: text(&body)?,
        },
        other => return Err(bad_value(3, Type::Text, UnknownKind(other.to_owned()))),
    };
    Ok(Chat {
        id: ChatId(row.get(0)?),
        room: checked(row, 1, RoomId::parse)?,
        user: checked(row, 2, Author::parse)?,
        kind,
        created_at: UnixMillis(row.get(6)?),
    })
}

/// A text column parsed into one of the core's types.
fn checked<T>(
    row: &Row<'_>,
    column: usize,
    parse: impl FnOnce(&str) -> Option<T>,
) -> rusqlite::Result<T> {
    let text: String = row.get(column)?;
    parse(&text).ok_or_else(|| bad_value(column, Type::Text, Unreadable(text)))
}

fn bad_value(
    column: usize,
    kind: Type,
    error: impl std::error::Error + Send + Sync + 'static,
) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, kind, Box::new(error))
}

#[derive(Debug, thiserror::Error)]
#[error("unreadable stored value {0:?}")]
struct Unreadable(String);

#[derive(Debug, thiserror::Error)]
#[error("unknown chat kind {0:?}")]
struct UnknownKind(String);
