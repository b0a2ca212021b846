//! Whole Socket.IO conversations in memory on a virtual clock, beyond the official suite:
//! rooms (E4), acks both ways (E5), connection state recovery (E6), and the bounds on
//! everything the layer keeps (E7).

mod sio;

use std::time::Duration;

use bytes::Bytes;
use gif_chat_core::engineio::Sid;
use gif_chat_core::socketio::{
    AckId, Admission, Args, CloseReason, CommandError, Config, DisconnectReason, Event,
    PacketError, RecoveryConfig, ServerAckId, SessionCloseReason, SocketId, To,
};
use proptest::prelude::*;
use serde_json::{json, Value};
use sio::*;

fn id(socket: &str) -> SocketId {
    SocketId::parse(socket).expect("a socket id from a CONNECT answer")
}

fn args(values: Value) -> Args {
    Args::json(values.as_array().cloned().unwrap_or_default())
}

fn no_recovery() -> Config {
    Config {
        recovery: None,
        ..Config::default()
    }
}

/// Three clients in a room and one outside it, on `/chat`.
fn room_of_three(engine: &mut Engine) -> [(Sid, SocketId); 4] {
    let mut clients = Vec::new();
    for i in 0..4 {
        let (sid, socket, _) = engine.connect("/chat", "");
        let socket = id(&socket);
        if i < 3 {
            engine.server.join("/chat", socket, "lobby").unwrap();
        }
        clients.push((sid, socket));
    }
    clients.try_into().unwrap()
}

