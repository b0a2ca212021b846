//! What the bridge needs to know: where Redis is and how patient to be with it.
//!
//! The defaults suit a production instance; tests shorten the timings so that an outage and a
//! recovery take milliseconds.

use std::time::Duration;

/// The longest wait between two reconnection attempts, in milliseconds (`REDIS_RECONNECT_MAX_MS`).
pub const DEFAULT_RECONNECT_MAX_MS: u64 = 5_000;

/// The first wait after a failed attempt; each further failure doubles it up to the maximum.
pub const DEFAULT_RECONNECT_MIN: Duration = Duration::from_millis(100);

/// How long a connection attempt, or an answer from Redis, may take before the connection is
/// taken for lost (a frozen Redis, a dropped route) and made anew.
pub const DEFAULT_RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Publishes waiting for the bridge's thread; beyond, they are dropped and counted (the event
/// loops never wait on Redis).
pub const DEFAULT_QUEUE_CAPACITY: usize = 65_536;

/// The most publishes sent in one pipeline.
pub const DEFAULT_BATCH: usize = 512;

/// The bridge's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedisConfig {
    /// `redis://[user:password@]host[:port][/db]`; the bridge always speaks RESP3 over it.
    pub url: String,
    pub reconnect_min: Duration,
    pub reconnect_max: Duration,
    pub response_timeout: Duration,
    pub queue_capacity: usize,
    pub batch: usize,
}

impl RedisConfig {
    /// The defaults, for Redis at `url`.
    pub fn new(url: impl Into<String>) -> RedisConfig {
        RedisConfig {
            url: url.into(),
            reconnect_min: DEFAULT_RECONNECT_MIN,
            reconnect_max: Duration::from_millis(DEFAULT_RECONNECT_MAX_MS),
            response_timeout: DEFAULT_RESPONSE_TIMEOUT,
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            batch: DEFAULT_BATCH,
        }
    }
}
