//! One chat request inside the HTTP phase (SPEC §6), from its head to its response: the visitor
//! read from the signed cookie (or a new session made), the same-origin check, the form read,
//! then the [`ChatRequest`] for the hub, an upload streamed to the I/O layer, or a file read by
//! it, and the response that comes of the answer.
//!
//! The exchange decides; the HTTP phase (`http.rs`) feeds it bytes and answers and writes what
//! it returns. While the exchange waits for the hub or the I/O layer, the pipeline waits too, as
//! it does for an Engine.IO request: answers go out in request order.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::chat::pages::{create_page, password_page, room_page, rooms_page};
use crate::chat::{
    session_from_cookie_header, set_cookie_header, ChatAction, ChatAnswer, ChatRefusal,
    ChatRequest, ChatText, GifName, Password, RoomId, RoomMax, SessionId, StoredImage, Title,
};
use crate::config::Config;
use crate::http::chat::{
    chat_text, form_field, image, input_message, json_error, json_posted, page, query_field,
    redirect, room_location, rooms_with_error, ChatRoute,
};
use crate::http::response::Response;
use crate::http::{error_response, BodyDecoder, HttpError, RequestHead};
use crate::upload::{
    boundary_from_content_type, UploadFailure, UploadReceiver, UploadRefusal, UploadStep,
};

/// The text of a refused cross-site POST.
const CROSS_SITE: &str = "다른 사이트에서 보낸 요청은 받지 않습니다.";

/// What the HTTP phase should do next with an exchange.
#[derive(Debug)]
pub(super) enum Outcome {
    /// Wait: for more body, or for the hub or the I/O layer.
    Wait,
    /// Read on: the exchange takes the body bytes that are pending (an upload was allowed).
    Read,
    /// Write this response and end the exchange; `close` when the connection cannot go on
    /// (the body was not read, or an upload was refused halfway).
    Respond { response: Response, close: bool },
    /// A body framing error: the seed's error page, then close.
    Fail(HttpError),
}

/// Why the hub was asked.
#[derive(Debug, Clone, Copy)]
enum Purpose {
    /// The route's own action.
    Action,
    /// The password was wrong (or unusable, with this message): the room is asked for again,
    /// to show its form with the error.
    PasswordRetry(&'static str),
    /// May this upload's body be read?
    MayUpload,
    /// The upload is stored: post its line.
    GifStored,
}

#[derive(Debug)]
enum Stage {
    /// A form's body, read whole before anything is decided.
    Form(BodyDecoder),
    /// A request for the hub, until the runtime takes it.
    Ask(ChatRequest, Purpose),
    /// The hub has the request.
    Asked(Purpose),
    /// An allowed upload's body, streamed through [`ChatExchange::upload`].
    Stream(BodyDecoder),
    /// The upload is complete; the I/O layer stores it.
    Storing,
    /// A file for the I/O layer to read, until it takes the name.
    ReadFile(StoredImage),
    /// The I/O layer reads the file.
    Reading(StoredImage),
    /// The response is written (the connection is closing).
    Answered,
}

/// One chat request.
#[derive(Debug)]
pub(super) struct ChatExchange {
    pub(super) head: RequestHead,
    /// When the request began, for the access log.
    pub(super) started: Instant,
    route: ChatRoute,
    /// The visitor, from the cookie or new; `None` for the files, which need none.
    visitor: Option<SessionId>,
    /// The `Set-Cookie` value for a new visitor.
    new_cookie: Option<String>,
    client_ip: IpAddr,
    stage: Stage,
    upload: Option<UploadReceiver>,
    /// The create form's values as typed, shown again with a refusal (never the password).
    typed: Option<(String, String)>,
}

impl ChatExchange {
    /// The exchange for a request to a chat route, and what to do first.
    pub(super) fn start(
        route: ChatRoute,
        head: RequestHead,
        started: Instant,
        client_ip: IpAddr,
        config: &Config,
    ) -> (ChatExchange, Outcome) {
        let (visitor, new_cookie) = if matches!(route, ChatRoute::File(_)) {
            (None, None)
        } else {
            let known = head
                .cookie
                .as_deref()
                .and_then(|cookie| session_from_cookie_header(cookie, &config.cookie_secret));
            match known {
                Some(id) => (Some(id), None),
                None => {
                    let id = config.session_ids.next_id();
                    let cookie = set_cookie_header(&id, &config.cookie_secret, false);
                    (Some(id), Some(cookie))
                }
            }
        };
        let mut exchange = ChatExchange {
            head,
            started,
            route,
            visitor,
            new_cookie,
            client_ip,
            stage: Stage::Answered,
            upload: None,
            typed: None,
        };
        let outcome = exchange.begin(config);
        (exchange, outcome)
    }

