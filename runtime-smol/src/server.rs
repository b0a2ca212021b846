//! The running server: one `smol::Executor` driven by one thread per core, the accept loop, and
//! the graceful stop (B4).
//!
//! Why a multi-threaded executor rather than `smol::block_on` on one thread: connections are
//! independent, and with every core running the same executor a busy connection's work spreads
//! over the machine as tokio's multi-threaded runtime does. Each thread runs
//! `async_io::block_on(executor.run(..))`, so whichever thread has nothing to do waits in the
//! reactor itself and runs the woken task without a hand-off through async-io's fallback thread.
//! The main thread is one of them: it also runs the control future (accept loop, stop requests,
//! graceful stop), while the others run only tasks. Everything lives in a `thread::scope`, so
//! tasks borrow the shared state instead of reference-counting it, and [`Server::serve`] returns
//! with none of its threads left behind.
//!
//! The stop requests are a stream (SIGINT/SIGTERM in the binary, a channel in tests): the first
//! item closes the listener and broadcasts the stop to every connection task through one
//! `event_listener::Event`; the second exits the process at once.

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::num::NonZeroUsize;
use std::panic::AssertUnwindSafe;
use std::pin::pin;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use async_io::{Async, Timer};
use async_signal::Signals;
use event_listener::{Event as Notify, EventListener};
use gif_chat_core::{log, AcceptThrottle, Config};
use smol::stream::{Stream, StreamExt as _};
use smol::{future, Executor};

use crate::conn;
use crate::logger::{print_now, Log};

/// Connections accepted in a row before the accept loop lets other work run: under a connect
/// burst `accept` never waits, and the main thread also runs connection tasks and signals.
const ACCEPT_BATCH: usize = 64;

/// What every connection task and the control future share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub config: Arc<Config>,
    pub log: Log,
    /// Connection tasks alive, for the stop line and the stop's end.
    open: AtomicUsize,
    /// Notified when `open` drops to zero.
    all_closed: Notify,
    /// Set when the stop begins; `stop` is notified right after.
    stopping: AtomicBool,
    pub stop: Notify,
}

impl Shared {
    pub fn new(config: Arc<Config>, log: Log) -> Shared {
        Shared {
            config,
            log,
            open: AtomicUsize::new(0),
            all_closed: Notify::new(),
            stopping: AtomicBool::new(false),
            stop: Notify::new(),
        }
    }

    /// Whether the stop has begun (for tasks that subscribed to `stop` too late to hear it).
    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::Acquire)
    }

    fn open_connections(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }
}

/// Counts one connection task as open for as long as it lives, however it ends (closed,
/// panicked, or dropped with the executor).
struct OpenGuard<'a>(&'a Shared);

impl<'a> OpenGuard<'a> {
    fn new(shared: &'a Shared) -> OpenGuard<'a> {
        shared.open.fetch_add(1, Ordering::AcqRel);
        OpenGuard(shared)
    }
}

impl Drop for OpenGuard<'_> {
    fn drop(&mut self) {
        if self.0.open.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.all_closed.notify(usize::MAX);
        }
    }
}

