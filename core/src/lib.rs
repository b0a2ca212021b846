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

pub mod accept;
pub mod config;
pub mod connection;
pub mod engineio;
pub mod event;
pub mod http;
pub mod lifecycle;
pub mod log;
pub mod origin;
pub mod proxy;
pub mod settings;
pub mod site;
pub mod socketio;
pub mod tick;
pub mod ws;

pub use accept::AcceptThrottle;
pub use config::{AppEnv, Config};
pub use connection::Connection;
pub use event::Event;
pub use lifecycle::Lifecycle;
pub use settings::Settings;
pub use site::Site;
