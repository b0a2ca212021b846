//! WebSocket clients: a well-behaved one (async-tungstenite), one that reads in the background
//! and time-stamps what arrives ([`TickWatcher`]), and a raw one that writes frames byte by byte
//! ([`RawWs`]) for what a library would refuse to send: unmasked frames, broken UTF-8, a peer
//! that never answers a close.

use std::time::{Duration, Instant};

use async_tungstenite::tokio::{connect_async, ConnectStream};
use async_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use async_tungstenite::tungstenite::Message;
use async_tungstenite::WebSocketStream;
use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::http::find;
use crate::spec;

pub type Client = WebSocketStream<ConnectStream>;

/// Opens a WebSocket to `path` on the server.
pub async fn connect(port: u16, path: &str) -> Client {
    let url = format!("ws://127.0.0.1:{port}{path}");
    match tokio::time::timeout(crate::WAIT, connect_async(url.as_str())).await {
        Ok(Ok((client, _response))) => client,
        Ok(Err(e)) => panic!("WebSocket to {url}: {e}"),
        Err(_) => panic!("WebSocket to {url}: no handshake within {:?}", crate::WAIT),
    }
}

/// The next message (pings and pongs are answered by the library and not returned).
pub async fn next_message(client: &mut Client, timeout: Duration) -> Message {
    loop {
        match tokio::time::timeout(timeout, client.next()).await {
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
            Ok(Some(Ok(message))) => return message,
            Ok(Some(Err(e))) => panic!("WebSocket error while waiting for a message: {e}"),
            Ok(None) => panic!("WebSocket ended while waiting for a message"),
            Err(_) => panic!("no WebSocket message within {timeout:?}"),
        }
    }
}

/// Waits for the next message and checks it is a tick; returns when it arrived.
pub async fn expect_tick(client: &mut Client, timeout: Duration) -> Instant {
    let message = next_message(client, timeout).await;
    let at = Instant::now();
    assert_eq!(
        message,
        Message::text(spec::TICK),
        "expected a tick, got {message:?}"
    );
    at
}

/// Sends a message, panicking on failure.
pub async fn send(client: &mut Client, message: Message) {
    client
        .send(message)
        .await
        .unwrap_or_else(|e| panic!("sending on the WebSocket: {e}"));
}

/// Closes normally and reads until the server's answer and the end of the stream.
pub async fn close(mut client: Client) {
    client
        .close(None)
        .await
        .unwrap_or_else(|e| panic!("sending a close frame: {e}"));
    let drained = tokio::time::timeout(crate::WAIT, async {
        while let Some(Ok(_)) = client.next().await {}
    })
    .await;
    assert!(
        drained.is_ok(),
        "the server did not finish the close handshake"
    );
}

/// The close frame the server sends next (ticks before it are skipped); `None` when the stream
/// ends without one.
pub async fn expect_close(client: &mut Client, timeout: Duration) -> Option<CloseCode> {
    loop {
        match tokio::time::timeout(timeout, client.next()).await {
            Ok(Some(Ok(Message::Close(frame)))) => return frame.map(|f| f.code),
            Ok(Some(Ok(_))) => continue,
            Ok(Some(Err(e))) => panic!("WebSocket error while waiting for a close frame: {e}"),
            Ok(None) => return None,
            Err(_) => panic!("no close frame within {timeout:?}"),
        }
    }
}

/// A client on `/` whose messages are read by a background task as they arrive, so the test can
/// ask about ticks that came after some instant without having kept reading.
#[derive(Debug)]
pub struct TickWatcher {
    rx: mpsc::UnboundedReceiver<(Instant, Message)>,
    reader: JoinHandle<()>,
}

impl TickWatcher {
    pub async fn connect(port: u16) -> TickWatcher {
        let mut client = connect(port, "/").await;
        let (tx, rx) = mpsc::unbounded_channel();
        let reader = tokio::spawn(async move {
            while let Some(Ok(message)) = client.next().await {
                if tx.send((Instant::now(), message)).is_err() {
                    return;
                }
            }
        });
        TickWatcher { rx, reader }
    }

