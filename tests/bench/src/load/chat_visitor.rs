//! A chat room visitor as the chat loads need one: a keep-alive HTTP connection carrying the
//! visitor's signed `connect.sid` cookie (taken from the first page's `Set-Cookie`), the
//! same-origin headers a page's POSTs carry, and the room page's `/chat` socket.
//!
//! The room's rules (core/BEHAVIOUR.md §6): only a member may post, and a member is a visitor
//! with a `/chat` socket in the room, so every poster of the loads is a [`Visitor`] plus a
//! socket opened with its cookie; a room holds at most 10 visitors.

use std::net::IpAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::sio_session::{Join, WsSession};
use super::{Ctx, LoadError};
use crate::proto::{self, ProtoError};
use crate::sio;

/// Largest response head accepted.
const MAX_HEAD: usize = 64 * 1024;
/// Largest response body accepted (a room page with its whole history is far below).
const MAX_BODY: usize = 8 * 1024 * 1024;
/// The most members a room takes (`RoomMax::MAX`).
pub const ROOM_MAX: usize = 10;

/// One response: status, the headers the loads read, the body.
#[derive(Debug, Default)]
pub struct Reply {
    pub status: u16,
    pub location: Option<String>,
    /// The `connect.sid=...` pair, when the response sets it.
    pub cookie: Option<String>,
    pub body: Vec<u8>,
}

impl Reply {
    /// A short description for an error sample.
    pub fn describe(&self) -> String {
        let body = String::from_utf8_lossy(
            self.body
                .get(..self.body.len().min(120))
                .unwrap_or_default(),
        );
        format!("status {}: {body}", self.status)
    }
}

/// A visitor over one keep-alive connection (reopened when the server closes it).
#[derive(Debug)]
pub struct Visitor {
    stream: TcpStream,
    buf: Vec<u8>,
    source: Option<IpAddr>,
    host: String,
    /// `connect.sid=<value>`, once the server set it.
    pub cookie: Option<String>,
}

impl Visitor {
    /// Connects from `source`; no cookie yet.
    pub async fn connect(ctx: &Ctx, source: Option<IpAddr>) -> Result<Visitor, LoadError> {
        Ok(Visitor {
            stream: ctx.tcp(source).await?,
            buf: Vec::with_capacity(4096),
            source,
            host: ctx.target.host.clone(),
            cookie: None,
        })
    }

    /// Connects and loads `/rooms`, which gives the visitor its cookie.
    pub async fn arrive(ctx: &Ctx, source: Option<IpAddr>) -> Result<Visitor, LoadError> {
        let mut visitor = Visitor::connect(ctx, source).await?;
        let reply = visitor.get(ctx, "/rooms").await?;
        if reply.status != 200 || visitor.cookie.is_none() {
            return Err(
                ProtoError::BadResponse("GET /rooms gave no 200 with a session cookie").into(),
            );
        }
        Ok(visitor)
    }

    /// The request bytes: the visitor's cookie, and for a body its type and the page's origin.
    fn request(&self, method: &str, path: &str, body: Option<(&str, &str)>) -> String {
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nUser-Agent: gif-chat-loadgen\r\n",
            self.host
        );
        if let Some(cookie) = &self.cookie {
            head.push_str("Cookie: ");
            head.push_str(cookie);
            head.push_str("\r\n");
        }
        if let Some((content_type, body)) = body {
            head.push_str(&format!(
                "Origin: http://{}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
                self.host,
                body.len()
            ));
        } else {
            head.push_str("\r\n");
        }
        head
    }

    /// One exchange; keeps the cookie the response sets. A connection the server closed is
    /// opened again for the next request.
    async fn exchange(&mut self, ctx: &Ctx, request: &str) -> Result<Reply, LoadError> {
        let (reply, keep_alive) = self.round_trip(request).await?;
        if let Some(cookie) = &reply.cookie {
            self.cookie = Some(cookie.clone());
        }
        if !keep_alive {
            self.buf.clear();
            self.stream = ctx.tcp(self.source).await?;
        }
        Ok(reply)
    }

    async fn round_trip(&mut self, request: &str) -> Result<(Reply, bool), LoadError> {
        self.stream.write_all(request.as_bytes()).await?;
        let end = loop {
            if let Some(end) = proto::head_end(&self.buf) {
                break end;
            }
            if self.buf.len() > MAX_HEAD {
                return Err(ProtoError::HeadTooLarge(MAX_HEAD).into());
            }
            if self.stream.read_buf(&mut self.buf).await? == 0 {
                return Err(LoadError::Closed);
            }
        };
        let head_bytes = self.buf.get(..end).unwrap_or_default();
        let head = proto::parse_response_head(head_bytes)?;
        if head.content_length > MAX_BODY {
            return Err(ProtoError::BadResponse("body too large").into());
        }
        let mut reply = Reply {
            status: head.status,
            ..Reply::default()
        };
        for line in String::from_utf8_lossy(head_bytes).lines() {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let (name, value) = (name.trim(), value.trim());
            if name.eq_ignore_ascii_case("location") {
                reply.location = Some(value.to_owned());
            } else if name.eq_ignore_ascii_case("set-cookie") {
                let pair = value.split(';').next().unwrap_or_default().trim();
                if pair.starts_with("connect.sid=") {
                    reply.cookie = Some(pair.to_owned());
                }
            }
        }
        let total = end + head.content_length;
        while self.buf.len() < total {
            if self.stream.read_buf(&mut self.buf).await? == 0 {
                return Err(LoadError::Closed);
            }
        }
        reply.body = self.buf.get(end..total).unwrap_or_default().to_vec();
        self.buf.drain(..total);
        Ok((reply, !head.close))
    }

    pub async fn get(&mut self, ctx: &Ctx, path: &str) -> Result<Reply, LoadError> {
        let request = self.request("GET", path, None);
        self.exchange(ctx, &request).await
    }

    /// A same-origin POST of `body` as `content_type`.
    pub async fn post(
        &mut self,
        ctx: &Ctx,
        path: &str,
        content_type: &str,
        body: &str,
    ) -> Result<Reply, LoadError> {
        let request = self.request("POST", path, Some((content_type, body)));
        self.exchange(ctx, &request).await
    }

    /// Creates an open room of [`ROOM_MAX`] titled `title` (`POST /room`); its id, from the
    /// redirect into it.
    pub async fn create_room(&mut self, ctx: &Ctx, title: &str) -> Result<String, LoadError> {
        let form = format!("title={}&max={ROOM_MAX}&password=", title.replace(' ', "+"));
        let reply = self
            .post(ctx, "/room", "application/x-www-form-urlencoded", &form)
            .await?;
        match reply
            .location
            .as_deref()
            .and_then(|l| l.strip_prefix("/room/"))
        {
            Some(id) if reply.status == 303 && !id.is_empty() => Ok(id.to_owned()),
            _ => Err(LoadError::Refused(format!(
                "POST /room: {}",
                reply.describe()
            ))),
        }
    }

    /// Opens the room page's socket: `/chat` with this visitor's cookie, in room `room`.
    pub async fn enter(&self, ctx: &Ctx, seed: u32, room: &str) -> Result<WsSession, LoadError> {
        let join = Join {
            namespace: sio::CHAT_NAMESPACE,
            auth: format!("{{\"roomId\":\"{room}\"}}"),
            cookie: self.cookie.as_deref(),
        };
        WsSession::open_in(ctx, self.source, seed, &join).await
    }
}
