//! Server frames: unmasked, never fragmented.

use super::OpCode;

/// Appends one final, unmasked frame to `out`.
pub fn write_frame(out: &mut Vec<u8>, opcode: OpCode, payload: &[u8]) {
    let _ = (out, opcode, payload);
    todo!()
}

/// Appends a close frame with `code` and `reason` (at most 123 bytes of reason kept).
pub fn write_close(out: &mut Vec<u8>, code: u16, reason: &str) {
    let _ = (out, code, reason);
    todo!()
}
