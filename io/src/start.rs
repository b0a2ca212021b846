//! How every runtime starts, and the one table of exit codes.
//!
//! The start sequence is part of the contract the behaviour suite checks on all three runtimes:
//! settings → configuration (a bad setting exits 2) → warnings → the chat's store and upload
//! directory (a database that cannot be opened exits 3) → the listening socket (a taken
//! port exits 1) → the runtime's own machinery (threads, reactor, signal handlers) → the start
//! line with the real port, then serving. [`run`] does the common steps and hands the runtime a
//! [`Bound`] server; the runtime does its part, calls [`announce`] once it can take a
//! stop signal (whoever reads the start line may signal at once) and serves. Whatever fails is
//! a [`StartError`], printed as one line and mapped to its exit code here, so the three
//! runtimes cannot drift apart.

use std::io::{self, IsTerminal};
use std::net::{SocketAddr, TcpListener};
use std::num::NonZeroUsize;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use gif_chat_core::cluster::Uid;
use gif_chat_core::{Config, LogLine};

use crate::hub::{ChatIo, ChatIoError};
use crate::listener::{self, BindError};
use crate::log_writer::print_now;
use crate::redis::RedisConfig;
use crate::settings::{Settings, SettingsError};

/// Exit status when the server cannot start or cannot go on (port in use, no threads, no
/// reactor).
pub const EXIT_CANNOT_START: u8 = 1;
/// Exit status for settings that make no sense (as clap exits on bad arguments).
pub const EXIT_BAD_SETTINGS: u8 = 2;
/// Exit status when the chat's database or upload directory cannot be opened (SPEC C8): its
/// own code, so that an operator's script tells it from a taken port.
pub const EXIT_NO_STORE: u8 = 3;
/// Exit status after a second stop request (128 + SIGINT, as a shell reports an interrupt).
pub const EXIT_FORCED: u8 = 130;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A setting does not make sense.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// The listening socket could not be made.
    #[error(transparent)]
    Listen(#[from] BindError),
    /// The chat's store or upload directory could not be opened.
    #[error(transparent)]
    Chat(#[from] ChatIoError),
    /// The runtime's own machinery (threads, reactor, signal handlers) could not be set up.
    #[error(transparent)]
    Runtime(#[from] io::Error),
    /// `REDIS_URL` is not a Redis URL, or the bridge's thread could not start.
    #[error(transparent)]
    Redis(#[from] crate::redis::StartError),
}

impl StartError {
    /// The process's exit status.
    pub fn exit_code(&self) -> u8 {
        match self {
            StartError::Settings(_) => EXIT_BAD_SETTINGS,
            StartError::Listen(_) | StartError::Runtime(_) => EXIT_CANNOT_START,
            StartError::Chat(_) => EXIT_NO_STORE,
            StartError::Redis(crate::redis::StartError::Url(_)) => EXIT_BAD_SETTINGS,
            StartError::Redis(crate::redis::StartError::Thread(_)) => EXIT_CANNOT_START,
        }
    }

    /// The line printed for it.
    pub fn log_line(&self) -> LogLine {
        LogLine::fatal(self)
    }
}

/// The common start steps done: what a runtime needs to serve.
#[derive(Debug)]
pub struct Bound {
    /// Bound, listening and non-blocking.
    pub listener: TcpListener,
    /// The address actually bound (the real port when port 0 was asked for).
    pub addr: SocketAddr,
    pub config: Arc<Config>,
    /// How long a graceful stop may take.
    pub shutdown_timeout: Duration,
    /// `WORKER_THREADS`: how many threads run connections, when set (each runtime has its own
    /// default).
    pub worker_threads: Option<NonZeroUsize>,
    /// The chat's store and upload directory, for
    /// [`SharedHub::attach_chat`](crate::SharedHub::attach_chat).
    pub chat: ChatIo,
    /// With `REDIS_URL`: the Redis bridge's settings, for
    /// [`SharedHub::attach_redis`](crate::SharedHub::attach_redis) (the hub's configuration
    /// then carries this instance's cluster id).
    pub redis: Option<RedisConfig>,
}

/// Prints the start line with the real port of `addr`, straight to stdout: tests and scripts
/// read it to learn the port, so it must be out before the first connection is served.
pub fn announce(addr: SocketAddr) {
    print_now(&LogLine::listening(addr.port()));
}

/// Settings → configuration → warnings → the listening socket.
pub fn bind(settings: &Settings) -> Result<Bound, StartError> {
    let mut config = settings.to_config(io::stdout().is_terminal())?;
    let redis = settings.redis();
    if let Some(redis) = &redis {
        crate::redis::check_url(&redis.url)?;
        // As the Node adapter draws its uid: 8 random bytes.
        let mut uid = [0u8; 8];
        getrandom::fill(&mut uid).map_err(|e| io::Error::other(e.to_string()))?;
        config.hub.cluster = Some(Uid::from_random(uid));
    }
    for warning in settings.warnings() {
        print_now(&warning);
    }
    let chat = ChatIo::open(
        &settings.database_url()?,
        &settings.upload_dir,
        settings.upload_max_bytes,
    )?;
    let listener = listener::bind(settings.listen_addr(), settings.dual_stack())?;
    let addr = listener.local_addr().map_err(|source| BindError {
        addr: settings.listen_addr(),
        source,
    })?;
    Ok(Bound {
        listener,
        addr,
        config: Arc::new(config),
        shutdown_timeout: settings.shutdown_timeout(),
        worker_threads: settings.worker_threads,
        chat,
        redis,
    })
}

/// Starts with `settings` and hands the bound server to `serve` (the runtime's part: set up,
/// [`announce`], serve until stopped, return the exit status). A failure on the way is
/// printed and becomes its exit status.
pub fn run(
    settings: &Settings,
    serve: impl FnOnce(Bound) -> Result<ExitCode, StartError>,
) -> ExitCode {
    match bind(settings).and_then(serve) {
        Ok(code) => code,
        Err(error) => {
            print_now(&error.log_line());
            ExitCode::from(error.exit_code())
        }
    }
}

/// The whole of a runtime's `main`: [`Settings::load`], then [`run`].
pub fn main(serve: impl FnOnce(Bound) -> Result<ExitCode, StartError>) -> ExitCode {
    crate::malloc::use_one_arena();
    run(&Settings::load(), serve)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    use clap::Parser as _;

    #[test]
    fn each_error_has_its_code_and_one_line() {
        let taken = listener::bind((Ipv4Addr::LOCALHOST, 0).into(), false).expect("bind");
        let addr = taken.local_addr().expect("local addr");
        let settings = Settings::try_parse_from([
            "gif-chat".to_owned(),
            format!("--host={}", addr.ip()),
            format!("--port={}", addr.port()),
            "--cookie-secret=s".to_owned(),
            "--database-url=sqlite::memory:".to_owned(),
            format!(
                "--upload-dir={}",
                std::env::temp_dir().join("gif-chat-start-test").display()
            ),
        ])
        .expect("valid arguments");
        let error = bind(&settings).expect_err("the port is taken");
        assert_eq!(error.exit_code(), EXIT_CANNOT_START);
        let line = error.log_line();
        assert!(
            line.text
                .starts_with(&format!("Error: cannot listen on {addr}: ")),
            "{line:?}"
        );

        let zero = Settings::try_parse_from(["gif-chat", "--ping-interval-ms=0"]).expect("valid");
        let error = bind(&zero).expect_err("zero is refused");
        assert_eq!(error.exit_code(), EXIT_BAD_SETTINGS);
        assert_eq!(
            error.log_line().text,
            "Error: PING_INTERVAL_MS must be greater than zero"
        );

        let error = StartError::from(io::Error::from(io::ErrorKind::OutOfMemory));
        assert_eq!(error.exit_code(), EXIT_CANNOT_START);
    }

    #[test]
    fn a_store_that_cannot_open_has_its_own_code() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = format!(
            "--database-url=sqlite://{}/missing/dir/db",
            dir.path().display()
        );
        let uploads = format!("--upload-dir={}", dir.path().join("uploads").display());
        let settings =
            Settings::try_parse_from(["gif-chat", "--port=0", url.as_str(), uploads.as_str()])
                .expect("valid arguments");
        let error = bind(&settings).expect_err("no such directory");
        assert_eq!(error.exit_code(), EXIT_NO_STORE);
        let line = error.log_line().text;
        assert!(
            line.starts_with("Error: cannot open the chat's database sqlite://"),
            "{line}"
        );

        let bad =
            Settings::try_parse_from(["gif-chat", "--database-url=mysql://x"]).expect("valid");
        assert_eq!(
            bind(&bad).expect_err("unknown scheme").exit_code(),
            EXIT_BAD_SETTINGS
        );
    }

    #[test]
    fn redis_url_gives_the_hub_a_cluster_id_and_a_bad_one_is_a_bad_setting() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let uploads = format!("--upload-dir={}", dir.path().join("uploads").display());
        let with = |redis: &str| {
            Settings::try_parse_from([
                "gif-chat",
                "--host=127.0.0.1",
                "--port=0",
                "--database-url=sqlite::memory:",
                uploads.as_str(),
                redis,
            ])
            .expect("valid arguments")
        };
        let bad = bind(&with("--redis-url=http://nowhere")).expect_err("not a Redis URL");
        assert_eq!(bad.exit_code(), EXIT_BAD_SETTINGS);
        // Nothing listens there: the bridge is not started by `bind`, and would keep trying.
        let bound = bind(&with("--redis-url=redis://127.0.0.1:1/")).expect("bound");
        assert!(bound.redis.is_some());
        assert!(bound.config.hub.cluster.is_some());
        let alone = bind(&with("--redis-url=")).expect("bound");
        assert!(alone.redis.is_none() && alone.config.hub.cluster.is_none());
    }

    #[test]
    fn a_bound_server_reports_the_real_port() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let uploads = format!("--upload-dir={}", dir.path().join("uploads").display());
        let settings = Settings::try_parse_from([
            "gif-chat",
            "--host=127.0.0.1",
            "--port=0",
            "--database-url=sqlite::memory:",
            uploads.as_str(),
        ])
        .expect("valid arguments");
        let bound = bind(&settings).expect("a free port");
        assert_ne!(bound.addr.port(), 0);
        assert_eq!(bound.listener.local_addr().expect("local addr"), bound.addr);
    }
}
