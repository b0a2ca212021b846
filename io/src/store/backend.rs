//! The seam between the store's thread and a database: one [`Backend`] per database engine.
//!
//! The thread, its queue and the replies are engine-neutral ([`Store`](super::Store)); a backend
//! only turns one [`StoreRequest`] into one [`StoreReply`], blocking as long as it must. SQLite
//! serves one file; PostgreSQL (issue 11) serves a fleet of instances from
//! [`DatabaseUrl::Postgres`], with the same schema and the same replies.

use std::time::{SystemTime, UNIX_EPOCH};

use gif_chat_core::chat::{StoreReply, StoreRequest, UnixMillis};

/// A database the store's thread can serve requests from.
pub trait Backend: Send {
    /// Carries out one request. Runs on the store's thread; may block.
    fn handle(&mut self, request: StoreRequest) -> StoreReply;
}

/// Why the store could not open its database.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The SQLite file cannot be opened or created (a missing directory, no permission, not a
    /// database).
    #[error("cannot open the SQLite database {path}: {source}")]
    SqliteOpen {
        /// The URL as given, for the message.
        path: String,
        /// SQLite's reason.
        source: rusqlite::Error,
    },
    /// SQLite failed while setting up or migrating the schema.
    #[error("the SQLite database failed while starting: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// `schema_version` holds a value no build writes.
    #[error("the database's schema_version holds {0}, which no gif-chat writes")]
    SchemaVersion(i64),
    /// The database was migrated by a newer gif-chat.
    #[error("the database's schema is version {found}, newer than this gif-chat's {known}: run a newer gif-chat")]
    SchemaTooNew {
        /// The version in the database.
        found: u32,
        /// The newest this build knows.
        known: u32,
    },
    /// A `postgres://` `DATABASE_URL` the client cannot read. The message names the option at
    /// fault, never the URL (it may hold a password).
    #[error("DATABASE_URL is not a PostgreSQL URL gif-chat can read: {}", describe(.0))]
    PostgresUrl(::postgres::Error),
    /// PostgreSQL cannot be reached or refuses the connection (down, wrong host or port, no such
    /// database, authentication failed).
    #[error("cannot connect to PostgreSQL at {server}: {}", describe(.source))]
    PostgresConnect {
        /// Where: host, port and database, without the user or the password.
        server: String,
        /// The client's reason.
        source: ::postgres::Error,
    },
    /// PostgreSQL failed while setting up or migrating the schema.
    #[error("the PostgreSQL database failed while starting: {}", describe(.0))]
    Postgres(#[from] ::postgres::Error),
    /// The store's thread could not be started.
    #[error("cannot start the store's thread: {0}")]
    Thread(std::io::Error),
}

/// The client's error with its cause: `postgres::Error` prints only its kind ("db error"), and
/// the server's message is what says what went wrong.
pub(super) fn describe(error: &::postgres::Error) -> String {
    match std::error::Error::source(error) {
        Some(cause) => format!("{error}: {cause}"),
        None => error.to_string(),
    }
}

/// The wall clock, for `created_at` in every backend; a clock before 1970 reads as 1970.
pub(super) fn now() -> UnixMillis {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    UnixMillis(i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX))
}
