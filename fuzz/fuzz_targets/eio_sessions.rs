//! The Engine.IO [`Engine`] driven by an arbitrary script: several clients handshaking over
//! polling or WebSocket, polling GETs and POSTs (valid, with forged or unknown sids, oversized
//! bodies, a second GET while one is parked), WebSocket messages (probe, upgrade, ping, pong,
//! messages, garbage, oversized), aborted GETs and dropped WebSockets, the server's sends (one
//! sid or `send_many`), closes, and time: punctual timers, late timers (a request arrives after
//! a deadline the runtime has not run yet) and stalled WebSockets whose output is not drained.
//!
//! The harness plays the runtime as the engine's docs ask (it keeps each parked GET and accepted
//! WebSocket by sid, answers them from `poll_ready`, drops them when the engine forgets the
//! session) and the client's side of each connection, which decodes everything it receives.
//!
//! Checks after every step, and why:
//! - no panic; every GET body and WebSocket text message the server writes decodes;
//! - the engine and the runtime agree on connections: a GET is parked at most once per sid, a
//!   sid has at most one WebSocket, and nothing is answered on a connection the runtime does
//!   not hold (else a real runtime would lose or misroute bytes);
//! - each session's queued bytes stay within the high-water mark plus one message (E7), and a
//!   GET body within that plus the base64 and separators;
//! - nothing reaches a session after it is closed: no event after its `Closed`, a send to it
//!   fails, and every message a client receives was sent to it before the close, once, in order;
//! - after `handle_timeout(now)`, `poll_timeout` is later than `now` (else a runtime spins);
//! - at the end, with no client activity for ping interval + ping timeout + upgrade timeout +
//!   close timeout, every session is gone, no deadline is left and the runtime holds no
//!   connection: no client can pin memory by going quiet.
#![no_main]

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::{Duration, Instant};

use bytes::Bytes;
use gif_chat_core::engineio::{
    decode_polling, encode_polling, Answer, Engine, EngineConfig, EngineEvent, Method, Packet,
    Payload, Query, Request, RequestError, Sid, WsMessage, WsOutput,
};
use libfuzzer_sys::fuzz_target;

/// The largest filler of a server message; the message carries its id besides, in its first 8
/// bytes (binary) or as `#<id>;` (text).
const LARGEST_SEND: usize = 600;
/// The most bytes one server message (or the WebSocket handshake's open packet) costs a queue.
const LARGEST_MESSAGE: usize = LARGEST_SEND + 32;

#[path = "eio_sessions/script.rs"]
mod script;

use script::{client_packet, ws_input, Body, Op, Script, Who};

/// What one session looks like from the runtime and its client.
#[derive(Default)]
struct Seen {
    /// The engine reported it closed.
    closed: bool,
    /// Ids of the server's messages sent to it while open, in order.
    sent: Vec<u64>,
    /// How many of `sent` the client has received; they must come as a subsequence.
    received_upto: usize,
}

struct Harness {
    engine: Engine,
    config: EngineConfig,
    now: Instant,
    sids: Vec<Sid>,
    seen: HashMap<Sid, Seen>,
    /// Connections the runtime keeps by sid.
    parked: HashSet<Sid>,
    sockets: HashSet<Sid>,
    /// WebSockets whose socket takes no output for now: the runtime polls them once it
    /// drains (the `Stall(_, false)` op).
    stalled: HashSet<Sid>,
    next_message: u64,
}

impl Harness {
    fn new(config: EngineConfig) -> Harness {
        Harness {
            engine: Engine::new(config.clone(), [3; 32]),
            config,
            now: Instant::now(),
            sids: Vec::new(),
            seen: HashMap::new(),
            parked: HashSet::new(),
            sockets: HashSet::new(),
            stalled: HashSet::new(),
            next_message: 0,
        }
    }

