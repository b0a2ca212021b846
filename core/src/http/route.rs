//! Routing: the page, `public/` files, and error pages (S2, S11, S12, S13).
//!
//! The files are an in-memory table, so no request can reach the file system; the path is still
//! decoded and checked the way `express.static` checks it, so that a request that would escape
//! `public/` on disk (`..`, `%2e%2e`, encoded slashes, NUL) is refused here too, explicitly, rather
//! than by the luck of a failed lookup.

use httpdate::parse_http_date;

use super::request::RequestHead;
use super::response::reason_phrase;
use super::response::{Body, Response};
use crate::app_env::AppEnv;
use crate::site::{Asset, Site};

const HTML: &str = "text/html; charset=utf-8";

/// Answers a plain (non-upgrade) request.
///
/// A `HEAD` gets the `GET` response; the writer leaves out its body
/// ([`Response::write_to`] with `head_only`).
pub fn route(head: &RequestHead, site: &Site, env: AppEnv) -> Response {
    let path = match decode_path(head.path()) {
        Ok(path) => path,
        Err(PathError::Malformed) => {
            let detail = format!(
                "BadRequestError: Failed to decode URI\n    at {} {}",
                head.method, head.target
            );
            return error_response(400, &detail, site, env);
        }
        Err(PathError::Refused) => return not_found(head, site, env),
    };
    // `app.get` and `express.static` answer GET and HEAD; every other method falls through to
    // the 404 handler.
    if head.method != "GET" && head.method != "HEAD" {
        return not_found(head, site, env);
    }
    if path == "/" {
        return page(head, site);
    }
    match site.asset(&path) {
        Some(asset) => file(head, asset),
        None => not_found(head, site, env),
    }
}

/// The error page for `status` (Express's error handler): message always; status and `detail`
/// only in development. Text is HTML-escaped.
pub fn error_response(status: u16, detail: &str, site: &Site, env: AppEnv) -> Response {
    error_page(site.error_template, status, detail, env)
}

/// [`error_response`] from a bare template, for answers given before a [`Site`] is at hand.
pub(crate) fn error_page(template: &str, status: u16, detail: &str, env: AppEnv) -> Response {
    let message = reason_phrase(status);
    let status_text = status.to_string();
    let (shown_status, shown_detail) = match env {
        AppEnv::Development => (status_text.as_str(), detail),
        AppEnv::Production => ("", ""),
    };
    let body = render(template, |name| match name {
        "message" => Some(message),
        "status" => Some(shown_status),
        "detail" => Some(shown_detail),
        _ => None,
    });
    Response {
        status,
        headers: vec![("Content-Type", HTML.to_owned())],
        body: Body::Owned(body.into_bytes()),
    }
}

fn not_found(head: &RequestHead, site: &Site, env: AppEnv) -> Response {
    let detail = format!(
        "NotFoundError: Not Found\n    at {} {}",
        head.method, head.target
    );
    error_response(404, &detail, site, env)
}

/// `res.render('index')`: the page with a content validator.
fn page(head: &RequestHead, site: &Site) -> Response {
    let etag = site.index_etag.clone();
    if is_fresh(head, &etag, None) {
        return Response {
            status: 304,
            headers: vec![("ETag", etag)],
            body: Body::Empty,
        };
    }
    Response {
        status: 200,
        headers: vec![("Content-Type", HTML.to_owned()), ("ETag", etag)],
        body: Body::Static(site.index_html.as_bytes()),
    }
}

/// `express.static`: a file with its validators; a 304 keeps them but drops `Content-Type`.
fn file(head: &RequestHead, asset: &Asset) -> Response {
    let mut headers = vec![
        ("Cache-Control", "public, max-age=0".to_owned()),
        ("Last-Modified", asset.last_modified.clone()),
        ("ETag", asset.etag.clone()),
    ];
    if is_fresh(head, &asset.etag, Some(&asset.last_modified)) {
        return Response {
            status: 304,
            headers,
            body: Body::Empty,
        };
    }
    headers.push(("Content-Type", asset.content_type.clone()));
    Response {
        status: 200,
        headers,
        body: Body::Static(asset.body),
    }
}

