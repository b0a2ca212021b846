//! What every store backend must do, written once and run against each real engine: rooms,
//! passwords, history, cascading deletes, restarts, migrations, the bounded queue and shutdown.
//! `io/tests/store.rs` runs it on SQLite files, `io/tests/store_postgres.rs` on a PostgreSQL
//! server; [`store_contract_tests!`] makes one `#[test]` per body, so a failure names both the
//! behaviour and the engine.
//!
//! A [`Database`] is one empty database and a way to look inside it with plain SQL (`$1` binds
//! the one argument in both engines), to see what the store wrote rather than only what it
//! answers. Waits are on channels, never on sleeps; a receive that takes more than a minute
//! fails the test instead of hanging it.

use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use gif_chat_core::chat::{
    Author, Chat, ChatKind, ChatText, Colour, GifName, NewChat, NewRoom, Password, PasswordVerdict,
    Room, RoomId, RoomMax, StoreError, StoreReply, StoreRequest, Title, ROOM_ID_LEN,
};
use gif_chat_io::store::{DatabaseUrl, OpenError, Store, StoreOptions, SCHEMA_VERSION};

pub const PATIENCE: Duration = Duration::from_secs(60);

pub const RED: Colour = Colour::from_rgb([0xff, 0, 0]);
pub const BLUE: Colour = Colour::from_rgb([0, 0, 0xff]);
pub const GREEN: Colour = Colour::from_rgb([0, 0x80, 0]);

/// One empty database of one engine, for one test.
pub trait Database {
    /// The `DATABASE_URL` that opens it.
    fn url(&self) -> DatabaseUrl;
    /// One text column of the rows a query returns; `args` bind `$1`, `$2`, ...
    fn texts(&self, sql: &str, args: &[&str]) -> Vec<Option<String>>;
    /// One integer column of the rows a query returns.
    fn integers(&self, sql: &str, args: &[&str]) -> Vec<i64>;
    /// Runs a statement.
    fn execute(&self, sql: &str);

    /// Opens a store on it.
    fn open(&self) -> Store {
        Store::open(&self.url(), StoreOptions::default()).expect("the store opens")
    }
}

/// One `#[test]` per contract body, each on a fresh database made by `$fixture`.
#[macro_export]
macro_rules! store_contract_tests {
    ($fixture:expr) => {
        store_contract_tests!(@each $fixture;
            rooms_are_created_listed_and_found,
            a_password_opens_its_room_and_is_stored_only_hashed,
            history_is_the_last_lines_oldest_first,
            deleting_a_room_deletes_its_chats_and_names_its_gifs,
            a_restart_keeps_rooms_and_chats,
            migrations_run_once,
            stores_starting_together_on_a_new_database_migrate_it_once,
            a_database_from_a_newer_gif_chat_is_refused,
            a_full_queue_answers_busy_at_once,
            dropping_the_store_answers_everything_queued_then_closes,
        );
    };
    (@each $fixture:expr; $($name:ident,)*) => {
        $(
            #[test]
            fn $name() {
                let database = $fixture;
                contract::$name(&database);
            }
        )*
    };
}

pub fn new_room(title: &str, max: &str, password: &str, owner: Colour) -> NewRoom {
    NewRoom {
        title: Title::new(title).expect("a valid title"),
        max: RoomMax::parse(max).expect("a valid max"),
        password: Password::optional(password).expect("a valid password"),
        owner,
    }
}

pub fn create(store: &Store, room: NewRoom) -> Room {
    match store.call(StoreRequest::CreateRoom(room)) {
        StoreReply::Room(room) => room,
        other => panic!("CreateRoom answered {other:?}"),
    }
}

pub fn list(store: &Store) -> Vec<Room> {
    match store.call(StoreRequest::ListRooms) {
        StoreReply::Rooms(rooms) => rooms,
        other => panic!("ListRooms answered {other:?}"),
    }
}

pub fn say(store: &Store, room: RoomId, user: Author, kind: ChatKind) -> Chat {
    match store.call(StoreRequest::AppendChat(NewChat { room, user, kind })) {
        StoreReply::Chat(chat) => chat,
        other => panic!("AppendChat answered {other:?}"),
    }
}

pub fn history(store: &Store, room: RoomId, limit: u32) -> Vec<Chat> {
    match store.call(StoreRequest::History { room, limit }) {
        StoreReply::History(chats) => chats,
        other => panic!("History answered {other:?}"),
    }
}

