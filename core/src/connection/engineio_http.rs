//! Engine.IO's HTTP requests inside the HTTP phase: a request to `/socket.io/` (or, in
//! conformance mode, `/engine.io/`) is read whole, body included, and handed to the hub as a
//! [`HubCall`]; the pipeline waits until the hub answers, and a polling GET the hub parks waits
//! for as long as the session has nothing to send.
//!
//! The answers are engine.io's, byte for byte where clients look: `200` with
//! `text/plain; charset=UTF-8` packets, `400` with its JSON error body, `413` with none, and
//! CORS headers for an allowed `Origin` (E9). The origin is checked as for WebSocket upgrades
//! (B8), with engine.io's `403` `{"code":4,"message":"Forbidden"}` when it is refused.

use bytes::Bytes;

use crate::config::Config;
use crate::engineio::{Method, RequestError, Sid};
use crate::http::{BodyDecoder, RequestHead};
use crate::hub::{HubCall, Mount};

/// A request to an Engine.IO path, from its head to its answer.
#[derive(Debug)]
pub(super) struct HubRequest {
    pub(super) mount: Mount,
    pub(super) head: RequestHead,
    /// Its body, still arriving (kept, not dropped).
    pub(super) body: Option<BodyDecoder>,
    /// The call, once the request is complete, until the connection hands it out.
    pub(super) call: Option<HubCall>,
    /// The GET is parked for this session: answered when the hub says so.
    pub(super) parked: Option<Sid>,
    /// For an upgrade: the `101` to send if the hub accepts, and the bytes after the request.
    pub(super) upgrade: Option<(Vec<u8>, Vec<u8>)>,
    pub(super) client_ip: std::net::IpAddr,
}

impl HubRequest {
    pub(super) fn new(mount: Mount, head: RequestHead, client_ip: std::net::IpAddr) -> Self {
        HubRequest {
            mount,
            head,
            body: None,
            call: None,
            parked: None,
            upgrade: None,
            client_ip,
        }
    }

    /// The request is complete: builds its call.
    pub(super) fn complete(&mut self, body: Bytes) {
        let query = self
            .head
            .target
            .split_once('?')
            .map_or("", |(_, query)| query)
            .to_owned();
        self.call = Some(HubCall::Request {
            mount: self.mount,
            method: Method::from_token(&self.head.method),
            query,
            body,
            websocket_upgrade: self.upgrade.is_some(),
            client_ip: self.client_ip,
            visitor: None,
        });
    }
}

/// Whether the request's `Origin` may use the Engine.IO paths (none is fine).
pub(super) fn origin_allowed(head: &RequestHead, config: &Config) -> bool {
    config
        .origins
        .allows(head.origin.as_deref(), head.host.as_deref())
}

/// Appends the CORS headers for an allowed origin (none without an `Origin`).
fn write_cors(out: &mut Vec<u8>, head: &RequestHead) {
    if let Some(origin) = &head.origin {
        let origin: String = origin
            .chars()
            .filter(|c| !matches!(c, '\r' | '\n'))
            .collect();
        out.extend_from_slice(b"Access-Control-Allow-Origin: ");
        out.extend_from_slice(origin.as_bytes());
        out.extend_from_slice(b"\r\nAccess-Control-Allow-Credentials: true\r\nVary: Origin\r\n");
    }
}

fn write_head(
    out: &mut Vec<u8>,
    status: &str,
    content_type: Option<&str>,
    length: usize,
    head: &RequestHead,
    keep_alive: bool,
) {
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.as_bytes());
    out.extend_from_slice(b"\r\n");
    if let Some(content_type) = content_type {
        out.extend_from_slice(b"Content-Type: ");
        out.extend_from_slice(content_type.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    write_cors(out, head);
    out.extend_from_slice(format!("Content-Length: {length}\r\n").as_bytes());
    out.extend_from_slice(if keep_alive {
        b"Connection: keep-alive\r\n\r\n".as_slice()
    } else {
        b"Connection: close\r\n\r\n".as_slice()
    });
}

/// `200` with packets (or `ok`), as engine.io's polling transport answers.
pub(super) fn write_ok(out: &mut Vec<u8>, head: &RequestHead, body: &[u8], keep_alive: bool) {
    let content_type = "text/plain; charset=UTF-8";
    write_head(
        out,
        "200 OK",
        Some(content_type),
        body.len(),
        head,
        keep_alive,
    );
    out.extend_from_slice(body);
}

/// A refused request: its status, and engine.io's JSON body when it has one.
pub(super) fn write_error(
    out: &mut Vec<u8>,
    head: &RequestHead,
    error: RequestError,
    keep_alive: bool,
) {
    let status = match error.status() {
        413 => "413 Payload Too Large",
        _ => "400 Bad Request",
    };
    match error.json_body() {
        Some(json) => {
            let content_type = Some("application/json");
            write_head(out, status, content_type, json.len(), head, keep_alive);
            out.extend_from_slice(json.as_bytes());
        }
        None => write_head(out, status, None, 0, head, keep_alive),
    }
}

/// engine.io's answer to a request whose origin is refused.
pub(super) fn write_forbidden(out: &mut Vec<u8>, head: &RequestHead) {
    let json = br#"{"code":4,"message":"Forbidden"}"#;
    // No CORS headers: the origin is not allowed to read this.
    let mut bare = head.clone();
    bare.origin = None;
    write_head(
        out,
        "403 Forbidden",
        Some("application/json"),
        json.len(),
        &bare,
        false,
    );
    out.extend_from_slice(json);
}

/// The answer to a CORS preflight (`OPTIONS`) from an allowed origin.
pub(super) fn write_preflight(out: &mut Vec<u8>, head: &RequestHead, keep_alive: bool) {
    out.extend_from_slice(b"HTTP/1.1 204 No Content\r\n");
    write_cors(out, head);
    out.extend_from_slice(
        b"Access-Control-Allow-Methods: GET,POST\r\nAccess-Control-Allow-Headers: content-type\r\n",
    );
    out.extend_from_slice(if keep_alive {
        b"Connection: keep-alive\r\n\r\n".as_slice()
    } else {
        b"Connection: close\r\n\r\n".as_slice()
    });
}
