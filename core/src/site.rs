//! The content the server routes to: the page, the error page template and `public/` files.
//! Built once at start from the embedded demo page; a test can build its own.

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

impl Site {
    /// The embedded demo page of the `demo-page` crate.
    pub fn demo() -> Site {
        todo!()
    }
}
