//! The text of every line the server prints about itself: start, warnings, fatal errors, stop.
//!
//! The runtimes print these lines and the lines of [`Event`](crate::Event)s (each event knows its
//! own), and nothing else, so that all three print the same bytes. How lines are buffered and
//! written out (a writer thread, backpressure, batching) is I/O and belongs to `gif-chat-io`;
//! this module only says what the lines are.

use std::fmt::Display;
use std::net::SocketAddr;
use std::time::Duration;

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

impl LogLine {
    fn stdout(text: String) -> LogLine {
        LogLine {
            stream: Stream::Stdout,
            text,
        }
    }

    fn stderr(text: String) -> LogLine {
        LogLine {
            stream: Stream::Stderr,
            text,
        }
    }

    /// `8005 번 포트에서 대기 중` (S1): the seed's `console.log(port, '번 포트에서 대기 중')`.
    pub fn listening(port: u16) -> LogLine {
        LogLine::stdout(format!("{port} 번 포트에서 대기 중"))
    }

    /// The start-up warning when `COOKIE_SECRET` is not set (S14).
    pub fn missing_cookie_secret() -> LogLine {
        LogLine::stderr(
            "Warning: COOKIE_SECRET is not set; session cookies are signed with a random key for this run"
                .to_owned(),
        )
    }

    /// A fatal error: the server cannot start (a bad setting) or cannot go on.
    pub fn fatal(error: &dyn Display) -> LogLine {
        LogLine::stderr(format!("Error: {error}"))
    }

    /// A Socket.IO socket joined a namespace: the seed's connect line with the namespace,
    /// `새로운 클라이언트 접속 127.0.0.1 /relay`.
    pub fn namespace_connected(ip: std::net::IpAddr, namespace: &str) -> LogLine {
        LogLine::stdout(format!("새로운 클라이언트 접속 {ip} {namespace}"))
    }

    /// A Socket.IO socket left its namespace: `클라이언트 접속 해제 127.0.0.1 /relay`.
    pub fn namespace_disconnected(ip: std::net::IpAddr, namespace: &str) -> LogLine {
        LogLine::stdout(format!("클라이언트 접속 해제 {ip} {namespace}"))
    }

    /// The Socket.IO layer closed a session (an invalid packet, no CONNECT in time).
    pub fn socketio_session_closed(reason: &dyn std::fmt::Debug) -> LogLine {
        LogLine::stderr(format!("Error: Socket.IO session closed: {reason:?}"))
    }

    /// The Engine.IO layer closed a session for a reason an operator should see (E7: a buffer
    /// over its bound; a message too large; an invalid packet).
    pub fn engineio_session_closed(reason: &dyn Display) -> LogLine {
        LogLine::stderr(format!("Error: Engine.IO session closed: {reason}"))
    }

    /// The app's command was refused by the Socket.IO layer (a socket gone meanwhile).
    pub fn socketio_command_refused(error: &dyn Display) -> LogLine {
        LogLine::stderr(format!("Error: Socket.IO command refused: {error}"))
    }

    /// A chat room was created (C10): `방 생성 <id> <title> (<owner>)`. Control characters of
    /// the title (which a visitor typed) are shown as spaces, so one room is one line.
    pub fn room_created(id: &dyn Display, title: &str, owner: &dyn Display) -> LogLine {
        let title: String = title
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        LogLine::stdout(format!("방 생성 {id} {title} ({owner})"))
    }

    /// A chat room was removed, empty for the removal window: `방 삭제 <id>`.
    pub fn room_deleted(id: &dyn Display) -> LogLine {
        LogLine::stdout(format!("방 삭제 {id}"))
    }

    /// A chat line was stored and sent: `채팅 <room> <colour> <n>자` (its length, never its
    /// text).
    pub fn chat_posted(room: &dyn Display, colour: &dyn Display, chars: usize) -> LogLine {
        LogLine::stdout(format!("채팅 {room} {colour} {chars}자"))
    }

    /// An uploaded image was posted: `업로드 <room> <colour> <name>`, and `<bytes>B` when the
    /// size is known.
    pub fn upload_posted(
        room: &dyn Display,
        colour: &dyn Display,
        name: &dyn Display,
        bytes: Option<u64>,
    ) -> LogLine {
        match bytes {
            Some(bytes) => LogLine::stdout(format!("업로드 {room} {colour} {name} {bytes}B")),
            None => LogLine::stdout(format!("업로드 {room} {colour} {name}")),
        }
    }

    /// A room's owner role passed on (C9): `방장 변경 <room> <colour>`.
    pub fn owner_changed(room: &dyn Display, colour: &dyn Display) -> LogLine {
        LogLine::stdout(format!("방장 변경 {room} {colour}"))
    }

