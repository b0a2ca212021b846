//! The GIF chat room (SPEC §6) as a visitor reaches it: over HTTP with a session cookie, and over
//! Socket.IO on namespaces `/room` and `/chat`.
//!
//! The chat tests are black-box like the rest of the suite: a [`Visitor`] keeps the one cookie a
//! browser would (`connect.sid`) and sends what a same-origin browser sends (`Origin`), a
//! [`ChatSocket`] speaks Engine.IO v4 / Socket.IO v5 over a WebSocket carrying that cookie, the
//! way the room page's script does. The expected texts are copied from the SPEC and the chat
//! contract here, not taken from the core, so a drift in the server shows up as a failure.
//!
//! The socket side is [`crate::chat_socket`].
//!
//! [`ChatFiles`] puts the database and the upload folder in a directory the test owns, so a
//! server can be stopped and started again on the same data, and the test can look at the files.

use std::path::{Path, PathBuf};

use percent_encoding::{percent_decode_str, utf8_percent_encode, NON_ALPHANUMERIC};
use serde_json::Value;

pub use crate::chat_socket::{ChatSocket, Event};
use crate::http::{self, Response};

/// C3: the refusals a visitor reads, in the book's words.
pub const NO_SUCH_ROOM: &str = "존재하지 않는 방입니다.";
pub const ROOM_FULL: &str = "허용 인원이 초과하였습니다.";
pub const WRONG_PASSWORD: &str = "비밀번호가 틀렸습니다.";

/// C4: the session cookie's name, as express-session names it.
pub const SESSION_COOKIE: &str = "connect.sid";

/// C7: the default upload limit (`UPLOAD_MAX_BYTES`).
pub const UPLOAD_MAX_BYTES: usize = 5 * 1024 * 1024;

/// C5: the `join` line the others read.
pub fn joined(colour: &str) -> String {
    format!("{colour}님이 입장하셨습니다.")
}

/// C5: the `exit` line the others read.
pub fn left(colour: &str) -> String {
    format!("{colour}님이 퇴장하셨습니다.")
}

/// C9: the `exit` line the others read when the owner put `colour` out.
pub fn kicked(colour: &str) -> String {
    format!("{colour}님이 강퇴되었습니다.")
}

/// Whether `text` is a colour as the chat names visitors, `#rrggbb`.
pub fn is_colour(text: &str) -> bool {
    text.len() == 7 && text.starts_with('#') && text[1..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// The database and upload folder of one or more successive servers, in a directory removed
/// when this is dropped.
#[derive(Debug)]
pub struct ChatFiles {
    dir: tempfile::TempDir,
}

impl ChatFiles {
    pub fn new() -> ChatFiles {
        let dir = tempfile::tempdir().expect("a temporary directory for the chat's files");
        std::fs::create_dir(dir.path().join("uploads")).expect("creating the upload folder");
        ChatFiles { dir }
    }

    /// `DATABASE_URL`: an SQLite file in the directory.
    pub fn database_url(&self) -> String {
        format!("sqlite://{}", self.dir.path().join("x.db").display())
    }

    /// `UPLOAD_DIR`.
    pub fn upload_dir(&self) -> PathBuf {
        self.dir.path().join("uploads")
    }

    /// Where a test may put files of its own (an image to upload).
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `DATABASE_URL` and `UPLOAD_DIR` for a server.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("DATABASE_URL".into(), self.database_url()),
            ("UPLOAD_DIR".into(), self.upload_dir().display().to_string()),
        ]
    }

    /// The names of the files in the upload folder (temporary ones included: a refused upload
    /// must leave none), sorted.
    pub fn uploads(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.upload_dir())
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|entry| entry.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }
}

impl Default for ChatFiles {
    fn default() -> ChatFiles {
        ChatFiles::new()
    }
}

