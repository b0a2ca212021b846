//! gif-chat on tokio: a thin adapter that moves bytes between sockets and the sans-IO core.
//!
//! Every protocol decision, every log text and every deadline comes from `gif_chat_core`; this
//! crate only owns the sockets, the timers, the signals and the log output. It runs a
//! multi-threaded tokio runtime with one worker per core and one task per connection
//! ([`connection`]), accepts on a socket2-built dual-stack listener ([`listener`]), stops on
//! SIGINT/SIGTERM ([`server`]) and prints through one shared buffer ([`logger`]).

#![forbid(unsafe_code)]

pub mod connection;
pub mod listener;
pub mod logger;
pub mod server;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;

use gif_chat_core::log::{self, LogLine};
use gif_chat_core::Settings;

use crate::logger::{Logger, Sinks};
use crate::server::StopSignals;

/// Exit status for settings that make no sense.
const EXIT_BAD_SETTINGS: u8 = 2;
/// Exit status when the server cannot start (port in use, no runtime).
const EXIT_CANNOT_START: u8 = 1;
/// How long the runtime may take to drop tasks still running after the shutdown timeout.
const RUNTIME_TEARDOWN: std::time::Duration = std::time::Duration::from_millis(100);

/// Runs the server with `settings` until a stop signal; the process's exit status.
pub fn run(settings: Settings) -> ExitCode {
    let config = match settings.to_config(std::io::stdout().is_terminal()) {
        Ok(config) => Arc::new(config),
        Err(e) => {
            print_now(&log::fatal(&e));
            return ExitCode::from(EXIT_BAD_SETTINGS);
        }
    };
    for warning in settings.warnings() {
        print_now(&log::warning(warning));
    }
    let listener = match listener::bind(settings.listen_addr(), settings.dual_stack()) {
        Ok(listener) => listener,
        Err(e) => {
            print_now(&log::fatal(&e));
            return ExitCode::from(EXIT_CANNOT_START);
        }
    };
    let workers = std::thread::available_parallelism().map_or(1, usize::from);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            print_now(&log::fatal(&e));
            return ExitCode::from(EXIT_CANNOT_START);
        }
    };

    let logger = Logger::new(config.colored_log, Sinks::stdio());
    let started = runtime.block_on(async {
        let signals = StopSignals::register()?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let port = listener.local_addr()?.port();
        logger.push_line(&log::listening(port));
        logger.flush();
        let _flusher = logger.spawn_flusher()?;
        let stop = signals.watch(logger.clone());
        server::serve_until(
            listener,
            config,
            logger.clone(),
            settings.shutdown_timeout(),
            stop,
        )
        .await;
        Ok::<(), std::io::Error>(())
    });
    // Connections still open after the shutdown timeout are simply dropped with their tasks.
    runtime.shutdown_timeout(RUNTIME_TEARDOWN);
    match started {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            print_now(&log::fatal(&e));
            ExitCode::from(EXIT_CANNOT_START)
        }
    }
}

/// Prints a start-up line directly, before (or without) the shared log.
fn print_now(line: &LogLine) {
    let text = format!("{}\n", line.text);
    // Nothing sensible is left to do if the terminal is gone.
    let _ = match line.stream {
        log::Stream::Stdout => std::io::stdout().lock().write_all(text.as_bytes()),
        log::Stream::Stderr => std::io::stderr().lock().write_all(text.as_bytes()),
    };
}
