//! The bridge's thread: one loop that keeps a connection to Redis, brings its subscriptions in
//! line with the wanted set, sends the queued publishes, hands received messages to the caller,
//! and lives through Redis going away.
//!
//! While Redis is down the instance goes on serving its own clients: publishes taken from the
//! queue are counted as lost (a broadcast cannot wait for Redis without growing the memory of
//! every instance), and the outage is logged twice, when it starts and when it ends, with the
//! count. Attempts to reconnect back off exponentially up to a cap. After a reconnection every
//! wanted channel is subscribed again, from the wanted set, since a new connection has none.

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use gif_chat_core::cluster::{LookupAnswer, RecoveryCommand};
use gif_chat_core::LogLine;
use redis::aio::MultiplexedConnection;
use redis::{
    AsyncConnectionConfig, Client, IntoConnectionInfo, ProtocolVersion, PushInfo, PushKind,
    RedisResult, Value,
};
use tokio::sync::{mpsc, watch};

use super::backoff::Backoff;
use super::config::RedisConfig;
use super::subscriptions::Subscriptions;
use super::traffic::{BridgeEvent, Counters, Outgoing};

/// A client for `url`, always speaking RESP3: on one RESP3 connection, subscribed messages
/// arrive as pushes beside the answers to other commands, so `SPUBLISH` needs no second socket.
pub(super) fn client(url: &str) -> RedisResult<Client> {
    let info = url.into_connection_info()?;
    let settings = info
        .redis_settings()
        .clone()
        .set_protocol(ProtocolVersion::RESP3);
    Client::open(info.set_redis_settings(settings))
}

/// Everything the thread owns.
pub(super) struct Worker {
    pub(super) client: Client,
    pub(super) config: RedisConfig,
    pub(super) incoming: mpsc::Receiver<Outgoing>,
    pub(super) stopped: watch::Receiver<bool>,
    pub(super) subscriptions: Arc<Subscriptions>,
    pub(super) counters: Arc<Counters>,
    pub(super) on_event: Box<dyn FnMut(BridgeEvent) + Send>,
    pub(super) on_log: Box<dyn FnMut(LogLine) + Send>,
}

/// How a connected session ended.
enum End {
    /// The handle was dropped and the queue is empty.
    Stopped,
    /// The connection failed; `in_flight` publishes were being sent and may not have arrived.
    /// `served`: the wanted channels had been subscribed (a Redis that accepts connections but
    /// refuses the subscriptions is not taken for healthy: its back-off keeps growing).
    Lost {
        error: String,
        in_flight: u64,
        served: bool,
    },
}

/// Redis being away: since when, and how many publishes it cost so far.
struct Outage {
    since: Instant,
    lost: u64,
}

impl Worker {
    /// The thread's whole life: connect, serve, and on failure wait and connect again, until
    /// the handle is dropped.
    pub(super) async fn run(mut self) {
        let mut stopped = self.stopped.clone();
        let mut backoff = Backoff::new(self.config.reconnect_min, self.config.reconnect_max);
        let mut outage: Option<Outage> = None;
        loop {
            let attempt = tokio::select! {
                biased;
                _ = stopped.wait_for(|stop| *stop) => return,
                attempt = self.connect() => attempt,
            };
            match attempt {
                Ok((connection, pushes)) => {
                    match outage.take() {
                        Some(outage) => {
                            let dropped = self.counters.queue_full.swap(0, Ordering::Relaxed);
                            self.count_lost(dropped);
                            let lost = outage.lost + dropped;
                            (self.on_log)(LogLine::redis_back(outage.since.elapsed(), lost));
                        }
                        None => (self.on_log)(LogLine::redis_connected()),
                    }
                    (self.on_event)(BridgeEvent::Connected);
                    match self.session(connection, pushes).await {
                        End::Stopped => return,
                        End::Lost {
                            error,
                            in_flight,
                            served,
                        } => {
                            if served {
                                backoff.reset();
                            }
                            self.count_lost(in_flight);
                            outage = Some(Outage {
                                since: Instant::now(),
                                lost: in_flight,
                            });
                            (self.on_log)(LogLine::redis_down(&error));
                            (self.on_event)(BridgeEvent::Disconnected);
                        }
                    }
                }
                Err(error) => {
                    // One line per outage, not per attempt.
                    if outage.is_none() {
                        outage = Some(Outage {
                            since: Instant::now(),
                            lost: 0,
                        });
                        (self.on_log)(LogLine::redis_down(&error));
                        (self.on_event)(BridgeEvent::Disconnected);
                    }
                }
            }
            // Wait before the next attempt, taking publishes off the queue meanwhile so that
            // the event loops can go on queueing: each is lost and counted.
            let delay = tokio::time::sleep(backoff.next_delay());
            tokio::pin!(delay);
            loop {
                tokio::select! {
                    biased;
                    _ = stopped.wait_for(|stop| *stop) => return,
                    _ = &mut delay => break,
                    outgoing = self.incoming.recv() => match outgoing {
                        Some(Outgoing::Publish(_)) => {
                            self.count_lost(1);
                            if let Some(outage) = &mut outage {
                                outage.lost += 1;
                            }
                        }
                        Some(Outgoing::Recovery(command)) => self.unanswered(&command),
                        None => return,
                    },
                }
            }
        }
    }

