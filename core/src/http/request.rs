//! Request heads, parsed with httparse into the few fields the server acts on.
//!
//! Framing is checked here, before any body byte is read: a request whose length two parsers
//! could read differently (two `Content-Length`s, `Content-Length` with `Transfer-Encoding`, a
//! coding other than a final `chunked`) is refused with 400, because a proxy in front of us may
//! have read it the other way (request smuggling).

use super::error::HttpError;

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
            max_header_bytes: crate::defaults::MAX_HEADER_BYTES,
            max_headers: crate::defaults::MAX_HEADERS,
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
    /// All `Cookie` headers joined with `; ` (the chat's session cookie is among them).
    pub cookie: Option<String>,
    /// `Content-Type` (the chat's forms: urlencoded, JSON or multipart).
    pub content_type: Option<String>,
    /// `Referer`: the chat's same-origin check falls back on it when `Origin` is missing.
    pub referer: Option<String>,
    /// `Expect: 100-continue`: the client waits for a `100 Continue` before its body (curl
    /// does for larger uploads); the chat sends one when it reads the body.
    pub expect_continue: bool,
}

impl RequestHead {
    /// The path part of the target, before any `?`.
    ///
    /// An absolute-form target (`http://host/path?q`, which a client talking to a proxy sends)
    /// yields its path, as Node's `parseurl` does; a target with no path yields `/`.
    pub fn path(&self) -> &str {
        let target = self.target.as_str();
        let without_query = target.split_once('?').map_or(target, |(path, _)| path);
        if without_query.starts_with('/') {
            return without_query;
        }
        match without_query.split_once("://") {
            Some((scheme, rest)) if is_scheme(scheme) => {
                rest.find('/').and_then(|i| rest.get(i..)).unwrap_or("/")
            }
            // `*` (OPTIONS) and authority-form (CONNECT): no path, routed nowhere.
            _ => without_query,
        }
    }

    /// Whether the connection stays open after the response (HTTP/1.1 default, `Connection: close`,
    /// HTTP/1.0 with `keep-alive`).
    pub fn keep_alive(&self) -> bool {
        let has = |token: &str| self.connection.iter().any(|t| t == token);
        match self.version {
            Some(Version::Http11) => !has("close"),
            Some(Version::Http10) => has("keep-alive") && !has("close"),
            None => false,
        }
    }

    /// Whether this asks for a WebSocket upgrade: an `Upgrade` header naming `websocket`.
    pub fn is_upgrade(&self) -> bool {
        self.upgrade.as_deref().is_some_and(|value| {
            value
                .split(',')
                .any(|token| token.trim().eq_ignore_ascii_case("websocket"))
        })
    }

    /// `HEAD` requests get headers only.
    pub fn is_head(&self) -> bool {
        self.method == "HEAD"
    }
}

