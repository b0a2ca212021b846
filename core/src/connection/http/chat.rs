//! The chat's part of the HTTP phase (SPEC §6): a request to a chat route becomes a
//! [`ChatExchange`], and this is where the phase hands it body bytes and the answers of the hub
//! and the I/O layer, and writes what it decides: its response (with a new visitor's cookie and
//! the access-log line), a `100 Continue`, or nothing yet.
//!
//! A child of `http.rs` so that it shares the phase's private state, and kept apart from it so
//! that the seed's HTTP and the chat's each read as one idea.

use std::time::Instant;

use bytes::Bytes;

use super::super::chat::{ChatExchange, Outcome};
use super::super::outbox::Outbox;
use super::super::transition::Transition;
use super::{access_entry, fail_request, AfterHead, HttpPhase, Step};
use crate::chat::{ChatAnswer, ChatRequest, GifName};
use crate::config::Config;
use crate::http::{ChatRoute, RequestHead};
use crate::upload::{UploadFailure, UploadStep};

impl HttpPhase {
    /// The chat exchange that holds the pipeline, if any.
    pub(super) fn chat(&self) -> Option<&ChatExchange> {
        match &self.after {
            AfterHead::Chat(chat) => Some(chat),
            _ => None,
        }
    }

    /// [`chat`](Self::chat), to change.
    pub(super) fn chat_mut(&mut self) -> Option<&mut ChatExchange> {
        match &mut self.after {
            AfterHead::Chat(chat) => Some(chat),
            _ => None,
        }
    }

    /// The chat request for the hub, once.
    pub(in crate::connection) fn poll_chat_request(&mut self) -> Option<ChatRequest> {
        self.chat_mut()?.poll_chat_request()
    }

    /// The next upload step for the I/O layer.
    pub(in crate::connection) fn poll_upload(&mut self) -> Option<UploadStep> {
        self.chat_mut()?.poll_upload()
    }

    /// The uploaded image to read, once.
    pub(in crate::connection) fn poll_file_read(&mut self) -> Option<GifName> {
        self.chat_mut()?.poll_file_read()
    }

    /// Whether a chat exchange waits for the hub or the I/O layer, or has steps for it.
    pub(in crate::connection) fn awaits_chat_io(&self) -> bool {
        self.chat().is_some_and(ChatExchange::awaits_io)
    }

    /// The hub's answer to the chat request.
    pub(in crate::connection) fn handle_chat_answer(
        &mut self,
        now: Instant,
        answer: ChatAnswer,
        config: &Config,
        out: &mut Outbox,
    ) -> Transition {
        let Some(chat) = self.chat_mut() else {
            return Transition::None;
        };
        let outcome = chat.handle_answer(answer, config);
        self.after_chat(now, outcome, config, out)
    }

    /// The I/O layer stored the upload (or could not).
    pub(in crate::connection) fn handle_upload_stored(
        &mut self,
        now: Instant,
        stored: Result<GifName, UploadFailure>,
        config: &Config,
        out: &mut Outbox,
    ) -> Transition {
        let Some(chat) = self.chat_mut() else {
            return Transition::None;
        };
        let outcome = chat.handle_stored(stored);
        self.after_chat(now, outcome, config, out)
    }

    /// The I/O layer read the file (or there is none).
    pub(in crate::connection) fn handle_file(
        &mut self,
        now: Instant,
        file: Option<Bytes>,
        config: &Config,
        out: &mut Outbox,
    ) -> Transition {
        let Some(chat) = self.chat_mut() else {
            return Transition::None;
        };
        let outcome = chat.handle_file(file, config);
        self.after_chat(now, outcome, config, out)
    }

    /// Applies what the exchange decided after an answer: a response, or reading on.
    pub(super) fn after_chat(
        &mut self,
        now: Instant,
        outcome: Outcome,
        config: &Config,
        out: &mut Outbox,
    ) -> Transition {
        if matches!(outcome, Outcome::Read) {
            // The body is read from now on: it must keep arriving.
            self.deadline = now + config.header_timeout;
            self.send_continue(out);
        }
        match self.chat_outcome(now, outcome, config, out) {
            Step::Done(transition) => transition,
            Step::Continue | Step::Wait => Transition::None,
        }
    }

