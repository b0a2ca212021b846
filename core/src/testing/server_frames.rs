//! What the server wrote, read back: its frames, checked against what RFC 6455 asks of a server,
//! and where its `101` ends.

use crate::ws::decoder::is_valid_close_code;

/// A frame the server wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerFrame {
    /// FIN, RSV and opcode.
    pub first: u8,
    pub payload: Vec<u8>,
}

impl ServerFrame {
    pub fn fin(&self) -> bool {
        self.first & 0x80 != 0
    }

    pub fn opcode(&self) -> u8 {
        self.first & 0x0F
    }

    /// The payload of a text frame.
    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.payload).unwrap_or_else(|_| panic!("not text: {self:?}"))
    }

    /// The status code of a close frame that has one.
    pub fn close_code(&self) -> Option<u16> {
        match (self.opcode(), self.payload.as_slice()) {
            (0x8, [high, low, ..]) => Some(u16::from_be_bytes([*high, *low])),
            _ => None,
        }
    }
}

/// Parses the frames in `bytes` (output after the `101`), checking what RFC 6455 asks of a
/// server: unmasked, FIN set and no RSV (it never fragments and negotiates no extension), known
/// opcodes, control payloads up to 125 bytes, minimal lengths, valid UTF-8 in text and close
/// reasons, a valid close code, nothing after the close frame, and no partial frame at the end
/// (output is whole frames).
pub fn parse_server_frames(mut bytes: &[u8]) -> Vec<ServerFrame> {
    let mut frames: Vec<ServerFrame> = Vec::new();
    while !bytes.is_empty() {
        assert!(
            !frames.iter().any(|f| f.opcode() == 8),
            "a frame after the close frame"
        );
        assert!(bytes.len() >= 2, "a partial frame header in the output");
        let (first, second) = (bytes[0], bytes[1]);
        assert_eq!(
            first & 0xF0,
            0x80,
            "server frame without FIN or with RSV bits"
        );
        assert_eq!(second & 0x80, 0, "masked server frame");
        let (len, header) = match second & 0x7F {
            126 => {
                assert!(bytes.len() >= 4, "a partial frame header in the output");
                let len = usize::from(u16::from_be_bytes([bytes[2], bytes[3]]));
                assert!(len >= 126, "non-minimal 16-bit length");
                (len, 4)
            }
            127 => {
                assert!(bytes.len() >= 10, "a partial frame header in the output");
                let mut raw = [0; 8];
                raw.copy_from_slice(&bytes[2..10]);
                let len = u64::from_be_bytes(raw);
                assert!(len > 0xFFFF, "non-minimal 64-bit length");
                (usize::try_from(len).expect("length fits in memory"), 10)
            }
            short => (usize::from(short), 2),
        };
        let end = header + len;
        assert!(bytes.len() >= end, "a partial frame in the output");
        let frame = ServerFrame {
            first,
            payload: bytes[header..end].to_vec(),
        };
        match frame.opcode() {
            1 => assert!(
                std::str::from_utf8(&frame.payload).is_ok(),
                "server text is not UTF-8"
            ),
            2 => {}
            8 => check_close_payload(&frame.payload),
            9 | 10 => assert!(frame.payload.len() <= 125, "control payload over 125"),
            other => panic!("server frame with opcode {other}"),
        }
        frames.push(frame);
        bytes = &bytes[end..];
    }
    frames
}

fn check_close_payload(payload: &[u8]) {
    assert!(payload.len() <= 125, "close payload over 125");
    assert_ne!(payload.len(), 1, "one-byte close payload");
    if payload.len() >= 2 {
        let code = u16::from_be_bytes([payload[0], payload[1]]);
        assert!(is_valid_close_code(code), "server sent close code {code}");
        assert!(
            std::str::from_utf8(&payload[2..]).is_ok(),
            "close reason is not UTF-8"
        );
    }
}

/// Where the first `101` response at or after `from` in `written` ends, if there is one.
///
/// Earlier responses cannot contain the status line: what they quote of a request (the method
/// and target in an error page) has no spaces.
pub fn switching_end(written: &[u8], from: usize) -> Option<usize> {
    const STATUS: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\n";
    let rest = written.get(from..)?;
    let start = from + rest.windows(STATUS.len()).position(|w| w == STATUS)?;
    let head_end = written[start..].windows(4).position(|w| w == b"\r\n\r\n")?;
    Some(start + head_end + 4)
}
