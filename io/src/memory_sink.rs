//! A log sink in memory: what a test (or a program embedding a runtime) gives [`Sinks`] to read
//! the server's lines back, and to wait for one without polling.
//!
//! [`Sinks`]: crate::Sinks

use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// The bytes written so far, shared by every clone; a write wakes whoever waits for a line.
#[derive(Clone, Default)]
pub struct MemorySink(Arc<Shared>);

#[derive(Default)]
struct Shared {
    bytes: Mutex<Vec<u8>>,
    written: Condvar,
}

impl MemorySink {
    pub fn new() -> MemorySink {
        MemorySink::default()
    }

    fn bytes(&self) -> MutexGuard<'_, Vec<u8>> {
        // A panic while appending cannot leave the bytes worse than a short write would.
        self.0.bytes.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Everything written so far, as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes()).into_owned()
    }

    /// Waits until a whole line equal to `line` was written, at most `patience`. Returns
    /// whether it was.
    pub fn wait_for_line(&self, line: &str, patience: Duration) -> bool {
        let give_up = Instant::now() + patience;
        let mut bytes = self.bytes();
        loop {
            if String::from_utf8_lossy(&bytes).lines().any(|l| l == line) {
                return true;
            }
            let left = give_up.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            bytes = self
                .0
                .written
                .wait_timeout(bytes, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

impl std::fmt::Debug for MemorySink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemorySink")
            .field("bytes", &self.bytes().len())
            .finish()
    }
}

impl Write for MemorySink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.bytes().extend_from_slice(buf);
        self.0.written.notify_all();
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_written_on_another_thread_ends_the_wait() {
        let sink = MemorySink::new();
        let mut writer = sink.clone();
        let thread = std::thread::spawn(move || {
            writer.write_all(b"first\nsec").expect("in memory");
            writer.write_all(b"ond\n").expect("in memory");
        });
        assert!(sink.wait_for_line("second", Duration::from_secs(10)));
        thread.join().expect("the writer");
        assert_eq!(sink.text(), "first\nsecond\n");
        assert!(
            !sink.wait_for_line("sec", Duration::from_millis(1)),
            "a part is not a line"
        );
    }
}
