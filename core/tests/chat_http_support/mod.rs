//! The runtime's side of the chat, in memory: a [`Connection`] whose chat requests, upload
//! steps and file reads are collected for the test to answer, as `gif-chat-io` would hand them
//! to the hub and the disk.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use gif_chat_core::chat::{
    set_cookie_header, Author, Chat, ChatAnswer, ChatId, ChatKind, ChatRequest, ChatText, Colour,
    CookieSecret, GifName, Room, RoomId, RoomMax, SessionId, SessionIds, Title, UnixMillis,
};
use gif_chat_core::testing::drain_transmit;
use gif_chat_core::upload::{UploadFailure, UploadStep};
use gif_chat_core::{Config, Connection};

pub const SECRET: &str = "gifchat";
pub const HOST: &str = "localhost:8005";

/// The configuration of these tests: a known secret and session-id key.
pub fn config() -> Config {
    let mut config = Config::new();
    config.cookie_secret = CookieSecret::new(SECRET);
    config.session_ids = SessionIds::new([9; 32]);
    config
}

/// A visitor's cookie header value (`connect.sid=...`), signed with `secret`.
pub fn cookie_for(id: &SessionId, secret: &str) -> String {
    let header = set_cookie_header(id, &CookieSecret::new(secret), false);
    header.split(';').next().unwrap_or_default().to_owned()
}

pub fn visitor(n: u8) -> SessionId {
    SessionId::from_random([n; 24])
}

pub fn room_id(n: u8) -> RoomId {
    RoomId::from_random([n; 16])
}

pub fn room(n: u8, has_password: bool) -> Room {
    Room {
        id: room_id(n),
        title: Title::new("<b>방</b>").unwrap(),
        max: RoomMax::DEFAULT,
        owner_colour: Colour::from_rgb([1, 2, 3]),
        has_password,
        created_at: UnixMillis(0),
    }
}

pub fn text_chat(room: RoomId, text: &str) -> Chat {
    Chat {
        id: ChatId(7),
        room,
        user: Author::Visitor(Colour::from_rgb([0xab, 0xcd, 0xef])),
        kind: ChatKind::Text(ChatText::new(text).unwrap()),
        created_at: UnixMillis(1_000),
    }
}

pub fn gif_chat(room: RoomId, gif: GifName) -> Chat {
    Chat {
        kind: ChatKind::Gif(gif),
        ..text_chat(room, "x")
    }
}

/// A parsed response.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// Splits written bytes into responses; `head_only[i]` says the i-th answered a HEAD.
pub fn parse_responses(mut bytes: &[u8], head_only: &[bool]) -> Vec<Response> {
    let mut responses = Vec::new();
    while !bytes.is_empty() {
        let end = bytes
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a whole head")
            + 4;
        let head = std::str::from_utf8(&bytes[..end]).unwrap();
        let mut lines = head.split("\r\n");
        let status: u16 = lines.next().unwrap()[9..12].parse().unwrap();
        let headers: Vec<(String, String)> = lines
            .filter(|l| !l.is_empty())
            .map(|l| {
                let (n, v) = l.split_once(": ").unwrap();
                (n.to_owned(), v.to_owned())
            })
            .collect();
        let length: usize = headers
            .iter()
            .find(|(n, _)| n == "Content-Length")
            .map_or(0, |(_, v)| v.parse().unwrap());
        let skip_body = head_only.get(responses.len()).copied().unwrap_or(false);
        let length = if skip_body { 0 } else { length };
        responses.push(Response {
            status,
            headers,
            body: bytes[end..end + length].to_vec(),
        });
        bytes = &bytes[end + length..];
    }
    responses
}

/// A connection and what it asked of the runtime.
pub struct Client {
    pub conn: Connection,
    pub now: Instant,
    pub written: Vec<u8>,
    taken: usize,
    pub log: Vec<String>,
    pub requests: Vec<ChatRequest>,
    pub steps: Vec<UploadStep>,
    pub reads: Vec<GifName>,
    /// Whether upload steps are taken as soon as they are offered.
    pub take_steps: bool,
}

impl Client {
    pub fn new(config: Config) -> Client {
        let peer: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        let now = Instant::now();
        Client {
            conn: Connection::new(Arc::new(config), peer, now),
            now,
            written: Vec::new(),
            taken: 0,
            log: Vec::new(),
            requests: Vec::new(),
            steps: Vec::new(),
            reads: Vec::new(),
            take_steps: true,
        }
    }

