//! The process's one log buffer and the task that writes it out.
//!
//! Connection tasks run on every worker thread, and a busy server logs thousands of lines a
//! second: one `write` per line would cost more than the work being logged, and writing from the
//! tasks themselves would let a slow terminal stall them. So tasks only append to a shared
//! [`LogBuffer`] under a short-held mutex, and a flusher *thread* (not a task: a write to a full
//! pipe blocks, and a blocked worker would starve every connection scheduled on it), woken when
//! the buffer goes from empty to non-empty, writes everything pending with one `write_all` per
//! stream. Under load many lines share a syscall; when quiet, a line still appears within
//! microseconds.
//!
//! A reader slower than the log (a flood of messages to `/`, a stalled pipe) must not grow the
//! buffer without bound: above [`LOG_HIGH_WATER`](gif_chat_core::log::LOG_HIGH_WATER) bytes,
//! connection tasks wait for the flusher
//! before reading more, the same backpressure the core applies to socket output.

use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use gif_chat_core::log::{LogBuffer, LogLine};
use gif_chat_core::Connection;
use tokio::sync::Notify;

/// Where flushed lines go: `stdout` and `stderr` in the binary, memory in tests.
pub struct Sinks {
    pub stdout: Box<dyn Write + Send>,
    pub stderr: Box<dyn Write + Send>,
}

impl Sinks {
    /// The process's standard streams.
    pub fn stdio() -> Sinks {
        Sinks {
            stdout: Box::new(io::stdout()),
            stderr: Box::new(io::stderr()),
        }
    }
}

/// A cheap handle to the shared log; clone one into every task.
#[derive(Clone)]
pub struct Logger {
    shared: Arc<Shared>,
}

struct Shared {
    /// Lines appended and not yet written.
    pending: Mutex<LogBuffer>,
    /// Held while writing, so two flushes (the flusher task and a final flush at exit) never
    /// reorder lines; separate from `pending` so appending never waits for a slow terminal.
    sinks: Mutex<Sinks>,
    /// Wakes the flusher thread: `true` when there is something to write.
    wake: Mutex<bool>,
    wake_cv: Condvar,
    /// Wakes connection tasks waiting for the buffer to drain below
    /// [`LOG_HIGH_WATER`](gif_chat_core::log::LOG_HIGH_WATER).
    drained: Notify,
    /// Whether access-log status codes are coloured (stdout is a terminal).
    colored: bool,
}

impl std::fmt::Debug for Logger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Logger")
            .field("colored", &self.shared.colored)
            .finish_non_exhaustive()
    }
}