    fn sid_text(&self, who: &Who) -> String {
        match who {
            Who::Session(i) if !self.sids.is_empty() => {
                self.sids[usize::from(*i) % self.sids.len()].to_string()
            }
            Who::Session(i) => Sid::from_random([*i; 15]).to_string(),
            Who::Forged(random) => Sid::from_random(*random).to_string(),
            Who::Garbage(text) => text.clone(),
        }
    }

    fn sid(&self, who: &Who) -> Option<Sid> {
        Sid::parse(&self.sid_text(who))
    }

    /// The `i`th of a set of sids, in a stable order.
    fn pick(set: &HashSet<Sid>, i: u8) -> Option<Sid> {
        let mut sids: Vec<Sid> = set.iter().copied().collect();
        sids.sort();
        (!sids.is_empty()).then(|| sids[usize::from(i) % sids.len()])
    }

    fn request(&mut self, method: Method, query: &str, body: Vec<u8>, upgrade: bool) {
        let request = Request {
            method,
            query: Query::parse(query),
            body: Bytes::from(body),
            websocket_upgrade: upgrade,
        };
        let answer = self.engine.handle_request(&request, self.now);
        match answer {
            Answer::Ok(body) => {
                if method == Method::Get && request.query.sid.is_none() {
                    let handshake = decode_polling(body, usize::MAX).expect("an open packet");
                    let [Packet::Open(json)] = &handshake[..] else {
                        panic!("a handshake answered with {handshake:?}")
                    };
                    self.opened(sid_in(json));
                } else if method == Method::Get {
                    let sid = request.query.sid.and_then(Sid::parse).expect("a known sid");
                    self.client_polled(sid, &body);
                } else {
                    assert_eq!(&body[..], b"ok");
                }
            }
            Answer::Parked(sid) => {
                assert_eq!(
                    Some(sid.as_str()),
                    request.query.sid,
                    "parked for another sid"
                );
                assert!(self.parked.insert(sid), "a second GET parked for {sid}");
            }
            Answer::WebSocket(sid) => {
                assert!(self.sockets.insert(sid), "a second WebSocket for {sid}");
                match request.query.sid {
                    None => self.opened(sid),
                    Some(asked) => assert_eq!(asked, sid.as_str(), "upgraded another sid"),
                }
            }
            Answer::Error(error) => {
                if error == RequestError::PayloadTooLarge {
                    assert!(request.body.len() > self.config.max_payload);
                }
                let transport_ok = matches!(request.query.transport, Some("polling" | "websocket"));
                let never_issued = request.query.sid.is_some_and(|text| {
                    Sid::parse(text).is_none_or(|sid| !self.seen.contains_key(&sid))
                });
                if transport_ok && never_issued {
                    assert_eq!(error, RequestError::UnknownSid, "a forged sid");
                }
            }
        }
    }

    fn opened(&mut self, sid: Sid) {
        assert!(!self.seen.contains_key(&sid), "sid {sid} issued twice");
        self.sids.push(sid);
        self.seen.insert(sid, Seen::default());
    }

    /// The client of `sid` got a GET body: it must decode, and its messages be in order.
    fn client_polled(&mut self, sid: Sid, body: &Bytes) {
        let packets = decode_polling(body.clone(), usize::MAX).expect("a well-formed GET body");
        // Queued bytes count WebSocket lengths; a body adds base64 and separators.
        let bound = (self.config.high_water_mark + LARGEST_MESSAGE) * 4 / 3 + 4 * packets.len();
        assert!(body.len() <= bound, "a GET body of {} bytes", body.len());
        for packet in packets {
            self.client_received(sid, &packet);
        }
    }

    fn client_received(&mut self, sid: Sid, packet: &Packet) {
        let Packet::Message(payload) = packet else {
            assert!(!matches!(packet, Packet::Open(_)) || self.sent_open_ok(sid));
            return;
        };
        let id = message_id(payload).expect("only the server's own messages");
        let seen = self.seen.get_mut(&sid).expect("a session we opened");
        let at = seen.sent[seen.received_upto..]
            .iter()
            .position(|&sent| sent == id)
            .unwrap_or_else(|| panic!("{sid} got message {id} not sent to it (or twice)"));
        seen.received_upto += at + 1;
    }

