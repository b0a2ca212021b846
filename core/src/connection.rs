//! One TCP connection, from its first HTTP byte to its close: the state machine at the heart of
//! the server.
//!
//! A connection starts as keep-alive HTTP ([`Lifecycle::Http`]); an upgrade request makes it a
//! WebSocket ([`Lifecycle::Connecting`] → [`Lifecycle::Open`]); a close from either side, an
//! error or a final HTTP response moves it to [`Lifecycle::Closing`], where it waits a bounded
//! time for the peer; [`Lifecycle::Closed`] means the runtime should close the socket. The state
//! only moves forward, and every wait has a deadline, so no peer can pin a connection forever.
//!
//! Each phase has one home: `http` and `websocket` own their input, their deadlines and their
//! answer to a stop, and return a [`Transition`](transition::Transition); this file owns the
//! lifecycle, the closing handshake's waits and our FIN, and applies those transitions.

mod chat;
mod engineio_http;
mod engineio_ws;
mod http;
mod outbox;
mod transition;
mod websocket;

use std::collections::VecDeque;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;

use crate::chat::{ChatAnswer, ChatRequest, GifName};
use crate::config::Config;
use crate::engineio::{Answer, Sid, WsOutput};
use crate::event::{ConnectionError, Event};
use crate::hub::{HubCall, Mount};
use crate::lifecycle::Lifecycle;
use crate::upload::{UploadFailure, UploadStep};

use self::engineio_ws::EngineWsPhase;
use self::http::HttpPhase;
use self::outbox::Outbox;
use self::transition::{EngineUpgrade, Transition, Upgrade};
use self::websocket::WsPhase;

/// A connection's whole protocol state. Drive it with `handle_*`, then drain `poll_*`.
///
/// The runtime loop, in short:
/// 1. read into any buffer, `handle_input(now, &buf[..n])` (or `handle_eof` on 0 bytes,
///    `handle_io_error` on an error); read only while [`wants_input`](Self::wants_input);
/// 2. write what [`poll_transmit`](Self::poll_transmit) gives, report it with
///    [`handle_written`](Self::handle_written); when
///    [`poll_shutdown_write`](Self::poll_shutdown_write) says so, shut down the write side;
/// 3. print every [`poll_event`](Self::poll_event);
/// 4. sleep until input, writability, or [`poll_timeout`](Self::poll_timeout), then call
///    [`handle_timeout`](Self::handle_timeout) when that deadline passed;
/// 5. close the socket once [`is_closed`](Self::is_closed).
///
/// The chat's routes (SPEC §6) add one exchange to step 1's input and every other `handle_*`:
/// take every [`poll_chat_request`](Self::poll_chat_request) (answer it, later, with
/// [`handle_chat_answer`](Self::handle_chat_answer)), [`poll_upload`](Self::poll_upload)
/// (write the steps; answer a `Finish` with
/// [`handle_upload_stored`](Self::handle_upload_stored)) and
/// [`poll_file_read`](Self::poll_file_read) (answer with [`handle_file`](Self::handle_file)).
/// While [`awaits_chat_io`](Self::awaits_chat_io) the connection may want no input: those
/// answers move it on (or, past [`Config::chat_answer_timeout`], a 503).
///
/// # Example
///
/// That loop around a socket in memory, whose peer sends two requests, in pieces, then hangs
/// up; the clock only moves when there is nothing else to do.
///
/// ```
/// use std::collections::VecDeque;
/// use std::sync::Arc;
/// use std::time::Instant;
///
/// use gif_chat_core::{Config, Connection};
///
/// /// What a socket would carry: reads waiting on one side, written bytes on the other.
/// struct MemorySocket {
///     reads: VecDeque<&'static [u8]>,
///     written: Vec<u8>,
///     write_shut: bool,
/// }
///
/// let mut socket = MemorySocket {
///     reads: VecDeque::from([
///         &b"GET /favicon.ico HTTP/1.1\r\nHost: local"[..],
///         b"host\r\n\r\nGET / HTTP/1.1\r\nHost: localhost\r\n",
///         b"Connection: close\r\n\r\n",
///     ]),
///     written: Vec::new(),
///     write_shut: false,
/// };
/// let mut now = Instant::now();
/// let peer = "127.0.0.1:50000".parse()?;
/// let mut conn = Connection::new(Arc::new(Config::new()), peer, now);
/// let mut log = Vec::new();
///
/// while !conn.is_closed() {
///     // 1. Read, while the connection wants input; an empty read is the peer's FIN.
///     let readable = conn.wants_input();
///     if readable {
///         match socket.reads.pop_front() {
///             Some(bytes) => conn.handle_input(now, bytes),
///             None => conn.handle_eof(now),
///         }
///     }
///     // 2. Write (this socket takes everything at once), then the FIN when asked for.
///     while let Some(bytes) = conn.poll_transmit() {
///         let n = bytes.len();
///         socket.written.extend_from_slice(bytes);
///         conn.handle_written(now, n);
///     }
///     if conn.poll_shutdown_write() {
///         socket.write_shut = true;
///     }
///     // 3. Log.
///     while let Some(event) = conn.poll_event() {
///         log.push(event.log_line(false).text);
///     }
///     // 4. Nothing to read: sleep until the deadline.
///     if !readable {
///         if let Some(deadline) = conn.poll_timeout() {
///             now = now.max(deadline);
///             conn.handle_timeout(now);
///         }
///     }
/// }
///
/// let written = String::from_utf8_lossy(&socket.written);
/// assert!(written.starts_with("HTTP/1.1 200 OK\r\n"));
/// assert_eq!(written.matches("HTTP/1.1 200 OK\r\n").count(), 2);
/// assert!(socket.write_shut, "the FIN after the last response");
/// assert!(log[0].starts_with("GET /favicon.ico 200 "), "{log:?}");
/// assert!(log[1].starts_with("GET / 200 "), "{log:?}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Connection {
    config: Arc<Config>,
    peer: SocketAddr,
    lifecycle: Lifecycle,
    phase: Phase,
    out: Outbox,
    /// Set while [`Lifecycle::Closing`].
    closing: Option<Closing>,
    fin: Fin,
    /// The peer shut down its side: nothing more to read.
    eof: bool,
}

