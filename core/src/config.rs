//! What a server is configured with, as values (no environment, no files: the settings that
//! fill it are read by `gif-chat-io`).

use std::time::Duration;

use crate::app_env::AppEnv;
use crate::chat::CookieSecret;
use crate::defaults;
use crate::http::HttpLimits;
use crate::hub::HubConfig;
use crate::origin::OriginPolicy;
use crate::proxy::TrustProxy;
use crate::site::Site;

/// Everything a [`Connection`](crate::Connection) needs to know about the server it belongs to.
#[derive(Debug, Clone)]
pub struct Config {
    /// Time between ticks on a ticking WebSocket (S6, default 3 s).
    pub tick_interval: Duration,
    /// Silence after which a WebSocket is pinged, and after a ping, dropped (B2, default 30 s).
    pub ping_interval: Duration,
    /// How long to wait for the peer's close frame or FIN once we closed (B3, default 5 s).
    pub close_timeout: Duration,
    /// How long a request head may take to arrive (slowloris, default 10 s).
    pub header_timeout: Duration,
    /// Idle time between keep-alive requests (S16, default 5 s).
    pub keep_alive_timeout: Duration,
    /// Largest WebSocket message (default 16 MiB): over it, close 1009.
    pub max_message_bytes: usize,
    /// Largest request body (default 100 KiB): over it, 413.
    pub max_body_bytes: u64,
    /// Request head limits (SPEC §4).
    pub http_limits: HttpLimits,
    /// Unsent output above which the connection stops reading (B5, default 1 MiB).
    pub high_water_mark: usize,
    pub trust_proxy: TrustProxy,
    pub origins: OriginPolicy,
    pub app_env: AppEnv,
    /// Colour the access log's status, as morgan does on a terminal.
    pub colored_log: bool,
    pub site: Site,
    /// The Socket.IO hub's settings; the connection reads `conformance` (whether
    /// `/engine.io/` is served) and the engine's `max_payload` (the largest POST body).
    pub hub: HubConfig,
    /// `COOKIE_SECRET`: signs the chat's `connect.sid` session cookies (C4). The default is
    /// empty; `gif-chat-io` puts the setting here, or a random key when it is not set.
    pub cookie_secret: CookieSecret,
}

impl Config {
    /// The [`defaults`] with the embedded demo page.
    pub fn new() -> Config {
        Config {
            tick_interval: Duration::from_millis(defaults::TICK_INTERVAL_MS),
            ping_interval: Duration::from_millis(defaults::PING_INTERVAL_MS),
            close_timeout: Duration::from_millis(defaults::CLOSE_TIMEOUT_MS),
            header_timeout: Duration::from_millis(defaults::HEADER_TIMEOUT_MS),
            keep_alive_timeout: Duration::from_millis(defaults::KEEP_ALIVE_TIMEOUT_MS),
            max_message_bytes: defaults::MAX_MESSAGE_BYTES,
            max_body_bytes: defaults::MAX_BODY_BYTES,
            http_limits: HttpLimits::default(),
            high_water_mark: defaults::HIGH_WATER_MARK_BYTES,
            trust_proxy: TrustProxy::default(),
            origins: OriginPolicy::default(),
            app_env: AppEnv::Development,
            colored_log: false,
            site: Site::demo_for(defaults::CONFORMANCE),
            hub: HubConfig::new(),
            cookie_secret: CookieSecret::new(Vec::new()),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config::new()
    }
}
