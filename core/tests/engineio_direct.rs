//! Broadcast frames offered straight to idle WebSocket sessions (`DirectFrame`): who is
//! offered one, what its bytes are, and where a refused one goes (first in its queue, ahead of
//! what was queued after it).

use std::time::Instant;

use bytes::Bytes;
use gif_chat_core::engineio::{
    Answer, Engine, EngineConfig, Method, Payload, Query, Request, Sid, WsMessage, WsOutput,
};

/// `n` WebSocket sessions whose open packet has been taken.
fn idle_sessions(engine: &mut Engine, n: usize, now: Instant) -> Vec<Sid> {
    let request = Request {
        method: Method::Get,
        query: Query::parse("EIO=4&transport=websocket"),
        body: Bytes::new(),
        websocket_upgrade: true,
    };
    let sids: Vec<Sid> = (0..n)
        .map(|_| match engine.handle_request(&request, now) {
            Answer::WebSocket(sid) => sid,
            other => panic!("refused: {other:?}"),
        })
        .collect();
    while let Some(sid) = engine.poll_ready() {
        while engine.poll_websocket(sid).is_some() {}
    }
    sids
}

/// The text messages waiting in a session's queue.
fn queued(engine: &mut Engine, sid: Sid) -> Vec<String> {
    let mut texts = Vec::new();
    while let Some(WsOutput::Message(message)) = engine.poll_websocket(sid) {
        if let WsMessage::Text { .. } = message {
            texts.push(String::from_utf8_lossy(&message.to_vec()).into_owned());
        }
    }
    texts
}

#[test]
fn idle_sessions_are_offered_one_frame_and_a_refusal_is_queued_first() {
    let now = Instant::now();
    let mut engine = Engine::new(EngineConfig::default(), [4; 32]);
    engine.set_direct_delivery(true);
    let sids = idle_sessions(&mut engine, 3, now);
    let (busy, a, b) = (sids[0], sids[1], sids[2]);
    engine
        .send(busy, Payload::text("early"), now)
        .expect("open");

    let taken = engine.broadcast(&sids, &[Payload::text("one")], now);
    assert_eq!(taken, 3);
    // Offered already in this round: queued, so that it cannot overtake `one`.
    engine.broadcast(&[a], &[Payload::text("two")], now);

    let frame = engine.poll_direct().expect("a frame for the idle ones");
    assert_eq!(frame.sids, [a, b], "not the one with a queue");
    assert_eq!(
        &frame.frame[..],
        b"\x81\x044one",
        "one text frame, the type digit first"
    );
    assert!(engine.poll_direct().is_none(), "the round is over");
    engine.handle_direct_refused(&frame, a, now);

    assert_eq!(queued(&mut engine, busy), ["4early", "4one"]);
    assert_eq!(
        queued(&mut engine, a),
        ["4one", "4two"],
        "the refused one first"
    );
    assert!(queued(&mut engine, b).is_empty(), "written directly");

    // A binary attachment rides in the same frame bytes as its packet.
    engine.broadcast(
        &[b],
        &[
            Payload::text("5-x"),
            Payload::Binary(Bytes::from_static(b"\x01\x02")),
        ],
        now,
    );
    let frame = engine.poll_direct().expect("a frame");
    assert_eq!(&frame.frame[..], b"\x81\x0445-x\x82\x02\x01\x02");
    assert!(engine.poll_direct().is_none());
}

#[test]
fn without_direct_delivery_everything_is_queued() {
    let now = Instant::now();
    let mut engine = Engine::new(EngineConfig::default(), [4; 32]);
    let sids = idle_sessions(&mut engine, 2, now);
    engine.broadcast(&sids, &[Payload::text("one")], now);
    assert!(engine.poll_direct().is_none());
    for sid in sids {
        assert_eq!(queued(&mut engine, sid), ["4one"]);
    }
}