    /// A new RESP3 connection whose pushes (subscribed messages, and the disconnection notice)
    /// come out of the returned receiver.
    async fn connect(
        &self,
    ) -> RedisResult<(MultiplexedConnection, mpsc::UnboundedReceiver<PushInfo>)> {
        // Unbounded, but drained by this same loop as fast as the callback takes messages: it
        // holds only what arrives while a command's answer is awaited.
        let (pushed, pushes) = mpsc::unbounded_channel();
        let timeout = Some(self.config.response_timeout);
        let config = AsyncConnectionConfig::new()
            .set_push_sender(pushed)
            .set_connection_timeout(timeout)
            .set_response_timeout(timeout);
        let connection = self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        Ok((connection, pushes))
    }

    /// One connection's life: subscriptions, publishes and messages, until it fails or the
    /// handle is dropped.
    async fn session(
        &mut self,
        mut connection: MultiplexedConnection,
        mut pushes: mpsc::UnboundedReceiver<PushInfo>,
    ) -> End {
        let subscriptions = Arc::clone(&self.subscriptions);
        let mut subscribed = BTreeSet::new();
        let mut served = false;
        loop {
            if let Err(error) = self.align(&mut connection, &mut subscribed).await {
                return End::Lost {
                    error: error.to_string(),
                    in_flight: 0,
                    served,
                };
            }
            served = true;
            self.report_queue_full();
            tokio::select! {
                _ = subscriptions.changed() => {}
                push = pushes.recv() => {
                    let delivered = push.is_some_and(|push| self.deliver(push));
                    if !delivered {
                        return End::Lost {
                            error: "connection closed".to_owned(),
                            in_flight: 0,
                            served,
                        };
                    }
                }
                publish = self.incoming.recv() => {
                    let Some(first) = publish else {
                        return End::Stopped;
                    };
                    let batch = self.batch(first);
                    if let Err((error, in_flight)) = self.send(&mut connection, batch).await {
                        return End::Lost {
                            error: error.to_string(),
                            in_flight,
                            served,
                        };
                    }
                }
            }
        }
    }

    /// Sends `SSUBSCRIBE`/`SUNSUBSCRIBE` until the connection's subscriptions are the wanted
    /// ones, each confirmed by Redis before it is reported.
    async fn align(
        &mut self,
        connection: &mut MultiplexedConnection,
        subscribed: &mut BTreeSet<String>,
    ) -> RedisResult<()> {
        let difference = self.subscriptions.difference(subscribed);
        for channel in difference.subscribe {
            redis::cmd("SSUBSCRIBE")
                .arg(&channel)
                .exec_async(connection)
                .await?;
            subscribed.insert(channel.clone());
            (self.on_event)(BridgeEvent::Subscribed(channel));
        }
        for channel in difference.unsubscribe {
            redis::cmd("SUNSUBSCRIBE")
                .arg(&channel)
                .exec_async(connection)
                .await?;
            subscribed.remove(&channel);
            (self.on_event)(BridgeEvent::Unsubscribed(channel));
        }
        Ok(())
    }

    /// `first` and whatever else is queued, up to the batch size, in order.
    fn batch(&mut self, first: Outgoing) -> Vec<Outgoing> {
        let mut batch = vec![first];
        while batch.len() < self.config.batch.max(1) {
            match self.incoming.try_recv() {
                Ok(publish) => batch.push(publish),
                Err(_) => break,
            }
        }
        batch
    }

