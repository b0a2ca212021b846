//! The rest of what a client sends besides frames: the upgrade request, and the chunks a stream
//! arrives in.

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
