//! One Engine.IO session: its transport, heartbeat, output queue and the connections the runtime
//! keeps for it, from the handshake to the moment nothing refers to it any more.
//!
//! A session outlives its HTTP requests, so its state says which of the runtime's connections
//! still wait on it: at most one parked polling GET and at most one WebSocket (the session's
//! transport, or a probe during an upgrade). A closed session lingers only until the runtime has
//! taken the last word for those (a `1`/`6` for the GET, a close for the WebSocket) or a bounded
//! time has passed; every other wait has a deadline too, so no client can pin a session.

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv6Addr};
use std::time::Instant;

use bytes::Bytes;

use super::close::{CloseReason, TransportFault};
use super::config::EngineConfig;
use super::event::EngineEvent;
use super::packet::{decode_polling, encode_polling, Packet};
use super::request::{Answer, RequestError};
use super::websocket::{WsInput, WsOutput};
use super::{Payload, Sid};

/// Which transport a session speaks on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransportKind {
    /// HTTP long-polling.
    Polling,
    /// Long-polling, with a WebSocket probing an upgrade.
    Upgrading,
    /// WebSocket.
    WebSocket,
}

/// What a session method needs from the engine: settings, the time, and where events go.
pub(crate) struct Context<'a> {
    pub config: &'a EngineConfig,
    pub now: Instant,
    pub events: &'a mut VecDeque<EngineEvent>,
}

#[derive(Debug)]
enum Transport {
    Polling,
    Upgrading { deadline: Instant, probed: bool },
    WebSocket,
}

#[derive(Debug)]
enum Phase {
    Open,
    /// Closed by the server: the queue drains to the client, then a close, until `until`.
    Closing {
        until: Instant,
    },
    /// Over: only the runtime's connections still need their last word, until `until`.
    Closed {
        until: Instant,
    },
}

#[derive(Debug)]
enum Heartbeat {
    /// The next ping is due then.
    Waiting { next_ping: Instant },
    /// A ping was sent; a pong must come by then.
    AwaitingPong { deadline: Instant },
}

/// The polling GET the runtime keeps open for this session, if any.
#[derive(Debug, PartialEq, Eq)]
enum Get {
    Idle,
    Parked,
    /// The session is over; answer the parked GET with this packet and forget it.
    Final(LastWord),
}

/// The packet a parked GET of an ended session gets: a byte where a [`Packet`] takes 40, in
/// every session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LastWord {
    Noop,
    Close,
}

impl LastWord {
    fn packet(self) -> Packet {
        match self {
            LastWord::Noop => Packet::Noop,
            LastWord::Close => Packet::Close,
        }
    }
}

/// The WebSocket connection the runtime keeps for this session.
#[derive(Debug, Default)]
struct WsLink {
    /// `3probe` is owed.
    reply_probe: bool,
    /// The WebSocket must be closed.
    closing: bool,
}

/// One session's state.
#[derive(Debug)]
pub(crate) struct Session {
    sid: Sid,
    /// The address the session was opened from, as IPv6 (IPv4 mapped): 16 bytes, where an
    /// `IpAddr` takes 17 and its padding more.
    client: Ipv6Addr,
    transport: Transport,
    phase: Phase,
    /// Packets for the client (over polling or WebSocket), sharing their payload bytes.
    queue: VecDeque<Packet>,
    queued_bytes: usize,
    heartbeat: Heartbeat,
    get: Get,
    ws: Option<WsLink>,
    /// The sid is in the engine's ready queue.
    pub(crate) in_ready: bool,
    /// The earliest deadline the engine's timer heap holds for this session.
    pub(crate) scheduled: Option<Instant>,
    /// The engine's direct round in which this session was last offered a broadcast frame
    /// straight to its socket: a second offer in the same round would overtake the first if
    /// the first is refused, so it is queued instead.
    pub(crate) direct_round: u32,
}

impl Session {
    /// A session opened by a polling handshake.
    pub fn polling(sid: Sid, cx: &Context<'_>) -> Session {
        Session::new(sid, Transport::Polling, None, cx)
    }

