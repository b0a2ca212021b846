//! The Redis bridge against a real `redis-server` (SPEC M1, M3; issue 11): broadcasts cross
//! instances through `SPUBLISH`/`SSUBSCRIBE`, an instance hears only the rooms it has members
//! in, and a Redis restart costs what was sent while it was down, reported in the log, and
//! nothing more: the bridges reconnect, subscribe again and carry traffic as before.
//!
//! Each test starts its own server on a free port and kills it at the end. Waits are on the
//! bridge's events, never on sleeps.

#[allow(dead_code)]
#[path = "support/cluster_instance.rs"]
mod cluster_instance;
#[allow(dead_code)]
#[path = "support/redis_server.rs"]
mod redis_server;

use std::time::Instant;

use cluster_instance::{chat_of, eventually, quick_config, Instance, PATIENCE};
use gif_chat_core::Stream;
use gif_chat_io::redis::{BridgeEvent, RedisBridge, RedisConfig, StartError};
use redis_server::RedisServer;
use serde_json::json;

#[test]
fn a_broadcast_crosses_from_one_instance_to_another() {
    let redis = RedisServer::start();
    let mut alice = Instance::start(&redis.url(), "/chat", 0xa1);
    let bob = Instance::start(&redis.url(), "/chat", 0xb0);
    assert_eq!(alice.next_event(), BridgeEvent::Connected);
    assert_eq!(
        alice.next_log().text,
        "Redis connected: broadcasts are shared with the other instances"
    );
    alice.join("socket-1", "lobby");
    alice.wait_subscribed();
    bob.wait_subscribed();

    bob.broadcast(&["lobby"], "hello from bob");
    let (channel, message) = alice.next_message();
    assert_eq!(channel, "socket.io#/chat#lobby#");
    assert_eq!(message.uid, bob.node.uid().as_str());
    assert_eq!(
        chat_of(&message),
        (
            "chat".to_owned(),
            json!("hello from bob"),
            vec!["lobby".to_owned()]
        )
    );

    // Alice hears her own broadcast on the room's channel; her node drops it, so the next
    // message she is handed is Bob's second one.
    alice.broadcast(&["lobby"], "hello from alice");
    bob.broadcast(&[], "to everyone");
    let (channel, message) = alice.next_message();
    assert_eq!(channel, "socket.io#/chat#");
    assert_eq!(chat_of(&message).1, json!("to everyone"));
    // The counters move when Redis answers, which may come after the message itself.
    eventually("Alice's publish counted", || alice.bridge.published() == 1);
    eventually("Bob's publishes counted", || bob.bridge.published() == 2);
    assert_eq!(alice.bridge.lost(), 0);
}

