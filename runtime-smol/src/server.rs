//! The running server: one `smol::Executor`, the accept loop, and the graceful stop (B4).
//!
//! The executor runs on one thread by default, as smol's own global executor does
//! (`WORKER_THREADS` asks for more). Each of its threads runs
//! `async_io::block_on(executor.run(..))`, so whichever thread has nothing to do waits in the
//! reactor itself and runs the woken task without a hand-off through async-io's fallback thread.
//! The main thread is one of them: it also runs the control future (accept loop, stop requests,
//! graceful stop), while the others run only tasks. Everything lives in a `thread::scope`, so
//! tasks borrow the shared state instead of reference-counting it, and [`Server::serve`] returns
//! with none of its threads left behind.
//!
//! Why one thread: async-executor puts every woken task in its shared queue and wakes a
//! sleeping thread for it, even when the thread that woke it is about to be free. With two
//! threads on this project's two-core benchmark machine, that cost a futex wake and a context
//! switch per woken task: measured side by side (tests/bench/ANALYSIS.md), one thread used
//! 25-40 % less CPU per Socket.IO session, polling event and seed handshake, and served more
//! of each. A broadcast to a big room still writes from several threads
//! ([`SharedHub::spread_broadcasts`]), and the store, the log and the parking lot have their
//! own; on a machine with cores to spare for connection work, set `WORKER_THREADS`.
//!
//! The stop requests are a stream (SIGINT/SIGTERM in the binary, a channel in tests): the first
//! item closes the listener and broadcasts the stop to every connection task through
//! `gif_chat_io`'s [`StopFlag`]; the second exits the process at once.

use std::future::Future;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::num::NonZeroUsize;
use std::panic::AssertUnwindSafe;
use std::pin::pin;
use std::process::ExitCode;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use async_io::{Async, Timer};
use async_signal::Signals;
use gif_chat_core::{AcceptThrottle, Config, LogLine};
use gif_chat_io::{Log, OpenConnections, ParkingLot, SharedHub, StartError, StopFlag};
use smol::stream::{Stream, StreamExt as _};
use smol::{future, Executor};

use crate::connection::{self, Shared};

/// Connections accepted in a row before the accept loop lets other work run: under a connect
/// burst `accept` never waits, and the main thread also runs connection tasks and signals.
const ACCEPT_BATCH: usize = 64;

/// Executor threads unless [`Server::worker_threads`] says otherwise (see the module docs).
pub const DEFAULT_WORKER_THREADS: NonZeroUsize = NonZeroUsize::MIN;

/// A bound listener and everything else needed to serve.
#[derive(Debug)]
pub struct Server {
    listener: Async<TcpListener>,
    shared: Shared,
    open: Arc<OpenConnections>,
    shutdown_timeout: Duration,
    worker_threads: NonZeroUsize,
}

impl Server {
    /// A server for `listener` (bound and listening), logging to `log`; a graceful stop waits
    /// at most `shutdown_timeout` for the connections to close.
    pub fn new(
        listener: TcpListener,
        config: Arc<Config>,
        log: Log,
        shutdown_timeout: Duration,
    ) -> io::Result<Server> {
        let hub = SharedHub::new(&config, Some(log.clone()), false).map_err(io::Error::other)?;
        // A broadcast to a big room may write from as many threads as there are cores, however
        // many run the executor.
        hub.spread_broadcasts(std::thread::available_parallelism().map_or(1, |n| n.get()));
        Ok(Server {
            listener: Async::new(listener)?,
            shared: Shared {
                config,
                log,
                stop: StopFlag::new(),
                hub,
                lot: ParkingLot::new()?,
            },
            open: OpenConnections::new(),
            shutdown_timeout,
            worker_threads: DEFAULT_WORKER_THREADS,
        })
    }

    /// Runs the executor on `threads` threads, the main one included.
    pub fn worker_threads(mut self, threads: NonZeroUsize) -> Server {
        self.worker_threads = threads;
        self
    }

    /// Attaches the chat's store and upload directory (without: an empty store that keeps
    /// nothing).
    pub fn attach_chat(&self, chat: gif_chat_io::ChatIo) {
        self.shared.hub.attach_chat(chat, None);
    }

