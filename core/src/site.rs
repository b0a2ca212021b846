//! The content the server routes to: the page, the error page template and `public/` files.
//! Built once at start from the embedded demo page; a test can build its own.
//!
//! Everything a response needs that does not depend on the request (content types, validators,
//! dates) is worked out here once, so routing a request is a table lookup.

use std::time::{Duration, UNIX_EPOCH};

use demo_page::PublicFile;

/// One file under `public/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asset {
    /// URL path, e.g. `/favicon.ico`.
    pub path: String,
    pub body: &'static [u8],
    pub content_type: String,
    /// Weak validator as `express.static` makes it.
    pub etag: String,
    /// `Last-Modified` value (HTTP date).
    pub last_modified: String,
}

impl Asset {
    /// The asset for an embedded file: type from its extension, validators from its size and
    /// modification time, as `express.static` derives them from the file's `stat`.
    pub fn from_public(file: &PublicFile) -> Asset {
        let modified = UNIX_EPOCH + Duration::from_secs(file.modified_unix_secs);
        Asset {
            path: file.path.to_owned(),
            body: file.body,
            content_type: content_type_for(file.path),
            etag: file_etag(file.body.len(), file.modified_unix_secs),
            last_modified: httpdate::fmt_http_date(modified),
        }
    }
}

/// Everything the router can answer with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    /// The page at `/`.
    pub index_html: &'static str,
    /// ETag of the page.
    pub index_etag: String,
    /// Error page template with `{{message}}`, `{{status}}`, `{{detail}}` placeholders.
    pub error_template: &'static str,
    pub assets: Vec<Asset>,
}

/// `public/` files that only work against the conformance app (SPEC E8): the browser check of
/// gif-chat's Socket.IO client. Served only with `CONFORMANCE=true`; without it they would only
/// fail, so they are a 404 like any unknown path.
const CONFORMANCE_ONLY: &[&str] = &["/sio-check.html"];

impl Site {
    /// The embedded demo page of the `demo-page` crate, every `public/` file included.
    pub fn demo() -> Site {
        Site::new(
            demo_page::INDEX_HTML,
            demo_page::ERROR_HTML,
            demo_page::PUBLIC,
        )
    }

    /// The embedded demo page as a server in this mode serves it: without `conformance`, the
    /// conformance-only files (`/sio-check.html`) are left out.
    pub fn demo_for(conformance: bool) -> Site {
        let mut site = Site::demo();
        if !conformance {
            site.assets
                .retain(|asset| !CONFORMANCE_ONLY.contains(&asset.path.as_str()));
        }
        site
    }

    /// A site from its parts; the page's validator is computed from its bytes.
    pub fn new(
        index_html: &'static str,
        error_template: &'static str,
        public: &[PublicFile],
    ) -> Site {
        Site {
            index_html,
            index_etag: content_etag(index_html.as_bytes()),
            error_template,
            assets: public.iter().map(Asset::from_public).collect(),
        }
    }

    /// The asset served at exactly `path` (already decoded and checked), if any.
    pub fn asset(&self, path: &str) -> Option<&Asset> {
        self.assets.iter().find(|asset| asset.path == path)
    }
}

/// `Content-Type` for a file name, as `express.static` sends it: by extension, with a UTF-8
/// charset on text, and `application/octet-stream` when the extension says nothing.
pub fn content_type_for(path: &str) -> String {
    let mime = mime_guess::from_path(path)
        .first_raw()
        .unwrap_or("application/octet-stream");
    // send's `mime.charsets.lookup`: text and JavaScript/JSON are UTF-8.
    let textual = mime.starts_with("text/")
        || mime.starts_with("application/javascript")
        || mime.starts_with("application/json");
    if textual {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_owned()
    }
}

/// A file's weak ETag as serve-static's `etag` makes it from `stat`: size and modification
/// time in milliseconds, both in hex.
pub fn file_etag(len: usize, modified_unix_secs: u64) -> String {
    format!(
        "W/\"{len:x}-{:x}\"",
        modified_unix_secs.saturating_mul(1000)
    )
}

/// A body's weak ETag as Express's `res.send` makes it: length in hex and a hash of the bytes.
/// Express hashes with SHA-1; any stable hash gives a validator that changes with the content,
/// and FNV-1a needs no dependency.
pub fn content_etag(body: &[u8]) -> String {
    format!("W/\"{:x}-{:016x}\"", body.len(), fnv1a64(body))
}

/// FNV-1a, 64-bit.
fn fnv1a64(bytes: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes
        .iter()
        .fold(OFFSET, |hash, &b| (hash ^ u64::from(b)).wrapping_mul(PRIME))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_site_has_the_page_and_the_favicon() {
        let site = Site::demo();
        assert!(site.index_html.contains("GIF 채팅방"));
        assert!(site.error_template.contains("{{message}}"));
        assert_eq!(site.index_etag, content_etag(site.index_html.as_bytes()));
        let favicon = site.asset("/favicon.ico").expect("the favicon is shipped");
        assert_eq!(favicon.content_type, "image/x-icon");
        assert!(!favicon.body.is_empty());
        assert!(favicon
            .etag
            .starts_with(&format!("W/\"{:x}-", favicon.body.len())));
        assert!(httpdate::parse_http_date(&favicon.last_modified).is_ok());
        assert!(site.asset("/favicon.ic").is_none());
    }

    #[test]
    fn the_sio_check_page_is_served_only_in_conformance_mode() {
        assert!(Site::demo_for(true).asset("/sio-check.html").is_some());
        assert!(Site::demo_for(false).asset("/sio-check.html").is_none());
        // The client itself is for every page.
        assert!(Site::demo_for(false).asset("/socket.io-lite.js").is_some());
        assert_eq!(
            Site::demo_for(false).assets.len() + 1,
            Site::demo().assets.len()
        );
    }

    #[test]
    fn assets_from_public_files() {
        static BODY: &[u8] = b"body{}";
        let asset = Asset::from_public(&PublicFile {
            path: "/css/main.css",
            body: BODY,
            modified_unix_secs: 1_700_000_000,
        });
        assert_eq!(asset.content_type, "text/css; charset=utf-8");
        // 1_700_000_000_000 ms = 0x18bcfe56800.
        assert_eq!(asset.etag, "W/\"6-18bcfe56800\"");
        assert_eq!(asset.last_modified, "Tue, 14 Nov 2023 22:13:20 GMT");
    }

    #[test]
    fn content_types() {
        assert_eq!(content_type_for("/index.html"), "text/html; charset=utf-8");
        assert_eq!(content_type_for("/a.js"), "text/javascript; charset=utf-8");
        assert_eq!(
            content_type_for("/a.json"),
            "application/json; charset=utf-8"
        );
        assert_eq!(content_type_for("/a.png"), "image/png");
        assert_eq!(content_type_for("/LICENSE"), "application/octet-stream");
    }

    #[test]
    fn content_etags_follow_the_bytes() {
        assert_eq!(content_etag(b"abc"), content_etag(b"abc"));
        assert_ne!(content_etag(b"abc"), content_etag(b"abd"));
        // The published FNV-1a test vectors.
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(content_etag(b"a"), "W/\"1-af63dc4c8601ec8c\"");
    }
}