/// M3: three instances; Alice has members in `lobby`, Bob in `kitchen`, Carol in neither.
/// Each hears its own room and the namespace, and nothing of the other room. Redis delivers a
/// publisher's messages in order, so once a listener has the namespace-wide marker Carol sent
/// last, it has everything it will ever get of what came before.
#[test]
fn an_instance_receives_only_the_rooms_it_has_members_in() {
    let redis = RedisServer::start();
    let mut alice = Instance::start(&redis.url(), "/chat", 0xa1);
    let mut bob = Instance::start(&redis.url(), "/chat", 0xb0);
    let carol = Instance::start(&redis.url(), "/chat", 0xc0);
    alice.join("a-1", "lobby");
    alice.join("a-2", "lobby");
    bob.join("b-1", "kitchen");
    alice.wait_subscribed();
    bob.wait_subscribed();
    carol.wait_subscribed();
    assert_eq!(
        redis.cli(&[
            "PUBSUB",
            "SHARDNUMSUB",
            "socket.io#/chat#lobby#",
            "socket.io#/chat#kitchen#"
        ]),
        "socket.io#/chat#lobby#\n1\nsocket.io#/chat#kitchen#\n1\n"
    );

    for i in 0..5 {
        carol.broadcast(&["lobby"], &format!("lobby {i}"));
    }
    for i in 0..3 {
        carol.broadcast(&["kitchen"], &format!("kitchen {i}"));
    }
    carol.broadcast(&[], "marker 1");

    let heard = |instance: &Instance, marker: &str| {
        let mut heard = Vec::new();
        loop {
            let (channel, message) = instance.next_message();
            let text = chat_of(&message).1;
            if text == json!(marker) {
                return heard;
            }
            heard.push((channel, text));
        }
    };
    let lobby: Vec<_> = (0..5)
        .map(|i| {
            (
                "socket.io#/chat#lobby#".to_owned(),
                json!(format!("lobby {i}")),
            )
        })
        .collect();
    let kitchen: Vec<_> = (0..3)
        .map(|i| {
            (
                "socket.io#/chat#kitchen#".to_owned(),
                json!(format!("kitchen {i}")),
            )
        })
        .collect();
    assert_eq!(heard(&alice, "marker 1"), lobby);
    assert_eq!(heard(&bob, "marker 1"), kitchen);

    // One member leaving keeps the subscription; the last one leaving drops it, and Alice hears
    // the lobby no more.
    alice.leave("a-1", "lobby");
    alice.leave("a-2", "lobby");
    alice.wait_for(|event| *event == BridgeEvent::Unsubscribed("socket.io#/chat#lobby#".into()));
    assert_eq!(
        redis.cli(&["PUBSUB", "SHARDNUMSUB", "socket.io#/chat#lobby#"]),
        "socket.io#/chat#lobby#\n0\n"
    );
    carol.broadcast(&["lobby"], "nobody here");
    carol.broadcast(&[], "marker 2");
    assert_eq!(heard(&alice, "marker 2"), []);
}

#[test]
fn a_redis_restart_is_survived_and_reported_with_what_was_lost() {
    let mut redis = RedisServer::start();
    let mut alice = Instance::start(&redis.url(), "/chat", 0xa1);
    let bob = Instance::start(&redis.url(), "/chat", 0xb0);
    alice.join("a-1", "lobby");
    alice.wait_subscribed();
    bob.wait_subscribed();
    bob.broadcast(&["lobby"], "before");
    assert_eq!(alice.next_text(), json!("before"));
    assert_eq!(
        bob.next_log().text,
        "Redis connected: broadcasts are shared with the other instances"
    );

    redis.kill();
    alice.wait_for(|event| *event == BridgeEvent::Disconnected);
    bob.wait_for(|event| *event == BridgeEvent::Disconnected);
    let down = bob.next_log();
    assert_eq!(down.stream, Stream::Stderr);
    assert!(
        down.text.starts_with("Error: Redis unreachable (")
            && down
                .text
                .ends_with("); serving local clients only, reconnecting"),
        "{down:?}"
    );

    // Broadcasts while Redis is down do not wait and do not pile up: they are counted lost.
    // Bob's thread takes them off its queue between attempts; Redis comes back only once it has.
    bob.broadcast(&["lobby"], "lost 1");
    bob.broadcast(&["lobby"], "lost 2");
    eventually("the lost publishes counted", || bob.bridge.lost() == 2);

    redis.restart();
    alice.wait_for(|event| *event == BridgeEvent::Connected);
    bob.wait_for(|event| *event == BridgeEvent::Connected);
    // Every wanted channel is subscribed again on the new connection.
    alice.wait_subscribed();
    bob.wait_subscribed();
    let back = bob.next_log();
    assert_eq!(back.stream, Stream::Stderr);
    assert!(
        back.text.starts_with("Warning: Redis back after ")
            && back
                .text
                .contains(" s: 2 broadcasts to other instances lost while it was down"),
        "{back:?}"
    );
    // Alice sent nothing meanwhile: connected, down, back with nothing lost.
    let alice_logs: Vec<_> = (0..3).map(|_| alice.next_log().text).collect();
    assert!(
        alice_logs[1].starts_with("Error: Redis unreachable ("),
        "{alice_logs:?}"
    );
    assert!(
        alice_logs[2].contains(": 0 broadcasts to other instances lost"),
        "{alice_logs:?}"
    );

    bob.broadcast(&["lobby"], "after");
    assert_eq!(alice.next_text(), json!("after"));
    assert_eq!(bob.bridge.lost(), 2);
}

