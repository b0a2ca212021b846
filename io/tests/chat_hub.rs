//! The chat app in the shared hub over the real SQLite store (SPEC C5, C8): the rooms of the
//! last run are loaded at start and each gets its removal window; a room nobody re-enters is
//! deleted from the database with its images, and `removeRoom` reaches a `/room` socket whose
//! GET is parked, woken from the store's thread as a runtime's connection would be.

use std::sync::Arc;
use std::time::{Duration, Instant};

use event_listener::Listener as _;
use gif_chat_core::chat::{
    Author, ChatKind, Colour, GifName, ImageType, NewChat, NewRoom, RoomMax, StoreReply,
    StoreRequest, StoredImage, Title,
};
use gif_chat_core::Config;
use gif_chat_io::store::{DatabaseUrl, Store, StoreOptions};
use gif_chat_io::{ChatIo, HubLink, SharedHub};

#[path = "support/connection.rs"]
mod support;
use support::{body, connection, open_polling, written};

/// Runs the hub's deadlines as a runtime's timer does (its listener taken before the deadline
/// is read), until `done`; at most `limit`.
fn run_timer_until(hub: &SharedHub, limit: Duration, mut done: impl FnMut() -> bool) {
    let give_up = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < give_up, "gave up waiting");
        let moved = hub.timer_listener();
        let at = hub.next_deadline().unwrap_or(give_up).min(give_up);
        if moved.wait_deadline(at).is_none() {
            hub.handle_timeout();
        }
    }
}

#[test]
fn a_room_of_the_last_run_nobody_reenters_is_removed_with_its_images() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url: DatabaseUrl = format!("sqlite://{}", dir.path().join("chat.db").display())
        .parse()
        .expect("a valid URL");
    let uploads = dir.path().join("uploads");
    std::fs::create_dir_all(&uploads).expect("the upload directory");

    // The last run left a room with an image in it.
    let image = StoredImage::new([7; 16], ImageType::Gif);
    let gif: GifName = image.name().clone();
    std::fs::write(uploads.join(gif.as_str()), b"GIF89a").expect("the image");
    let room = {
        let store = Store::open(&url, StoreOptions::default()).expect("the store opens");
        let new = NewRoom {
            title: Title::new("지난 방").expect("title"),
            max: RoomMax::DEFAULT,
            password: None,
            owner: Colour::from_rgb([1, 2, 3]),
        };
        let StoreReply::Room(room) = store.call(StoreRequest::CreateRoom(new)) else {
            panic!("a room");
        };
        let line = NewChat {
            room: room.id,
            user: Author::Visitor(Colour::from_rgb([1, 2, 3])),
            kind: ChatKind::Gif(gif.clone()),
        };
        assert!(matches!(
            store.call(StoreRequest::AppendChat(line)),
            StoreReply::Chat(_)
        ));
        room
    };

    let mut config = Config::new();
    config.hub.chat.empty_room_removal = Duration::from_millis(20);
    let config = Arc::new(config);
    let hub = SharedHub::new(&config, None, true).expect("the OS random source");
    let chat = ChatIo::open(&url, &uploads, 1024).expect("the chat's I/O opens");
    hub.attach_chat(chat, None);

    // A room list page's socket, its GET parked.
    let mut conn = connection(&config);
    let mut link = HubLink::new();
    let sid = open_polling(&hub, &mut conn, &mut link, 1, "/socket.io/");
    let post = format!(
        "POST /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: a\r\n\
         Content-Length: 8\r\n\r\n40/room,"
    );
    conn.handle_input(Instant::now(), post.as_bytes());
    hub.exchange(&mut conn, &mut link, 1);
    assert_eq!(body(&written(&mut conn)), "ok");
    let get =
        format!("GET /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: a\r\n\r\n");
    conn.handle_input(Instant::now(), get.as_bytes());
    hub.exchange(&mut conn, &mut link, 1);
    assert!(body(&written(&mut conn)).starts_with("40/room,"));
    conn.handle_input(Instant::now(), get.as_bytes());
    hub.exchange(&mut conn, &mut link, 1);
    assert_eq!(written(&mut conn), "", "parked");

    // Nobody comes back: the window passes, the room goes.
    run_timer_until(&hub, Duration::from_secs(10), || link.is_woken());
    hub.exchange(&mut conn, &mut link, 1);
    let removed = written(&mut conn);
    assert!(
        body(&removed).contains(&format!("42/room,[\"removeRoom\",\"{}\"]", room.id)),
        "{removed}"
    );
    let lines: Vec<String> = hub.take_log_lines().into_iter().map(|l| l.text).collect();
    assert!(lines.contains(&format!("방 삭제 {}", room.id)), "{lines:?}");

    // The deletion reaches the database and the upload directory once the store and the
    // blocking pool have done it: dropping the hub joins the store's thread.
    let image_path = uploads.join(gif.as_str());
    let give_up = Instant::now() + Duration::from_secs(10);
    while image_path.exists() {
        assert!(Instant::now() < give_up, "the image was not deleted");
        std::thread::yield_now();
    }
    drop(conn);
    drop(link);
    drop(hub);
    let store = Store::open(&url, StoreOptions::default()).expect("the store opens again");
    assert_eq!(
        store.call(StoreRequest::ListRooms),
        StoreReply::Rooms(Vec::new())
    );
}
