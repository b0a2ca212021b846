//! The command line and environment every runtime accepts, so that all three are configured
//! alike.
//!
//! Reading them is I/O (the process's arguments, its environment, a `.env` file), so it lives
//! here and not in the core, which only sees the resulting [`Config`]: plain values. Parsing is
//! clap's; [`Settings::load`] reads `.env` first (dotenvy), and since dotenvy never overrides a
//! variable already set, the environment wins over the file, as with the seed's `dotenv`.
//!
//! Each default is written once, in the core's [`defaults`] (the core's `Config::new` is built
//! from the same constants): clap shows it in `--help` and uses it, and tests compare against it.

use std::ffi::OsString;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::num::NonZeroUsize;
use std::time::Duration;

use clap::Parser;
use gif_chat_core::chat::app::ChatRateError;
use gif_chat_core::chat::{ChatText, CookieSecret, SessionIds};
use gif_chat_core::{
    AppEnv, Config, LogLine, OriginPolicy, OriginPolicyError, Site, TrustProxy, TrustProxyError,
};

pub use gif_chat_core::defaults;

use crate::store::{DatabaseUrl, DatabaseUrlError};

/// gif-chat: the seed's WebSocket tick server (Express + ws) rebuilt on a sans-IO Rust core.
///
/// Every option can also be set by the environment variable shown, or in a `.env` file in the
/// working directory.
#[derive(Debug, Clone, Parser)]
#[command(name = "gif-chat", version)]
pub struct Settings {
    /// Port to listen on.
    #[arg(long, env = "PORT", default_value_t = defaults::PORT)]
    pub port: u16,
    /// Address to listen on; `::` listens on IPv4 and IPv6.
    #[arg(long, env = "HOST", default_value_t = defaults::HOST)]
    pub host: IpAddr,
    /// `production` shows error pages without details; anything else is development.
    #[arg(long, env = "APP_ENV", default_value = defaults::APP_ENV)]
    pub app_env: String,
    /// Peers trusted to set X-Forwarded-For: true, false, or a comma list of loopback,
    /// linklocal, uniquelocal, IPs and CIDRs.
    #[arg(long, env = "TRUST_PROXY", default_value = defaults::TRUST_PROXY)]
    pub trust_proxy: String,
    /// Origins allowed to open a WebSocket (comma list, or *); empty: same host only.
    #[arg(long, env = "ALLOWED_ORIGINS", default_value = defaults::ALLOWED_ORIGINS)]
    pub allowed_origins: String,
    /// Milliseconds between ticks on a WebSocket.
    #[arg(long, env = "TICK_INTERVAL_MS", default_value_t = defaults::TICK_INTERVAL_MS)]
    pub tick_interval_ms: u64,
    /// Milliseconds of silence before a WebSocket is pinged, and again before it is dropped.
    #[arg(long, env = "PING_INTERVAL_MS", default_value_t = defaults::PING_INTERVAL_MS)]
    pub ping_interval_ms: u64,
    /// Milliseconds to wait for the peer's close frame after sending ours.
    #[arg(long, env = "CLOSE_TIMEOUT_MS", default_value_t = defaults::CLOSE_TIMEOUT_MS)]
    pub close_timeout_ms: u64,
    /// Milliseconds a request head may take to arrive.
    #[arg(long, env = "HEADER_TIMEOUT_MS", default_value_t = defaults::HEADER_TIMEOUT_MS)]
    pub header_timeout_ms: u64,
    /// Milliseconds an idle keep-alive connection is kept.
    #[arg(long, env = "KEEP_ALIVE_TIMEOUT_MS", default_value_t = defaults::KEEP_ALIVE_TIMEOUT_MS)]
    pub keep_alive_timeout_ms: u64,
    /// Milliseconds a graceful stop may take before the process exits anyway.
    #[arg(long, env = "SHUTDOWN_TIMEOUT_MS", default_value_t = defaults::SHUTDOWN_TIMEOUT_MS)]
    pub shutdown_timeout_ms: u64,
    /// Threads that run connections: tokio's workers (default: one per core) and smol's
    /// executor threads (default: 1, as smol's own executor). runtime-mio always runs one.
    #[arg(long, env = "WORKER_THREADS")]
    pub worker_threads: Option<NonZeroUsize>,
    /// Largest WebSocket message in bytes (close 1009 above).
    #[arg(long, env = "MAX_MESSAGE_BYTES", default_value_t = defaults::MAX_MESSAGE_BYTES)]
    pub max_message_bytes: usize,
    /// Largest request body in bytes (413 above).
    #[arg(long, env = "MAX_BODY_BYTES", default_value_t = defaults::MAX_BODY_BYTES)]
    pub max_body_bytes: u64,
    /// Largest request header section in bytes (431 above).
    #[arg(long, env = "MAX_HEADER_BYTES", default_value_t = defaults::MAX_HEADER_BYTES)]
    pub max_header_bytes: usize,
    /// Most request header fields (431 above).
    #[arg(long, env = "MAX_HEADERS", default_value_t = defaults::MAX_HEADERS)]
    pub max_headers: usize,
    /// Unsent bytes per connection above which the server stops reading from it.
    #[arg(long, env = "HIGH_WATER_MARK_BYTES", default_value_t = defaults::HIGH_WATER_MARK_BYTES)]
    pub high_water_mark_bytes: usize,
    /// `true` mounts the conformance app (SPEC E8) on /socket.io/ and raw Engine.IO at
    /// /engine.io/.
    #[arg(long, env = "CONFORMANCE", default_value_t = defaults::CONFORMANCE, action = clap::ArgAction::Set)]
    pub conformance: bool,
    /// Milliseconds between Engine.IO pings.
    #[arg(long, env = "EIO_PING_INTERVAL_MS", default_value_t = defaults::EIO_PING_INTERVAL_MS)]
    pub eio_ping_interval_ms: u64,
    /// Milliseconds an Engine.IO client has to answer a ping.
    #[arg(long, env = "EIO_PING_TIMEOUT_MS", default_value_t = defaults::EIO_PING_TIMEOUT_MS)]
    pub eio_ping_timeout_ms: u64,
    /// Largest Engine.IO POST body or WebSocket message in bytes (413, or the session closed).
    #[arg(long, env = "EIO_MAX_PAYLOAD_BYTES", default_value_t = defaults::EIO_MAX_PAYLOAD_BYTES)]
    pub eio_max_payload_bytes: usize,
    /// Milliseconds a Socket.IO session has to join a namespace.
    #[arg(long, env = "SIO_CONNECT_TIMEOUT_MS", default_value_t = defaults::SIO_CONNECT_TIMEOUT_MS)]
    pub sio_connect_timeout_ms: u64,
    /// Milliseconds a dropped Socket.IO client can come back with its id, rooms and missed
    /// events; 0 turns connection state recovery off.
    #[arg(long, env = "SIO_RECOVERY_MS", default_value_t = defaults::SIO_RECOVERY_MS)]
    pub sio_recovery_ms: u64,
    /// Broadcast packets kept per namespace for recovering clients (oldest dropped first).
    #[arg(long, env = "SIO_RECOVERY_MAX_PACKETS", default_value_t = defaults::SIO_RECOVERY_MAX_PACKETS)]
    pub sio_recovery_max_packets: usize,
    /// Bytes of broadcast packets kept per namespace for recovering clients.
    #[arg(long, env = "SIO_RECOVERY_MAX_BYTES", default_value_t = defaults::SIO_RECOVERY_MAX_BYTES)]
    pub sio_recovery_max_bytes: usize,
    /// Secret that signs the chat's session cookies; missing is only a warning (a random key
    /// per start is used instead).
    #[arg(long, env = "COOKIE_SECRET", hide_env_values = true)]
    pub cookie_secret: Option<String>,
    /// `redis://host:port`: share rooms and broadcasts with other instances through Redis 7
    /// (sharded pub/sub, wire-compatible with @socket.io/redis-adapter 8). Unset: one instance.
    #[arg(long, env = "REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,
    /// Longest wait in milliseconds between attempts to reach a lost Redis (the wait doubles up
    /// to it).
    #[arg(long, env = "REDIS_RECONNECT_MAX_MS", default_value_t = crate::redis::config::DEFAULT_RECONNECT_MAX_MS)]
    pub redis_reconnect_max_ms: u64,
    /// The chat's database: `sqlite://path`, `sqlite::memory:` or `postgres://...`.
    #[arg(long, env = "DATABASE_URL", default_value = defaults::DATABASE_URL, hide_env_values = true)]
    pub database_url: String,
    /// Where uploaded images are kept (created if missing).
    #[arg(long, env = "UPLOAD_DIR", default_value = defaults::UPLOAD_DIR)]
    pub upload_dir: std::path::PathBuf,
    /// Largest uploaded image in bytes (413 above).
    #[arg(long, env = "UPLOAD_MAX_BYTES", default_value_t = defaults::UPLOAD_MAX_BYTES)]
    pub upload_max_bytes: u64,
    /// Longest chat line in characters (at most 1000).
    #[arg(long, env = "CHAT_MAX_CHARS", default_value_t = defaults::CHAT_MAX_CHARS)]
    pub chat_max_chars: usize,
    /// Chats and uploads per visitor: `<per second>` or `<per second>/<burst>`.
    #[arg(long, env = "CHAT_RATE", default_value = defaults::CHAT_RATE)]
    pub chat_rate: String,
    /// Milliseconds a chat room may stay empty before it is removed.
    #[arg(long, env = "ROOM_EMPTY_REMOVAL_MS", default_value_t = defaults::ROOM_EMPTY_REMOVAL_MS)]
    pub room_empty_removal_ms: u64,
    /// Lines of history a room page shows.
    #[arg(long, env = "CHAT_HISTORY_LIMIT", default_value_t = defaults::CHAT_HISTORY_LIMIT)]
    pub chat_history_limit: u32,
}

