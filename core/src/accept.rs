//! What to do when `accept` fails (B6).
//!
//! Out of descriptors (EMFILE/ENFILE) the listening socket stays readable, so a loop that retries
//! at once spins at 100% CPU and floods the log. [`AcceptThrottle`] tells the runtime to pause
//! accepting briefly and lets one log line through per second, counting what it held back.

use std::io;
use std::time::{Duration, Instant};

use crate::log::{LogLine, Stream};

/// How long accepting pauses after a resource error.
pub const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// At most one accept error line per this period.
pub const LOG_PERIOD: Duration = Duration::from_secs(1);

/// What the runtime should do after an `accept` error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptVerdict {
    /// Pause accepting until then; `None`: the error concerned one connection only, go on.
    pub resume_at: Option<Instant>,
    /// A line to print, at most one a second (`LOG_PERIOD`).
    pub log: Option<LogLine>,
}

/// Rate limit and back-off for `accept` errors.
#[derive(Debug, Default, Clone)]
pub struct AcceptThrottle {
    last_logged: Option<Instant>,
    held_back: u64,
}

impl AcceptThrottle {
    pub fn new() -> Self {
        Self::default()
    }

    /// Decides what an `accept` error means.
    pub fn handle_error(&mut self, now: Instant, error: &io::Error) -> AcceptVerdict {
        if !is_resource_exhaustion(error) {
            // ECONNABORTED and friends: that one connection is gone; the listener is fine.
            return AcceptVerdict {
                resume_at: None,
                log: None,
            };
        }
        let due = self
            .last_logged
            .is_none_or(|at| now.duration_since(at) >= LOG_PERIOD);
        let log = if due {
            let held_back = std::mem::take(&mut self.held_back);
            self.last_logged = Some(now);
            let mut text = format!(
                "Error: accept failed: {error}; pausing {} ms",
                ACCEPT_BACKOFF.as_millis()
            );
            if held_back > 0 {
                text.push_str(&format!(" ({held_back} more since the last report)"));
            }
            Some(LogLine {
                stream: Stream::Stderr,
                text,
            })
        } else {
            self.held_back += 1;
            None
        };
        AcceptVerdict {
            resume_at: Some(now + ACCEPT_BACKOFF),
            log,
        }
    }
}

/// Errors that mean the process or system is out of something, not that one peer misbehaved.
fn is_resource_exhaustion(error: &io::Error) -> bool {
    const EMFILE: i32 = 24;
    const ENFILE: i32 = 23;
    const ENOBUFS: i32 = 105;
    const ENOMEM: i32 = 12;
    matches!(
        error.raw_os_error(),
        Some(EMFILE | ENFILE | ENOBUFS | ENOMEM)
    ) || error.kind() == io::ErrorKind::OutOfMemory
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emfile_backs_off_and_logs_once_a_second() {
        let t0 = Instant::now();
        let mut throttle = AcceptThrottle::new();
        let emfile = io::Error::from_raw_os_error(24);
        let first = throttle.handle_error(t0, &emfile);
        assert_eq!(first.resume_at, Some(t0 + ACCEPT_BACKOFF));
        assert!(first.log.is_some());
        let second = throttle.handle_error(t0 + Duration::from_millis(500), &emfile);
        assert!(second.log.is_none());
        let third = throttle.handle_error(t0 + Duration::from_millis(1000), &emfile);
        let text = third.log.expect("a line after a second").text;
        assert!(text.contains("1 more since the last report"), "{text}");
    }

    #[test]
    fn a_vanished_peer_is_no_reason_to_pause() {
        let mut throttle = AcceptThrottle::new();
        let aborted = io::Error::from(io::ErrorKind::ConnectionAborted);
        assert_eq!(
            throttle.handle_error(Instant::now(), &aborted),
            AcceptVerdict {
                resume_at: None,
                log: None
            }
        );
    }
}