/// Whether the client's copy is current (RFC 9110 §13.2.2): `If-None-Match` decides when sent,
/// else `If-Modified-Since` against `Last-Modified`.
fn is_fresh(head: &RequestHead, etag: &str, last_modified: Option<&str>) -> bool {
    if let Some(list) = &head.if_none_match {
        return etag_matches(list, etag);
    }
    let (Some(since), Some(modified)) = (&head.if_modified_since, last_modified) else {
        return false;
    };
    match (parse_http_date(since), parse_http_date(modified)) {
        (Ok(since), Ok(modified)) => modified <= since,
        // An unreadable date is ignored, as if not sent.
        _ => false,
    }
}

/// `If-None-Match` uses the weak comparison: `W/"x"` and `"x"` match (RFC 9110 §8.8.3.2).
fn etag_matches(list: &str, etag: &str) -> bool {
    let opaque = |tag: &str| tag.strip_prefix("W/").unwrap_or(tag).to_owned();
    let ours = opaque(etag);
    list.trim() == "*"
        || list
            .split(',')
            .map(str::trim)
            .any(|tag| !tag.is_empty() && opaque(tag) == ours)
}

#[derive(Debug, PartialEq, Eq)]
enum PathError {
    /// Percent-encoding that does not decode, or does not decode to UTF-8 (400).
    Malformed,
    /// A path that could name something outside `public/` (404).
    Refused,
}

/// The decoded request path, or why it is not served.
fn decode_path(raw: &str) -> Result<String, PathError> {
    // `*` and authority-form targets name no resource; a backslash is a separator on Windows.
    if !raw.starts_with('/') || raw.contains('\\') {
        return Err(PathError::Refused);
    }
    let mut decoded = Vec::with_capacity(raw.len());
    let mut bytes = raw.bytes();
    while let Some(b) = bytes.next() {
        if b != b'%' {
            decoded.push(b);
            continue;
        }
        let hex = |b: Option<u8>| b.and_then(|b| char::from(b).to_digit(16));
        let (Some(high), Some(low)) = (hex(bytes.next()), hex(bytes.next())) else {
            return Err(PathError::Malformed);
        };
        // Both digits are below 16, so this is one byte.
        let byte = (high * 16 + low) as u8;
        // An encoded separator or NUL would turn into one on a file system.
        if matches!(byte, b'/' | b'\\' | 0) {
            return Err(PathError::Refused);
        }
        decoded.push(byte);
    }
    let decoded = String::from_utf8(decoded).map_err(|_| PathError::Malformed)?;
    if decoded.split('/').any(|segment| segment == "..") {
        return Err(PathError::Refused);
    }
    Ok(decoded)
}

/// Fills `{{name}}` placeholders in one pass; values are HTML-escaped, and text put in is
/// never scanned again, so a path containing `{{detail}}` stays literal text.
pub(crate) fn render<'v>(template: &str, value: impl Fn(&str) -> Option<&'v str>) -> String {
    let mut out = String::with_capacity(template.len() + 256);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        let (before, tail) = rest.split_at(start);
        out.push_str(before);
        let inner = tail.get(2..).unwrap_or_default();
        match inner.find("}}") {
            Some(end) => {
                let name = inner.get(..end).unwrap_or_default();
                match value(name.trim()) {
                    Some(text) => escape_into(&mut out, text),
                    None => {
                        out.push_str("{{");
                        out.push_str(name);
                        out.push_str("}}");
                    }
                }
                rest = inner.get(end + 2..).unwrap_or_default();
            }
            None => {
                out.push_str(tail);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// HTML-escapes `text` (as Pug's `=` does, plus `'`) onto `out`.
pub(crate) fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests;