/// A poisoned lock only means another thread panicked while appending or writing bytes; the
/// buffer is still a valid `Vec`, and losing the log would be worse than a torn line.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Logger {
    /// A log writing to `sinks`; `colored` as `Config::colored_log`.
    pub fn new(colored: bool, sinks: Sinks) -> Logger {
        Logger {
            shared: Arc::new(Shared {
                pending: Mutex::new(LogBuffer::default()),
                sinks: Mutex::new(sinks),
                wake: Mutex::new(false),
                wake_cv: Condvar::new(),
                drained: Notify::new(),
                colored,
            }),
        }
    }

    /// Appends one line (start-up, stop, accept errors).
    pub fn push_line(&self, line: &LogLine) {
        let mut pending = lock(&self.shared.pending);
        let was_empty = pending.is_empty();
        pending.push(line);
        drop(pending);
        if was_empty {
            self.wake_flusher();
        }
    }

    fn wake_flusher(&self) {
        *lock(&self.shared.wake) = true;
        self.shared.wake_cv.notify_one();
    }

    /// Whether the log is backed up: the caller should [`wait_drained`](Self::wait_drained)
    /// before reading more input.
    pub fn is_backed_up(&self) -> bool {
        lock(&self.shared.pending).is_backed_up()
    }

    /// Resolves once the log is no longer backed up.
    pub async fn wait_drained(&self) {
        loop {
            let drained = self.shared.drained.notified();
            tokio::pin!(drained);
            drained.as_mut().enable();
            if !self.is_backed_up() {
                return;
            }
            drained.await;
        }
    }

    /// Moves every event `conn` has into the log, taking the lock only if there is one.
    /// Returns whether the log is backed up (see [`wait_drained`](Self::wait_drained)).
    #[must_use = "a backed-up log asks the caller to wait before reading more"]
    pub fn push_events(&self, conn: &mut Connection) -> bool {
        let Some(first) = conn.poll_event() else {
            return false;
        };
        let mut pending = lock(&self.shared.pending);
        let was_empty = pending.is_empty();
        pending.push_event(&first, self.shared.colored);
        while let Some(event) = conn.poll_event() {
            pending.push_event(&event, self.shared.colored);
        }
        let backed_up = pending.is_backed_up();
        drop(pending);
        if was_empty {
            self.wake_flusher();
        }
        backed_up
    }

    /// Writes everything pending now, blocking. Errors (a closed pipe, a full disk) are
    /// ignored: a server must not stop serving because nobody reads its log.
    pub fn flush(&self) {
        let mut sinks = lock(&self.shared.sinks);
        let taken = std::mem::take(&mut *lock(&self.shared.pending));
        if !taken.stdout.is_empty() {
            let _ = sinks.stdout.write_all(&taken.stdout);
            let _ = sinks.stdout.flush();
        }
        if !taken.stderr.is_empty() {
            let _ = sinks.stderr.write_all(&taken.stderr);
            let _ = sinks.stderr.flush();
        }
        drop(sinks);
        self.shared.drained.notify_waiters();
    }

    /// Starts the flusher thread: it writes the buffer each time it becomes non-empty, for the
    /// life of the process.
    pub fn spawn_flusher(&self) -> io::Result<std::thread::JoinHandle<()>> {
        let logger = self.clone();
        std::thread::Builder::new()
            .name("log-flusher".into())
            .spawn(move || loop {
                let mut wake = lock(&logger.shared.wake);
                while !*wake {
                    wake = logger
                        .shared
                        .wake_cv
                        .wait(wake)
                        .unwrap_or_else(PoisonError::into_inner);
                }
                *wake = false;
                drop(wake);
                std::thread::sleep(gif_chat_core::log::LOG_BATCH_DELAY);
                logger.flush();
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gif_chat_core::log::Stream;

    /// A sink tests can read back.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            lock(&self.0).extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn line(stream: Stream, text: &str) -> LogLine {
        LogLine {
            stream,
            text: text.to_owned(),
        }
    }

    fn memory_logger() -> (Logger, Shared, Shared) {
        let (out, err) = (Shared::default(), Shared::default());
        let logger = Logger::new(
            false,
            Sinks {
                stdout: Box::new(out.clone()),
                stderr: Box::new(err.clone()),
            },
        );
        (logger, out, err)
    }

    #[test]
    fn flush_splits_streams_and_keeps_order() {
        let (logger, out, err) = memory_logger();
        logger.push_line(&line(Stream::Stdout, "one"));
        logger.push_line(&line(Stream::Stderr, "oops"));
        logger.push_line(&line(Stream::Stdout, "two"));
        assert!(lock(&out.0).is_empty(), "nothing is written before a flush");
        logger.flush();
        assert_eq!(*lock(&out.0), b"one\ntwo\n");
        assert_eq!(*lock(&err.0), b"oops\n");
        logger.flush();
        assert_eq!(
            *lock(&out.0),
            b"one\ntwo\n",
            "a flush writes each line once"
        );
    }

    #[tokio::test]
    async fn the_flusher_writes_a_line_soon_after_it_is_pushed() {
        let (logger, out, _err) = memory_logger();
        let _flusher = logger.spawn_flusher().expect("a thread");
        for text in ["first", "second"] {
            logger.push_line(&line(Stream::Stdout, text));
            let expected = format!("{text}\n");
            let written = tokio::time::timeout(std::time::Duration::from_secs(5), async {
                while !String::from_utf8_lossy(&lock(&out.0)).ends_with(&expected) {
                    tokio::task::yield_now().await;
                }
            })
            .await;
            assert!(written.is_ok(), "the flusher did not write {text:?}");
        }
    }
}