    /// A session opened on a WebSocket; `open` is its first message.
    pub fn websocket(sid: Sid, open: Packet, cx: &Context<'_>) -> Session {
        let mut session = Session::new(sid, Transport::WebSocket, Some(WsLink::default()), cx);
        session.queued_bytes = open.wire_len();
        session.queue.push_back(open);
        session
    }

    fn new(sid: Sid, transport: Transport, ws: Option<WsLink>, cx: &Context<'_>) -> Session {
        Session {
            sid,
            client: Ipv6Addr::UNSPECIFIED,
            transport,
            phase: Phase::Open,
            queue: VecDeque::new(),
            queued_bytes: 0,
            heartbeat: Heartbeat::Waiting {
                next_ping: cx.now + cx.config.ping_interval,
            },
            get: Get::Idle,
            ws,
            in_ready: false,
            scheduled: None,
            direct_round: 0,
        }
    }

    /// The address the session was opened from (unspecified until set).
    pub fn client(&self) -> IpAddr {
        self.client.to_canonical()
    }

    pub fn set_client(&mut self, client: IpAddr) {
        self.client = match client {
            IpAddr::V4(v4) => v4.to_ipv6_mapped(),
            IpAddr::V6(v6) => v6,
        };
    }

    pub fn transport(&self) -> TransportKind {
        match self.transport {
            Transport::Polling => TransportKind::Polling,
            Transport::Upgrading { .. } => TransportKind::Upgrading,
            Transport::WebSocket => TransportKind::WebSocket,
        }
    }

    pub fn queued_bytes(&self) -> usize {
        self.queued_bytes
    }

    /// Whether requests may still name this session (a closed one is unknown to them).
    pub fn is_known(&self) -> bool {
        !matches!(self.phase, Phase::Closed { .. })
    }

    /// Nothing refers to the session any more: the engine forgets it.
    pub fn is_finished(&self) -> bool {
        matches!(self.phase, Phase::Closed { .. }) && self.get == Get::Idle && self.ws.is_none()
    }

    /// The next moment [`handle_timeout`](Self::handle_timeout) has something to do.
    pub fn deadline(&self) -> Option<Instant> {
        match self.phase {
            Phase::Open => {
                let heartbeat = match self.heartbeat {
                    Heartbeat::Waiting { next_ping } => next_ping,
                    Heartbeat::AwaitingPong { deadline } => deadline,
                };
                Some(match self.transport {
                    Transport::Upgrading { deadline, .. } => heartbeat.min(deadline),
                    _ => heartbeat,
                })
            }
            Phase::Closing { until } | Phase::Closed { until } => Some(until),
        }
    }

    /// Whether the runtime has something to take: an answer for the parked GET or output for
    /// the WebSocket.
    pub fn has_output(&self) -> bool {
        let get = match (&self.get, &self.phase, &self.transport) {
            (Get::Idle, ..) => false,
            (Get::Final(_), ..) | (Get::Parked, _, Transport::WebSocket) => true,
            (Get::Parked, Phase::Closing { .. }, _) => true,
            (Get::Parked, Phase::Closed { .. }, _) => false,
            (Get::Parked, Phase::Open, Transport::Polling) => !self.queue.is_empty(),
            (Get::Parked, Phase::Open, Transport::Upgrading { probed, .. }) => {
                *probed || !self.queue.is_empty()
            }
        };
        let ws = match &self.ws {
            None => false,
            Some(link) => {
                link.closing
                    || link.reply_probe
                    || (matches!(self.transport, Transport::WebSocket)
                        && (!self.queue.is_empty() || matches!(self.phase, Phase::Closing { .. })))
            }
        };
        get || ws
    }

    /// Whether a message may skip the queue and go straight to the WebSocket's socket: an open
    /// WebSocket session with nothing queued before it and nothing else owed to its WebSocket
    /// (a probe reply, a close), not already offered a message in this `round`.
    pub fn takes_direct(&self, round: u32) -> bool {
        matches!(self.phase, Phase::Open)
            && matches!(self.transport, Transport::WebSocket)
            && self.queue.is_empty()
            && self.direct_round != round
            && self
                .ws
                .as_ref()
                .is_some_and(|link| !link.closing && !link.reply_probe)
    }