#[test]
fn room_emits_reach_the_room_the_room_but_the_sender_or_the_whole_namespace() {
    let mut engine = plain(no_recovery());
    let [a, b, c, outside] = room_of_three(&mut engine);
    let now = engine.now;
    let hello = args(json!(["hello"]));

    engine
        .server
        .emit(now, "/chat", To::Room("lobby"), "news", &hello)
        .unwrap();
    engine.pump();
    for (sid, _) in [a, b, c] {
        assert_eq!(engine.texts(sid), [r#"42/chat,["news","hello"]"#]);
    }
    assert!(engine.texts(outside.0).is_empty());

    let except = To::RoomExcept {
        room: "lobby",
        except: a.1,
    };
    engine
        .server
        .emit(now, "/chat", except, "news", &hello)
        .unwrap();
    engine.pump();
    assert!(engine.texts(a.0).is_empty());
    assert_eq!(engine.texts(b.0).len(), 1);
    assert_eq!(engine.texts(c.0).len(), 1);
    assert!(engine.texts(outside.0).is_empty());

    engine
        .server
        .emit(now, "/chat", To::Namespace, "all", &hello)
        .unwrap();
    engine.pump();
    for (sid, _) in [a, b, c, outside] {
        assert_eq!(engine.texts(sid), [r#"42/chat,["all","hello"]"#]);
    }
    engine
        .server
        .emit(now, "/chat", To::NamespaceExcept(outside.1), "all", &hello)
        .unwrap();
    engine.pump();
    assert!(engine.texts(outside.0).is_empty());
    for (sid, _) in [a, b, c] {
        assert_eq!(engine.texts(sid).len(), 1);
    }
    assert_eq!(engine.broadcasts, 4, "each emit encoded once");

    // A socket is in the room named by its own id.
    engine
        .server
        .emit(now, "/chat", To::Room(outside.1.as_str()), "direct", &hello)
        .unwrap();
    engine.pump();
    assert_eq!(engine.texts(outside.0), [r#"42/chat,["direct","hello"]"#]);
    assert!(engine.texts(a.0).is_empty());
    // Another socket may join a room of that name too; the socket never leaves its own.
    engine
        .server
        .join("/chat", a.1, outside.1.as_str())
        .unwrap();
    engine
        .server
        .leave("/chat", outside.1, outside.1.as_str())
        .unwrap();
    assert_eq!(engine.server.room_len("/chat", outside.1.as_str()), 2);
    engine
        .server
        .emit(now, "/chat", To::Room(outside.1.as_str()), "direct", &hello)
        .unwrap();
    engine.pump();
    assert_eq!(engine.texts(outside.0).len(), 1);
    assert_eq!(engine.texts(a.0).len(), 1);
    engine
        .server
        .leave("/chat", a.1, outside.1.as_str())
        .unwrap();
    assert_eq!(engine.server.room_len("/chat", outside.1.as_str()), 1);

    let mut members = engine.server.room_members("/chat", "lobby");
    members.sort();
    let mut expected = vec![a.1, b.1, c.1];
    expected.sort();
    assert_eq!(members, expected);
    assert_eq!(engine.server.session_of("/chat", b.1), Some(b.0));

    // Leaving, and a socket gone, shrink the room; an empty room is gone.
    engine.server.leave("/chat", b.1, "lobby").unwrap();
    engine.drop_session(c.0, CloseReason::TransportClose);
    assert_eq!(engine.server.room_len("/chat", "lobby"), 1);
    assert_eq!(
        engine.server.rooms("/chat", a.1).unwrap(),
        [a.1.as_str(), "lobby"]
    );
    engine.server.leave("/chat", a.1, "lobby").unwrap();
    assert_eq!(engine.server.room_len("/chat", "lobby"), 0);
}

#[test]
fn a_broadcast_shares_one_encoding_and_its_attachments_with_every_recipient() {
    let mut engine = plain(no_recovery());
    let [a, b, ..] = room_of_three(&mut engine);
    let mut picture = Args::default();
    let placeholder = picture.attach(Bytes::from_static(b"GIF89a"));
    picture.values.push(placeholder);
    engine
        .server
        .emit(engine.now, "/chat", To::Room("lobby"), "gif", &picture)
        .unwrap();
    let gif_chat_core::socketio::Transmit::Broadcast { sids, payloads } =
        engine.server.poll_transmit().unwrap()
    else {
        panic!("one broadcast")
    };
    assert_eq!(sids.len(), 3);
    assert!(sids.contains(&a.0) && sids.contains(&b.0));
    assert_eq!(payloads.len(), 2);
    assert_eq!(
        payloads[0].as_text(),
        Some(r#"51-/chat,["gif",{"_placeholder":true,"num":0}]"#)
    );
    match &payloads[1] {
        gif_chat_core::engineio::Payload::Binary(bytes) => {
            // The very bytes the app attached: no copy.
            assert_eq!(bytes.as_ptr(), picture.attachments[0].as_ptr())
        }
        other => panic!("binary attachment, got {other:?}"),
    }
}

#[test]
fn client_acks_come_back_with_the_clients_id_and_binary_data() {
    let mut engine = plain(no_recovery());
    let (sid, socket, _) = engine.connect("/", "");
    let socket = id(&socket);
    engine.send(sid, r#"4212["ask",{"q":1}]"#);
    let events = engine.take_events();
    let Some(Event::Event {
        name, args: a, ack, ..
    }) = events.last()
    else {
        panic!("an event, got {events:?}")
    };
    assert_eq!((name.as_str(), ack), ("ask", &Some(AckId(12))));
    assert_eq!(a.values, [json!({"q": 1})]);
    let mut answer = Args::json(vec![json!("yes")]);
    let placeholder = answer.attach(Bytes::from_static(&[9, 9]));
    answer.values.push(placeholder);
    engine.server.ack("/", socket, AckId(12), &answer).unwrap();
    engine.pump();
    assert_eq!(
        engine.received(sid),
        [
            text(r#"461-12["yes",{"_placeholder":true,"num":0}]"#),
            Msg::Binary(vec![9, 9])
        ]
    );
}

#[test]
fn server_acks_are_answered_or_given_up_after_their_timeout() {
    let mut engine = plain(no_recovery());
    let (sid, socket, _) = engine.connect("/chat", "");
    let socket = id(&socket);
    engine.take_events();
    let timeout = Duration::from_secs(5);
    let now = engine.now;
    let first = engine
        .server
        .emit_with_ack(now, "/chat", socket, "q", &args(json!([1])), timeout)
        .unwrap();
    let second = engine
        .server
        .emit_with_ack(now, "/chat", socket, "q", &args(json!([2])), timeout)
        .unwrap();
    engine.pump();
    assert_eq!(
        engine.texts(sid),
        [r#"42/chat,0["q",1]"#, r#"42/chat,1["q",2]"#]
    );
    engine.send(sid, r#"43/chat,0["a"]"#);
    assert_eq!(
        engine.take_events(),
        [Event::AckReceived {
            ns: "/chat".into(),
            socket,
            id: first,
            args: args(json!(["a"])),
        }]
    );
    engine.advance(Duration::from_millis(4_999));
    assert!(engine.take_events().is_empty());
    engine.advance(Duration::from_millis(1));
    assert_eq!(
        engine.take_events(),
        [Event::AckTimedOut {
            ns: "/chat".into(),
            socket,
            id: second
        }]
    );
    // A late answer, or one to an id never asked, is dropped.
    engine.send(sid, r#"43/chat,1["late"]"#);
    engine.send(sid, r#"43/chat,77["never"]"#);
    assert!(engine.take_events().is_empty());
    assert!(!engine.closed.contains(&sid));
    assert_eq!(engine.server.poll_timeout(), None);
}

#[test]
fn pending_server_acks_are_bounded_and_dropped_with_their_socket() {
    let mut engine = plain(Config {
        max_pending_acks: 2,
        ..no_recovery()
    });
    let (sid, socket, _) = engine.connect("/", "");
    let socket = id(&socket);
    let now = engine.now;
    let t = Duration::from_secs(5);
    for _ in 0..2 {
        engine
            .server
            .emit_with_ack(now, "/", socket, "q", &Args::default(), t)
            .unwrap();
    }
    assert_eq!(
        engine
            .server
            .emit_with_ack(now, "/", socket, "q", &Args::default(), t),
        Err(CommandError::TooManyPendingAcks(2))
    );
    engine.drop_session(sid, CloseReason::PingTimeout);
    engine.advance(Duration::from_secs(10));
    assert!(
        !engine
            .take_events()
            .iter()
            .any(|e| matches!(e, Event::AckTimedOut { .. })),
        "a gone socket's acks end with it"
    );
}

#[test]
fn commands_are_refused_with_typed_errors() {
    let mut engine = plain(Config {
        max_rooms_per_socket: 3,
        ..no_recovery()
    });
    let (_, socket, _) = engine.connect("/", "");
    let socket = id(&socket);
    let now = engine.now;
    let none = Args::default();
    assert_eq!(
        engine.server.emit(now, "/nope", To::Namespace, "x", &none),
        Err(CommandError::UnknownNamespace("/nope".into()))
    );
    assert_eq!(
        engine
            .server
            .emit(now, "/", To::Namespace, "disconnect", &none),
        Err(CommandError::ReservedEvent("disconnect".into()))
    );
    assert_eq!(
        engine
            .server
            .emit(now, "/chat", To::Socket(socket), "x", &none),
        Err(CommandError::UnknownSocket)
    );
    engine.server.join("/", socket, "a").unwrap();
    engine.server.join("/", socket, "b").unwrap();
    engine.server.join("/", socket, "b").unwrap();
    assert_eq!(
        engine.server.join("/", socket, "c"),
        Err(CommandError::TooManyRooms(3))
    );
}

#[test]
fn a_server_disconnect_sends_disconnect_and_keeps_the_session() {
    let mut engine = plain(no_recovery());
    let (sid, socket, _) = engine.connect("/chat", "");
    engine.take_events();
    engine
        .server
        .disconnect(engine.now, "/chat", id(&socket))
        .unwrap();
    engine.pump();
    assert_eq!(engine.texts(sid), ["41/chat,"]);
    assert!(matches!(
        engine.take_events().as_slice(),
        [Event::Disconnected {
            reason: DisconnectReason::ServerNamespaceDisconnect,
            ..
        }]
    ));
    assert!(!engine.closed.contains(&sid));
    assert_eq!(engine.server.session_count(), 1);
}

/// Texts, then binaries a client sends, and why its session must be closed.
type Misbehaviour = (
    &'static [&'static str],
    &'static [&'static [u8]],
    SessionCloseReason,
);

#[test]
fn attachments_are_bounded_and_must_arrive_as_announced() {
    let mut engine = plain(Config {
        max_attachments: 2,
        max_attachment_bytes: 4,
        ..no_recovery()
    });
    let cases: [Misbehaviour; 4] = [
        (
            &[r#"453-["x"]"#],
            &[],
            SessionCloseReason::InvalidPacket(PacketError::TooManyAttachments(2)),
        ),
        (
            &[r#"452-["x"]"#],
            &[b"abc", b"de"],
            SessionCloseReason::InvalidPacket(PacketError::AttachmentsTooLarge(4)),
        ),
        (
            &[r#"451-["x"]"#, r#"42["y"]"#],
            &[],
            SessionCloseReason::InvalidPacket(PacketError::MissingAttachments),
        ),
        (
            &[],
            &[b"stray"],
            SessionCloseReason::InvalidPacket(PacketError::UnexpectedBinary),
        ),
    ];
    for (texts, binaries, reason) in cases {
        let (sid, _, _) = engine.connect("/", "");
        engine.take_events();
        for t in texts {
            engine.send(sid, t);
        }
        for b in binaries {
            engine.send_binary(sid, b);
        }
        assert!(engine.closed.contains(&sid), "{texts:?}");
        let events = engine.take_events();
        assert_eq!(
            events.last(),
            Some(&Event::SessionClosed { sid, reason }),
            "{events:?}"
        );
        assert!(matches!(
            &events[0],
            Event::Disconnected {
                reason: DisconnectReason::ParseError(_),
                ..
            }
        ));
    }
}

// ---- connection state recovery (E6) ----

fn offset_of(message: &str) -> String {
    let start = message.find('[').unwrap();
    let values: Value = serde_json::from_str(&message[start..]).unwrap();
    values
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn a_dropped_client_comes_back_with_its_id_rooms_and_every_missed_packet_in_order() {
    let mut engine = with_recovery(RecoveryConfig::default());
    let (sid, socket, answer) = engine.connect("/chat", "");
    let pid = answer["pid"]
        .as_str()
        .expect("the CONNECT answer carries pid")
        .to_owned();
    let me = id(&socket);
    let (other_sid, other, _) = engine.connect("/chat", "");
    let other = id(&other);
    engine.server.join("/chat", me, "lobby").unwrap();
    engine.server.join("/chat", other, "lobby").unwrap();
    let now = engine.now;
    engine
        .server
        .emit(now, "/chat", To::Room("lobby"), "m", &args(json!([0])))
        .unwrap();
    engine.pump();
    let seen = engine.texts(sid);
    assert!(seen[0].starts_with(r#"42/chat,["m",0,""#), "{seen:?}");
    let last_offset = offset_of(&seen[0]);

    engine.drop_session(sid, CloseReason::TransportClose);
    engine.advance(Duration::from_secs(60));
    let now = engine.now;
    for (i, to) in [
        To::Room("lobby"),
        To::Room("elsewhere"),
        To::Socket(other),
        To::Namespace,
        To::RoomExcept {
            room: "lobby",
            except: me,
        },
        To::Room(me.as_str()),
    ]
    .into_iter()
    .enumerate()
    {
        engine
            .server
            .emit(now, "/chat", to, "m", &args(json!([i + 1])))
            .unwrap();
    }
    engine.pump();
    engine.texts(other_sid);
    assert_eq!(engine.server.recovery_kept("/chat"), (7, 1));

    let back = engine.open();
    let auth = json!({"pid": pid, "offset": last_offset}).to_string();
    engine.send(back, &format!("40/chat,{auth}"));
    let texts = engine.texts(back);
    let answer: Value = serde_json::from_str(texts[0].strip_prefix("40/chat,").unwrap()).unwrap();
    assert_eq!(answer["sid"], socket.as_str(), "same socket id");
    assert_eq!(answer["pid"], pid.as_str());
    let missed: Vec<i64> = texts[1..]
        .iter()
        .map(|t| {
            let start = t.find('[').unwrap();
            serde_json::from_str::<Value>(&t[start..]).unwrap()[1]
                .as_i64()
                .unwrap()
        })
        .collect();
    assert_eq!(
        missed,
        [1, 4, 6],
        "lobby, namespace and its own room, in order"
    );
    assert_eq!(
        engine.server.rooms("/chat", me).unwrap(),
        [me.as_str(), "lobby"]
    );
    assert!(matches!(
        engine.take_events().last(),
        Some(Event::Connected {
            recovered: true,
            ..
        })
    ));
    // The session was used: the same pid cannot take the socket a second time.
    engine.drop_session(back, CloseReason::TransportClose);
    let (_, answer) = {
        let again = engine.open();
        engine.connect_on(again, "/chat", &auth)
    };
    assert_eq!(
        answer["sid"],
        socket.as_str(),
        "persisted again on the drop"
    );
}

#[test]
fn recovery_gives_a_fresh_socket_after_the_window_or_a_chosen_leave() {
    let mut engine = with_recovery(RecoveryConfig::default());
    let now = engine.now;
    // Past the window.
    let (sid, socket, answer) = engine.connect("/", "");
    engine
        .server
        .emit(now, "/", To::Namespace, "m", &Args::default())
        .unwrap();
    engine.pump();
    let offset = offset_of(&engine.texts(sid)[0]);
    engine.drop_session(sid, CloseReason::PingTimeout);
    engine.advance(Duration::from_millis(120_000));
    assert_eq!(engine.server.recovery_kept("/"), (0, 0), "all expired");
    let auth = json!({"pid": answer["pid"], "offset": offset}).to_string();
    let (_, fresh, _) = engine.connect("/", &auth);
    assert_ne!(fresh, socket);

    // A client that chose to leave is not kept.
    let (sid, socket, answer) = engine.connect("/", "");
    let now = engine.now;
    engine
        .server
        .emit(now, "/", To::Socket(id(&socket)), "m", &Args::default())
        .unwrap();
    engine.pump();
    let offset = offset_of(&engine.texts(sid)[0]);
    engine.send(sid, "41");
    engine.drop_session(sid, CloseReason::TransportClose);
    let auth = json!({"pid": answer["pid"], "offset": offset}).to_string();
    let (_, fresh, _) = engine.connect("/", &auth);
    assert_ne!(fresh, socket);

    // A forged pid or offset gets a fresh socket too.
    let (_, fresh, _) = engine.connect("/", r#"{"pid":"AAAAAAAAAAAAAAAAAAAA","offset":"0-0"}"#);
    assert_ne!(fresh, socket);
}

#[test]
fn recovery_storage_is_bounded_and_an_evicted_offset_means_a_fresh_socket() {
    let mut engine = with_recovery(RecoveryConfig {
        max_packets: 3,
        max_sessions: 2,
        ..RecoveryConfig::default()
    });
    let (sid, socket, answer) = engine.connect("/", "");
    let now = engine.now;
    engine
        .server
        .emit(now, "/", To::Namespace, "m", &Args::default())
        .unwrap();
    engine.pump();
    let offset = offset_of(&engine.texts(sid)[0]);
    engine.drop_session(sid, CloseReason::TransportClose);
    for _ in 0..10 {
        engine
            .server
            .emit(now, "/", To::Namespace, "m", &Args::default())
            .unwrap();
    }
    for _ in 0..3 {
        let (sid, _, _) = engine.connect("/", "");
        engine.drop_session(sid, CloseReason::TransportClose);
    }
    assert_eq!(engine.server.recovery_kept("/"), (3, 2));
    let auth = json!({"pid": answer["pid"], "offset": offset}).to_string();
    let (_, fresh, _) = engine.connect("/", &auth);
    assert_ne!(fresh, socket);
}

#[test]
fn without_recovery_there_is_no_pid_and_no_offset() {
    let mut engine = plain(no_recovery());
    let (sid, _, answer) = engine.connect("/", "");
    assert_eq!(answer.as_object().unwrap().len(), 1);
    engine
        .server
        .emit(engine.now, "/", To::Namespace, "m", &args(json!([1])))
        .unwrap();
    engine.pump();
    assert_eq!(engine.texts(sid), [r#"42["m",1]"#]);
    assert_eq!(engine.server.recovery_kept("/"), (0, 0));
}

// ---- any input, any time ----

#[derive(Clone, Debug)]
enum Step {
    Open,
    Text(usize, String),
    Binary(usize, Vec<u8>),
    Close(usize),
    Wait(u64),
    Emit(String),
}

fn step() -> impl Strategy<Value = Step> {
    let packet = prop_oneof![
        Just("40".to_owned()),
        Just("40/chat,".to_owned()),
        Just(r#"40/chat,{"pid":"x","offset":"0-0"}"#.to_owned()),
        Just("41".to_owned()),
        Just("41/chat,".to_owned()),
        Just(r#"42["m",1]"#.to_owned()),
        Just(r#"4212["m"]"#.to_owned()),
        Just(r#"451-["m",{"_placeholder":true,"num":0}]"#.to_owned()),
        Just(r#"430["a"]"#.to_owned()),
        "4[0-6][0-9/a-z,\\-\\[\\]{}\"]{0,12}",
    ];
    prop_oneof![
        1 => Just(Step::Open),
        6 => (0usize..4, packet).prop_map(|(s, p)| Step::Text(s, p)),
        1 => (0usize..4, proptest::collection::vec(any::<u8>(), 0..4))
            .prop_map(|(s, b)| Step::Binary(s, b)),
        1 => (0usize..4).prop_map(Step::Close),
        2 => (0u64..100_000).prop_map(Step::Wait),
        1 => "[a-z]{0,3}".prop_map(Step::Emit),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Several sessions, random packets and time steps: no panic, and once every session is
    /// gone and the timeouts have passed, nothing is kept.
    #[test]
    fn any_sequence_of_inputs_ends_with_nothing_kept(
        steps in proptest::collection::vec(step(), 0..60),
    ) {
        let mut engine = with_recovery(RecoveryConfig {
            max_packets: 8,
            ..RecoveryConfig::default()
        });
        let mut sids: Vec<Sid> = Vec::new();
        for step in steps {
            match step {
                Step::Open => sids.push(engine.open()),
                Step::Text(i, text) if !sids.is_empty() => {
                    let sid = sids[i % sids.len()];
                    if !engine.closed.contains(&sid) {
                        engine.send(sid, &text);
                    }
                }
                Step::Binary(i, bytes) if !sids.is_empty() => {
                    let sid = sids[i % sids.len()];
                    if !engine.closed.contains(&sid) {
                        engine.send_binary(sid, &bytes);
                    }
                }
                Step::Close(i) if !sids.is_empty() => {
                    let sid = sids[i % sids.len()];
                    engine.drop_session(sid, CloseReason::TransportClose);
                }
                Step::Wait(ms) => engine.advance(Duration::from_millis(ms)),
                Step::Emit(room) => {
                    let now = engine.now;
                    let to = if room.is_empty() { To::Namespace } else { To::Room(&room) };
                    engine.server.emit(now, "/chat", to, "e", &Args::default()).unwrap();
                    engine.pump();
                }
                _ => {}
            }
            let (packets, _) = engine.server.recovery_kept("/chat");
            prop_assert!(packets <= 8);
        }
        for sid in sids {
            engine.drop_session(sid, CloseReason::TransportClose);
        }
        engine.advance(Duration::from_millis(120_000));
        prop_assert_eq!(engine.server.session_count(), 0);
        prop_assert_eq!(engine.server.socket_count("/"), 0);
        prop_assert_eq!(engine.server.socket_count("/chat"), 0);
        prop_assert_eq!(engine.server.recovery_kept("/"), (0, 0));
        prop_assert_eq!(engine.server.recovery_kept("/chat"), (0, 0));
        prop_assert_eq!(engine.server.poll_timeout(), None);
    }
}

#[test]
fn server_ack_ids_are_per_socket_and_increasing() {
    let mut engine = plain(no_recovery());
    let (_, a, _) = engine.connect("/", "");
    let (_, b, _) = engine.connect("/", "");
    let now = engine.now;
    let t = Duration::from_secs(1);
    let none = Args::default();
    let ids: Vec<ServerAckId> = [a.as_str(), b.as_str(), a.as_str()]
        .into_iter()
        .map(|s| {
            engine
                .server
                .emit_with_ack(now, "/", id(s), "q", &none, t)
                .unwrap()
        })
        .collect();
    assert_eq!(ids, [ServerAckId(0), ServerAckId(0), ServerAckId(1)]);
}

#[test]
fn a_namespace_by_admission_waits_for_the_app_to_admit_or_refuse() {
    let mut server = gif_chat_core::socketio::Server::new(no_recovery(), [1; 32]);
    server.add_namespace_with("/room", Admission::ByApp, None);
    let mut engine = Engine::new(server, None);
    let sid = engine.open();
    engine.send(sid, r#"40/room,{"password":"wrong"}"#);
    engine.send(sid, r#"40/room,{"password":"again"}"#);
    assert!(
        engine.received(sid).is_empty(),
        "nothing before the app decides"
    );
    assert_eq!(
        engine.take_events(),
        [Event::ConnectRequest {
            ns: "/room".into(),
            sid,
            auth: json!({"password": "wrong"}),
        }],
        "a repeated CONNECT while pending is ignored"
    );
    engine
        .server
        .refuse("/room", sid, "비밀번호가 틀렸습니다.")
        .unwrap();
    engine.pump();
    assert_eq!(
        engine.texts(sid),
        [r#"44/room,{"message":"비밀번호가 틀렸습니다."}"#]
    );
    assert_eq!(
        engine.server.refuse("/room", sid, "twice"),
        Err(CommandError::NoConnectRequest)
    );

    engine.send(sid, r#"40/room,{"password":"right"}"#);
    engine.take_events();
    let socket = engine.server.admit(engine.now, "/room", sid).unwrap();
    engine.pump();
    let texts = engine.texts(sid);
    assert_eq!(texts[0], format!(r#"40/room,{{"sid":"{socket}"}}"#));
    assert!(matches!(
        engine.take_events().as_slice(),
        [Event::Connected { auth, .. }] if auth == &json!({"password": "right"})
    ));
    assert_eq!(engine.server.socket_count("/room"), 1);

    // Undecided for the whole connect timeout: the session is closed, the request forgotten.
    let slow = engine.open();
    engine.send(slow, "40/room,");
    engine.advance(Duration::from_millis(45_000));
    assert!(engine.closed.contains(&slow));
    assert_eq!(
        engine.server.admit(engine.now, "/room", slow),
        Err(CommandError::NoConnectRequest)
    );
}

#[test]
fn recovery_is_chosen_per_namespace() {
    // As conformance mode needs: `/` answers with `sid` alone, another namespace recovers.
    let mut server = gif_chat_core::socketio::Server::new(no_recovery(), [2; 32]);
    server.add_namespace_with(
        "/recovering",
        Admission::Open,
        Some(RecoveryConfig::default()),
    );
    let mut engine = Engine::new(server, None);
    let (_, _, plain_answer) = engine.connect("/", "");
    assert_eq!(plain_answer.as_object().unwrap().len(), 1);
    let (sid, _, answer) = engine.connect("/recovering", "");
    assert!(answer["pid"].is_string());
    engine
        .server
        .emit(
            engine.now,
            "/recovering",
            To::Namespace,
            "m",
            &Args::default(),
        )
        .unwrap();
    engine.pump();
    assert!(!offset_of(&engine.texts(sid)[0]).is_empty());
    assert_eq!(engine.server.recovery_kept("/recovering"), (1, 0));
}

#[test]
fn any_duration_is_a_valid_setting_or_timeout() {
    let mut engine = plain(Config {
        connect_timeout: Duration::MAX,
        recovery: Some(RecoveryConfig {
            window: Duration::MAX,
            ..RecoveryConfig::default()
        }),
        ..Config::default()
    });
    let (sid, socket, _) = engine.connect("/", "");
    let now = engine.now;
    let none = Args::default();
    engine
        .server
        .emit_with_ack(now, "/", id(&socket), "q", &none, Duration::MAX)
        .unwrap();
    engine
        .server
        .emit(now, "/", To::Namespace, "m", &none)
        .unwrap();
    engine.drop_session(sid, CloseReason::TransportClose);
    engine.advance(Duration::from_secs(3600));
    assert_eq!(
        engine.server.recovery_kept("/"),
        (1, 1),
        "kept, a year at most"
    );
}