/// What a closed connection still owes the hub and the I/O layer: the end of the session it
/// held, the mount of a request the hub has not answered yet (its answer, when it comes, may
/// park a GET or accept a WebSocket that must be reported gone at once), and the last steps of
/// an upload (an `Abort` for one cut short).
#[derive(Debug, Default)]
struct HubLeftovers {
    calls: VecDeque<HubCall>,
    asked: Option<Mount>,
    upload: VecDeque<UploadStep>,
}

impl HubLeftovers {
    /// What an HTTP phase leaves behind, if anything.
    fn of_http(http: HttpPhase) -> Option<Box<HubLeftovers>> {
        let (asked, calls, upload) = http.into_leftovers();
        let leftovers = HubLeftovers {
            calls: calls.into(),
            asked,
            upload: upload.into(),
        };
        (leftovers.asked.is_some() || !leftovers.calls.is_empty() || !leftovers.upload.is_empty())
            .then(|| Box::new(leftovers))
    }
}

/// The Engine.IO session a connection holds for the hub, so that the runtime can wake it when
/// the session has output ([`Hub::poll_ready`](crate::Hub::poll_ready)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HubSession {
    /// A polling GET parked for the session: answer it with
    /// [`Connection::handle_hub_answer`] and [`Hub::poll_get_answer`](crate::Hub::poll_get_answer).
    ParkedGet(Mount, Sid),
    /// The session's WebSocket: feed it [`Connection::handle_hub_output`] from
    /// [`Hub::poll_websocket`](crate::Hub::poll_websocket).
    WebSocket(Mount, Sid),
}

impl HubSession {
    /// The session's key in the hub.
    pub fn key(self) -> (Mount, Sid) {
        match self {
            HubSession::ParkedGet(mount, sid) | HubSession::WebSocket(mount, sid) => (mount, sid),
        }
    }
}

/// What the bytes on the connection mean.
#[derive(Debug)]
enum Phase {
    Http(HttpPhase),
    WebSocket(WsPhase),
    /// An Engine.IO session's WebSocket.
    EngineWs(EngineWsPhase),
    /// Nothing more will be read or said (a final HTTP response was queued, or closed); boxed
    /// so that the variant costs one word, and only made for a connection that held a session.
    Done(Option<Box<HubLeftovers>>),
}