    /// Connects this instance to the others through Redis (SPEC M1–M3).
    pub fn attach_redis(
        &self,
        redis: gif_chat_io::redis::RedisConfig,
    ) -> Result<(), gif_chat_io::redis::StartError> {
        self.shared.hub.attach_redis(redis)
    }

    /// The address actually bound (PORT=0 picks a port).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.get_ref().local_addr()
    }

    /// Serves until `stops` yields once, then stops gracefully (B4); a second item exits the
    /// process at once with status 130. The binary's `stops` are SIGINT and SIGTERM. Returns
    /// the exit code after a graceful stop, or why serving could not begin (no log thread).
    pub fn serve(self, stops: impl Stream<Item = ()>) -> Result<ExitCode, StartError> {
        let Server {
            listener,
            shared,
            open,
            shutdown_timeout,
            worker_threads,
        } = self;
        let executor = Executor::new();
        // Closing this channel (dropping the sender) ends the worker threads' `run`.
        let (stop_workers, workers_stopped) = smol::channel::bounded::<()>(1);

        thread::scope(|scope| {
            let shared = &shared;
            let open = &open;
            let executor = &executor;
            let workers_stopped = &workers_stopped;
            // Without its writer the server would log nothing until it stops.
            thread::Builder::new()
                .name("gif-chat-log".into())
                .spawn_scoped(scope, || shared.log.run_writer())?;
            // A worker that cannot be started leaves the server on fewer threads; the main
            // thread alone can serve.
            for n in 1..worker_threads.get() {
                let _ = thread::Builder::new()
                    .name(format!("smol-{n}"))
                    .spawn_scoped(scope, move || {
                        let _ = smol::block_on(executor.run(workers_stopped.recv()));
                    });
            }
            // The lot's thread gives each connection it hands back a task again. Without it
            // the lot refuses every connection, which then keeps its task.
            let lot = thread::Builder::new()
                .name("gif-chat-lot".into())
                .spawn_scoped(scope, move || {
                    shared.lot.run(|parked, pace| {
                        if let Some(task) = connection::resume(shared, parked, pace) {
                            spawn(executor, task);
                        }
                    });
                });
            if lot.is_err() {
                shared.lot.stop();
            }
            smol::block_on(executor.run(control(
                executor,
                shared,
                open,
                listener,
                stops,
                shutdown_timeout,
            )));
            drop(stop_workers);
            shared.log.close();
            Ok(ExitCode::SUCCESS)
        })
        // Tasks still alive (the stop timed out) are dropped with the executor here, closing
        // their sockets.
    }
}

/// SIGINT and SIGTERM as the stop requests [`Server::serve`] takes. If the signal pipe fails,
/// the stream ends and no stop can come any more (the process can still be killed).
pub fn stop_requests(signals: Signals) -> impl Stream<Item = ()> + Unpin {
    signals.map_while(|signal| signal.ok().map(drop))
}

/// Accepts until the first stop signal, then drives the graceful stop.
async fn control<'a>(
    executor: &Executor<'a>,
    shared: &'a Shared,
    open: &Arc<OpenConnections>,
    listener: Async<TcpListener>,
    stops: impl Stream<Item = ()>,
    timeout: Duration,
) {
    let mut stops = pin!(stops);
    // The hub's one timer; dropped with the executor once the server is done.
    executor.spawn(hub_timer(Arc::clone(&shared.hub))).detach();
    // The accept loop owns the listener: when the signal wins the race, dropping the loop
    // closes the listening socket, and new connections are refused from then on.
    future::or(
        accept_loop(executor, shared, open, listener),
        next_stop(&mut stops),
    )
    .await;

    shared
        .log
        .push_line(&LogLine::stopping(open.count(), timeout));
    shared.hub.shutdown();
    shared.stop.stop();
    // After the flag: the connections it hands back see the stop.
    shared.lot.stop();

    // A timeout too large for the clock means no deadline.
    let mut deadline = Instant::now()
        .checked_add(timeout)
        .map_or_else(Timer::never, Timer::at);
    match wait_stop(open, &mut deadline, &mut stops).await {
        StopWake::Closed | StopWake::Deadline => {}
        StopWake::SecondStop => gif_chat_io::stop::exit_forced(|line| {
            shared.log.push_line(line);
            shared.log.flush();
        }),
    }
    shared.log.push_line(&LogLine::stopped(open.count()));
    shared.log.flush();
}

