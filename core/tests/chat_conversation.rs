//! The chat room end to end in memory (SPEC §6, C5–C10): two or three visitors, their
//! WebSocket sessions through one [`Hub`], a fake store, a virtual clock.

mod chat_support;

use std::time::Duration;

use chat_support::{visitor, FakeStore, World};
use gif_chat_core::chat::{colour_of, ChatAction, ChatAnswer, ChatKind, ChatRefusal, ChatText};
use serde_json::json;

#[test]
fn two_visitors_join_chat_whisper_and_leave() {
    let mut world = World::new(World::chat_config(), FakeStore::default());
    let (a, b) = (visitor(1), visitor(2));
    let (ca, cb) = (colour_of(&a).to_string(), colour_of(&b).to_string());

    // The list page's socket, without a cookie: /room is for anyone.
    let list = world.open(None);
    world.send(list, "0/room,");
    assert!(world
        .received(list)
        .iter()
        .any(|p| p.starts_with("40/room,")));

    let room = world.create(&a, "수다방", 10, None);
    assert_eq!(
        world.events(list, "/room"),
        vec![(
            "newRoom".to_owned(),
            json!({"_id": room.id.as_str(), "title": "수다방", "max": 10, "owner": ca, "password": false})
        )]
    );
    assert!(
        world
            .logs
            .contains(&format!("방 생성 {} 수다방 ({ca})", room.id)),
        "{:?}",
        world.logs
    );
    match world.request(&b, ChatAction::ListRooms) {
        ChatAnswer::Rooms(rooms) => assert_eq!(rooms, vec![room.clone()]),
        other => panic!("{other:?}"),
    }

    let sa = world.member(&a, &room.id);
    let sb = world.member(&b, &room.id);
    let seen = world.events(sa, "/chat");
    assert_eq!(
        seen,
        vec![
            (
                "join".to_owned(),
                json!({"user": "system", "chat": format!("{cb}님이 입장하셨습니다.")})
            ),
            (
                "members".to_owned(),
                json!({"owner": ca, "members": [ca, cb], "count": 2})
            ),
        ]
    );

    // A chat over the socket, with an ack: stored, then to everyone, sender included.
    world.send(sa, "2/chat,7[\"chat\",\"hi <b>\"]");
    let to_a = world.received(sa);
    assert!(
        to_a.iter().any(|p| p == "43/chat,7[{\"ok\":true}]"),
        "{to_a:?} {:?}",
        world.logs
    );
    let chat = to_a
        .iter()
        .find(|p| p.starts_with("42/chat,[\"chat\""))
        .expect("chat");
    let value: serde_json::Value = serde_json::from_str(&chat["42/chat,".len()..]).unwrap();
    assert_eq!(value[1]["user"], json!(ca));
    assert_eq!(value[1]["chat"], json!("hi <b>"));
    assert_eq!(value[1]["room"], json!(room.id.as_str()));
    assert!(value[1]["createdAt"].as_str().unwrap().ends_with('Z'));
    assert_eq!(world.events(sb, "/chat")[0].1["chat"], json!("hi <b>"));
    assert!(
        world.logs.contains(&format!("채팅 {} {ca} 6자", room.id)),
        "{:?}",
        world.logs
    );
    assert!(
        !world.logs.iter().any(|l| l.contains("hi <b>")),
        "never the text"
    );

    // Over HTTP too, by a member.
    let text = ChatText::new("안녕").unwrap();
    match world.request(
        &b,
        ChatAction::PostChat {
            room: room.id,
            text,
        },
    ) {
        ChatAnswer::Posted(line) => {
            assert_eq!(line.kind, ChatKind::Text(ChatText::new("안녕").unwrap()))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(world.events(sa, "/chat")[0].1["chat"], json!("안녕"));
    assert_eq!(world.events(sb, "/chat")[0].1["chat"], json!("안녕"));
    // Not by a stranger.
    let c = visitor(3);
    let text = ChatText::new("x").unwrap();
    let refused = world.request(
        &c,
        ChatAction::PostChat {
            room: room.id,
            text,
        },
    );
    assert_eq!(refused, ChatAnswer::Refused(ChatRefusal::NotAMember));

    // A whisper: to its target and its sender only, never to a third member.
    let sc = world.member(&c, &room.id);
    world.received(sa);
    world.received(sb);
    world.send(
        sb,
        &format!("2/chat,8[\"whisper\",{{\"to\":\"{ca}\",\"chat\":\"psst\"}}]"),
    );
    assert_eq!(world.events(sa, "/chat")[0].0, "whisper");
    let to_b = world.received(sb);
    assert!(
        to_b.iter().any(|p| p.starts_with("42/chat,[\"whisper\"")),
        "{to_b:?}"
    );
    assert!(
        to_b.iter().any(|p| p == "43/chat,8[{\"ok\":true}]"),
        "{to_b:?}"
    );
    assert!(world.events(sc, "/chat").is_empty());
    // The history a visitor gets hides others' whispers.
    match world.request(
        &c,
        ChatAction::Enter {
            room: room.id,
            password: None,
        },
    ) {
        ChatAnswer::Entered { history, me, .. } => {
            assert_eq!(me, colour_of(&c));
            assert!(history
                .iter()
                .all(|l| !matches!(l.kind, ChatKind::Whisper { .. })));
            assert!(history
                .iter()
                .any(|l| matches!(l.kind, ChatKind::System(_))));
        }
        other => panic!("{other:?}"),
    }
    // A whisper to someone not there is refused through the ack.
    world.send(
        sb,
        "2/chat,9[\"whisper\",{\"to\":\"#000000\",\"chat\":\"psst\"}]",
    );
    let to_b = world.received(sb);
    assert!(
        to_b.iter().any(|p| p.starts_with("43/chat,9[{\"error\":")),
        "{to_b:?}"
    );

    // B leaves: the others read it, stored.
    world.send(sb, "1/chat,");
    let seen = world.events(sa, "/chat");
    assert_eq!(
        seen[0],
        (
            "exit".to_owned(),
            json!({"user": "system", "chat": format!("{cb}님이 퇴장하셨습니다.")})
        )
    );
    assert_eq!(seen[1].1["members"], json!([ca, colour_of(&c).to_string()]));
    assert!(world
        .store
        .system_lines()
        .contains(&format!("{cb}님이 퇴장하셨습니다.")));
}

#[test]
fn a_second_tab_is_one_member_and_no_second_join() {
    let mut world = World::new(World::chat_config(), FakeStore::default());
    let (a, b) = (visitor(1), visitor(2));
    let room = world.create(&a, "two", 2, None);
    let sa = world.member(&a, &room.id);
    let sb = world.member(&b, &room.id);
    world.received(sa);
    // B's second tab: let in although the room is full, no join line.
    let sb2 = world.open(Some(&b));
    world.enter(sb2, &room.id);
    let seen = world.events(sa, "/chat");
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].1["count"], json!(2));
    // A third visitor is refused, over HTTP and on the socket.
    let c = visitor(3);
    let refused = world.request(
        &c,
        ChatAction::Enter {
            room: room.id,
            password: None,
        },
    );
    assert_eq!(refused, ChatAnswer::Refused(ChatRefusal::RoomFull));
    let sc = world.open(Some(&c));
    assert_eq!(
        world.join(sc, &room.id),
        "44/chat,{\"message\":\"허용 인원이 초과하였습니다.\"}"
    );
    // Closing one of B's tabs is not leaving.
    world.send(sb2, "1/chat,");
    assert!(world.events(sa, "/chat").is_empty(), "not leaving: no line");
    world.send(sb, "1/chat,");
    assert_eq!(world.events(sa, "/chat")[0].0, "exit");
    let _ = sb;
}

