//! The chat's store against a real PostgreSQL (issue 11, M4): the contract every backend keeps
//! (`support/store_contract.rs`), each test on a cluster of its own; then what a server adds:
//! it may be unreachable at start, go away during a run and come back, a failed write leaves
//! nothing behind, two stores (two instances) share one database, and no message shows the
//! URL's password.
//!
//! These tests need PostgreSQL installed (`tests/run.sh` installs it); without it they fail,
//! saying so.

use std::net::{Ipv4Addr, TcpListener};

use gif_chat_core::chat::{
    Author, ChatKind, NewChat, PasswordVerdict, StoreError, StoreReply, StoreRequest,
};
use gif_chat_io::store::{DatabaseUrl, OpenError, Store, StoreOptions};

#[macro_use]
#[path = "support/store_contract.rs"]
mod contract;
#[path = "support/postgres_server.rs"]
mod postgres_server;

use contract::{check, create, history, list, new_room, say, text, Database, BLUE, RED};
use postgres_server::PostgresServer;

/// A fresh cluster; the store uses its `postgres` database, empty at first.
struct PostgresDatabase {
    server: PostgresServer,
}

impl PostgresDatabase {
    fn new() -> PostgresDatabase {
        PostgresDatabase {
            server: PostgresServer::start(),
        }
    }

    fn peek(&self) -> postgres::Client {
        postgres::Client::connect(&self.server.url(), postgres::NoTls).expect("a connection")
    }
}

impl Database for PostgresDatabase {
    fn url(&self) -> DatabaseUrl {
        self.server.url().parse().expect("a valid URL")
    }

    fn texts(&self, sql: &str, args: &[&str]) -> Vec<Option<String>> {
        let args: Vec<&(dyn postgres::types::ToSql + Sync)> = args.iter().map(|a| a as _).collect();
        self.peek()
            .query(sql, &args)
            .expect("the query runs")
            .iter()
            .map(|row| row.get(0))
            .collect()
    }

    fn integers(&self, sql: &str, args: &[&str]) -> Vec<i64> {
        let args: Vec<&(dyn postgres::types::ToSql + Sync)> = args.iter().map(|a| a as _).collect();
        self.peek()
            .query(sql, &args)
            .expect("the query runs")
            .iter()
            .map(|row| row.get(0))
            .collect()
    }

    fn execute(&self, sql: &str) {
        self.peek().batch_execute(sql).expect("the statement runs");
    }
}

store_contract_tests!(PostgresDatabase::new());

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

#[test]
fn the_test_server_is_stopped_and_removed_even_when_a_test_fails() {
    let (where_, told) = std::sync::mpsc::channel();
    let failing_test = std::thread::spawn(move || {
        let server = PostgresServer::start();
        let _ = where_.send((server.url(), server.dir().to_owned()));
        std::panic::resume_unwind(Box::new("a failing test"));
    });
    assert!(failing_test.join().is_err(), "the test failed");
    let (url, dir) = told.recv().expect("the server had started");
    assert!(!dir.exists(), "{} is left behind", dir.display());
    let connected = postgres::Client::connect(&url, postgres::NoTls);
    assert!(connected.is_err(), "the server still answers");
}

#[test]
fn an_unreachable_server_at_start_is_a_typed_error_that_hides_the_password() {
    let port = free_port();
    let url: DatabaseUrl = format!("postgres://chat:hunter2@127.0.0.1:{port}/chat")
        .parse()
        .expect("a valid URL");
    match Store::open(&url, StoreOptions::default()) {
        Err(error @ OpenError::PostgresConnect { .. }) => {
            let message = error.to_string();
            assert!(
                message.contains(&format!("127.0.0.1:{port}/chat")),
                "{message}"
            );
            assert!(!message.contains("hunter2"), "{message}");
            assert!(!format!("{error:?}").contains("hunter2"), "{error:?}");
        }
        Err(other) => panic!("refused for another reason: {other}"),
        Ok(_) => panic!("opened a database nobody serves"),
    }
}

