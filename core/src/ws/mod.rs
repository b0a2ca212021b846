//! WebSocket frames (RFC 6455 §5) for the server side: a streaming decoder that turns masked
//! client frames into whole messages and control frames, and an encoder for unmasked server
//! frames. Frame headers, opcodes and close codes are tungstenite's public types.

pub mod decoder;
pub mod encoder;
pub mod error;

pub use decoder::{CloseFrame, Incoming, MessageDecoder};
pub use encoder::{write_close, write_frame};
pub use error::ProtocolError;
pub use tungstenite::protocol::frame::coding::{Control, Data, OpCode};