/// What a closing connection waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Until {
    /// Our last bytes to be written.
    Flushed,
    /// The peer's close frame (or its FIN): we sent ours first.
    PeerClose,
    /// The peer's FIN, reading and discarding what it still sends, so that closing the socket
    /// does not reset a response the peer has not read yet (a lingering close).
    PeerEof,
}

#[derive(Debug, Clone, Copy)]
struct Closing {
    until: Until,
    deadline: Instant,
}

/// Our side's FIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fin {
    NotYet,
    /// To be sent once the output is written.
    Wanted,
    Sent,
}

impl Connection {
    /// A new connection from `peer`, accepted at `now`.
    pub fn new(config: Arc<Config>, peer: SocketAddr, now: Instant) -> Connection {
        let phase = Phase::Http(HttpPhase::new(now, &config));
        Connection {
            config,
            peer,
            lifecycle: Lifecycle::Http,
            phase,
            out: Outbox::new(peer.ip().to_canonical()),
            closing: None,
            fin: Fin::NotYet,
            eof: false,
        }
    }

    /// Bytes read from the socket, in any chunking. All of `input` is taken.
    pub fn handle_input(&mut self, now: Instant, input: &[u8]) {
        let transition = match &mut self.phase {
            // Once a final response is queued, what else arrives is dropped unread.
            Phase::Http(http) if self.lifecycle == Lifecycle::Http => {
                http.handle_input(now, input, &self.config, &mut self.out)
            }
            Phase::WebSocket(ws) => ws.handle_input(now, input, &mut self.out),
            Phase::EngineWs(ws) => ws.handle_input(input, &mut self.out),
            Phase::Http(_) | Phase::Done(_) => Transition::None,
        };
        self.apply(now, transition);
    }

    // ---- the hub (Engine.IO and Socket.IO) ----

    /// The next call for the [`Hub`](crate::Hub): a request to an Engine.IO path, a message on
    /// an Engine.IO WebSocket, or the end of a parked GET or of a WebSocket. Take them all after
    /// every input, and hand them to the hub in order.
    pub fn poll_hub_call(&mut self) -> Option<HubCall> {
        match &mut self.phase {
            Phase::Http(http) => http.poll_hub_call(),
            Phase::EngineWs(ws) => ws.poll_call(),
            Phase::Done(Some(leftovers)) => leftovers.calls.pop_front(),
            Phase::WebSocket(_) | Phase::Done(None) => None,
        }
    }

    /// Whether [`poll_hub_call`](Self::poll_hub_call) has a call: writing output may let a
    /// paused pipeline go on to its next Engine.IO request.
    pub fn has_hub_call(&self) -> bool {
        match &self.phase {
            Phase::Http(http) => http.has_hub_call(),
            Phase::EngineWs(ws) => ws.has_call(),
            Phase::Done(Some(leftovers)) => !leftovers.calls.is_empty(),
            Phase::WebSocket(_) | Phase::Done(None) => false,
        }
    }

    /// The hub's answer to this connection's [`HubCall::Request`], or, for a parked GET, what
    /// [`Hub::poll_get_answer`](crate::Hub::poll_get_answer) says once the session is ready.
    pub fn handle_hub_answer(&mut self, now: Instant, answer: Answer) {
        if self.lifecycle == Lifecycle::Closed {
            // Gone meanwhile: a session that counted on this connection must learn it.
            let Phase::Done(Some(leftovers)) = &mut self.phase else {
                return;
            };
            let Some(mount) = leftovers.asked.take() else {
                return;
            };
            match answer {
                Answer::Parked(sid) => leftovers
                    .calls
                    .push_back(HubCall::GetAborted { mount, sid }),
                Answer::WebSocket(sid) => {
                    leftovers.calls.push_back(HubCall::WsClosed { mount, sid })
                }
                Answer::Ok(_) | Answer::Error(_) => {}
            }
            return;
        }
        let transition = match &mut self.phase {
            Phase::Http(http) => http.handle_hub_answer(now, answer, &self.config, &mut self.out),
            _ => Transition::None,
        };
        self.apply(now, transition);
        self.after_output_progress(now);
    }

