//! The process's one log buffer and the thread that writes it out.
//!
//! Connection tasks only append to a [`LogBuffer`] behind a mutex, so logging never makes a task
//! wait on stdout. A dedicated thread writes the buffer with one `write_all` per stream and turn:
//! it is woken when the buffer goes from empty to non-empty, so a line appears within
//! milliseconds, and under load many lines share one write syscall. Writing to stdout blocks when
//! the reader is slow (a full pipe); on its own thread that stalls only logging, never an
//! executor thread that serves connections.
//!
//! Order is kept: a flush takes the pending lines and writes them while holding the writer lock,
//! so two flushes (the thread's and a synchronous one at exit) cannot swap lines.
//!
//! The two streams are [`Sink`]s, stdout and stderr in the binary, so a test can read the log.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use event_listener::{Event as Notify, Listener};
use gif_chat_core::log::{LogBuffer, LogLine, Stream};
use gif_chat_core::Event;

/// Where one stream of the log goes.
pub type Sink = Box<dyn Write + Send>;

/// Pending log lines, shared by every task and thread of the server.
#[derive(Debug)]
pub struct Log {
    /// Lines appended since the last flush.
    pending: Mutex<LogBuffer>,
    /// The sinks and the buffer being written; holding this lock is what orders flushes.
    writer: Mutex<Writer>,
    /// Wakes the flusher thread when `pending` goes from empty to non-empty, or on close.
    wake: Notify,
    /// Wakes connection tasks waiting for a backed-up log to drain.
    drained: Notify,
    /// Set once the server is done: the flusher thread writes what is left and ends.
    closed: AtomicBool,
    /// Colour the access log's status (stdout is a terminal).
    colored: bool,
}

impl Log {
    /// A log printed to the process's stdout and stderr.
    pub fn new(colored: bool) -> Log {
        Log::with_sinks(colored, Box::new(io::stdout()), Box::new(io::stderr()))
    }

    /// A log printed to the given sinks.
    pub fn with_sinks(colored: bool, stdout: Sink, stderr: Sink) -> Log {
        Log {
            pending: Mutex::new(LogBuffer::default()),
            writer: Mutex::new(Writer {
                spare: LogBuffer::default(),
                stdout,
                stderr,
            }),
            wake: Notify::new(),
            drained: Notify::new(),
            closed: AtomicBool::new(false),
            colored,
        }
    }

    /// Appends one of the server's own lines.
    pub fn line(&self, line: &LogLine) {
        self.append(|buffer| buffer.push(line));
    }

    /// Appends the line of every event `next` yields, under one lock. Returns whether the log is
    /// backed up: the caller should [`wait_drained`](Self::wait_drained) before reading more.
    #[must_use = "a backed-up log asks the caller to wait before reading more"]
    pub fn events(&self, mut next: impl FnMut() -> Option<Event>) -> bool {
        let Some(first) = next() else { return false };
        let colored = self.colored;
        self.append(|buffer| {
            buffer.push_event(&first, colored);
            while let Some(event) = next() {
                buffer.push_event(&event, colored);
            }
            buffer.is_backed_up()
        })
    }

    /// Resolves once the log is no longer backed up. A reader slower than the log (a flood of
    /// messages to `/`, a stalled pipe) must not grow the buffer without bound: connections
    /// that log wait here, the same backpressure the core applies to socket output.
    pub async fn wait_drained(&self) {
        loop {
            let listener = self.drained.listen();
            if !self.is_backed_up() {
                return;
            }
            listener.await;
        }
    }

    fn is_backed_up(&self) -> bool {
        lock(&self.pending).is_backed_up()
    }

    fn append<T>(&self, push: impl FnOnce(&mut LogBuffer) -> T) -> T {
        let mut pending = lock(&self.pending);
        let was_empty = pending.is_empty();
        let result = push(&mut pending);
        drop(pending);
        if was_empty {
            // Only the empty → non-empty edge wakes the flusher: it takes everything pending.
            self.wake.notify(1);
        }
        result
    }

    /// Writes everything pending now, on the calling thread.
    pub fn flush(&self) {
        let mut writer = lock(&self.writer);
        let Writer {
            spare,
            stdout,
            stderr,
        } = &mut *writer;
        // Swapped, not copied: both buffers keep their capacity, so a busy server allocates
        // nothing per line.
        std::mem::swap(&mut *lock(&self.pending), spare);
        // A log line that cannot be written (stdout closed) has nowhere else to go.
        let _ = write_out(stdout, &mut spare.stdout);
        let _ = write_out(stderr, &mut spare.stderr);
        drop(writer);
        self.drained.notify(usize::MAX);
    }

    /// The flusher thread's body: flush whenever lines are pending, until [`close`](Self::close).
    pub fn run_flusher(&self) {
        loop {
            // Listen before looking, so a notification between the look and the wait is kept.
            let listener = self.wake.listen();
            if !lock(&self.pending).is_empty() {
                if !self.closed.load(Ordering::Acquire) {
                    std::thread::sleep(gif_chat_core::log::LOG_BATCH_DELAY);
                }
                self.flush();
            } else if self.closed.load(Ordering::Acquire) {
                return;
            } else {
                listener.wait();
            }
        }
    }

    /// Ends [`run_flusher`](Self::run_flusher) once what is pending is written.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.wake.notify(usize::MAX);
    }
}

/// The writing side of a [`Log`].
struct Writer {
    /// Lines taken from `pending`, being written.
    spare: LogBuffer,
    stdout: Sink,
    stderr: Sink,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("spare", &self.spare)
            .finish_non_exhaustive()
    }
}

/// Writes `bytes` out and empties it (keeping its capacity), whatever happens.
fn write_out(out: &mut dyn Write, bytes: &mut Vec<u8>) -> io::Result<()> {
    if bytes.is_empty() {
        return Ok(());
    }
    let result = out.write_all(bytes).and_then(|()| out.flush());
    bytes.clear();
    result
}

/// Prints one line at once, before the server runs (start-up errors and warnings).
pub fn print_now(line: &LogLine) {
    let mut text = Vec::with_capacity(line.text.len() + 1);
    text.extend_from_slice(line.text.as_bytes());
    text.push(b'\n');
    let _ = match line.stream {
        Stream::Stdout => write_out(&mut io::stdout().lock(), &mut text),
        Stream::Stderr => write_out(&mut io::stderr().lock(), &mut text),
    };
}

/// A poisoned log mutex only means a panic elsewhere; the buffer itself is still whole.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
