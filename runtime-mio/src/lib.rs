//! gif-chat on a bare mio event loop: one thread, no async runtime.
//!
//! This is the smallest of the three runtimes and the one closest to the machine: readiness
//! events from one `mio::Poll`, connections in a [`slab::Slab`] keyed by their token, deadlines
//! in one heap, and a single 64 KiB read buffer for everyone. All protocol decisions, and every
//! log line, come from [`gif_chat_core`]; the I/O every runtime shares (settings, the listening
//! socket, the read and write loops, the start sequence) is `gif_chat_io`'s. This crate keeps
//! only how mio waits: the turn and the timer heap. It exists to show what the sans-IO core
//! costs without any runtime in between, and how little memory an idle connection needs when
//! nothing but the core's state is kept for it.
//!
//! [`serve`] is the runtime's part of the start sequence; [`Server`] is the loop itself.

#![forbid(unsafe_code)]

mod connection;
mod server;
mod timer;

use std::process::ExitCode;

use gif_chat_io::{Bound, StartError};

pub use server::Server;

/// Serves `bound` until SIGINT/SIGTERM and the graceful stop after it (the runtime's part of
/// the start sequence): the process's exit status.
pub fn serve(bound: Bound) -> Result<ExitCode, StartError> {
    let mut server = Server::new(bound.listener, bound.config, bound.shutdown_timeout)?;
    server.attach_chat(bound.chat)?;
    if let Some(redis) = bound.redis {
        server.attach_redis(redis)?;
    }
    // Tests read this line to learn the port: it must be out before the first connection.
    gif_chat_io::start::announce(server.local_addr());
    Ok(server.serve())
}
