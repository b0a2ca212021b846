//! The HTTP phase of a connection: request heads, bodies read and dropped, responses, and the
//! upgrade that turns the connection into a WebSocket.
//!
//! Everything that happens while the connection serves plain HTTP is decided here: its input
//! (requests parsed, pipelined ones answered in order), its deadline (the header timeout while a
//! request arrives, the keep-alive timeout between requests) and its answer to a server stop.
//! The phase writes responses and access-log lines into the [`Outbox`] it is lent and returns what
//! the connection as a whole should do as a [`Transition`]: linger after a final response, close,
//! or become a WebSocket.

use std::time::{Duration, Instant};

use super::outbox::Outbox;
use super::transition::{Transition, Upgrade};
use crate::config::Config;
use crate::event::{AccessLog, ConnectionError};
use crate::http::{
    accept_upgrade_for, error_response, parse_request, route, BodyDecoder, Endpoint, HttpError,
    RequestHead,
};

/// Input and timers of a connection serving plain HTTP.
#[derive(Debug)]
pub(super) struct HttpPhase {
    /// Received bytes not yet parsed; `buf[pos..]` is pending.
    buf: Vec<u8>,
    pos: usize,
    /// The body of the last request, being read and dropped.
    body: Option<BodyDecoder>,
    /// When the request being read began; `None` between requests.
    request_started: Option<Instant>,
    /// Header timeout while a request is read, keep-alive timeout between requests.
    deadline: Instant,
    /// The server is stopping: no keep-alive, no new WebSocket.
    stopping: bool,
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
            body: None,
            request_started: None,
            deadline: now + config.header_timeout,
            stopping: false,
        }
    }

    pub(super) fn deadline(&self) -> Instant {
        self.deadline
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
    pub(super) fn handle_timeout(&mut self, now: Instant, config: &Config) -> Transition {
        if now < self.deadline {
            return Transition::None;
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
        Transition::Finish
    }

    /// Whether part of a request (head or body) has arrived.
    fn is_mid_request(&self) -> bool {
        self.request_started.is_some() || self.body.is_some() || self.pos < self.buf.len()
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
        if self.pending().is_empty() {
            return Step::Wait;
        }
        if let Some(body) = &mut self.body {
            return match body.decode(self.buf.get(self.pos..).unwrap_or_default()) {
                Ok((n, done)) => {
                    self.pos += n;
                    if done {
                        self.body = None;
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
                if head.is_upgrade() {
                    let rest = self.pending().to_vec();
                    self.pos = self.buf.len();
                    return Step::Done(self.upgrade(started, head, rest, config, out));
                }
                self.respond(now, started, head, config, out)
            }
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
        self.body = body;
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

fn access_entry(head: &RequestHead, status: u16, content_length: Option<usize>) -> AccessLog {
    AccessLog {
        method: head.method.clone(),
        target: head.target.clone(),
        status,
        elapsed: Duration::ZERO,
        content_length,
    }
}
