//! A chat page's socket, seen from outside: Engine.IO v4 and Socket.IO v5 over a WebSocket that
//! carries a visitor's session cookie, one namespace per connection (`/room` or `/chat`), as the
//! room pages' script opens them.
//!
//! Events are read in arrival order and kept while the test waits for something else (an ack,
//! another event), so "the next `members`" never races with its arrival. Engine.IO pings are
//! answered, so a slow step cannot cost the session.

use std::time::{Duration, Instant};

use async_tungstenite::tokio::{connect_async, ConnectStream};
use async_tungstenite::tungstenite::client::IntoClientRequest;
use async_tungstenite::tungstenite::http::HeaderValue;
use async_tungstenite::tungstenite::{self, Message};
use async_tungstenite::WebSocketStream;
use futures_util::StreamExt;
use serde_json::Value;

use crate::WAIT;

/// The Socket.IO events of one namespace, received over a WebSocket that carries a visitor's
/// cookie, in arrival order.
pub struct ChatSocket {
    stream: WebSocketStream<ConnectStream>,
    namespace: String,
    next_ack: u64,
    /// Events received while waiting for something else, oldest first.
    pending: Vec<Event>,
    /// Why the connection ended, once it did.
    ended: Option<String>,
}

/// One server → client event: its name and arguments (a recovery offset, when the server
/// appends one, is dropped: handlers never see it as a payload).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub name: String,
    pub args: Vec<Value>,
    pub at: Instant,
}

impl Event {
    /// The first argument (the payload of every chat event).
    pub fn payload(&self) -> &Value {
        self.args.first().unwrap_or(&Value::Null)
    }
}

/// What one Socket.IO packet of the namespace was.
enum Packet {
    Event(Event),
    Ack(u64, Vec<Value>),
    ConnectError(Value),
    Connected,
    Disconnected,
    Other,
}