    /// What the runtime does after every call: write, log, and take what is asked of it.
    pub fn pump(&mut self) {
        let written = drain_transmit(&mut self.conn, self.now);
        self.written.extend_from_slice(&written);
        while let Some(event) = self.conn.poll_event() {
            self.log.push(event.log_line(false).text);
        }
        while let Some(request) = self.conn.poll_chat_request() {
            self.requests.push(request);
        }
        if self.take_steps {
            self.take_upload_steps();
        }
        while let Some(name) = self.conn.poll_file_read() {
            self.reads.push(name);
        }
    }

    pub fn take_upload_steps(&mut self) {
        while let Some(step) = self.conn.poll_upload() {
            self.steps.push(step);
        }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.conn.handle_input(self.now, bytes);
        self.pump();
    }

    pub fn eof(&mut self) {
        self.conn.handle_eof(self.now);
        self.pump();
    }

    pub fn answer(&mut self, answer: ChatAnswer) {
        self.conn.handle_chat_answer(self.now, answer);
        self.pump();
    }

    pub fn stored(&mut self, stored: Result<GifName, UploadFailure>) {
        self.conn.handle_upload_stored(self.now, stored);
        self.pump();
    }

    pub fn file(&mut self, file: Option<bytes::Bytes>) {
        self.conn.handle_file(self.now, file);
        self.pump();
    }

    /// The only request asked since the last call, taken.
    pub fn take_request(&mut self) -> ChatRequest {
        assert_eq!(self.requests.len(), 1, "{:?}", self.requests);
        self.requests.remove(0)
    }

    /// Bytes written since the last call.
    pub fn take_written(&mut self) -> Vec<u8> {
        let new = self.written[self.taken..].to_vec();
        self.taken = self.written.len();
        new
    }

    /// The one response written since the last call.
    pub fn take_response(&mut self) -> Response {
        let mut responses = parse_responses(&self.take_written(), &[]);
        assert_eq!(responses.len(), 1, "{responses:?}");
        responses.remove(0)
    }

    /// The one response to a HEAD written since the last call.
    pub fn take_head_response(&mut self) -> Response {
        let mut responses = parse_responses(&self.take_written(), &[true]);
        assert_eq!(responses.len(), 1, "{responses:?}");
        responses.remove(0)
    }
}

/// A request with a host and these extra header lines (each ending in CRLF) and body.
pub fn request(method: &str, target: &str, headers: &str, body: &[u8]) -> Vec<u8> {
    let mut bytes = format!("{method} {target} HTTP/1.1\r\nHost: {HOST}\r\n{headers}").into_bytes();
    if !body.is_empty() || method == "POST" {
        bytes.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    bytes.extend_from_slice(b"\r\n");
    bytes.extend_from_slice(body);
    bytes
}

/// A same-origin urlencoded form POST.
pub fn form_post(target: &str, extra: &str, body: &str) -> Vec<u8> {
    let headers = format!(
        "Origin: http://{HOST}\r\nContent-Type: application/x-www-form-urlencoded\r\n{extra}"
    );
    request("POST", target, &headers, body.as_bytes())
}

pub const BOUNDARY: &str = "----WebKitFormBoundaryQ1w2";

/// A multipart body with the file in field `gif`, as a browser sends it.
pub fn multipart(file: &[u8]) -> Vec<u8> {
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"gif\"; filename=\"cat.gif\"\r\n\
         Content-Type: image/gif\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// The head of an upload POST of `body` (same origin, a visitor's cookie).
pub fn upload_head(room: RoomId, cookie: &str, length: usize) -> Vec<u8> {
    format!(
        "POST /room/{room}/gif HTTP/1.1\r\nHost: {HOST}\r\nOrigin: http://{HOST}\r\n\
         Cookie: {cookie}\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\n\
         Content-Length: {length}\r\n\r\n"
    )
    .into_bytes()
}

/// A GIF of `len` bytes (its signature, then filler).
pub fn gif_bytes(len: usize) -> Vec<u8> {
    let mut bytes = b"GIF89a".to_vec();
    bytes.resize(len.max(6), 0x2a);
    bytes
}
