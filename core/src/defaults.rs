//! The value of every setting nobody set, written once.
//!
//! The core's [`Config::new`](crate::Config::new) is built from these, and the settings reader in
//! `gif-chat-io` shows and applies the same constants, so a default cannot differ between the
//! two. `core/BEHAVIOUR.md` lists them for users.

use std::net::{IpAddr, Ipv6Addr};

/// `PORT`: the seed's port.
pub const PORT: u16 = 8005;
/// `HOST`: every address, IPv4 and IPv6 alike.
pub const HOST: IpAddr = IpAddr::V6(Ipv6Addr::UNSPECIFIED);
/// `APP_ENV`: Express's default.
pub const APP_ENV: &str = "development";
/// `TRUST_PROXY`: a proxy on this machine may set `X-Forwarded-For`.
pub const TRUST_PROXY: &str = "loopback";
/// `ALLOWED_ORIGINS`: same host only.
pub const ALLOWED_ORIGINS: &str = "";
/// `TICK_INTERVAL_MS`: the seed's three seconds.
pub const TICK_INTERVAL_MS: u64 = 3_000;
/// `PING_INTERVAL_MS`.
pub const PING_INTERVAL_MS: u64 = 30_000;
/// `CLOSE_TIMEOUT_MS`.
pub const CLOSE_TIMEOUT_MS: u64 = 5_000;
/// `HEADER_TIMEOUT_MS`.
pub const HEADER_TIMEOUT_MS: u64 = 10_000;
/// `KEEP_ALIVE_TIMEOUT_MS`: Node's default.
pub const KEEP_ALIVE_TIMEOUT_MS: u64 = 5_000;
/// `SHUTDOWN_TIMEOUT_MS`.
pub const SHUTDOWN_TIMEOUT_MS: u64 = 5_000;
/// `MAX_MESSAGE_BYTES`: 16 MiB.
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;
/// `MAX_BODY_BYTES`: body-parser's 100 KiB.
pub const MAX_BODY_BYTES: u64 = 100 * 1024;
/// `MAX_HEADER_BYTES`: Node's 16 KiB.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// `MAX_HEADERS`.
pub const MAX_HEADERS: usize = 100;
/// `HIGH_WATER_MARK_BYTES`: 1 MiB.
pub const HIGH_WATER_MARK_BYTES: usize = 1024 * 1024;
/// `CONFORMANCE`: the conformance app (SPEC E8) and `/engine.io/` are off.
pub const CONFORMANCE: bool = false;
/// `EIO_PING_INTERVAL_MS`: engine.io's 25 s between the server's pings (E2).
pub const EIO_PING_INTERVAL_MS: u64 = 25_000;
/// `EIO_PING_TIMEOUT_MS`: engine.io's 20 s for the pong.
pub const EIO_PING_TIMEOUT_MS: u64 = 20_000;
/// `EIO_MAX_PAYLOAD_BYTES`: engine.io's `maxHttpBufferSize`, 1 MB.
pub const EIO_MAX_PAYLOAD_BYTES: usize = 1_000_000;
/// `SIO_CONNECT_TIMEOUT_MS`: socket.io's 45 s for a session's first CONNECT.
pub const SIO_CONNECT_TIMEOUT_MS: u64 = 45_000;
/// `SIO_RECOVERY_MS`: socket.io's `maxDisconnectionDuration`, 2 minutes; 0 turns recovery off.
pub const SIO_RECOVERY_MS: u64 = 120_000;
/// `SIO_RECOVERY_MAX_PACKETS`: broadcast packets kept per namespace for recovery (E6, E7).
pub const SIO_RECOVERY_MAX_PACKETS: usize = 10_000;
/// `SIO_RECOVERY_MAX_BYTES`: bytes of those packets kept per namespace, 16 MiB.
pub const SIO_RECOVERY_MAX_BYTES: usize = 16 * 1024 * 1024;
/// `DATABASE_URL`: an SQLite file in the working directory (C8).
pub const DATABASE_URL: &str = "sqlite://gif-chat.db";
/// `UPLOAD_DIR`: where uploaded images are kept (C7).
pub const UPLOAD_DIR: &str = "uploads";
/// `UPLOAD_MAX_BYTES`: the largest upload, 5 MiB (C7: 413 beyond).
pub const UPLOAD_MAX_BYTES: u64 = 5 * 1024 * 1024;
/// How long a chat request waits for the hub or the I/O layer before a 503 (no setting).
pub const CHAT_ANSWER_TIMEOUT_MS: u64 = 30_000;
/// `CHAT_MAX_CHARS`: the longest chat line (C6).
pub const CHAT_MAX_CHARS: usize = 1000;
/// `CHAT_RATE`'s lines per second, per visitor (chats and uploads together).
pub const CHAT_RATE_PER_SECOND: u32 = 5;
/// `CHAT_RATE`'s burst: lines a visitor may post at once.
pub const CHAT_RATE_BURST: u32 = 10;
/// `CHAT_RATE` as written: `<per second>/<burst>`.
pub const CHAT_RATE: &str = "5/10";
/// `ROOM_EMPTY_REMOVAL_MS`: the book's 2 s before an empty room is removed (C5).
pub const ROOM_EMPTY_REMOVAL_MS: u64 = 2_000;
/// `CHAT_HISTORY_LIMIT`: lines of history on a room page.
pub const CHAT_HISTORY_LIMIT: u32 = 200;
