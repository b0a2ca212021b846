//! Every Engine.IO session of a server, as one value: the session table, its timers, the random
//! source for sids, and the HTTP/WebSocket-facing API (what quinn-proto's `Endpoint` is to its
//! connections).
//!
//! Nothing here waits. The runtime feeds requests, WebSocket messages and the time in, and polls
//! what to do: events for the layer above, sessions with output for their connections, and the
//! next deadline. A parked polling GET is not a callback: the runtime keeps the open request
//! keyed by its sid, and answers it once [`Engine::poll_ready`] names that sid and
//! [`Engine::poll_get_answer`] has a body.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::fmt;
use std::time::Instant;

use bytes::Bytes;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use serde::Serialize;

use super::config::EngineConfig;
use super::direct::DirectFrame;
use super::event::EngineEvent;
use super::packet::{encode_polling, Packet};
use super::request::{Answer, Method, Request, RequestError};
use super::session::{Context, Session, TransportKind};
use super::sid::SID_RANDOM_BYTES;
use super::websocket::{WsInput, WsOutput};
use super::{Payload, Sid};

/// The sid names no open session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("no open Engine.IO session {0}")]
pub struct UnknownSession(pub Sid);

/// Every Engine.IO session, driven with `handle_*` and drained with `poll_*`.
///
/// The runtime's part, in short:
/// 1. for each request to the Engine.IO path, [`handle_request`](Self::handle_request), then
///    answer as told; keep a parked GET or an accepted WebSocket keyed by its sid;
/// 2. pass WebSocket messages to [`handle_websocket_message`](Self::handle_websocket_message),
///    and report a WebSocket or a parked GET whose connection ended
///    ([`handle_websocket_closed`](Self::handle_websocket_closed),
///    [`handle_get_aborted`](Self::handle_get_aborted));
/// 3. for each sid from [`poll_ready`](Self::poll_ready), answer its parked GET with
///    [`poll_get_answer`](Self::poll_get_answer) and feed its WebSocket from
///    [`poll_websocket`](Self::poll_websocket) (as much as the socket takes; poll again when it
///    drains). A ready sid the engine no longer knows: drop its connections;
/// 4. hand [`poll_event`](Self::poll_event)s to the layer above;
/// 5. call [`handle_timeout`](Self::handle_timeout) once [`poll_timeout`](Self::poll_timeout)
///    has passed.
#[derive(Debug)]
pub struct Engine {
    config: EngineConfig,
    /// Boxed: a table keeps a third or more of its slots empty, and an empty slot costs a
    /// pointer rather than a whole session (issue 9's memory floor: about 75 bytes a session).
    sessions: HashMap<Sid, Box<Session>>,
    rng: SidRng,
    /// Session deadlines, earliest first. Entries go stale when a deadline moves; a session's
    /// `scheduled` tells the live entry apart, so one timeout costs O(log n), not a scan.
    timers: BinaryHeap<Reverse<(Instant, Sid)>>,
    events: VecDeque<EngineEvent>,
    ready: VecDeque<Sid>,
    /// Broadcasts offered straight to sockets ([`Engine::set_direct_delivery`]).
    direct_delivery: bool,
    direct: VecDeque<DirectFrame>,
    /// Counts the rounds of direct offers: a round ends when [`Engine::poll_direct`] runs dry.
    direct_round: u32,
}

/// The CSPRNG behind sids. Its `Debug` hides the state: whoever reads a debug dump of the
/// engine must not be able to predict the next sid.
struct SidRng(ChaCha20Rng);

impl fmt::Debug for SidRng {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SidRng(..)")
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Handshake<'a> {
    sid: &'a str,
    upgrades: &'a [&'a str],
    ping_interval: u128,
    ping_timeout: u128,
    max_payload: usize,
}

impl Engine {
    /// An engine with no sessions. `seed` keys the CSPRNG that draws sids: the runtime takes it
    /// from the OS, a test fixes it.
    pub fn new(config: EngineConfig, seed: [u8; 32]) -> Engine {
        Engine {
            config,
            sessions: HashMap::new(),
            rng: SidRng(ChaCha20Rng::from_seed(seed)),
            timers: BinaryHeap::new(),
            events: VecDeque::new(),
            ready: VecDeque::new(),
            direct_delivery: false,
            direct: VecDeque::new(),
            direct_round: 1,
        }
    }

