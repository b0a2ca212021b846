//! The process's one log buffer and the thread that writes it out.
//!
//! Connections on every thread log, and a busy server logs thousands of lines a second: one
//! `write` per line would cost more than the work being logged, and writing from the connection
//! tasks themselves would let a slow terminal stall them. So tasks only append to a shared
//! [`LogBuffer`] under a short-held mutex, and a writer *thread* (not a task: a write to a full
//! pipe blocks, and a blocked executor thread would starve every connection scheduled on it),
//! woken when the buffer goes from empty to non-empty, writes everything pending with one
//! `write_all` per stream. Under load many lines share a syscall; when quiet, a line still
//! appears within [`LOG_BATCH_DELAY`].
//!
//! A reader slower than the log (a flood of messages to `/`, a stalled pipe) must not grow the
//! buffer without bound: above [`LOG_HIGH_WATER`] bytes, [`Log::push_events`] says so, and the
//! connection waits ([`Log::wait_drained`]) before reading more, the same backpressure the core
//! applies to socket output. The wait is an `event_listener` future, which any executor can poll.
//!
//! Order is kept: a flush takes the pending lines and writes them while holding the writer lock,
//! so two flushes (the thread's and a synchronous one at exit) cannot swap lines.
//!
//! What each line says is the core's ([`LogLine`], [`Event::write_text`]); this module only
//! buffers and writes. A runtime that owns its whole loop on one thread (mio) keeps a
//! [`LogBuffer`] of its own and writes it with [`Sinks::write_out`] once per turn instead.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use event_listener::{Event as Notify, Listener};
use gif_chat_core::{Connection, Event, LogLine, Stream};

/// Pending log bytes above which connections that log stop reading until the writer catches up.
pub const LOG_HIGH_WATER: usize = 4 * 1024 * 1024;

/// How long the writer thread waits after being woken before it writes, so that lines logged
/// together (a tick answered by thousands of connections) share one `write` instead of waking
/// the writer and paying a syscall each. Short enough that a line still shows at once.
pub const LOG_BATCH_DELAY: Duration = Duration::from_millis(1);

/// A buffer that grew past this in a burst is shrunk back once written, so one burst does not
/// pin memory for the life of the process.
const KEEP_CAPACITY: usize = 64 * 1024;

/// Pending log output, newline-terminated, per stream.
#[derive(Debug, Default)]
pub struct LogBuffer {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl LogBuffer {
    fn stream(&mut self, stream: Stream) -> &mut Vec<u8> {
        match stream {
            Stream::Stdout => &mut self.stdout,
            Stream::Stderr => &mut self.stderr,
        }
    }

    /// Appends a line.
    pub fn push(&mut self, line: &LogLine) {
        let out = self.stream(line.stream);
        out.extend_from_slice(line.text.as_bytes());
        out.push(b'\n');
    }

    /// Appends an event's line, formatted in place (no `String` per line).
    pub fn push_event(&mut self, event: &Event, colored: bool) {
        let out = self.stream(event.stream());
        event.write_text(colored, &mut Utf8Sink(out));
        out.push(b'\n');
    }

    /// Appends the line of every event `conn` has.
    pub fn push_events(&mut self, conn: &mut Connection, colored: bool) {
        while let Some(event) = conn.poll_event() {
            self.push_event(&event, colored);
        }
    }

    /// Pending bytes on both streams.
    pub fn len(&self) -> usize {
        self.stdout.len() + self.stderr.len()
    }

    /// Whether more than [`LOG_HIGH_WATER`] bytes are pending.
    pub fn is_backed_up(&self) -> bool {
        self.len() > LOG_HIGH_WATER
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.stdout.is_empty() && self.stderr.is_empty()
    }
}

/// Lets `write!` format into a byte buffer without a `String` in between.
struct Utf8Sink<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for Utf8Sink<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// Where written lines go: the process's `stdout` and `stderr` in the binaries, memory in tests.
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

    /// Writes `buffer` out with one write per stream and empties it (keeping up to
    /// 64 KiB of capacity). Errors (a closed pipe, a full disk) are ignored: a server must not
    /// stop serving because nobody reads its log, and the line has nowhere else to go.
    pub fn write_out(&mut self, buffer: &mut LogBuffer) {
        write_stream(&mut self.stdout, &mut buffer.stdout);
        write_stream(&mut self.stderr, &mut buffer.stderr);
    }
}

impl std::fmt::Debug for Sinks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sinks").finish_non_exhaustive()
    }
}