    /// A message offered straight to the socket was refused (its connection had output
    /// pending, or its socket was full): it goes first in the queue, before anything queued
    /// since it was offered. False if the session no longer takes messages.
    pub fn requeue_first(&mut self, payloads: &[Payload], cx: &mut Context<'_>) -> bool {
        if !matches!(self.phase, Phase::Open) {
            return false;
        }
        for payload in payloads.iter().rev() {
            let packet = Packet::Message(payload.clone());
            self.queued_bytes += packet.wire_len();
            self.queue.push_front(packet);
        }
        if self.queued_bytes > cx.config.high_water_mark {
            let queued = self.queued_bytes;
            self.close_now(CloseReason::BufferFull { queued }, cx);
        }
        true
    }

    /// Runs the timers due at `now`. Returns whether the session was given up with connections
    /// still referring to it (the runtime must learn it from the sid becoming ready).
    pub fn handle_timeout(&mut self, cx: &mut Context<'_>) -> bool {
        match self.phase {
            Phase::Open => {
                if let Transport::Upgrading { deadline, .. } = self.transport {
                    if deadline <= cx.now {
                        self.fail_probe();
                    }
                }
                match self.heartbeat {
                    Heartbeat::Waiting { next_ping } if next_ping <= cx.now => {
                        self.heartbeat = Heartbeat::AwaitingPong {
                            deadline: cx.now + cx.config.ping_timeout,
                        };
                        self.enqueue(Packet::Ping(Bytes::new()), cx);
                    }
                    Heartbeat::AwaitingPong { deadline } if deadline <= cx.now => {
                        self.close_now(CloseReason::PingTimeout, cx);
                    }
                    _ => {}
                }
                false
            }
            Phase::Closing { until } | Phase::Closed { until } if until <= cx.now => {
                let had_connections = self.get != Get::Idle || self.ws.is_some();
                self.queue.clear();
                self.queued_bytes = 0;
                self.get = Get::Idle;
                self.ws = None;
                self.phase = Phase::Closed { until };
                had_connections
            }
            Phase::Closing { .. } | Phase::Closed { .. } => false,
        }
    }

    /// A polling GET arrived (the engine checked the transport).
    pub fn handle_get(&mut self, cx: &mut Context<'_>) -> Answer {
        if self.get != Get::Idle {
            self.close_now(CloseReason::TransportError(TransportFault::PollOverlap), cx);
            return Answer::Error(RequestError::BadRequest);
        }
        self.get = Get::Parked;
        match self.take_get_answer() {
            Some(body) => Answer::Ok(body),
            None => Answer::Parked(self.sid),
        }
    }

    /// A polling POST arrived with this body (the engine checked the transport).
    pub fn handle_post(&mut self, body: Bytes, cx: &mut Context<'_>) -> Answer {
        let ok = Answer::Ok(Bytes::from_static(b"ok"));
        if !matches!(self.phase, Phase::Open) {
            return ok;
        }
        if body.len() > cx.config.max_payload {
            return Answer::Error(RequestError::PayloadTooLarge);
        }
        match decode_polling(body, cx.config.max_payload) {
            Ok(packets) => {
                for packet in packets {
                    if !matches!(self.phase, Phase::Open) {
                        break;
                    }
                    self.handle_packet(packet, cx);
                }
                ok
            }
            Err(error) => {
                self.close_now(CloseReason::ParseError(error), cx);
                Answer::Error(RequestError::BadRequest)
            }
        }
    }

    /// The runtime's parked GET went away unanswered.
    pub fn handle_get_aborted(&mut self, cx: &mut Context<'_>) {
        match std::mem::replace(&mut self.get, Get::Idle) {
            Get::Parked if matches!(self.phase, Phase::Open) => {
                self.close_now(CloseReason::TransportError(TransportFault::PollAborted), cx)
            }
            _ => {}
        }
    }