/// An instance started while Redis is away serves anyway, says so once, and joins the cluster
/// when Redis appears.
#[test]
fn redis_missing_at_start_is_waited_for_without_failing() {
    let mut redis = RedisServer::start();
    let url = redis.url();
    redis.kill();
    let mut alice = Instance::start(&url, "/chat", 0xa1);
    alice.join("a-1", "lobby");
    assert_eq!(alice.next_event(), BridgeEvent::Disconnected);
    assert!(alice
        .next_log()
        .text
        .starts_with("Error: Redis unreachable ("));
    redis.restart();
    assert_eq!(alice.next_event(), BridgeEvent::Connected);
    alice.wait_subscribed();
    assert!(alice
        .next_log()
        .text
        .starts_with("Warning: Redis back after "));
    // No line per failed attempt: the outage was told once.
    assert!(alice.logs.try_recv().is_err());
}

#[test]
fn a_bad_url_is_refused_without_repeating_it() {
    let error = RedisBridge::start(
        RedisConfig::new("http://user:s3cret@example.invalid/"),
        |_| {},
        |_| {},
    )
    .expect_err("not a Redis URL");
    assert!(matches!(error, StartError::Url(_)), "{error:?}");
    assert!(!error.to_string().contains("s3cret"), "{error}");
}

/// Dropping the bridge sends what is queued before its thread ends.
#[test]
fn dropping_the_bridge_flushes_its_queue() {
    let redis = RedisServer::start();
    let mut alice = Instance::start(&redis.url(), "/chat", 0xa1);
    alice.join("a-1", "lobby");
    alice.wait_subscribed();
    let bob = Instance::start(&redis.url(), "/chat", 0xb0);
    bob.wait_subscribed();
    for i in 0..100 {
        bob.broadcast(&["lobby"], &i.to_string());
    }
    drop(bob);
    for i in 0..100 {
        assert_eq!(alice.next_text(), json!(i.to_string()));
    }
}

/// A Redis too slow for the instance's broadcasts never makes the caller wait: once the queue
/// is full, publishes are refused at once, counted, and the count is logged.
#[test]
fn a_full_queue_drops_counts_and_logs_without_waiting() {
    let redis = RedisServer::start();
    let mut alice = Instance::start(&redis.url(), "/chat", 0xa1);
    alice.join("a-1", "lobby");
    alice.wait_subscribed();
    let mut config = quick_config(&redis.url());
    config.queue_capacity = 4;
    config.batch = 1;
    // Longer than the test: the frozen Redis must not be taken for a lost one.
    config.response_timeout = PATIENCE * 3;
    let bob = Instance::start_with(config, "/chat", 0xb0);
    bob.wait_subscribed();
    assert_eq!(
        bob.next_log().text,
        "Redis connected: broadcasts are shared with the other instances"
    );

    redis.pause();
    let started = Instant::now();
    let taken: Vec<bool> = (0..50)
        .map(|i| bob.try_broadcast(&["lobby"], &i.to_string()))
        .collect();
    assert!(
        started.elapsed() < PATIENCE,
        "publishing waited on the frozen Redis"
    );
    let accepted = taken.iter().filter(|taken| **taken).count();
    let refused = taken.len() - accepted;
    // The queue's four, and at most one the bridge's thread took out before it got stuck
    // (waiting for Redis to answer the one it sent).
    assert!((4..=5).contains(&accepted), "{accepted} accepted");
    redis.resume();

    // What went through arrives, in order; nothing refused does.
    for (i, _) in taken.iter().enumerate().filter(|(_, taken)| **taken) {
        assert_eq!(alice.next_text(), json!(i.to_string()));
    }
    bob.broadcast(&["lobby"], "end");
    assert_eq!(alice.next_text(), json!("end"));
    assert_eq!(
        bob.next_log().text,
        format!("Error: Redis publish queue full: {refused} broadcasts to other instances dropped")
    );
    assert_eq!(bob.bridge.lost(), 0);
}
