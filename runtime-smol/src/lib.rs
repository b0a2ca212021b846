//! gif-chat on smol: the sans-IO core ([`gif_chat_core`]) driven by async-io's reactor and a
//! multi-threaded `smol::Executor`.
//!
//! The runtime only moves bytes, arms timers at the core's deadlines, prints the core's log
//! lines and handles signals; every protocol decision and every log text is the core's, so this
//! server behaves and logs exactly like the tokio and mio ones.
//!
//! - `server`: the executor threads, the accept loop and the graceful stop ([`Server`]);
//! - `conn`: the task that drives one connection;
//! - [`logger`]: the shared log buffer and its flusher thread;
//! - [`listener`]: the listening socket.

#![forbid(unsafe_code)]

mod conn;
pub mod listener;
pub mod logger;
mod server;

use std::io::{self, IsTerminal};
use std::process::ExitCode;
use std::sync::Arc;

use async_signal::{Signal, Signals};
use gif_chat_core::settings::SettingsError;
use gif_chat_core::{log, Settings};

use crate::logger::{print_now, Log};
pub use crate::server::{stop_requests, Server};

/// Why the server could not start. Each prints as the underlying error, so the fatal line is the
/// same in every runtime.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A setting does not make sense.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// The address could not be bound (in use, not ours, ...).
    #[error(transparent)]
    Bind(io::Error),
    /// SIGINT/SIGTERM could not be hooked.
    #[error(transparent)]
    Signals(io::Error),
}

impl StartError {
    /// The exit code: 2 for a usage error, as clap exits, 1 for a failure of the environment.
    pub fn exit_code(&self) -> u8 {
        match self {
            StartError::Settings(_) => 2,
            StartError::Bind(_) | StartError::Signals(_) => 1,
        }
    }
}

/// Starts the server with `settings` and serves until stopped by SIGINT/SIGTERM (the whole of
/// `main` after the settings are parsed): the process's exit code.
pub fn run(settings: Settings) -> ExitCode {
    match start(&settings) {
        Ok((server, signals)) => server.serve(stop_requests(signals)),
        Err(error) => {
            print_now(&log::fatal(&error));
            ExitCode::from(error.exit_code())
        }
    }
}

/// The start-up steps in the contract's order: check the settings, print the warnings, bind,
/// hook the stop signals, print the listening line.
fn start(settings: &Settings) -> Result<(Server, Signals), StartError> {
    let colored = io::stdout().is_terminal();
    let config = Arc::new(settings.to_config(colored)?);
    for warning in settings.warnings() {
        print_now(&log::warning(warning));
    }
    let server = listener::bind(settings.listen_addr(), settings.dual_stack())
        .and_then(|listener| {
            Server::new(
                listener,
                config,
                Log::new(colored),
                settings.shutdown_timeout(),
            )
        })
        .map_err(StartError::Bind)?;
    let port = server.local_addr().map_err(StartError::Bind)?.port();
    // Hooked before the listening line: whoever reads that line may signal us at once.
    let signals = Signals::new([Signal::Int, Signal::Term]).map_err(StartError::Signals)?;
    // Straight to stdout: the tests read this line to learn the port.
    print_now(&log::listening(port));
    Ok((server, signals))
}
