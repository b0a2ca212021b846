//! Whole Engine.IO v4 conversations with the sans-IO [`Engine`], in memory, on a virtual clock.
//!
//! The official test suite (socketio/engine.io-protocol, `test-suite/test-suite.js`) runs mocha
//! against a server at `/engine.io/` that echoes every message, with ping interval 300 ms and
//! ping timeout 200 ms. Each of its cases is expressed here as our own test, against an echoing
//! harness that plays the runtime (it keeps parked GETs and WebSockets keyed by sid) with the
//! same settings; the test is named after the case.
//!
//! Covered here (the protocol logic of every official case):
//! - handshake / HTTP long-polling: successfully opens a session; fails with an invalid 'EIO'
//!   query parameter; fails with an invalid 'transport' query parameter; fails with an invalid
//!   request method;
//! - handshake / WebSocket: successfully opens a session; fails with an invalid 'EIO' query
//!   parameter; fails with an invalid 'transport' query parameter;
//! - message / HTTP long-polling: one plain text packet; several plain text packets; plain text
//!   and binary packets; closes the session upon invalid packet format; closes the session upon
//!   duplicate poll requests;
//! - message / WebSocket: a plain text packet; a binary packet; closes the session upon invalid
//!   packet format;
//! - heartbeat (both transports): sends ping/pong packets; closes the session upon ping timeout;
//! - close (both transports): forcefully closes the session;
//! - upgrade: successfully upgrades from HTTP long-polling to WebSocket; ignores HTTP requests
//!   with same sid after upgrade; ignores WebSocket connection with same sid after upgrade.
//!
//! Left for the real HTTP/WebSocket path, once Engine.IO is wired into `Connection` and the
//! runtimes (the same cases, over sockets): the HTTP framing of each answer (status line,
//! `Content-Type`, `Content-Length`, CORS); a refused WebSocket handshake seen by the client as a
//! closed socket (the WebSocket "fails with an invalid ..." cases); the WebSocket close frame
//! after `WsOutput::Close`; two GETs really racing on two connections; a POST whose connection
//! is reset; and the heartbeat cases with real timers.

mod engineio_support;

use std::time::Duration;

use bytes::Bytes;
use engineio_support::*;
use gif_chat_core::engineio::{
    Answer, CloseReason, EngineEvent, Method, Payload, Query, Request, RequestError,
    TransportFault, TransportKind, WsInput, WsMessage, WsOutput,
};

// ---- handshake / HTTP long-polling ----

#[test]
fn handshake_polling_successfully_opens_a_session() {
    let mut server = Server::suite();
    let open = ok_text(server.get("EIO=4&transport=polling"));
    let value = handshake(&open);
    assert_handshake(&value, &["websocket"]);
    let sid = sid_of(&value);
    assert_eq!(server.events, vec![EngineEvent::Opened(sid)]);
    assert_eq!(server.engine.transport(sid), Some(TransportKind::Polling));
}

#[test]
fn handshake_polling_fails_with_an_invalid_eio_query_parameter() {
    let mut server = Server::suite();
    for query in [
        "transport=polling",
        "EIO=abc&transport=polling",
        "EIO=3&transport=polling",
    ] {
        let refused = error(server.get(query));
        assert_eq!(refused, RequestError::UnsupportedProtocolVersion);
        assert_eq!((refused.status(), refused.code()), (400, Some(5)));
    }
    assert_eq!(server.engine.session_count(), 0);
}

