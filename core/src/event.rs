//! What happened on a connection, for the runtime to log. Each event knows its log line, so that
//! every runtime prints the same bytes.

use std::fmt::{self, Write};
use std::net::IpAddr;
use std::time::Duration;

use crate::http::{Endpoint, HttpError};
use crate::log::{LogLine, Stream};
use crate::ws::ProtocolError;

/// One HTTP response, as morgan's `dev` format logs it (S4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessLog {
    pub method: String,
    /// The request target as sent (morgan's `:url`).
    pub target: String,
    pub status: u16,
    /// From the first byte of the request to the last byte of the response handed to the socket.
    pub elapsed: Duration,
    /// `Content-Length` sent, `None` printed as `-`.
    pub content_length: Option<usize>,
}

/// Why a connection failed (S8).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectionError {
    #[error("{0}")]
    Http(#[from] HttpError),
    #[error("request headers not complete within {} s", .0.as_secs_f64())]
    HeaderTimeout(Duration),
    #[error("{0} (close {code})", code = .0.close_code())]
    Protocol(#[from] ProtocolError),
    #[error("no answer to ping within {} s", .0.as_secs_f64())]
    PingTimeout(Duration),
    #[error("no close frame from the peer within {} s", .0.as_secs_f64())]
    CloseTimeout(Duration),
    #[error("connection ended without a close frame")]
    UnexpectedEof,
    #[error("{0}")]
    Io(String),
}

/// Something a runtime prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// An HTTP response was sent (S4).
    Request(AccessLog),
    /// A WebSocket opened (S5).
    Connected { ip: IpAddr, endpoint: Endpoint },
    /// A text message arrived on a ticking WebSocket (S7).
    Text(String),
    /// A binary message arrived on a ticking WebSocket (S7).
    Binary(Vec<u8>),
    /// The connection failed (S8); printed to stderr.
    Error { ip: IpAddr, error: ConnectionError },
    /// A WebSocket closed (S9).
    Disconnected { ip: IpAddr, endpoint: Endpoint },
}

impl Event {
    /// The stream this event's line goes to: errors to stderr, the rest to stdout.
    pub fn stream(&self) -> Stream {
        match self {
            Event::Error { .. } => Stream::Stderr,
            _ => Stream::Stdout,
        }
    }

    /// Writes this event's line, without its newline, straight into `out` (the log buffer: no
    /// string per line on the way); `colored` as morgan colours a terminal.
    pub fn write_text(&self, colored: bool, out: &mut impl Write) {
        // Writing into memory cannot fail.
        let _ = match self {
            Event::Request(access) => write_access(out, access, colored),
            Event::Connected { ip, .. } => write!(out, "새로운 클라이언트 접속 {ip}"),
            Event::Text(message) => out.write_str(message),
            Event::Binary(bytes) => write_buffer(out, bytes),
            Event::Error { ip, error } => write!(out, "Error: {error} [{ip}]"),
            Event::Disconnected { ip, .. } => write!(out, "클라이언트 접속 해제 {ip}"),
        };
    }

    /// The line this event prints, as a value.
    pub fn log_line(&self, colored: bool) -> LogLine {
        let mut text = String::new();
        self.write_text(colored, &mut text);
        LogLine {
            stream: self.stream(),
            text,
        }
    }
}

/// morgan's `dev` format: `GET / 200 1.234 ms - 486`.
fn write_access(out: &mut impl Write, access: &AccessLog, colored: bool) -> fmt::Result {
    let ms = access.elapsed.as_secs_f64() * 1000.0;
    let (method, target, status) = (&access.method, &access.target, access.status);
    if colored {
        let color = match status {
            500.. => 31,
            400.. => 33,
            300.. => 36,
            200.. => 32,
            _ => 0,
        };
        write!(
            out,
            "\x1b[0m{method} {target} \x1b[{color}m{status}\x1b[0m {ms:.3} ms - "
        )?;
    } else {
        write!(out, "{method} {target} {status} {ms:.3} ms - ")?;
    }
    match access.content_length {
        Some(length) => write!(out, "{length}")?,
        None => out.write_char('-')?,
    }
    if colored {
        out.write_str("\x1b[0m")?;
    }
    Ok(())
}

/// How Node's `console.log` shows a `Buffer`: at most 50 bytes in hex, then a count of the rest.
fn write_buffer(out: &mut impl Write, bytes: &[u8]) -> fmt::Result {
    const SHOWN: usize = 50;
    out.write_str("<Buffer")?;
    for byte in bytes.iter().take(SHOWN) {
        write!(out, " {byte:02x}")?;
    }
    if bytes.len() > SHOWN {
        let more = bytes.len() - SHOWN;
        write!(
            out,
            " ... {more} more byte{}",
            if more == 1 { "" } else { "s" }
        )?;
    }
    out.write_char('>')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_line_matches_morgan_dev() {
        let access = AccessLog {
            method: "GET".into(),
            target: "/".into(),
            status: 304,
            elapsed: Duration::from_micros(642_816),
            content_length: None,
        };
        assert_eq!(
            Event::Request(access.clone()).log_line(false).text,
            "GET / 304 642.816 ms - -"
        );
        assert_eq!(
            Event::Request(access).log_line(true).text,
            "\x1b[0mGET / \x1b[36m304\x1b[0m 642.816 ms - -\x1b[0m"
        );
    }

    #[test]
    fn binary_prints_like_a_node_buffer() {
        assert_eq!(
            Event::Binary(vec![1, 2, 255]).log_line(false).text,
            "<Buffer 01 02 ff>"
        );
        assert_eq!(Event::Binary(vec![]).log_line(false).text, "<Buffer>");
        let long = Event::Binary(vec![0; 53]).log_line(false).text;
        assert!(long.ends_with(" 00 ... 3 more bytes>"), "{long}");
    }
}