pub fn text(text: &str) -> ChatKind {
    ChatKind::Text(ChatText::new(text).expect("a valid chat"))
}

pub fn gif(name: &str) -> ChatKind {
    ChatKind::Gif(GifName::parse(name).expect("a valid name"))
}

pub fn check(store: &Store, room: RoomId, password: &str) -> StoreReply {
    let password = Password::new(password).expect("a valid password");
    store.call(StoreRequest::CheckPassword { room, password })
}

pub fn rooms_are_created_listed_and_found(db: &impl Database) {
    let store = db.open();
    assert_eq!(list(&store), []);

    let first = create(&store, new_room("  첫 방 ", "", "", RED));
    let second = create(&store, new_room("<b>둘</b>", "2", "비밀", BLUE));
    assert_eq!(first.title.as_str(), "첫 방");
    assert_eq!(first.max, RoomMax::DEFAULT);
    assert_eq!(first.owner_colour, RED);
    assert!(!first.has_password);
    assert_eq!(second.title.as_str(), "<b>둘</b>");
    assert_eq!(second.max.get(), 2);
    assert!(second.has_password);
    assert_ne!(first.id, second.id);
    assert_eq!(first.id.as_str().len(), ROOM_ID_LEN);
    assert!(
        first.created_at.0 > 1_600_000_000_000,
        "a Unix time in ms: {:?}",
        first.created_at
    );
    assert!(second.created_at >= first.created_at);

    // Oldest first, exactly as created.
    assert_eq!(list(&store), [first.clone(), second.clone()]);
    assert_eq!(
        store.call(StoreRequest::GetRoom(second.id)),
        StoreReply::Room(second.clone())
    );

    let unknown = RoomId::from_random([0; 16]);
    assert_eq!(
        store.call(StoreRequest::GetRoom(unknown)),
        StoreReply::Failed(StoreError::NoSuchRoom)
    );

    // The owner's role passes on (C9), and the list shows it.
    let passed = StoreRequest::SetOwner {
        room: first.id,
        owner: GREEN,
    };
    let StoreReply::Room(changed) = store.call(passed) else {
        panic!("SetOwner answers the room")
    };
    assert_eq!(changed.owner_colour, GREEN);
    assert_eq!(
        changed,
        Room {
            owner_colour: GREEN,
            ..first
        }
    );
    assert_eq!(list(&store)[0].owner_colour, GREEN);
    let nowhere = StoreRequest::SetOwner {
        room: unknown,
        owner: GREEN,
    };
    assert_eq!(
        store.call(nowhere),
        StoreReply::Failed(StoreError::NoSuchRoom)
    );
}

pub fn a_password_opens_its_room_and_is_stored_only_hashed(db: &impl Database) {
    let store = db.open();
    let private = create(&store, new_room("비밀방", "5", "correct horse", RED));
    let public = create(&store, new_room("공개방", "5", "", RED));

    assert_eq!(
        check(&store, private.id, "correct horse"),
        StoreReply::Password(PasswordVerdict::Right)
    );
    assert_eq!(
        check(&store, private.id, "correct horse "),
        StoreReply::Password(PasswordVerdict::Wrong)
    );
    assert_eq!(
        check(&store, private.id, "x"),
        StoreReply::Password(PasswordVerdict::Wrong)
    );
    assert_eq!(
        check(&store, public.id, "anything"),
        StoreReply::Password(PasswordVerdict::NotNeeded)
    );
    assert_eq!(
        check(&store, RoomId::from_random([1; 16]), "correct horse"),
        StoreReply::Failed(StoreError::NoSuchRoom)
    );

    let stored = db.texts("SELECT password_hash FROM rooms ORDER BY seq", &[]);
    let [Some(hash), None] = stored.as_slice() else {
        panic!("one hash for the private room, none for the public one: {stored:?}")
    };
    assert!(hash.starts_with("$argon2id$"), "a PHC string: {hash}");
    assert!(!hash.contains("correct horse"), "{hash}");

    // Salted: the same password gives another hash.
    let again = create(&store, new_room("또", "5", "correct horse", RED));
    let second = db.texts(
        "SELECT password_hash FROM rooms WHERE id = $1",
        &[again.id.as_str()],
    );
    assert_eq!(second.len(), 1);
    assert_ne!(second[0].as_ref(), Some(hash));
}

