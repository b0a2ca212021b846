//! gif-chat's I/O that does not depend on how a runtime waits: it sits beside the sans-IO core
//! (`gif_chat_core`) as quinn-udp sits beside quinn-proto.
//!
//! The core decides everything a user can observe, as a pure state machine. Three runtimes
//! (tokio, smol, mio) drive it, and each used to repeat the same I/O around it: the listening
//! socket, the read and write loops with their error rules, the log writer thread, the settings,
//! the start sequence and its exit codes, the stop broadcast. That code is here, once, so the
//! runtimes cannot drift apart and each keeps only what is truly its own: **how it waits**
//! (tokio's `select!`, the smol executor, mio's turn and timer heap).
//!
//! What belongs here: I/O and process plumbing that any runtime can call from any thread without
//! an executor, written as plain functions over closures (one read, one write) or as atomics
//! plus an `event_listener` wake that every executor can await. Later: the store on its own
//! thread, upload files, a Redis bridge.
//!
//! What does not: protocol decisions and the text of any line (the core's), and waiting on
//! sockets or timers (the runtimes').
//!
//! - [`settings`]: the command line and environment (clap, dotenvy), turned into the core's
//!   `Config`;
//! - [`listener`]: the dual-stack listening socket;
//! - [`transfer`]: the read, write and shutdown loops between a socket and a `Connection`;
//! - [`log_writer`]: the log buffer, its writer thread and its backpressure, and
//!   [`memory_sink`]: a sink that keeps the lines in memory (tests, embedding);
//! - [`start`]: the start sequence and the exit codes;
//! - [`malloc`]: one malloc arena per process, for the multi-threaded runtimes' memory;
//! - [`fanout`]: broadcast frames written straight to idle recipients' sockets;
//! - [`hub`]: the one Socket.IO hub of a process, shared by its connections, with the
//!   registry that wakes the connection holding a session, and the chat's I/O beside it
//!   ([`ChatIo`]: the store, uploads and image reads, their results routed back to the
//!   connection that waits);
//! - [`parking`]: the lot where idle Socket.IO WebSockets wait without a task (tokio, smol);
//! - [`stop`]: the stop broadcast, the open-connection count and the forced exit;
//! - [`redis`]: the Redis bridge (`REDIS_URL`), on its own thread, that carries the cluster's
//!   subscriptions, publishes and messages;
//! - [`upload`]: uploaded images, written to a temporary file as they arrive and renamed into
//!   `UPLOAD_DIR` when complete.

// The one `unsafe` is `malloc::use_one_arena`'s call into glibc; everything else is safe code.
#![deny(unsafe_code)]

pub mod fanout;
pub mod hub;
pub mod listener;
pub mod log_writer;
pub mod malloc;
pub mod memory_sink;
pub mod parking;
pub mod redis;
pub mod settings;
pub mod start;
pub mod stop;
pub mod store;
pub mod transfer;
pub mod upload;

pub use event_listener::EventListener;
pub use fanout::{DirectSocket, SocketCell};
pub use hub::{ChatIo, ChatIoError, HubLink, HubWait, SeedError, SharedHub};
pub use listener::BindError;
pub use log_writer::{print_now, Log, LogBuffer, Sinks};
pub use memory_sink::MemorySink;
pub use parking::{Parked, ParkingLot};
pub use settings::{Settings, SettingsError};
pub use start::{Bound, StartError};
pub use stop::{OpenConnections, OpenGuard, StopFlag};
pub use transfer::{Interest, ReadEnd, ReadOutcome, WriteOutcome};