    /// An open packet reaches a client only as the first WebSocket message.
    fn sent_open_ok(&self, sid: Sid) -> bool {
        self.seen
            .get(&sid)
            .is_some_and(|seen| seen.received_upto == 0)
    }

    fn ws_output(&mut self, sid: Sid, output: WsOutput) {
        match output {
            WsOutput::Close => {
                self.sockets.remove(&sid);
                self.stalled.remove(&sid);
            }
            WsOutput::Message(message) => {
                let packet = match &message {
                    WsMessage::Text { packet_type, .. } => {
                        assert!((b'0'..=b'6').contains(packet_type));
                        Packet::decode_text(Bytes::from(message.to_vec()))
                            .expect("a well-formed text message")
                    }
                    WsMessage::Binary(data) => Packet::decode_binary(data.clone()),
                };
                self.client_received(sid, &packet);
            }
        }
    }

    fn drain_websocket(&mut self, sid: Sid) {
        if self.stalled.contains(&sid) {
            return;
        }
        while self.sockets.contains(&sid) {
            match self.engine.poll_websocket(sid) {
                Some(output) => self.ws_output(sid, output),
                None => break,
            }
        }
    }

    /// Plays the runtime until the engine has nothing left for it.
    fn pump(&mut self) {
        // Each step of the script leaves the engine a bounded amount of work; a runtime whose
        // ready loop never runs dry would spin.
        let mut rounds = 0;
        loop {
            let mut idle = true;
            while let Some(event) = self.engine.poll_event() {
                idle = false;
                self.event(event);
            }
            while let Some(sid) = self.engine.poll_ready() {
                idle = false;
                rounds += 1;
                assert!(rounds < 100_000, "poll_ready keeps naming {sid}");
                // A runtime asks only for the GETs it holds.
                if self.parked.contains(&sid) {
                    if let Some(body) = self.engine.poll_get_answer(sid) {
                        self.parked.remove(&sid);
                        self.client_polled(sid, &body);
                    }
                }
                if self.sockets.contains(&sid) {
                    self.drain_websocket(sid);
                } else {
                    assert_eq!(
                        self.engine.poll_websocket(sid),
                        None,
                        "output for no socket"
                    );
                }
                let forgotten = self.engine.queued_bytes(sid).is_none();
                if forgotten {
                    self.parked.remove(&sid);
                    self.sockets.remove(&sid);
                    self.stalled.remove(&sid);
                }
            }
            if idle {
                return;
            }
        }
    }

    fn event(&mut self, event: EngineEvent) {
        let sid = match &event {
            EngineEvent::Opened(sid)
            | EngineEvent::Message(sid, _)
            | EngineEvent::Upgraded(sid)
            | EngineEvent::Closed(sid, _, _) => *sid,
        };
        let seen = self
            .seen
            .get_mut(&sid)
            .expect("an event of a session we opened");
        assert!(!seen.closed, "{event:?} after the session closed");
        if let EngineEvent::Closed(..) = event {
            seen.closed = true;
        }
    }

    fn is_open(&self, sid: Sid) -> bool {
        self.seen.get(&sid).is_some_and(|seen| !seen.closed)
    }

    fn payload(&mut self, binary: bool, size: u16) -> (u64, Payload) {
        self.next_message += 1;
        let id = self.next_message;
        let filler = usize::from(size) % LARGEST_SEND;
        let payload = if binary {
            let mut bytes = id.to_le_bytes().to_vec();
            bytes.resize(8 + filler, 0xA5);
            Payload::Binary(Bytes::from(bytes))
        } else {
            Payload::text(format!("#{id};{}", "x".repeat(filler)))
        };
        (id, payload)
    }

