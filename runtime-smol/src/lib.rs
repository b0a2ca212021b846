//! gif-chat on smol: the sans-IO core ([`gif_chat_core`]) driven by async-io's reactor and a
//! `smol::Executor` (one thread unless `WORKER_THREADS` says more).
//!
//! Every protocol decision and every log text is the core's, and the I/O every runtime shares
//! (settings, the listening socket, the read and write loops, the log writer, the start
//! sequence, the stop broadcast) is `gif_chat_io`'s, so this server behaves and logs exactly like
//! the tokio and mio ones. What is left here is how smol waits:
//!
//! - `server`: the executor threads, the accept loop and the graceful stop ([`Server`]);
//! - `connection`: the task that drives one connection.

// The one `unsafe` block (`connection::run`) lends async-io's registered socket mutably, to
// share it with the hub without leaving the reactor; async-io asks only that it is not dropped.
#![deny(unsafe_code)]

mod connection;
mod server;

use std::process::ExitCode;

use async_signal::{Signal, Signals};
use gif_chat_io::{Bound, Log, Sinks, StartError};

pub use crate::server::{stop_requests, Server};

/// Serves `bound` until SIGINT/SIGTERM (the runtime's part of the start sequence): the
/// process's exit status after a graceful stop.
pub fn serve(bound: Bound) -> Result<ExitCode, StartError> {
    let log = Log::new(bound.config.colored_log, Sinks::stdio());
    let mut server = Server::new(bound.listener, bound.config, log, bound.shutdown_timeout)?;
    if let Some(threads) = bound.worker_threads {
        server = server.worker_threads(threads);
    }
    server.attach_chat(bound.chat);
    if let Some(redis) = bound.redis {
        server.attach_redis(redis)?;
    }
    // Hooked before the start line: whoever reads it may signal at once.
    let signals = Signals::new([Signal::Int, Signal::Term])?;
    gif_chat_io::start::announce(bound.addr);
    server.serve(stop_requests(signals))
}
