//! What crosses between a [`RedisBridge`](super::RedisBridge) handle and its thread: the events
//! the thread reports, what the handle queues for it, and the counters both update. A leaf, so
//! that the handle (`bridge.rs`) and the thread's loop (`worker.rs`) each depend on it and not on
//! each other.

use std::sync::atomic::AtomicU64;

use bytes::Bytes;
use gif_chat_core::cluster::{LookupAnswer, Publish, RecoveryCommand};

/// What the bridge's thread reports, in order, through the callback given to
/// [`RedisBridge::start`](super::RedisBridge::start).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BridgeEvent {
    /// Connected to Redis (at start or after an outage); the wanted channels follow as
    /// [`BridgeEvent::Subscribed`].
    Connected,
    /// The connection is lost (or could not be made); the bridge retries with back-off.
    Disconnected,
    /// Redis confirmed `SSUBSCRIBE` of this channel.
    Subscribed(String),
    /// Redis confirmed `SUNSUBSCRIBE` of this channel.
    Unsubscribed(String),
    /// A message published on a subscribed channel, by any instance (this one included: the
    /// core's `ClusterNode::handle_message` drops its own).
    Message { channel: String, payload: Bytes },
    /// The answer to a [`RecoveryCommand::Lookup`] (SPEC M5); found nothing when Redis was
    /// down or failed.
    Lookup(LookupAnswer),
}

/// What goes through the queue to the thread, in the order the hub made it.
#[derive(Debug)]
pub(crate) enum Outgoing {
    Publish(Publish),
    Recovery(RecoveryCommand),
}

/// Counters shared by the handle and the thread.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// Publishes refused because the queue was full, not yet reported.
    pub(crate) queue_full: AtomicU64,
    /// Publishes that did not reach Redis because it was down, since the bridge started.
    pub(crate) lost: AtomicU64,
    /// Publishes Redis accepted, since the bridge started.
    pub(crate) published: AtomicU64,
}
