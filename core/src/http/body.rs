//! Request bodies: no route reads one, but each is consumed so keep-alive stays in step (S15).

use super::{HttpError, RequestHead};

/// Reads and discards one request body, `Content-Length` or chunked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyDecoder {
    _todo: (),
}

impl BodyDecoder {
    /// The decoder for `head`'s body; `Ok(None)` when it has none. A declared length over
    /// `max_body_bytes` is `PayloadTooLarge`; conflicting or invalid framing is `BadRequest`.
    pub fn new(head: &RequestHead, max_body_bytes: u64) -> Result<Option<BodyDecoder>, HttpError> {
        let _ = (head, max_body_bytes);
        todo!()
    }

    /// Consumes body bytes from `input`: returns how many were consumed and whether the body is
    /// complete. A chunked body that grows over the limit is `PayloadTooLarge`.
    pub fn decode(&mut self, input: &[u8]) -> Result<(usize, bool), HttpError> {
        let _ = input;
        todo!()
    }
}
