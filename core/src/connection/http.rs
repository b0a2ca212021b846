//! The HTTP phase of a connection: request heads, bodies read and dropped, responses, and the
//! upgrade that turns the connection into a WebSocket.
//!
//! Everything that happens while the connection serves plain HTTP is decided here: its input
//! (requests parsed, pipelined ones answered in order), its deadline (the header timeout while a
//! request arrives, the keep-alive timeout between requests) and its answer to a server stop.
//! The phase writes responses and access-log lines into the [`Outbox`] it is lent and returns what
//! the connection as a whole should do as a [`Transition`]: linger after a final response, close,
//! or become a WebSocket.
//!
//! A request to a chat route (SPEC §6) becomes a [`ChatExchange`] that holds the pipeline, as
//! an Engine.IO request does, until the hub answered it (and the I/O layer stored its upload or
//! read its file); its response is written here like every other, access-log line included.

mod chat;

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::chat::ChatExchange;
use super::engineio_http::{self, HubRequest};
use super::outbox::Outbox;
use super::transition::{EngineUpgrade, Transition, Upgrade};
use crate::chat::session_from_cookie_header;
use crate::config::Config;
use crate::engineio::{Answer, RequestError, Sid};
use crate::event::{AccessLog, ConnectionError};
use crate::http::{
    accept_upgrade_for, error_response, parse_request, route, BodyDecoder, ChatRoute, Endpoint,
    HttpError, RequestHead,
};
use crate::hub::{HubCall, Mount};
use crate::upload::UploadStep;

/// Input and timers of a connection serving plain HTTP.
#[derive(Debug)]
pub(super) struct HttpPhase {
    /// Received bytes not yet parsed; `buf[pos..]` is pending.
    buf: Vec<u8>,
    pos: usize,
    /// What follows the last request head: its body, being read and dropped, or, for a request
    /// to an Engine.IO path, the request until the hub answers it (the pipeline waits). One
    /// field for both, as they never overlap: every idle connection carries this phase.
    after: AfterHead,
    /// When the request being read began; `None` between requests.
    request_started: Option<Instant>,
    /// Header timeout while a request is read, keep-alive timeout between requests.
    deadline: Instant,
    /// The server is stopping: no keep-alive, no new WebSocket.
    stopping: bool,
}

/// What follows a request head.
#[derive(Debug)]
enum AfterHead {
    /// Nothing: the next request head.
    Idle,
    /// A body to read and drop.
    Body(BodyDecoder),
    /// A request the hub has (or will have once its body is read).
    Hub(Box<HubRequest>),
    /// A request to a chat route, until its response is written (and, when the connection
    /// closes after it, until what it owes the I/O layer is handed over).
    Chat(Box<ChatExchange>),
}

/// What one step of the request pipeline leads to.
enum Step {
    /// Parse the next request.
    Continue,
    /// Stop parsing for now: more input is needed.
    Wait,
    /// The phase ends, or the connection must change.
    Done(Transition),
}

impl HttpPhase {
    /// A fresh connection, accepted at `now`: its first request head is due within the header
    /// timeout.
    pub(super) fn new(now: Instant, config: &Config) -> Self {
        HttpPhase {
            buf: Vec::new(),
            pos: 0,
            after: AfterHead::Idle,
            request_started: None,
            deadline: now + config.header_timeout,
            stopping: false,
        }
    }

    /// The header or keep-alive deadline, or the chat's answer timeout; none while the hub has
    /// an Engine.IO request (a parked GET waits as long as its session has nothing to say; the
    /// session's heartbeat bounds that).
    pub(super) fn deadline(&self) -> Option<Instant> {
        match &self.after {
            AfterHead::Hub(hub) if hub.body.is_none() => None,
            _ => Some(self.deadline),
        }
    }

    fn hub(&self) -> Option<&HubRequest> {
        match &self.after {
            AfterHead::Hub(hub) => Some(hub),
            _ => None,
        }
    }

    fn hub_mut(&mut self) -> Option<&mut HubRequest> {
        match &mut self.after {
            AfterHead::Hub(hub) => Some(hub),
            _ => None,
        }
    }

    /// The mount of a request the hub was handed and has not answered (not a parked GET).
    pub(super) fn awaiting_answer(&self) -> Option<Mount> {
        let hub = self.hub()?;
        (hub.body.is_none() && hub.call.is_none() && hub.parked.is_none()).then_some(hub.mount)
    }