    /// A WebSocket asks to take over this polling session; on success it is attached as a probe.
    pub fn begin_upgrade(&mut self, cx: &Context<'_>) -> Result<(), RequestError> {
        let idle_polling = matches!(self.transport, Transport::Polling) && self.ws.is_none();
        if !matches!(self.phase, Phase::Open) || !idle_polling || !cx.config.allow_upgrades {
            return Err(RequestError::BadRequest);
        }
        self.transport = Transport::Upgrading {
            deadline: cx.now + cx.config.upgrade_timeout,
            probed: false,
        };
        self.ws = Some(WsLink::default());
        Ok(())
    }

    /// A message arrived on the session's WebSocket.
    pub fn handle_ws(&mut self, input: WsInput, cx: &mut Context<'_>) {
        let Some(link) = &mut self.ws else { return };
        if link.closing || !matches!(self.phase, Phase::Open) {
            return;
        }
        if input.len() > cx.config.max_payload {
            match self.transport {
                Transport::Upgrading { .. } => self.fail_probe(),
                _ => self.close_now(CloseReason::PayloadTooLarge { len: input.len() }, cx),
            }
            return;
        }
        match &mut self.transport {
            Transport::Polling => {}
            Transport::Upgrading { probed, .. } => match input {
                WsInput::Text(text) if &text[..] == b"2probe" => {
                    *probed = true;
                    link.reply_probe = true;
                }
                WsInput::Text(text) if &text[..] == b"5" => {
                    // The client saw `3probe` and paused polling: the queue now goes here.
                    self.transport = Transport::WebSocket;
                    cx.events.push_back(EngineEvent::Upgraded(self.sid));
                }
                _ => self.fail_probe(),
            },
            Transport::WebSocket => {
                let packet = match input {
                    WsInput::Text(text) => match Packet::decode_text(text) {
                        Ok(packet) => packet,
                        Err(error) => return self.close_now(CloseReason::ParseError(error), cx),
                    },
                    WsInput::Binary(data) => Packet::decode_binary(data),
                };
                self.handle_packet(packet, cx);
            }
        }
    }

    /// The runtime's WebSocket for this session went away.
    pub fn handle_ws_closed(&mut self, cx: &mut Context<'_>) {
        if self.ws.take().is_none() || !matches!(self.phase, Phase::Open) {
            return;
        }
        match self.transport {
            Transport::WebSocket => self.close_now(CloseReason::TransportClose, cx),
            // Only the probe failed: the session goes on polling.
            Transport::Upgrading { .. } => self.transport = Transport::Polling,
            Transport::Polling => {}
        }
    }

    /// Queues a message; false if the session no longer takes any.
    pub fn send(&mut self, payload: Payload, cx: &mut Context<'_>) -> bool {
        self.enqueue(Packet::Message(payload), cx)
    }

    /// Closes the session after its queued packets are delivered (or `close_timeout` passes).
    pub fn close_gracefully(&mut self, cx: &mut Context<'_>) {
        if !matches!(self.phase, Phase::Open) {
            return;
        }
        cx.events.push_back(EngineEvent::Closed(
            self.sid,
            CloseReason::ServerClose,
            self.client(),
        ));
        if let Transport::Upgrading { .. } = self.transport {
            self.fail_probe();
        }
        self.phase = Phase::Closing {
            until: cx.now + cx.config.close_timeout,
        };
    }

    /// The body for the parked GET, if it can be answered now (it is then no longer parked).
    pub fn take_get_answer(&mut self) -> Option<Bytes> {
        match std::mem::replace(&mut self.get, Get::Idle) {
            Get::Idle => None,
            Get::Final(last) => Some(encode_polling([&last.packet()])),
            // Upgraded while a GET was pending: release it, the queue belongs to the WebSocket.
            Get::Parked if matches!(self.transport, Transport::WebSocket) => {
                Some(encode_polling([&Packet::Noop]))
            }
            Get::Parked => match self.phase {
                Phase::Closing { until } => {
                    self.queue.push_back(Packet::Close);
                    self.phase = Phase::Closed { until };
                    Some(self.drain_polling())
                }
                Phase::Closed { .. } => None,
                Phase::Open if !self.queue.is_empty() => Some(self.drain_polling()),
                Phase::Open => match self.transport {
                    Transport::Upgrading { probed: true, .. } => {
                        Some(encode_polling([&Packet::Noop]))
                    }
                    _ => {
                        self.get = Get::Parked;
                        None
                    }
                },
            },
        }
    }

