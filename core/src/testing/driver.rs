//! [`Driver`]: a runtime in miniature around one [`Connection`], on a virtual clock, checking
//! the runtime contract after every step.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use super::client_stream::{upgrade_request, ACCEPT};
use super::server_frames::{parse_server_frames, switching_end, ServerFrame};
use crate::config::Config;
use crate::connection::Connection;
use crate::event::Event;
use crate::http::Endpoint;
use crate::lifecycle::Lifecycle;

/// One instant for every run, so that a fuzz crash reproduces: only differences of time matter.
pub fn t0() -> Instant {
    static T0: OnceLock<Instant> = OnceLock::new();
    *T0.get_or_init(Instant::now)
}

/// `Config::new()`, built once: it renders the demo site, which a fuzz run should not pay for.
pub fn default_config() -> Arc<Config> {
    static CONFIG: OnceLock<Arc<Config>> = OnceLock::new();
    CONFIG.get_or_init(|| Arc::new(Config::new())).clone()
}

/// The peer of every driven connection unless told otherwise.
pub fn peer_addr() -> SocketAddr {
    SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, 50000))
}

/// Everything `conn` has to send, taken as if its socket took it all at `now`: for tests that
/// drive a connection by hand beside a hub, without a [`Driver`].
pub fn drain_transmit(conn: &mut Connection, now: Instant) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(bytes) = conn.poll_transmit() {
        let n = bytes.len();
        out.extend_from_slice(bytes);
        conn.handle_written(now, n);
    }
    out
}

/// Over this many deadlines in one advance, the connection is spinning.
const MAX_DEADLINES_PER_ADVANCE: usize = 100_000;
/// What one HTTP response may add beyond its request: a static file or page of about 1.5 KiB
/// plus headers; an error page quotes the request target HTML-escaped (at most 6 bytes out for a
/// byte in, 8 to be safe with replacement characters).
const RESPONSE_SLACK: usize = 4096;
const RESPONSE_BYTES_PER_INPUT_BYTE: usize = 8;
/// A ping, a tick and a close frame, which may be queued whatever the output level.
const CONTROL_SLACK: usize = 256;

/// A connection with a virtual clock and a socket in memory, checked after every step.
///
/// Inputs are the runtime's calls (`input`, `eof`, `shutdown`, `io_error`, time passing); the
/// socket takes what [`write`](Self::write) lets it. What the connection wrote and logged is
/// kept whole ([`written`](Self::written), [`events`](Self::events)); `take_*` hand out what the
/// test has not looked at yet.
#[derive(Debug)]
pub struct Driver {
    conn: Connection,
    config: Arc<Config>,
    now: Instant,
    /// Every byte the "socket" accepted, in order.
    written: Vec<u8>,
    /// How much of `written` the test took.
    taken: usize,
    events: Vec<Event>,
    /// How many of `events` the test took.
    events_taken: usize,
    /// `poll_shutdown_write` said so: nothing may be written any more.
    fin: bool,
    /// The peer's FIN was delivered.
    eof: bool,
    /// Every lifecycle seen, in order.
    lifecycles: Vec<Lifecycle>,
    /// Largest single input and the sum of them, for the output bounds.
    largest_input: usize,
    total_input: usize,
    /// Bytes handed out once the connection said it was closed (must stay 0).
    written_after_closed: usize,
}

impl Driver {
    /// A connection from [`peer_addr`], accepted at [`t0`].
    pub fn new(config: impl Into<Arc<Config>>) -> Driver {
        Driver::with_peer(config, peer_addr())
    }

    /// A connection from `peer`, accepted at [`t0`].
    pub fn with_peer(config: impl Into<Arc<Config>>, peer: SocketAddr) -> Driver {
        let config = config.into();
        let conn = Connection::new(config.clone(), peer, t0());
        let lifecycles = vec![conn.lifecycle()];
        let driver = Driver {
            conn,
            config,
            now: t0(),
            written: Vec::new(),
            taken: 0,
            events: Vec::new(),
            events_taken: 0,
            fin: false,
            eof: false,
            lifecycles,
            largest_input: 0,
            total_input: 0,
            written_after_closed: 0,
        };
        driver.check();
        driver
    }

