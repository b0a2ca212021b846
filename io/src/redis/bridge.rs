//! The bridge's handle: what an event loop calls, and how it reaches the bridge's thread without
//! ever waiting.
//!
//! Publishes go through a bounded queue: [`RedisBridge::publish`] is a `try_send`, and a full
//! queue (Redis slower than the instance's broadcasts) drops the publish, counts it, and the
//! thread logs the count. Subscription changes go to the wanted set ([`Subscriptions`]), which
//! is never full. Dropping the handle lets the thread send what is queued, then stops and joins
//! it.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;

use gif_chat_core::cluster::{Publish, RecoveryCommand, Subscription};
use gif_chat_core::LogLine;
use tokio::sync::{mpsc, watch};

use super::config::RedisConfig;
use super::subscriptions::Subscriptions;
use super::worker::Worker;

pub use super::traffic::BridgeEvent;
use super::traffic::{Counters, Outgoing};

/// Why the bridge did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The URL is not a Redis URL. The URL itself is not repeated: it may hold a password.
    #[error("REDIS_URL is not a valid Redis URL: {0}")]
    Url(String),
    #[error("cannot start the Redis bridge's thread: {0}")]
    Thread(#[from] std::io::Error),
}

/// Whether `url` is a Redis URL the bridge can use (checked at start, before serving).
pub fn check_url(url: &str) -> Result<(), StartError> {
    super::worker::client(url)
        .map(drop)
        .map_err(|error| StartError::Url(error.to_string()))
}

/// One instance's connection to Redis, running on its own thread.
#[derive(Debug)]
pub struct RedisBridge {
    /// `None` once dropping has begun: closing the queue is the thread's signal to finish.
    queue: Option<mpsc::Sender<Outgoing>>,
    stop: watch::Sender<bool>,
    subscriptions: Arc<Subscriptions>,
    counters: Arc<Counters>,
    thread: Option<JoinHandle<()>>,
}

impl RedisBridge {
    /// Starts the bridge's thread, which connects (and reconnects) to Redis at `config.url`.
    /// An unreachable Redis is not an error: the bridge logs it and keeps trying. `on_event` and
    /// `on_log` are called on the bridge's thread.
    pub fn start(
        config: RedisConfig,
        on_event: impl FnMut(BridgeEvent) + Send + 'static,
        on_log: impl FnMut(LogLine) + Send + 'static,
    ) -> Result<RedisBridge, StartError> {
        let client = super::worker::client(&config.url)
            .map_err(|error| StartError::Url(error.to_string()))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (queue, incoming) = mpsc::channel(config.queue_capacity.max(1));
        let (stop, stopped) = watch::channel(false);
        let subscriptions = Arc::new(Subscriptions::default());
        let counters = Arc::new(Counters::default());
        let worker = Worker {
            client,
            config,
            incoming,
            stopped,
            subscriptions: Arc::clone(&subscriptions),
            counters: Arc::clone(&counters),
            on_event: Box::new(on_event),
            on_log: Box::new(on_log),
        };
        let thread = std::thread::Builder::new()
            .name("gif-chat-redis".into())
            .spawn(move || runtime.block_on(worker.run()))?;
        Ok(RedisBridge {
            queue: Some(queue),
            stop,
            subscriptions,
            counters,
            thread: Some(thread),
        })
    }

    /// Queues `SPUBLISH channel payload`. Never waits: a full queue drops the publish and
    /// counts it (the thread logs the count). Returns whether it was queued.
    pub fn publish(&self, publish: Publish) -> bool {
        self.enqueue(Outgoing::Publish(publish))
    }

    /// Queues a command on gif-chat's recovery keys (SPEC M5), in order with the publishes.
    /// Never waits: a full queue drops it and counts it; a dropped lookup is answered by the
    /// core's own timeout. Returns whether it was queued.
    pub fn recovery(&self, command: RecoveryCommand) -> bool {
        self.enqueue(Outgoing::Recovery(command))
    }

    fn enqueue(&self, outgoing: Outgoing) -> bool {
        let Some(queue) = &self.queue else {
            return false;
        };
        match queue.try_send(outgoing) {
            Ok(()) => true,
            Err(_) => {
                self.counters.queue_full.fetch_add(1, Ordering::Relaxed);
                false
            }
        }
    }

    /// Applies a subscription change, in the order `ClusterNode::poll_subscription` gives them.
    /// Never waits and never drops: the thread sends it (or, while Redis is down, sends the
    /// resulting set when it is back).
    pub fn subscription(&self, change: Subscription) {
        self.subscriptions.apply(change);
    }

    /// Publishes that did not reach Redis because it was down, since the bridge started.
    pub fn lost(&self) -> u64 {
        self.counters.lost.load(Ordering::Relaxed)
    }

    /// Publishes Redis accepted, since the bridge started.
    pub fn published(&self) -> u64 {
        self.counters.published.load(Ordering::Relaxed)
    }
}

impl Drop for RedisBridge {
    fn drop(&mut self) {
        // Closing the queue lets a connected thread send what is queued, then finish; the stop
        // flag ends a thread that is waiting to reconnect.
        self.queue = None;
        self.stop.send_replace(true);
        if let Some(thread) = self.thread.take() {
            // Dropped on its own thread (a callback held the last reference to the bridge's
            // owner): the thread ends by itself once the callback returns; it cannot join itself.
            if thread.thread().id() == std::thread::current().id() {
                return;
            }
            // A panic on the bridge's thread was already reported by the panic hook.
            let _ = thread.join();
        }
    }
}