    /// The next thing for the session's WebSocket, if any.
    pub fn take_ws_output(&mut self) -> Option<WsOutput> {
        let link = self.ws.as_mut()?;
        if link.closing {
            self.ws = None;
            return Some(WsOutput::Close);
        }
        if link.reply_probe {
            link.reply_probe = false;
            return Some(WsOutput::Message(
                Packet::Pong(Bytes::from_static(b"probe")).to_ws_message(),
            ));
        }
        if !matches!(self.transport, Transport::WebSocket) {
            return None;
        }
        if let Some(packet) = self.queue.pop_front() {
            self.queued_bytes -= packet.wire_len();
            if self.queue.is_empty() && matches!(packet, Packet::Open(_) | Packet::Ping(_)) {
                // The queue drained on the session's own packet (its open, a heartbeat): a
                // quiet moment, at most once per ping interval. An idle session then keeps no
                // queue buffer (room for four packets), while a busy one keeps its buffer from
                // one broadcast to the next.
                self.queue = VecDeque::new();
            }
            return Some(WsOutput::Message(packet.to_ws_message()));
        }
        if let Phase::Closing { until } = self.phase {
            self.phase = Phase::Closed { until };
            self.ws = None;
            return Some(WsOutput::Close);
        }
        None
    }

    fn drain_polling(&mut self) -> Bytes {
        let body = encode_polling(&self.queue);
        self.queue.clear();
        self.queued_bytes = 0;
        body
    }

    fn handle_packet(&mut self, packet: Packet, cx: &mut Context<'_>) {
        match packet {
            Packet::Message(payload) => {
                cx.events.push_back(EngineEvent::Message(self.sid, payload))
            }
            Packet::Pong(_) => {
                self.heartbeat = Heartbeat::Waiting {
                    next_ping: cx.now + cx.config.ping_interval,
                }
            }
            Packet::Ping(_) => {
                self.close_now(CloseReason::TransportError(TransportFault::ClientPing), cx)
            }
            Packet::Close => self.close_now(CloseReason::ClientClose, cx),
            // The reference server ignores these from a client.
            Packet::Open(_) | Packet::Upgrade | Packet::Noop => {}
        }
    }

    fn enqueue(&mut self, packet: Packet, cx: &mut Context<'_>) -> bool {
        if !matches!(self.phase, Phase::Open) {
            return false;
        }
        self.queued_bytes += packet.wire_len();
        self.queue.push_back(packet);
        if self.queued_bytes > cx.config.high_water_mark {
            let queued = self.queued_bytes;
            self.close_now(CloseReason::BufferFull { queued }, cx);
        }
        true
    }

    /// The probing WebSocket failed or timed out: close it, keep polling.
    fn fail_probe(&mut self) {
        self.transport = Transport::Polling;
        if let Some(link) = &mut self.ws {
            link.reply_probe = false;
            link.closing = true;
        }
    }

    /// Ends the session now, dropping its queue; the runtime's connections get their last word.
    fn close_now(&mut self, reason: CloseReason, cx: &mut Context<'_>) {
        match self.phase {
            Phase::Closed { .. } => return,
            // The server's close was already reported.
            Phase::Closing { .. } => {}
            Phase::Open => {
                cx.events
                    .push_back(EngineEvent::Closed(self.sid, reason.clone(), self.client()))
            }
        }
        self.queue.clear();
        self.queued_bytes = 0;
        if self.get == Get::Parked {
            // As the reference server: a client's own close releases the GET with a noop.
            let last = match (&reason, &self.transport) {
                (CloseReason::ClientClose, _) | (_, Transport::WebSocket) => LastWord::Noop,
                _ => LastWord::Close,
            };
            self.get = Get::Final(last);
        }
        if let Some(link) = &mut self.ws {
            link.reply_probe = false;
            link.closing = true;
        }
        self.phase = Phase::Closed {
            until: cx.now + cx.config.close_timeout,
        };
    }
}