#[test]
fn sockets_without_a_cookie_or_a_real_room_are_refused() {
    let mut world = World::new(World::chat_config(), FakeStore::default());
    let a = visitor(1);
    let room = world.create(&a, "t", 10, None);
    let anonymous = world.open(None);
    let answer = world.join(anonymous, &room.id);
    assert!(answer.starts_with("44/chat,{\"message\":"), "{answer}");
    let sa = world.open(Some(&a));
    world.send(sa, "0/chat,{\"roomId\":\"../../etc/passwd\"}");
    let got = world.received(sa);
    assert_eq!(
        got,
        vec!["44/chat,{\"message\":\"존재하지 않는 방입니다.\"}".to_owned()]
    );
}

#[test]
fn a_password_room_admits_its_creator_and_who_gives_the_password() {
    let mut world = World::new(World::chat_config(), FakeStore::default());
    let (a, b) = (visitor(1), visitor(2));
    let room = world.create(&a, "secret", 10, Some("open sesame"));
    assert!(room.has_password);
    world.member(&a, &room.id);

    let asked = world.request(
        &b,
        ChatAction::Enter {
            room: room.id,
            password: None,
        },
    );
    assert!(
        matches!(asked, ChatAnswer::Refused(ChatRefusal::PasswordNeeded(_))),
        "{asked:?}"
    );
    let sb = world.open(Some(&b));
    assert_eq!(
        world.join(sb, &room.id),
        "44/chat,{\"message\":\"비밀번호를 입력하세요.\"}"
    );
    let wrong = gif_chat_core::chat::Password::new("guess").unwrap();
    let answer = world.request(
        &b,
        ChatAction::Enter {
            room: room.id,
            password: Some(wrong),
        },
    );
    assert_eq!(answer, ChatAnswer::Refused(ChatRefusal::WrongPassword));
    let right = gif_chat_core::chat::Password::new("open sesame").unwrap();
    let answer = world.request(
        &b,
        ChatAction::Enter {
            room: room.id,
            password: Some(right),
        },
    );
    assert!(matches!(answer, ChatAnswer::Entered { .. }), "{answer:?}");
    // Admitted: the page's socket and a reload need no password.
    world.enter(sb, &room.id);
    let again = world.request(
        &b,
        ChatAction::Enter {
            room: room.id,
            password: None,
        },
    );
    assert!(matches!(again, ChatAnswer::Entered { .. }));
    assert!(
        !world.logs.iter().any(|l| l.contains("sesame")),
        "{:?}",
        world.logs
    );
}

