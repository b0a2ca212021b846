//! Accepting connections and stopping gracefully.
//!
//! The accept loop spawns one task per connection and backs off (a timer, never a spin) when the
//! process runs out of descriptors (B6). A stop is a future given to [`serve_until`], so the
//! binary can tie it to SIGINT/SIGTERM and tests to anything: when it resolves, the listener is
//! closed, every connection task is told through a [`StopFlag`], and the server waits for the
//! open-connection count to reach zero, at most the shutdown timeout (B4). The flag and the
//! count are `gif_chat_io`'s; what is tokio's is waiting on them, on the timer and on signals.

use std::future::Future;
use std::io;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gif_chat_core::{AcceptThrottle, Config, LogLine};
use gif_chat_io::{ChatIo, Log, OpenConnections, ParkingLot, SharedHub, StartError, StopFlag};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;
use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::sync::oneshot;

use crate::connection::{self, Shared};

/// Serves `listener` (non-blocking, as `gif_chat_io::listener::bind` makes it) until `stop`
/// resolves, then stops gracefully within `shutdown_timeout`. Returns how many connections were
/// still open when it gave up (0 after a clean stop). Must run inside a tokio runtime with I/O
/// and time enabled.
pub async fn serve_until(
    listener: TcpListener,
    config: Arc<Config>,
    log: Log,
    shutdown_timeout: Duration,
    stop: impl Future<Output = ()>,
) -> Result<usize, StartError> {
    serve_chat_until(listener, config, None, None, log, shutdown_timeout, stop).await
}

/// [`serve_until`] with the chat's store and upload directory (without: an empty store that
/// keeps nothing) and, with `REDIS_URL`, the Redis bridge to the other instances (SPEC M1–M3).
pub async fn serve_chat_until(
    listener: TcpListener,
    config: Arc<Config>,
    chat: Option<ChatIo>,
    redis: Option<gif_chat_io::redis::RedisConfig>,
    log: Log,
    shutdown_timeout: Duration,
    stop: impl Future<Output = ()>,
) -> Result<usize, StartError> {
    // A std listener under `AsyncFd`, not tokio's `TcpListener`: what it accepts is a std
    // stream that the connection registers once, where tokio's would be registered by tokio,
    // then deregistered (`into_std`) to be registered again, and each freed registration leaves
    // a hole in the heap that the next ones do not fill (+120 B of RSS per connection).
    let listener = register_listener(listener)?;
    let open = OpenConnections::new();
    // A failure here is a start error, reported and mapped to its exit status by the shared
    // start sequence, as on smol and mio.
    let hub = SharedHub::new(&config, Some(log.clone()), false).map_err(io::Error::other)?;
    // A broadcast to a big room may write from as many threads as the runtime has workers.
    hub.spread_broadcasts(std::thread::available_parallelism().map_or(1, |n| n.get()));
    if let Some(chat) = chat {
        hub.attach_chat(chat, None);
    }
    if let Some(redis) = redis {
        hub.attach_redis(redis)?;
    }
    let timer = tokio::spawn(hub_timer(Arc::clone(&hub)));
    let shared = Shared {
        config,
        log: log.clone(),
        stop: Arc::new(StopFlag::new()),
        hub: Arc::clone(&hub),
        lot: Arc::new(ParkingLot::new()?),
    };
    let stop_flag = Arc::clone(&shared.stop);
    let lot = Arc::clone(&shared.lot);
    // The lot's thread gives each connection it hands back a task on this runtime again.
    // Without it the lot refuses every connection, which then keeps its task.
    let lot_thread = {
        let shared = shared.clone();
        let runtime = tokio::runtime::Handle::current();
        std::thread::Builder::new()
            .name("gif-chat-lot".into())
            .spawn(move || {
                // Sockets are registered on this thread, with the runtime's reactor.
                let _context = runtime.enter();
                let lot = Arc::clone(&shared.lot);
                lot.run(|parked, pace| {
                    if let Some(task) = connection::resume(parked, pace, &shared) {
                        runtime.spawn(task);
                    }
                });
            })
    };
    if lot_thread.is_err() {
        lot.stop();
    }

    tokio::select! {
        () = accept_loop(listener, shared, Arc::clone(&open)) => {}
        () = stop => {}
    }
    // The accept loop's future, and with it the listener, is dropped here: no new connections.

    log.push_line(&LogLine::stopping(open.count(), shutdown_timeout));
    hub.shutdown();
    stop_flag.stop();
    // After the flag: the connections it hands back see the stop.
    lot.stop();
    let closed = tokio::time::timeout(shutdown_timeout, open.all_closed()).await;
    timer.abort();
    // It returns as soon as it has handed everything back.
    if let Ok(thread) = lot_thread {
        let _ = thread.join();
    }
    let left = if closed.is_ok() { 0 } else { open.count() };
    log.push_line(&LogLine::stopped(left));
    log.flush();
    Ok(left)
}