pub fn history_is_the_last_lines_oldest_first(db: &impl Database) {
    let store = db.open();
    let room = create(&store, new_room("방", "", "", RED)).id;
    let other = create(&store, new_room("다른 방", "", "", BLUE)).id;

    let joined = ChatKind::System(format!("{BLUE}님이 입장하셨습니다."));
    let whisper = ChatKind::Whisper {
        to: BLUE,
        text: ChatText::new("psst").expect("a valid chat"),
    };
    let lines = [
        (Author::System, joined),
        (Author::Visitor(RED), text("안녕 <script>")),
        (Author::Visitor(BLUE), gif("a1b2.gif")),
        (Author::Visitor(RED), whisper),
        (Author::Visitor(BLUE), text("bye")),
    ];
    let mut said = Vec::new();
    for (user, kind) in lines {
        // Another room's lines interleave and must not show up.
        say(&store, other, Author::Visitor(GREEN), text("elsewhere"));
        let chat = say(&store, room, user, kind.clone());
        assert_eq!((chat.room, chat.user, &chat.kind), (room, user, &kind));
        said.push(chat);
    }
    assert!(
        said.windows(2).all(|w| w[0].id < w[1].id),
        "ids increase: {said:?}"
    );

    assert_eq!(history(&store, room, 100), said);
    assert_eq!(history(&store, room, 3), said[2..]);
    assert_eq!(history(&store, room, 0), []);
    assert_eq!(history(&store, other, 100).len(), 5);
    assert_eq!(history(&store, RoomId::from_random([2; 16]), 100), []);

    let nowhere = NewChat {
        room: RoomId::from_random([3; 16]),
        user: Author::Visitor(RED),
        kind: text("hello?"),
    };
    assert_eq!(
        store.call(StoreRequest::AppendChat(nowhere)),
        StoreReply::Failed(StoreError::NoSuchRoom)
    );
}

pub fn deleting_a_room_deletes_its_chats_and_names_its_gifs(db: &impl Database) {
    let store = db.open();
    let room = create(&store, new_room("지울 방", "", "pw", RED)).id;
    let kept = create(&store, new_room("남을 방", "", "", BLUE)).id;
    say(&store, room, Author::Visitor(RED), gif("first.gif"));
    say(&store, room, Author::Visitor(RED), text("hi"));
    say(&store, kept, Author::Visitor(BLUE), gif("kept.png"));
    say(&store, room, Author::Visitor(BLUE), gif("second.webp"));

    let gifs = ["first.gif", "second.webp"].map(|n| GifName::parse(n).expect("valid"));
    assert_eq!(
        store.call(StoreRequest::DeleteRoom(room)),
        StoreReply::RoomDeleted {
            gifs: gifs.to_vec()
        }
    );

    let count = |sql: &str, room: RoomId| db.integers(sql, &[room.as_str()]);
    assert_eq!(
        count("SELECT count(*) FROM chats WHERE room = $1", room),
        [0]
    );
    assert_eq!(count("SELECT count(*) FROM rooms WHERE id = $1", room), [0]);
    assert_eq!(
        count("SELECT count(*) FROM chats WHERE room = $1", kept),
        [1]
    );
    assert_eq!(
        list(&store).iter().map(|r| r.id).collect::<Vec<_>>(),
        [kept]
    );
    assert_eq!(
        store.call(StoreRequest::GetRoom(room)),
        StoreReply::Failed(StoreError::NoSuchRoom)
    );
    assert_eq!(
        store.call(StoreRequest::DeleteRoom(room)),
        StoreReply::Failed(StoreError::NoSuchRoom)
    );
}

pub fn a_restart_keeps_rooms_and_chats(db: &impl Database) {
    let (rooms, said) = {
        let store = db.open();
        let room = create(&store, new_room("남는 방", "3", "pw", RED));
        let said = vec![
            say(&store, room.id, Author::Visitor(RED), text("one")),
            say(&store, room.id, Author::Visitor(BLUE), gif("two.gif")),
        ];
        (list(&store), said)
    };
    let store = db.open();
    assert_eq!(list(&store), rooms);
    assert_eq!(history(&store, rooms[0].id, 10), said);
    assert_eq!(
        check(&store, rooms[0].id, "pw"),
        StoreReply::Password(PasswordVerdict::Right)
    );
    // Ids keep increasing after a restart.
    let next = say(&store, rooms[0].id, Author::Visitor(RED), text("three"));
    assert!(next.id > said[1].id);
}