/// A bound listener and everything else needed to serve.
#[derive(Debug)]
pub struct Server {
    listener: Async<TcpListener>,
    shared: Shared,
    shutdown_timeout: Duration,
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
        Ok(Server {
            listener: Async::new(listener)?,
            shared: Shared::new(config, log),
            shutdown_timeout,
        })
    }

    /// The address actually bound (PORT=0 picks a port).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.get_ref().local_addr()
    }

    /// Serves until `stops` yields once, then stops gracefully (B4); a second item exits the
    /// process at once with status 130. The binary's `stops` are SIGINT and SIGTERM. Returns
    /// the exit code after a graceful stop.
    pub fn serve(self, stops: impl Stream<Item = ()>) -> ExitCode {
        let Server {
            listener,
            shared,
            shutdown_timeout,
        } = self;
        let threads = thread::available_parallelism().map_or(1, NonZeroUsize::get);
        let executor = Executor::new();
        // Closing this channel (dropping the sender) ends the worker threads' `run`.
        let (stop_workers, workers_stopped) = smol::channel::bounded::<()>(1);

        thread::scope(|scope| {
            let shared = &shared;
            let executor = &executor;
            let workers_stopped = &workers_stopped;
            // Without its flusher the server would log nothing until it stops.
            if let Err(error) = thread::Builder::new()
                .name("gif-chat-log".into())
                .spawn_scoped(scope, || shared.log.run_flusher())
            {
                print_now(&log::fatal(&error));
                return ExitCode::FAILURE;
            }
            // A worker that cannot be started leaves the server on fewer threads; the main
            // thread alone can serve.
            for n in 1..threads {
                let _ = thread::Builder::new()
                    .name(format!("smol-{n}"))
                    .spawn_scoped(scope, move || {
                        let _ = smol::block_on(executor.run(workers_stopped.recv()));
                    });
            }
            let code = smol::block_on(executor.run(control(
                executor,
                shared,
                listener,
                stops,
                shutdown_timeout,
            )));
            drop(stop_workers);
            shared.log.close();
            code
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
    listener: Async<TcpListener>,
    stops: impl Stream<Item = ()>,
    timeout: Duration,
) -> ExitCode {
    let mut stops = pin!(stops);
    // The accept loop owns the listener: when the signal wins the race, dropping the loop
    // closes the listening socket, and new connections are refused from then on.
    future::or(
        accept_loop(executor, shared, listener),
        next_stop(&mut stops),
    )
    .await;

    shared
        .log
        .line(&log::stopping(shared.open_connections(), timeout));
    shared.stopping.store(true, Ordering::Release);
    shared.stop.notify(usize::MAX);

    // A timeout too large for the clock means no deadline.
    let mut deadline = Instant::now()
        .checked_add(timeout)
        .map_or_else(Timer::never, Timer::at);
    loop {
        let closed = shared.all_closed.listen();
        if shared.open_connections() == 0 {
            break;
        }
        match wait_stop(closed, &mut deadline, &mut stops).await {
            StopWake::Closed => {}
            StopWake::Deadline => break,
            StopWake::SecondStop => {
                shared.log.line(&log::forced_stop());
                shared.log.flush();
                std::process::exit(130);
            }
        }
    }
    shared.log.line(&log::stopped(shared.open_connections()));
    shared.log.flush();
    ExitCode::SUCCESS
}

enum StopWake {
    Closed,
    Deadline,
    SecondStop,
}

async fn wait_stop(
    closed: EventListener,
    deadline: &mut Timer,
    stops: &mut (impl Stream<Item = ()> + Unpin),
) -> StopWake {
    let closed = async {
        closed.await;
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

/// Accepts connections and spawns a task for each, forever; errors go through [`AcceptThrottle`]
/// (B6): out of descriptors, the listener stays readable, so retrying at once would spin.
async fn accept_loop<'a>(
    executor: &Executor<'a>,
    shared: &'a Shared,
    listener: Async<TcpListener>,
) {
    let mut throttle = AcceptThrottle::new();
    let mut backoff = Timer::never();
    let mut in_a_row = 0;
    loop {
        // `accept` tries at once and waits for readability only on `WouldBlock`.
        match listener.accept().await {
            Ok((stream, peer)) => {
                // Counted before the task first runs, so the stop line counts it too.
                let open = OpenGuard::new(shared);
                executor
                    .spawn(async move {
                        let _open = open;
                        // A bug that panics ends its own connection, not the server; the panic
                        // hook has printed it.
                        let _ = future::FutureExt::catch_unwind(AssertUnwindSafe(conn::serve(
                            shared, stream, peer,
                        )))
                        .await;
                    })
                    .detach();
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
                    shared.log.line(line);
                }
                if let Some(resume_at) = verdict.resume_at {
                    backoff.set_at(resume_at);
                    (&mut backoff).await;
                }
            }
        }
    }
}
