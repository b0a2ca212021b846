//! The HTTP phase of a connection: request heads, bodies read and dropped, responses, and the
//! upgrade that turns the connection into a WebSocket.

use std::time::Instant;

use super::{Connection, Phase, Until};
use crate::event::{AccessLog, ConnectionError, Event};
use crate::http::{
    accept_upgrade_for, error_response, parse_request, route, BodyDecoder, Endpoint, HttpError,
    RequestHead,
};
use crate::lifecycle::Lifecycle;

use super::websocket::WsPhase;

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
}

impl HttpPhase {
    pub(super) fn new(deadline: Instant) -> Self {
        HttpPhase {
            buf: Vec::new(),
            pos: 0,
            body: None,
            request_started: None,
            deadline,
        }
    }

    pub(super) fn push(&mut self, input: &[u8]) {
        self.buf.extend_from_slice(input);
    }

    pub(super) fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Whether part of a request (head or body) has arrived.
    pub(super) fn is_mid_request(&self) -> bool {
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
}

/// What a parsed request asks of the connection.
enum Next {
    /// Parse the next request.
    Continue,
    /// Stop parsing for now (more input needed, output above the high-water mark, or the phase
    /// ended).
    Stop,
}

impl Connection {
    /// Serves every complete request in the buffer, pausing while the output is over the
    /// high-water mark so that a pipelining client cannot grow it without bound.
    pub(super) fn process_http(&mut self, now: Instant) {
        loop {
            if self.lifecycle != Lifecycle::Http
                || self.out.unsent_len() > self.config.high_water_mark
            {
                break;
            }
            match self.next_http_step(now) {
                Next::Continue => {}
                Next::Stop => break,
            }
        }
        if let Phase::Http(http) = &mut self.phase {
            http.compact();
        }
    }

    fn next_http_step(&mut self, now: Instant) -> Next {
        let config = &self.config;
        let Phase::Http(http) = &mut self.phase else {
            return Next::Stop;
        };
        if http.pending().is_empty() {
            return Next::Stop;
        }
        if let Some(body) = &mut http.body {
            return match body.decode(http.buf.get(http.pos..).unwrap_or_default()) {
                Ok((n, done)) => {
                    http.pos += n;
                    if done {
                        http.body = None;
                        http.request_started = None;
                        http.deadline = now + config.keep_alive_timeout;
                        Next::Continue
                    } else {
                        // A body that keeps arriving keeps the connection; a stalled one does not.
                        http.deadline = now + config.header_timeout;
                        Next::Stop
                    }
                }
                Err(error) => {
                    self.fail_request(now, None, None, error);
                    Next::Stop
                }
            };
        }
        let started = *http.request_started.get_or_insert(now);
        if started == now {
            http.deadline = now + config.header_timeout;
        }
        match parse_request(http.pending(), &config.http_limits) {
            Ok(None) => Next::Stop,
            Err(error) => {
                self.fail_request(now, None, None, error);
                Next::Stop
            }
            Ok(Some((head, n))) => {
                http.pos += n;
                http.request_started = None;
                if head.is_upgrade() {
                    let rest = http.pending().to_vec();
                    http.pos = http.buf.len();
                    self.upgrade(now, started, head, &rest);
                    return Next::Stop;
                }
                self.respond(now, started, head)
            }
        }
    }

    /// Answers a plain request and, with keep-alive, gets ready for its body and the next one.
    fn respond(&mut self, now: Instant, started: Instant, head: RequestHead) -> Next {
        let body = match BodyDecoder::new(&head, self.config.max_body_bytes) {
            Ok(body) => body,
            Err(error) => {
                self.fail_request(now, Some(started), Some(&head), error);
                return Next::Stop;
            }
        };
        let response = route(&head, &self.config.site, self.config.app_env);
        let keep_alive = head.keep_alive() && !self.stopping;
        let ka = keep_alive.then_some(self.config.keep_alive_timeout);
        response.write_to(self.out.bytes_mut(), head.is_head(), ka);
        self.out.push_access(
            started,
            access_entry(&head, response.status, response.content_length()),
        );
        if !keep_alive {
            self.enter_closing(now, Until::PeerEof);
            return Next::Stop;
        }
        let Phase::Http(http) = &mut self.phase else {
            return Next::Stop;
        };
        http.deadline = if body.is_some() {
            now + self.config.header_timeout
        } else {
            now + self.config.keep_alive_timeout
        };
        http.body = body;
        Next::Continue
    }

    /// Answers a request the server refuses (SPEC §4), then closes. Requests whose head could be
    /// parsed get an access-log line; unparsable ones an error line.
    fn fail_request(
        &mut self,
        now: Instant,
        started: Option<Instant>,
        head: Option<&RequestHead>,
        error: HttpError,
    ) {
        let response = error_response(
            error.status(),
            &error.to_string(),
            &self.config.site,
            self.config.app_env,
        );
        let head_only = head.is_some_and(RequestHead::is_head);
        response.write_to(self.out.bytes_mut(), head_only, None);
        match (head, started) {
            (Some(head), Some(started)) => {
                self.out.push_access(
                    started,
                    access_entry(head, response.status, response.content_length()),
                );
            }
            _ => self.push_error(ConnectionError::Http(error)),
        }
        self.enter_closing(now, Until::PeerEof);
    }

    /// The opening handshake: `101` and a WebSocket, or the rejection and a close.
    fn upgrade(&mut self, now: Instant, started: Instant, head: RequestHead, rest: &[u8]) {
        self.advance(Lifecycle::Connecting);
        if head.content_length.is_some_and(|n| n > 0) || head.chunked {
            let error = HttpError::BadRequest("upgrade request with a body");
            self.fail_request(now, Some(started), Some(&head), error);
            return;
        }
        let accepted = if self.stopping {
            Err(error_response(
                503,
                "the server is stopping",
                &self.config.site,
                self.config.app_env,
            ))
        } else {
            accept_upgrade_for(
                &head,
                &self.config.origins,
                &self.config.site,
                self.config.app_env,
            )
        };
        match accepted {
            Err(response) => {
                response.write_to(self.out.bytes_mut(), false, None);
                self.out.push_access(
                    started,
                    access_entry(&head, response.status, response.content_length()),
                );
                self.enter_closing(now, Until::PeerEof);
            }
            Ok(switching) => {
                self.out.bytes_mut().extend_from_slice(&switching);
                let endpoint = Endpoint::for_path(head.path());
                self.client_ip = self
                    .config
                    .trust_proxy
                    .client_ip(self.peer.ip(), head.x_forwarded_for.as_deref());
                self.phase = Phase::WebSocket(WsPhase::new(endpoint, now, &self.config));
                self.advance(Lifecycle::Open);
                self.out.push_event(Event::Connected {
                    ip: self.client_ip,
                    endpoint,
                });
                if !rest.is_empty() {
                    self.process_websocket(now, rest);
                }
            }
        }
    }
}

fn access_entry(head: &RequestHead, status: u16, content_length: Option<usize>) -> AccessLog {
    AccessLog {
        method: head.method.clone(),
        target: head.target.clone(),
        status,
        elapsed: std::time::Duration::ZERO,
        content_length,
    }
}
