//! The server's own log lines and the buffer every runtime prints through.
//!
//! Lines are collected in a [`LogBuffer`] and written by the runtime in one go per turn of its
//! loop: a busy server logs thousands of lines a second, and one `write` per line would cost more
//! than the work being logged.

use std::time::Duration;

use crate::event::Event;

/// Which stream a line goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// One log line, without its newline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub stream: Stream,
    pub text: String,
}

/// Pending log bytes above which a runtime stops reading from connections that log until its
/// writer catches up: a reader slower than the log (a flood of messages to `/`, a stalled pipe)
/// must not grow the buffer without bound.
pub const LOG_HIGH_WATER: usize = 4 * 1024 * 1024;

/// How long a log writer thread waits after being woken before it writes, so that lines logged
/// together (a tick answered by thousands of connections) share one `write` instead of waking
/// the writer and paying a syscall each. Short enough that a line still shows at once.
pub const LOG_BATCH_DELAY: std::time::Duration = std::time::Duration::from_millis(1);

/// Pending log output, newline-terminated, per stream.
#[derive(Debug, Default)]
pub struct LogBuffer {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl LogBuffer {
    /// Appends a line.
    pub fn push(&mut self, line: &LogLine) {
        let out = match line.stream {
            Stream::Stdout => &mut self.stdout,
            Stream::Stderr => &mut self.stderr,
        };
        out.extend_from_slice(line.text.as_bytes());
        out.push(b'\n');
    }

    /// Appends an event's line, formatted in place.
    pub fn push_event(&mut self, event: &Event, colored: bool) {
        let out = match event.stream() {
            Stream::Stdout => &mut self.stdout,
            Stream::Stderr => &mut self.stderr,
        };
        event.write_text(colored, &mut Utf8Sink(out));
        out.push(b'\n');
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

/// `8005 번 포트에서 대기 중` (S1): the seed's `console.log(port, '번 포트에서 대기 중')`.
pub fn listening(port: u16) -> LogLine {
    LogLine {
        stream: Stream::Stdout,
        text: format!("{port} 번 포트에서 대기 중"),
    }
}

/// Printed at start when `COOKIE_SECRET` is not set (S14).
pub fn missing_cookie_secret() -> String {
    "Warning: COOKIE_SECRET is not set; signed cookies would use an empty secret".to_owned()
}

/// A start-up warning.
pub fn warning(text: String) -> LogLine {
    LogLine {
        stream: Stream::Stderr,
        text,
    }
}

/// A fatal start-up error (bad setting, port in use).
pub fn fatal(error: &dyn std::fmt::Display) -> LogLine {
    LogLine {
        stream: Stream::Stderr,
        text: format!("Error: {error}"),
    }
}

/// The first stop signal (B4).
pub fn stopping(open: usize, timeout: Duration) -> LogLine {
    LogLine {
        stream: Stream::Stdout,
        text: format!(
            "종료 신호를 받았습니다: 연결 {open}개를 닫는 중 (최대 {} 초, 한 번 더 보내면 즉시 종료)",
            timeout.as_secs_f64()
        ),
    }
}

/// The process is about to exit after a graceful stop.
pub fn stopped(left: usize) -> LogLine {
    if left == 0 {
        LogLine {
            stream: Stream::Stdout,
            text: "서버를 종료합니다".to_owned(),
        }
    } else {
        LogLine {
            stream: Stream::Stdout,
            text: format!("서버를 종료합니다 (닫히지 않은 연결 {left}개)"),
        }
    }
}

/// A second stop signal: exiting at once.
pub fn forced_stop() -> LogLine {
    LogLine {
        stream: Stream::Stderr,
        text: "종료 신호를 다시 받아 즉시 종료합니다".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{AccessLog, ConnectionError};
    use crate::http::Endpoint;

    /// The in-place path the runtimes use prints exactly what `Event::log_line` says.
    #[test]
    fn push_event_writes_the_events_line() {
        let ip = "::1".parse().expect("literal");
        let events = [
            Event::Request(AccessLog {
                method: "GET".into(),
                target: "/".into(),
                status: 200,
                elapsed: Duration::from_micros(1234),
                content_length: Some(486),
            }),
            Event::Connected {
                ip,
                endpoint: Endpoint::Ticker,
            },
            Event::Text("안녕".into()),
            Event::Binary(vec![1, 2]),
            Event::Error {
                ip,
                error: ConnectionError::UnexpectedEof,
            },
            Event::Disconnected {
                ip,
                endpoint: Endpoint::Echo,
            },
        ];
        for colored in [false, true] {
            let mut buffer = LogBuffer::default();
            let mut expected = LogBuffer::default();
            for event in &events {
                buffer.push_event(event, colored);
                expected.push(&event.log_line(colored));
            }
            assert_eq!(buffer.stdout, expected.stdout);
            assert_eq!(buffer.stderr, expected.stderr);
            assert!(String::from_utf8_lossy(&buffer.stderr).starts_with("Error: "));
        }
    }
}