    /// Whether input waiting behind a request the hub holds has grown past a request head's
    /// limit: read no more until the hub answers (a parked GET must not buffer without bound).
    pub(super) fn backlog_full(&self, config: &Config) -> bool {
        // Upload pieces not taken yet: the I/O layer sets the pace (backpressure).
        if self.chat().is_some_and(ChatExchange::has_upload_steps) {
            return true;
        }
        let waiting = self.hub().is_some_and(|hub| hub.body.is_none())
            || self.chat().is_some_and(ChatExchange::is_waiting);
        waiting && self.pending().len() > config.http_limits.max_header_bytes
    }

    /// What the phase still owes the hub and the I/O layer when the connection ends: the end
    /// of a parked GET, the mount of an unanswered Engine.IO request, an upload's last steps
    /// (an upload under way is aborted).
    pub(super) fn into_leftovers(self) -> (Option<Mount>, Vec<HubCall>, Vec<UploadStep>) {
        let asked = self.awaiting_answer();
        let mut calls = Vec::new();
        if let Some((mount, sid)) = self.parked() {
            calls.push(HubCall::GetAborted { mount, sid });
        }
        let steps = match self.after {
            AfterHead::Chat(chat) => chat.into_upload_steps(),
            _ => Vec::new(),
        };
        (asked, calls, steps)
    }

    /// Whether a call for the hub is ready.
    pub(super) fn has_hub_call(&self) -> bool {
        self.hub().is_some_and(|hub| hub.call.is_some())
    }

    /// The call for the hub, once the request to an Engine.IO path is complete.
    pub(super) fn poll_hub_call(&mut self) -> Option<HubCall> {
        self.hub_mut()?.call.take()
    }

    /// The session whose GET this connection holds parked.
    pub(super) fn parked(&self) -> Option<(Mount, Sid)> {
        let hub = self.hub()?;
        Some((hub.mount, hub.parked?))
    }

    /// The hub's answer to the request it was handed.
    pub(super) fn handle_hub_answer(
        &mut self,
        now: Instant,
        answer: Answer,
        config: &Config,
        out: &mut Outbox,
    ) -> Transition {
        let mut hub = match std::mem::replace(&mut self.after, AfterHead::Idle) {
            AfterHead::Hub(hub) => hub,
            other => {
                self.after = other;
                return Transition::None;
            }
        };
        let keep_alive = hub.head.keep_alive() && !self.stopping && hub.upgrade.is_none();
        let transition = match answer {
            Answer::Parked(sid) => {
                hub.parked = Some(sid);
                self.after = AfterHead::Hub(hub);
                return Transition::None;
            }
            Answer::Ok(body) => {
                engineio_http::write_ok(out.bytes_mut(), &hub.head, &body, keep_alive);
                if keep_alive {
                    Transition::None
                } else {
                    Transition::AwaitPeerEof
                }
            }
            Answer::WebSocket(sid) => match hub.upgrade.take() {
                Some((switching, rest)) => {
                    out.bytes_mut().extend_from_slice(&switching);
                    Transition::EngineUpgrade(EngineUpgrade {
                        mount: hub.mount,
                        sid,
                        forwarded_for: hub.head.x_forwarded_for.clone(),
                        rest,
                    })
                }
                None => {
                    let error = RequestError::BadRequest;
                    engineio_http::write_error(out.bytes_mut(), &hub.head, error, false);
                    Transition::AwaitPeerEof
                }
            },
            // A parked GET whose session is gone: there is nobody to answer for.
            Answer::Error(_) if hub.parked.is_some() => Transition::Closed(None),
            Answer::Error(error) => {
                let keep_alive = keep_alive && error != RequestError::PayloadTooLarge;
                engineio_http::write_error(out.bytes_mut(), &hub.head, error, keep_alive);
                if keep_alive {
                    Transition::None
                } else {
                    Transition::AwaitPeerEof
                }
            }
        };
        self.deadline = now + config.keep_alive_timeout;
        transition
    }

    /// Bytes read from the socket: serves every complete request among them.
    pub(super) fn handle_input(
        &mut self,
        now: Instant,
        input: &[u8],
        config: &Config,
        out: &mut Outbox,
    ) -> Transition {
        self.buf.extend_from_slice(input);
        self.resume(now, config, out)
    }

