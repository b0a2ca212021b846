//! The process's one log buffer and the task that writes it out.
//!
//! Connection tasks run on every worker thread, and a busy server logs thousands of lines a
//! second: one `write` per line would cost more than the work being logged, and writing from the
//! tasks themselves would let a slow terminal stall them. So tasks only append to a shared
//! [`LogBuffer`] under a short-held mutex, and a single flusher task, woken when the buffer goes
//! from empty to non-empty, writes everything pending with one `write_all` per stream. Under load
//! many lines share a syscall; when quiet, a line still appears within microseconds.

use std::io::{self, Write};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

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
    /// Wakes the flusher task; `notify_one` keeps a permit if the flusher is busy writing, so no
    /// wake-up is lost.
    wake: Notify,
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
                wake: Notify::new(),
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
            self.shared.wake.notify_one();
        }
    }

    /// Moves every event `conn` has into the log, taking the lock only if there is one.
    pub fn push_events(&self, conn: &mut Connection) {
        let Some(first) = conn.poll_event() else {
            return;
        };
        let mut pending = lock(&self.shared.pending);
        let was_empty = pending.is_empty();
        pending.push_event(&first, self.shared.colored);
        while let Some(event) = conn.poll_event() {
            pending.push_event(&event, self.shared.colored);
        }
        drop(pending);
        if was_empty {
            self.shared.wake.notify_one();
        }
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
    }

    /// The flusher task: writes the buffer each time it becomes non-empty. Runs until the
    /// runtime is dropped.
    pub async fn run_flusher(self) {
        loop {
            self.shared.wake.notified().await;
            self.flush();
        }
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
        let flusher = tokio::spawn(logger.clone().run_flusher());
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
        flusher.abort();
    }
}
