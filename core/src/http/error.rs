//! Why a request could not be served.

/// A request the server refuses; each maps to a status code and a log text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    /// Malformed request line, header, or framing (400, then close).
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    /// Header section over the size or count limit (431, then close).
    #[error("request header fields too large")]
    HeadersTooLarge,
    /// Body over the limit (413, then close).
    #[error("request entity too large")]
    PayloadTooLarge,
}

impl HttpError {
    /// The status code answered for this error.
    pub fn status(&self) -> u16 {
        match self {
            HttpError::BadRequest(_) => 400,
            HttpError::HeadersTooLarge => 431,
            HttpError::PayloadTooLarge => 413,
        }
    }
}