    /// Serves every complete request in the buffer, pausing while the output is over the
    /// high-water mark so that a pipelining client cannot grow it without bound. Called again
    /// once output was written.
    pub(super) fn resume(&mut self, now: Instant, config: &Config, out: &mut Outbox) -> Transition {
        let mut transition = Transition::None;
        while out.unsent_len() <= config.high_water_mark {
            match self.step(now, config, out) {
                Step::Continue => {}
                Step::Wait => break,
                Step::Done(done) => {
                    transition = done;
                    break;
                }
            }
        }
        self.compact();
        transition
    }

    /// The deadline passed (or not yet: early calls change nothing): a request that is still
    /// arriving, or a keep-alive connection left idle, is closed.
    pub(super) fn handle_timeout(
        &mut self,
        now: Instant,
        config: &Config,
        out: &mut Outbox,
    ) -> Transition {
        if now < self.deadline || self.deadline().is_none() {
            return Transition::None;
        }
        if let Some(chat) = self.chat_mut().filter(|chat| chat.is_waiting()) {
            // The hub or the I/O layer did not answer in time: the visitor hears so.
            let outcome = chat.timed_out(config);
            return self.after_chat(now, outcome, config, out);
        }
        let reason = self
            .is_mid_request()
            .then_some(ConnectionError::HeaderTimeout(config.header_timeout));
        Transition::Closed(reason)
    }

    /// The server is stopping (B4): the responses already queued are written, then the
    /// connection closes. A request still arriving is not waited for: the stop has a deadline,
    /// a slow client does not get to hold it.
    pub(super) fn handle_stop(&mut self) -> Transition {
        if self.stopping {
            return Transition::None;
        }
        self.stopping = true;
        if self.hub().is_some_and(|hub| hub.body.is_none())
            || self.chat().is_some_and(ChatExchange::is_waiting)
        {
            // The hub has the request (a parked GET is released by the hub's own shutdown):
            // its answer goes out, then the connection closes.
            return Transition::None;
        }
        Transition::Finish
    }

    /// Whether part of a request (head or body) has arrived.
    fn is_mid_request(&self) -> bool {
        self.request_started.is_some()
            || matches!(self.after, AfterHead::Body(_))
            || self.chat().is_some_and(ChatExchange::is_reading)
            || self.pos < self.buf.len()
    }

    fn pending(&self) -> &[u8] {
        self.buf.get(self.pos..).unwrap_or_default()
    }

    /// Drops parsed bytes; frees the buffer when nothing is pending.
    fn compact(&mut self) {
        if self.pos >= self.buf.len() {
            self.buf = Vec::new();
        } else if self.pos > 0 {
            self.buf.drain(..self.pos);
        }
        self.pos = 0;
    }

    fn step(&mut self, now: Instant, config: &Config, out: &mut Outbox) -> Step {
        if matches!(self.after, AfterHead::Chat(_)) {
            return self.chat_step(now, config, out);
        }
        if let AfterHead::Hub(hub) = &mut self.after {
            let step = hub_body_step(
                hub,
                &mut self.pos,
                &self.buf,
                now,
                config,
                out,
                &mut self.deadline,
            );
            if matches!(step, Step::Done(_)) {
                self.after = AfterHead::Idle;
            }
            return step;
        }
        if self.pending().is_empty() {
            return Step::Wait;
        }
        if let AfterHead::Body(body) = &mut self.after {
            return match body.decode(self.buf.get(self.pos..).unwrap_or_default()) {
                Ok((n, done)) => {
                    self.pos += n;
                    if done {
                        self.after = AfterHead::Idle;
                        self.request_started = None;
                        self.deadline = now + config.keep_alive_timeout;
                        Step::Continue
                    } else {
                        // A body that keeps arriving keeps the connection; a stalled one does not.
                        self.deadline = now + config.header_timeout;
                        Step::Wait
                    }
                }
                Err(error) => Step::Done(fail_request(config, out, None, error)),
            };
        }
        let started = *self.request_started.get_or_insert(now);
        if started == now {
            self.deadline = now + config.header_timeout;
        }
        match parse_request(self.pending(), &config.http_limits) {
            Ok(None) => Step::Wait,
            Err(error) => Step::Done(fail_request(config, out, None, error)),
            Ok(Some((head, n))) => {
                self.pos += n;
                self.request_started = None;
                if let Some(mount) = Mount::for_path(head.path(), config.hub.conformance) {
                    return self.engine_request(mount, started, head, config, out);
                }
                if head.is_upgrade() {
                    let rest = self.pending().to_vec();
                    self.pos = self.buf.len();
                    return Step::Done(self.upgrade(started, head, rest, config, out));
                }
                if let Some(route) = ChatRoute::for_request(&head.method, head.path()) {
                    return self.chat_request(now, route, started, head, config, out);
                }
                self.respond(now, started, head, config, out)
            }
        }
    }

