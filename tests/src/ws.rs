//! WebSocket clients on the test's async workers: a well-behaved one (async-tungstenite), one
//! that reads in the background and time-stamps what arrives ([`TickWatcher`]), and a raw one that
//! writes frames byte by byte ([`RawWs`]) for what a library would refuse to send: unmasked
//! frames, broken UTF-8, a peer that never answers a close.
//!
//! The wire format lives here once ([`upgrade_request`], [`encode_frame`], [`decode_frame`],
//! [`check_handshake`]) so that the blocking client of [`crate::blocking`] and the tests that
//! write their own handshakes speak exactly the same bytes as [`RawWs`].

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

/// What a [`TickWatcher`] saw next; a tick carries the instant the reading task received it.
#[derive(Debug)]
pub enum Seen {
    Tick(Instant),
    /// A close frame and its code (`None` for an empty one). Reading goes on after it, so the
    /// library answers it.
    Close(Option<CloseCode>),
    /// Any other data message.
    Other(Message),
    /// The connection ended (or failed).
    End,
}

/// A client whose messages are read by a background task as they arrive, so the test can ask
/// about ticks that came after some instant without having kept reading, and the library answers
/// pings and the server's close frame while the test waits elsewhere.
#[derive(Debug)]
pub struct TickWatcher {
    rx: mpsc::UnboundedReceiver<(Instant, Message)>,
    reader: JoinHandle<()>,
}

impl TickWatcher {
    /// Opens a WebSocket to `/` and watches it.
    pub async fn connect(port: u16) -> TickWatcher {
        TickWatcher::watch(connect(port, "/").await)
    }

    /// Reads `client` in the background until its stream ends.
    pub fn watch(mut client: Client) -> TickWatcher {
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

    /// What came next (pings and pongs are answered by the library and skipped); `None` when
    /// nothing came within `timeout`.
    pub async fn next_seen(&mut self, timeout: Duration) -> Option<Seen> {
        self.next_seen_by(tokio::time::Instant::now() + timeout)
            .await
    }

    async fn next_seen_by(&mut self, deadline: tokio::time::Instant) -> Option<Seen> {
        loop {
            match tokio::time::timeout_at(deadline, self.rx.recv())
                .await
                .ok()?
            {
                Some((_, Message::Ping(_) | Message::Pong(_))) => {}
                Some((at, Message::Text(text))) if text.as_str() == spec::TICK => {
                    return Some(Seen::Tick(at))
                }
                Some((_, Message::Close(frame))) => {
                    return Some(Seen::Close(frame.map(|f| f.code)))
                }
                Some((_, other)) => return Some(Seen::Other(other)),
                None => return Some(Seen::End),
            }
        }
    }

    /// Waits for a tick that arrived after `after`; returns when it arrived.
    pub async fn tick_after(&mut self, after: Instant, timeout: Duration) -> Instant {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match self.next_seen_by(deadline).await {
                Some(Seen::Tick(at)) => {
                    if at > after {
                        return at;
                    }
                }
                Some(Seen::End) => panic!("the watching client's connection ended"),
                Some(other) => panic!("the watching client got {other:?}"),
                None => panic!("the watching client got no tick within {timeout:?}"),
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

pub const OP_CONTINUATION: u8 = 0x0;
pub const OP_TEXT: u8 = 0x1;
pub const OP_BINARY: u8 = 0x2;
pub const OP_CLOSE: u8 = 0x8;
pub const OP_PING: u8 = 0x9;
pub const OP_PONG: u8 = 0xa;

/// The sample key of RFC 6455 §1.3 and the accept value it must produce.
pub const SAMPLE_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const SAMPLE_ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// An opening handshake for `path` with [`SAMPLE_KEY`], version 13 and `extra` header lines.
pub fn upgrade_request(port: u16, path: &str, extra: &[(&str, &str)]) -> Vec<u8> {
    let mut headers = vec![
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", SAMPLE_KEY),
        ("Sec-WebSocket-Version", "13"),
    ];
    headers.extend_from_slice(extra);
    crate::http::get_request(port, path, &headers)
}

/// Checks a handshake response's head (up to the blank line): `101 Switching Protocols` with
/// the accept value of [`SAMPLE_KEY`].
pub fn check_handshake(head: &str) -> Result<(), String> {
    if !head.starts_with("HTTP/1.1 101 ") {
        return Err(format!("expected 101 Switching Protocols, got {head:?}"));
    }
    let accepted = head.lines().any(|line| {
        line.split_once(':').is_some_and(|(name, value)| {
            name.eq_ignore_ascii_case("sec-websocket-accept") && value.trim() == SAMPLE_ACCEPT
        })
    });
    if !accepted {
        return Err(format!("wrong or missing Sec-WebSocket-Accept in {head:?}"));
    }
    Ok(())
}

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
        stream
            .write_all(&upgrade_request(port, path, extra))
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
        if let Err(why) = check_handshake(&head) {
            panic!("{why}");
        }
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
    let mut out = frame_header(fin, opcode, payload.len(), masked.then_some(KEY));
    out.reserve(payload.len());
    if masked {
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

/// A frame's header up to its payload: FIN and opcode, the length in its shortest form, and the
/// mask key when there is one.
pub fn frame_header(fin: bool, opcode: u8, len: usize, mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut out = Vec::with_capacity(14);
    out.push(if fin { 0x80 } else { 0 } | (opcode & 0x0f));
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    match len {
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
    if let Some(key) = mask {
        out.extend_from_slice(&key);
    }
    out
}

/// A final frame's header with the mask bit set and an all-zero key (RFC 6455 allows any key),
/// so that large payloads go out as they are, without a masking pass in the test.
pub fn zero_mask_header(opcode: u8, len: usize) -> Vec<u8> {
    frame_header(true, opcode, len, Some([0; 4]))
}

/// Decodes one frame from the front of `buf`: the frame and the bytes it took, or `None` if it
/// is not all there yet. A masked frame is unmasked; a server's frames never are, and
/// [`crate::blocking::Wire`] refuses one before decoding it.
pub fn decode_frame(buf: &[u8]) -> Option<(Frame, usize)> {
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
    fn the_upgrade_request_is_rfc_6455s_sample() {
        let request = upgrade_request(8080, "/chat", &[("Origin", "http://example.com")]);
        assert_eq!(
            String::from_utf8_lossy(&request),
            "GET /chat HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Version: 13\r\nOrigin: http://example.com\r\n\r\n"
        );
    }

    #[test]
    fn the_handshake_check_wants_101_and_the_sample_accept() {
        let good = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
                    sec-websocket-accept:  s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
        assert_eq!(check_handshake(good), Ok(()));
        assert!(check_handshake(&good.replace("101", "200")).is_err());
        assert!(check_handshake(&good.replace("xOo=", "xOo")).is_err());
        assert!(check_handshake("HTTP/1.1 101 Switching Protocols").is_err());
    }

    #[test]
    fn a_zero_mask_header_carries_the_payload_as_is() {
        for len in [0, 125, 126, 65_535, 65_536] {
            let mut bytes = zero_mask_header(OP_BINARY, len);
            bytes.extend((0..len).map(|i| (i % 251) as u8));
            let (frame, used) = decode_frame(&bytes).expect("a whole frame");
            assert_eq!(
                (used, frame.fin, frame.opcode),
                (bytes.len(), true, OP_BINARY)
            );
            assert_eq!(frame.payload, bytes[bytes.len() - len..]);
        }
    }

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