    // ---- what a test looks at ----

    /// The connection, to query (its inputs go through the driver, so that they are checked).
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn lifecycle(&self) -> Lifecycle {
        self.conn.lifecycle()
    }

    /// Every lifecycle seen between calls, in order.
    pub fn lifecycles(&self) -> &[Lifecycle] {
        &self.lifecycles
    }

    /// The virtual time.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Virtual time since [`t0`].
    pub fn elapsed(&self) -> Duration {
        self.now - t0()
    }

    /// Every byte written so far.
    pub fn written(&self) -> &[u8] {
        &self.written
    }

    /// Every event so far.
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// Every event so far as the log prints it (uncoloured).
    pub fn log_lines(&self) -> Vec<String> {
        self.events.iter().map(|e| e.log_line(false).text).collect()
    }

    /// Whether our FIN was sent.
    pub fn fin_sent(&self) -> bool {
        self.fin
    }

    /// Whether the peer's FIN was delivered.
    pub fn eof_delivered(&self) -> bool {
        self.eof
    }

    pub fn total_input(&self) -> usize {
        self.total_input
    }

    /// Bytes the socket took after the connection said it was closed.
    pub fn written_after_closed(&self) -> usize {
        self.written_after_closed
    }

    /// Whether the connection became a WebSocket (it may have closed within the same call, so
    /// the connect event tells, not the lifecycles seen between calls).
    pub fn was_open(&self) -> bool {
        self.events
            .iter()
            .any(|e| matches!(e, Event::Connected { .. }))
    }

    /// Bytes written that the test has not taken yet, taken.
    pub fn take_written(&mut self) -> Vec<u8> {
        let new = self.written[self.taken..].to_vec();
        self.taken = self.written.len();
        new
    }

    /// [`take_written`](Self::take_written), as text.
    pub fn take_text(&mut self) -> String {
        String::from_utf8_lossy(&self.take_written()).into_owned()
    }

    /// Frames written that the test has not taken yet, parsed and checked, taken.
    pub fn take_frames(&mut self) -> Vec<ServerFrame> {
        parse_server_frames(&self.take_written())
    }

    /// Events the test has not taken yet, taken.
    pub fn take_events(&mut self) -> Vec<Event> {
        let new = self.events[self.events_taken..].to_vec();
        self.events_taken = self.events.len();
        new
    }

    // ---- the runtime's calls ----

    /// Feeds `bytes` (the caller decides whether a runtime would have read them).
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

    /// Feeds `bytes` and writes everything the connection answers, as a peer that reads at once.
    pub fn send(&mut self, bytes: &[u8]) {
        self.input(bytes);
        self.flush();
    }

    /// The peer's FIN.
    pub fn eof(&mut self) {
        self.eof = true;
        self.conn.handle_eof(self.now);
        self.after_op();
    }

    /// The server stops.
    pub fn shutdown(&mut self) {
        self.conn.handle_shutdown(self.now);
        self.after_op();
    }

    /// The socket fails.
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
        let closed = self.conn.is_closed();
        let Some(pending) = self.conn.poll_transmit() else {
            return 0;
        };
        assert!(!pending.is_empty(), "poll_transmit gave an empty slice");
        assert!(!self.fin, "output after our FIN");
        let n = pending.len().min(limit);
        self.written.extend_from_slice(&pending[..n]);
        if closed {
            self.written_after_closed += n;
        }
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

    // ---- time ----

    /// Moves the clock by `d`, handling every deadline on the way at its own instant and
    /// writing everything after each, as a runtime with a fast peer does.
    pub fn advance(&mut self, d: Duration) {
        self.advance_with(d, true);
    }

    /// Moves the clock by `d`, handling every deadline on the way at its own instant, with a
    /// peer that reads nothing.
    pub fn advance_unread(&mut self, d: Duration) {
        self.advance_with(d, false);
    }

    /// Moves the clock by `d` and handles the deadline once, late, as a stalled runtime does.
    pub fn advance_late(&mut self, d: Duration) {
        self.skip(d);
        if self.conn.poll_timeout().is_some_and(|t| t <= self.now) {
            self.timeout();
        }
    }

