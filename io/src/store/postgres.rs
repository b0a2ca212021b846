//! The PostgreSQL backend: each [`StoreRequest`] as SQL on one connection, for a fleet of
//! instances sharing rooms and chats (issue 11, M4).
//!
//! It answers exactly as the SQLite backend does (the same tests run against both). What
//! differs is that the database is a server that can go away:
//!
//! - opening connects, and a server that cannot be reached is a typed [`OpenError`] naming host,
//!   port and database, never the URL (it may hold a password);
//! - during a run, a request that meets a lost connection answers
//!   [`StoreError::Backend`] at once and the connection is dropped; the next request connects
//!   again, so the store recovers when the server does, without a retry loop that would hold
//!   the queue;
//! - a request that writes more than one row runs in a transaction (deleting a room locks it
//!   first, so a line appended meanwhile elsewhere is either listed or refused), and a single
//!   statement is atomic by itself: nothing is half-written, whatever fails.
//!
//! The client is the synchronous `postgres` crate: it blocks the store's thread, as rusqlite
//! does, and brings no runtime into the event loops. Statements are prepared once per
//! connection.

use std::time::Duration;

use gif_chat_core::chat::{
    Author, Chat, ChatId, ChatKind, ChatText, Colour, GifName, NewChat, NewRoom, Password,
    PasswordVerdict, Room, RoomId, RoomMax, StoreError, StoreReply, StoreRequest, Title,
    UnixMillis, ROOM_ID_RANDOM_BYTES,
};
use postgres::config::Host;
use postgres::error::SqlState;
use postgres::{Client, Config, NoTls, Row, Statement};

use super::backend::{describe, now, Backend, OpenError};
use super::password::{self, PasswordError};
use super::postgres_migrations::migrate;

/// How long connecting may take when the URL does not say (`connect_timeout`): a server that
/// does not answer fails the start, or one request, instead of hanging it.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long sent data may stay unacknowledged before the connection counts as lost, when the
/// URL does not say (`tcp_user_timeout`): a server that vanished from the network fails the
/// request in flight instead of blocking the store's thread for the kernel's default minutes.
const TCP_USER_TIMEOUT: Duration = Duration::from_secs(30);

/// A PostgreSQL database, connected while the server can be reached.
pub struct PostgresBackend {
    config: Config,
    session: Option<Session>,
}

/// One connection and the statements prepared on it.
struct Session {
    client: Client,
    statements: Statements,
}

struct Statements {
    insert_room: Statement,
    list_rooms: Statement,
    get_room: Statement,
    password_hash: Statement,
    set_owner: Statement,
    append_chat: Statement,
    history: Statement,
    lock_room: Statement,
    room_gifs: Statement,
    delete_room: Statement,
}

const ROOM_COLUMNS: &str = "id, title, max_members, owner, password_hash IS NOT NULL, created_at";

impl Statements {
    fn prepare(client: &mut Client) -> Result<Statements, postgres::Error> {
        let mut prepare = |sql: &str| client.prepare(sql);
        Ok(Statements {
            insert_room: prepare(
                "INSERT INTO rooms (id, title, max_members, owner, password_hash, created_at)
                 VALUES ($1::text, $2::text, $3::bigint, $4::text, $5::text, $6::bigint)",
            )?,
            list_rooms: prepare(&format!("SELECT {ROOM_COLUMNS} FROM rooms ORDER BY seq"))?,
            get_room: prepare(&format!(
                "SELECT {ROOM_COLUMNS} FROM rooms WHERE id = $1::text"
            ))?,
            password_hash: prepare("SELECT password_hash FROM rooms WHERE id = $1::text")?,
            set_owner: prepare(&format!(
                "UPDATE rooms SET owner = $1::text WHERE id = $2::text RETURNING {ROOM_COLUMNS}"
            ))?,
            append_chat: prepare(
                "INSERT INTO chats (room, author, kind, body, whisper_to, created_at)
                 SELECT $1::text, $2::text, $3::text, $4::text, $5::text, $6::bigint
                 WHERE EXISTS (SELECT 1 FROM rooms WHERE id = $1::text)
                 RETURNING id",
            )?,
            history: prepare(
                "SELECT id, room, author, kind, body, whisper_to, created_at FROM (
                     SELECT * FROM chats WHERE room = $1::text ORDER BY id DESC LIMIT $2::bigint
                 ) AS recent ORDER BY id",
            )?,
            lock_room: prepare("SELECT 1 FROM rooms WHERE id = $1::text FOR UPDATE")?,
            room_gifs: prepare(
                "SELECT body FROM chats WHERE room = $1::text AND kind = 'gif' ORDER BY id",
            )?,
            delete_room: prepare("DELETE FROM rooms WHERE id = $1::text")?,
        })
    }
}

