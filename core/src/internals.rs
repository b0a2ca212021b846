//! The parsers and codecs behind [`Connection`](crate::Connection), opened by the `internals`
//! feature for the project's fuzz targets, benchmarks and tests, which hold each of them to its
//! contract directly (a request head cut anywhere is incomplete, a frame stream decodes the same
//! in any chunking, ...).
//!
//! Not an API: a runtime has no use for these (it hands bytes to a `Connection`), and they change
//! shape whenever the connection needs them to.

/// HTTP/1.1 as the connection speaks it: request heads, bodies, routing, the upgrade handshake.
pub mod http {
    pub use crate::http::body::BodyDecoder;
    pub use crate::http::handshake::{accept_upgrade, accept_upgrade_for};
    pub use crate::http::request::{parse_request, RequestHead, Version};
    pub use crate::http::response::{reason_phrase, Body, Response};
    pub use crate::http::route::{error_response, route};
}

/// WebSocket frames: the streaming decoder of client frames and the encoder of server frames.
pub mod ws {
    pub use crate::ws::decoder::{is_valid_close_code, CloseFrame, Incoming, MessageDecoder};
    pub use crate::ws::encoder::{write_close, write_frame};
    pub use crate::ws::{Control, Data, OpCode};
}
