//! Responses and their bytes on the wire.
//!
//! Framing headers are written here and nowhere else, so that a route cannot get them wrong:
//! every response that may carry a body says its `Content-Length` (keep-alive depends on it),
//! and whether the connection stays open is decided by the connection, not the route.

use std::io::Write as _;
use std::time::Duration;

/// A response body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    Empty,
    Static(&'static [u8]),
    Owned(Vec<u8>),
}

impl Body {
    /// The body's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Body::Empty => &[],
            Body::Static(bytes) => bytes,
            Body::Owned(bytes) => bytes,
        }
    }

    /// The body's length in bytes.
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// Whether the body has no bytes.
    #[cfg(any(test, feature = "internals"))]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    /// Headers other than `Content-Length`, `Connection` and `Keep-Alive`, which `write_to` adds.
    pub headers: Vec<(&'static str, String)>,
    pub body: Body,
}

impl Response {
    /// Appends the status line, headers and (unless `head_only`) body to `out`. With
    /// `keep_alive = Some(t)` it sends `Connection: keep-alive` and `Keep-Alive: timeout=<secs>`,
    /// with `None` `Connection: close`.
    ///
    /// A `HEAD` answer carries the `Content-Length` the `GET` would have (RFC 9110 §9.3.2).
    pub fn write_to(&self, out: &mut Vec<u8>, head_only: bool, keep_alive: Option<Duration>) {
        // Writing into a Vec cannot fail.
        let _ = write!(
            out,
            "HTTP/1.1 {} {}\r\n",
            self.status,
            reason_phrase(self.status)
        );
        for (name, value) in &self.headers {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            // A value never spans lines: no CR or LF can smuggle in a header of its own.
            out.extend(value.bytes().filter(|b| !matches!(b, b'\r' | b'\n')));
            out.extend_from_slice(b"\r\n");
        }
        if let Some(length) = self.content_length() {
            let _ = write!(out, "Content-Length: {length}\r\n");
        }
        match keep_alive {
            Some(timeout) => {
                let _ = write!(
                    out,
                    "Connection: keep-alive\r\nKeep-Alive: timeout={}\r\n",
                    timeout.as_secs()
                );
            }
            None => out.extend_from_slice(b"Connection: close\r\n"),
        }
        out.extend_from_slice(b"\r\n");
        if !head_only && self.may_have_body() {
            out.extend_from_slice(self.body.as_bytes());
        }
    }

    /// The `Content-Length` sent, as morgan logs it (`None` for 304 and bodiless responses).
    ///
    /// Bodiless means a status that cannot carry a body (1xx, 204, 304); any other response
    /// says its length, `0` included.
    pub fn content_length(&self) -> Option<usize> {
        self.may_have_body().then(|| self.body.len())
    }

    /// The first value of header `name` (case-insensitive), if set.
    #[cfg(any(test, feature = "internals"))]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Statuses after which the message ends with its head (RFC 9112 §6.3).
    fn may_have_body(&self) -> bool {
        !matches!(self.status, 100..=199 | 204 | 304)
    }
}

/// The reason phrase for `status`, as Node's `http.STATUS_CODES` has it.
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Payload Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Range Not Satisfiable",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(response: &Response, head_only: bool, keep_alive: Option<Duration>) -> String {
        let mut out = Vec::new();
        response.write_to(&mut out, head_only, keep_alive);
        String::from_utf8(out).unwrap()
    }

    fn ok(body: Body) -> Response {
        Response {
            status: 200,
            headers: vec![("Content-Type", "text/plain".to_owned())],
            body,
        }
    }

    #[test]
    fn writes_status_headers_length_and_body() {
        let r = ok(Body::Static(b"hello"));
        assert_eq!(
            text(&r, false, Some(Duration::from_secs(5))),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\
             Connection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\nhello"
        );
        assert_eq!(r.content_length(), Some(5));
    }

    #[test]
    fn head_gets_the_same_length_and_no_body() {
        let r = ok(Body::Owned(b"hello".to_vec()));
        assert_eq!(
            text(&r, true, None),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\
             Connection: close\r\n\r\n"
        );
    }

    #[test]
    fn empty_body_says_zero() {
        let r = ok(Body::Empty);
        assert!(text(&r, false, None).contains("\r\nContent-Length: 0\r\n"));
        assert_eq!(r.content_length(), Some(0));
    }

    #[test]
    fn not_modified_has_no_length_and_no_body() {
        let r = Response {
            status: 304,
            headers: vec![("ETag", "W/\"1\"".to_owned())],
            body: Body::Static(b"ignored"),
        };
        assert_eq!(
            text(&r, false, Some(Duration::from_secs(5))),
            "HTTP/1.1 304 Not Modified\r\nETag: W/\"1\"\r\n\
             Connection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\n"
        );
        assert_eq!(r.content_length(), None);
    }

    #[test]
    fn header_values_cannot_break_lines() {
        let r = Response {
            status: 404,
            headers: vec![("X-Test", "a\r\nSet-Cookie: x".to_owned())],
            body: Body::Empty,
        };
        let t = text(&r, false, None);
        assert!(t.starts_with("HTTP/1.1 404 Not Found\r\nX-Test: aSet-Cookie: x\r\n"));
        assert_eq!(r.header("x-test"), Some("a\r\nSet-Cookie: x"));
        assert_eq!(r.header("set-cookie"), None);
    }

    #[test]
    fn reasons() {
        assert_eq!(reason_phrase(431), "Request Header Fields Too Large");
        assert_eq!(reason_phrase(426), "Upgrade Required");
        assert_eq!(reason_phrase(299), "Unknown");
    }
}