    /// Whether [`broadcast`](Self::broadcast) offers its frames for writing straight to the
    /// sockets of idle recipients ([`poll_direct`](Self::poll_direct)), rather than queueing
    /// them. Off by default; a runtime that turns it on must take every offer and report the
    /// refusals before anything else happens to the engine.
    pub fn set_direct_delivery(&mut self, on: bool) {
        self.direct_delivery = on;
    }

    /// The settings.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Answers a request to the Engine.IO path, checking it in the reference server's order:
    /// transport, then sid (or, for a handshake, method and protocol version).
    pub fn handle_request(&mut self, request: &Request<'_>, now: Instant) -> Answer {
        let websocket = match request.query.transport {
            Some("polling") => false,
            Some("websocket") => true,
            _ => return Answer::Error(RequestError::UnknownTransport),
        };
        let Some(sid) = request.query.sid else {
            return self.handshake(request, websocket, now);
        };
        let sid = Sid::parse(sid);
        if let Some(sid) = sid {
            self.catch_up(sid, now);
        }
        let Some(sid) = sid.filter(|sid| {
            self.sessions
                .get(sid)
                .is_some_and(|session| session.is_known())
        }) else {
            return Answer::Error(RequestError::UnknownSid);
        };
        if websocket != request.websocket_upgrade {
            return Answer::Error(RequestError::BadRequest);
        }
        let answer = self.with_session(sid, now, |session, cx| {
            if websocket {
                return match session.begin_upgrade(cx) {
                    Ok(()) => Answer::WebSocket(sid),
                    Err(error) => Answer::Error(error),
                };
            }
            if session.transport() == TransportKind::WebSocket {
                return Answer::Error(RequestError::BadRequest);
            }
            match request.method {
                Method::Get => session.handle_get(cx),
                Method::Post => session.handle_post(request.body.clone(), cx),
                Method::Other => Answer::Error(RequestError::BadRequest),
            }
        });
        answer.unwrap_or(Answer::Error(RequestError::UnknownSid))
    }

    fn handshake(&mut self, request: &Request<'_>, websocket: bool, now: Instant) -> Answer {
        if request.method != Method::Get {
            return Answer::Error(RequestError::BadHandshakeMethod);
        }
        if websocket != request.websocket_upgrade {
            return Answer::Error(RequestError::BadRequest);
        }
        if request.query.eio != Some("4") {
            return Answer::Error(RequestError::UnsupportedProtocolVersion);
        }
        let sid = self.new_sid();
        let upgrades: &[&str] = if !websocket && self.config.allow_upgrades {
            &["websocket"]
        } else {
            &[]
        };
        let json = serde_json::to_vec(&Handshake {
            sid: sid.as_str(),
            upgrades,
            ping_interval: self.config.ping_interval.as_millis(),
            ping_timeout: self.config.ping_timeout.as_millis(),
            max_payload: self.config.max_payload,
        })
        .unwrap_or_default();
        let open = Packet::Open(Bytes::from(json));
        let cx = Context {
            config: &self.config,
            now,
            events: &mut self.events,
        };
        let session = if websocket {
            Session::websocket(sid, open.clone(), &cx)
        } else {
            Session::polling(sid, &cx)
        };
        self.sessions.insert(sid, Box::new(session));
        self.events.push_back(EngineEvent::Opened(sid));
        self.settle(sid);
        if websocket {
            Answer::WebSocket(sid)
        } else {
            Answer::Ok(encode_polling([&open]))
        }
    }

    fn new_sid(&mut self) -> Sid {
        loop {
            let mut random = [0u8; SID_RANDOM_BYTES];
            self.rng.0.fill_bytes(&mut random);
            let sid = Sid::from_random(random);
            if !self.sessions.contains_key(&sid) {
                return sid;
            }
        }
    }

    /// A message arrived on the WebSocket accepted for `sid`. An error means the engine has no
    /// such session: close that WebSocket.
    pub fn handle_websocket_message(
        &mut self,
        sid: Sid,
        message: WsInput,
        now: Instant,
    ) -> Result<(), UnknownSession> {
        self.with_session(sid, now, |session, cx| session.handle_ws(message, cx))
            .ok_or(UnknownSession(sid))
    }