    /// Moves the clock by `d` and nothing else (the runtime was not scheduled).
    pub fn skip(&mut self, d: Duration) {
        self.now += d;
    }

    /// Calls `handle_timeout` at the current time, whether or not a deadline passed (early calls
    /// must be harmless). Everything due at `now` must be handled by one call: a deadline still
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

    fn advance_with(&mut self, d: Duration, flush: bool) {
        let target = self.now + d;
        for _ in 0..MAX_DEADLINES_PER_ADVANCE {
            match self.conn.poll_timeout() {
                Some(deadline) if deadline <= target => {
                    self.now = self.now.max(deadline);
                    self.timeout();
                    if flush {
                        self.flush();
                    }
                }
                _ => {
                    self.now = target;
                    return;
                }
            }
        }
        panic!("more than {MAX_DEADLINES_PER_ADVANCE} deadlines in {d:?}");
    }

    // ---- conversations ----

    /// Performs the opening handshake on `path` and checks the `101`; its bytes are taken.
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
        assert_eq!(self.lifecycle(), Lifecycle::Open);
    }

    /// The frames written after the first `101`, parsed and checked (see
    /// [`parse_server_frames`]); empty if the connection never upgraded.
    pub fn frames(&self) -> Vec<ServerFrame> {
        switching_end(&self.written, 0)
            .map(|end| parse_server_frames(&self.written[end..]))
            .unwrap_or_default()
    }

    // ---- the contract ----

    /// Collects events and the FIN, then checks the invariants.
    fn after_op(&mut self) {
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

    /// The invariants that hold between any two calls: the lifecycle only moves forward; a
    /// closed connection has no output, no deadline and wants no input; a live one always has a
    /// deadline (a runtime sleeps on it); nothing is written after our FIN; nothing is read after
    /// the peer's; one connect line per WebSocket and one disconnect line once it is closed.
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
                // A request handed to the hub waits for the hub, which has the deadlines (a
                // parked poll is answered at the next heartbeat); the driver runs no hub.
                let waits_for_hub = conn.has_hub_call() || conn.hub_session().is_some();
                assert!(
                    conn.poll_timeout().is_some() || waits_for_hub,
                    "no deadline while {other}"
                );
            }
        }
        assert_eq!(self.written_after_closed, 0, "bytes written after Closed");
        if self.fin {
            assert!(conn.poll_transmit().is_none(), "output after our FIN");
        }
        if self.eof {
            assert!(!conn.wants_input(), "wants input after the peer's FIN");
        }
        self.check_events();
    }

    /// Unsent output stays within the high-water mark plus what one input and one response can
    /// add (B5), as long as the runtime reads only while the connection wants input.
    pub fn check_unsent_bound(&self) {
        let unsent = self.conn.poll_transmit().map_or(0, <[u8]>::len);
        let hwm = self.config.high_water_mark;
        let bound = hwm
            + self.largest_input
            + RESPONSE_SLACK
            + RESPONSE_BYTES_PER_INPUT_BYTE * self.total_input
            + CONTROL_SLACK;
        assert!(
            unsent <= bound,
            "{unsent} bytes unsent, over {bound} (high-water mark {hwm}, largest input {})",
            self.largest_input
        );
    }

    /// S5/S9: one connect line per WebSocket, one disconnect line once it is closed, in order.
    fn check_events(&self) {
        let is_connect = |e: &&Event| matches!(e, Event::Connected { .. });
        let is_disconnect = |e: &&Event| matches!(e, Event::Disconnected { .. });
        let connects = self.events.iter().filter(is_connect).count();
        let disconnects = self.events.iter().filter(is_disconnect).count();
        assert!(connects <= 1, "{connects} connect events");
        assert!(disconnects <= 1, "{disconnects} disconnect events");
        if connects == 1 {
            assert!(
                self.conn.lifecycle() >= Lifecycle::Open,
                "connected but not Open"
            );
        }
        if let Some(at) = self.events.iter().position(|e| is_disconnect(&e)) {
            assert!(
                self.events[..at].iter().any(|e| is_connect(&e)),
                "disconnect before connect"
            );
            assert!(self.conn.is_closed(), "disconnect event before Closed");
        }
        if connects == 1 && self.conn.is_closed() {
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
