//! Engine.IO v4 on the wire, as the official protocol suites' clients speak it: HTTP
//! long-polling requests written as bytes (through [`crate::http`]) and a WebSocket that keeps
//! every message in arrival order.
//!
//! The official suites (JavaScript) wait for "the next message" with one-shot listeners, so two
//! messages arriving in one read can lose the second; that race makes the reference server fail
//! random cases. Here the WebSocket is pulled from, never pushed to, so no message is lost and a
//! failure means the server did something wrong.

use std::time::{Duration, Instant};

use async_tungstenite::tokio::{connect_async, ConnectStream};
use async_tungstenite::tungstenite::{self, Message};
use async_tungstenite::WebSocketStream;
use futures_util::StreamExt;
use serde_json::Value;

use crate::http::{self, Response};
use crate::WAIT;

/// `/engine.io/`: the raw Engine.IO echo of the engine.io-protocol suite.
pub const ENGINE_PATH: &str = "/engine.io/";
/// `/socket.io/`: Socket.IO, for the socket.io-protocol suite.
pub const SOCKET_PATH: &str = "/socket.io/";

/// The query of a polling request on `path`, with `sid` when there is a session.
pub fn polling_url(path: &str, sid: Option<&str>) -> String {
    match sid {
        Some(sid) => format!("{path}?EIO=4&transport=polling&sid={sid}"),
        None => format!("{path}?EIO=4&transport=polling"),
    }
}

/// A request with a method and an optional text body, as bytes; the connection closes after it.
pub fn request(port: u16, method: &str, target: &str, body: Option<&str>) -> Vec<u8> {
    build_request(port, method, target, body, true)
}

/// [`request`] without `Connection: close`: the next request may follow on the same connection.
pub fn keep_alive_request(port: u16, method: &str, target: &str, body: Option<&str>) -> Vec<u8> {
    build_request(port, method, target, body, false)
}

fn build_request(
    port: u16,
    method: &str,
    target: &str,
    body: Option<&str>,
    close: bool,
) -> Vec<u8> {
    let mut bytes = format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n");
    if let Some(body) = body {
        bytes.push_str("Content-Type: text/plain;charset=UTF-8\r\n");
        bytes.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    if close {
        bytes.push_str("Connection: close\r\n");
    }
    bytes.push_str("\r\n");
    if let Some(body) = body {
        bytes.push_str(body);
    }
    bytes.into_bytes()
}

/// Sends one request on a fresh connection and reads its response.
pub async fn exchange(port: u16, method: &str, target: &str, body: Option<&str>) -> Response {
    http::one_response(port, &request(port, method, target, body)).await
}

/// A GET poll on the session.
pub async fn poll(port: u16, path: &str, sid: &str) -> Response {
    exchange(port, "GET", &polling_url(path, Some(sid)), None).await
}

/// A POST of `body` on the session.
pub async fn push(port: u16, path: &str, sid: &str, body: &str) -> Response {
    exchange(port, "POST", &polling_url(path, Some(sid)), Some(body)).await
}

/// A request already written on its own connection, whose response is read later: the way to
/// have two requests in flight in a known order (the first is on the wire before the second's
/// connection is even opened).
pub struct InFlight {
    stream: tokio::net::TcpStream,
    reader: http::ResponseReader,
}

impl InFlight {
    pub async fn send(port: u16, method: &str, target: &str, body: Option<&str>) -> InFlight {
        use tokio::io::AsyncWriteExt;
        let mut stream = http::connect(port).await;
        stream
            .write_all(&request(port, method, target, body))
            .await
            .unwrap_or_else(|e| panic!("writing {method} {target}: {e}"));
        InFlight {
            stream,
            reader: http::ResponseReader::default(),
        }
    }

    /// The response, or `None` when the server closed the connection without one.
    pub async fn response(mut self) -> Option<Response> {
        match self.reader.read(&mut self.stream, false, WAIT).await {
            Ok(response) => Some(response),
            Err(http::ReadError::Eof(_)) | Err(http::ReadError::Io(_)) => None,
            Err(e) => panic!("reading an in-flight response: {e}"),
        }
    }
}

/// The JSON after an Engine.IO open packet (`0{...}`).
pub fn open_packet(text: &str) -> Value {
    let json = text
        .strip_prefix('0')
        .unwrap_or_else(|| panic!("expected an open packet (0...), got {text:?}"));
    serde_json::from_str(json).unwrap_or_else(|e| panic!("open packet {text:?}: {e}"))
}

/// The names of a JSON object's fields, sorted.
pub fn keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value
        .as_object()
        .unwrap_or_else(|| panic!("expected a JSON object, got {value}"))
        .keys()
        .cloned()
        .collect();
    keys.sort();
    keys
}

/// Opens a polling session on `path` and returns its sid and open packet.
pub async fn open_polling(port: u16, path: &str) -> (String, Value) {
    let response = exchange(port, "GET", &polling_url(path, None), None).await;
    assert_eq!(response.status, 200, "polling handshake: {response:?}");
    let open = open_packet(&response.body_text());
    let sid = open["sid"]
        .as_str()
        .unwrap_or_else(|| panic!("no sid in {open}"))
        .to_owned();
    (sid, open)
}

/// What the server sent next on a WebSocket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    Text(String),
    Binary(Vec<u8>),
    /// A close frame or the end of the stream.
    Closed,
}

/// A WebSocket on the test's side, read in order.
pub struct Ws {
    stream: WebSocketStream<ConnectStream>,
    closed: bool,
}

