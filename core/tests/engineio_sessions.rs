//! Engine.IO behaviour beyond the official suite: parked GETs woken by sends, the bounds (E2, E7),
//! forged sids, upgrades that fail, server-side closes, dropped connections, shared broadcast
//! bytes, and thousands of abandoned sessions ending on their own timeouts.

mod engineio_support;

use std::time::{Duration, Instant};

use bytes::Bytes;
use engineio_support::*;
use gif_chat_core::engineio::{
    Answer, CloseReason, Engine, EngineConfig, EngineEvent, Method, Payload, Query, Request,
    RequestError, Sid, TransportFault, TransportKind, WsInput, WsMessage, WsOutput,
};

#[test]
fn a_parked_get_is_answered_by_a_send() {
    let mut server = Server::suite();
    let sid = server.open_polling();
    assert_eq!(server.get(&query(sid)), Answer::Parked(sid));
    assert_eq!(server.late_answer(sid), None);
    server
        .engine
        .send(sid, Payload::text("hi"), server.now)
        .unwrap();
    server.pump();
    assert_eq!(server.late_answer(sid).as_deref(), Some("4hi"));
    assert!(server.parked.is_empty());
}

#[test]
fn messages_sent_between_gets_arrive_together_in_one_body() {
    let mut server = Server::suite();
    let sid = server.open_polling();
    let binary = Payload::Binary(Bytes::from_static(&[0, 255]));
    for payload in [Payload::text("a"), binary, Payload::text("é")] {
        server.engine.send(sid, payload, server.now).unwrap();
    }
    assert_eq!(server.engine.queued_bytes(sid), Some(2 + 2 + 3));
    assert_eq!(ok_text(server.get(&query(sid))), "4a\x1ebAP8=\x1e4é");
    assert_eq!(server.engine.queued_bytes(sid), Some(0));
}

#[test]
fn a_post_over_the_maximum_payload_gets_413_and_the_session_goes_on() {
    let mut server = Server::new(EngineConfig {
        max_payload: 10,
        ..suite_config()
    });
    let sid = server.open_polling();
    let refused = error(server.post(&query(sid), "4abcdefghij"));
    assert_eq!(
        (refused, refused.status()),
        (RequestError::PayloadTooLarge, 413)
    );
    assert_eq!(ok_text(server.post(&query(sid), "4abcdefghi")), "ok");
    assert_eq!(ok_text(server.get(&query(sid))), "4abcdefghi");
}

#[test]
fn a_websocket_message_over_the_maximum_payload_closes_the_session() {
    let mut server = Server::new(EngineConfig {
        max_payload: 10,
        ..suite_config()
    });
    let sid = server.open_websocket();
    server.ws_text(sid, "4abcdefghij");
    assert_eq!(server.next_ws(sid), Some(WsOutput::Close));
    assert_eq!(
        server.closed_reason(sid),
        Some(&CloseReason::PayloadTooLarge { len: 11 })
    );
}