/// A setting that does not make sense.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error(transparent)]
    TrustProxy(#[from] TrustProxyError),
    #[error(transparent)]
    Origins(#[from] OriginPolicyError),
    #[error("{0} must be greater than zero")]
    Zero(&'static str),
    /// The OS random source failed (session ids and a missing cookie secret need it).
    #[error("the OS random source failed: {0}")]
    Random(String),
    #[error(transparent)]
    ChatRate(#[from] ChatRateError),
    #[error("CHAT_MAX_CHARS must be from 1 to {max}")]
    ChatMaxChars {
        /// The hard limit.
        max: usize,
    },
    #[error(transparent)]
    DatabaseUrl(#[from] DatabaseUrlError),
}

impl Settings {
    /// The process's settings: `.env` (if any) under the environment, under the command line.
    /// Bad arguments and `--help` end the process the way clap does (usage errors exit 2).
    pub fn load() -> Settings {
        load_dotenv();
        Settings::parse()
    }

    /// [`load`](Self::load) with the given arguments (the first is the program's name), and
    /// clap's error instead of an exit.
    pub fn try_load_from<I, T>(args: I) -> Result<Settings, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        load_dotenv();
        Settings::try_parse_from(args)
    }

    /// The address to bind.
    pub fn listen_addr(&self) -> SocketAddr {
        SocketAddr::new(self.host, self.port)
    }

    /// Whether the listening socket should also take IPv4 (an unspecified IPv6 host).
    pub fn dual_stack(&self) -> bool {
        self.host == IpAddr::V6(Ipv6Addr::UNSPECIFIED)
    }

    /// The Redis bridge's settings, when `REDIS_URL` is set (and not empty).
    pub fn redis(&self) -> Option<crate::redis::RedisConfig> {
        let url = self.redis_url.as_deref().filter(|url| !url.is_empty())?;
        let mut config = crate::redis::RedisConfig::new(url);
        config.reconnect_max = Duration::from_millis(self.redis_reconnect_max_ms);
        Some(config)
    }

    /// How long a graceful stop may take.
    pub fn shutdown_timeout(&self) -> Duration {
        Duration::from_millis(self.shutdown_timeout_ms)
    }

    /// Lines to print at start (S14: a missing `COOKIE_SECRET` warns, never crashes).
    pub fn warnings(&self) -> Vec<LogLine> {
        let mut warnings = Vec::new();
        if self.cookie_secret.as_deref().is_none_or(str::is_empty) {
            warnings.push(LogLine::missing_cookie_secret());
        }
        warnings
    }

    /// The chat's database.
    pub fn database_url(&self) -> Result<DatabaseUrl, SettingsError> {
        Ok(self.database_url.parse()?)
    }

    /// The core's configuration; `colored_log` when stdout is a terminal.
    pub fn to_config(&self, colored_log: bool) -> Result<Config, SettingsError> {
        for (name, value) in [
            ("TICK_INTERVAL_MS", self.tick_interval_ms),
            ("PING_INTERVAL_MS", self.ping_interval_ms),
            ("CLOSE_TIMEOUT_MS", self.close_timeout_ms),
            ("HEADER_TIMEOUT_MS", self.header_timeout_ms),
            ("KEEP_ALIVE_TIMEOUT_MS", self.keep_alive_timeout_ms),
            ("EIO_PING_INTERVAL_MS", self.eio_ping_interval_ms),
            ("EIO_PING_TIMEOUT_MS", self.eio_ping_timeout_ms),
            ("SIO_CONNECT_TIMEOUT_MS", self.sio_connect_timeout_ms),
        ] {
            if value == 0 {
                return Err(SettingsError::Zero(name));
            }
        }
        let mut config = Config::new();
        config.tick_interval = Duration::from_millis(self.tick_interval_ms);
        config.ping_interval = Duration::from_millis(self.ping_interval_ms);
        config.close_timeout = Duration::from_millis(self.close_timeout_ms);
        config.header_timeout = Duration::from_millis(self.header_timeout_ms);
        config.keep_alive_timeout = Duration::from_millis(self.keep_alive_timeout_ms);
        config.max_message_bytes = self.max_message_bytes;
        config.max_body_bytes = self.max_body_bytes;
        config.http_limits.max_header_bytes = self.max_header_bytes;
        config.http_limits.max_headers = self.max_headers;
        config.high_water_mark = self.high_water_mark_bytes;
        config.trust_proxy = self.trust_proxy.parse::<TrustProxy>()?;
        config.origins = self.allowed_origins.parse::<OriginPolicy>()?;
        config.app_env = if self.app_env.eq_ignore_ascii_case("production") {
            AppEnv::Production
        } else {
            AppEnv::Development
        };
        config.colored_log = colored_log;
        config.site = Site::demo_for(self.conformance);
        // Session ids keyed from the OS; without COOKIE_SECRET, cookies are signed with a key
        // drawn per start (S14), so no session outlives a restart but none can be forged.
        let mut ids_key = [0u8; 32];
        getrandom::fill(&mut ids_key).map_err(|e| SettingsError::Random(e.to_string()))?;
        config.session_ids = SessionIds::new(ids_key);
        config.cookie_secret = self.cookie_secret()?;
        config.upload_max_bytes = self.upload_max_bytes;
        let hub = &mut config.hub;
        hub.conformance = self.conformance;
        hub.engine.ping_interval = Duration::from_millis(self.eio_ping_interval_ms);
        hub.engine.ping_timeout = Duration::from_millis(self.eio_ping_timeout_ms);
        hub.engine.max_payload = self.eio_max_payload_bytes;
        // One bound for every session's unsent output, as for a connection's (E7, B5).
        hub.engine.high_water_mark = self.high_water_mark_bytes;
        hub.socketio.connect_timeout = Duration::from_millis(self.sio_connect_timeout_ms);
        hub.socketio.recovery = match self.sio_recovery_ms {
            0 => None,
            ms => hub.socketio.recovery.take().map(|mut recovery| {
                recovery.window = Duration::from_millis(ms);
                recovery.max_packets = self.sio_recovery_max_packets;
                recovery.max_bytes = self.sio_recovery_max_bytes;
                recovery
            }),
        };
        let chat = &mut config.hub.chat;
        chat.rate = self.chat_rate.parse()?;
        if self.chat_max_chars == 0 || self.chat_max_chars > ChatText::MAX_CHARS {
            return Err(SettingsError::ChatMaxChars {
                max: ChatText::MAX_CHARS,
            });
        }
        chat.max_chars = self.chat_max_chars;
        chat.empty_room_removal = Duration::from_millis(self.room_empty_removal_ms);
        chat.history_limit = self.chat_history_limit;
        chat.fleet = self.redis().is_some();
        Ok(config)
    }

    /// `COOKIE_SECRET`, or (S14: missing is a warning) 32 random bytes for this run: sessions
    /// then end with the process, which the warning says.
    fn cookie_secret(&self) -> Result<CookieSecret, SettingsError> {
        match self.cookie_secret.as_deref() {
            Some(secret) if !secret.is_empty() => Ok(CookieSecret::new(secret)),
            _ => {
                let mut random = [0u8; 32];
                getrandom::fill(&mut random).map_err(|e| SettingsError::Random(e.to_string()))?;
                Ok(CookieSecret::new(random.to_vec()))
            }
        }
    }
}

/// Loads `.env` from the working directory (or a parent) into the environment; variables
/// already set win. A missing or unreadable file is not an error: the file is optional.
fn load_dotenv() {
    dotenvy::dotenv().ok();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Settings {
        let args = std::iter::once("gif-chat").chain(args.iter().copied());
        Settings::try_parse_from(args).expect("valid arguments")
    }

    #[test]
    fn a_zero_interval_is_refused() {
        let settings = parse(&["--tick-interval-ms=0"]);
        let error = settings.to_config(false).expect_err("zero");
        assert_eq!(
            error.to_string(),
            "TICK_INTERVAL_MS must be greater than zero"
        );
    }

    #[test]
    fn the_chat_settings_reach_the_hub() {
        let config = parse(&[
            "--chat-rate=3/4",
            "--chat-max-chars=20",
            "--room-empty-removal-ms=50",
            "--chat-history-limit=7",
        ])
        .to_config(false)
        .expect("valid");
        let chat = &config.hub.chat;
        assert_eq!((chat.rate.per_second, chat.rate.burst), (3, 4));
        assert_eq!(chat.max_chars, 20);
        assert_eq!(chat.empty_room_removal, Duration::from_millis(50));
        assert_eq!(chat.history_limit, 7);
        for bad in [
            "--chat-rate=0",
            "--chat-max-chars=1001",
            "--chat-max-chars=0",
        ] {
            assert!(parse(&[bad]).to_config(false).is_err(), "{bad}");
        }
        assert!(parse(&["--database-url=mysql://x"]).database_url().is_err());
        assert!(parse(&[]).database_url().is_ok(), "the default parses");
    }

    #[test]
    fn worker_threads_are_left_to_the_runtime_unless_set_and_never_zero() {
        assert_eq!(parse(&[]).worker_threads, None);
        assert_eq!(
            parse(&["--worker-threads=3"]).worker_threads,
            NonZeroUsize::new(3)
        );
        for bad in ["--worker-threads=0", "--worker-threads=many"] {
            let args = ["gif-chat", bad];
            assert!(Settings::try_parse_from(args).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_empty_cookie_secret_warns() {
        assert_eq!(
            parse(&["--cookie-secret="]).warnings(),
            vec![LogLine::missing_cookie_secret()]
        );
        assert!(parse(&["--cookie-secret=s3cret"]).warnings().is_empty());
    }

    #[test]
    fn cookies_are_signed_with_the_secret_or_a_key_drawn_per_start() {
        use gif_chat_core::chat::signed_value;
        let signed = |args: &[&str]| {
            let config = parse(args).to_config(false).expect("valid settings");
            let id = config.session_ids.next_id();
            (signed_value(&id, &config.cookie_secret), id)
        };
        let (value, id) = signed(&["--cookie-secret=gifchat"]);
        assert_eq!(value, signed_value(&id, &CookieSecret::new("gifchat")));
        let (value, id) = signed(&["--cookie-secret="]);
        assert_ne!(value, signed_value(&id, &CookieSecret::new("")));
        assert_ne!(signed(&[]).1, signed(&[]).1, "session ids keyed per start");
    }
}
