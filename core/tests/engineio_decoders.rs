//! Engine.IO under arbitrary input: the decoders never panic and round-trip what they encode, and
//! an engine driven by random requests, messages and time steps keeps its bounds and lets every
//! session end on its timeouts. The same entry points suit a cargo-fuzz target.

mod engineio_support;

use std::time::Duration;

use bytes::Bytes;
use engineio_support::Server;
use gif_chat_core::engineio::{
    decode_polling, encode_polling, EngineConfig, Method, Packet, Payload, Query, Request, Sid,
    WsInput,
};
use proptest::prelude::*;

fn text_without_separator() -> impl Strategy<Value = String> {
    "[^\u{1e}]{0,40}"
}

fn data() -> impl Strategy<Value = Bytes> {
    text_without_separator().prop_map(Bytes::from)
}

fn packet() -> impl Strategy<Value = Packet> {
    prop_oneof![
        data().prop_map(Packet::Open),
        Just(Packet::Close),
        data().prop_map(Packet::Ping),
        data().prop_map(Packet::Pong),
        text_without_separator().prop_map(|t| Packet::Message(Payload::text(t))),
        proptest::collection::vec(any::<u8>(), 0..40)
            .prop_map(|b| Packet::Message(Payload::Binary(Bytes::from(b)))),
        Just(Packet::Upgrade),
        Just(Packet::Noop),
    ]
}

proptest! {
    #[test]
    fn decoding_any_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200),
                                       max in 0usize..300) {
        let input = Bytes::from(bytes);
        let _ = Packet::decode_text(input.clone());
        if let Ok(packets) = decode_polling(input.clone(), max) {
            prop_assert!(input.len() <= max);
            // What decodes re-encodes to something that decodes the same.
            let again = decode_polling(encode_polling(&packets), usize::MAX);
            prop_assert_eq!(again, Ok(packets));
        }
    }

    #[test]
    fn polling_bodies_round_trip(packets in proptest::collection::vec(packet(), 1..8)) {
        let body = encode_polling(&packets);
        prop_assert_eq!(decode_polling(body, usize::MAX), Ok(packets));
    }

    #[test]
    fn websocket_text_messages_round_trip(packet in packet()) {
        let message = packet.to_ws_message();
        let decoded = if message.is_text() {
            Packet::decode_text(Bytes::from(message.to_vec()))
        } else {
            Ok(Packet::decode_binary(Bytes::from(message.to_vec())))
        };
        prop_assert_eq!(decoded, Ok(packet));
    }
}

/// One thing a client, the application or the clock does to the engine.
#[derive(Clone, Debug)]
enum Step {
    OpenPolling,
    OpenWebSocket,
    Get(usize),
    Post(usize, Vec<u8>),
    Upgrade(usize),
    WsText(usize, String),
    WsBinary(usize, usize),
    WsDropped(usize),
    GetAborted(usize),
    Send(usize, usize),
    Broadcast(usize),
    Close(usize),
    Forged(String),
    Advance(u64),
}

fn step() -> impl Strategy<Value = Step> {
    let i = 0usize..8;
    prop_oneof![
        Just(Step::OpenPolling),
        Just(Step::OpenWebSocket),
        i.clone().prop_map(Step::Get),
        (
            i.clone(),
            prop_oneof![
                proptest::collection::vec(packet(), 1..4).prop_map(|p| encode_polling(&p).to_vec()),
                proptest::collection::vec(any::<u8>(), 0..30),
            ]
        )
            .prop_map(|(i, body)| Step::Post(i, body)),
        i.clone().prop_map(Step::Upgrade),
        (
            i.clone(),
            prop_oneof![
                Just("2probe".to_string()),
                Just("5".to_string()),
                Just("3".to_string()),
                "[0-6a-z]{0,12}",
            ]
        )
            .prop_map(|(i, t)| Step::WsText(i, t)),
        (i.clone(), 0usize..700).prop_map(|(i, n)| Step::WsBinary(i, n)),
        i.clone().prop_map(Step::WsDropped),
        i.clone().prop_map(Step::GetAborted),
        (i.clone(), 0usize..900).prop_map(|(i, n)| Step::Send(i, n)),
        (0usize..400).prop_map(Step::Broadcast),
        i.clone().prop_map(Step::Close),
        "[A-Za-z0-9_-]{0,22}".prop_map(Step::Forged),
        (0u64..120).prop_map(Step::Advance),
    ]
}

