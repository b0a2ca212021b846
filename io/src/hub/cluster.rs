//! The cluster's I/O beside the hub (SPEC M1–M3): the [`RedisBridge`] of the process, and how
//! what it carries leaves the hub's lock and comes back to it.
//!
//! - Subscription changes and publishes are drained from the hub under its lock, in the order
//!   the hub made them, into the bridge, whose calls never wait (a set of wanted channels, a
//!   bounded queue): so two threads cannot reorder a room's subscribe and unsubscribe, and
//!   an instance's broadcasts leave in the order its own sockets got them.
//! - A message from another instance arrives on the bridge's thread, which locks the hub,
//!   feeds it in, and wakes whoever it concerns as a store reply does (tokio and smol through
//!   the connections' wakers, mio through its loop's `Waker` and the woken tokens).
//! - The answer to a recovery lookup (SPEC M5) comes back the same way, and answers the
//!   CONNECT that waited for it.
//! - The bridge's log lines go where the hub's go.
//!
//! The bridge is dropped (its queue sent, its thread joined) when the server stops.

use std::time::Instant;

use gif_chat_core::cluster::LookupAnswer;
use gif_chat_core::LogLine;

use super::{Inner, SharedHub};
use crate::log_writer::print_now;
use crate::redis::{BridgeEvent, RedisBridge, RedisConfig, StartError};

impl SharedHub {
    /// Connects this instance to the others through Redis at `config.url` (the hub was made
    /// with `HubConfig::cluster` set). Attach the chat first: mio's loop waker comes with it.
    pub fn attach_redis(&self, config: RedisConfig) -> Result<(), StartError> {
        let events = self.me.clone();
        let logs = self.me.clone();
        let bridge = RedisBridge::start(
            config,
            move |event| match (event, events.upgrade()) {
                (BridgeEvent::Message { payload, .. }, Some(hub)) => {
                    hub.handle_cluster_message(&payload);
                }
                (BridgeEvent::Lookup(answer), Some(hub)) => hub.handle_recovery_answer(answer),
                _ => {}
            },
            move |line| match logs.upgrade() {
                Some(hub) => hub.push_log_line(line),
                None => print_now(&line),
            },
        )?;
        let mut inner = self.lock();
        inner.bridge = Some(bridge);
        self.flush_cluster(&mut inner);
        Ok(())
    }

    /// A payload from Redis (on the bridge's thread).
    fn handle_cluster_message(&self, payload: &[u8]) {
        let mut inner = self.lock();
        inner.hub.handle_cluster_message(Instant::now(), payload);
        self.settle(&mut inner, None);
        let outbox = self.take_chat_outbox(&mut inner);
        drop(inner);
        self.send_chat_outbox(outbox);
        self.wake_loop();
    }

    /// What Redis held for a reconnecting client's session (on the bridge's thread): its
    /// CONNECT is answered, as a message from another instance is delivered.
    fn handle_recovery_answer(&self, answer: LookupAnswer) {
        let mut inner = self.lock();
        inner.hub.handle_recovery_answer(Instant::now(), answer);
        self.settle(&mut inner, None);
        let outbox = self.take_chat_outbox(&mut inner);
        drop(inner);
        self.send_chat_outbox(outbox);
        self.wake_loop();
    }

    /// One of the bridge's lines, logged as the hub's are.
    fn push_log_line(&self, line: LogLine) {
        match &self.log {
            Some(log) => log.push_line(&line),
            None => {
                self.lock().lines.push(line);
                self.wake_loop();
            }
        }
    }

    /// Hands the hub's subscription changes and publishes to the bridge (under the lock; the
    /// bridge never waits). Without a bridge they stay queued in the hub, for the one attached
    /// later.
    pub(super) fn flush_cluster(&self, inner: &mut Inner) {
        let Some(bridge) = &inner.bridge else {
            return;
        };
        while let Some(change) = inner.hub.poll_subscription() {
            bridge.subscription(change);
        }
        // Recovery's writes first: a packet is in the stream before it is published, so a
        // lookup that misses it in the stream is made before the publish (M5).
        while let Some(command) = inner.hub.poll_recovery_command() {
            bridge.recovery(command);
        }
        while let Some(publish) = inner.hub.poll_publish() {
            bridge.publish(publish);
        }
    }

    /// Takes the bridge out, to be dropped once the lock is released (dropping joins its
    /// thread, which may be waiting for the lock).
    pub(super) fn take_bridge(inner: &mut Inner) -> Option<RedisBridge> {
        inner.bridge.take()
    }
}