    /// Hands a subscribed message to the caller; `false` when the push says the connection is
    /// gone.
    fn deliver(&mut self, push: PushInfo) -> bool {
        match push.kind {
            PushKind::SMessage | PushKind::Message => {
                let mut data = push.data.into_iter();
                if let (Some(channel), Some(Value::BulkString(payload))) =
                    (data.next(), data.next())
                {
                    (self.on_event)(BridgeEvent::Message {
                        channel: text(channel),
                        payload: Bytes::from(payload),
                    });
                }
                true
            }
            PushKind::Disconnection => false,
            // Subscription confirmations are read as command answers; nothing else is asked for.
            _ => true,
        }
    }

    fn count_lost(&self, count: u64) {
        self.counters.lost.fetch_add(count, Ordering::Relaxed);
    }

    /// Logs the publishes a full queue refused since the last report.
    fn report_queue_full(&mut self) {
        let dropped = self.counters.queue_full.swap(0, Ordering::Relaxed);
        if dropped > 0 {
            (self.on_log)(LogLine::redis_queue_full(dropped));
        }
    }
}

impl Worker {
    /// Sends a batch in order: `SPUBLISH`es and recovery writes pipelined (one write and one
    /// round trip), each lookup after what came before it, its answer reported. On failure:
    /// the error and the publishes that may not have arrived; lookups not made are answered
    /// with nothing.
    async fn send(
        &mut self,
        connection: &mut MultiplexedConnection,
        batch: Vec<Outgoing>,
    ) -> Result<(), (redis::RedisError, u64)> {
        let mut pipeline = redis::pipe();
        let mut publishes = 0;
        let mut batch = batch.into_iter();
        while let Some(outgoing) = batch.next() {
            let lookup = match outgoing {
                Outgoing::Publish(publish) => {
                    pipeline
                        .cmd("SPUBLISH")
                        .arg(&publish.channel)
                        .arg(publish.payload.as_ref())
                        .ignore();
                    publishes += 1;
                    continue;
                }
                Outgoing::Recovery(RecoveryCommand::Lookup {
                    id,
                    session,
                    stream,
                    offset,
                    window,
                }) => super::recovery::Lookup {
                    id,
                    session,
                    stream,
                    offset,
                    window,
                },
                Outgoing::Recovery(command) => {
                    super::recovery::write(&mut pipeline, &command);
                    continue;
                }
            };
            let sent = self.flush(connection, &mut pipeline, &mut publishes).await;
            let answer = match sent {
                Ok(()) => lookup.run(connection).await,
                Err(error) => Err(error),
            };
            match answer {
                Ok(answer) => (self.on_event)(BridgeEvent::Lookup(answer)),
                Err(error) => {
                    (self.on_event)(BridgeEvent::Lookup(LookupAnswer::nothing(lookup.id)));
                    for outgoing in batch {
                        if let Outgoing::Recovery(command) = outgoing {
                            self.unanswered(&command);
                        }
                    }
                    return Err((error, publishes));
                }
            }
        }
        self.flush(connection, &mut pipeline, &mut publishes)
            .await
            .map_err(|error| (error, publishes))
    }

    /// Sends what the pipeline holds.
    async fn flush(
        &self,
        connection: &mut MultiplexedConnection,
        pipeline: &mut redis::Pipeline,
        publishes: &mut u64,
    ) -> RedisResult<()> {
        if pipeline.is_empty() {
            return Ok(());
        }
        pipeline.exec_async(connection).await?;
        pipeline.clear();
        self.counters
            .published
            .fetch_add(*publishes, Ordering::Relaxed);
        *publishes = 0;
        Ok(())
    }

    /// A recovery command that will not be sent: a lookup is answered with nothing at once,
    /// rather than at its timeout.
    fn unanswered(&mut self, command: &RecoveryCommand) {
        if let RecoveryCommand::Lookup { id, .. } = command {
            (self.on_event)(BridgeEvent::Lookup(LookupAnswer::nothing(*id)));
        }
    }
}

/// A channel name as text (the core names channels in UTF-8; anything else is shown lossily).
fn text(value: Value) -> String {
    match value {
        Value::BulkString(bytes) => String::from_utf8(bytes)
            .unwrap_or_else(|error| String::from_utf8_lossy(error.as_bytes()).into_owned()),
        Value::SimpleString(text) => text,
        _ => String::new(),
    }
}