    fn send(&mut self, who: &Who, binary: bool, size: u16) {
        let Some(sid) = self.sid(who) else { return };
        let was_open = self.is_open(sid);
        let (id, payload) = self.payload(binary, size);
        let result = self.engine.send(sid, payload, self.now);
        if result.is_ok() {
            assert!(was_open, "a send to {sid} after its close was taken");
            if let Some(seen) = self.seen.get_mut(&sid) {
                seen.sent.push(id);
            }
        }
    }

    fn send_many(&mut self, picks: &[u8], binary: bool, size: u16) {
        let recipients: BTreeSet<Sid> = picks
            .iter()
            .filter_map(|&i| self.sid(&Who::Session(i)))
            .collect();
        let open_before: Vec<Sid> = recipients
            .iter()
            .copied()
            .filter(|&sid| self.is_open(sid))
            .collect();
        let (id, payload) = self.payload(binary, size);
        let took = self.engine.send_many(recipients, &payload, self.now);
        assert!(
            took <= open_before.len(),
            "a closed session took a broadcast"
        );
        // Which ones took it is not reported; a session that did may get it, none other.
        for sid in open_before {
            if let Some(seen) = self.seen.get_mut(&sid) {
                seen.sent.push(id);
            }
        }
    }

    /// Queues within the high-water mark plus one message, and a closed session takes nothing
    /// (tried on one closed session per step, in turn, to keep a step cheap).
    fn check_bounds(&mut self, step: usize) {
        let mark = self.config.high_water_mark + LARGEST_MESSAGE;
        for sid in &self.sids {
            if let Some(queued) = self.engine.queued_bytes(*sid) {
                assert!(queued <= mark, "{sid} queues {queued} bytes");
            }
        }
        if let Some(&sid) = self.sids.get(step % self.sids.len().max(1)) {
            if !self.is_open(sid) {
                let (_, payload) = self.payload(false, 0);
                assert!(
                    self.engine.send(sid, payload, self.now).is_err(),
                    "sent after close"
                );
                self.pump();
            }
        }
    }

    fn advance_to(&mut self, at: Instant) {
        self.now = self.now.max(at);
        self.engine.handle_timeout(self.now);
        if let Some(next) = self.engine.poll_timeout() {
            assert!(next > self.now, "a deadline due after handle_timeout");
        }
    }
}

/// The sid in a handshake's JSON.
fn sid_in(json: &Bytes) -> Sid {
    let text = std::str::from_utf8(json).expect("JSON is UTF-8");
    let start = text.find("\"sid\":\"").expect("a sid in the handshake") + 7;
    Sid::parse(&text[start..start + 20]).expect("a well-formed sid")
}

/// The id the harness put in one of its messages.
fn message_id(payload: &Payload) -> Option<u64> {
    match payload {
        Payload::Binary(bytes) => Some(u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?)),
        Payload::Text(bytes) => {
            let text = std::str::from_utf8(bytes.strip_prefix(b"#")?).ok()?;
            text.split_once(';')?.0.parse().ok()
        }
    }
}

fn polling(sid: &str) -> String {
    format!("EIO=4&transport=polling&sid={sid}")
}