#[test]
fn the_owner_kicks_and_the_room_passes_to_the_longest_present() {
    let mut world = World::new(World::chat_config(), FakeStore::default());
    let (a, b, c) = (visitor(1), visitor(2), visitor(3));
    let (ca, cb, cc) = (
        colour_of(&a).to_string(),
        colour_of(&b).to_string(),
        colour_of(&c).to_string(),
    );
    let list = world.open(None);
    world.send(list, "0/room,");
    let room = world.create(&a, "kick", 10, None);
    let sa = world.member(&a, &room.id);
    let sb = world.member(&b, &room.id);
    let sc = world.member(&c, &room.id);
    for sid in [sa, sb, sc, list] {
        world.received(sid);
    }

    // Only the owner kicks.
    world.send(sb, &format!("2/chat,1[\"kick\",{{\"target\":\"{cc}\"}}]"));
    let to_b = world.received(sb);
    assert_eq!(
        to_b,
        vec!["43/chat,1[{\"error\":\"방장만 강퇴할 수 있습니다.\"}]".to_owned()]
    );

    world.send(sa, &format!("2/chat,2[\"kick\",{{\"target\":\"{cc}\"}}]"));
    let to_c = world.received(sc);
    assert_eq!(to_c[0], format!("42/chat,[\"kicked\",{{\"by\":\"{ca}\"}}]"));
    assert_eq!(to_c[1], "41/chat,");
    let to_a = world.events(sa, "/chat");
    assert_eq!(
        to_a[0],
        (
            "exit".to_owned(),
            json!({"user": "system", "chat": format!("{cc}님이 강퇴되었습니다.")})
        )
    );
    assert_eq!(to_a[1].1["members"], json!([ca, cb]));
    assert!(world.logs.contains(&format!("강퇴 {} {cc}", room.id)));
    assert_eq!(world.events(sb, "/chat").len(), 2, "exit and members");
    // The kicked visitor is out: a kick of them again finds nobody.
    world.send(sa, &format!("2/chat,3[\"kick\",{{\"target\":\"{cc}\"}}]"));
    assert!(world.received(sa)[0].starts_with("43/chat,3[{\"error\":"));

    // The owner leaves: B, the longest present, owns the room.
    world.send(sa, "1/chat,");
    let to_b = world.events(sb, "/chat");
    let names: Vec<&str> = to_b.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["exit", "system", "members"], "{to_b:?}");
    assert_eq!(
        to_b[1].1,
        json!({"user": "system", "chat": format!("{cb}님이 방장이 되었습니다.")})
    );
    assert_eq!(to_b[2].1, json!({"owner": cb, "members": [cb], "count": 1}));
    let updated = world.events(list, "/room");
    assert_eq!(updated[0].0, "updateRoom");
    assert_eq!(updated[0].1["owner"], json!(cb));
    assert_eq!(world.store.rooms[0].0.owner_colour, colour_of(&b));
    assert!(world.logs.contains(&format!("방장 변경 {} {cb}", room.id)));
    assert!(world
        .store
        .system_lines()
        .contains(&format!("{cb}님이 방장이 되었습니다.")));
}

