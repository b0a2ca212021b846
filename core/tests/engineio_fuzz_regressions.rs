//! Engine.IO behaviours found by the `eio_sessions` fuzz target (fuzz/fuzz_targets/), as plain
//! tests: each one a minimal conversation that went wrong.

use std::time::Instant;

use bytes::Bytes;
use gif_chat_core::engineio::{Answer, Engine, EngineConfig, Method, Query, Request, WsInput};

fn request(method: Method, query: &str, upgrade: bool) -> Request<'_> {
    Request {
        method,
        query: Query::parse(query),
        body: Bytes::new(),
        websocket_upgrade: upgrade,
    }
}

/// A runtime asks for a parked GET's answer whenever its sid is ready. With a GET parked and
/// nothing to answer it with, while the session's other connection (a failed probe whose socket
/// is not writable yet) has output, `poll_get_answer` must not name the sid ready again: the
/// runtime's `while let Some(sid) = engine.poll_ready()` would never end.
#[test]
fn an_unanswerable_get_does_not_make_its_sid_ready_forever() {
    let mut engine = Engine::new(EngineConfig::default(), [1; 32]);
    let now = Instant::now();
    let Answer::Ok(open) =
        engine.handle_request(&request(Method::Get, "EIO=4&transport=polling", false), now)
    else {
        panic!("handshake refused")
    };
    let text = std::str::from_utf8(&open).unwrap();
    let start = text.find("\"sid\":\"").unwrap() + 7;
    let sid = &text[start..start + 20];
    let polling = format!("EIO=4&transport=polling&sid={sid}");
    let websocket = format!("EIO=4&transport=websocket&sid={sid}");
    let Answer::Parked(sid) = engine.handle_request(&request(Method::Get, &polling, false), now)
    else {
        panic!("the GET was not parked")
    };
    assert_eq!(
        engine.handle_request(&request(Method::Get, &websocket, true), now),
        Answer::WebSocket(sid)
    );
    // The probe says something else: it fails, its WebSocket is to be closed; polling goes on.
    engine
        .handle_websocket_message(sid, WsInput::Text(Bytes::from_static(b"4x")), now)
        .unwrap();
    while engine.poll_event().is_some() {}
    // The runtime's loop; the WebSocket's socket is not writable, so it only asks the GET.
    let mut named = 0;
    while let Some(ready) = engine.poll_ready() {
        named += 1;
        assert!(named < 10, "poll_ready names {ready} again and again");
        assert_eq!(engine.poll_get_answer(ready), None);
    }
}
