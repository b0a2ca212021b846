//! The one in-memory driver for a [`Connection`](crate::Connection), shared by the conversation
//! tests, the proptests and the fuzz targets (feature `testing`).
//!
//! It lives in the core, behind a feature, rather than in a crate of its own: the fuzz targets,
//! the core's integration tests and its unit tests (which encode client frames) all need it,
//! and a feature reaches all three, unit tests included, without a crate that depends on the core
//! while the core's own tests depend on it. Like quinn's `Pair`, it plays the runtime: a virtual
//! clock that moves only when told, a socket that takes as much as the test lets it, and after
//! every step a check of the contract every runtime relies on (see [`Driver::check`]). A test
//! that drives a connection through it cannot break that contract without failing, whatever it
//! set out to check.
//!
//! Alongside: the one encoder of client frames ([`ClientFrame`]), the parser of what the server
//! writes ([`parse_server_frames`]), and the requests and chunkings the tests feed.

mod client_frame;
mod driver;
mod server_frames;

pub use client_frame::{
    binary, client_frame, close, text, ClientFrame, Length, BINARY, CLOSE, CONTINUATION, FIN,
    MASK_KEY, PING, PONG, TEXT,
};
pub use driver::{default_config, peer_addr, t0, Driver};
pub use server_frames::{parse_server_frames, switching_end, ServerFrame};

/// The `Sec-WebSocket-Key` of RFC 6455's example; any valid key would do.
pub const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
/// The `Sec-WebSocket-Accept` that answers [`KEY`].
pub const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// An upgrade request to `path` as a browser on the same host sends it, with `extra_headers`
/// (each ending in CRLF) before the blank line.
pub fn upgrade_request(path: &str, extra_headers: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: localhost:8005\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\
         {extra_headers}\r\n"
    )
}

/// Splits `data` into chunks whose sizes cycle through `plan`: a byte `n > 0` is a chunk of `n`
/// bytes, `0` the whole rest. An empty plan is one chunk.
pub fn chunks<'a>(plan: &[u8], data: &'a [u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    let mut sizes = plan.iter().cycle();
    while !rest.is_empty() {
        let size = match sizes.next() {
            Some(&n) if n > 0 => usize::from(n).min(rest.len()),
            _ => rest.len(),
        };
        let (chunk, tail) = rest.split_at(size);
        out.push(chunk);
        rest = tail;
    }
    out
}