#[test]
fn an_empty_room_goes_after_the_window_with_its_files() {
    let mut config = World::chat_config();
    config.chat.empty_room_removal = Duration::from_millis(2000);
    let mut world = World::new(config, FakeStore::default());
    let a = visitor(1);
    let list = world.open(None);
    world.send(list, "0/room,");
    let room = world.create(&a, "gone", 10, None);
    let sa = world.member(&a, &room.id);
    assert_eq!(
        world.request(&a, ChatAction::MayUpload { room: room.id }),
        ChatAnswer::UploadAllowed
    );
    let gif = World::gif("abc.gif");
    let posted = world.request(
        &a,
        ChatAction::GifStored {
            room: room.id,
            gif: gif.clone(),
            bytes: 1234,
        },
    );
    assert!(matches!(posted, ChatAnswer::Posted(_)), "{posted:?}");
    let got = world.events(sa, "/chat");
    assert_eq!(got.last().unwrap().1["gif"], json!("abc.gif"));
    world.received(list);

    // A reload: out and back within the window keeps the room.
    world.send(sa, "1/chat,");
    world.advance(Duration::from_millis(1500));
    world.enter(sa, &room.id);
    world.advance(Duration::from_millis(1000));
    assert_eq!(world.hub.chat().room_count(), 1);

    world.send(sa, "1/chat,");
    let left_at = world.now;
    assert_eq!(
        world
            .hub
            .poll_timeout()
            .filter(|at| *at <= left_at + Duration::from_secs(2)),
        Some(left_at + Duration::from_secs(2))
    );
    world.advance(Duration::from_millis(1999));
    assert_eq!(world.hub.chat().room_count(), 1);
    world.advance(Duration::from_millis(1));
    assert_eq!(world.hub.chat().room_count(), 0);
    assert_eq!(
        world.events(list, "/room"),
        vec![("removeRoom".to_owned(), json!(room.id.as_str()))]
    );
    assert!(world.store.rooms.is_empty());
    assert!(world.store.chats.is_empty());
    assert_eq!(world.hub.poll_removed_gif(), Some(gif));
    assert_eq!(world.hub.poll_removed_gif(), None);
    assert!(world.logs.contains(&format!("방 삭제 {}", room.id)));
    let gone = world.request(
        &a,
        ChatAction::Enter {
            room: room.id,
            password: None,
        },
    );
    assert_eq!(gone, ChatAnswer::Refused(ChatRefusal::NoSuchRoom));
    // An upload that finishes after its room went is refused, and its file deleted.
    let late = World::gif("late.gif");
    let refused = world.request(
        &a,
        ChatAction::GifStored {
            room: room.id,
            gif: late.clone(),
            bytes: 99,
        },
    );
    assert_eq!(refused, ChatAnswer::Refused(ChatRefusal::NoSuchRoom));
    assert_eq!(world.hub.poll_removed_gif(), Some(late));
    let colour = colour_of(&a);
    assert!(world
        .logs
        .contains(&format!("업로드 {} {colour} abc.gif 1234B", room.id)));
}

