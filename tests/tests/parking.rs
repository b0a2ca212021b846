//! Idle sessions that leave their task (tokio and smol park every idle Socket.IO WebSocket in
//! `gif_chat_io::parking`) must behave as any other, on every runtime: these cases drive each
//! way a parked session is woken again, and mio, which never parks, runs them too.
//!
//! - a session that does not read while a room's broadcasts pile up: the hub's direct writes
//!   fill its socket, the rest wakes it, and everything arrives whole and in order;
//! - the heartbeat: a session that answers pings stays (each pong wakes it), one that does not
//!   is closed by the hub's timer while it waits;
//! - the graceful stop: parked sessions are closed, counted and logged like the rest.

use gif_chat_tests::eio::{Received, Ws, SOCKET_PATH};
use gif_chat_tests::{runtime_matrix, spec, Runtime, Server, ServerBuilder, Signal, WAIT};
use serde_json::{json, Value};

/// A member of the conformance app's `/relay` room `room`, connected over WebSocket.
async fn member(port: u16, room: &str) -> Ws {
    let (mut ws, _) = Ws::opened_session(port, SOCKET_PATH).await;
    ws.send_text(&format!("40/relay,{}", json!({ "room": room })))
        .await;
    let answer = ws.next_packet_text(WAIT).await;
    assert!(answer.starts_with("40/relay,{\"sid\""), "{answer}");
    ws
}

async fn conformance_server(runtime: Runtime, env: &[(&str, &str)]) -> Server {
    ServerBuilder::new(runtime)
        .envs(&[("CONFORMANCE", "true")])
        .envs(env)
        .start()
        .await
}

/// The text a `/relay` `chat` event carries (the packet may carry more after it: a recovery
/// offset).
fn chat_text(packet: &str) -> String {
    let args: Value = packet
        .strip_prefix("42/relay,")
        .and_then(|json| serde_json::from_str(json).ok())
        .unwrap_or_else(|| panic!("not a /relay event: {packet:.60}"));
    assert_eq!(args[0], "chat", "{packet:.60}");
    args[1]
        .as_str()
        .unwrap_or_else(|| panic!("no text: {packet:.60}"))
        .to_owned()
}

/// The text of broadcast `index`: long, and different for every index.
fn payload(index: usize) -> String {
    format!("{index:06}:{}", "x".repeat(32 * 1024))
}

runtime_matrix! {
    /// 8 MiB of broadcasts to a member that reads nothing: far more than loopback buffers
    /// take, so the direct writes stop part-way, the rest is queued for the member's own task
    /// (a parked member is woken for it), and once it reads it gets every event, in order.
    async fn a_member_that_does_not_read_gets_every_broadcast_in_order(runtime: Runtime) {
        const EVENTS: usize = 256;
        // Room for everything in the server's queue: this case is about waking, not E7.
        let server = conformance_server(runtime, &[("HIGH_WATER_MARK_BYTES", "67108864")]).await;
        let port = server.port();
        let mut reader = member(port, "hall").await;
        let mut sender = member(port, "hall").await;
        for index in 0..EVENTS {
            let event = json!(["chat-others", payload(index)]);
            sender.send_text(&format!("42/relay,{event}")).await;
        }
        for index in 0..EVENTS {
            let text = chat_text(&reader.next_packet_text(WAIT).await);
            assert!(
                text == payload(index),
                "event {index}: got {}…",
                text.chars().take(12).collect::<String>()
            );
        }
        // Still served both ways afterwards.
        reader
            .send_text(&format!("42/relay,{}", json!(["chat-others", "back"])))
            .await;
        assert_eq!(chat_text(&sender.next_packet_text(WAIT).await), "back");
    }

    /// Pings every 100 ms: a member that answers them is still served after many rounds (each
    /// pong is input for an idle session); one that stops answering is closed within the
    /// timeout, though nothing but the hub's timer can notice.
    async fn the_heartbeat_keeps_an_idle_member_and_ends_a_silent_one(runtime: Runtime) {
        let server = conformance_server(
            runtime,
            &[("EIO_PING_INTERVAL_MS", "100"), ("EIO_PING_TIMEOUT_MS", "400")],
        )
        .await;
        let port = server.port();
        let mut answering = member(port, "porch").await;
        let mut silent = member(port, "porch").await;
        // Ten rounds, counted by the pings themselves (the room's `left` for the silent one
        // comes in between).
        let mut pings = 0;
        while pings < 10 {
            match answering.next(WAIT).await {
                Received::Text(text) if text == "2" => {
                    answering.send_text("3").await;
                    pings += 1;
                }
                Received::Text(text) if text.starts_with("42/relay,") => {}
                other => panic!("expected a ping, got {other:?}"),
            }
        }
        answering
            .send_text(&format!("42/relay,{}", json!(["chat", "still here"])))
            .await;
        loop {
            let packet = answering.next_packet_text(WAIT).await;
            if packet.starts_with("42/relay,[\"chat\"") {
                assert_eq!(chat_text(&packet), "still here");
                break;
            }
        }
        // The silent one got the same pings, answered none, and was closed meanwhile; what it
        // was sent before (pings, the chat) is passed over.
        silent.expect_closed(WAIT).await;
    }

    /// SIGTERM with idle members: each is closed, the stop counts them, and the server exits
    /// cleanly and at once.
    async fn a_stop_closes_idle_members(runtime: Runtime) {
        let mut server = conformance_server(runtime, &[]).await;
        let port = server.port();
        let mut members = Vec::new();
        for _ in 0..3 {
            members.push(member(port, "lobby").await);
        }
        server.signal(Signal::SIGTERM);
        server
            .expect_line(|l| l.starts_with(&spec::stopping_prefix(3)), WAIT)
            .await;
        for mut ws in members {
            ws.expect_closed(WAIT).await;
            // Sends the answer to the server's close frame, which it waits for.
            ws.close().await;
        }
        server.expect_exact(spec::STOPPED, WAIT).await;
        let status = server.wait_exit(WAIT).await;
        assert!(status.success(), "exit status {status}");
    }
}