    /// Takes a request to an Engine.IO path: checks what the HTTP layer checks (origin, the
    /// WebSocket handshake, the body's size), then reads it whole for the hub.
    fn engine_request(
        &mut self,
        mount: Mount,
        started: Instant,
        head: RequestHead,
        config: &Config,
        out: &mut Outbox,
    ) -> Step {
        let client_ip = config
            .trust_proxy
            .client_ip(out.client_ip(), head.x_forwarded_for.as_deref());
        if head.is_upgrade() {
            let rest = self.pending().to_vec();
            self.pos = self.buf.len();
            if self.stopping || head.content_length.is_some_and(|n| n > 0) || head.chunked {
                return Step::Done(self.upgrade(started, head, rest, config, out));
            }
            return match accept_upgrade_for(&head, &config.origins, &config.site, config.app_env) {
                Err(_) => Step::Done(self.upgrade(started, head, rest, config, out)),
                Ok(switching) => {
                    let mut hub = HubRequest::new(mount, head, client_ip);
                    hub.visitor = visitor_of(&hub.head, config);
                    hub.upgrade = Some((switching, rest));
                    hub.complete(Bytes::new());
                    self.after = AfterHead::Hub(Box::new(hub));
                    Step::Wait
                }
            };
        }
        if !engineio_http::origin_allowed(&head, config) {
            engineio_http::write_forbidden(out.bytes_mut(), &head);
            return Step::Done(Transition::AwaitPeerEof);
        }
        let keep_alive = head.keep_alive() && !self.stopping;
        if head.method == "OPTIONS" {
            engineio_http::write_preflight(out.bytes_mut(), &head, keep_alive);
            if !keep_alive {
                return Step::Done(Transition::AwaitPeerEof);
            }
            return self.skip_body(started, head, config, out);
        }
        let body = match BodyDecoder::new(&head, config.hub.engine.max_payload as u64) {
            Ok(body) => body,
            Err(HttpError::PayloadTooLarge) => {
                let error = RequestError::PayloadTooLarge;
                engineio_http::write_error(out.bytes_mut(), &head, error, false);
                return Step::Done(Transition::AwaitPeerEof);
            }
            Err(error) => {
                return Step::Done(fail_request(config, out, Some((started, &head)), error));
            }
        };
        let mut hub = HubRequest::new(mount, head, client_ip);
        hub.visitor = visitor_of(&hub.head, config);
        match body {
            Some(mut body) => {
                body.keep();
                hub.body = Some(body);
            }
            None => hub.complete(Bytes::new()),
        }
        self.after = AfterHead::Hub(Box::new(hub));
        Step::Continue
    }

    /// After a preflight: the body, if any, is read and dropped like any other.
    fn skip_body(
        &mut self,
        now: Instant,
        head: RequestHead,
        config: &Config,
        out: &mut Outbox,
    ) -> Step {
        match BodyDecoder::new(&head, config.max_body_bytes) {
            Ok(body) => {
                self.deadline = if body.is_some() {
                    now + config.header_timeout
                } else {
                    now + config.keep_alive_timeout
                };
                self.after = body.map_or(AfterHead::Idle, AfterHead::Body);
                Step::Continue
            }
            Err(error) => Step::Done(fail_request(config, out, Some((now, &head)), error)),
        }
    }

    /// Answers a plain request and, with keep-alive, gets ready for its body and the next one.
    fn respond(
        &mut self,
        now: Instant,
        started: Instant,
        head: RequestHead,
        config: &Config,
        out: &mut Outbox,
    ) -> Step {
        let body = match BodyDecoder::new(&head, config.max_body_bytes) {
            Ok(body) => body,
            Err(error) => {
                return Step::Done(fail_request(config, out, Some((started, &head)), error));
            }
        };
        let response = route(&head, &config.site, config.app_env);
        let keep_alive = head.keep_alive() && !self.stopping;
        let ka = keep_alive.then_some(config.keep_alive_timeout);
        response.write_to(out.bytes_mut(), head.is_head(), ka);
        out.push_access(
            started,
            access_entry(&head, response.status, response.content_length()),
        );
        if !keep_alive {
            return Step::Done(Transition::AwaitPeerEof);
        }
        self.deadline = if body.is_some() {
            now + config.header_timeout
        } else {
            now + config.keep_alive_timeout
        };
        self.after = body.map_or(AfterHead::Idle, AfterHead::Body);
        Step::Continue
    }

