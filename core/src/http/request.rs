//! Request heads, parsed with httparse into the few fields the server acts on.

use super::HttpError;

/// Limits on a request head (SPEC §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// Largest header section, request line included (default 16 KiB): over it, 431.
    pub max_header_bytes: usize,
    /// Most header fields (default 100): over it, 431.
    pub max_headers: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            max_header_bytes: 16 * 1024,
            max_headers: 100,
        }
    }
}

/// HTTP version of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    Http10,
    Http11,
}

/// A parsed request head. Header values the server does not act on are dropped.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RequestHead {
    /// Method as sent, e.g. `GET`.
    pub method: String,
    /// Request target as sent (path and query), e.g. `/favicon.ico?x=1`; logged as is.
    pub target: String,
    pub version: Option<Version>,
    pub host: Option<String>,
    pub origin: Option<String>,
    /// `Upgrade` header value.
    pub upgrade: Option<String>,
    /// `Connection` header tokens, lower-cased (all `Connection` headers joined).
    pub connection: Vec<String>,
    pub sec_websocket_key: Option<String>,
    pub sec_websocket_version: Option<String>,
    /// All `X-Forwarded-For` headers joined with `, `.
    pub x_forwarded_for: Option<String>,
    pub if_none_match: Option<String>,
    pub if_modified_since: Option<String>,
    pub content_length: Option<u64>,
    /// `Transfer-Encoding: chunked` (as the final coding).
    pub chunked: bool,
}

impl RequestHead {
    /// The path part of the target, before any `?`.
    pub fn path(&self) -> &str {
        todo!()
    }
    /// Whether the connection stays open after the response (HTTP/1.1 default, `Connection: close`,
    /// HTTP/1.0 with `keep-alive`).
    pub fn keep_alive(&self) -> bool {
        todo!()
    }
    /// Whether this asks for a WebSocket upgrade: an `Upgrade` header naming `websocket`.
    pub fn is_upgrade(&self) -> bool {
        todo!()
    }
    /// `HEAD` requests get headers only.
    pub fn is_head(&self) -> bool {
        todo!()
    }
}

/// Parses one request head from the start of `buf`.
///
/// `Ok(None)`: incomplete, feed more (but `buf` over the limit is `HeadersTooLarge`).
/// `Ok(Some((head, n)))`: the head took `n` bytes; the body (if any) follows.
pub fn parse_request(
    buf: &[u8],
    limits: &HttpLimits,
) -> Result<Option<(RequestHead, usize)>, HttpError> {
    let _ = (buf, limits);
    todo!()
}
