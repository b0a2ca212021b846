//! Shared pieces of the fuzz targets: a driver that plays the runtime around a [`Connection`]
//! and checks the invariants every runtime relies on, the chunking of an input stream, and a
//! parser for the frames the server writes.
//!
//! The invariants live here, in one place, so that the three targets hold the core to the same
//! contract: the lifecycle only moves forward; a closed connection has no output, no deadline and
//! wants no input; a live one always has a deadline (a runtime sleeps on it); a deadline that was
//! handled is in the future (a runtime would spin otherwise); nothing is written after our FIN.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use gif_chat_core::{Config, Connection, Endpoint, Event, Lifecycle};

/// The `Sec-WebSocket-Key` of RFC 6455's example; any valid key would do.
pub const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// One instant for every run, so that a crash reproduces: only differences of time matter.
pub fn t0() -> Instant {
    static T0: OnceLock<Instant> = OnceLock::new();
    *T0.get_or_init(Instant::now)
}

/// `Config::new()`, built once: it renders the demo site, which a run should not pay for.
pub fn default_config() -> Arc<Config> {
    static CONFIG: OnceLock<Arc<Config>> = OnceLock::new();
    CONFIG.get_or_init(|| Arc::new(Config::new())).clone()
}

pub fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 50000))
}

/// An upgrade request as a browser on the same host sends it.
pub fn upgrade_request(path: &str) -> Vec<u8> {
    format!(
        "GET {path} HTTP/1.1\r\nHost: localhost:8005\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    .into_bytes()
}

/// Splits `data` into chunks whose sizes cycle through `plan`: a byte `n > 0` is a chunk of `n`
/// bytes, `0` the whole rest. An empty plan is one chunk.
pub fn chunks<'a>(plan: &[u8], data: &'a [u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    let mut sizes = plan.iter().cycle();
    while !rest.is_empty() {
        let size = match sizes.next() {
            Some(&n) if n > 0 => usize::from(n).min(rest.len()),
            _ => rest.len(),
        };
        let (chunk, tail) = rest.split_at(size);
        out.push(chunk);
        rest = tail;
    }
    out
}

/// A runtime in miniature around one [`Connection`]: a virtual clock, everything the connection
/// wrote, its events, and the invariant checks.
pub struct Driver {
    pub conn: Connection,
    pub config: Arc<Config>,
    pub now: Instant,
    /// Every byte the "socket" accepted, in order.
    pub written: Vec<u8>,
    pub events: Vec<Event>,
    /// `poll_shutdown_write` said so: nothing may be written any more.
    pub fin: bool,
    /// The peer's FIN was delivered.
    pub eof: bool,
    /// Every lifecycle seen, in order.
    pub lifecycles: Vec<Lifecycle>,
    /// Largest single `handle_input` and the sum of them, for the output bounds.
    pub largest_input: usize,
    pub total_input: usize,
}

/// Over this many deadlines in one advance, the connection is spinning.
const MAX_DEADLINES_PER_ADVANCE: usize = 100_000;

impl Driver {
    pub fn new(config: Arc<Config>) -> Driver {
        let conn = Connection::new(config.clone(), loopback(), t0());
        let lifecycles = vec![conn.lifecycle()];
        let driver = Driver {
            conn,
            config,
            now: t0(),
            written: Vec::new(),
            events: Vec::new(),
            fin: false,
            eof: false,
            lifecycles,
            largest_input: 0,
            total_input: 0,
        };
        driver.check();
        driver
    }

    pub fn lifecycle(&self) -> Lifecycle {
        self.conn.lifecycle()
    }

    /// Whether the connection became a WebSocket (it may have closed within the same call, so
    /// the connect event tells, not the lifecycles seen between calls).
    pub fn was_open(&self) -> bool {
        self.events
            .iter()
            .any(|e| matches!(e, Event::Connected { .. }))
    }

    /// Feeds `bytes`; the caller decides whether a runtime would have read them.
    pub fn input(&mut self, bytes: &[u8]) {
        self.largest_input = self.largest_input.max(bytes.len());
        self.total_input += bytes.len();
        let closed = self.conn.is_closed();
        self.conn.handle_input(self.now, bytes);
        if closed {
            assert!(self.conn.poll_transmit().is_none(), "output after Closed");
        }
        self.after_op();
    }

    pub fn eof(&mut self) {
        self.eof = true;
        self.conn.handle_eof(self.now);
        self.after_op();
    }

    pub fn shutdown(&mut self) {
        self.conn.handle_shutdown(self.now);
        self.after_op();
    }

    pub fn io_error(&mut self) {
        let error = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        self.conn.handle_io_error(self.now, &error);
        assert!(
            self.conn.is_closed(),
            "an I/O error must close the connection"
        );
        self.after_op();
    }

    /// Lets the socket take up to `limit` bytes of the pending output; returns how many.
    pub fn write(&mut self, limit: usize) -> usize {
        let Some(pending) = self.conn.poll_transmit() else {
            return 0;
        };
        assert!(!pending.is_empty(), "poll_transmit gave an empty slice");
        assert!(!self.fin, "output after our FIN");
        let n = pending.len().min(limit);
        self.written.extend_from_slice(&pending[..n]);
        self.conn.handle_written(self.now, n);
        self.after_op();
        n
    }

    /// Writes everything the connection has to say, as a fast socket would.
    pub fn flush(&mut self) {
        // Output is finite: each round either empties the buffer or the connection stopped
        // producing (a bound on rounds catches a connection that refills forever).
        for _ in 0..1_000_000 {
            if self.write(usize::MAX) == 0 {
                return;
            }
        }
        panic!("the connection never stopped producing output");
    }

    /// Moves the clock by `d`, handling every deadline on the way at its own instant.
    pub fn advance_stepwise(&mut self, d: Duration) {
        let target = self.now + d;
        for _ in 0..MAX_DEADLINES_PER_ADVANCE {
            match self.conn.poll_timeout() {
                Some(deadline) if deadline <= target => {
                    self.now = self.now.max(deadline);
                    self.timeout();
                }
                _ => {
                    self.now = target;
                    return;
                }
            }
        }
        panic!("more than {MAX_DEADLINES_PER_ADVANCE} deadlines in {d:?}");
    }

    /// Moves the clock by `d` and handles the deadline once, late, as a stalled runtime does.
    pub fn advance_late(&mut self, d: Duration) {
        self.now += d;
        if self.conn.poll_timeout().is_some_and(|t| t <= self.now) {
            self.timeout();
        }
    }

    /// Calls `handle_timeout` at the current time, whether or not a deadline passed (early calls
    /// must be harmless). Everything due at `now` is handled by one call: a deadline that is still
    /// not in the future makes a runtime call again at once (and spin, if nothing changes).
    pub fn timeout(&mut self) {
        self.conn.handle_timeout(self.now);
        if let Some(deadline) = self.conn.poll_timeout() {
            assert!(
                deadline > self.now,
                "deadline {:?} not after the handled instant {:?} ({}): already due again",
                deadline - t0(),
                self.now - t0(),
                self.lifecycle(),
            );
        }
        self.after_op();
    }

    /// Collects events and the FIN, then checks the invariants.
    pub fn after_op(&mut self) {
        if self.conn.poll_shutdown_write() {
            assert!(!self.fin, "FIN asked for twice");
            assert!(
                self.conn.poll_transmit().is_none(),
                "FIN asked for with output pending"
            );
            self.fin = true;
        }
        while let Some(event) = self.conn.poll_event() {
            // Every event must render; its text is what the runtimes print.
            let _ = event.log_line(true);
            let _ = event.log_line(false);
            self.events.push(event);
        }
        let now = self.conn.lifecycle();
        let last = self.lifecycles.last().copied().unwrap_or(Lifecycle::Http);
        assert!(now >= last, "lifecycle went back: {last} -> {now}");
        if now != last {
            self.lifecycles.push(now);
        }
        self.check();
    }

    /// The invariants that hold between any two calls.
    pub fn check(&self) {
        let conn = &self.conn;
        match conn.lifecycle() {
            Lifecycle::Closed => {
                assert!(conn.is_closed());
                assert!(conn.poll_transmit().is_none(), "output after Closed");
                assert!(conn.poll_timeout().is_none(), "deadline after Closed");
                assert!(!conn.wants_input(), "wants input after Closed");
            }
            Lifecycle::Connecting => panic!("Connecting is never visible between calls"),
            other => {
                assert!(!conn.is_closed());
                assert!(conn.poll_timeout().is_some(), "no deadline while {other}");
            }
        }
        if self.fin {
            assert!(conn.poll_transmit().is_none(), "output after our FIN");
        }
        if self.eof {
            assert!(!conn.wants_input(), "wants input after the peer's FIN");
        }
        self.check_events();
    }

    /// S5/S9: one connect line per WebSocket, one disconnect line once it is closed, in order.
    fn check_events(&self) {
        let connected = self
            .events
            .iter()
            .filter(|e| matches!(e, Event::Connected { .. }))
            .count();
        let disconnected = self
            .events
            .iter()
            .position(|e| matches!(e, Event::Disconnected { .. }));
        let disconnects = self
            .events
            .iter()
            .filter(|e| matches!(e, Event::Disconnected { .. }))
            .count();
        assert!(connected <= 1, "{connected} connect events");
        assert!(disconnects <= 1, "{disconnects} disconnect events");
        if connected == 1 {
            assert!(
                self.conn.lifecycle() >= Lifecycle::Open,
                "connected but not Open"
            );
        }
        if let Some(at) = disconnected {
            assert!(
                self.events[..at]
                    .iter()
                    .any(|e| matches!(e, Event::Connected { .. })),
                "disconnect before connect"
            );
            assert!(self.conn.is_closed(), "disconnect event before Closed");
        }
        if self.was_open() && self.conn.is_closed() {
            assert_eq!(
                disconnects, 1,
                "a WebSocket closed without a disconnect event"
            );
        }
        let endpoints: Vec<Endpoint> = self
            .events
            .iter()
            .filter_map(|e| match e {
                Event::Connected { endpoint, .. } | Event::Disconnected { endpoint, .. } => {
                    Some(*endpoint)
                }
                _ => None,
            })
            .collect();
        assert!(
            endpoints.windows(2).all(|w| w[0] == w[1]),
            "connect and disconnect name different endpoints"
        );
    }
}

/// A frame the server wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerFrame {
    pub first: u8,
    pub payload: Vec<u8>,
}

