//! Responses and their bytes on the wire.

use std::time::Duration;

/// A response body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    Empty,
    Static(&'static [u8]),
    Owned(Vec<u8>),
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
    pub fn write_to(&self, out: &mut Vec<u8>, head_only: bool, keep_alive: Option<Duration>) {
        let _ = (out, head_only, keep_alive);
        todo!()
    }

    /// The `Content-Length` sent, as morgan logs it (`None` for 304 and bodiless responses).
    pub fn content_length(&self) -> Option<usize> {
        todo!()
    }
}
