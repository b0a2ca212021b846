//! The WebSocket opening handshake (RFC 6455 §4.2) with SPEC §4's answers and the origin policy.

use super::{RequestHead, Response};
use crate::origin::OriginPolicy;

/// What a WebSocket connection does once open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// The seed's behaviour: a tick every interval, messages logged. Any path but `/echo`.
    Ticker,
    /// `/echo`: every message echoed, no ticks (B1).
    Echo,
}

impl Endpoint {
    /// The endpoint a path asks for.
    pub fn for_path(path: &str) -> Endpoint {
        if path == "/echo" {
            Endpoint::Echo
        } else {
            Endpoint::Ticker
        }
    }
}

/// Validates an upgrade request: `Ok(bytes of the 101 response)` or `Err(the rejection)`:
/// 400 for a missing/invalid key, not GET, not HTTP/1.1, no `Connection: upgrade`; 426 with
/// `Sec-WebSocket-Version: 13` for another version; 403 for an origin the policy refuses.
pub fn accept_upgrade(head: &RequestHead, origins: &OriginPolicy) -> Result<Vec<u8>, Response> {
    let _ = (head, origins);
    todo!()
}