fn write_stream(out: &mut dyn Write, bytes: &mut Vec<u8>) {
    if bytes.is_empty() {
        return;
    }
    let _ = out.write_all(bytes).and_then(|()| out.flush());
    bytes.clear();
    bytes.shrink_to(KEEP_CAPACITY);
}

/// Prints one line at once on the process's own streams, before (or without) a [`Log`]:
/// start-up warnings and fatal errors.
pub fn print_now(line: &LogLine) {
    let mut buffer = LogBuffer::default();
    buffer.push(line);
    Sinks::stdio().write_out(&mut buffer);
}

/// A cheap handle to the shared log; clone one into every task.
#[derive(Clone)]
pub struct Log {
    shared: Arc<Shared>,
}

struct Shared {
    /// Lines appended since the last flush.
    pending: Mutex<LogBuffer>,
    /// The sinks and the buffer being written; holding this lock is what orders flushes.
    writer: Mutex<Writer>,
    /// Wakes the writer thread when `pending` goes from empty to non-empty, or on close.
    wake: Notify,
    /// Wakes connections waiting for a backed-up log to drain.
    drained: Notify,
    /// Set once the server is done: the writer thread writes what is left and ends.
    closed: AtomicBool,
    /// Colour the access log's status (stdout is a terminal).
    colored: bool,
}

/// The writing side of a [`Log`].
struct Writer {
    /// Lines taken from `pending`, being written. Swapped with it, not copied, so both buffers
    /// keep their capacity and a busy server allocates nothing per line.
    spare: LogBuffer,
    sinks: Sinks,
}

impl std::fmt::Debug for Log {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Log")
            .field("colored", &self.shared.colored)
            .finish_non_exhaustive()
    }
}

