//! One gif-chat "instance" as the cluster sees it, for the Redis tests: the core's
//! `ClusterNode` (what to subscribe, what to publish, what a message means) driven through a
//! real `RedisBridge`, with everything the bridge reports collected on channels so that a test
//! waits on what happened, never on a sleep.
//!
//! Shared by `#[path]` with each test that needs it.

use std::sync::mpsc;
use std::time::Duration;

use gif_chat_core::cluster::{Body, ClusterNode, EventPacket, Message, Options, Uid};
use gif_chat_core::socketio::Args;
use gif_chat_core::LogLine;
use gif_chat_io::redis::{BridgeEvent, RedisBridge, RedisConfig};

/// How long any one expected thing may take before the test fails instead of hanging.
pub const PATIENCE: Duration = Duration::from_secs(20);

pub struct Instance {
    pub node: ClusterNode,
    pub bridge: RedisBridge,
    pub events: mpsc::Receiver<BridgeEvent>,
    pub logs: mpsc::Receiver<LogLine>,
}

/// Short timings, so that an outage and a recovery take milliseconds.
pub fn quick_config(url: &str) -> RedisConfig {
    let mut config = RedisConfig::new(url);
    config.reconnect_min = Duration::from_millis(10);
    config.reconnect_max = Duration::from_millis(100);
    config.response_timeout = Duration::from_secs(5);
    config
}

impl Instance {
    /// An instance of namespace `nsp` whose uid is `uid_byte` repeated.
    pub fn start(url: &str, nsp: &str, uid_byte: u8) -> Instance {
        Instance::start_with(quick_config(url), nsp, uid_byte)
    }

    /// An instance whose bridge has `config`.
    pub fn start_with(config: RedisConfig, nsp: &str, uid_byte: u8) -> Instance {
        let (event_tx, events) = mpsc::channel();
        let (log_tx, logs) = mpsc::channel();
        let bridge = RedisBridge::start(
            config,
            move |event| {
                let _ = event_tx.send(event);
            },
            move |line| {
                let _ = log_tx.send(line);
            },
        )
        .expect("the bridge starts");
        let mut instance = Instance {
            node: ClusterNode::new(Uid::from_random([uid_byte; 8]), nsp),
            bridge,
            events,
            logs,
        };
        instance.sync_subscriptions();
        instance
    }

    /// Hands the node's pending subscription changes to the bridge, in order.
    pub fn sync_subscriptions(&mut self) {
        while let Some(change) = self.node.poll_subscription() {
            self.bridge.subscription(change);
        }
    }

    pub fn join(&mut self, socket: &str, room: &str) {
        self.node.join(socket, room);
        self.sync_subscriptions();
    }

    pub fn leave(&mut self, socket: &str, room: &str) {
        self.node.leave(socket, room);
        self.sync_subscriptions();
    }

    /// Broadcasts `chat` with `text` to `rooms` (the whole namespace when empty).
    pub fn broadcast(&self, rooms: &[&str], text: &str) {
        assert!(
            self.try_broadcast(rooms, text),
            "the bridge's queue took it"
        );
    }

    /// [`broadcast`](Self::broadcast), saying whether the bridge's queue took it.
    pub fn try_broadcast(&self, rooms: &[&str], text: &str) -> bool {
        let packet = EventPacket {
            name: "chat".to_owned(),
            args: Args::json(vec![serde_json::Value::String(text.to_owned())]),
        };
        let opts = Options {
            rooms: rooms.iter().map(|room| room.to_string()).collect(),
            ..Options::default()
        };
        let publish = self
            .node
            .broadcast(packet, opts)
            .expect("not a local-only broadcast");
        self.bridge.publish(publish)
    }

    /// The next event, or a failure after [`PATIENCE`].
    pub fn next_event(&self) -> BridgeEvent {
        self.events
            .recv_timeout(PATIENCE)
            .expect("the bridge reported something in time")
    }

    /// Skips events until one matches; returns the skipped ones.
    pub fn wait_for(&self, wanted: impl Fn(&BridgeEvent) -> bool) -> Vec<BridgeEvent> {
        let mut skipped = Vec::new();
        loop {
            let event = self.next_event();
            if wanted(&event) {
                return skipped;
            }
            skipped.push(event);
        }
    }

    /// Waits until the node's every wanted channel is confirmed subscribed.
    pub fn wait_subscribed(&self) {
        let mut missing = self.node.subscribed_channels();
        while !missing.is_empty() {
            if let BridgeEvent::Subscribed(channel) = self.next_event() {
                missing.retain(|wanted| *wanted != channel);
            }
        }
    }

    /// The next message from another instance of the namespace, decoded by the node (own
    /// messages are skipped, as the node drops them), with the channel it came on.
    pub fn next_message(&self) -> (String, Message) {
        loop {
            if let BridgeEvent::Message { channel, payload } = self.next_event() {
                match self.node.handle_message(&payload) {
                    Ok(Some(message)) => return (channel, message),
                    Ok(None) => continue,
                    Err(error) => panic!("undecodable message on {channel}: {error}"),
                }
            }
        }
    }

    /// The first argument of the next broadcast from another instance.
    pub fn next_text(&self) -> serde_json::Value {
        chat_of(&self.next_message().1).1
    }

    /// The next log line, or a failure after [`PATIENCE`].
    pub fn next_log(&self) -> LogLine {
        self.logs
            .recv_timeout(PATIENCE)
            .expect("the bridge logged something in time")
    }
}

/// Waits until `condition` holds (a counter the bridge's thread updates after the event that a
/// test can see), failing after [`PATIENCE`].
pub fn eventually(what: &str, condition: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + PATIENCE;
    while !condition() {
        assert!(std::time::Instant::now() < deadline, "never: {what}");
        std::thread::yield_now();
    }
}

/// The event name, first argument and rooms of a broadcast message.
pub fn chat_of(message: &Message) -> (String, serde_json::Value, Vec<String>) {
    match &message.body {
        Body::Broadcast(broadcast) => (
            broadcast.packet.name.clone(),
            broadcast
                .packet
                .args
                .values
                .first()
                .cloned()
                .unwrap_or_default(),
            broadcast.opts.rooms.clone(),
        ),
        other => panic!("not a broadcast: {other:?}"),
    }
}