/// Why one request failed, before it becomes the core's [`StoreError`].
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error("no such room")]
    NoSuchRoom,
    #[error("PostgreSQL cannot be reached: {}", describe(.0))]
    Unreachable(postgres::Error),
    #[error("PostgreSQL failed: {}", describe(.0))]
    Sql(#[from] postgres::Error),
    #[error(transparent)]
    Password(#[from] PasswordError),
    #[error("no randomness for a room id: {0}")]
    Random(getrandom::Error),
    #[error("unreadable stored value in column {column}: {value:?}")]
    Unreadable { column: usize, value: String },
}

impl From<Failure> for StoreError {
    fn from(failure: Failure) -> StoreError {
        match failure {
            Failure::NoSuchRoom => StoreError::NoSuchRoom,
            other => StoreError::Backend(other.to_string()),
        }
    }
}

impl PostgresBackend {
    /// Connects to the database a `postgres://` URL names and brings its schema up to date.
    pub fn open(url: &str) -> Result<PostgresBackend, OpenError> {
        let mut config: Config = url.parse().map_err(OpenError::PostgresUrl)?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_tcp_user_timeout().is_none() {
            config.tcp_user_timeout(TCP_USER_TIMEOUT);
        }
        let mut client = config
            .connect(NoTls)
            .map_err(|source| OpenError::PostgresConnect {
                server: server_name(&config),
                source,
            })?;
        migrate(&mut client)?;
        let statements = Statements::prepare(&mut client)?;
        Ok(PostgresBackend {
            config,
            session: Some(Session { client, statements }),
        })
    }

    /// The open session, connecting again if the last one was lost.
    fn session(&mut self) -> Result<&mut Session, Failure> {
        let session = match self.session.take() {
            Some(session) if !session.client.is_closed() => session,
            _ => {
                let mut client = self.config.connect(NoTls).map_err(Failure::Unreachable)?;
                let statements = Statements::prepare(&mut client)?;
                Session { client, statements }
            }
        };
        Ok(self.session.insert(session))
    }

    fn carry_out(&mut self, request: StoreRequest) -> Result<StoreReply, Failure> {
        let session = self.session()?;
        match request {
            StoreRequest::CreateRoom(new) => session.create_room(new),
            StoreRequest::ListRooms => session.list_rooms(),
            StoreRequest::GetRoom(room) => session.get_room(room),
            StoreRequest::CheckPassword { room, password } => {
                session.check_password(room, &password)
            }
            StoreRequest::SetOwner { room, owner } => session.set_owner(room, owner),
            StoreRequest::AppendChat(new) => session.append_chat(new),
            StoreRequest::History { room, limit } => session.history(room, limit),
            StoreRequest::DeleteRoom(room) => session.delete_room(room),
        }
    }
}

impl Backend for PostgresBackend {
    fn handle(&mut self, request: StoreRequest) -> StoreReply {
        match self.carry_out(request) {
            Ok(reply) => reply,
            // An error that is not the server's answer to a statement (a broken socket, a
            // closed connection, an administrator's shutdown) leaves the connection unusable:
            // the next request connects anew.
            Err(Failure::Sql(error)) if self.is_lost(&error) => {
                self.session = None;
                StoreReply::Failed(Failure::Unreachable(error).into())
            }
            Err(failure) => StoreReply::Failed(failure.into()),
        }
    }
}

impl PostgresBackend {
    fn is_lost(&self, error: &postgres::Error) -> bool {
        error.as_db_error().is_none()
            || error.code() == Some(&SqlState::ADMIN_SHUTDOWN)
            || self
                .session
                .as_ref()
                .is_none_or(|session| session.client.is_closed())
    }
}

impl Session {
    fn create_room(&mut self, new: NewRoom) -> Result<StoreReply, Failure> {
        let mut random = [0u8; ROOM_ID_RANDOM_BYTES];
        getrandom::fill(&mut random).map_err(Failure::Random)?;
        let id = RoomId::from_random(random);
        let hash = new.password.as_ref().map(password::hash).transpose()?;
        let created_at = now();
        self.client.execute(
            &self.statements.insert_room,
            &[
                &id.as_str(),
                &new.title.as_str(),
                &i64::from(new.max.get()),
                &new.owner.to_string(),
                &hash,
                &created_at.0,
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
        let rows = self.client.query(&self.statements.list_rooms, &[])?;
        let rooms = rows.iter().map(room_from_row).collect::<Result<_, _>>()?;
        Ok(StoreReply::Rooms(rooms))
    }

    fn get_room(&mut self, room: RoomId) -> Result<StoreReply, Failure> {
        self.client
            .query_opt(&self.statements.get_room, &[&room.as_str()])?
            .map(|row| room_from_row(&row).map(StoreReply::Room))
            .unwrap_or(Err(Failure::NoSuchRoom))
    }

    fn check_password(&mut self, room: RoomId, typed: &Password) -> Result<StoreReply, Failure> {
        let stored: Option<String> = self
            .client
            .query_opt(&self.statements.password_hash, &[&room.as_str()])?
            .ok_or(Failure::NoSuchRoom)?
            .try_get(0)?;
        let verdict = match stored {
            None => PasswordVerdict::NotNeeded,
            Some(hash) if password::verify(typed, &hash)? => PasswordVerdict::Right,
            Some(_) => PasswordVerdict::Wrong,
        };
        Ok(StoreReply::Password(verdict))
    }

    fn set_owner(&mut self, room: RoomId, owner: Colour) -> Result<StoreReply, Failure> {
        self.client
            .query_opt(
                &self.statements.set_owner,
                &[&owner.to_string(), &room.as_str()],
            )?
            .map(|row| room_from_row(&row).map(StoreReply::Room))
            .unwrap_or(Err(Failure::NoSuchRoom))
    }

    fn append_chat(&mut self, new: NewChat) -> Result<StoreReply, Failure> {
        let (kind, body, whisper_to) = match &new.kind {
            ChatKind::Text(text) => ("text", text.as_str(), None),
            ChatKind::Gif(name) => ("gif", name.as_str(), None),
            ChatKind::System(text) => ("system", text.as_str(), None),
            ChatKind::Whisper { to, text } => ("whisper", text.as_str(), Some(to.to_string())),
        };
        let created_at = now();
        let inserted = self.client.query_opt(
            &self.statements.append_chat,
            &[
                &new.room.as_str(),
                &new.user.to_string(),
                &kind,
                &body,
                &whisper_to,
                &created_at.0,
            ],
        );
        let id: i64 = match inserted {
            Ok(Some(row)) => row.try_get(0)?,
            Ok(None) => return Err(Failure::NoSuchRoom),
            // The room was deleted by another instance between the check and the insert.
            Err(e) if e.code() == Some(&SqlState::FOREIGN_KEY_VIOLATION) => {
                return Err(Failure::NoSuchRoom)
            }
            Err(e) => return Err(e.into()),
        };
        Ok(StoreReply::Chat(Chat {
            id: ChatId(id),
            room: new.room,
            user: new.user,
            kind: new.kind,
            created_at,
        }))
    }

    fn history(&mut self, room: RoomId, limit: u32) -> Result<StoreReply, Failure> {
        let rows = self.client.query(
            &self.statements.history,
            &[&room.as_str(), &i64::from(limit)],
        )?;
        let chats = rows.iter().map(chat_from_row).collect::<Result<_, _>>()?;
        Ok(StoreReply::History(chats))
    }

    fn delete_room(&mut self, room: RoomId) -> Result<StoreReply, Failure> {
        let statements = &self.statements;
        let mut transaction = self.client.transaction()?;
        // Locked first: an append elsewhere (its foreign key check shares the row) now waits,
        // and then finds no room, so every image of the room's lines is in the list.
        if transaction
            .query_opt(&statements.lock_room, &[&room.as_str()])?
            .is_none()
        {
            return Err(Failure::NoSuchRoom);
        }
        let names = transaction.query(&statements.room_gifs, &[&room.as_str()])?;
        let mut gifs = Vec::with_capacity(names.len());
        for row in &names {
            // Only a safe file name is ever handed out for deletion; a row that is not one
            // (never written by this store) is skipped rather than trusted.
            if let Some(name) = GifName::parse(row.try_get(0)?) {
                gifs.push(name);
            }
        }
        transaction.execute(&statements.delete_room, &[&room.as_str()])?;
        transaction.commit()?;
        Ok(StoreReply::RoomDeleted { gifs })
    }
}

fn room_from_row(row: &Row) -> Result<Room, Failure> {
    let max: i64 = row.try_get(2)?;
    Ok(Room {
        id: checked(row, 0, RoomId::parse)?,
        title: checked(row, 1, |text| Title::new(text).ok())?,
        max: RoomMax::new(max).map_err(|_| Failure::Unreadable {
            column: 2,
            value: max.to_string(),
        })?,
        owner_colour: checked(row, 3, Colour::parse)?,
        has_password: row.try_get(4)?,
        created_at: UnixMillis(row.try_get(5)?),
    })
}

fn chat_from_row(row: &Row) -> Result<Chat, Failure> {
    let kind: &str = row.try_get(3)?;
    let body: &str = row.try_get(4)?;
    let text = |body: &str| {
        ChatText::new(body).map_err(|_| Failure::Unreadable {
            column: 4,
            value: body.to_owned(),
        })
    };
    let kind = match kind {
        "text" => ChatKind::Text(text(body)?),
        "gif" => ChatKind::Gif(checked(row, 4, GifName::parse)?),
        "system" => ChatKind::System(body.to_owned()),
        "whisper" => ChatKind::Whisper {
            to: checked(row, 5, Colour::parse)?,
            text: text(body)?,
        },
        other => {
            return Err(Failure::Unreadable {
                column: 3,
                value: other.to_owned(),
            })
        }
    };
    Ok(Chat {
        id: ChatId(row.try_get(0)?),
        room: checked(row, 1, RoomId::parse)?,
        user: checked(row, 2, Author::parse)?,
        kind,
        created_at: UnixMillis(row.try_get(6)?),
    })
}

/// A text column parsed into one of the core's types.
fn checked<T>(
    row: &Row,
    column: usize,
    parse: impl FnOnce(&str) -> Option<T>,
) -> Result<T, Failure> {
    let text: &str = row.try_get(column)?;
    parse(text).ok_or_else(|| Failure::Unreadable {
        column,
        value: text.to_owned(),
    })
}

/// Where a configuration points, for messages: hosts, ports and database, never the user or
/// the password.
fn server_name(config: &Config) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .map(|host| match host {
            Host::Tcp(name) => name.clone(),
            #[cfg(unix)]
            Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    let ports: Vec<String> = config.get_ports().iter().map(u16::to_string).collect();
    let hosts = if hosts.is_empty() {
        "localhost".to_owned()
    } else {
        hosts.join(",")
    };
    let ports = if ports.is_empty() {
        "5432".to_owned()
    } else {
        ports.join(",")
    };
    let database = config
        .get_dbname()
        .or(config.get_user())
        .unwrap_or("postgres");
    format!("{hosts}:{ports}/{database}")
}
