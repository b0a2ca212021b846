//! The chat's store against real SQLite files in temporary directories: the contract every
//! backend keeps (`support/store_contract.rs`), then what is SQLite's own: WAL mode, the
//! checkpoint on close, in-memory databases, file errors and `DATABASE_URL` errors.

use std::path::Path;
use std::sync::Arc;

use gif_chat_core::chat::{Author, RoomId, StoreError, StoreReply, StoreRequest};
use gif_chat_io::store::{
    Backend, DatabaseUrl, DatabaseUrlError, OpenError, Store, StoreOptions, DEFAULT_DATABASE_URL,
};

#[macro_use]
#[path = "support/store_contract.rs"]
mod contract;

use contract::{create, history, list, new_room, say, text, Database, RED};

/// A database file in a temporary directory of its own.
struct SqliteFile {
    dir: tempfile::TempDir,
}

impl SqliteFile {
    fn new() -> SqliteFile {
        SqliteFile {
            dir: tempfile::tempdir().expect("a temporary directory"),
        }
    }

    fn url_in(dir: &Path) -> DatabaseUrl {
        format!("sqlite://{}", dir.join("chat.db").display())
            .parse()
            .expect("a valid URL")
    }

    /// A direct connection to the file, to see what the store wrote.
    fn peek(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.dir.path().join("chat.db")).expect("the file opens")
    }
}

impl Database for SqliteFile {
    fn url(&self) -> DatabaseUrl {
        SqliteFile::url_in(self.dir.path())
    }

    fn texts(&self, sql: &str, args: &[&str]) -> Vec<Option<String>> {
        self.peek()
            .prepare(sql)
            .and_then(|mut s| {
                s.query_map(rusqlite::params_from_iter(args), |row| row.get(0))?
                    .collect()
            })
            .expect("the query runs")
    }

    fn integers(&self, sql: &str, args: &[&str]) -> Vec<i64> {
        self.peek()
            .prepare(sql)
            .and_then(|mut s| {
                s.query_map(rusqlite::params_from_iter(args), |row| row.get(0))?
                    .collect()
            })
            .expect("the query runs")
    }

    fn execute(&self, sql: &str) {
        self.peek().execute_batch(sql).expect("the statement runs");
    }
}

store_contract_tests!(SqliteFile::new());

#[test]
fn the_file_is_in_wal_mode() {
    let db = SqliteFile::new();
    drop(db.open());
    let mode: String = db
        .peek()
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .expect("the journal mode");
    assert_eq!(mode, "wal");
}

#[test]
fn closing_checkpoints_the_wal_into_the_file() {
    let db = SqliteFile::new();
    let store = Arc::new(db.open());
    let room = create(&store, new_room("방", "", "", RED)).id;
    say(&store, room, Author::Visitor(RED), text("kept"));
    let other_owner = Arc::clone(&store);
    std::thread::spawn(move || drop(other_owner))
        .join()
        .expect("dropped on another thread");
    drop(store);
    assert!(
        !db.dir.path().join("chat.db-wal").exists(),
        "the WAL was checkpointed on close"
    );
    assert_eq!(history(&db.open(), room, 10).len(), 1);
}

#[test]
fn the_store_can_be_shared_between_threads() {
    fn shared<T: Send + Sync>() {}
    shared::<Store>();
}

#[test]
fn an_in_memory_database_works_and_starts_empty() {
    let url: DatabaseUrl = "sqlite::memory:".parse().expect("valid");
    let store = Store::open(&url, StoreOptions::default()).expect("opens");
    let room = create(&store, new_room("방", "", "", RED));
    assert_eq!(list(&store), [room]);
    drop(store);
    let store = Store::open(&url, StoreOptions::default()).expect("opens");
    assert_eq!(list(&store), []);
}

#[test]
fn bad_database_urls_are_refused_with_a_reason() {
    assert_eq!(
        "mysql://localhost/chat".parse::<DatabaseUrl>(),
        Err(DatabaseUrlError::UnknownScheme("mysql".into()))
    );
    assert_eq!("".parse::<DatabaseUrl>(), Err(DatabaseUrlError::Empty));
    assert_eq!(
        "sqlite://".parse::<DatabaseUrl>(),
        Err(DatabaseUrlError::NoPath)
    );
    assert_eq!(
        DEFAULT_DATABASE_URL.parse::<DatabaseUrl>(),
        Ok(DatabaseUrl::default())
    );

    // A file that cannot be created names itself in the error.
    let dir = tempfile::tempdir().expect("a temporary directory");
    let missing = dir.path().join("no/such/dir/chat.db");
    let in_missing_dir: DatabaseUrl = format!("sqlite://{}", missing.display())
        .parse()
        .expect("valid");
    match Store::open(&in_missing_dir, StoreOptions::default()) {
        Err(error @ OpenError::SqliteOpen { .. }) => {
            assert!(error.to_string().contains("no/such/dir/chat.db"), "{error}");
        }
        Err(other) => panic!("refused for another reason: {other}"),
        Ok(_) => panic!("opened a file in a missing directory"),
    }

    // A file that is not a database is refused, and left alone.
    std::fs::write(dir.path().join("chat.db"), b"not a database, just text").expect("write");
    let refused = Store::open(&SqliteFile::url_in(dir.path()), StoreOptions::default()).err();
    assert!(matches!(refused, Some(OpenError::Sqlite(_))), "{refused:?}");
    assert_eq!(
        std::fs::read(dir.path().join("chat.db")).expect("still there"),
        b"not a database, just text"
    );
}

/// A backend that fails loudly on one request, to see the store survive it.
struct PanicsOnList;

impl Backend for PanicsOnList {
    fn handle(&mut self, request: StoreRequest) -> StoreReply {
        match request {
            StoreRequest::ListRooms => panic!("a bug in a backend"),
            _ => StoreReply::Rooms(vec![]),
        }
    }
}

#[test]
fn a_panic_costs_one_request_not_the_store() {
    let store = Store::start(Box::new(PanicsOnList), StoreOptions::default()).expect("starts");
    let reply = store.call(StoreRequest::ListRooms);
    assert!(
        matches!(reply, StoreReply::Failed(StoreError::Backend(_))),
        "{reply:?}"
    );
    // A reply callback that panics does not stop the thread either.
    store.submit(
        StoreRequest::GetRoom(RoomId::from_random([4; 16])),
        Box::new(|_| panic!("a bug in a callback")),
    );
    assert_eq!(
        store.call(StoreRequest::GetRoom(RoomId::from_random([5; 16]))),
        StoreReply::Rooms(vec![])
    );
}