#[test]
fn handshake_polling_fails_with_an_invalid_transport_query_parameter() {
    let mut server = Server::suite();
    for query in ["EIO=4", "EIO=4&transport=abc"] {
        let refused = error(server.get(query));
        assert_eq!(refused, RequestError::UnknownTransport);
        assert_eq!(
            refused.json_body().as_deref(),
            Some(r#"{"code":0,"message":"Transport unknown"}"#)
        );
    }
    assert_eq!(server.engine.session_count(), 0);
}

#[test]
fn handshake_polling_fails_with_an_invalid_request_method() {
    let mut server = Server::suite();
    let post = server.request(Method::Post, "EIO=4&transport=polling", b"", false);
    let put = server.request(Method::Other, "EIO=4&transport=polling", b"", false);
    for refused in [error(post), error(put)] {
        assert_eq!(refused, RequestError::BadHandshakeMethod);
        assert_eq!((refused.status(), refused.code()), (400, Some(2)));
    }
    assert_eq!(server.engine.session_count(), 0);
}

// ---- handshake / WebSocket ----

#[test]
fn handshake_websocket_successfully_opens_a_session() {
    let mut server = Server::suite();
    let Answer::WebSocket(sid) = server.websocket("EIO=4&transport=websocket") else {
        panic!("refused")
    };
    let open = server.next_ws_text(sid);
    let value = handshake(&open);
    assert_handshake(&value, &[]);
    assert_eq!(sid_of(&value), sid);
    assert_eq!(server.engine.transport(sid), Some(TransportKind::WebSocket));
}

#[test]
fn handshake_websocket_fails_with_an_invalid_eio_query_parameter() {
    let mut server = Server::suite();
    for query in ["transport=websocket", "EIO=abc&transport=websocket"] {
        let refused = error(server.websocket(query));
        assert_eq!(refused, RequestError::UnsupportedProtocolVersion);
    }
    assert_eq!(server.engine.session_count(), 0);
}

#[test]
fn handshake_websocket_fails_with_an_invalid_transport_query_parameter() {
    let mut server = Server::suite();
    for query in ["EIO=4", "EIO=4&transport=abc"] {
        assert_eq!(
            error(server.websocket(query)),
            RequestError::UnknownTransport
        );
    }
    // A WebSocket handshake named `polling`, or a plain GET named `websocket`, is no upgrade.
    assert_eq!(
        error(server.websocket("EIO=4&transport=polling")),
        RequestError::BadRequest
    );
    assert_eq!(
        error(server.get("EIO=4&transport=websocket")),
        RequestError::BadRequest
    );
    assert_eq!(server.engine.session_count(), 0);
}

// ---- message / HTTP long-polling ----

fn polling_round_trip(body: &str) {
    let mut server = Server::suite();
    let sid = server.open_polling();
    assert_eq!(ok_text(server.post(&query(sid), body)), "ok");
    assert_eq!(ok_text(server.get(&query(sid))), body);
}

#[test]
fn message_polling_sends_and_receives_a_payload_containing_one_plain_text_packet() {
    polling_round_trip("4hello");
}

#[test]
fn message_polling_sends_and_receives_a_payload_containing_several_plain_text_packets() {
    polling_round_trip("4test1\x1e4test2\x1e4test3");
}

#[test]
fn message_polling_sends_and_receives_a_payload_containing_plain_text_and_binary_packets() {
    polling_round_trip("4hello\x1ebAQIDBA==");
    let mut server = Server::suite();
    server.echo = false;
    let sid = server.open_polling();
    server.post(&query(sid), "4hello\x1ebAQIDBA==");
    let messages: Vec<&EngineEvent> = server.events.iter().skip(1).collect();
    assert_eq!(
        messages,
        [
            &EngineEvent::Message(sid, Payload::text("hello")),
            &EngineEvent::Message(sid, Payload::Binary(Bytes::from_static(&[1, 2, 3, 4]))),
        ]
    );
}

#[test]
fn message_polling_closes_the_session_upon_invalid_packet_format() {
    let mut server = Server::suite();
    let sid = server.open_polling();
    assert_eq!(
        error(server.post(&query(sid), "abc")),
        RequestError::BadRequest
    );
    assert_eq!(error(server.get(&query(sid))), RequestError::UnknownSid);
    assert!(matches!(
        server.closed_reason(sid),
        Some(CloseReason::ParseError(_))
    ));
    assert_eq!(server.engine.session_count(), 0);
}

#[test]
fn message_polling_closes_the_session_upon_duplicate_poll_requests() {
    let mut server = Server::suite();
    let sid = server.open_polling();
    assert_eq!(server.get(&query(sid)), Answer::Parked(sid));
    let second = format!("{}&t=burst", query(sid));
    assert_eq!(error(server.get(&second)), RequestError::BadRequest);
    assert_eq!(server.late_answer(sid).as_deref(), Some("1"));
    assert_eq!(error(server.get(&query(sid))), RequestError::UnknownSid);
    assert_eq!(
        server.closed_reason(sid),
        Some(&CloseReason::TransportError(TransportFault::PollOverlap))
    );
}

// ---- message / WebSocket ----

#[test]
fn message_websocket_sends_and_receives_a_plain_text_packet() {
    let mut server = Server::suite();
    let sid = server.open_websocket();
    server.ws_text(sid, "4hello");
    assert_eq!(server.next_ws_text(sid), "4hello");
}

#[test]
fn message_websocket_sends_and_receives_a_binary_packet() {
    let mut server = Server::suite();
    let sid = server.open_websocket();
    server.ws_send(sid, WsInput::Binary(Bytes::from_static(&[1, 2, 3, 4])));
    assert_eq!(
        server.next_ws(sid),
        Some(WsOutput::Message(WsMessage::Binary(Bytes::from_static(&[
            1, 2, 3, 4
        ]))))
    );
}

#[test]
fn message_websocket_closes_the_session_upon_invalid_packet_format() {
    let mut server = Server::suite();
    let sid = server.open_websocket();
    server.ws_text(sid, "abc");
    assert_eq!(server.next_ws(sid), Some(WsOutput::Close));
    assert!(matches!(
        server.closed_reason(sid),
        Some(CloseReason::ParseError(_))
    ));
    assert_eq!(server.engine.session_count(), 0);
}

// ---- heartbeat ----

#[test]
fn heartbeat_polling_sends_ping_pong_packets() {
    let mut server = Server::suite();
    let sid = server.open_polling();
    for _ in 0..3 {
        assert_eq!(server.get(&query(sid)), Answer::Parked(sid));
        server.advance(PING_INTERVAL - Duration::from_millis(1));
        assert_eq!(server.late_answer(sid), None, "pinged early");
        server.advance(Duration::from_millis(1));
        assert_eq!(server.late_answer(sid).as_deref(), Some("2"));
        assert_eq!(ok_text(server.post(&query(sid), "3")), "ok");
    }
    assert_eq!(server.closed_reason(sid), None);
}

#[test]
fn heartbeat_polling_closes_the_session_upon_ping_timeout() {
    let mut server = Server::suite();
    let sid = server.open_polling();
    server.advance(PING_INTERVAL + PING_TIMEOUT - Duration::from_millis(1));
    assert_eq!(server.closed_reason(sid), None);
    server.advance(Duration::from_millis(1));
    assert_eq!(server.closed_reason(sid), Some(&CloseReason::PingTimeout));
    assert_eq!(error(server.get(&query(sid))), RequestError::UnknownSid);
    assert_eq!(server.engine.session_count(), 0);
}

#[test]
fn heartbeat_websocket_sends_ping_pong_packets() {
    let mut server = Server::suite();
    let sid = server.open_websocket();
    for _ in 0..3 {
        server.advance(PING_INTERVAL);
        assert_eq!(server.next_ws_text(sid), "2");
        server.advance(PING_TIMEOUT - Duration::from_millis(1));
        server.ws_text(sid, "3");
    }
    assert_eq!(server.closed_reason(sid), None);
    assert_eq!(server.next_ws(sid), None);
}

#[test]
fn heartbeat_websocket_closes_the_session_upon_ping_timeout() {
    let mut server = Server::suite();
    let sid = server.open_websocket();
    server.advance(PING_INTERVAL + PING_TIMEOUT);
    assert_eq!(server.next_ws_text(sid), "2");
    assert_eq!(server.next_ws(sid), Some(WsOutput::Close));
    assert_eq!(server.closed_reason(sid), Some(&CloseReason::PingTimeout));
    assert_eq!(server.engine.session_count(), 0);
}

// ---- close ----

#[test]
fn close_polling_forcefully_closes_the_session() {
    let mut server = Server::suite();
    let sid = server.open_polling();
    assert_eq!(server.get(&query(sid)), Answer::Parked(sid));
    assert_eq!(ok_text(server.post(&query(sid), "1")), "ok");
    assert_eq!(server.late_answer(sid).as_deref(), Some("6"));
    assert_eq!(error(server.get(&query(sid))), RequestError::UnknownSid);
    assert_eq!(server.closed_reason(sid), Some(&CloseReason::ClientClose));
}

#[test]
fn close_websocket_forcefully_closes_the_session() {
    let mut server = Server::suite();
    let sid = server.open_websocket();
    server.ws_text(sid, "1");
    assert_eq!(server.next_ws(sid), Some(WsOutput::Close));
    assert_eq!(server.closed_reason(sid), Some(&CloseReason::ClientClose));
    assert_eq!(server.engine.session_count(), 0);
}

// ---- upgrade ----

#[test]
fn upgrade_successfully_upgrades_from_http_long_polling_to_websocket() {
    let mut server = Server::suite();
    let sid = server.open_polling();
    assert_eq!(server.websocket(&ws_query(sid)), Answer::WebSocket(sid));
    assert_eq!(server.engine.transport(sid), Some(TransportKind::Upgrading));
    server.ws_text(sid, "2probe");
    assert_eq!(server.next_ws_text(sid), "3probe");
    // The noop that cleanly ends the polling request.
    assert_eq!(ok_text(server.get(&query(sid))), "6");
    server.ws_text(sid, "5");
    assert_eq!(server.engine.transport(sid), Some(TransportKind::WebSocket));
    assert!(server.events.contains(&EngineEvent::Upgraded(sid)));
    server.ws_text(sid, "4hello");
    assert_eq!(server.next_ws_text(sid), "4hello");
}

#[test]
fn upgrade_ignores_http_requests_with_same_sid_after_upgrade() {
    let mut server = Server::suite();
    let sid = server.open_polling();
    server.websocket(&ws_query(sid));
    server.ws_text(sid, "2probe");
    server.ws_text(sid, "5");
    assert_eq!(error(server.get(&query(sid))), RequestError::BadRequest);
    server.ws_text(sid, "4hello");
    assert_eq!(server.next_ws_text(sid), "3probe");
    assert_eq!(server.next_ws_text(sid), "4hello");
}

#[test]
fn upgrade_ignores_websocket_connection_with_same_sid_after_upgrade() {
    let mut server = Server::suite();
    let sid = server.open_polling();
    server.websocket(&ws_query(sid));
    server.ws_text(sid, "2probe");
    server.ws_text(sid, "5");
    let refused = server.engine.handle_request(
        &Request {
            method: Method::Get,
            query: Query::parse(&ws_query(sid)),
            body: Bytes::new(),
            websocket_upgrade: true,
        },
        server.now,
    );
    assert_eq!(refused, Answer::Error(RequestError::BadRequest));
    server.ws_text(sid, "4hello");
    assert_eq!(server.next_ws_text(sid), "3probe");
    assert_eq!(server.next_ws_text(sid), "4hello");
}