fuzz_target!(|script: Script| {
    let config = script.settings.config();
    let mut h = Harness::new(config.clone());
    for (step, op) in script.ops.iter().take(256).enumerate() {
        match op {
            Op::OpenPolling => h.request(Method::Get, "EIO=4&transport=polling", Vec::new(), false),
            Op::OpenWebSocket => {
                h.request(Method::Get, "EIO=4&transport=websocket", Vec::new(), true)
            }
            Op::Get(who) => h.request(Method::Get, &polling(&h.sid_text(who)), Vec::new(), false),
            Op::Post(who, body) => {
                let body = match body {
                    Body::Packets(packets) => {
                        let packets: Vec<Packet> = packets.iter().map(client_packet).collect();
                        encode_polling(&packets).to_vec()
                    }
                    Body::Raw(bytes) => bytes.clone(),
                    Body::Oversized(extra) => {
                        let mut body = b"4".to_vec();
                        body.resize(config.max_payload + 1 + usize::from(*extra), b'x');
                        body
                    }
                };
                h.request(Method::Post, &polling(&h.sid_text(who)), body, false);
            }
            Op::Upgrade(who) => {
                let query = format!("EIO=4&transport=websocket&sid={}", h.sid_text(who));
                h.request(Method::Get, &query, Vec::new(), true);
            }
            Op::Raw(method, query, body, upgrade) => {
                let method = [Method::Get, Method::Post, Method::Other][usize::from(method % 3)];
                h.request(method, query, body.clone(), *upgrade);
            }
            Op::Ws(who, text) => {
                let input = ws_input(text, config.max_payload);
                if let Some(sid) = h.sid(who).filter(|sid| h.sockets.contains(sid)) {
                    // Refused only if the engine forgot the session, possibly just now (a late
                    // timer caught up); the runtime then closes that WebSocket.
                    if h.engine
                        .handle_websocket_message(sid, input, h.now)
                        .is_err()
                    {
                        assert_eq!(h.engine.queued_bytes(sid), None, "{sid} refused but kept");
                        h.sockets.remove(&sid);
                        h.stalled.remove(&sid);
                    }
                } else if let Some(sid) = h.sid(who).filter(|sid| !h.seen.contains_key(sid)) {
                    assert!(h
                        .engine
                        .handle_websocket_message(sid, input, h.now)
                        .is_err());
                }
            }
            Op::WsDropped(i) => {
                if let Some(sid) = Harness::pick(&h.sockets, *i) {
                    h.sockets.remove(&sid);
                    h.stalled.remove(&sid);
                    h.engine.handle_websocket_closed(sid, h.now);
                }
            }
            Op::GetAborted(i) => {
                if let Some(sid) = Harness::pick(&h.parked, *i) {
                    h.parked.remove(&sid);
                    h.engine.handle_get_aborted(sid, h.now);
                }
            }
            Op::Stall(i, stall) => {
                if let Some(sid) = Harness::pick(&h.sockets, *i) {
                    if *stall {
                        h.stalled.insert(sid);
                    } else {
                        h.stalled.remove(&sid);
                        h.drain_websocket(sid);
                    }
                }
            }
            Op::Send(who, binary, size) => h.send(who, *binary, *size),
            Op::SendMany(picks, binary, size) => h.send_many(picks, *binary, *size),
            Op::Close(who) => {
                if let Some(sid) = h.sid(who) {
                    let known = h.engine.close(sid, h.now).is_ok();
                    if known {
                        assert!(h.seen.contains_key(&sid), "closed a session never opened");
                    }
                }
            }
            Op::Wait(ms) => {
                let at = h.now + Duration::from_millis(u64::from(*ms % 2000));
                h.advance_to(at);
            }
            Op::WaitForDeadline => {
                if let Some(at) = h.engine.poll_timeout() {
                    h.advance_to(at);
                }
            }
            Op::Late(ms) => h.now += Duration::from_millis(u64::from(*ms % 2000)),
        }
        h.pump();
        h.check_bounds(step);
    }

    // No client activity from here on: every session must end on its own timeouts.
    let horizon = h.now
        + config.ping_interval
        + config.ping_timeout
        + config.upgrade_timeout
        + config.close_timeout
        + Duration::from_millis(1);
    let mut steps = 0;
    while let Some(at) = h.engine.poll_timeout().filter(|&at| at <= horizon) {
        steps += 1;
        assert!(steps < 100_000, "deadlines that never end");
        h.advance_to(at);
        h.pump();
        h.check_bounds(steps);
    }
    h.advance_to(horizon);
    h.pump();
    assert_eq!(
        h.engine.session_count(),
        0,
        "sessions left after every timeout"
    );
    assert_eq!(
        h.engine.poll_timeout(),
        None,
        "a deadline left with no session"
    );
    assert!(
        h.parked.is_empty(),
        "GETs still parked for forgotten sessions"
    );
    assert!(
        h.sockets.is_empty(),
        "WebSockets still open for forgotten sessions"
    );
});