    /// The `Set-Cookie` a new visitor's responses carry.
    pub(super) fn new_cookie(&self) -> Option<&str> {
        self.new_cookie.as_deref()
    }

    /// Whether the exchange waits for the hub or the I/O layer (not for the peer).
    pub(super) fn is_waiting(&self) -> bool {
        matches!(
            self.stage,
            Stage::Ask(..)
                | Stage::Asked(_)
                | Stage::Storing
                | Stage::ReadFile(_)
                | Stage::Reading(_)
        )
    }

    /// Whether the exchange reads body bytes now.
    pub(super) fn is_reading(&self) -> bool {
        matches!(self.stage, Stage::Form(_) | Stage::Stream(_))
    }

    /// Whether upload steps wait for the I/O layer: the connection reads no more until taken.
    pub(super) fn has_upload_steps(&self) -> bool {
        self.upload.as_ref().is_some_and(UploadReceiver::has_steps)
    }

    /// Whether the exchange waits for the I/O layer or the hub, or has steps for it.
    pub(super) fn awaits_io(&self) -> bool {
        self.is_waiting() || self.has_upload_steps()
    }

    /// The request for the hub, once.
    pub(super) fn poll_chat_request(&mut self) -> Option<ChatRequest> {
        match std::mem::replace(&mut self.stage, Stage::Answered) {
            Stage::Ask(request, purpose) => {
                self.stage = Stage::Asked(purpose);
                Some(request)
            }
            other => {
                self.stage = other;
                None
            }
        }
    }

    /// The next upload step.
    pub(super) fn poll_upload(&mut self) -> Option<UploadStep> {
        self.upload.as_mut()?.poll_step()
    }

    /// The file to read, once.
    pub(super) fn poll_file_read(&mut self) -> Option<GifName> {
        match std::mem::replace(&mut self.stage, Stage::Answered) {
            Stage::ReadFile(image) => {
                let name = image.name().clone();
                self.stage = Stage::Reading(image);
                Some(name)
            }
            other => {
                self.stage = other;
                None
            }
        }
    }

    /// The exchange ends early (the connection closes): an upload under way is aborted; the
    /// steps still owed to the I/O layer.
    pub(super) fn into_upload_steps(mut self) -> Vec<UploadStep> {
        let Some(upload) = &mut self.upload else {
            return Vec::new();
        };
        upload.abort();
        std::iter::from_fn(|| upload.poll_step()).collect()
    }

    /// Body bytes: consumes what belongs to the body, returns how many and what next.
    pub(super) fn input(&mut self, pending: &[u8], config: &Config) -> (usize, Outcome) {
        match &mut self.stage {
            Stage::Form(body) => match body.decode(pending) {
                Ok((n, true)) => {
                    let form = body.take_kept();
                    (n, self.act(&form, config))
                }
                Ok((n, false)) => (n, Outcome::Wait),
                Err(error) => (0, Outcome::Fail(error)),
            },
            Stage::Stream(body) => {
                let decoded = body.decode(pending);
                let data = body.drain_kept();
                let Some(upload) = &mut self.upload else {
                    return (0, Outcome::Wait);
                };
                let (n, done) = match decoded {
                    Ok(progress) => progress,
                    Err(HttpError::PayloadTooLarge) => {
                        upload.abort();
                        let refusal = UploadRefusal::TooLarge(config.upload_max_bytes);
                        return (0, self.refuse_upload(&refusal));
                    }
                    Err(error) => {
                        upload.abort();
                        return (0, Outcome::Fail(error));
                    }
                };
                let mut received = upload.push(&data);
                if done && received.is_ok() {
                    received = upload.finish();
                }
                match received {
                    Err(refusal) => (n, self.refuse_upload(&refusal)),
                    Ok(()) if done => {
                        self.stage = Stage::Storing;
                        (n, Outcome::Wait)
                    }
                    Ok(()) => (n, Outcome::Wait),
                }
            }
            _ => (0, Outcome::Wait),
        }
    }

