//! The PostgreSQL schema, created and migrated on start: the SQLite schema
//! ([`migrations`](super::migrations)) in PostgreSQL's words, version for version.
//!
//! Each engine has its own list because their DDL differs (`AUTOINCREMENT` is SQLite's, identity
//! columns PostgreSQL's); the tables, columns, checks and the `schema_version` row are the same,
//! and entry `n` of both lists is the same step, which a compile-time check on their lengths
//! keeps from drifting apart. Several instances start on one database (issue 11): the whole
//! migration runs in one transaction holding a transaction-level advisory lock, so they apply
//! each step once, one after the other, and a step that fails leaves the database as it was.

use postgres::Client;

use super::migrations::{MIGRATIONS, SCHEMA_VERSION};
use super::OpenError;

/// The migrations, in order; entry `n` takes the schema from version `n` to `n + 1`, as the
/// SQLite entry `n` does.
pub const POSTGRES_MIGRATIONS: &[&str] = &[
    // 1: rooms and their chats.
    "CREATE TABLE rooms (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        title TEXT NOT NULL,
        max_members BIGINT NOT NULL CHECK (max_members BETWEEN 2 AND 10),
        owner TEXT NOT NULL,
        password_hash TEXT,
        created_at BIGINT NOT NULL
    );
    CREATE TABLE chats (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        room TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
        author TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('text', 'gif', 'system', 'whisper')),
        body TEXT NOT NULL,
        whisper_to TEXT,
        created_at BIGINT NOT NULL
    );
    CREATE INDEX chats_by_room ON chats (room, id);",
];

// Both engines reach the same version with the same steps.
const _: () = assert!(POSTGRES_MIGRATIONS.len() == MIGRATIONS.len());

/// The advisory lock that serialises migrations of one database: any constant no other
/// application on the database uses, here "gif-chat" in ASCII.
const MIGRATION_LOCK: i64 = i64::from_be_bytes(*b"gif-chat");

/// Brings the database to [`SCHEMA_VERSION`]; returns the version it had before.
pub fn migrate(client: &mut Client) -> Result<u32, OpenError> {
    let mut transaction = client.transaction()?;
    transaction.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    transaction.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_version (
            one INTEGER PRIMARY KEY CHECK (one = 1),
            version BIGINT NOT NULL
        );",
    )?;
    let found: Option<i64> = transaction
        .query_opt("SELECT version FROM schema_version", &[])?
        .map(|row| row.try_get(0))
        .transpose()?;
    let found = match found {
        Some(version) => u32::try_from(version).map_err(|_| OpenError::SchemaVersion(version))?,
        None => {
            transaction.execute(
                "INSERT INTO schema_version (one, version) VALUES (1, 0)",
                &[],
            )?;
            0
        }
    };
    let pending = POSTGRES_MIGRATIONS
        .get(found as usize..)
        .ok_or(OpenError::SchemaTooNew {
            found,
            known: SCHEMA_VERSION,
        })?;
    for (done, migration) in (found + 1..).zip(pending) {
        transaction.batch_execute(migration)?;
        transaction.execute(
            "UPDATE schema_version SET version = $1",
            &[&i64::from(done)],
        )?;
    }
    transaction.commit()?;
    Ok(found)
}