/// `scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )` (RFC 3986 §3.1).
fn is_scheme(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

/// Parses one request head from the start of `buf`.
///
/// `Ok(None)`: incomplete, feed more (but `buf` over the limit is `HeadersTooLarge`).
/// `Ok(Some((head, n)))`: the head took `n` bytes; the body (if any) follows.
pub fn parse_request(
    buf: &[u8],
    limits: &HttpLimits,
) -> Result<Option<(RequestHead, usize)>, HttpError> {
    // Parse at most one byte past the limit: the work per call stays bounded however much a
    // client sends, and a head that does not end within the limit is refused as soon as the
    // limit is crossed rather than when (if ever) it ends.
    let window = buf
        .get(..limits.max_header_bytes.saturating_add(1))
        .unwrap_or(buf);
    let mut headers = vec![httparse::EMPTY_HEADER; limits.max_headers];
    let mut request = httparse::Request::new(&mut headers);
    let len = match request.parse(window) {
        Ok(httparse::Status::Complete(len)) if len <= limits.max_header_bytes => len,
        Ok(httparse::Status::Complete(_)) => return Err(HttpError::HeadersTooLarge),
        Ok(httparse::Status::Partial) if window.len() > limits.max_header_bytes => {
            return Err(HttpError::HeadersTooLarge)
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(HttpError::HeadersTooLarge),
        Err(error) => return Err(HttpError::BadRequest(describe(error))),
    };

    let mut head = RequestHead {
        method: request.method.unwrap_or_default().to_owned(),
        target: request.path.unwrap_or_default().to_owned(),
        version: match request.version {
            Some(0) => Some(Version::Http10),
            Some(1) => Some(Version::Http11),
            _ => return Err(HttpError::BadRequest("unsupported HTTP version")),
        },
        ..RequestHead::default()
    };
    let mut framing = Framing::default();
    for header in request.headers.iter() {
        let value = String::from_utf8_lossy(header.value);
        let value = value.trim_matches([' ', '\t']);
        let name = header.name;
        if name.eq_ignore_ascii_case("host") {
            // Two Hosts would let the origin check and a proxy disagree on the target (RFC 9112
            // §3.2: 400).
            if head.host.is_some() {
                return Err(HttpError::BadRequest("duplicate Host header"));
            }
            head.host = Some(value.to_owned());
        } else if name.eq_ignore_ascii_case("origin") {
            join(&mut head.origin, value);
        } else if name.eq_ignore_ascii_case("upgrade") {
            join(&mut head.upgrade, value);
        } else if name.eq_ignore_ascii_case("connection") {
            head.connection.extend(
                value
                    .split(',')
                    .map(|t| t.trim().to_ascii_lowercase())
                    .filter(|t| !t.is_empty()),
            );
        } else if name.eq_ignore_ascii_case("sec-websocket-key") {
            join(&mut head.sec_websocket_key, value);
        } else if name.eq_ignore_ascii_case("sec-websocket-version") {
            join(&mut head.sec_websocket_version, value);
        } else if name.eq_ignore_ascii_case("x-forwarded-for") {
            join(&mut head.x_forwarded_for, value);
        } else if name.eq_ignore_ascii_case("if-none-match") {
            join(&mut head.if_none_match, value);
        } else if name.eq_ignore_ascii_case("if-modified-since") {
            // A date is not a list: Node keeps the first and drops repeats.
            head.if_modified_since
                .get_or_insert_with(|| value.to_owned());
        } else if name.eq_ignore_ascii_case("cookie") {
            // Several `Cookie` fields are one list, `; `-separated (RFC 6265 §5.4).
            match &mut head.cookie {
                Some(joined) => {
                    joined.push_str("; ");
                    joined.push_str(value);
                }
                None => head.cookie = Some(value.to_owned()),
            }
        } else if name.eq_ignore_ascii_case("content-type") {
            head.content_type.get_or_insert_with(|| value.to_owned());
        } else if name.eq_ignore_ascii_case("expect") {
            head.expect_continue |= value.eq_ignore_ascii_case("100-continue");
        } else if name.eq_ignore_ascii_case("referer") {
            head.referer.get_or_insert_with(|| value.to_owned());
        } else if name.eq_ignore_ascii_case("content-length") {
            framing.content_length(value)?;
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            framing.transfer_encoding(value);
        }
    }
    (head.content_length, head.chunked) = framing.finish(head.version)?;
    Ok(Some((head, len)))
}

/// Appends a repeated list-valued header as one field would carry it (RFC 9110 §5.3).
fn join(field: &mut Option<String>, value: &str) {
    match field {
        Some(joined) => {
            joined.push_str(", ");
            joined.push_str(value);
        }
        None => *field = Some(value.to_owned()),
    }
}

fn describe(error: httparse::Error) -> &'static str {
    match error {
        httparse::Error::HeaderName => "invalid header name",
        httparse::Error::HeaderValue => "invalid header value",
        httparse::Error::NewLine => "invalid line ending",
        httparse::Error::Status => "invalid status",
        httparse::Error::Token => "invalid request line",
        httparse::Error::TooManyHeaders => "too many headers",
        httparse::Error::Version => "invalid HTTP version",
    }
}

/// The body framing headers, collected across all their occurrences and checked together.
#[derive(Default)]
struct Framing {
    content_length: Option<u64>,
    /// Every coding of every `Transfer-Encoding` header, lower-cased, in order.
    codings: Option<Vec<String>>,
}

impl Framing {
    /// One `Content-Length` field; it may itself be a list of equal values (RFC 9110 §8.6).
    fn content_length(&mut self, value: &str) -> Result<(), HttpError> {
        for item in value.split(',') {
            let item = item.trim();
            if item.is_empty() || !item.bytes().all(|b| b.is_ascii_digit()) {
                return Err(HttpError::BadRequest("invalid Content-Length"));
            }
            let length: u64 = item
                .parse()
                .map_err(|_| HttpError::BadRequest("invalid Content-Length"))?;
            match self.content_length {
                Some(previous) if previous != length => {
                    return Err(HttpError::BadRequest("conflicting Content-Length"))
                }
                _ => self.content_length = Some(length),
            }
        }
        Ok(())
    }

    fn transfer_encoding(&mut self, value: &str) {
        self.codings
            .get_or_insert_with(Vec::new)
            .extend(value.split(',').map(|c| c.trim().to_ascii_lowercase()));
    }

    /// `(content_length, chunked)`, or 400 for framing that is ambiguous or that we cannot read.
    fn finish(self, version: Option<Version>) -> Result<(Option<u64>, bool), HttpError> {
        let Some(codings) = self.codings else {
            return Ok((self.content_length, false));
        };
        if self.content_length.is_some() {
            return Err(HttpError::BadRequest(
                "Content-Length with Transfer-Encoding",
            ));
        }
        // HTTP/1.0 has no transfer codings; a 1.0 message carrying one is faulty (RFC 9112 §6.1).
        if version != Some(Version::Http11) {
            return Err(HttpError::BadRequest("Transfer-Encoding in HTTP/1.0"));
        }
        // The body's end is only knowable when `chunked` is last, and it may be applied once.
        let chunked_count = codings.iter().filter(|c| *c == "chunked").count();
        let valid = codings.last().is_some_and(|c| c == "chunked")
            && chunked_count == 1
            && codings.iter().all(|c| is_token(c));
        if !valid {
            return Err(HttpError::BadRequest("unsupported Transfer-Encoding"));
        }
        Ok((None, true))
    }
}

/// An RFC 9110 token (a coding name); an empty item in the list is not one.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'!' | b'#'
                        | b'$'
                        | b'%'
                        | b'&'
                        | b'\''
                        | b'*'
                        | b'+'
                        | b'-'
                        | b'.'
                        | b'^'
                        | b'_'
                        | b'`'
                        | b'|'
                        | b'~'
                )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(bytes: &[u8]) -> Result<Option<(RequestHead, usize)>, HttpError> {
        parse_request(bytes, &HttpLimits::default())
    }

    fn head(bytes: &[u8]) -> RequestHead {
        match parse(bytes) {
            Ok(Some((head, len))) => {
                assert_eq!(len, bytes.len());
                head
            }
            other => panic!("expected a complete head, got {other:?}"),
        }
    }

    fn error(bytes: &[u8]) -> HttpError {
        match parse(bytes) {
            Err(error) => error,
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn fills_the_fields() {
        let h = head(
            b"GET /favicon.ico?x=1 HTTP/1.1\r\nHost: Example.com:8005\r\nOrigin: http://example.com:8005\r\n\
              Upgrade: websocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Key: abc \r\n\
              Sec-WebSocket-Version: 13\r\nX-Forwarded-For: 1.1.1.1\r\nx-forwarded-for: 2.2.2.2, 3.3.3.3\r\n\
              If-None-Match: \"a\"\r\nIf-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT\r\n\r\n",
        );
        assert_eq!(h.method, "GET");
        assert_eq!(h.target, "/favicon.ico?x=1");
        assert_eq!(h.path(), "/favicon.ico");
        assert_eq!(h.version, Some(Version::Http11));
        assert_eq!(h.host.as_deref(), Some("Example.com:8005"));
        assert_eq!(h.origin.as_deref(), Some("http://example.com:8005"));
        assert_eq!(h.connection, ["keep-alive", "upgrade"]);
        assert_eq!(h.sec_websocket_key.as_deref(), Some("abc"));
        assert_eq!(h.sec_websocket_version.as_deref(), Some("13"));
        assert_eq!(
            h.x_forwarded_for.as_deref(),
            Some("1.1.1.1, 2.2.2.2, 3.3.3.3")
        );
        assert_eq!(h.if_none_match.as_deref(), Some("\"a\""));
        assert!(h.if_modified_since.is_some());
        assert!(h.is_upgrade());
        assert!(h.keep_alive());
        assert!(!h.is_head());
        assert_eq!((h.content_length, h.chunked), (None, false));
    }

    #[test]
    fn the_chats_headers_are_kept() {
        let h = head(
            b"POST /room HTTP/1.1\r\nHost: a\r\nCookie: a=1\r\ncookie: connect.sid=x\r\n\
              Content-Type: multipart/form-data; boundary=b\r\nContent-Type: text/plain\r\n\
              Referer: http://a/rooms\r\nExpect: 100-Continue\r\n\r\n",
        );
        assert_eq!(h.cookie.as_deref(), Some("a=1; connect.sid=x"));
        assert_eq!(
            h.content_type.as_deref(),
            Some("multipart/form-data; boundary=b"),
            "the first Content-Type counts"
        );
        assert_eq!(h.referer.as_deref(), Some("http://a/rooms"));
        assert!(h.expect_continue);
        assert!(!head(b"GET / HTTP/1.1\r\nExpect: nothing\r\n\r\n").expect_continue);
    }

    #[test]
    fn pipelined_requests_report_their_own_lengths() {
        let first = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n".as_slice();
        let second = b"HEAD /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n".as_slice();
        let buf = [first, second].concat();
        let Ok(Some((a, n))) = parse(&buf) else {
            panic!("first request")
        };
        assert_eq!((a.method.as_str(), n), ("GET", first.len()));
        let Ok(Some((b, m))) = parse(&buf[n..]) else {
            panic!("second request")
        };
        assert_eq!((b.method.as_str(), m), ("HEAD", second.len()));
        assert!(b.is_head() && !b.keep_alive());
    }

    #[test]
    fn incomplete_heads_ask_for_more() {
        let full = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
        for cut in 0..full.len() {
            assert_eq!(parse(&full[..cut]), Ok(None), "cut at {cut}");
        }
    }

    #[test]
    fn too_many_headers_is_431() {
        let limits = HttpLimits {
            max_headers: 3,
            ..HttpLimits::default()
        };
        let ok = b"GET / HTTP/1.1\r\na: 1\r\nb: 2\r\nc: 3\r\n\r\n";
        assert!(matches!(parse_request(ok, &limits), Ok(Some(_))));
        let over = b"GET / HTTP/1.1\r\na: 1\r\nb: 2\r\nc: 3\r\nd: 4\r\n\r\n";
        assert_eq!(
            parse_request(over, &limits),
            Err(HttpError::HeadersTooLarge)
        );
        let many: String = (0..101).map(|i| format!("h{i}: v\r\n")).collect();
        let req = format!("GET / HTTP/1.1\r\n{many}\r\n");
        assert_eq!(error(req.as_bytes()), HttpError::HeadersTooLarge);
    }

    #[test]
    fn oversized_heads_are_431_even_incomplete() {
        let limits = HttpLimits {
            max_header_bytes: 64,
            ..HttpLimits::default()
        };
        let mut buf = b"GET / HTTP/1.1\r\nX-Long: ".to_vec();
        buf.resize(64, b'a');
        assert_eq!(parse_request(&buf, &limits), Ok(None));
        buf.push(b'a');
        assert_eq!(
            parse_request(&buf, &limits),
            Err(HttpError::HeadersTooLarge)
        );
        let complete = format!("GET / HTTP/1.1\r\nX-Long: {}\r\n\r\n", "a".repeat(60));
        assert_eq!(
            parse_request(complete.as_bytes(), &limits),
            Err(HttpError::HeadersTooLarge)
        );
        // Exactly at the limit passes, with a body and a next request after it in the buffer.
        let exact = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(64 - 23));
        assert_eq!(exact.len(), 64);
        let buf = [exact.as_bytes(), &[b'z'; 1000]].concat();
        assert!(matches!(parse_request(&buf, &limits), Ok(Some((_, 64)))));
    }

    #[test]
    fn garbage_is_400() {
        for bad in [
            b"\x00\x01\x02\r\n\r\n".as_slice(),
            b"GET / HTTP/1.1 extra\r\n\r\n",
            b"GET / HTTP/2.0\r\n\r\n",
            b"GET /a b HTTP/1.1\r\n\r\n",
            b"GET / HTTP/1.1\r\nBad Header: x\r\n\r\n",
            b"GET / HTTP/1.1\r\nNoColon\r\n\r\n",
            b"GET / HTTP/1.1\r\nX: a\r\n folded\r\n\r\n",
            b"GET / HTTP/1.1\r\nX: a\rb\r\n\r\n",
            b"GET  / HTTP/1.1\r\n\r\n",
        ] {
            assert!(
                matches!(parse(bad), Err(HttpError::BadRequest(_))),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn duplicate_host_is_400() {
        assert!(matches!(
            parse(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
            Err(HttpError::BadRequest(_))
        ));
    }

    #[test]
    fn content_length_rules() {
        let h = head(b"POST / HTTP/1.1\r\nContent-Length: 12\r\n\r\n");
        assert_eq!(h.content_length, Some(12));
        let h = head(b"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5, 5\r\n\r\n");
        assert_eq!(h.content_length, Some(5));
        for bad in [
            b"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n".as_slice(),
            b"POST / HTTP/1.1\r\nContent-Length: 5, 6\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: \r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        ] {
            assert!(
                matches!(parse(bad), Err(HttpError::BadRequest(_))),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn transfer_encoding_rules() {
        let h = head(b"POST / HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n");
        assert!(h.chunked);
        assert_eq!(h.content_length, None);
        let h = head(
            b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n",
        );
        assert!(h.chunked);
        for bad in [
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"
                .as_slice(),
            b"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: ,chunked\r\n\r\n",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: \r\n\r\n",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: xchunked\r\n\r\n",
            b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
        ] {
            assert!(
                matches!(parse(bad), Err(HttpError::BadRequest(_))),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn keep_alive_rules() {
        let cases: [(&[u8], bool); 6] = [
            (b"GET / HTTP/1.1\r\n\r\n", true),
            (b"GET / HTTP/1.1\r\nConnection: Close\r\n\r\n", false),
            (
                b"GET / HTTP/1.1\r\nConnection: keep-alive, close\r\n\r\n",
                false,
            ),
            (b"GET / HTTP/1.0\r\n\r\n", false),
            (b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", true),
            (
                b"GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n",
                false,
            ),
        ];
        for (bytes, keep) in cases {
            assert_eq!(
                head(bytes).keep_alive(),
                keep,
                "{:?}",
                String::from_utf8_lossy(bytes)
            );
        }
        assert!(!RequestHead::default().keep_alive());
    }

    #[test]
    fn upgrade_detection() {
        assert!(head(b"GET / HTTP/1.1\r\nUpgrade: WebSocket\r\n\r\n").is_upgrade());
        assert!(head(b"GET / HTTP/1.1\r\nUpgrade: h2c, websocket\r\n\r\n").is_upgrade());
        assert!(!head(b"GET / HTTP/1.1\r\nUpgrade: h2c\r\n\r\n").is_upgrade());
        assert!(!head(b"GET / HTTP/1.1\r\nUpgrade: websockets\r\n\r\n").is_upgrade());
        assert!(!head(b"GET / HTTP/1.1\r\n\r\n").is_upgrade());
    }

    #[test]
    fn path_forms() {
        let path = |target: &str| {
            RequestHead {
                target: target.to_owned(),
                ..RequestHead::default()
            }
            .path()
            .to_owned()
        };
        assert_eq!(path("/a/b?c=/d"), "/a/b");
        assert_eq!(path("/?"), "/");
        assert_eq!(path("http://h:1/x/y?z"), "/x/y");
        assert_eq!(path("HTTP://h"), "/");
        assert_eq!(path("*"), "*");
        assert_eq!(path("h:443"), "h:443");
    }
}