const HIGH_WATER_MARK: usize = 2000;

fn small_config() -> EngineConfig {
    EngineConfig {
        ping_interval: Duration::from_millis(100),
        ping_timeout: Duration::from_millis(50),
        max_payload: 500,
        high_water_mark: HIGH_WATER_MARK,
        upgrade_timeout: Duration::from_millis(80),
        close_timeout: Duration::from_millis(60),
        allow_upgrades: true,
    }
}

fn run(server: &mut Server, sids: &mut Vec<Sid>, step: Step) {
    let pick = |i: usize| (!sids.is_empty()).then(|| sids[i % sids.len()]);
    let polling = |sid: Sid| format!("EIO=4&transport=polling&sid={sid}");
    match step {
        Step::OpenPolling => sids.push(server.open_polling()),
        Step::OpenWebSocket => sids.push(server.open_websocket()),
        Step::Get(i) => {
            if let Some(sid) = pick(i) {
                server.get(&polling(sid));
            }
        }
        Step::Post(i, body) => {
            if let Some(sid) = pick(i) {
                server.request(Method::Post, &polling(sid), &body, false);
            }
        }
        Step::Upgrade(i) => {
            if let Some(sid) = pick(i) {
                server.websocket(&format!("EIO=4&transport=websocket&sid={sid}"));
            }
        }
        Step::WsText(i, text) => {
            if let Some(sid) = pick(i).filter(|sid| server.sockets.contains(sid)) {
                server.ws_text(sid, &text);
            }
        }
        Step::WsBinary(i, len) => {
            if let Some(sid) = pick(i).filter(|sid| server.sockets.contains(sid)) {
                server.ws_send(sid, WsInput::Binary(Bytes::from(vec![7; len])));
            }
        }
        Step::WsDropped(i) => {
            if let Some(sid) = pick(i).filter(|sid| server.sockets.remove(sid)) {
                server.engine.handle_websocket_closed(sid, server.now);
                server.pump();
            }
        }
        Step::GetAborted(i) => {
            if let Some(sid) = pick(i).filter(|sid| server.parked.remove(sid)) {
                server.engine.handle_get_aborted(sid, server.now);
                server.pump();
            }
        }
        Step::Send(i, len) => {
            if let Some(sid) = pick(i) {
                let _ = server
                    .engine
                    .send(sid, Payload::text("s".repeat(len)), server.now);
                server.pump();
            }
        }
        Step::Broadcast(len) => {
            let payload = Payload::Binary(Bytes::from(vec![1; len]));
            server
                .engine
                .send_many(sids.iter().copied(), &payload, server.now);
            server.pump();
        }
        Step::Close(i) => {
            if let Some(sid) = pick(i) {
                let _ = server.engine.close(sid, server.now);
                server.pump();
            }
        }
        Step::Forged(sid) => {
            let query = format!("EIO=4&transport=polling&sid={sid}");
            let request = Request {
                method: Method::Get,
                query: Query::parse(&query),
                body: Bytes::new(),
                websocket_upgrade: false,
            };
            server.engine.handle_request(&request, server.now);
            server.pump();
        }
        Step::Advance(ms) => server.advance(Duration::from_millis(ms)),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_conversations_stay_bounded_and_every_session_ends(
        steps in proptest::collection::vec(step(), 0..60),
    ) {
        let mut server = Server::new(small_config());
        server.echo = true;
        let mut sids = Vec::new();
        for step in steps {
            run(&mut server, &mut sids, step);
            for &sid in &sids {
                let queued = server.engine.queued_bytes(sid).unwrap_or(0);
                prop_assert!(queued <= HIGH_WATER_MARK, "{sid} holds {queued} bytes");
            }
        }
        // The clients fall silent: ping, ping timeout, then the linger of a closed session.
        server.advance(Duration::from_millis(100 + 50 + 60 + 1));
        prop_assert_eq!(server.engine.session_count(), 0);
        prop_assert_eq!(server.engine.poll_timeout(), None);
        prop_assert!(server.parked.is_empty(), "a parked GET was never answered");
        prop_assert!(server.sockets.is_empty(), "a WebSocket was never closed");
    }
}