    /// Output from [`Hub::poll_websocket`](crate::Hub::poll_websocket) for this connection's
    /// Engine.IO WebSocket.
    pub fn handle_hub_output(&mut self, now: Instant, output: WsOutput) {
        let transition = match &mut self.phase {
            Phase::EngineWs(ws) if self.lifecycle == Lifecycle::Open => {
                ws.handle_output(output, &mut self.out)
            }
            _ => Transition::None,
        };
        self.apply(now, transition);
    }

    /// The Engine.IO session this connection holds for the hub, if any.
    pub fn hub_session(&self) -> Option<HubSession> {
        match &self.phase {
            Phase::Http(http) => http
                .parked()
                .map(|(mount, sid)| HubSession::ParkedGet(mount, sid)),
            Phase::EngineWs(ws) if self.lifecycle == Lifecycle::Open => {
                let (mount, sid) = ws.session();
                Some(HubSession::WebSocket(mount, sid))
            }
            _ => None,
        }
    }

    /// Whether the Engine.IO WebSocket can take more output now (its unsent bytes are under the
    /// high-water mark); pull [`Hub::poll_websocket`](crate::Hub::poll_websocket) only then.
    pub fn wants_hub_output(&self) -> bool {
        matches!(self.phase, Phase::EngineWs(_))
            && self.lifecycle == Lifecycle::Open
            && self.out.unsent_len() <= self.config.high_water_mark
    }

    /// Whether the hub may write a broadcast frame straight to this connection's socket while
    /// it waits: its Engine.IO WebSocket is open, our close is not sent, and nothing is unsent
    /// (the frame would otherwise overtake it).
    pub fn accepts_direct(&self) -> bool {
        match &self.phase {
            Phase::EngineWs(ws) => {
                self.lifecycle == Lifecycle::Open
                    && ws.accepts_direct()
                    && self.out.unsent_len() == 0
            }
            _ => false,
        }
    }

    /// The socket took only the start of a frame written straight to it (see
    /// [`accepts_direct`](Self::accepts_direct)): `rest` goes out before anything else.
    pub fn handle_direct_rest(&mut self, rest: &[u8]) {
        if matches!(self.phase, Phase::EngineWs(_)) && self.lifecycle != Lifecycle::Closed {
            self.out.insert_unsent_front(rest);
        }
    }

    /// The peer shut down its side (a read returned 0).
    pub fn handle_eof(&mut self, now: Instant) {
        self.eof = true;
        match self.closing {
            Some(Closing {
                until: Until::Flushed,
                ..
            }) => {}
            _ if self.lifecycle == Lifecycle::Closed => {}
            _ => self.finish(now),
        }
    }

    /// Reading or writing failed: the connection is over.
    pub fn handle_io_error(&mut self, now: Instant, error: &io::Error) {
        if self.lifecycle == Lifecycle::Closed {
            return;
        }
        if matches!(self.phase, Phase::WebSocket(_)) {
            self.out.push_error(ConnectionError::Io(error.to_string()));
        }
        self.eof = true;
        self.enter_closed(now);
    }

    /// Time passed: call when `now` reaches [`poll_timeout`](Self::poll_timeout) (early calls
    /// are harmless).
    pub fn handle_timeout(&mut self, now: Instant) {
        let transition = match (self.lifecycle, &mut self.phase) {
            (Lifecycle::Http, Phase::Http(http)) => {
                http.handle_timeout(now, &self.config, &mut self.out)
            }
            (Lifecycle::Open, Phase::WebSocket(ws)) => {
                ws.handle_timeout(now, &self.config, &mut self.out)
            }
            (Lifecycle::Closing, _) => self.closing_timeout(now),
            _ => Transition::None,
        };
        self.apply(now, transition);
    }

    /// The server is stopping (B4): WebSockets get close 1001, HTTP connections close once the
    /// responses already queued are written.
    pub fn handle_shutdown(&mut self, now: Instant) {
        let transition = match &mut self.phase {
            Phase::Http(http) => http.handle_stop(),
            Phase::WebSocket(ws) => ws.handle_stop(&mut self.out),
            // The hub's own shutdown closes the session, and with it this WebSocket.
            Phase::EngineWs(_) | Phase::Done(_) => Transition::None,
        };
        self.apply(now, transition);
    }

