//! gif-chat's protocol core: everything a user of the server can observe, as a pure state machine.
//!
//! The core never touches a socket, a clock, a thread or a file. A runtime feeds a
//! [`Connection`] the bytes it read, tells it when input ended and what time it is, and in
//! return polls bytes to write ([`Connection::poll_transmit`]), the next deadline
//! ([`Connection::poll_timeout`]) and events to log ([`Connection::poll_event`]). Because time is
//! an argument, a test can drive a whole conversation, three-second ticks included, in memory and
//! in microseconds.
//!
//! The shape follows quinn-proto and str0m: every input is a `handle_*` method, every output is
//! polled.
//!
//! # Surface
//!
//! What a runtime needs is re-exported here, at the root; the modules behind it are private, so
//! the parsers and codecs can change shape without breaking a runtime. Two cargo features open
//! more, for the project's own tests and fuzz targets only:
//! - `internals`: the HTTP request parser, router and handshake, and the WebSocket frame decoder
//!   and encoder, under `gif_chat_core::internals`;
//! - `testing` (implies `internals`): `gif_chat_core::testing`, the in-memory driver with a virtual clock and
//!   invariant checks that the conversation tests, the proptests and the fuzz targets share, and
//!   the one client-frame encoder.

mod accept;
mod app_env;
pub mod chat;
pub mod cluster;
mod config;
mod connection;
pub mod defaults;
pub mod engineio;
mod event;
mod http;
mod hub;
mod lifecycle;
mod log;
mod origin;
mod proxy;
mod site;
pub mod socketio;
mod tick;
pub mod upload;
mod ws;

#[cfg(feature = "internals")]
pub mod internals;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use accept::{AcceptThrottle, AcceptVerdict};
pub use app_env::AppEnv;
pub use config::Config;
pub use connection::{Connection, HubSession};
pub use event::{AccessLog, ConnectionError, Event};
pub use http::{Endpoint, HttpError, HttpLimits};
pub use hub::{Hub, HubCall, HubConfig, Mount};
pub use lifecycle::Lifecycle;
pub use log::{CannotListen, LogLine, Stream};
pub use origin::{OriginPolicy, OriginPolicyError};
pub use proxy::{TrustProxy, TrustProxyError};
pub use site::{Asset, Site};
pub use tick::TICK_MESSAGE;
pub use ws::ProtocolError;