/// A real GIF89a of `width` × `height` pixels (a checkerboard of two colours), made here.
///
/// The image data is LZW with a clear code before every pixel: the code table then never
/// grows, every code stays 3 bits wide, and no encoder is needed, yet any decoder (Chromium's
/// included) reads it as an ordinary GIF.
pub fn gif(width: u16, height: u16) -> Vec<u8> {
    const CLEAR: u32 = 4;
    const END: u32 = 5;
    let mut out = b"GIF89a".to_vec();
    out.extend_from_slice(&width.to_le_bytes());
    out.extend_from_slice(&height.to_le_bytes());
    // A global colour table of 2^(1+1) = 4 entries; background 0; no aspect ratio.
    out.extend_from_slice(&[0b1000_0001, 0, 0]);
    out.extend_from_slice(&[
        0xe0, 0x40, 0x40, 0x20, 0x80, 0xe0, 0, 0, 0, 0xff, 0xff, 0xff,
    ]);
    // The image: at 0,0, the whole screen, no local table, not interlaced.
    out.push(b',');
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&width.to_le_bytes());
    out.extend_from_slice(&height.to_le_bytes());
    out.push(0);
    out.push(2); // minimum code size
    let mut codes = Vec::new();
    for y in 0..u32::from(height) {
        for x in 0..u32::from(width) {
            codes.push(CLEAR);
            codes.push((x + y) % 2);
        }
    }
    codes.push(END);
    let mut data = Vec::new();
    let (mut bits, mut count) = (0u32, 0u32);
    for code in codes {
        bits |= code << count;
        count += 3;
        while count >= 8 {
            data.push((bits & 0xff) as u8);
            bits >>= 8;
            count -= 8;
        }
    }
    if count > 0 {
        data.push((bits & 0xff) as u8);
    }
    for block in data.chunks(255) {
        out.push(block.len() as u8);
        out.extend_from_slice(block);
    }
    out.push(0);
    out.push(b';');
    out
}