    /// The WebSocket accepted for `sid` ended (closed by the peer, or an I/O error), other than
    /// after [`WsOutput::Close`].
    pub fn handle_websocket_closed(&mut self, sid: Sid, now: Instant) {
        self.with_session(sid, now, |session, cx| session.handle_ws_closed(cx));
    }

    /// The GET parked for `sid` ended unanswered (the client went away): as the reference
    /// server, the session closes.
    pub fn handle_get_aborted(&mut self, sid: Sid, now: Instant) {
        self.with_session(sid, now, |session, cx| session.handle_get_aborted(cx));
    }

    /// Runs every session timer due at `now`: pings, ping timeouts, upgrade timeouts and the
    /// end of closing sessions.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(&Reverse((at, sid))) = self.timers.peek() {
            if at > now {
                break;
            }
            self.timers.pop();
            let Some(session) = self.sessions.get_mut(&sid) else {
                continue;
            };
            if session.scheduled != Some(at) {
                continue; // A stale entry: the session's live one is elsewhere in the heap.
            }
            session.scheduled = None;
            let mut cx = Context {
                config: &self.config,
                now,
                events: &mut self.events,
            };
            if session.handle_timeout(&mut cx) {
                // Given up with connections still keyed by its sid: let the runtime drop them.
                self.ready.push_back(sid);
            }
            self.settle(sid);
        }
        self.prune_stale_timers();
    }

    /// Queues a message for one session. `Ok` even if this crosses the high-water mark and
    /// closes the session (reported as [`EngineEvent::Closed`]).
    pub fn send(&mut self, sid: Sid, payload: Payload, now: Instant) -> Result<(), UnknownSession> {
        match self.with_session(sid, now, |session, cx| session.send(payload, cx)) {
            Some(true) => Ok(()),
            _ => Err(UnknownSession(sid)),
        }
    }

    /// Queues one message for many sessions; each queue holds a handle to the same bytes (no
    /// copy per recipient). Returns how many open sessions took it.
    pub fn send_many(
        &mut self,
        sids: impl IntoIterator<Item = Sid>,
        payload: &Payload,
        now: Instant,
    ) -> usize {
        sids.into_iter()
            .filter(|&sid| {
                self.with_session(sid, now, |session, cx| session.send(payload.clone(), cx))
                    == Some(true)
            })
            .count()
    }

    /// Sends a broadcast's messages (a Socket.IO packet and its attachments) to many sessions:
    /// queued, each queue holding a handle to the same bytes, or, with direct delivery on, for
    /// a session with nothing queued, framed once and offered in one [`DirectFrame`] for all
    /// such recipients. Returns how many open sessions took it.
    pub fn broadcast(&mut self, sids: &[Sid], payloads: &[Payload], now: Instant) -> usize {
        let mut taken = 0;
        let mut direct = Vec::new();
        for &sid in sids {
            if self.direct_delivery {
                let round = self.direct_round;
                let offered = self.sessions.get_mut(&sid).is_some_and(|session| {
                    let due = session.deadline().is_some_and(|deadline| deadline <= now);
                    let offered = !due && session.takes_direct(round);
                    if offered {
                        session.direct_round = round;
                    }
                    offered
                });
                if offered {
                    if direct.capacity() == 0 {
                        // Sized once: a broadcast allocates as often for 10 recipients as for
                        // 10,000.
                        direct.reserve_exact(sids.len());
                    }
                    direct.push(sid);
                    taken += 1;
                    continue;
                }
            }
            let mut took = false;
            for payload in payloads {
                took |= self
                    .with_session(sid, now, |session, cx| session.send(payload.clone(), cx))
                    == Some(true);
            }
            taken += usize::from(took);
        }
        if !direct.is_empty() {
            self.direct.push_back(DirectFrame::new(payloads, direct));
        }
        taken
    }

    /// The next broadcast frame offered straight to its recipients' sockets. Write it to each
    /// recipient's WebSocket whose connection has nothing unsent, and report every other one
    /// with [`handle_direct_refused`](Self::handle_direct_refused), before anything else
    /// happens to the engine. `None` ends the round of offers.
    pub fn poll_direct(&mut self) -> Option<DirectFrame> {
        let frame = self.direct.pop_front();
        if frame.is_none() {
            self.direct_round = self.direct_round.wrapping_add(1).max(1);
        }
        frame
    }

    /// `sid` could not take `frame` straight away: its messages are queued first, ahead of
    /// anything queued since the offer, and the session is named ready.
    pub fn handle_direct_refused(&mut self, frame: &DirectFrame, sid: Sid, now: Instant) {
        self.with_session(sid, now, |session, cx| {
            session.requeue_first(&frame.payloads, cx)
        });
    }

    /// Closes a session once its queued packets are delivered (within `close_timeout`).
    pub fn close(&mut self, sid: Sid, now: Instant) -> Result<(), UnknownSession> {
        let known = self.sessions.get(&sid).is_some_and(|s| s.is_known());
        if !known {
            return Err(UnknownSession(sid));
        }
        self.with_session(sid, now, |session, cx| session.close_gracefully(cx));
        Ok(())
    }

    /// The next event for the layer above.
    pub fn poll_event(&mut self) -> Option<EngineEvent> {
        self.events.pop_front()
    }

    /// A session whose connections have something to do: its parked GET can be answered
    /// ([`poll_get_answer`](Self::poll_get_answer)) or its WebSocket has output
    /// ([`poll_websocket`](Self::poll_websocket)). Each sid is named once until polled again.
    pub fn poll_ready(&mut self) -> Option<Sid> {
        let sid = self.ready.pop_front()?;
        if let Some(session) = self.sessions.get_mut(&sid) {
            session.in_ready = false;
        }
        Some(sid)
    }

    /// The body to answer the GET parked for `sid` with (`200`, text/plain), if it can be
    /// answered now; the GET is then no longer parked.
    pub fn poll_get_answer(&mut self, sid: Sid) -> Option<Bytes> {
        let answer = self.sessions.get_mut(&sid)?.take_get_answer();
        // Nothing to answer with: naming the sid again would only bring the caller straight
        // back here (a `poll_ready` loop that never runs dry); new output names it anew.
        self.settle_as(sid, answer.is_some());
        answer
    }

    /// The next message (or the close) for the WebSocket accepted for `sid`.
    pub fn poll_websocket(&mut self, sid: Sid) -> Option<WsOutput> {
        let output = self.sessions.get_mut(&sid)?.take_ws_output();
        self.settle_as(sid, output.is_some());
        output
    }

    /// When [`handle_timeout`](Self::handle_timeout) next has work (possibly early: a wake-up
    /// for a deadline that moved later does nothing).
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.peek().map(|Reverse((at, _))| *at)
    }

    /// Records the address `sid` was opened from (the hub's log lines name it); reported
    /// back by [`client`](Self::client) and in [`EngineEvent::Closed`].
    pub fn set_client(&mut self, sid: Sid, client: std::net::IpAddr) {
        if let Some(session) = self.sessions.get_mut(&sid) {
            session.set_client(client);
        }
    }

    /// The address `sid` was opened from, while the engine knows the session.
    pub fn client(&self, sid: Sid) -> Option<std::net::IpAddr> {
        self.sessions.get(&sid).map(|session| session.client())
    }

    /// Every session's sid.
    pub fn sids(&self) -> impl Iterator<Item = Sid> + '_ {
        self.sessions.keys().copied()
    }

    /// How many sessions the engine holds (closed ones included until they are forgotten).
    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    /// The transport of an open session.
    pub fn transport(&self, sid: Sid) -> Option<TransportKind> {
        self.sessions
            .get(&sid)
            .filter(|s| s.is_known())
            .map(|session| session.transport())
    }

    /// The bytes queued for a session and not yet taken by its connections.
    pub fn queued_bytes(&self, sid: Sid) -> Option<usize> {
        self.sessions
            .get(&sid)
            .map(|session| session.queued_bytes())
    }

    /// Runs `f` on a session with a context, then settles it. `None` if there is no session.
    fn with_session<T>(
        &mut self,
        sid: Sid,
        now: Instant,
        f: impl FnOnce(&mut Session, &mut Context<'_>) -> T,
    ) -> Option<T> {
        self.catch_up(sid, now);
        let session = self.sessions.get_mut(&sid)?;
        let mut cx = Context {
            config: &self.config,
            now,
            events: &mut self.events,
        };
        let out = f(session, &mut cx);
        self.settle(sid);
        Some(out)
    }

    /// Runs a session's timers that are due but not yet run (the runtime's timer may fire a
    /// little after a request that arrives at the deadline): whatever the runtime's timer
    /// precision, an input at or after a deadline sees that deadline's effect.
    fn catch_up(&mut self, sid: Sid, now: Instant) {
        let Some(session) = self.sessions.get_mut(&sid) else {
            return;
        };
        if session.deadline().is_none_or(|deadline| deadline > now) {
            return;
        }
        let mut cx = Context {
            config: &self.config,
            now,
            events: &mut self.events,
        };
        if session.handle_timeout(&mut cx) {
            self.ready.push_back(sid);
        }
        self.settle(sid);
    }

    /// After any change to a session: forget it if finished, name it ready if it has output,
    /// and make sure the timer heap holds its next deadline.
    fn settle(&mut self, sid: Sid) {
        self.settle_as(sid, true);
    }

    /// [`settle`](Self::settle), naming the sid in [`poll_ready`](Self::poll_ready) only when
    /// `may_name_ready` (a poll that found nothing must not name it again).
    fn settle_as(&mut self, sid: Sid, may_name_ready: bool) {
        let Some(session) = self.sessions.get_mut(&sid) else {
            return;
        };
        if session.is_finished() {
            self.sessions.remove(&sid);
            self.prune_stale_timers();
            self.release_spare_capacity();
            return;
        }
        if may_name_ready && !session.in_ready && session.has_output() {
            session.in_ready = true;
            self.ready.push_back(sid);
        }
        if let Some(deadline) = session.deadline() {
            if session.scheduled.is_none_or(|at| deadline < at) {
                session.scheduled = Some(deadline);
                self.timers.push(Reverse((deadline, sid)));
            }
        }
    }

    /// Drops stale entries from the top of the timer heap, so that
    /// [`poll_timeout`](Self::poll_timeout) does not name a deadline of a forgotten session.
    fn prune_stale_timers(&mut self) {
        while let Some(&Reverse((at, sid))) = self.timers.peek() {
            let live = self
                .sessions
                .get(&sid)
                .is_some_and(|session| session.scheduled == Some(at));
            if live {
                return;
            }
            self.timers.pop();
        }
    }

    /// Gives back the table's and the heap's memory once most sessions are gone, so that a
    /// burst of abandoned sessions does not keep its peak for the process's life. Shrinking to
    /// twice the size only when a quarter is used keeps it amortised O(1) per removal.
    fn release_spare_capacity(&mut self) {
        const FLOOR: usize = 64;
        let len = self.sessions.len();
        if self.sessions.capacity() > FLOOR && len * 4 < self.sessions.capacity() {
            self.sessions.shrink_to((len * 2).max(FLOOR));
        }
        let timers = self.timers.len();
        if self.timers.capacity() > FLOOR && timers * 4 < self.timers.capacity() {
            self.timers.shrink_to((timers * 2).max(FLOOR));
        }
        let ready = self.ready.len();
        if self.ready.capacity() > FLOOR && ready * 4 < self.ready.capacity() {
            self.ready.shrink_to((ready * 2).max(FLOOR));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::engineio::Query;

    #[test]
    fn abandoned_sessions_give_their_memory_back() {
        let config = EngineConfig {
            ping_interval: Duration::from_millis(10),
            ping_timeout: Duration::from_millis(10),
            ..EngineConfig::default()
        };
        let mut engine = Engine::new(config, [5; 32]);
        let now = Instant::now();
        let request = Request {
            method: Method::Get,
            query: Query::parse("EIO=4&transport=polling"),
            body: Bytes::new(),
            websocket_upgrade: false,
        };
        for _ in 0..10_000 {
            engine.handle_request(&request, now);
        }
        assert!(engine.sessions.capacity() >= 10_000);
        engine.handle_timeout(now + Duration::from_millis(10));
        engine.handle_timeout(now + Duration::from_millis(20));
        assert_eq!(engine.session_count(), 0);
        assert!(
            engine.sessions.capacity() <= 128,
            "{}",
            engine.sessions.capacity()
        );
        assert!(
            engine.timers.capacity() <= 128,
            "{}",
            engine.timers.capacity()
        );
        assert!(
            engine.ready.capacity() <= 128,
            "{}",
            engine.ready.capacity()
        );
    }

    #[test]
    fn a_debug_dump_does_not_reveal_the_sid_generator() {
        let engine = Engine::new(EngineConfig::default(), [9; 32]);
        let dump = format!("{engine:?}");
        assert!(dump.contains("SidRng(..)"));
        assert!(!dump.contains("ChaCha"), "{dump}");
    }
}