/// The hub's one timer: sleeps until its next deadline, or until that deadline moves earlier.
async fn hub_timer(hub: Arc<SharedHub>) {
    loop {
        let moved = hub.timer_listener();
        match hub.next_deadline() {
            Some(at) => {
                tokio::select! {
                    () = tokio::time::sleep_until(at.into()) => hub.handle_timeout(),
                    () = moved => {}
                }
            }
            None => moved.await,
        }
    }
}

/// Registers the listener with tokio's reactor, for readability (connections to accept).
#[allow(unsafe_code)]
fn register_listener(listener: TcpListener) -> io::Result<AsyncFd<TcpListener>> {
    // SAFETY: the `AsyncFd` owns the `TcpListener`, which owns its descriptor and closes it only
    // when dropped, so the descriptor stays open and names the same socket while registered.
    unsafe { AsyncFd::register_with_interest(listener, Interest::READABLE) }
        .map_err(io::Error::from)
}

/// Accepts forever, spawning a task per connection.
async fn accept_loop(listener: AsyncFd<TcpListener>, shared: Shared, open: Arc<OpenConnections>) {
    let mut throttle = AcceptThrottle::new();
    loop {
        // Tries at once and waits for readability only on `WouldBlock`.
        match listener
            .async_io(Interest::READABLE, TcpListener::accept)
            .await
        {
            Ok((stream, peer)) => {
                // std's accept leaves the socket blocking; the reactor needs it not to. A socket
                // that refuses is closed: the peer sees it end.
                if stream.set_nonblocking(true).is_err() {
                    continue;
                }
                // Counted before spawning, so a stop right after this sees the connection.
                let guard = open.open();
                // A socket tokio cannot watch is closed: the peer sees it end.
                if let Ok(task) = connection::drive(stream, peer, &shared, guard) {
                    tokio::spawn(task);
                }
            }
            Err(e) => {
                let verdict = throttle.handle_error(Instant::now(), &e);
                if let Some(line) = verdict.log {
                    shared.log.push_line(&line);
                }
                if let Some(resume_at) = verdict.resume_at {
                    tokio::time::sleep_until(resume_at.into()).await;
                }
            }
        }
    }
}

/// SIGINT and SIGTERM, registered before the server announces its port so that a stop signal
/// sent as soon as the port is known is caught rather than killing the process.
#[derive(Debug)]
pub struct StopSignals {
    interrupt: Signal,
    terminate: Signal,
}

impl StopSignals {
    /// Registers the handlers; must run inside a tokio runtime.
    pub fn register() -> io::Result<StopSignals> {
        Ok(StopSignals {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    async fn recv(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }

    /// Spawns the signal watcher: the first signal resolves the returned future (the graceful
    /// stop), a second one logs and exits the process at once with status 130.
    pub fn watch(mut self, log: Log) -> impl Future<Output = ()> {
        let (first_tx, first_rx) = oneshot::channel();
        tokio::spawn(async move {
            self.recv().await;
            let _ = first_tx.send(());
            self.recv().await;
            gif_chat_io::stop::exit_forced(|line| {
                log.push_line(line);
                log.flush();
            });
        });
        async move {
            // An error means the watcher task is gone, which only happens as the runtime shuts
            // down: stopping is right then too.
            let _ = first_rx.await;
        }
    }
}