impl ChatSocket {
    /// Opens Engine.IO over WebSocket with `cookie` and connects `namespace` with `auth`;
    /// `Err` holds the CONNECT_ERROR payload when the server refused the namespace.
    pub async fn connect(
        port: u16,
        cookie: Option<&str>,
        namespace: &str,
        auth: &Value,
    ) -> Result<ChatSocket, Value> {
        let url = format!("ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket");
        let mut request = url
            .as_str()
            .into_client_request()
            .unwrap_or_else(|e| panic!("a request for {url}: {e}"));
        if let Some(cookie) = cookie {
            let value = HeaderValue::from_str(cookie)
                .unwrap_or_else(|e| panic!("cookie {cookie:?} as a header: {e}"));
            request.headers_mut().insert("cookie", value);
        }
        let stream = match tokio::time::timeout(WAIT, connect_async(request)).await {
            Ok(Ok((stream, _))) => stream,
            Ok(Err(tungstenite::Error::Http(response))) => {
                panic!("the WebSocket to {url} was refused: {}", response.status())
            }
            Ok(Err(e)) => panic!("WebSocket to {url}: {e}"),
            Err(_) => panic!("WebSocket to {url}: no handshake within {WAIT:?}"),
        };
        let mut socket = ChatSocket {
            stream,
            namespace: namespace.to_owned(),
            next_ack: 0,
            pending: Vec::new(),
            ended: None,
        };
        let open = socket.next_text(WAIT).await;
        assert!(
            open.starts_with("0{"),
            "expected an open packet, got {open:?}"
        );
        socket
            .send_text(&format!("40{}{auth}", socket.prefix()))
            .await;
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let text = socket.next_text(left).await;
            match socket.parse(&text) {
                Packet::Connected => return Ok(socket),
                Packet::ConnectError(payload) => return Err(payload),
                Packet::Event(event) => socket.pending.push(event),
                _ => {}
            }
        }
    }

    /// `/chat,` (or nothing for the main namespace).
    fn prefix(&self) -> String {
        if self.namespace == "/" {
            String::new()
        } else {
            format!("{},", self.namespace)
        }
    }

    async fn send_text(&mut self, text: &str) {
        self.stream
            .send(Message::text(text))
            .await
            .unwrap_or_else(|e| panic!("sending {text:?}: {e}"));
    }

    /// The next Engine.IO message of this connection that is not a ping (pings are answered).
    async fn next_text(&mut self, timeout: Duration) -> String {
        match self.try_next_text(timeout).await {
            Some(text) => text,
            None => panic!(
                "nothing from the server on {} within {timeout:?}: {}",
                self.namespace,
                self.ended.as_deref().unwrap_or("timed out")
            ),
        }
    }

    /// Like [`next_text`](Self::next_text), `None` when nothing came in time or the connection
    /// ended.
    async fn try_next_text(&mut self, timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.stream.next()).await {
                Err(_) => return None,
                Ok(Some(Ok(Message::Text(text)))) if text.as_str() == "2" => {
                    self.send_text("3").await
                }
                Ok(Some(Ok(Message::Text(text)))) => return Some(text.to_string()),
                Ok(Some(Ok(Message::Binary(_) | Message::Ping(_) | Message::Pong(_))))
                | Ok(Some(Ok(Message::Frame(_)))) => continue,
                Ok(Some(Ok(Message::Close(frame)))) => {
                    self.ended = Some(format!("closed by the server ({frame:?})"));
                    return None;
                }
                Ok(Some(Err(e))) => {
                    self.ended = Some(format!("WebSocket error: {e}"));
                    return None;
                }
                Ok(None) => {
                    self.ended = Some("the connection ended".into());
                    return None;
                }
            }
        }
    }

    /// Reads one Engine.IO message as a packet of this namespace.
    fn parse(&self, text: &str) -> Packet {
        let Some(packet) = text.strip_prefix('4') else {
            return Packet::Other;
        };
        let mut chars = packet.chars();
        let kind = chars.next();
        let rest = chars.as_str();
        let prefix = self.prefix();
        let Some(rest) = rest.strip_prefix(prefix.as_str()) else {
            return Packet::Other;
        };
        if self.namespace == "/" && rest.starts_with('/') {
            return Packet::Other;
        }
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let json = &rest[digits.len()..];
        let value: Value = if json.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(json)
                .unwrap_or_else(|e| panic!("packet {text:?} is not JSON after its header: {e}"))
        };
        match kind {
            Some('0') => Packet::Connected,
            Some('1') => Packet::Disconnected,
            Some('4') => Packet::ConnectError(value),
            Some('2') => {
                let mut args = match value {
                    Value::Array(args) => args,
                    other => panic!("event packet {text:?} without an array: {other}"),
                };
                let name = match args.first() {
                    Some(Value::String(name)) => name.clone(),
                    _ => panic!("event packet {text:?} without a name"),
                };
                args.remove(0);
                // With connection state recovery on, the server appends the offset (a string)
                // to events it stores; the chat's payloads are all objects or one id string, so
                // a second trailing string is that offset.
                if args.len() > 1 && args.last().is_some_and(Value::is_string) {
                    args.pop();
                }
                Packet::Event(Event {
                    name,
                    args,
                    at: Instant::now(),
                })
            }
            Some('3') => {
                let id = digits.parse().unwrap_or(u64::MAX);
                let args = match value {
                    Value::Array(args) => args,
                    other => vec![other],
                };
                Packet::Ack(id, args)
            }
            _ => Packet::Other,
        }
    }

    /// The next event (buffered ones first); `None` when none came within `timeout` or the
    /// connection ended. An event named `"<disconnect>"` stands for the server's DISCONNECT.
    pub async fn try_next_event(&mut self, timeout: Duration) -> Option<Event> {
        if !self.pending.is_empty() {
            return Some(self.pending.remove(0));
        }
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let text = self.try_next_text(left).await?;
            match self.parse(&text) {
                Packet::Event(event) => return Some(event),
                Packet::Disconnected => {
                    return Some(Event {
                        name: "<disconnect>".into(),
                        args: Vec::new(),
                        at: Instant::now(),
                    })
                }
                _ => {}
            }
        }
    }

    /// The next event named `name`, passing over (and returning along) the ones before it.
    /// Panics, listing what came, when none does within `timeout`.
    pub async fn expect_event(&mut self, name: &str, timeout: Duration) -> (Event, Vec<Event>) {
        let deadline = Instant::now() + timeout;
        let mut before = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.try_next_event(left).await {
                Some(event) if event.name == name => return (event, before),
                Some(event) => before.push(event),
                None => panic!(
                    "no `{name}` on {} within {timeout:?}; got {before:?}",
                    self.namespace
                ),
            }
        }
    }

    /// Emits `name` with `arg` and an ack id; returns the ack's first argument. Events that
    /// arrive meanwhile are kept for [`try_next_event`](Self::try_next_event).
    pub async fn emit_with_ack(&mut self, name: &str, arg: &Value) -> Value {
        let id = self.next_ack;
        self.next_ack += 1;
        let packet = format!(
            "42{}{id}{}",
            self.prefix(),
            Value::Array(vec![Value::String(name.into()), arg.clone()])
        );
        self.send_text(&packet).await;
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Some(text) = self.try_next_text(left).await else {
                panic!(
                    "no ack for `{name}` {arg} on {} within {WAIT:?}",
                    self.namespace
                )
            };
            match self.parse(&text) {
                Packet::Ack(got, args) if got == id => {
                    return args.into_iter().next().unwrap_or(Value::Null)
                }
                Packet::Event(event) => self.pending.push(event),
                _ => {}
            }
        }
    }

    /// Whether the server ends this namespace (DISCONNECT) or the connection within `timeout`;
    /// events before it are passed over.
    pub async fn expect_disconnect(&mut self, timeout: Duration) -> Vec<Event> {
        let deadline = Instant::now() + timeout;
        let mut before = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if !self.pending.is_empty() {
                before.push(self.pending.remove(0));
                continue;
            }
            let Some(text) = self.try_next_text(left).await else {
                assert!(
                    Instant::now() < deadline,
                    "{} was not put out within {timeout:?}; got {before:?}",
                    self.namespace
                );
                return before;
            };
            match self.parse(&text) {
                Packet::Disconnected => return before,
                Packet::Event(event) => before.push(event),
                _ => {}
            }
        }
    }

    /// Closes the connection from this side (a tab closed).
    pub async fn close(mut self) {
        let _ = self.stream.close(None).await;
    }
}