impl ServerFrame {
    pub fn opcode(&self) -> u8 {
        self.first & 0x0F
    }
}

/// Parses the frames in `bytes` (after the 101 response), checking what RFC 6455 asks of a
/// server: unmasked, FIN set and no RSV (it never fragments and negotiates no extension), known
/// opcodes, control payloads up to 125 bytes, minimal lengths, valid UTF-8 in text and close
/// reasons, a valid close code, and nothing after the close frame. Returns the frames and
/// whether a trailing partial frame was left (it must not be: output is whole frames).
pub fn parse_server_frames(mut bytes: &[u8]) -> Vec<ServerFrame> {
    let mut frames: Vec<ServerFrame> = Vec::new();
    while !bytes.is_empty() {
        assert!(
            !frames.iter().any(|f| f.opcode() == 8),
            "a frame after the close frame"
        );
        assert!(bytes.len() >= 2, "a partial frame header in the output");
        let (first, second) = (bytes[0], bytes[1]);
        assert_eq!(
            first & 0xF0,
            0x80,
            "server frame without FIN or with RSV bits"
        );
        assert_eq!(second & 0x80, 0, "masked server frame");
        let (len, header) = match second & 0x7F {
            126 => {
                assert!(bytes.len() >= 4, "a partial frame header in the output");
                let len = usize::from(u16::from_be_bytes([bytes[2], bytes[3]]));
                assert!(len >= 126, "non-minimal 16-bit length");
                (len, 4)
            }
            127 => {
                assert!(bytes.len() >= 10, "a partial frame header in the output");
                let mut raw = [0; 8];
                raw.copy_from_slice(&bytes[2..10]);
                let len = u64::from_be_bytes(raw);
                assert!(len > 0xFFFF, "non-minimal 64-bit length");
                (usize::try_from(len).expect("length fits in memory"), 10)
            }
            short => (usize::from(short), 2),
        };
        let end = header + len;
        assert!(bytes.len() >= end, "a partial frame in the output");
        let frame = ServerFrame {
            first,
            payload: bytes[header..end].to_vec(),
        };
        match frame.opcode() {
            1 => assert!(
                std::str::from_utf8(&frame.payload).is_ok(),
                "server text is not UTF-8"
            ),
            2 => {}
            8 => check_close_payload(&frame.payload),
            9 | 10 => assert!(frame.payload.len() <= 125, "control payload over 125"),
            other => panic!("server frame with opcode {other}"),
        }
        frames.push(frame);
        bytes = &bytes[end..];
    }
    frames
}