    /// The owner kicked a member: `강퇴 <room> <colour>`.
    pub fn member_kicked(room: &dyn Display, colour: &dyn Display) -> LogLine {
        LogLine::stdout(format!("강퇴 {room} {colour}"))
    }

    /// The chat's store failed a request whose answer nobody waits for (a system line, the
    /// room list at start, a deletion): `Error: chat store: <what>: <error>`.
    pub fn chat_store_failed(what: &str, error: &dyn Display) -> LogLine {
        LogLine::stderr(format!("Error: chat store: {what}: {error}"))
    }

    /// The first stop signal (B4).
    pub fn stopping(open: usize, timeout: Duration) -> LogLine {
        LogLine::stdout(format!(
            "종료 신호를 받았습니다: 연결 {open}개를 닫는 중 (최대 {} 초, 한 번 더 보내면 즉시 종료)",
            timeout.as_secs_f64()
        ))
    }

    /// The process is about to exit after a graceful stop; `left` connections did not close.
    pub fn stopped(left: usize) -> LogLine {
        if left == 0 {
            LogLine::stdout("서버를 종료합니다".to_owned())
        } else {
            LogLine::stdout(format!("서버를 종료합니다 (닫히지 않은 연결 {left}개)"))
        }
    }

    /// A second stop signal: exiting at once.
    pub fn forced_stop() -> LogLine {
        LogLine::stderr("종료 신호를 다시 받아 즉시 종료합니다".to_owned())
    }

    // The Redis bridge (SPEC M1-M3). An outage is told twice, when it starts and when it ends,
    // with what it cost: never once per reconnection attempt, which would flood the log.

    /// The Redis bridge connected (at start, before any outage).
    pub fn redis_connected() -> LogLine {
        LogLine::stdout(
            "Redis connected: broadcasts are shared with the other instances".to_owned(),
        )
    }

    /// Redis went away or cannot be reached: the instance goes on alone and retries.
    pub fn redis_down(error: &dyn Display) -> LogLine {
        LogLine::stderr(format!(
            "Error: Redis unreachable ({error}); serving local clients only, reconnecting"
        ))
    }

    /// Redis is back after `down_for`; `lost` broadcasts to other instances could not be sent
    /// meanwhile, and whatever the others sent then was not received.
    pub fn redis_back(down_for: Duration, lost: u64) -> LogLine {
        LogLine::stderr(format!(
            "Warning: Redis back after {:.1} s: {lost} broadcasts to other instances lost while it \
             was down (and those they sent meanwhile not received); subscriptions restored",
            down_for.as_secs_f64()
        ))
    }

    /// A message from another instance could not be read or delivered (one line each).
    pub fn cluster_message_refused(error: &dyn Display) -> LogLine {
        LogLine::stderr(format!("Error: {error}"))
    }

    /// The bridge's queue was full: `dropped` broadcasts to other instances were not sent.
    pub fn redis_queue_full(dropped: u64) -> LogLine {
        LogLine::stderr(format!(
            "Error: Redis publish queue full: {dropped} broadcasts to other instances dropped"
        ))
    }
}

/// Why the listening socket could not be made on `addr` (port in use, address not ours, ...);
/// printed as a [`LogLine::fatal`] line.
#[derive(Clone, Copy)]
pub struct CannotListen<'a> {
    pub addr: SocketAddr,
    pub reason: &'a dyn Display,
}

impl std::fmt::Debug for CannotListen<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CannotListen")
            .field("addr", &self.addr)
            .field("reason", &format_args!("{}", self.reason))
            .finish()
    }
}

impl Display for CannotListen<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot listen on {}: {}", self.addr, self.reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_taken_port_names_the_address_and_the_reason() {
        let addr: SocketAddr = "[::]:8005".parse().expect("literal");
        let reason = "Address already in use (os error 98)";
        let line = LogLine::fatal(&CannotListen {
            addr,
            reason: &reason,
        });
        assert_eq!(line.stream, Stream::Stderr);
        assert_eq!(
            line.text,
            "Error: cannot listen on [::]:8005: Address already in use (os error 98)"
        );
    }

    #[test]
    fn the_stop_lines_count_connections() {
        assert_eq!(
            LogLine::stopping(2, Duration::from_millis(1500)).text,
            "종료 신호를 받았습니다: 연결 2개를 닫는 중 (최대 1.5 초, 한 번 더 보내면 즉시 종료)"
        );
        assert_eq!(LogLine::stopped(0).text, "서버를 종료합니다");
        assert_eq!(
            LogLine::stopped(3).text,
            "서버를 종료합니다 (닫히지 않은 연결 3개)"
        );
    }
}