/// `application/x-www-form-urlencoded` of `fields`.
pub fn form(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(name, value)| {
            format!(
                "{}={}",
                utf8_percent_encode(name, NON_ALPHANUMERIC),
                utf8_percent_encode(value, NON_ALPHANUMERIC)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// The boundary of [`multipart`] bodies.
pub const BOUNDARY: &str = "gifchattestboundary7MA4YWxkTrZu0gW";

/// A `multipart/form-data` body with one file field.
pub fn multipart(field: &str, filename: &str, content_type: &str, bytes: &[u8]) -> Vec<u8> {
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\nContent-Type: {content_type}\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// Percent-decodes a query value (`+` is a space, as in forms).
pub fn decode_query_value(value: &str) -> String {
    percent_decode_str(&value.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// The `connect.sid=...` pair of a `Set-Cookie` header, when it sets the session cookie.
pub fn session_pair(set_cookie: &str) -> Option<String> {
    let pair = set_cookie.split(';').next()?.trim();
    pair.starts_with(&format!("{SESSION_COOKIE}="))
        .then(|| pair.to_owned())
}

/// A browser's view of the server: one cookie, and the headers a same-origin page sends.
#[derive(Debug, Clone)]
pub struct Visitor {
    port: u16,
    /// `connect.sid=<value>`, once the server set it.
    pub cookie: Option<String>,
}

impl Visitor {
    pub fn new(port: u16) -> Visitor {
        Visitor { port, cookie: None }
    }

    /// `http://127.0.0.1:<port>`, what a page of this server sends as `Origin`.
    pub fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Sends a request with this visitor's cookie (and `extra` headers) on a fresh connection;
    /// keeps the session cookie the response sets.
    pub async fn send(
        &mut self,
        method: &str,
        path: &str,
        extra: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Response {
        let request = self.request_bytes(method, path, extra, body);
        let response = http::one_response(self.port, &request).await;
        self.keep_cookie(&response);
        response
    }

    /// The bytes of a request as [`send`](Self::send) writes them.
    pub fn request_bytes(
        &self,
        method: &str,
        path: &str,
        extra: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Vec<u8> {
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n",
            self.port
        );
        if let Some(cookie) = &self.cookie {
            head.push_str(&format!("Cookie: {cookie}\r\n"));
        }
        for (name, value) in extra {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if let Some(body) = body {
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        if let Some(body) = body {
            bytes.extend_from_slice(body);
        }
        bytes
    }

    /// Keeps the session cookie `response` sets, if any.
    pub fn keep_cookie(&mut self, response: &Response) {
        for (name, value) in &response.headers {
            if name.eq_ignore_ascii_case("set-cookie") {
                if let Some(pair) = session_pair(value) {
                    self.cookie = Some(pair);
                }
            }
        }
    }

    pub async fn get(&mut self, path: &str) -> Response {
        self.send("GET", path, &[], None).await
    }

    /// A same-origin form POST.
    pub async fn post_form(&mut self, path: &str, fields: &[(&str, &str)]) -> Response {
        let origin = self.origin();
        let body = form(fields);
        self.send(
            "POST",
            path,
            &[
                ("Origin", &origin),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            Some(body.as_bytes()),
        )
        .await
    }

    /// A same-origin JSON POST.
    pub async fn post_json(&mut self, path: &str, value: &Value) -> Response {
        let origin = self.origin();
        let body = value.to_string();
        self.send(
            "POST",
            path,
            &[("Origin", &origin), ("Content-Type", "application/json")],
            Some(body.as_bytes()),
        )
        .await
    }

    /// A same-origin upload of `bytes` as the file field `gif`.
    pub async fn upload(&mut self, room: &str, filename: &str, bytes: &[u8]) -> Response {
        let origin = self.origin();
        let body = multipart("gif", filename, "image/gif", bytes);
        let content_type = format!("multipart/form-data; boundary={BOUNDARY}");
        self.send(
            "POST",
            &format!("/room/{room}/gif"),
            &[("Origin", &origin), ("Content-Type", &content_type)],
            Some(&body),
        )
        .await
    }

    /// Creates a room through the form (C2) and returns its id, from the redirect into it.
    pub async fn create_room(&mut self, title: &str, max: u8, password: &str) -> String {
        let max = max.to_string();
        let response = self
            .post_form(
                "/room",
                &[("title", title), ("max", &max), ("password", password)],
            )
            .await;
        let location = response.header("location").unwrap_or_default().to_owned();
        assert!(
            response.status == 303 && location.starts_with("/room/"),
            "POST /room answered {} (Location {location:?}), not 303 to /room/<id>:\n{}",
            response.status,
            response.body_text()
        );
        let id = location.trim_start_matches("/room/").to_owned();
        assert!(
            !id.is_empty() && !id.contains('/'),
            "no room id in {location:?}"
        );
        id
    }
}

/// Starts `runtime` on `files` (database and uploads) with `extra` settings on top.
pub async fn start(
    runtime: crate::Runtime,
    files: &ChatFiles,
    extra: &[(&str, &str)],
) -> crate::Server {
    let mut builder = crate::ServerBuilder::new(runtime);
    for (name, value) in files.env() {
        builder = builder.env(&name, &value);
    }
    builder.envs(extra).start().await
}

/// Connects `visitor`'s `/chat` socket to `room` (the room page's socket), panicking with the
/// server's refusal.
pub async fn enter(port: u16, visitor: &Visitor, room: &str) -> ChatSocket {
    let auth = serde_json::json!({ "roomId": room });
    match ChatSocket::connect(port, visitor.cookie.as_deref(), "/chat", &auth).await {
        Ok(socket) => socket,
        Err(refusal) => panic!("/chat refused room {room}: {refusal}"),
    }
}

/// The owner's colour and the members, from a `members` event.
pub fn members_of(event: &Event) -> (String, Vec<String>) {
    let payload = event.payload();
    let owner = payload["owner"].as_str().unwrap_or_default().to_owned();
    let members = payload["members"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|m| m.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    (owner, members)
}
