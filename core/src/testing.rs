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
mod client_stream;
mod driver;
mod server_frames;

pub use client_frame::{
    binary, client_frame, close, text, ClientFrame, Length, BINARY, CLOSE, CONTINUATION, FIN,
    MASK_KEY, PING, PONG, TEXT,
};
pub use client_stream::{chunks, upgrade_request, ACCEPT, KEY};
pub use driver::{default_config, drain_transmit, peer_addr, t0, Driver};
pub use server_frames::{parse_server_frames, switching_end, ServerFrame};
