//! The Engine.IO cases both official suites share (handshake, heartbeat, close, upgrade), each
//! written once against a path: the engine.io-protocol suite runs them at `/engine.io/`, the
//! socket.io-protocol suite repeats them at `/socket.io/`. Apart from `sio_protocol.rs` so the
//! cases there read as the two suites' lists, one line each for these.

use std::time::Instant;

use gif_chat_tests::eio::{
    self, keys, open_packet, open_polling, poll, push, InFlight, Received, Refused, Ws, ENGINE_PATH,
};
use gif_chat_tests::sio_target::{PING_INTERVAL_MS, PING_TIMEOUT_MS};
use gif_chat_tests::WAIT;

use super::{assert_about, ms};

pub async fn polling_opens_a_session(port: u16, path: &str) {
    let response = eio::exchange(port, "GET", &eio::polling_url(path, None), None).await;
    assert_eq!(response.status, 200, "{response:?}");
    assert_open(
        &open_packet(&response.body_text()),
        serde_json::json!(["websocket"]),
    );
}

/// The open packet's fields: the suite's reference settings, a sid, and `upgrades`.
fn assert_open(open: &serde_json::Value, upgrades: serde_json::Value) {
    assert_eq!(
        keys(open),
        [
            "maxPayload",
            "pingInterval",
            "pingTimeout",
            "sid",
            "upgrades"
        ]
    );
    assert!(open["sid"].is_string(), "{open}");
    assert_eq!(open["upgrades"], upgrades);
    assert_eq!(open["pingInterval"], PING_INTERVAL_MS);
    assert_eq!(open["pingTimeout"], PING_TIMEOUT_MS);
    assert_eq!(open["maxPayload"], 1_000_000);
}

async fn polling_rejects(port: u16, method: &str, target: &str) {
    let response = eio::exchange(port, method, target, None).await;
    assert_eq!(response.status, 400, "{method} {target}: {response:?}");
}

pub async fn polling_fails_with_an_invalid_eio(port: u16, path: &str) {
    polling_rejects(port, "GET", &format!("{path}?transport=polling")).await;
    polling_rejects(port, "GET", &format!("{path}?EIO=abc&transport=polling")).await;
}

pub async fn polling_fails_with_an_invalid_transport(port: u16, path: &str) {
    polling_rejects(port, "GET", &format!("{path}?EIO=4")).await;
    polling_rejects(port, "GET", &format!("{path}?EIO=4&transport=abc")).await;
}

pub async fn polling_fails_with_an_invalid_method(port: u16, path: &str) {
    polling_rejects(port, "POST", &eio::polling_url(path, None)).await;
    polling_rejects(port, "PUT", &eio::polling_url(path, None)).await;
}

pub async fn websocket_opens_a_session(port: u16, path: &str) {
    let (ws, open) = Ws::opened_session(port, path).await;
    assert_open(&open, serde_json::json!([]));
    ws.close().await;
}

/// The server either refuses the upgrade (with 400 when it answers with a status) or closes the
/// WebSocket at once.
async fn websocket_refused(port: u16, path_and_query: &str) {
    match Ws::try_open(port, path_and_query).await {
        Err(Refused::Status(status)) => assert_eq!(status, 400, "{path_and_query}"),
        Err(Refused::Other(_)) => {}
        Ok(mut ws) => {
            ws.expect_closed(WAIT).await;
        }
    }
}

pub async fn websocket_fails_with_an_invalid_eio(port: u16, path: &str) {
    websocket_refused(port, &format!("{path}?transport=websocket")).await;
    websocket_refused(port, &format!("{path}?EIO=abc&transport=websocket")).await;
}

pub async fn websocket_fails_with_an_invalid_transport(port: u16, path: &str) {
    websocket_refused(port, &format!("{path}?EIO=4")).await;
    websocket_refused(port, &format!("{path}?EIO=4&transport=abc")).await;
}

pub async fn polling_sends_ping_pong(port: u16, path: &str) {
    let (sid, _) = open_polling(port, path).await;
    let mut since = Instant::now();
    for round in 0..3 {
        let response = poll(port, path, &sid).await;
        assert_eq!(response.status, 200, "round {round}: {response:?}");
        assert_eq!(response.body_text(), "2", "round {round}");
        assert_about("ping", since.elapsed(), ms(PING_INTERVAL_MS));
        since = Instant::now();
        let pong = push(port, path, &sid, "3").await;
        assert_eq!(pong.status, 200, "round {round}: {pong:?}");
    }
}

pub async fn polling_closes_upon_ping_timeout(port: u16, path: &str) {
    let (sid, _) = open_polling(port, path).await;
    let ping = poll(port, path, &sid).await;
    assert_eq!(ping.body_text(), "2", "{ping:?}");
    let pinged = Instant::now();
    // Unanswered, the ping ends the session: this poll is held until then.
    let held = eio::exchange(port, "GET", &eio::polling_url(path, Some(&sid)), None).await;
    assert_about(
        "the held poll returned",
        pinged.elapsed(),
        ms(PING_TIMEOUT_MS),
    );
    assert!(held.status == 200 || held.status == 400, "{held:?}");
    let after = poll(port, path, &sid).await;
    assert_eq!(after.status, 400, "{after:?}");
}