    /// The hub's answer to the request it was given.
    pub(super) fn handle_answer(&mut self, answer: ChatAnswer, config: &Config) -> Outcome {
        let purpose = match self.stage {
            Stage::Asked(purpose) => purpose,
            _ => return Outcome::Wait,
        };
        self.stage = Stage::Answered;
        if let ChatAnswer::Refused(refusal @ ChatRefusal::TooFast { .. }) = &answer {
            if self.route.is_api() {
                return self.respond_api_refusal(refusal, matches!(purpose, Purpose::MayUpload));
            }
        }
        match (purpose, answer) {
            (Purpose::MayUpload, ChatAnswer::UploadAllowed) => self.start_streaming(config),
            (Purpose::MayUpload, ChatAnswer::Refused(refusal)) => {
                self.respond_api_refusal(&refusal, true)
            }
            (Purpose::GifStored, ChatAnswer::Posted(chat)) => respond(json_posted(&chat)),
            (Purpose::GifStored, ChatAnswer::Refused(refusal)) => {
                self.respond_api_refusal(&refusal, false)
            }
            (
                Purpose::PasswordRetry(message),
                ChatAnswer::Refused(ChatRefusal::PasswordNeeded(room)),
            ) => respond(page(403, password_page(&room, Some(message)))),
            (Purpose::PasswordRetry(_), answer) => self.entered_or_away(answer),
            (Purpose::Action, answer) => self.action_answer(answer, config),
            (_, answer) => unexpected(&answer, config),
        }
    }

    /// The I/O layer kept the upload (or could not).
    pub(super) fn handle_stored(&mut self, stored: Result<GifName, UploadFailure>) -> Outcome {
        if !matches!(self.stage, Stage::Storing) {
            return Outcome::Wait;
        }
        let room = match (&self.route, &self.visitor) {
            (ChatRoute::Upload(Some(room)), Some(_)) => *room,
            _ => return Outcome::Wait,
        };
        match stored {
            Ok(gif) => {
                let bytes = self.upload.as_ref().map_or(0, UploadReceiver::file_bytes);
                self.ask(
                    ChatAction::GifStored { room, gif, bytes },
                    Purpose::GifStored,
                )
            }
            Err(UploadFailure::Storage(_)) => {
                // What the disk said is for the server's log, not the visitor.
                self.stage = Stage::Answered;
                respond(json_error(500, "파일을 저장하지 못했습니다."))
            }
        }
    }

    /// The file the I/O layer read, or `None` when there is none.
    pub(super) fn handle_file(&mut self, file: Option<Bytes>, config: &Config) -> Outcome {
        let Stage::Reading(image_wanted) = &self.stage else {
            return Outcome::Wait;
        };
        let kind = image_wanted.kind();
        self.stage = Stage::Answered;
        match file {
            Some(bytes) => respond(image(kind, bytes.to_vec())),
            None => respond(not_found(&self.head, config)),
        }
    }

    /// The hub or the I/O layer did not answer within the answer timeout: 503, and the
    /// connection closes (a late answer finds it gone). An upload under way is aborted.
    pub(super) fn timed_out(&mut self, config: &Config) -> Outcome {
        self.stage = Stage::Answered;
        if let Some(upload) = &mut self.upload {
            upload.abort();
        }
        let refusal = ChatRefusal::Store(crate::chat::StoreError::Busy);
        let response = if self.route.is_api() {
            json_error(503, refusal.message())
        } else {
            error_response(503, refusal.message(), &config.site, config.app_env)
        };
        Outcome::Respond {
            response,
            close: true,
        }
    }