#[test]
fn a_stop_is_not_leaving_and_a_start_gives_every_room_its_window() {
    let mut world = World::new(World::chat_config(), FakeStore::default());
    let (a, b) = (visitor(1), visitor(2));
    let kept = world.create(&a, "kept", 10, None);
    let lost = world.create(&b, "lost", 10, None);
    world.member(&a, &kept.id);
    world.member(&b, &lost.id);
    let lines_before = world.store.system_lines().len();
    world.hub.handle_shutdown(world.now);
    world.settle();
    world.advance(Duration::from_secs(10));
    assert_eq!(world.store.rooms.len(), 2, "no room removed by a stop");
    assert_eq!(
        world.store.system_lines().len(),
        lines_before,
        "no exit lines"
    );

    // A new start on the same store: every room is listed, and gets 2 s.
    let mut world = World::new(World::chat_config(), world.store.clone());
    match world.request(&a, ChatAction::ListRooms) {
        ChatAnswer::Rooms(rooms) => assert_eq!(rooms.len(), 2),
        other => panic!("{other:?}"),
    }
    world.advance(Duration::from_millis(1000));
    world.member(&a, &kept.id);
    world.advance(Duration::from_millis(1000));
    assert_eq!(world.hub.chat().room_count(), 1);
    assert_eq!(world.store.rooms.len(), 1);
    assert_eq!(world.store.rooms[0].0.id, kept.id);
}

#[test]
fn requests_before_the_room_list_loaded_wait_for_it() {
    let a = visitor(1);
    let mut first = World::new(World::chat_config(), FakeStore::default());
    let room = first.create(&a, "early", 10, None);
    // A new start whose store has not answered the room list yet.
    let mut world = World::new(World::chat_config(), first.store.clone());
    world.hold_store = true;
    world.hub = gif_chat_core::Hub::new(World::chat_config(), [9; 32]);
    let ticket = world.send_request(&a, ChatAction::ListRooms);
    assert_eq!(world.hub.poll_chat_answer(), None, "waits for the list");
    world.hold_store = false;
    world.settle();
    match world.answer_for(ticket) {
        Some(ChatAnswer::Rooms(rooms)) => assert_eq!(rooms, vec![room]),
        other => panic!("{other:?}"),
    }
}

#[test]
fn chats_and_uploads_share_a_rate_limit_per_visitor() {
    let mut config = World::chat_config();
    config.chat.rate = "1/2".parse().unwrap();
    let mut world = World::new(config, FakeStore::default());
    let (a, b) = (visitor(1), visitor(2));
    let room = world.create(&a, "fast", 10, None);
    let sa = world.member(&a, &room.id);
    world.member(&b, &room.id);
    world.received(sa);
    world.send(sa, "2/chat,1[\"chat\",\"one\"]");
    assert_eq!(
        world.request(&a, ChatAction::MayUpload { room: room.id }),
        ChatAnswer::UploadAllowed
    );
    world.send(sa, "2/chat,2[\"chat\",\"three\"]");
    let got = world.received(sa);
    assert!(
        got.iter()
            .any(|p| p.starts_with("43/chat,2[{\"error\":\"너무 빠릅니다")),
        "{got:?}"
    );
    let text = ChatText::new("four").unwrap();
    match world.request(
        &a,
        ChatAction::PostChat {
            room: room.id,
            text,
        },
    ) {
        ChatAnswer::Refused(ChatRefusal::TooFast { retry_after }) => {
            assert_eq!(retry_after, Duration::from_secs(1))
        }
        other => panic!("{other:?}"),
    }
    // Another visitor is not slowed down.
    let text = ChatText::new("b").unwrap();
    assert!(matches!(
        world.request(
            &b,
            ChatAction::PostChat {
                room: room.id,
                text
            }
        ),
        ChatAnswer::Posted(_)
    ));
    world.advance(Duration::from_secs(1));
    world.send(sa, "2/chat,3[\"chat\",\"later\"]");
    assert!(world
        .received(sa)
        .iter()
        .any(|p| p == "43/chat,3[{\"ok\":true}]"));
    // Too long and empty lines are refused through the ack.
    let long = "가".repeat(1001);
    world.send(sa, &format!("2/chat,4[\"chat\",\"{long}\"]"));
    assert!(world
        .received(sa)
        .iter()
        .any(|p| p.starts_with("43/chat,4[{\"error\":")));
}