fn check_close_payload(payload: &[u8]) {
    assert!(payload.len() <= 125, "close payload over 125");
    assert_ne!(payload.len(), 1, "one-byte close payload");
    if payload.len() >= 2 {
        let code = u16::from_be_bytes([payload[0], payload[1]]);
        assert!(
            gif_chat_core::internals::ws::is_valid_close_code(code),
            "server sent close code {code}"
        );
        assert!(
            std::str::from_utf8(&payload[2..]).is_ok(),
            "close reason is not UTF-8"
        );
    }
}

/// Where the first 101 response at or after `from` in `written` ends, if there is one.
///
/// Earlier responses cannot contain the status line: what they quote of a request (the method
/// and target in an error page) has no spaces.
pub fn switching_end(written: &[u8], from: usize) -> Option<usize> {
    const STATUS: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\n";
    let rest = written.get(from..)?;
    let start = from + rest.windows(STATUS.len()).position(|w| w == STATUS)?;
    let head_end = written[start..].windows(4).position(|w| w == b"\r\n\r\n")?;
    Some(start + head_end + 4)
}

/// A masked client frame, for seeds and structured inputs.
pub fn client_frame(first: u8, payload: &[u8], key: [u8; 4]) -> Vec<u8> {
    let mut out = vec![first];
    match payload.len() {
        n @ 0..=125 => out.push(0x80 | n as u8),
        n @ 126..=0xFFFF => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&key);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    out
}