    // ---- deciding ----

    fn begin(&mut self, config: &Config) -> Outcome {
        if let ChatRoute::Upload(room) = self.route {
            return self.begin_upload(room, config);
        }
        match BodyDecoder::new(&self.head, config.max_body_bytes) {
            Ok(Some(mut body)) => {
                body.keep();
                self.stage = Stage::Form(body);
                Outcome::Wait
            }
            Ok(None) => self.act(&[], config),
            Err(error) => Outcome::Fail(error),
        }
    }

    /// The request is whole (its form read): checks it and acts.
    fn act(&mut self, form: &[u8], config: &Config) -> Outcome {
        self.stage = Stage::Answered;
        if self.route.is_post() && !self.same_origin(config) {
            return respond(self.cross_site(config));
        }
        match self.route.clone() {
            ChatRoute::Rooms => self.ask(ChatAction::ListRooms, Purpose::Action),
            ChatRoute::CreateForm => respond(page(200, create_page(None, "", "10"))),
            ChatRoute::Create => {
                let title = form_field(form, "title").unwrap_or_default();
                let max = form_field(form, "max").unwrap_or_default();
                let password = form_field(form, "password").unwrap_or_default();
                let checked = Title::new(&title).and_then(|title| {
                    let max = RoomMax::parse(&max)?;
                    Ok((title, max, Password::optional(&password)?))
                });
                match checked {
                    Err(error) => respond(page(
                        400,
                        create_page(Some(input_message(error)), &title, &max),
                    )),
                    Ok((title_ok, max_ok, password)) => {
                        self.typed = Some((title, max));
                        let action = ChatAction::CreateRoom {
                            title: title_ok,
                            max: max_ok,
                            password,
                        };
                        self.ask(action, Purpose::Action)
                    }
                }
            }
            ChatRoute::Enter(None) | ChatRoute::Password(None) => respond(redirect(
                rooms_with_error(ChatRefusal::NoSuchRoom.message()),
            )),
            ChatRoute::Enter(Some(room)) => self.ask(
                ChatAction::Enter {
                    room,
                    password: None,
                },
                Purpose::Action,
            ),
            ChatRoute::Password(Some(room)) => {
                let typed = form_field(form, "password").unwrap_or_default();
                match Password::new(&typed) {
                    Ok(password) => self.ask(
                        ChatAction::Enter {
                            room,
                            password: Some(password),
                        },
                        Purpose::Action,
                    ),
                    Err(error) => self.retry_password(room, input_message(error)),
                }
            }
            ChatRoute::PostChat(None) => {
                let refusal = ChatRefusal::NoSuchRoom;
                respond(json_error(refusal.status(), refusal.message()))
            }
            ChatRoute::PostChat(Some(room)) => {
                let text = chat_text(self.head.content_type.as_deref(), form);
                match text.as_deref().map(ChatText::new) {
                    None => respond(json_error(
                        400,
                        input_message(crate::chat::InputError::ChatEmpty),
                    )),
                    Some(Err(error)) => respond(json_error(400, input_message(error))),
                    Some(Ok(text)) => {
                        self.ask(ChatAction::PostChat { room, text }, Purpose::Action)
                    }
                }
            }
            // `begin` already sent an upload here, before its body: not reached again.
            ChatRoute::Upload(room) => self.begin_upload(room, config),
            ChatRoute::File(image) => {
                self.stage = Stage::ReadFile(image);
                Outcome::Wait
            }
        }
    }