pub async fn websocket_sends_ping_pong(port: u16, path: &str) {
    let (mut ws, _) = Ws::opened_session(port, path).await;
    let mut since = Instant::now();
    for round in 0..3 {
        assert_eq!(ws.next_text(WAIT).await, "2", "round {round}");
        assert_about("ping", since.elapsed(), ms(PING_INTERVAL_MS));
        since = Instant::now();
        ws.send_text("3").await;
    }
    ws.close().await;
}

pub async fn websocket_closes_upon_ping_timeout(port: u16, path: &str) {
    let (mut ws, _) = Ws::opened_session(port, path).await;
    let opened = Instant::now();
    let before = ws.expect_closed(WAIT).await;
    assert_eq!(before, [Received::Text("2".into())]);
    assert_about(
        "closed",
        opened.elapsed(),
        ms(PING_INTERVAL_MS + PING_TIMEOUT_MS),
    );
}

pub async fn polling_forcefully_closes(port: u16, path: &str) {
    // The pending GET and the close travel on two connections, and no order holds across
    // connections on a multi-threaded server: it may take the close first, which ends the
    // session before the GET is parked (the GET then gets 400, and the run proves nothing). Such
    // a run is tried again with a new session, a bounded number of times.
    for _ in 0..ATTEMPTS {
        let (sid, _) = open_polling(port, path).await;
        let pending = InFlight::send(port, "GET", &eio::polling_url(path, Some(&sid)), None).await;
        let close = push(port, path, &sid, "1").await;
        assert_eq!(close.status, 200, "{close:?}");
        let pending = pending
            .response()
            .await
            .expect("the pending poll is answered");
        if pending.status == 400 {
            continue; // The close came first.
        }
        assert_eq!(pending.status, 200, "{pending:?}");
        assert_eq!(pending.body_text(), "6");
        let after = poll(port, path, &sid).await;
        assert_eq!(after.status, 400, "{after:?}");
        return;
    }
    panic!("in {ATTEMPTS} attempts the close always came before the pending poll");
}

/// Runs of a case whose two connections the server may take in either order.
const ATTEMPTS: usize = 10;

pub async fn websocket_forcefully_closes(port: u16, path: &str) {
    let (mut ws, _) = Ws::opened_session(port, path).await;
    ws.send_text("1").await;
    // Pings are answered, so only the close packet can end the session (the official client
    // answers none, and a server that ignores the packet passes it on the heartbeat alone); the
    // bound is below the Socket.IO connect timeout, which would end it too.
    let bound = ms(PING_INTERVAL_MS + PING_TIMEOUT_MS);
    match ws.next_packet(bound).await {
        Received::Closed => {}
        other => panic!("expected the session to close, got {other:?}"),
    }
}

/// Opens a polling session on `path` and upgrades it: the probe is answered, and `confirm`
/// proves the server took the `5` (raw Engine.IO echoes a message; Socket.IO answers CONNECT).
async fn upgraded(port: u16, path: &str) -> (String, Ws) {
    let (sid, _) = open_polling(port, path).await;
    let mut ws = eio::Ws::open_upgrade(port, path, &sid)
        .await
        .unwrap_or_else(|e| panic!("upgrade refused: {e:?}"));
    ws.send_text("2probe").await;
    ws.send_text("5").await;
    assert_eq!(ws.next_packet_text(WAIT).await, "3probe");
    if path == ENGINE_PATH {
        ws.send_text("4hello").await;
        assert_eq!(ws.next_packet_text(WAIT).await, "4hello");
    } else {
        ws.send_text("40").await;
        assert!(ws.next_packet_text(WAIT).await.starts_with("40{"));
        assert_eq!(ws.next_packet_text(WAIT).await, r#"42["auth",{}]"#);
    }
    (sid, ws)
}

/// After the upgrade the session still answers on the WebSocket.
async fn still_answers(ws: &mut Ws, path: &str) {
    if path == ENGINE_PATH {
        ws.send_text("4hello").await;
        assert_eq!(ws.next_packet_text(WAIT).await, "4hello");
    } else {
        ws.send_text(r#"42["message","still here"]"#).await;
        assert_eq!(
            ws.next_packet_text(WAIT).await,
            r#"42["message-back","still here"]"#
        );
    }
}

pub async fn upgrade_ignores_polling_after_upgrade(port: u16, path: &str) {
    let (sid, mut ws) = upgraded(port, path).await;
    let response = poll(port, path, &sid).await;
    assert_eq!(response.status, 400, "{response:?}");
    still_answers(&mut ws, path).await;
}

pub async fn upgrade_ignores_websocket_after_upgrade(port: u16, path: &str) {
    let (sid, mut ws) = upgraded(port, path).await;
    match Ws::open_upgrade(port, path, &sid).await {
        Err(_) => {}
        Ok(mut second) => {
            second.expect_closed(WAIT).await;
        }
    }
    still_answers(&mut ws, path).await;
}
