//! The client side of the wire, hand-rolled: an upgrade request, masked client frames, a decoder
//! for the server's frames, and the bits of HTTP/1.1 a keep-alive `GET` loop needs.
//!
//! A general client library would do, but at 19,000 connections on a two-core machine that is
//! shared with the server under test, the client's own cost and memory end up in the figures.
//! This codec keeps no state but a few bytes of partial input per connection and copies nothing.

use thiserror::Error;

/// The key of RFC 6455's example; the server's answer must carry the matching accept value.
pub const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
/// `base64(sha1(KEY + GUID))`, from RFC 6455 section 1.3.
pub const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
/// The seed page's answer to each tick.
pub const REPLY: &str = "클라이언트에서 서버로 답장을 보냅니다";

pub const OP_CONTINUATION: u8 = 0x0;
pub const OP_TEXT: u8 = 0x1;
pub const OP_BINARY: u8 = 0x2;
pub const OP_CLOSE: u8 = 0x8;
pub const OP_PING: u8 = 0x9;
pub const OP_PONG: u8 = 0xA;

/// What went wrong talking to the server.
#[derive(Debug, Error)]
pub enum ProtoError {
    #[error("the server answered the upgrade with {0:?}")]
    NotUpgraded(String),
    #[error("the upgrade answer lacks the expected Sec-WebSocket-Accept")]
    BadAccept,
    #[error("response head over {0} bytes")]
    HeadTooLarge(usize),
    #[error("malformed HTTP response: {0}")]
    BadResponse(&'static str),
    #[error("server frame is masked or uses a reserved bit")]
    BadFrame,
    #[error("server frame of {0} bytes is larger than the client accepts")]
    FrameTooLarge(u64),
}

/// The upgrade request for `path` on `host` (`host:port`).
pub fn upgrade_request(host: &str, path: &str) -> String {
    upgrade_request_with(host, path, "")
}

/// The upgrade request with `extra` header lines (each ending in CRLF), e.g. a cookie.
pub fn upgrade_request_with(host: &str, path: &str, extra: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
}

/// The position just after the blank line ending a response head, if complete.
pub fn head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

/// Checks a complete upgrade answer: status 101 and the right accept value.
pub fn check_upgrade(head: &[u8]) -> Result<(), ProtoError> {
    let text = String::from_utf8_lossy(head);
    let status = text.lines().next().unwrap_or_default();
    if !status.starts_with("HTTP/1.1 101") {
        return Err(ProtoError::NotUpgraded(status.to_owned()));
    }
    let accepted = text.lines().any(|line| {
        line.split_once(':').is_some_and(|(name, value)| {
            name.trim().eq_ignore_ascii_case("sec-websocket-accept") && value.trim() == ACCEPT
        })
    });
    if accepted {
        Ok(())
    } else {
        Err(ProtoError::BadAccept)
    }
}

/// Appends a masked client frame (FIN set) to `out`.
pub fn encode_frame(out: &mut Vec<u8>, opcode: u8, payload: &[u8], mask: [u8; 4]) {
    out.push(0x80 | (opcode & 0x0F));
    let len = payload.len();
    if len < 126 {
        out.push(0x80 | len as u8);
    } else if len <= usize::from(u16::MAX) {
        out.push(0x80 | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0x80 | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    out.extend_from_slice(&mask);
    out.extend(
        payload
            .iter()
            .zip(mask.iter().cycle())
            .map(|(byte, key)| byte ^ key),
    );
}

/// A close frame with status 1000.
pub fn encode_close(out: &mut Vec<u8>, mask: [u8; 4]) {
    encode_frame(out, OP_CLOSE, &1000u16.to_be_bytes(), mask);
}

/// One server frame found at the start of a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame {
    pub opcode: u8,
    pub fin: bool,
    /// Where the payload starts and ends in the buffer.
    pub payload: (usize, usize),
    /// Bytes the whole frame takes.
    pub len: usize,
}

/// Decodes the server frame at the start of `buf`: `Ok(None)` while incomplete. Server frames
/// are unmasked; frames above `max` bytes are refused rather than buffered.
pub fn decode_frame(buf: &[u8], max: u64) -> Result<Option<Frame>, ProtoError> {
    let (Some(&b0), Some(&b1)) = (buf.first(), buf.get(1)) else {
        return Ok(None);
    };
    if b1 & 0x80 != 0 || b0 & 0x70 != 0 {
        return Err(ProtoError::BadFrame);
    }
    let (len, header) = match b1 & 0x7F {
        126 => match buf.get(2..4) {
            Some(bytes) => (u64::from(u16::from_be_bytes([bytes[0], bytes[1]])), 4),
            None => return Ok(None),
        },
        127 => match buf.get(2..10).and_then(|b| <[u8; 8]>::try_from(b).ok()) {
            Some(bytes) => (u64::from_be_bytes(bytes), 10),
            None => return Ok(None),
        },
        short => (u64::from(short), 2),
    };
    if len > max {
        return Err(ProtoError::FrameTooLarge(len));
    }
    let total = header + len as usize;
    if buf.len() < total {
        return Ok(None);
    }
    Ok(Some(Frame {
        opcode: b0 & 0x0F,
        fin: b0 & 0x80 != 0,
        payload: (header, total),
        len: total,
    }))
}

/// A cheap per-connection mask generator (xorshift): masks need not be secret here, only
/// varied, and a CSPRNG per frame would be client cost the benchmark does not want.
#[derive(Debug, Clone)]
pub struct Masker(u32);

impl Masker {
    pub fn new(seed: u32) -> Self {
        Self(seed.wrapping_mul(2_654_435_761).max(1))
    }

    pub fn next_mask(&mut self) -> [u8; 4] {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        x.to_ne_bytes()
    }
}

/// The `GET` request the HTTP mode repeats on one keep-alive connection.
pub fn get_request(host: &str, path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: gif-chat-loadgen\r\n\r\n")
}

/// What a keep-alive loop needs from a response head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseHead {
    pub status: u16,
    pub content_length: usize,
    pub close: bool,
}

/// Parses a complete response head. Only `Content-Length` bodies are supported: every server
/// under test answers `GET /` that way.
pub fn parse_response_head(head: &[u8]) -> Result<ResponseHead, ProtoError> {
    let text = std::str::from_utf8(head).map_err(|_| ProtoError::BadResponse("not UTF-8"))?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .ok_or(ProtoError::BadResponse("status line"))?;
    let mut content_length = None;
    let mut close = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let (name, value) = (name.trim(), value.trim());
        if name.eq_ignore_ascii_case("content-length") {
            content_length = Some(
                value
                    .parse()
                    .map_err(|_| ProtoError::BadResponse("Content-Length"))?,
            );
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(ProtoError::BadResponse("chunked bodies are not supported"));
        } else if name.eq_ignore_ascii_case("connection") {
            close = value.eq_ignore_ascii_case("close");
        }
    }
    Ok(ResponseHead {
        status,
        content_length: content_length.unwrap_or(0),
        close,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unmask(frame: &[u8]) -> (u8, Vec<u8>) {
        let len = usize::from(frame[1] & 0x7F);
        let (len, at) = match len {
            126 => (usize::from(u16::from_be_bytes([frame[2], frame[3]])), 4),
            127 => (8, 10), // not used by the tests
            n => (n, 2),
        };
        let mask = &frame[at..at + 4];
        let payload = frame[at + 4..at + 4 + len]
            .iter()
            .zip(mask.iter().cycle())
            .map(|(b, k)| b ^ k)
            .collect();
        (frame[0], payload)
    }

    #[test]
    fn client_frames_are_masked_and_decode_back() {
        let mut masker = Masker::new(7);
        for size in [0, 5, 125, 126, 300, 65_535] {
            let payload: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
            let mut out = Vec::new();
            encode_frame(&mut out, OP_BINARY, &payload, masker.next_mask());
            assert_eq!(out[1] & 0x80, 0x80, "mask bit");
            let (b0, back) = unmask(&out);
            assert_eq!(b0, 0x82);
            assert_eq!(back, payload, "size {size}");
        }
    }

    #[test]
    fn server_frames_decode_incrementally() {
        let tick = "서버에서 클라이언트로 메시지를 보냅니다.".as_bytes();
        let mut wire = vec![0x81, tick.len() as u8];
        wire.extend_from_slice(tick);
        wire.extend_from_slice(&[0x89, 0x00]); // ping
        for cut in 0..wire.len() {
            if cut < tick.len() + 2 {
                assert_eq!(decode_frame(&wire[..cut], 1 << 20).ok().flatten(), None);
            }
        }
        let Ok(Some(frame)) = decode_frame(&wire, 1 << 20) else {
            panic!("complete frame not decoded");
        };
        assert_eq!(frame.opcode, OP_TEXT);
        assert!(frame.fin);
        assert_eq!(&wire[frame.payload.0..frame.payload.1], tick);
        let Ok(Some(ping)) = decode_frame(&wire[frame.len..], 1 << 20) else {
            panic!("ping not decoded");
        };
        assert_eq!((ping.opcode, ping.len), (OP_PING, 2));
    }

    #[test]
    fn masked_or_huge_server_frames_are_refused() {
        assert!(decode_frame(&[0x81, 0x85, 0, 0, 0, 0], 100).is_err());
        assert!(decode_frame(&[0xC1, 0x00], 100).is_err());
        let mut big = vec![0x82, 126];
        big.extend_from_slice(&1000u16.to_be_bytes());
        assert!(matches!(
            decode_frame(&big, 100),
            Err(ProtoError::FrameTooLarge(1000))
        ));
    }

    #[test]
    fn upgrade_answers_are_checked() {
        let good = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             sec-websocket-accept: {ACCEPT}\r\n\r\n"
        );
        assert_eq!(head_end(good.as_bytes()), Some(good.len()));
        assert!(check_upgrade(good.as_bytes()).is_ok());
        let wrong = good.replace(ACCEPT, "AAAA");
        assert!(matches!(
            check_upgrade(wrong.as_bytes()),
            Err(ProtoError::BadAccept)
        ));
        assert!(matches!(
            check_upgrade(b"HTTP/1.1 403 Forbidden\r\n\r\n"),
            Err(ProtoError::NotUpgraded(_))
        ));
    }

    #[test]
    fn response_heads_give_length_and_close() {
        let head = b"HTTP/1.1 200 OK\r\ncontent-length: 617\r\nConnection: keep-alive\r\n\r\n";
        let parsed = parse_response_head(head).ok();
        assert_eq!(
            parsed,
            Some(ResponseHead {
                status: 200,
                content_length: 617,
                close: false
            })
        );
        let closing = b"HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n";
        assert_eq!(
            parse_response_head(closing).ok().map(|h| h.close),
            Some(true)
        );
        assert!(
            parse_response_head(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n").is_err()
        );
        assert!(parse_response_head(b"SSH-2.0\r\n\r\n").is_err());
    }
}