    /// Waits for a tick that arrived after `after`; returns when it arrived.
    pub async fn tick_after(&mut self, after: Instant, timeout: Duration) -> Instant {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some((at, Message::Text(text)))) if text.as_str() == spec::TICK => {
                    if at > after {
                        return at;
                    }
                }
                Ok(Some((_, Message::Ping(_) | Message::Pong(_)))) => {}
                Ok(Some((_, other))) => panic!("the watching client got {other:?}"),
                Ok(None) => panic!("the watching client's connection ended"),
                Err(_) => panic!("the watching client got no tick within {timeout:?}"),
            }
        }
    }
}

impl Drop for TickWatcher {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// A frame as read off the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub fin: bool,
    pub opcode: u8,
    pub payload: Vec<u8>,
}

impl Frame {
    /// The status code of a close frame (`None` for an empty one).
    pub fn close_code(&self) -> Option<u16> {
        match self.payload.as_slice() {
            [high, low, ..] => Some(u16::from_be_bytes([*high, *low])),
            _ => None,
        }
    }
}

pub const OP_TEXT: u8 = 0x1;
pub const OP_BINARY: u8 = 0x2;
pub const OP_CLOSE: u8 = 0x8;
pub const OP_PING: u8 = 0x9;
pub const OP_PONG: u8 = 0xa;

/// The sample key of RFC 6455 §1.3 and the accept value it must produce.
const SAMPLE_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const SAMPLE_ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// A WebSocket client that writes its own bytes.
#[derive(Debug)]
pub struct RawWs {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl RawWs {
    /// Connects and performs the opening handshake by hand.
    pub async fn handshake(port: u16, path: &str) -> RawWs {
        RawWs::handshake_with(port, path, &[]).await
    }

