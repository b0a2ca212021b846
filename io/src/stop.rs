//! The graceful stop (B4) as runtime-neutral pieces: the broadcast that tells every connection
//! the server is stopping, the count of open connections the stop waits on, and the exit on a
//! second stop request.
//!
//! Both pieces are an atomic plus an `event_listener::Event`: setting the atomic and notifying
//! costs nothing when nobody listens, and the listener a task awaits is a plain future that
//! tokio's `select!`, smol's executor or a blocking `wait` can all use. The pattern that makes
//! them race-free is the same in both: *listen first, then look at the atomic*, so a change that
//! falls between the look and the wait still wakes the waiter.
//!
//! A runtime that owns every connection on one thread (mio) needs neither: it walks its slab.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use event_listener::{Event, EventListener};
use gif_chat_core::LogLine;

use crate::start::EXIT_FORCED;

/// The server's stop, broadcast to every connection.
#[derive(Debug, Default)]
pub struct StopFlag {
    stopping: AtomicBool,
    notify: Event,
}

impl StopFlag {
    pub fn new() -> StopFlag {
        StopFlag::default()
    }

    /// A future that resolves at the stop. Take it *before* checking
    /// [`is_stopping`](Self::is_stopping), and keep it: a stop between the two is not missed.
    pub fn listen(&self) -> EventListener {
        self.notify.listen()
    }

    /// Tells every connection, present and future, that the server is stopping.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.notify.notify(usize::MAX);
    }

    /// Whether [`stop`](Self::stop) was called.
    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }
}

/// How many connections are open, so a graceful stop knows when it is done.
#[derive(Debug, Default)]
pub struct OpenConnections {
    count: AtomicUsize,
    /// Notified when `count` drops to zero.
    all_closed: Event,
}

impl OpenConnections {
    pub fn new() -> Arc<OpenConnections> {
        Arc::new(OpenConnections::default())
    }

    /// Connections currently open.
    pub fn count(&self) -> usize {
        self.count.load(Ordering::Acquire)
    }

    /// Counts a new connection until the returned guard is dropped. Take it before spawning
    /// the connection's task, so a stop right after sees the connection.
    pub fn open(self: &Arc<Self>) -> OpenGuard {
        self.count.fetch_add(1, Ordering::AcqRel);
        OpenGuard(Arc::clone(self))
    }

    /// Resolves once no connection is open (on any executor).
    pub async fn all_closed(&self) {
        loop {
            let closed = self.all_closed.listen();
            if self.count() == 0 {
                return;
            }
            closed.await;
        }
    }
}

/// One open connection; dropping it (the task ended, panicked or was dropped) uncounts it.
#[derive(Debug)]
pub struct OpenGuard(Arc<OpenConnections>);

impl Drop for OpenGuard {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.all_closed.notify(usize::MAX);
        }
    }
}

/// A second stop request: `log` prints [`LogLine::forced_stop`] (and must write it out before
/// returning), then the process exits at once with [`EXIT_FORCED`].
pub fn exit_forced(log: impl FnOnce(&LogLine)) -> ! {
    log(&LogLine::forced_stop());
    std::process::exit(i32::from(EXIT_FORCED))
}

#[cfg(test)]
mod tests {
    use super::*;

    use futures_lite::future;

    #[test]
    fn the_count_reaches_zero_when_the_last_guard_drops() {
        let open = OpenConnections::new();
        let (a, b) = (open.open(), open.open());
        assert_eq!(open.count(), 2);
        drop(a);
        assert_eq!(open.count(), 1);
        assert!(
            future::block_on(future::poll_once(open.all_closed())).is_none(),
            "one connection is still open"
        );
        let waiter = std::thread::spawn({
            let open = Arc::clone(&open);
            move || future::block_on(open.all_closed())
        });
        drop(b);
        waiter.join().expect("all_closed resolves");
        assert_eq!(open.count(), 0);
    }

    #[test]
    fn a_stop_between_listening_and_looking_is_not_missed() {
        let flag = StopFlag::new();
        let listener = flag.listen();
        assert!(!flag.is_stopping());
        flag.stop();
        assert!(flag.is_stopping());
        future::block_on(listener);
        // A connection that arrives after the stop sees the flag.
        let late = flag.listen();
        assert!(flag.is_stopping());
        drop(late);
    }
}
