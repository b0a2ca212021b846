//! gif-chat on tokio: a thin adapter that moves bytes between sockets and the sans-IO core.
//!
//! Every protocol decision, every log text and every deadline comes from `gif_chat_core`; the
//! I/O every runtime shares (settings, the listening socket, the read and write loops, the log
//! writer, the start sequence, the stop broadcast) is `gif_chat_io`'s. What is left here is how
//! tokio waits: a multi-threaded runtime with one worker per core (`WORKER_THREADS`), one task
//! per connection waiting in one `poll_fn` over everything that can move it ([`connection`]),
//! and the accept loop, the signals and the graceful stop ([`server`]).

// The two `unsafe` blocks register a socket with tokio: a connection's
// (`connection::register`), whose safety contract the socket's owner, `SocketCell`, upholds,
// and the listener (`server::register_listener`), which the registration owns.
#![deny(unsafe_code)]

pub mod connection;
pub mod server;

use std::process::ExitCode;
use std::time::Duration;

use gif_chat_io::{Bound, Log, Sinks, StartError};

use crate::server::StopSignals;

/// How long the runtime may take to drop tasks still running after the shutdown timeout.
const RUNTIME_TEARDOWN: Duration = Duration::from_millis(100);

/// Serves `bound` until a stop signal (the runtime's part of the start sequence): the process's
/// exit status after a graceful stop.
pub fn serve(bound: Bound) -> Result<ExitCode, StartError> {
    let Bound {
        listener,
        addr,
        config,
        shutdown_timeout,
        worker_threads,
        chat,
        redis,
    } = bound;
    // Always set: left to tokio, a malformed `TOKIO_WORKER_THREADS` would panic at start.
    let workers = worker_threads.map_or_else(
        || std::thread::available_parallelism().map_or(1, usize::from),
        usize::from,
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()?;
    let log = Log::new(config.colored_log, Sinks::stdio());
    let served = runtime.block_on(async {
        // Hooked before the start line: whoever reads it may signal at once.
        let signals = StopSignals::register()?;
        gif_chat_io::start::announce(addr);
        let _writer = log.spawn_writer()?;
        let stop = signals.watch(log.clone());
        server::serve_chat_until(
            listener,
            config,
            Some(chat),
            redis,
            log.clone(),
            shutdown_timeout,
            stop,
        )
        .await?;
        Ok::<(), StartError>(())
    });
    log.close();
    // Connections still open after the shutdown timeout are simply dropped with their tasks.
    runtime.shutdown_timeout(RUNTIME_TEARDOWN);
    served?;
    Ok(ExitCode::SUCCESS)
}