    /// An upload: checked from its head (origin, type, size), then the hub is asked whether
    /// this visitor may post to the room before a byte of the body is read.
    fn begin_upload(&mut self, room: Option<RoomId>, config: &Config) -> Outcome {
        let closing = |response| Outcome::Respond {
            response,
            close: true,
        };
        if !self.same_origin(config) {
            return closing(self.cross_site(config));
        }
        let Some(room) = room else {
            let refusal = ChatRefusal::NoSuchRoom;
            return closing(json_error(refusal.status(), refusal.message()));
        };
        let boundary = self
            .head
            .content_type
            .as_deref()
            .ok_or(crate::upload::MultipartError::NotMultipart)
            .and_then(boundary_from_content_type);
        if let Err(error) = boundary {
            return self.refuse_upload(&UploadRefusal::Multipart(error));
        }
        let limit = UploadReceiver::max_body_bytes(config.upload_max_bytes);
        match BodyDecoder::new(&self.head, limit) {
            Ok(Some(_)) => self.ask(ChatAction::MayUpload { room }, Purpose::MayUpload),
            Ok(None) => self.refuse_upload(&UploadRefusal::NoFile),
            Err(HttpError::PayloadTooLarge) => {
                self.refuse_upload(&UploadRefusal::TooLarge(config.upload_max_bytes))
            }
            Err(error) => Outcome::Fail(error),
        }
    }

    /// The hub allowed the upload: its body is read from now on.
    fn start_streaming(&mut self, config: &Config) -> Outcome {
        let boundary = self
            .head
            .content_type
            .as_deref()
            .map(boundary_from_content_type);
        let limit = UploadReceiver::max_body_bytes(config.upload_max_bytes);
        match (boundary, BodyDecoder::new(&self.head, limit)) {
            (Some(Ok(boundary)), Ok(Some(mut body))) => {
                body.keep();
                self.upload = Some(UploadReceiver::new(&boundary, config.upload_max_bytes));
                self.stage = Stage::Stream(body);
                Outcome::Read
            }
            // Checked before the hub was asked: the head has not changed since.
            _ => self.refuse_upload(&UploadRefusal::NoFile),
        }
    }

    fn action_answer(&mut self, answer: ChatAnswer, config: &Config) -> Outcome {
        match (self.route.clone(), answer) {
            (ChatRoute::Rooms, ChatAnswer::Rooms(rooms)) => {
                let error = query_field(&self.head.target, "error");
                respond(page(200, rooms_page(&rooms, error.as_deref())))
            }
            (ChatRoute::Rooms, ChatAnswer::Refused(refusal)) => respond(page(
                refusal.status(),
                rooms_page(&[], Some(refusal.message())),
            )),
            (ChatRoute::Create, ChatAnswer::Created(room)) => {
                respond(redirect(room_location(room.id)))
            }
            (ChatRoute::Create, ChatAnswer::Refused(refusal)) => {
                let (title, max) = self.typed.take().unwrap_or_default();
                let html = create_page(Some(refusal.message()), &title, &max);
                respond(page(refusal.status(), html))
            }
            (ChatRoute::Enter(_), ChatAnswer::Entered { room, history, me }) => {
                respond(page(200, room_page(&room, &history, me)))
            }
            (ChatRoute::Enter(_), ChatAnswer::Refused(ChatRefusal::PasswordNeeded(room))) => {
                respond(page(200, password_page(&room, None)))
            }
            (ChatRoute::Enter(_), ChatAnswer::Refused(refusal)) => {
                respond(redirect(rooms_with_error(refusal.message())))
            }
            (ChatRoute::Password(Some(room)), ChatAnswer::Refused(ChatRefusal::WrongPassword)) => {
                self.retry_password(room, ChatRefusal::WrongPassword.message())
            }
            (ChatRoute::Password(_), answer) => self.entered_or_away(answer),
            (ChatRoute::PostChat(_), ChatAnswer::Posted(chat)) => respond(json_posted(&chat)),
            (ChatRoute::PostChat(_), ChatAnswer::Refused(refusal)) => {
                self.respond_api_refusal(&refusal, false)
            }
            (_, answer) => unexpected(&answer, config),
        }
    }

