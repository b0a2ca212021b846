//! The HTTP face of Engine.IO: what a runtime tells the engine about a request to its path, and
//! what the engine says to answer.
//!
//! The runtime parses HTTP; the engine only needs the method, three query parameters, the body
//! and whether the request asks for a WebSocket. The errors are the reference server's, status
//! and JSON body alike, because clients and the official test suite look at both.

use bytes::Bytes;
use serde::Serialize;

use super::Sid;

/// The request method, as far as Engine.IO cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// `GET`: a handshake, a poll for packets, or a WebSocket upgrade.
    Get,
    /// `POST`: packets from the client.
    Post,
    /// Anything else.
    Other,
}

impl Method {
    /// The method for an HTTP method token.
    pub fn from_token(token: &str) -> Method {
        match token {
            "GET" => Method::Get,
            "POST" => Method::Post,
            _ => Method::Other,
        }
    }
}

/// The query parameters Engine.IO reads (`EIO`, `transport`, `sid`); others, like the
/// cache-busting `t`, are ignored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Query<'a> {
    /// `EIO`: the protocol version; only `4` is spoken.
    pub eio: Option<&'a str>,
    /// `transport`: `polling` or `websocket`.
    pub transport: Option<&'a str>,
    /// `sid`: the session, absent on a handshake.
    pub sid: Option<&'a str>,
}

impl<'a> Query<'a> {
    /// Reads the parameters from a query string (without the `?`). The values Engine.IO uses
    /// never need percent-decoding; an encoded one simply does not match.
    pub fn parse(query: &'a str) -> Query<'a> {
        let mut out = Query::default();
        for pair in query.split('&') {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let slot = match key {
                "EIO" => &mut out.eio,
                "transport" => &mut out.transport,
                "sid" => &mut out.sid,
                _ => continue,
            };
            // The first occurrence wins, as with Node's query parser taking a single value.
            slot.get_or_insert(value);
        }
        out
    }
}

/// One HTTP request to the Engine.IO path, read completely (body included) by the runtime.
#[derive(Clone, Debug)]
pub struct Request<'a> {
    /// The method.
    pub method: Method,
    /// The query parameters.
    pub query: Query<'a>,
    /// The body (empty for a GET).
    pub body: Bytes,
    /// Whether this is a WebSocket upgrade request (`Upgrade: websocket`, already validated by
    /// the runtime's handshake code).
    pub websocket_upgrade: bool,
}

/// What to answer a [`Request`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// `200`, `Content-Type: text/plain; charset=UTF-8`, with this body: an open packet, packets
    /// for a GET, or `ok` for a POST.
    Ok(Bytes),
    /// A GET with nothing to receive yet: keep the request open, keyed by this sid. The engine
    /// names the sid in [`poll_ready`](super::Engine::poll_ready) when
    /// [`poll_get_answer`](super::Engine::poll_get_answer) has its body.
    Parked(Sid),
    /// Accept the WebSocket upgrade and key the connection by this sid: its messages come from
    /// [`poll_websocket`](super::Engine::poll_websocket), and what it receives goes to
    /// [`handle_websocket_message`](super::Engine::handle_websocket_message).
    WebSocket(Sid),
    /// Refuse the request.
    Error(RequestError),
}

/// Why a request is refused, with the reference server's status and error codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// `transport` is missing or neither `polling` nor `websocket` (code 0).
    #[error("Transport unknown")]
    UnknownTransport,
    /// `sid` names no open session (code 1).
    #[error("Session ID unknown")]
    UnknownSid,
    /// A handshake that is not a GET (code 2).
    #[error("Bad handshake method")]
    BadHandshakeMethod,
    /// The request does not fit the session's state: a transport mismatch, a second GET, an
    /// invalid body, a refused upgrade (code 3).
    #[error("Bad request")]
    BadRequest,
    /// `EIO` is missing or not `4` (code 5).
    #[error("Unsupported protocol version")]
    UnsupportedProtocolVersion,
    /// A POST body over the maximum payload: `413` with no body.
    #[error("Payload Too Large")]
    PayloadTooLarge,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: u8,
    message: &'a str,
}

impl RequestError {
    /// The HTTP status to answer with.
    pub fn status(self) -> u16 {
        match self {
            RequestError::PayloadTooLarge => 413,
            _ => 400,
        }
    }

    /// Engine.IO's error code, for the errors that carry one.
    pub fn code(self) -> Option<u8> {
        match self {
            RequestError::UnknownTransport => Some(0),
            RequestError::UnknownSid => Some(1),
            RequestError::BadHandshakeMethod => Some(2),
            RequestError::BadRequest => Some(3),
            RequestError::UnsupportedProtocolVersion => Some(5),
            RequestError::PayloadTooLarge => None,
        }
    }

    /// The response body, `application/json`: `{"code":N,"message":"..."}` (none for 413).
    pub fn json_body(self) -> Option<String> {
        let code = self.code()?;
        let message = self.to_string();
        serde_json::to_string(&ErrorBody {
            code,
            message: &message,
        })
        .ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_keeps_the_three_parameters_and_ignores_the_rest() {
        let query = Query::parse("EIO=4&transport=polling&t=Nx1&sid=abc&sid=def");
        assert_eq!(
            query,
            Query {
                eio: Some("4"),
                transport: Some("polling"),
                sid: Some("abc"),
            }
        );
        assert_eq!(Query::parse(""), Query::default());
        assert_eq!(Query::parse("EIO").eio, Some(""));
    }

    #[test]
    fn errors_carry_the_reference_status_and_body() {
        assert_eq!(
            RequestError::UnknownSid.json_body().as_deref(),
            Some(r#"{"code":1,"message":"Session ID unknown"}"#)
        );
        assert_eq!(
            RequestError::UnsupportedProtocolVersion
                .json_body()
                .as_deref(),
            Some(r#"{"code":5,"message":"Unsupported protocol version"}"#)
        );
        assert_eq!(RequestError::PayloadTooLarge.status(), 413);
        assert_eq!(RequestError::PayloadTooLarge.json_body(), None);
        assert_eq!(RequestError::BadRequest.status(), 400);
    }
}