    /// `n` bytes of [`poll_transmit`](Self::poll_transmit)'s slice were written at `now`.
    pub fn handle_written(&mut self, now: Instant, n: usize) {
        self.out.handle_written(now, n);
        match &self.phase {
            Phase::WebSocket(ws) => ws.handle_written(&mut self.out),
            Phase::EngineWs(ws) => ws.handle_written(&mut self.out),
            Phase::Http(_) | Phase::Done(_) => {}
        }
        self.after_output_progress(now);
    }

    /// Bytes waiting to be written, if any.
    #[must_use]
    pub fn poll_transmit(&self) -> Option<&[u8]> {
        let unsent = self.out.unsent();
        (!unsent.is_empty()).then_some(unsent)
    }

    /// `true` once, when the runtime should shut down the socket's write side (FIN) because our
    /// last bytes are written. Asked and ignored, the FIN is lost: it is not offered again.
    #[must_use]
    pub fn poll_shutdown_write(&mut self) -> bool {
        if self.fin == Fin::Wanted && self.out.unsent_len() == 0 {
            self.fin = Fin::Sent;
            return true;
        }
        false
    }

    /// The next instant at which [`handle_timeout`](Self::handle_timeout) must be called.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        match (self.lifecycle, &self.phase) {
            (Lifecycle::Http, Phase::Http(http)) => http.deadline(),
            (Lifecycle::Open, Phase::WebSocket(ws)) => Some(ws.deadline(&self.config)),
            (Lifecycle::Closing, _) => self.closing.map(|c| c.deadline),
            _ => None,
        }
    }

    // ---- the chat's HTTP side (SPEC §6): requests for the hub's chat app, uploads, files ----
    //
    // The runtime (through `gif-chat-io`) drains these after every `handle_*`, as it drains
    // hub calls. A connection has at most one of them outstanding: its request pipeline waits.

    /// A checked chat request for the hub ([`Hub::handle_chat_request`](crate::Hub)) under a
    /// ticket the runtime picks; its answer comes back through
    /// [`handle_chat_answer`](Self::handle_chat_answer). At most one is outstanding: the
    /// request pipeline waits for its answer.
    #[must_use]
    pub fn poll_chat_request(&mut self) -> Option<ChatRequest> {
        match &mut self.phase {
            Phase::Http(http) if self.lifecycle == Lifecycle::Http => http.poll_chat_request(),
            _ => None,
        }
    }

    /// The hub's answer to this connection's last [`ChatRequest`]. Ignored once the connection
    /// is closed (nobody is left to answer).
    pub fn handle_chat_answer(&mut self, now: Instant, answer: ChatAnswer) {
        self.handle_http_io(now, |http, config, out| {
            http.handle_chat_answer(now, answer, config, out)
        });
    }

    /// The next step of an upload this connection receives, for the I/O layer to write: one
    /// [`UploadStep::Begin`], pieces, then [`UploadStep::Finish`] or [`UploadStep::Abort`]. The
    /// connection reads no more input while steps wait here (backpressure), and it hands out an
    /// `Abort` even after it closed, for an upload cut short.
    #[must_use]
    pub fn poll_upload(&mut self) -> Option<UploadStep> {
        match &mut self.phase {
            Phase::Http(http) => http.poll_upload(),
            Phase::Done(Some(leftovers)) => leftovers.upload.pop_front(),
            _ => None,
        }
    }

    /// The I/O layer kept (or could not keep) the upload whose [`UploadStep::Finish`] it took:
    /// the connection then asks the hub to post it ([`ChatAction::GifStored`]). A connection
    /// that closed meanwhile ([`is_closed`](Self::is_closed)) posts nothing: the I/O layer
    /// should remove the file it kept for it.
    ///
    /// [`ChatAction::GifStored`]: crate::chat::ChatAction::GifStored
    pub fn handle_upload_stored(&mut self, now: Instant, stored: Result<GifName, UploadFailure>) {
        self.handle_http_io(now, |http, config, out| {
            http.handle_upload_stored(now, stored, config, out)
        });
    }

    /// An uploaded image to read from the upload directory for `GET /gif/<name>`, once;
    /// answer with [`handle_file`](Self::handle_file).
    #[must_use]
    pub fn poll_file_read(&mut self) -> Option<GifName> {
        match &mut self.phase {
            Phase::Http(http) if self.lifecycle == Lifecycle::Http => http.poll_file_read(),
            _ => None,
        }
    }

    /// The image asked for by [`poll_file_read`](Self::poll_file_read): its bytes, or `None`
    /// when there is no such file.
    pub fn handle_file(&mut self, now: Instant, file: Option<Bytes>) {
        self.handle_http_io(now, |http, config, out| {
            http.handle_file(now, file, config, out)
        });
    }

    /// Whether the connection waits for the I/O layer or the hub (a chat request to take or
    /// answer, upload steps to take, an upload to store, a file to read): the runtime must not
    /// skip its exchange. Meanwhile the deadline is the answer timeout
    /// ([`Config::chat_answer_timeout`]), past which the visitor gets a 503.
    pub fn awaits_chat_io(&self) -> bool {
        match &self.phase {
            Phase::Http(http) => http.awaits_chat_io(),
            Phase::Done(Some(leftovers)) => !leftovers.upload.is_empty(),
            _ => false,
        }
    }

    /// The next event to log.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.out.pop_event()
    }

    /// Whether the runtime should read: `false` while unsent output is above the high-water mark
    /// (B5), after the peer's FIN, and once closed.
    pub fn wants_input(&self) -> bool {
        !self.eof
            && self.lifecycle != Lifecycle::Closed
            && self.out.unsent_len() <= self.config.high_water_mark
            && !matches!(&self.phase, Phase::Http(http) if http.backlog_full(&self.config))
    }

    /// Whether the socket should be closed now. A closed connection has no output left.
    pub fn is_closed(&self) -> bool {
        self.lifecycle == Lifecycle::Closed
    }

    /// Where the connection is.
    pub fn lifecycle(&self) -> Lifecycle {
        self.lifecycle
    }

    /// The TCP peer.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// The client's address as logged (see [`TrustProxy`](crate::TrustProxy)).
    pub fn client_ip(&self) -> IpAddr {
        self.out.client_ip()
    }

    // ---- transitions ----

    /// Does what a phase asked.
    fn apply(&mut self, now: Instant, transition: Transition) {
        match transition {
            Transition::None => {}
            Transition::Finish => self.finish(now),
            Transition::CloseWhenFlushed => self.enter_closing(now, Until::Flushed),
            Transition::AwaitPeerClose => {
                // A closing already under way keeps what it waits for.
                if self.lifecycle == Lifecycle::Open {
                    self.enter_closing(now, Until::PeerClose);
                }
            }
            Transition::AwaitPeerEof => self.enter_closing(now, Until::PeerEof),
            Transition::Closed(reason) => {
                if let Some(error) = reason {
                    self.out.push_error(error);
                }
                self.enter_closed(now);
            }
            Transition::Upgrade(upgrade) => self.open_websocket(now, upgrade),
            Transition::EngineUpgrade(upgrade) => self.open_engine_websocket(now, upgrade),
        }
    }

    fn advance(&mut self, to: Lifecycle) {
        debug_assert!(
            to >= self.lifecycle,
            "lifecycle went back: {} -> {to}",
            self.lifecycle
        );
        self.lifecycle = to;
    }

    /// The `101` is queued: the connection is a WebSocket from now on, and the bytes that came
    /// with the request are its first frames.
    fn open_websocket(&mut self, now: Instant, upgrade: Upgrade) {
        self.advance(Lifecycle::Connecting);
        let client_ip = self
            .config
            .trust_proxy
            .client_ip(self.peer.ip(), upgrade.forwarded_for.as_deref());
        self.out.set_client_ip(client_ip);
        let ws = WsPhase::new(upgrade.endpoint, now, &self.config);
        self.phase = Phase::WebSocket(ws);
        self.advance(Lifecycle::Open);
        self.out.push_event(Event::Connected {
            ip: client_ip,
            endpoint: upgrade.endpoint,
        });
        if !upgrade.rest.is_empty() {
            self.handle_input(now, &upgrade.rest);
        }
    }

    /// The hub accepted an Engine.IO WebSocket and its `101` is queued: the connection carries
    /// the session from now on. No seed connect line: the Socket.IO namespace lines say it.
    fn open_engine_websocket(&mut self, now: Instant, upgrade: EngineUpgrade) {
        self.advance(Lifecycle::Connecting);
        let client_ip = self
            .config
            .trust_proxy
            .client_ip(self.peer.ip(), upgrade.forwarded_for.as_deref());
        self.out.set_client_ip(client_ip);
        let max_payload = self.config.hub.engine.max_payload;
        let ws = EngineWsPhase::new(upgrade.mount, upgrade.sid, max_payload);
        self.phase = Phase::EngineWs(ws);
        self.advance(Lifecycle::Open);
        if !upgrade.rest.is_empty() {
            self.handle_input(now, &upgrade.rest);
        }
    }

    /// The closing wait's deadline passed: give up on the peer.
    fn closing_timeout(&mut self, now: Instant) -> Transition {
        let Some(closing) = self.closing else {
            return Transition::None;
        };
        if now < closing.deadline {
            return Transition::None;
        }
        let reason = (closing.until == Until::PeerClose)
            .then_some(ConnectionError::CloseTimeout(self.config.close_timeout));
        Transition::Closed(reason)
    }

    /// We are done with this connection: close once our output is written.
    fn finish(&mut self, now: Instant) {
        if self.out.unsent_len() == 0 {
            self.enter_closed(now);
        } else {
            self.enter_closing(now, Until::Flushed);
        }
    }

    fn enter_closing(&mut self, now: Instant, until: Until) {
        if self.lifecycle == Lifecycle::Closed {
            return;
        }
        self.advance(Lifecycle::Closing);
        if self.fin == Fin::NotYet {
            self.fin = Fin::Wanted;
        }
        let deadline = match self.closing {
            // A later reason to wait never extends the bound set by the first one.
            Some(closing) => closing.deadline,
            None => now + self.config.close_timeout,
        };
        self.closing = Some(Closing { until, deadline });
        if until == Until::PeerEof {
            // Lingering: what the peer still sends is read and dropped.
            self.phase = match std::mem::replace(&mut self.phase, Phase::Done(None)) {
                Phase::Http(http) => Phase::Done(HubLeftovers::of_http(http)),
                Phase::Done(leftovers) => Phase::Done(leftovers),
                _ => Phase::Done(None),
            };
        }
        self.after_output_progress(now);
    }

    fn enter_closed(&mut self, now: Instant) {
        if self.lifecycle == Lifecycle::Closed {
            return;
        }
        self.out.discard_unsent(now);
        if let Phase::WebSocket(ws) = &self.phase {
            self.out.push_event(Event::Disconnected {
                ip: self.out.client_ip(),
                endpoint: ws.endpoint(),
            });
        }
        let leftovers = match std::mem::replace(&mut self.phase, Phase::Done(None)) {
            Phase::Http(http) => HubLeftovers::of_http(http),
            Phase::EngineWs(mut ws) => {
                let mut leftovers = HubLeftovers::default();
                while let Some(call) = ws.poll_call() {
                    leftovers.calls.push_back(call);
                }
                let (mount, sid) = ws.session();
                leftovers.calls.push_back(HubCall::WsClosed { mount, sid });
                Some(Box::new(leftovers))
            }
            Phase::Done(leftovers) => leftovers,
            Phase::WebSocket(_) => None,
        };
        self.phase = Phase::Done(leftovers);
        self.closing = None;
        self.advance(Lifecycle::Closed);
    }

    /// What the hub or the I/O layer answered a request of the HTTP phase, handed to it; ignored
    /// once the connection left that phase (nobody is left to answer).
    fn handle_http_io(
        &mut self,
        now: Instant,
        answer: impl FnOnce(&mut HttpPhase, &Config, &mut Outbox) -> Transition,
    ) {
        let transition = match &mut self.phase {
            Phase::Http(http) if self.lifecycle == Lifecycle::Http => {
                answer(http, &self.config, &mut self.out)
            }
            _ => return,
        };
        self.apply(now, transition);
        self.after_output_progress(now);
    }

    /// Output was written (or queued): a closing connection may be done, a paused HTTP pipeline
    /// may go on.
    fn after_output_progress(&mut self, now: Instant) {
        if self.out.unsent_len() == 0 {
            if let Some(Closing {
                until: Until::Flushed,
                ..
            }) = self.closing
            {
                self.enter_closed(now);
                return;
            }
        }
        if self.lifecycle != Lifecycle::Http || self.out.unsent_len() > self.config.high_water_mark
        {
            return;
        }
        if let Phase::Http(http) = &mut self.phase {
            let transition = http.resume(now, &self.config, &mut self.out);
            self.apply(now, transition);
        }
    }
}