/// The hub's one timer: sleeps until its next deadline, or until that deadline moves earlier.
async fn hub_timer(hub: Arc<SharedHub>) {
    let mut timer = Timer::never();
    loop {
        let moved = hub.timer_listener();
        match hub.next_deadline() {
            Some(at) => {
                timer.set_at(at);
                let fired = async {
                    (&mut timer).await;
                    true
                };
                let moved = async {
                    moved.await;
                    false
                };
                if future::or(fired, moved).await {
                    hub.handle_timeout();
                }
            }
            None => moved.await,
        }
    }
}

enum StopWake {
    Closed,
    Deadline,
    SecondStop,
}

/// Waits for the last connection to close, the stop's deadline, or a second stop request.
async fn wait_stop(
    open: &OpenConnections,
    deadline: &mut Timer,
    stops: &mut (impl Stream<Item = ()> + Unpin),
) -> StopWake {
    let closed = async {
        open.all_closed().await;
        StopWake::Closed
    };
    let deadline = async {
        deadline.await;
        StopWake::Deadline
    };
    let signal = async {
        next_stop(stops).await;
        StopWake::SecondStop
    };
    future::or(future::or(closed, deadline), signal).await
}

/// The next stop request; none ever comes once the stream has ended.
async fn next_stop(stops: &mut (impl Stream<Item = ()> + Unpin)) {
    if stops.next().await.is_none() {
        future::pending::<()>().await;
    }
}

/// Runs a connection's task (see [`guarded`]).
pub(crate) fn spawn<'a>(executor: &Executor<'a>, task: impl Future<Output = ()> + Send + 'a) {
    executor.spawn(guarded(task)).detach();
}

/// A connection's task as the executor holds it: a bug that panics ends its own connection,
/// not the server (the panic hook has printed it). The wrapper is a plain future, not an
/// `async` block: a block would keep the task it captured beside the task it awaits, and every
/// connection would cost its future twice.
pub(crate) fn guarded<F: Future<Output = ()>>(task: F) -> future::CatchUnwind<AssertUnwindSafe<F>> {
    future::FutureExt::catch_unwind(AssertUnwindSafe(task))
}

/// Accepts connections and spawns a task for each, forever; errors go through [`AcceptThrottle`]
/// (B6): out of descriptors, the listener stays readable, so retrying at once would spin.
async fn accept_loop<'a>(
    executor: &Executor<'a>,
    shared: &'a Shared,
    open: &Arc<OpenConnections>,
    listener: Async<TcpListener>,
) {
    let mut throttle = AcceptThrottle::new();
    let mut backoff = Timer::never();
    let mut in_a_row = 0;
    loop {
        // Tries at once and waits for readability only on `WouldBlock`. The stream is
        // registered by its task, which can give the registration up when it parks.
        match listener.read_with(|listener| listener.accept()).await {
            Ok((stream, peer)) => {
                // Counted before the task first runs, so the stop line counts it too.
                let open = open.open();
                // A socket the reactor cannot watch is closed: the peer sees it end.
                if let Ok(task) = connection::drive(shared, stream, peer, open) {
                    spawn(executor, task);
                }
                in_a_row += 1;
                if in_a_row >= ACCEPT_BATCH {
                    in_a_row = 0;
                    future::yield_now().await;
                }
            }
            Err(error) => {
                in_a_row = 0;
                let verdict = throttle.handle_error(Instant::now(), &error);
                if let Some(line) = &verdict.log {
                    shared.log.push_line(line);
                }
                if let Some(resume_at) = verdict.resume_at {
                    backoff.set_at(resume_at);
                    (&mut backoff).await;
                }
            }
        }
    }
}
