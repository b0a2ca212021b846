//! Server frames: unmasked, never fragmented.
//!
//! A server must not mask (RFC 6455 §5.1) and has no reason to fragment: every message the
//! server sends is already whole in memory. So a frame is a 2-10 byte header followed by the
//! payload, appended to the connection's output buffer with a single reservation.

use tungstenite::protocol::frame::coding::{Control, OpCode};

/// Longest close reason: a control payload is at most 125 bytes, 2 of which are the code.
const MAX_CLOSE_REASON: usize = 123;

/// Appends one final, unmasked frame to `out`.
pub fn write_frame(out: &mut Vec<u8>, opcode: OpCode, payload: &[u8]) {
    write_parts(out, opcode, &[payload]);
}

/// Appends a close frame with `code` and `reason` (at most 123 bytes of reason kept).
///
/// A longer reason is cut at the last character boundary within 123 bytes, so the peer still
/// receives valid UTF-8 (it would otherwise fail us with 1007).
pub fn write_close(out: &mut Vec<u8>, code: u16, reason: &str) {
    let mut end = reason.len().min(MAX_CLOSE_REASON);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    let reason = reason.get(..end).unwrap_or_default();
    write_parts(
        out,
        OpCode::Control(Control::Close),
        &[&code.to_be_bytes(), reason.as_bytes()],
    );
}

/// Appends one final, unmasked frame whose payload is the concatenation of `parts` (a type
/// digit and a shared payload, without first copying them into one buffer).
pub fn write_frame_parts(out: &mut Vec<u8>, opcode: OpCode, parts: &[&[u8]]) {
    write_parts(out, opcode, parts);
}

/// Appends a frame whose payload is the concatenation of `parts`.
fn write_parts(out: &mut Vec<u8>, opcode: OpCode, parts: &[&[u8]]) {
    let len: usize = parts.iter().map(|part| part.len()).sum();
    out.reserve(header_len(len) + len);
    // FIN set, no RSV bits (no extension is negotiated).
    out.push(0x80 | (u8::from(opcode) & 0x0F));
    match u16::try_from(len) {
        Ok(short) if short <= 125 => out.push(short as u8),
        Ok(medium) => {
            out.push(126);
            out.extend_from_slice(&medium.to_be_bytes());
        }
        Err(_) => {
            out.push(127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    for part in parts {
        out.extend_from_slice(part);
    }
}

/// Header length for an unmasked frame carrying `len` bytes.
fn header_len(len: usize) -> usize {
    match len {
        0..=125 => 2,
        126..=0xFFFF => 4,
        _ => 10,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ws::Data;

    #[test]
    fn length_encodings() {
        for (len, header) in [
            (0usize, vec![0x81, 0]),
            (125, vec![0x81, 125]),
            (126, vec![0x81, 126, 0, 126]),
            (65535, vec![0x81, 126, 0xFF, 0xFF]),
            (65536, vec![0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0]),
        ] {
            let payload = vec![b'x'; len];
            let mut out = Vec::new();
            write_frame(&mut out, OpCode::Data(Data::Text), &payload);
            assert_eq!(&out[..header.len()], &header[..], "len {len}");
            assert_eq!(&out[header.len()..], &payload[..], "len {len}");
            assert_eq!(out.len(), header_len(len) + len);
        }
    }

    #[test]
    fn opcodes_and_append() {
        let mut out = b"prefix".to_vec();
        write_frame(&mut out, OpCode::Control(Control::Ping), b"hi");
        write_frame(&mut out, OpCode::Data(Data::Binary), &[1, 2]);
        assert_eq!(out, b"prefix\x89\x02hi\x82\x02\x01\x02");
    }

    #[test]
    fn close_code_and_reason() {
        let mut out = Vec::new();
        write_close(&mut out, 1001, "bye");
        assert_eq!(out, b"\x88\x05\x03\xe9bye");
    }

    #[test]
    fn close_reason_cut_at_char_boundary() {
        // 41 three-byte characters = 123 bytes fit; one more byte in front pushes the last one
        // across the limit, and it must go whole.
        let exact = "한".repeat(41);
        let mut out = Vec::new();
        write_close(&mut out, 1000, &exact);
        assert_eq!(out[1], 125);
        assert_eq!(&out[4..], exact.as_bytes());

        let over = format!("a{exact}");
        let mut out = Vec::new();
        write_close(&mut out, 1000, &over);
        assert_eq!(usize::from(out[1]), 2 + 1 + 40 * 3);
        assert!(std::str::from_utf8(&out[4..]).is_ok());
        assert!(over.starts_with(std::str::from_utf8(&out[4..]).unwrap()));
    }
}
