//! The WebSocket opening handshake (RFC 6455 §4.2) with SPEC §4's answers and the origin policy.
//!
//! The 101 is built by hand, byte for byte, because it is all there is to it: we offer no
//! subprotocol and no extension (no permessage-deflate, whose memory cost per connection a
//! hostile client could choose), so the answer depends on the key alone.

use super::request::{RequestHead, Version};
use super::response::Response;
use super::route::error_page;
use crate::app_env::AppEnv;
use crate::origin::OriginPolicy;
use crate::site::Site;

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
///
/// A rejection's body is the demo error page with the message only (no [`Site`] or
/// [`AppEnv`] is at hand here); [`accept_upgrade_for`] renders it with the server's own.
#[cfg(any(test, feature = "internals"))]
pub fn accept_upgrade(head: &RequestHead, origins: &OriginPolicy) -> Result<Vec<u8>, Response> {
    check(head, origins).map_err(|(status, detail)| {
        rejection(demo_page::ERROR_HTML, status, detail, AppEnv::Production)
    })
}

/// [`accept_upgrade`], with a rejection rendered from `site`'s error page as `env` wants it
/// (the detail says which rule the request broke).
pub fn accept_upgrade_for(
    head: &RequestHead,
    origins: &OriginPolicy,
    site: &Site,
    env: AppEnv,
) -> Result<Vec<u8>, Response> {
    check(head, origins)
        .map_err(|(status, detail)| rejection(site.error_template, status, detail, env))
}

/// The 101's bytes, or the status and detail of the rejection.
fn check(head: &RequestHead, origins: &OriginPolicy) -> Result<Vec<u8>, (u16, &'static str)> {
    const BAD: u16 = 400;
    if head.method != "GET" {
        return Err((BAD, "BadRequestError: a WebSocket upgrade must be a GET"));
    }
    if head.version != Some(Version::Http11) {
        return Err((BAD, "BadRequestError: a WebSocket upgrade needs HTTP/1.1"));
    }
    if !head.is_upgrade() {
        return Err((BAD, "BadRequestError: missing Upgrade: websocket"));
    }
    if !head.connection.iter().any(|token| token == "upgrade") {
        return Err((BAD, "BadRequestError: missing Connection: Upgrade"));
    }
    let key = head.sec_websocket_key.as_deref().unwrap_or_default();
    if !is_valid_key(key) {
        return Err((BAD, "BadRequestError: missing or invalid Sec-WebSocket-Key"));
    }
    if head.sec_websocket_version.as_deref() != Some("13") {
        return Err((
            426,
            "UpgradeRequiredError: Sec-WebSocket-Version must be 13",
        ));
    }
    if !origins.allows(head.origin.as_deref(), head.host.as_deref()) {
        return Err((403, "ForbiddenError: Origin not allowed"));
    }
    let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
    Ok(format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {accept}\r\n\r\n"
    )
    .into_bytes())
}

/// The error page for a refused upgrade; a 426 names the version we speak (RFC 6455 §4.4).
fn rejection(template: &str, status: u16, detail: &str, env: AppEnv) -> Response {
    let mut response = error_page(template, status, detail, env);
    if status == 426 {
        response
            .headers
            .push(("Sec-WebSocket-Version", "13".to_owned()));
    }
    response
}