    /// [`handshake`](Self::handshake) with extra request headers.
    pub async fn handshake_with(port: u16, path: &str, extra: &[(&str, &str)]) -> RawWs {
        let mut stream = crate::http::connect(port).await;
        let mut request = format!(
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: {SAMPLE_KEY}\r\n\
             Sec-WebSocket-Version: 13\r\n"
        );
        for (name, value) in extra {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        stream
            .write_all(request.as_bytes())
            .await
            .unwrap_or_else(|e| panic!("writing the upgrade request: {e}"));
        let mut raw = RawWs {
            stream,
            buf: Vec::new(),
        };
        let head_end = tokio::time::timeout(crate::WAIT, async {
            loop {
                if let Some(at) = find(&raw.buf, b"\r\n\r\n") {
                    return at;
                }
                if !raw.fill().await {
                    panic!(
                        "connection ended during the handshake: {:?}",
                        String::from_utf8_lossy(&raw.buf)
                    );
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("no handshake response within {:?}", crate::WAIT));
        let head = String::from_utf8_lossy(&raw.buf[..head_end]).into_owned();
        raw.buf.drain(..head_end + 4);
        assert!(
            head.starts_with("HTTP/1.1 101 "),
            "expected 101 Switching Protocols, got {head:?}"
        );
        assert!(
            head.lines()
                .any(|line| line.split_once(':').is_some_and(|(name, value)| name
                    .eq_ignore_ascii_case("sec-websocket-accept")
                    && value.trim() == SAMPLE_ACCEPT)),
            "wrong or missing Sec-WebSocket-Accept in {head:?}"
        );
        raw
    }

    /// Reads more bytes; `false` at the end of the stream (or a reset).
    async fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 16 * 1024];
        match self.stream.read(&mut chunk).await {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
        }
    }

    /// Writes raw bytes.
    pub async fn write(&mut self, bytes: &[u8]) {
        self.stream
            .write_all(bytes)
            .await
            .unwrap_or_else(|e| panic!("writing to the WebSocket: {e}"));
    }

    /// Writes one frame, masked as a client must unless `masked` is false.
    pub async fn send_frame(&mut self, fin: bool, opcode: u8, payload: &[u8], masked: bool) {
        let bytes = encode_frame(fin, opcode, payload, masked);
        self.write(&bytes).await;
    }

    /// The next frame, or `None` when the stream ends first.
    pub async fn read_frame(&mut self, timeout: Duration) -> Option<Frame> {
        tokio::time::timeout(timeout, async {
            loop {
                if let Some((frame, used)) = decode_frame(&self.buf) {
                    self.buf.drain(..used);
                    return Some(frame);
                }
                if !self.fill().await {
                    return None;
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("no frame within {timeout:?}"))
    }

    /// Reads frames, skipping ticks, until a close frame; returns it.
    pub async fn expect_close(&mut self, timeout: Duration) -> Frame {
        loop {
            match self.read_frame(timeout).await {
                Some(frame) if frame.opcode == OP_CLOSE => return frame,
                Some(frame)
                    if frame.opcode == OP_TEXT && frame.payload == spec::TICK.as_bytes() => {}
                Some(frame) => panic!("expected a close frame, got {frame:?}"),
                None => panic!("the connection ended without a close frame"),
            }
        }
    }

    /// After a close frame: reads until the server ends the connection; panics if it does not
    /// within `timeout`.
    pub async fn expect_eof(&mut self, timeout: Duration) {
        let ended = tokio::time::timeout(timeout, async {
            self.buf.clear();
            while self.fill().await {
                self.buf.clear();
            }
        })
        .await;
        assert!(
            ended.is_ok(),
            "the server kept the connection open past {timeout:?}"
        );
    }
}

/// A frame's bytes. Client frames carry a mask key (RFC 6455 §5.3); a fixed one will do.
pub fn encode_frame(fin: bool, opcode: u8, payload: &[u8], masked: bool) -> Vec<u8> {
    const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];
    let mut out = Vec::with_capacity(payload.len() + 14);
    out.push(if fin { 0x80 } else { 0 } | (opcode & 0x0f));
    let mask_bit = if masked { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => out.push(mask_bit | n as u8),
        n if n <= usize::from(u16::MAX) => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(mask_bit | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    if masked {
        out.extend_from_slice(&KEY);
        out.extend(
            payload
                .iter()
                .zip(KEY.iter().cycle())
                .map(|(byte, key)| byte ^ key),
        );
    } else {
        out.extend_from_slice(payload);
    }
    out
}

/// Decodes one (unmasked, server-sent) frame from the front of `buf`: the frame and the bytes
/// it took, or `None` if it is not all there yet.
fn decode_frame(buf: &[u8]) -> Option<(Frame, usize)> {
    let (&first, rest) = buf.split_first()?;
    let (&second, rest) = rest.split_first()?;
    let masked = second & 0x80 != 0;
    let (length, rest) = match second & 0x7f {
        126 => {
            let (bytes, rest) = rest.split_first_chunk::<2>()?;
            (usize::from(u16::from_be_bytes(*bytes)), rest)
        }
        127 => {
            let (bytes, rest) = rest.split_first_chunk::<8>()?;
            (usize::try_from(u64::from_be_bytes(*bytes)).ok()?, rest)
        }
        n => (usize::from(n), rest),
    };
    let (key, rest) = if masked {
        let (key, rest) = rest.split_first_chunk::<4>()?;
        (Some(*key), rest)
    } else {
        (None, rest)
    };
    let payload = rest.get(..length)?;
    let payload = match key {
        Some(key) => payload
            .iter()
            .zip(key.iter().cycle())
            .map(|(byte, k)| byte ^ k)
            .collect(),
        None => payload.to_vec(),
    };
    let used = buf.len() - rest.len() + length;
    Some((
        Frame {
            fin: first & 0x80 != 0,
            opcode: first & 0x0f,
            payload,
        },
        used,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        for len in [0, 5, 125, 126, 1001, 70_000] {
            let payload: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            for masked in [false, true] {
                let bytes = encode_frame(true, OP_BINARY, &payload, masked);
                let (frame, used) = decode_frame(&bytes).expect("a whole frame");
                assert_eq!(used, bytes.len());
                assert_eq!(frame.payload, payload);
                assert!(decode_frame(&bytes[..bytes.len() - 1]).is_none() || len == 0);
            }
        }
    }
}