/// Why a WebSocket was not opened.
#[derive(Debug)]
pub enum Refused {
    /// The server answered the upgrade request with this status instead of 101.
    Status(u16),
    /// The connection failed or ended during the handshake.
    Other(String),
}

impl Ws {
    /// Opens a WebSocket to `path_and_query`, or says how the server refused it.
    pub async fn try_open(port: u16, path_and_query: &str) -> Result<Ws, Refused> {
        let url = format!("ws://127.0.0.1:{port}{path_and_query}");
        match tokio::time::timeout(WAIT, connect_async(url.as_str())).await {
            Ok(Ok((stream, _))) => Ok(Ws {
                stream,
                closed: false,
            }),
            Ok(Err(tungstenite::Error::Http(response))) => {
                Err(Refused::Status(response.status().as_u16()))
            }
            Ok(Err(e)) => Err(Refused::Other(e.to_string())),
            Err(_) => panic!("WebSocket to {url}: no handshake within {WAIT:?}"),
        }
    }

    /// Opens a WebSocket, panicking when the server refuses it.
    pub async fn open(port: u16, path_and_query: &str) -> Ws {
        Ws::try_open(port, path_and_query)
            .await
            .unwrap_or_else(|e| panic!("WebSocket to {path_and_query} refused: {e:?}"))
    }

    /// A new Engine.IO session over WebSocket on `path`.
    pub async fn open_session(port: u16, path: &str) -> Ws {
        Ws::open(port, &format!("{path}?EIO=4&transport=websocket")).await
    }

    /// An upgrade of polling session `sid` on `path`.
    pub async fn open_upgrade(port: u16, path: &str, sid: &str) -> Result<Ws, Refused> {
        Ws::try_open(port, &format!("{path}?EIO=4&transport=websocket&sid={sid}")).await
    }

    /// A new Engine.IO session over WebSocket on `path`, with its open packet read (the JSON).
    pub async fn opened_session(port: u16, path: &str) -> (Ws, Value) {
        let mut ws = Ws::open_session(port, path).await;
        let open = open_packet(&ws.next_text(WAIT).await);
        (ws, open)
    }

    /// A polling session opened on `path` and a WebSocket upgrading it whose probe (`2probe`)
    /// was answered (`3probe`); the upgrade is not yet completed (`5` not sent).
    pub async fn probed_upgrade(port: u16, path: &str) -> (String, Ws) {
        let (sid, _) = open_polling(port, path).await;
        let mut ws = Ws::open_upgrade(port, path, &sid)
            .await
            .unwrap_or_else(|e| panic!("upgrade refused: {e:?}"));
        ws.send_text("2probe").await;
        assert_eq!(ws.next_packet_text(WAIT).await, "3probe");
        (sid, ws)
    }

    pub async fn send_text(&mut self, text: &str) {
        self.stream
            .send(Message::text(text))
            .await
            .unwrap_or_else(|e| panic!("sending {text:?}: {e}"));
    }

    pub async fn send_binary(&mut self, bytes: &[u8]) {
        self.stream
            .send(Message::binary(bytes.to_vec()))
            .await
            .unwrap_or_else(|e| panic!("sending {bytes:?}: {e}"));
    }

    /// The next message, or `None` when nothing came within `timeout` (WebSocket pings are
    /// answered by the library and skipped).
    pub async fn recv(&mut self, timeout: Duration) -> Option<Received> {
        if self.closed {
            return Some(Received::Closed);
        }
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.stream.next()).await {
                Err(_) => return None,
                Ok(Some(Ok(Message::Text(text)))) => return Some(Received::Text(text.to_string())),
                Ok(Some(Ok(Message::Binary(bytes)))) => {
                    return Some(Received::Binary(bytes.to_vec()))
                }
                Ok(Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)))) => continue,
                Ok(Some(Ok(Message::Close(_))) | Some(Err(_)) | None) => {
                    self.closed = true;
                    return Some(Received::Closed);
                }
            }
        }
    }

    /// The next message; panics when nothing comes within `timeout`.
    pub async fn next(&mut self, timeout: Duration) -> Received {
        self.recv(timeout)
            .await
            .unwrap_or_else(|| panic!("nothing from the server within {timeout:?}"))
    }

    /// The next message, which must be text.
    pub async fn next_text(&mut self, timeout: Duration) -> String {
        match self.next(timeout).await {
            Received::Text(text) => text,
            other => panic!("expected a text message, got {other:?}"),
        }
    }

    /// The next message that is not an Engine.IO ping, answering each ping with a pong so a
    /// slow step cannot cost the session.
    pub async fn next_packet(&mut self, timeout: Duration) -> Received {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.recv(left).await {
                Some(Received::Text(text)) if text == "2" => self.send_text("3").await,
                Some(other) => return other,
                None => panic!("nothing but pings from the server within {timeout:?}"),
            }
        }
    }

    /// The next non-ping message, which must be text.
    pub async fn next_packet_text(&mut self, timeout: Duration) -> String {
        match self.next_packet(timeout).await {
            Received::Text(text) => text,
            other => panic!("expected a text packet, got {other:?}"),
        }
    }

    /// Waits for the server to close the connection, passing over anything before; returns
    /// what was passed over. Engine.IO pings are not answered.
    pub async fn expect_closed(&mut self, timeout: Duration) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        let mut before = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.recv(left).await {
                Some(Received::Closed) => return before,
                Some(other) => before.push(other),
                None => panic!("the server did not close within {timeout:?}; got {before:?}"),
            }
        }
    }

    /// Closes from this side (the test is done with the session).
    pub async fn close(mut self) {
        let _ = self.stream.close(None).await;
    }
}