/// A poisoned lock only means another thread panicked while appending or writing bytes; the
/// buffer is still a valid `Vec`, and losing the log would be worse than a torn line.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Log {
    /// A log written to `sinks`; `colored` as `Config::colored_log`.
    pub fn new(colored: bool, sinks: Sinks) -> Log {
        Log {
            shared: Arc::new(Shared {
                pending: Mutex::new(LogBuffer::default()),
                writer: Mutex::new(Writer {
                    spare: LogBuffer::default(),
                    sinks,
                }),
                wake: Notify::new(),
                drained: Notify::new(),
                closed: AtomicBool::new(false),
                colored,
            }),
        }
    }

    /// Appends one of the server's own lines (stop lines, accept errors).
    pub fn push_line(&self, line: &LogLine) {
        self.append(|buffer| buffer.push(line));
    }

    /// Moves every event `conn` has into the log, taking the lock only if there is one.
    /// Returns whether the log is backed up: the caller should
    /// [`wait_drained`](Self::wait_drained) before reading more input.
    #[must_use = "a backed-up log asks the caller to wait before reading more"]
    pub fn push_events(&self, conn: &mut Connection) -> bool {
        let Some(first) = conn.poll_event() else {
            return false;
        };
        let colored = self.shared.colored;
        self.append(|buffer| {
            buffer.push_event(&first, colored);
            buffer.push_events(conn, colored);
            buffer.is_backed_up()
        })
    }

    fn append<T>(&self, push: impl FnOnce(&mut LogBuffer) -> T) -> T {
        let mut pending = lock(&self.shared.pending);
        let was_empty = pending.is_empty();
        let result = push(&mut pending);
        drop(pending);
        if was_empty {
            // Only the empty → non-empty edge wakes the writer: it takes everything pending.
            self.shared.wake.notify(1);
        }
        result
    }

    /// Whether more than [`LOG_HIGH_WATER`] bytes wait to be written.
    pub fn is_backed_up(&self) -> bool {
        lock(&self.shared.pending).is_backed_up()
    }

    /// Resolves once the log is no longer backed up (on any executor).
    pub async fn wait_drained(&self) {
        loop {
            // Listen before looking, so a flush between the look and the wait still wakes us.
            let listener = self.shared.drained.listen();
            if !self.is_backed_up() {
                return;
            }
            listener.await;
        }
    }

    /// Writes everything pending now, on the calling thread.
    pub fn flush(&self) {
        let mut writer = lock(&self.shared.writer);
        let Writer { spare, sinks } = &mut *writer;
        std::mem::swap(&mut *lock(&self.shared.pending), spare);
        sinks.write_out(spare);
        drop(writer);
        self.shared.drained.notify(usize::MAX);
    }

    /// The writer thread's body: writes whenever lines are pending, until [`close`](Self::close)
    /// (after which it writes what is left and returns).
    pub fn run_writer(&self) {
        loop {
            // Listen before looking, so a notification between the look and the wait is kept.
            let listener = self.shared.wake.listen();
            if !lock(&self.shared.pending).is_empty() {
                if !self.shared.closed.load(Ordering::Acquire) {
                    std::thread::sleep(LOG_BATCH_DELAY);
                }
                self.flush();
            } else if self.shared.closed.load(Ordering::Acquire) {
                return;
            } else {
                listener.wait();
            }
        }
    }

    /// Starts [`run_writer`](Self::run_writer) on a thread of its own.
    pub fn spawn_writer(&self) -> io::Result<JoinHandle<()>> {
        let log = self.clone();
        std::thread::Builder::new()
            .name("gif-chat-log".into())
            .spawn(move || log.run_writer())
    }

    /// Ends the writer thread once what is pending is written.
    pub fn close(&self) {
        self.shared.closed.store(true, Ordering::Release);
        self.shared.wake.notify(usize::MAX);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;
    use std::time::Instant;

    use gif_chat_core::Config;

    /// A sink tests can read back.
    #[derive(Clone, Default)]
    struct Memory(Arc<Mutex<Vec<u8>>>);

    impl Memory {
        fn text(&self) -> String {
            String::from_utf8_lossy(&lock(&self.0)).into_owned()
        }
    }

    impl Write for Memory {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            lock(&self.0).extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn memory_log() -> (Log, Memory, Memory) {
        let (out, err) = (Memory::default(), Memory::default());
        let log = Log::new(
            false,
            Sinks {
                stdout: Box::new(out.clone()),
                stderr: Box::new(err.clone()),
            },
        );
        (log, out, err)
    }

    #[test]
    fn flush_splits_streams_and_keeps_order() {
        let (log, out, err) = memory_log();
        log.push_line(&LogLine::listening(1));
        log.push_line(&LogLine::forced_stop());
        log.push_line(&LogLine::stopped(0));
        assert_eq!(out.text(), "", "nothing is written before a flush");
        log.flush();
        assert_eq!(out.text(), "1 번 포트에서 대기 중\n서버를 종료합니다\n");
        assert_eq!(err.text(), "종료 신호를 다시 받아 즉시 종료합니다\n");
        log.flush();
        assert_eq!(out.text(), "1 번 포트에서 대기 중\n서버를 종료합니다\n");
    }

    #[test]
    fn the_writer_thread_writes_soon_and_ends_on_close() {
        let (log, out, _err) = memory_log();
        let writer = log.spawn_writer().expect("a thread");
        for port in [1, 2] {
            log.push_line(&LogLine::listening(port));
            let expected = format!("{port} 번 포트에서 대기 중\n");
            let start = Instant::now();
            while !out.text().ends_with(&expected) {
                assert!(start.elapsed() < Duration::from_secs(5), "not written");
                std::thread::yield_now();
            }
        }
        log.push_line(&LogLine::stopped(0));
        log.close();
        writer.join().expect("the writer did not panic");
        assert!(
            out.text().ends_with("서버를 종료합니다\n"),
            "the last line is written"
        );
    }

    #[test]
    fn events_are_formatted_as_the_core_says_and_backpressure_clears_on_flush() {
        let (log, out, _err) = memory_log();
        let peer: SocketAddr = "127.0.0.1:5000".parse().expect("literal");
        let mut conn = Connection::new(Arc::new(Config::new()), peer, Instant::now());
        conn.handle_input(Instant::now(), b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        while let Some(bytes) = conn.poll_transmit() {
            let n = bytes.len();
            conn.handle_written(Instant::now(), n);
        }
        assert!(!log.push_events(&mut conn), "one line is no backlog");
        log.flush();
        assert!(out.text().starts_with("GET / 200 "), "{}", out.text());

        let big = "x".repeat(LOG_HIGH_WATER / 4 + 1);
        for _ in 0..4 {
            log.push_line(&LogLine::fatal(&big));
        }
        assert!(log.is_backed_up());
        let waiting = std::thread::spawn({
            let log = log.clone();
            move || futures_lite::future::block_on(log.wait_drained())
        });
        log.flush();
        waiting.join().expect("the waiter wakes after a flush");
        assert!(!log.is_backed_up());
    }
}
