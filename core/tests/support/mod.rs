//! An in-memory peer for a [`Connection`]: a virtual clock, everything the connection wrote, and
//! a tiny WebSocket client codec, so a test reads like the conversation it checks.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gif_chat_core::{Config, Connection, Event, Lifecycle};

pub const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
pub const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// A connection with a clock that only moves when the test says so.
pub struct Peer {
    pub conn: Connection,
    pub t0: Instant,
    pub now: Instant,
    /// Bytes the connection wrote and the test has not read yet.
    pub received: Vec<u8>,
    pub events: Vec<Event>,
    pub fin: bool,
    /// Every lifecycle seen, in order.
    pub lifecycles: Vec<Lifecycle>,
}

pub fn config() -> Config {
    Config::new()
}

pub fn peer_addr() -> SocketAddr {
    "[::1]:50000".parse().expect("literal address")
}

impl Peer {
    pub fn new(config: Config) -> Peer {
        Peer::from(config, peer_addr())
    }

    pub fn from(config: Config, addr: SocketAddr) -> Peer {
        let t0 = Instant::now();
        let conn = Connection::new(Arc::new(config), addr, t0);
        let lifecycles = vec![conn.lifecycle()];
        Peer {
            conn,
            t0,
            now: t0,
            received: Vec::new(),
            events: Vec::new(),
            fin: false,
            lifecycles,
        }
    }

    /// Elapsed virtual time.
    pub fn at(&self) -> Duration {
        self.now - self.t0
    }

    /// Sends bytes and lets the connection write everything it wants.
    pub fn send(&mut self, bytes: &[u8]) {
        self.conn.handle_input(self.now, bytes);
        self.drain();
    }

    pub fn eof(&mut self) {
        self.conn.handle_eof(self.now);
        self.drain();
    }

    /// Moves the clock forward by `d`, firing every deadline on the way at its own instant.
    pub fn advance(&mut self, d: Duration) {
        let target = self.now + d;
        while let Some(deadline) = self.conn.poll_timeout() {
            if deadline > target {
                break;
            }
            self.now = self.now.max(deadline);
            self.conn.handle_timeout(self.now);
            self.drain();
        }
        self.now = target;
    }

    /// Writes all pending output "to the socket" and collects events.
    pub fn drain(&mut self) {
        while let Some(bytes) = self.conn.poll_transmit() {
            let n = bytes.len();
            self.received.extend_from_slice(bytes);
            self.conn.handle_written(self.now, n);
        }
        if self.conn.poll_shutdown_write() {
            self.fin = true;
        }
        while let Some(event) = self.conn.poll_event() {
            self.events.push(event);
        }
        self.note_lifecycle();
    }

    fn note_lifecycle(&mut self) {
        let now = self.conn.lifecycle();
        if self.lifecycles.last() != Some(&now) {
            self.lifecycles.push(now);
        }
    }

    /// Everything received so far as text, cleared.
    pub fn take_text(&mut self) -> String {
        String::from_utf8_lossy(&std::mem::take(&mut self.received)).into_owned()
    }

    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    /// Performs the opening handshake on `path` and checks the 101.
    pub fn upgrade(&mut self, path: &str) {
        self.send(upgrade_request(path, "").as_bytes());
        let response = self.take_text();
        assert!(
            response.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
            "{response}"
        );
        assert!(
            response.contains(&format!("Sec-WebSocket-Accept: {ACCEPT}\r\n")),
            "{response}"
        );
        assert_eq!(self.conn.lifecycle(), Lifecycle::Open);
    }

    /// Server frames received so far, parsed, cleared.
    pub fn take_frames(&mut self) -> Vec<Frame> {
        let mut frames = Vec::new();
        let mut rest = &self.received[..];
        while let Some((frame, used)) = parse_server_frame(rest) {
            frames.push(frame);
            rest = &rest[used..];
        }
        let left = rest.len();
        let total = self.received.len();
        self.received.drain(..total - left);
        frames
    }
}

pub fn upgrade_request(path: &str, extra_headers: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: localhost:8005\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n{extra_headers}\r\n"
    )
}

/// A frame as the server sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub fin: bool,
    pub opcode: u8,
    pub payload: Vec<u8>,
}

impl Frame {
    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.payload).expect("server text is UTF-8")
    }
    pub fn close_code(&self) -> Option<u16> {
        (self.opcode == 8 && self.payload.len() >= 2)
            .then(|| u16::from_be_bytes([self.payload[0], self.payload[1]]))
    }
}

pub fn parse_server_frame(bytes: &[u8]) -> Option<(Frame, usize)> {
    let b0 = *bytes.first()?;
    let b1 = *bytes.get(1)?;
    assert_eq!(b1 & 0x80, 0, "server frames are never masked");
    let (len, start) = match b1 & 0x7f {
        126 => (
            u16::from_be_bytes([*bytes.get(2)?, *bytes.get(3)?]) as usize,
            4,
        ),
        127 => {
            let raw: [u8; 8] = bytes.get(2..10)?.try_into().ok()?;
            (u64::from_be_bytes(raw) as usize, 10)
        }
        n => (n as usize, 2),
    };
    let payload = bytes.get(start..start + len)?.to_vec();
    Some((
        Frame {
            fin: b0 & 0x80 != 0,
            opcode: b0 & 0x0f,
            payload,
        },
        start + len,
    ))
}

/// A masked client frame.
pub fn client_frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    client_frame_raw(if fin { 0x80 } else { 0 } | opcode, payload, true)
}

/// A client frame with a raw first byte, masked or not.
pub fn client_frame_raw(b0: u8, payload: &[u8], masked: bool) -> Vec<u8> {
    let mask = [0x37, 0xfa, 0x21, 0x3d];
    let mut out = vec![b0];
    let m = if masked { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => out.push(m | n as u8),
        n if n <= 0xffff => {
            out.push(m | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(m | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    if masked {
        out.extend_from_slice(&mask);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    } else {
        out.extend_from_slice(payload);
    }
    out
}

pub fn text(s: &str) -> Vec<u8> {
    client_frame(true, 1, s.as_bytes())
}

pub fn close(code: u16) -> Vec<u8> {
    client_frame(true, 8, &code.to_be_bytes())
}

pub fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}