#[test]
fn an_unreadable_url_is_refused_without_being_printed() {
    let url: DatabaseUrl = "postgres://chat:hunter2@127.0.0.1:notaport/chat"
        .parse()
        .expect("recognised as PostgreSQL");
    match Store::open(&url, StoreOptions::default()) {
        Err(error @ OpenError::PostgresUrl(_)) => {
            let message = error.to_string();
            assert!(!message.contains("hunter2"), "{message}");
            assert!(
                message.contains("port"),
                "names the option at fault: {message}"
            );
        }
        Err(other) => panic!("refused for another reason: {other}"),
        Ok(_) => panic!("opened an unreadable URL"),
    }
}

#[test]
fn a_server_lost_mid_run_fails_requests_cleanly_and_the_store_reconnects() {
    let db = PostgresDatabase::new();
    let store = db.open();
    let room = create(&store, new_room("방", "", "pw", RED));
    let before = say(&store, room.id, Author::Visitor(RED), text("before"));

    db.server.stop();
    // Both the request that finds the connection broken and the ones after, while the server
    // is down, answer at once with the reason.
    for _ in 0..2 {
        let lost = NewChat {
            room: room.id,
            user: Author::Visitor(BLUE),
            kind: text("lost"),
        };
        match store.call(StoreRequest::AppendChat(lost)) {
            StoreReply::Failed(StoreError::Backend(reason)) => {
                assert!(reason.contains("PostgreSQL cannot be reached"), "{reason}");
            }
            other => panic!("answered {other:?} with the server down"),
        }
    }

    db.server.start_again();
    // The next request connects anew and finds everything written before, nothing of what
    // failed.
    assert_eq!(history(&store, room.id, 10), std::slice::from_ref(&before));
    let after = say(&store, room.id, Author::Visitor(BLUE), text("after"));
    assert!(after.id > before.id);
    assert_eq!(
        check(&store, room.id, "pw"),
        StoreReply::Password(PasswordVerdict::Right)
    );
    assert_eq!(list(&store), [room]);
}

#[test]
fn a_write_that_fails_midway_leaves_nothing_half_written() {
    let db = PostgresDatabase::new();
    let store = db.open();
    let room = create(&store, new_room("방", "", "", RED)).id;
    say(
        &store,
        room,
        Author::Visitor(RED),
        contract::gif("kept.gif"),
    );
    say(&store, room, Author::Visitor(RED), text("kept"));
    // Deleting the room now fails after its chats' images were read, at the room's own row.
    db.execute(
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS
             $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$;
         CREATE TRIGGER refuse_delete BEFORE DELETE ON rooms
             FOR EACH ROW EXECUTE FUNCTION refuse();",
    );
    match store.call(StoreRequest::DeleteRoom(room)) {
        StoreReply::Failed(StoreError::Backend(reason)) => {
            assert!(reason.contains("refused by the test"), "{reason}");
        }
        other => panic!("answered {other:?}"),
    }
    assert_eq!(history(&store, room, 10).len(), 2);
    assert_eq!(list(&store).len(), 1);
    // The connection is still good, and the delete goes through once allowed.
    db.execute("DROP TRIGGER refuse_delete ON rooms");
    assert!(matches!(
        store.call(StoreRequest::DeleteRoom(room)),
        StoreReply::RoomDeleted { gifs } if gifs.len() == 1
    ));
}

#[test]
fn two_instances_share_rooms_and_history() {
    let db = PostgresDatabase::new();
    let (one, other) = (db.open(), db.open());
    let room = create(&one, new_room("같이 쓰는 방", "4", "", RED));
    let said = [
        say(&one, room.id, Author::Visitor(RED), text("from one")),
        say(&other, room.id, Author::Visitor(BLUE), text("from other")),
        say(
            &one,
            room.id,
            Author::System,
            ChatKind::System("bye".into()),
        ),
    ];
    assert_eq!(list(&other), std::slice::from_ref(&room));
    assert_eq!(history(&other, room.id, 10), said);
    assert_eq!(history(&one, room.id, 10), said);
    // A room deleted through one is gone for the other, which cannot write into it.
    assert!(matches!(
        other.call(StoreRequest::DeleteRoom(room.id)),
        StoreReply::RoomDeleted { .. }
    ));
    let late = NewChat {
        room: room.id,
        user: Author::Visitor(RED),
        kind: text("too late"),
    };
    assert_eq!(
        one.call(StoreRequest::AppendChat(late)),
        StoreReply::Failed(StoreError::NoSuchRoom)
    );
}
