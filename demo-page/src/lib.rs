//! The seed's page (`views/index.pug` as HTML), its error page (`views/error.pug`) and the
//! `public/` folder, embedded into the binaries at compile time so that `cargo run` serves them
//! from any working directory. Pure data: routing and headers are the core's.

/// A file under `public/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicFile {
    /// URL path, e.g. `/favicon.ico`.
    pub path: &'static str,
    pub body: &'static [u8],
    /// The file's modification time when it was compiled in (seconds since the Unix epoch).
    pub modified_unix_secs: u64,
}

/// The page at `/` (S2, S3).
pub const INDEX_HTML: &str = include_str!("../templates/index.html");

/// The error page, with `{{message}}`, `{{status}}` and `{{detail}}` to fill in (S11).
pub const ERROR_HTML: &str = include_str!("../templates/error.html");

/// Every file under `public/`, sorted by path.
pub static PUBLIC: &[PublicFile] = include!(concat!(env!("OUT_DIR"), "/public.rs"));