/// Whether `key` is base64 for exactly 16 bytes (RFC 6455 §4.1): 22 digits and `==`, the last
/// digit carrying only 2 data bits, so its low 4 bits must be zero in canonical base64.
fn is_valid_key(key: &str) -> bool {
    let bytes = key.as_bytes();
    let Some((digits, padding)) = bytes.split_at_checked(22) else {
        return false;
    };
    let value = |b: u8| match b {
        b'A'..=b'Z' => Some(b - b'A'),
        b'a'..=b'z' => Some(b - b'a' + 26),
        b'0'..=b'9' => Some(b - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    padding == b"=="
        && digits.iter().all(|&b| value(b).is_some())
        && digits
            .last()
            .and_then(|&b| value(b))
            .is_some_and(|v| v & 0x0f == 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{parse_request, HttpLimits};

    const RFC_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

    fn upgrade() -> RequestHead {
        let raw = format!(
            "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: {RFC_KEY}\r\n\
             Origin: http://server.example.com\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        match parse_request(raw.as_bytes(), &HttpLimits::default()) {
            Ok(Some((head, _))) => head,
            other => panic!("{other:?}"),
        }
    }

    fn status(head: &RequestHead) -> u16 {
        match accept_upgrade(head, &OriginPolicy::default()) {
            Ok(_) => 101,
            Err(response) => response.status,
        }
    }

    #[test]
    fn rfc_6455_sample_is_accepted() {
        let bytes = accept_upgrade(&upgrade(), &OriginPolicy::default()).unwrap();
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
        );
    }

    #[test]
    fn no_origin_is_fine_and_tokens_are_case_insensitive() {
        let mut head = upgrade();
        head.origin = None;
        head.upgrade = Some("WebSocket".to_owned());
        head.connection = vec!["keep-alive".to_owned(), "upgrade".to_owned()];
        assert_eq!(status(&head), 101);
    }

    #[test]
    fn malformed_upgrades_are_400() {
        let cases: [fn(&mut RequestHead); 10] = [
            |h| h.method = "POST".to_owned(),
            |h| h.method = "HEAD".to_owned(),
            |h| h.version = Some(Version::Http10),
            |h| h.upgrade = Some("h2c".to_owned()),
            |h| h.connection = vec!["keep-alive".to_owned()],
            |h| h.sec_websocket_key = None,
            |h| h.sec_websocket_key = Some("dGhlIHNhbXBsZSBub25jZQ".to_owned()),
            |h| h.sec_websocket_key = Some("dGhlIHNhbXBsZSBub25jZR==".to_owned()),
            |h| h.sec_websocket_key = Some("dGhlIHNhbXBsZSBub25j!Q==".to_owned()),
            |h| h.sec_websocket_key = Some("dGhlIHNhbXBsZSBub25jZQ==dGhl".to_owned()),
        ];
        for (i, change) in cases.iter().enumerate() {
            let mut head = upgrade();
            change(&mut head);
            assert_eq!(status(&head), 400, "case {i}");
        }
    }

    #[test]
    fn other_versions_are_426_with_the_version_header() {
        for version in [None, Some("8"), Some("14"), Some("13, 8")] {
            let mut head = upgrade();
            head.sec_websocket_version = version.map(str::to_owned);
            let response = accept_upgrade(&head, &OriginPolicy::default()).unwrap_err();
            assert_eq!(response.status, 426);
            assert_eq!(response.header("sec-websocket-version"), Some("13"));
            let with_site = accept_upgrade_for(
                &head,
                &OriginPolicy::default(),
                &Site::demo(),
                AppEnv::Development,
            )
            .unwrap_err();
            assert_eq!(with_site.header("sec-websocket-version"), Some("13"));
            let body = String::from_utf8(with_site.body.as_bytes().to_vec()).unwrap();
            assert!(body.contains("Upgrade Required") && body.contains("426"));
        }
    }

    #[test]
    fn foreign_origins_are_403() {
        let mut head = upgrade();
        head.origin = Some("http://evil.example".to_owned());
        let response = accept_upgrade(&head, &OriginPolicy::default()).unwrap_err();
        assert_eq!(response.status, 403);
        assert_eq!(
            response.header("content-type"),
            Some("text/html; charset=utf-8")
        );
        let body = String::from_utf8(response.body.as_bytes().to_vec()).unwrap();
        assert!(body.contains("Forbidden"));
        let open: OriginPolicy = "*".parse().unwrap();
        assert!(accept_upgrade(&head, &open).is_ok());
        let listed: OriginPolicy = "http://evil.example".parse().unwrap();
        assert!(accept_upgrade(&head, &listed).is_ok());
    }

    #[test]
    fn endpoints() {
        assert_eq!(Endpoint::for_path("/echo"), Endpoint::Echo);
        assert_eq!(Endpoint::for_path("/"), Endpoint::Ticker);
        assert_eq!(Endpoint::for_path("/echo/"), Endpoint::Ticker);
    }
}