    /// The opening handshake: `101` and a WebSocket, or the rejection and a close.
    fn upgrade(
        &self,
        started: Instant,
        head: RequestHead,
        rest: Vec<u8>,
        config: &Config,
        out: &mut Outbox,
    ) -> Transition {
        if head.content_length.is_some_and(|n| n > 0) || head.chunked {
            let error = HttpError::BadRequest("upgrade request with a body");
            return fail_request(config, out, Some((started, &head)), error);
        }
        let accepted = if self.stopping {
            Err(error_response(
                503,
                "the server is stopping",
                &config.site,
                config.app_env,
            ))
        } else {
            accept_upgrade_for(&head, &config.origins, &config.site, config.app_env)
        };
        match accepted {
            Err(response) => {
                response.write_to(out.bytes_mut(), false, None);
                out.push_access(
                    started,
                    access_entry(&head, response.status, response.content_length()),
                );
                Transition::AwaitPeerEof
            }
            Ok(switching) => {
                out.bytes_mut().extend_from_slice(&switching);
                Transition::Upgrade(Upgrade {
                    endpoint: Endpoint::for_path(head.path()),
                    forwarded_for: head.x_forwarded_for,
                    rest,
                })
            }
        }
    }
}

/// The pipeline while the hub has a request: its body is read (and kept) until complete;
/// then nothing more is parsed until the hub answers.
fn hub_body_step(
    hub: &mut HubRequest,
    pos: &mut usize,
    buf: &[u8],
    now: Instant,
    config: &Config,
    out: &mut Outbox,
    deadline: &mut Instant,
) -> Step {
    let Some(body) = &mut hub.body else {
        return Step::Wait;
    };
    let pending = buf.get(*pos..).unwrap_or_default();
    if pending.is_empty() {
        return Step::Wait;
    }
    match body.decode(pending) {
        Ok((n, done)) => {
            *pos += n;
            if done {
                let bytes = body.take_kept();
                hub.body = None;
                hub.complete(Bytes::from(bytes));
            } else {
                *deadline = now + config.header_timeout;
            }
            Step::Wait
        }
        Err(HttpError::PayloadTooLarge) => {
            let error = RequestError::PayloadTooLarge;
            engineio_http::write_error(out.bytes_mut(), &hub.head, error, false);
            Step::Done(Transition::AwaitPeerEof)
        }
        Err(error) => Step::Done(fail_request(config, out, None, error)),
    }
}

/// Answers a request the server refuses (SPEC §4), then closes. Requests whose head could be
/// parsed (`request`: when it began, and its head) get an access-log line; unparsable ones an
/// error line.
fn fail_request(
    config: &Config,
    out: &mut Outbox,
    request: Option<(Instant, &RequestHead)>,
    error: HttpError,
) -> Transition {
    let response = error_response(
        error.status(),
        &error.to_string(),
        &config.site,
        config.app_env,
    );
    let head_only = request.is_some_and(|(_, head)| head.is_head());
    response.write_to(out.bytes_mut(), head_only, None);
    match request {
        Some((started, head)) => out.push_access(
            started,
            access_entry(head, response.status, response.content_length()),
        ),
        None => out.push_error(ConnectionError::Http(error)),
    }
    Transition::AwaitPeerEof
}

/// The visitor whose signed cookie a request carries, if any (no session is made here).
fn visitor_of(head: &RequestHead, config: &Config) -> Option<crate::chat::SessionId> {
    let cookie = head.cookie.as_deref()?;
    session_from_cookie_header(cookie, &config.cookie_secret)
}

fn access_entry(head: &RequestHead, status: u16, content_length: Option<usize>) -> AccessLog {
    AccessLog {
        method: head.method.clone(),
        target: head.target.clone(),
        status,
        elapsed: Duration::ZERO,
        content_length,
    }
}