    /// After the password form: in the room, or back to the list with why not.
    fn entered_or_away(&mut self, answer: ChatAnswer) -> Outcome {
        match (&self.route, answer) {
            (ChatRoute::Password(Some(room)), ChatAnswer::Entered { .. }) => {
                respond(redirect(room_location(*room)))
            }
            (
                ChatRoute::Password(Some(_)),
                ChatAnswer::Refused(ChatRefusal::PasswordNeeded(room)),
            ) => respond(page(200, password_page(&room, None))),
            (_, ChatAnswer::Refused(refusal)) => {
                respond(redirect(rooms_with_error(refusal.message())))
            }
            (_, _) => respond(redirect("/rooms".to_owned())),
        }
    }

    /// The password form again, with `message`: the room is asked for once more, since the
    /// form shows it.
    fn retry_password(&mut self, room: RoomId, message: &'static str) -> Outcome {
        let action = ChatAction::Enter {
            room,
            password: None,
        };
        self.ask(action, Purpose::PasswordRetry(message))
    }

    fn ask(&mut self, action: ChatAction, purpose: Purpose) -> Outcome {
        let Some(visitor) = self.visitor.clone() else {
            self.stage = Stage::Answered;
            return respond(json_error(500, "no visitor"));
        };
        let request = ChatRequest {
            visitor,
            client_ip: self.client_ip,
            action,
        };
        self.stage = Stage::Ask(request, purpose);
        Outcome::Wait
    }

    fn same_origin(&self, config: &Config) -> bool {
        config.origins.allows_post(
            self.head.origin.as_deref(),
            self.head.referer.as_deref(),
            self.head.host.as_deref(),
        )
    }

    /// The refusal of a POST from another site: JSON for the API, the error page for a form.
    fn cross_site(&self, config: &Config) -> Response {
        if self.route.is_api() {
            return json_error(403, CROSS_SITE);
        }
        error_response(403, CROSS_SITE, &config.site, config.app_env)
    }

    /// An API refusal; `close` when the upload's body is not (wholly) read.
    fn respond_api_refusal(&mut self, refusal: &ChatRefusal, close: bool) -> Outcome {
        self.stage = Stage::Answered;
        let mut response = json_error(refusal.status(), refusal.message());
        if let ChatRefusal::TooFast { retry_after } = refusal {
            response
                .headers
                .push(("Retry-After", retry_after_seconds(*retry_after).to_string()));
        }
        Outcome::Respond { response, close }
    }

    /// An upload refused: nothing kept, the connection closes (its body is not read on).
    fn refuse_upload(&mut self, refusal: &UploadRefusal) -> Outcome {
        self.stage = Stage::Answered;
        Outcome::Respond {
            response: json_error(refusal.status(), refusal.message()),
            close: true,
        }
    }
}

fn respond(response: Response) -> Outcome {
    Outcome::Respond {
        response,
        close: false,
    }
}

/// An answer that does not fit the request: the hub and this side disagree; a 500, and the
/// request is not retried.
fn unexpected(answer: &ChatAnswer, config: &Config) -> Outcome {
    // Its kind only: a visitor's text has no place on an error page.
    let kind = match answer {
        ChatAnswer::Rooms(_) => "Rooms",
        ChatAnswer::Created(_) => "Created",
        ChatAnswer::Entered { .. } => "Entered",
        ChatAnswer::Posted(_) => "Posted",
        ChatAnswer::UploadAllowed => "UploadAllowed",
        ChatAnswer::Refused(_) => "Refused",
    };
    let detail = format!("unexpected answer from the chat: {kind}");
    respond(error_response(500, &detail, &config.site, config.app_env))
}

fn not_found(head: &RequestHead, config: &Config) -> Response {
    let detail = format!(
        "NotFoundError: Not Found\n    at {} {}",
        head.method, head.target
    );
    error_response(404, &detail, &config.site, config.app_env)
}

/// `Retry-After` in whole seconds, rounded up, at least 1.
fn retry_after_seconds(wait: Duration) -> u64 {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    seconds.max(1)
}