pub fn migrations_run_once(db: &impl Database) {
    let room = create(&db.open(), new_room("방", "", "", RED));
    // Opening again migrates nothing and loses nothing.
    let store = db.open();
    assert_eq!(list(&store), [room]);
    drop(store);
    drop(db.open());
    assert_eq!(
        db.integers("SELECT version FROM schema_version", &[]),
        [i64::from(SCHEMA_VERSION)]
    );
}

pub fn stores_starting_together_on_a_new_database_migrate_it_once(db: &impl Database) {
    let starts: Vec<_> = (0..4)
        .map(|_| {
            let url = db.url();
            std::thread::spawn(move || Store::open(&url, StoreOptions::default()).map(drop))
        })
        .collect();
    for start in starts {
        let opened = start.join().expect("no panic");
        assert!(opened.is_ok(), "{opened:?}");
    }
    assert_eq!(
        db.integers("SELECT version FROM schema_version", &[]),
        [i64::from(SCHEMA_VERSION)]
    );
}

pub fn a_database_from_a_newer_gif_chat_is_refused(db: &impl Database) {
    drop(db.open());
    db.execute(&format!(
        "UPDATE schema_version SET version = {}",
        SCHEMA_VERSION + 1
    ));
    match Store::open(&db.url(), StoreOptions::default()) {
        Err(OpenError::SchemaTooNew { found, known }) => {
            assert_eq!((found, known), (SCHEMA_VERSION + 1, SCHEMA_VERSION));
        }
        Err(other) => panic!("refused for another reason: {other}"),
        Ok(_) => panic!("a newer schema was opened"),
    }
}

pub fn a_full_queue_answers_busy_at_once(db: &impl Database) {
    let store = Store::open(&db.url(), StoreOptions { queue_capacity: 1 }).expect("opens");

    // Hold the store's thread inside a reply callback, so nothing leaves the queue.
    let (started, has_started) = mpsc::channel();
    let (release, released) = mpsc::channel::<()>();
    store.submit(
        StoreRequest::ListRooms,
        Box::new(move |_| {
            let _ = started.send(());
            let _ = released.recv_timeout(PATIENCE);
        }),
    );
    has_started
        .recv_timeout(PATIENCE)
        .expect("the first request is being answered");

    let (answer, answers) = mpsc::channel();
    let queued = answer.clone();
    store.submit(
        StoreRequest::ListRooms,
        Box::new(move |reply| drop(queued.send(("queued", reply)))),
    );
    store.submit(
        StoreRequest::ListRooms,
        Box::new(move |reply| drop(answer.send(("refused", reply)))),
    );
    // The refusal came before `submit` returned, on this thread.
    assert_eq!(
        answers.try_recv().expect("answered at once"),
        ("refused", StoreReply::Failed(StoreError::Busy))
    );

    release.send(()).expect("the callback waits");
    assert_eq!(
        answers
            .recv_timeout(PATIENCE)
            .expect("the queued request is answered"),
        ("queued", StoreReply::Rooms(vec![]))
    );
}

pub fn dropping_the_store_answers_everything_queued_then_closes(db: &impl Database) {
    let store = Arc::new(db.open());
    let room = create(&store, new_room("방", "", "", RED)).id;
    let (answer, answers) = mpsc::channel();
    for n in 0..50 {
        let answer = answer.clone();
        let chat = NewChat {
            room,
            user: Author::Visitor(RED),
            kind: text(&n.to_string()),
        };
        store.submit(
            StoreRequest::AppendChat(chat),
            Box::new(move |r| drop(answer.send(r))),
        );
    }
    drop(answer);
    // Shared between threads, closed when the last owner goes.
    let other_owner = Arc::clone(&store);
    std::thread::spawn(move || drop(other_owner))
        .join()
        .expect("dropped on another thread");
    drop(store);

    let replies: Vec<StoreReply> = answers.iter().collect();
    assert_eq!(replies.len(), 50);
    assert!(
        replies.iter().all(|r| matches!(r, StoreReply::Chat(_))),
        "{replies:?}"
    );
    // Every line is there on reopening.
    let texts: Vec<String> = history(&db.open(), room, 100)
        .into_iter()
        .map(|chat| match chat.kind {
            ChatKind::Text(text) => text.to_string(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(texts, (0..50).map(|n| n.to_string()).collect::<Vec<_>>());
}
