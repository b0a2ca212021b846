//! WebSocket frames (RFC 6455 §5) for the server side: a streaming decoder that turns masked
//! client frames into whole messages and control frames, and an encoder for unmasked server
//! frames. Frame headers, opcodes and close codes are tungstenite's public types.
//!
//! tungstenite's own frame reader wants an `io::Read` and whole frames; a sans-IO core gets bytes
//! in arbitrary pieces and must bound memory against a hostile peer, hence this decoder. Its
//! unmasking and incremental UTF-8 check live in `mask` and `utf8`.

pub mod decoder;
pub mod encoder;
pub mod error;
mod mask;
mod utf8;

#[cfg(test)]
mod tests;

pub use decoder::{Incoming, MessageDecoder};
pub use encoder::{write_close, write_frame, write_frame_parts};
pub use error::ProtocolError;
pub use tungstenite::protocol::frame::coding::{Control, Data, OpCode};