#[test]
fn unknown_or_forged_sids_get_400_and_nothing_is_kept() {
    let mut server = Server::suite();
    let real = server.open_polling();
    let mut forged: Vec<String> = ["", "x", "AAAAAAAAAAAAAAAAAAA=", "AAAAAAAAAAAAAAAAAAAAA"]
        .map(String::from)
        .to_vec();
    forged.extend((0..2000u32).map(|i| format!("{:A>20}", i.to_string())));
    forged.extend((0..2000u16).map(|i| {
        let [lo, hi] = i.to_le_bytes();
        Sid::from_random([lo, hi, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9]).to_string()
    }));
    for sid in &forged {
        let polling = format!("EIO=4&transport=polling&sid={sid}");
        assert_eq!(error(server.get(&polling)), RequestError::UnknownSid);
        assert_eq!(error(server.post(&polling, "4x")), RequestError::UnknownSid);
        let ws = format!("EIO=4&transport=websocket&sid={sid}");
        assert_eq!(error(server.websocket(&ws)), RequestError::UnknownSid);
    }
    assert_eq!(server.engine.session_count(), 1);
    assert_eq!(server.events, vec![EngineEvent::Opened(real)]);
    let body = error(server.get(&format!("EIO=4&transport=polling&sid={}", "A".repeat(20))));
    assert_eq!(
        body.json_body().as_deref(),
        Some(r#"{"code":1,"message":"Session ID unknown"}"#)
    );
}

#[test]
fn a_polling_client_that_never_gets_is_closed_at_the_high_water_mark() {
    let mut server = Server::new(EngineConfig {
        high_water_mark: 1000,
        ..suite_config()
    });
    let sid = server.open_polling();
    let payload = Payload::text("x".repeat(99));
    let mut sent = 0;
    while server.engine.send(sid, payload.clone(), server.now).is_ok() {
        sent += 1;
        assert!(server.engine.queued_bytes(sid).unwrap_or(0) <= 1000 + 100);
        assert!(sent <= 11, "the queue grew past the high-water mark");
    }
    server.pump();
    assert_eq!(sent, 11, "the eleventh message crosses 1000 bytes");
    assert_eq!(
        server.closed_reason(sid),
        Some(&CloseReason::BufferFull { queued: 1000 + 100 })
    );
    assert_eq!(error(server.get(&query(sid))), RequestError::UnknownSid);
    assert_eq!(server.engine.session_count(), 0);
}

#[test]
fn a_websocket_the_runtime_cannot_drain_is_closed_at_the_high_water_mark() {
    let config = EngineConfig {
        high_water_mark: 1000,
        ..suite_config()
    };
    let mut engine = Engine::new(config, [1; 32]);
    let now = Instant::now();
    let Answer::WebSocket(sid) = engine.handle_request(
        &Request {
            method: Method::Get,
            query: Query::parse("EIO=4&transport=websocket"),
            body: Bytes::new(),
            websocket_upgrade: true,
        },
        now,
    ) else {
        panic!("refused")
    };
    // The runtime's socket is full: it takes nothing.
    let payload = Payload::Binary(Bytes::from(vec![0; 300]));
    let sent = (0..100)
        .take_while(|_| engine.send(sid, payload.clone(), now).is_ok())
        .count();
    // The open packet (about 100 bytes) is queued too: the third message crosses the mark.
    assert_eq!(sent, 3);
    let events: Vec<EngineEvent> = std::iter::from_fn(|| engine.poll_event()).collect();
    assert!(matches!(
        events.last(),
        Some(EngineEvent::Closed(_, CloseReason::BufferFull { .. }, _))
    ));
    // The queue is dropped; the runtime's WebSocket only gets its close.
    assert_eq!(engine.poll_websocket(sid), Some(WsOutput::Close));
    assert_eq!(engine.session_count(), 0);
}

#[test]
fn a_broadcast_shares_its_bytes_with_every_recipient() {
    let mut server = Server::suite();
    server.echo = false;
    let sids: Vec<Sid> = (0..3).map(|_| server.open_websocket()).collect();
    let polling = server.open_polling();
    let shared = Bytes::from_static(b"to everyone");
    let recipients = sids.iter().copied().chain([polling]);
    let taken = server
        .engine
        .send_many(recipients, &Payload::Text(shared.clone()), server.now);
    assert_eq!(taken, 4);
    server.pump();
    for sid in sids {
        match server.next_ws(sid) {
            Some(WsOutput::Message(WsMessage::Text { packet_type, data })) => {
                assert_eq!(packet_type, b'4');
                assert_eq!(data.as_ptr(), shared.as_ptr(), "the payload was copied");
            }
            other => panic!("expected the broadcast, got {other:?}"),
        }
    }
    assert_eq!(ok_text(server.get(&query(polling))), "4to everyone");
}

#[test]
fn a_parked_get_is_released_with_a_noop_when_the_probe_arrives() {
    let mut server = Server::suite();
    let sid = server.open_polling();
    assert_eq!(server.get(&query(sid)), Answer::Parked(sid));
    server.websocket(&ws_query(sid));
    assert_eq!(server.late_answer(sid), None, "released before the probe");
    server.ws_text(sid, "2probe");
    assert_eq!(server.late_answer(sid).as_deref(), Some("6"));
    assert_eq!(server.next_ws_text(sid), "3probe");
    server.ws_text(sid, "5");
    server
        .engine
        .send(sid, Payload::text("over ws"), server.now)
        .unwrap();
    server.pump();
    assert_eq!(server.next_ws_text(sid), "4over ws");
}

#[test]
fn messages_queued_during_the_upgrade_go_to_the_websocket_once_it_completes() {
    let mut server = Server::suite();
    server.echo = false;
    let sid = server.open_polling();
    server.websocket(&ws_query(sid));
    server.ws_text(sid, "2probe");
    assert_eq!(server.next_ws_text(sid), "3probe");
    server
        .engine
        .send(sid, Payload::text("queued"), server.now)
        .unwrap();
    server.pump();
    assert_eq!(
        server.next_ws(sid),
        None,
        "sent on the probe before the upgrade"
    );
    server.ws_text(sid, "5");
    assert_eq!(server.next_ws_text(sid), "4queued");
}

#[test]
fn an_upgrade_that_never_completes_times_out_and_polling_goes_on() {
    let mut server = Server::new(EngineConfig {
        upgrade_timeout: Duration::from_millis(100),
        ..suite_config()
    });
    let sid = server.open_polling();
    server.websocket(&ws_query(sid));
    server.ws_text(sid, "2probe");
    assert_eq!(server.next_ws_text(sid), "3probe");
    server.advance(Duration::from_millis(100));
    assert_eq!(server.next_ws(sid), Some(WsOutput::Close));
    assert_eq!(server.engine.transport(sid), Some(TransportKind::Polling));
    assert_eq!(ok_text(server.post(&query(sid), "4still here")), "ok");
    assert_eq!(ok_text(server.get(&query(sid))), "4still here");
    // And it may try again.
    assert_eq!(server.websocket(&ws_query(sid)), Answer::WebSocket(sid));
}

#[test]
fn a_probe_that_says_anything_else_closes_the_websocket_only() {
    let mut server = Server::suite();
    let sid = server.open_polling();
    server.websocket(&ws_query(sid));
    server.ws_text(sid, "4not a probe");
    assert_eq!(server.next_ws(sid), Some(WsOutput::Close));
    assert_eq!(server.engine.transport(sid), Some(TransportKind::Polling));
    assert_eq!(server.closed_reason(sid), None);
}

#[test]
fn a_second_websocket_during_an_upgrade_is_refused() {
    let mut server = Server::suite();
    let sid = server.open_polling();
    server.websocket(&ws_query(sid));
    let second = server.engine.handle_request(
        &Request {
            method: Method::Get,
            query: Query::parse(&ws_query(sid)),
            body: Bytes::new(),
            websocket_upgrade: true,
        },
        server.now,
    );
    assert_eq!(second, Answer::Error(RequestError::BadRequest));
    assert_eq!(server.engine.transport(sid), Some(TransportKind::Upgrading));
}

#[test]
fn the_server_closes_a_polling_session_after_its_queue_is_delivered() {
    let mut server = Server::suite();
    let sid = server.open_polling();
    server
        .engine
        .send(sid, Payload::text("bye"), server.now)
        .unwrap();
    server.engine.close(sid, server.now).unwrap();
    server.pump();
    assert_eq!(server.closed_reason(sid), Some(&CloseReason::ServerClose));
    assert!(server
        .engine
        .send(sid, Payload::text("late"), server.now)
        .is_err());
    assert_eq!(ok_text(server.get(&query(sid))), "4bye\x1e1");
    assert_eq!(server.engine.session_count(), 0);
}

#[test]
fn the_server_closes_a_websocket_session_after_its_queue_is_delivered() {
    let mut server = Server::suite();
    let sid = server.open_websocket();
    server
        .engine
        .send(sid, Payload::text("bye"), server.now)
        .unwrap();
    server.engine.close(sid, server.now).unwrap();
    server.pump();
    assert_eq!(server.next_ws_text(sid), "4bye");
    assert_eq!(server.next_ws(sid), Some(WsOutput::Close));
    assert_eq!(server.engine.session_count(), 0);
}

#[test]
fn a_closing_polling_session_that_is_never_polled_is_forgotten_after_the_close_timeout() {
    let mut server = Server::new(EngineConfig {
        close_timeout: Duration::from_millis(50),
        ..suite_config()
    });
    let sid = server.open_polling();
    server.engine.close(sid, server.now).unwrap();
    server.advance(Duration::from_millis(49));
    assert_eq!(server.engine.session_count(), 1);
    server.advance(Duration::from_millis(1));
    assert_eq!(server.engine.session_count(), 0);
    assert_eq!(server.engine.poll_timeout(), None);
}

#[test]
fn a_parked_get_whose_connection_drops_closes_the_session() {
    let mut server = Server::suite();
    let sid = server.open_polling();
    assert_eq!(server.get(&query(sid)), Answer::Parked(sid));
    server.engine.handle_get_aborted(sid, server.now);
    server.pump();
    assert_eq!(
        server.closed_reason(sid),
        Some(&CloseReason::TransportError(TransportFault::PollAborted))
    );
    assert_eq!(server.engine.session_count(), 0);
}

#[test]
fn a_websocket_that_drops_closes_its_session_but_a_dropped_probe_does_not() {
    let mut server = Server::suite();
    let ws = server.open_websocket();
    server.engine.handle_websocket_closed(ws, server.now);
    server.pump();
    assert_eq!(server.closed_reason(ws), Some(&CloseReason::TransportClose));

    let polling = server.open_polling();
    server.websocket(&ws_query(polling));
    server.engine.handle_websocket_closed(polling, server.now);
    server.pump();
    assert_eq!(server.closed_reason(polling), None);
    assert_eq!(
        server.engine.transport(polling),
        Some(TransportKind::Polling)
    );
    assert_eq!(server.engine.session_count(), 1);
}

#[test]
fn a_client_ping_closes_the_session() {
    let mut server = Server::suite();
    let sid = server.open_websocket();
    server.ws_text(sid, "2");
    assert_eq!(
        server.closed_reason(sid),
        Some(&CloseReason::TransportError(TransportFault::ClientPing))
    );
    assert_eq!(server.next_ws(sid), Some(WsOutput::Close));
}

#[test]
fn a_message_for_a_forgotten_websocket_is_refused() {
    let mut server = Server::suite();
    let sid = server.open_websocket();
    server.ws_text(sid, "1");
    let late = server.engine.handle_websocket_message(
        sid,
        WsInput::Text(Bytes::from_static(b"4late")),
        server.now,
    );
    assert!(late.is_err());
}

#[test]
fn ten_thousand_abandoned_sessions_all_end_on_their_own_timeouts() {
    let mut server = Server::suite();
    for _ in 0..5_000 {
        server.open_polling();
        server.open_websocket();
    }
    assert_eq!(server.engine.session_count(), 10_000);
    let first = server.now + PING_INTERVAL;
    assert_eq!(server.engine.poll_timeout(), Some(first));
    server.advance(PING_INTERVAL + PING_TIMEOUT);
    assert_eq!(server.engine.session_count(), 0);
    assert_eq!(server.engine.poll_timeout(), None);
    let closed = server
        .events
        .iter()
        .filter(|e| matches!(e, EngineEvent::Closed(_, CloseReason::PingTimeout, _)))
        .count();
    assert_eq!(closed, 10_000);
    assert!(server.sockets.is_empty() && server.parked.is_empty());
}

#[test]
fn the_next_timeout_is_the_earliest_over_all_sessions() {
    let mut server = Server::suite();
    let t0 = server.now;
    let early = server.open_polling();
    server.advance(Duration::from_millis(100));
    let late = server.open_polling();
    assert_eq!(server.engine.poll_timeout(), Some(t0 + PING_INTERVAL));
    // A pong moves the early session's next ping past the late one's.
    server.advance(Duration::from_millis(200));
    assert_eq!(ok_text(server.get(&query(early))), "2");
    assert_eq!(
        server.engine.poll_timeout(),
        Some(t0 + Duration::from_millis(400))
    );
    server.post(&query(early), "3");
    server.advance(Duration::from_millis(100));
    assert_eq!(ok_text(server.get(&query(late))), "2");
    assert_eq!(server.engine.session_count(), 2);
}

#[test]
fn sids_are_drawn_from_the_seed_and_never_repeat() {
    let config = EngineConfig::default();
    let now = Instant::now();
    let handshake_request = Request {
        method: Method::Get,
        query: Query::parse("EIO=4&transport=polling"),
        body: Bytes::new(),
        websocket_upgrade: false,
    };
    let sids = |seed: u8| -> Vec<String> {
        let mut engine = Engine::new(config.clone(), [seed; 32]);
        (0..100)
            .map(|_| ok_text(engine.handle_request(&handshake_request, now)))
            .collect()
    };
    let first = sids(1);
    assert_eq!(first, sids(1), "the same seed draws the same sids");
    assert!(first.iter().all(|open| !sids(2).contains(open)));
    let unique: std::collections::HashSet<&String> = first.iter().collect();
    assert_eq!(unique.len(), first.len());
}

#[test]
fn a_request_after_a_deadline_the_runtime_has_not_run_yet_sees_its_effect() {
    let mut server = Server::suite();
    let sid = server.open_polling();
    // The runtime's timer has not fired: the clock moved, no handle_timeout ran.
    server.now += PING_INTERVAL;
    assert_eq!(ok_text(server.get(&query(sid))), "2");
    server.now += PING_TIMEOUT;
    assert_eq!(error(server.get(&query(sid))), RequestError::UnknownSid);
    assert_eq!(server.closed_reason(sid), Some(&CloseReason::PingTimeout));
}