    /// The pipeline while a chat exchange has the request: its body, if it is reading one.
    pub(super) fn chat_step(&mut self, now: Instant, config: &Config, out: &mut Outbox) -> Step {
        let AfterHead::Chat(chat) = &mut self.after else {
            return Step::Wait;
        };
        if !chat.is_reading() {
            return Step::Wait;
        }
        let pending = self.buf.get(self.pos..).unwrap_or_default();
        if pending.is_empty() {
            return Step::Wait;
        }
        let (n, outcome) = chat.input(pending, config);
        self.pos += n;
        if chat.is_reading() {
            // A body that keeps arriving keeps the connection; a stalled one does not.
            self.deadline = now + config.header_timeout;
        }
        self.chat_outcome(now, outcome, config, out)
    }

    /// Starts a chat exchange for a request to a chat route.
    pub(super) fn chat_request(
        &mut self,
        now: Instant,
        route: ChatRoute,
        started: Instant,
        head: RequestHead,
        config: &Config,
        out: &mut Outbox,
    ) -> Step {
        let client_ip = config
            .trust_proxy
            .client_ip(out.client_ip(), head.x_forwarded_for.as_deref());
        let (chat, outcome) = ChatExchange::start(route, head, started, client_ip, config);
        let reading = chat.is_reading();
        self.after = AfterHead::Chat(Box::new(chat));
        if reading {
            self.deadline = now + config.header_timeout;
            self.send_continue(out);
        }
        self.chat_outcome(now, outcome, config, out)
    }

    /// `100 Continue` for a chat request whose client waits for it before sending its body,
    /// once the body is to be read (an upload: once the hub allowed it).
    pub(super) fn send_continue(&self, out: &mut Outbox) {
        if self.chat().is_some_and(|chat| chat.head.expect_continue) {
            out.bytes_mut()
                .extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
        }
    }

    /// Does what a chat exchange decided: wait, read on, or write its response (with the new
    /// visitor's cookie) and go on to the next request or close.
    pub(super) fn chat_outcome(
        &mut self,
        now: Instant,
        outcome: Outcome,
        config: &Config,
        out: &mut Outbox,
    ) -> Step {
        let AfterHead::Chat(chat) = &self.after else {
            return Step::Wait;
        };
        let (mut response, close) = match outcome {
            // Reading a body: the loop goes on to the bytes already here.
            Outcome::Wait if chat.is_reading() => return Step::Continue,
            Outcome::Wait => {
                if chat.is_waiting() {
                    // Bounded: a store that never answers does not hold the connection.
                    self.deadline = now + config.chat_answer_timeout;
                }
                return Step::Wait;
            }
            Outcome::Read => return Step::Continue,
            Outcome::Fail(error) => {
                let request = Some((chat.started, &chat.head));
                return Step::Done(fail_request(config, out, request, error));
            }
            Outcome::Respond { response, close } => (response, close),
        };
        if let Some(cookie) = chat.new_cookie() {
            response.headers.push(("Set-Cookie", cookie.to_owned()));
        }
        let keep_alive = !close && chat.head.keep_alive() && !self.stopping;
        let ka = keep_alive.then_some(config.keep_alive_timeout);
        response.write_to(out.bytes_mut(), chat.head.is_head(), ka);
        out.push_access(
            chat.started,
            access_entry(&chat.head, response.status, response.content_length()),
        );
        if !keep_alive {
            // The exchange stays until the phase ends: it may owe the I/O layer an `Abort`.
            return Step::Done(Transition::AwaitPeerEof);
        }
        self.after = AfterHead::Idle;
        self.request_started = None;
        self.deadline = now + config.keep_alive_timeout;
        Step::Continue
    }
}
