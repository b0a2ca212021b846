//! The Engine.IO settings, with the reference server's defaults.
//!
//! They are plain values so that a test can shrink every interval to milliseconds on a virtual
//! clock; the runtime fills them from its environment (`EIO_PING_INTERVAL_MS` and friends).

use std::time::Duration;

/// How every Engine.IO session behaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineConfig {
    /// The server pings each session this long after it opened or last answered (25 s).
    pub ping_interval: Duration,
    /// A session that does not answer a ping within this long is closed (20 s).
    pub ping_timeout: Duration,
    /// The largest polling POST body or WebSocket message accepted, in bytes (1,000,000).
    pub max_payload: usize,
    /// Unsent output a session may hold (polling buffer or WebSocket queue), in bytes; above
    /// it the session is closed (E7). 1 MiB by default.
    pub high_water_mark: usize,
    /// A WebSocket probing an upgrade must complete it (`5`) within this long (10 s).
    pub upgrade_timeout: Duration,
    /// How long a session closed by the server waits for a GET to drain its last packets (30 s).
    pub close_timeout: Duration,
    /// Whether polling sessions may upgrade to WebSocket (`"upgrades":["websocket"]`).
    pub allow_upgrades: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            ping_interval: Duration::from_millis(25_000),
            ping_timeout: Duration::from_millis(20_000),
            max_payload: 1_000_000,
            high_water_mark: 1 << 20,
            upgrade_timeout: Duration::from_millis(10_000),
            close_timeout: Duration::from_millis(30_000),
            allow_upgrades: true,
        }
    }
}
