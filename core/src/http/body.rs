//! Request bodies: no route reads one, but each is consumed so keep-alive stays in step (S15).
//!
//! The decoder takes whatever slice the socket produced and consumes all of it that belongs to
//! the body, so the caller never has to hold body bytes back: a short `consumed` only ever means
//! the body ended and the rest is the next request. The one piece of framing that must be seen
//! whole, a chunk-size line, is gathered in a small bounded buffer.

use super::error::HttpError;
use super::request::RequestHead;

/// Longest chunk-size line, extensions included. Node caps extensions at 16 KiB; nobody sends
/// more than a few bytes, and the cap keeps a hostile line from growing without bound.
const MAX_CHUNK_LINE: usize = 4 * 1024;

/// Most trailer bytes after the last chunk, as for a header section.
const MAX_TRAILER_BYTES: usize = 16 * 1024;

/// Reads and discards one request body, `Content-Length` or chunked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyDecoder {
    state: State,
    /// Largest body accepted, in data bytes (chunk framing excluded).
    limit: u64,
    /// Data bytes announced so far.
    total: u64,
    /// The data bytes, when the body is read for a route that uses it (Engine.IO's POST).
    kept: Option<Vec<u8>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// A `Content-Length` body with this many bytes to go.
    Length {
        remaining: u64,
    },
    /// Gathering a chunk-size line up to its LF.
    ChunkSize {
        line: Vec<u8>,
    },
    /// Inside a chunk's data.
    ChunkData {
        remaining: u64,
    },
    /// The CR that must follow a chunk's data.
    ChunkDataCr,
    /// The LF that must follow a chunk's data.
    ChunkDataLf,
    /// Trailer lines after the last chunk, up to an empty line.
    Trailer {
        line_len: usize,
        after_cr: bool,
        bytes: usize,
    },
    Done,
}

impl BodyDecoder {
    /// The decoder for `head`'s body; `Ok(None)` when it has none. A declared length over
    /// `max_body_bytes` is `PayloadTooLarge`; conflicting or invalid framing is `BadRequest`.
    pub fn new(head: &RequestHead, max_body_bytes: u64) -> Result<Option<BodyDecoder>, HttpError> {
        let state = match (head.content_length, head.chunked) {
            // `parse_request` already refuses this; a hand-built head must not slip through.
            (Some(_), true) => {
                return Err(HttpError::BadRequest(
                    "Content-Length with Transfer-Encoding",
                ))
            }
            (Some(length), false) if length > max_body_bytes => {
                return Err(HttpError::PayloadTooLarge)
            }
            (Some(0), false) | (None, false) => return Ok(None),
            (Some(length), false) => State::Length { remaining: length },
            (None, true) => State::ChunkSize { line: Vec::new() },
        };
        Ok(Some(BodyDecoder {
            state,
            limit: max_body_bytes,
            total: 0,
            kept: None,
        }))
    }

    /// Keeps the data bytes instead of dropping them, for [`take_kept`](Self::take_kept).
    pub fn keep(&mut self) {
        self.kept = Some(Vec::new());
    }

    /// The data bytes kept so far (all of them once the body is complete).
    pub fn take_kept(&mut self) -> Vec<u8> {
        self.kept.take().unwrap_or_default()
    }

    /// The data bytes kept since the last call, leaving the decoder keeping: a body streamed on
    /// (an upload) rather than held whole.
    pub fn drain_kept(&mut self) -> Vec<u8> {
        self.kept.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// Consumes body bytes from `input`: returns how many were consumed and whether the body is
    /// complete. A chunked body that grows over the limit is `PayloadTooLarge`.
    ///
    /// Until the body is complete, all of `input` is consumed.
    pub fn decode(&mut self, input: &[u8]) -> Result<(usize, bool), HttpError> {
        let mut pos = 0;
        while pos < input.len() && self.state != State::Done {
            let rest = input.get(pos..).unwrap_or_default();
            pos += self.step(rest)?;
        }
        Ok((pos, self.state == State::Done))
    }

    /// Advances through a prefix of `input` (never empty) and returns its length (at least 1
    /// unless the body is done).
    fn step(&mut self, input: &[u8]) -> Result<usize, HttpError> {
        let Some(&first) = input.first() else {
            return Ok(0);
        };
        match &mut self.state {
            State::Length { remaining } => {
                let n = clamp(*remaining, input.len());
                *remaining -= n as u64;
                if let Some(kept) = &mut self.kept {
                    kept.extend_from_slice(input.get(..n).unwrap_or_default());
                }
                if *remaining == 0 {
                    self.state = State::Done;
                }
                Ok(n)
            }
            State::ChunkSize { line } => {
                let (taken, complete) = match input.iter().position(|&b| b == b'\n') {
                    Some(lf) => (lf + 1, true),
                    None => (input.len(), false),
                };
                line.extend_from_slice(input.get(..taken).unwrap_or_default());
                if line.len() > MAX_CHUNK_LINE {
                    return Err(HttpError::BadRequest("chunk size line too long"));
                }
                if complete {
                    let size = chunk_size(line)?;
                    self.total = self.total.saturating_add(size);
                    if self.total > self.limit {
                        return Err(HttpError::PayloadTooLarge);
                    }
                    self.state = if size == 0 {
                        State::Trailer {
                            line_len: 0,
                            after_cr: false,
                            bytes: 0,
                        }
                    } else {
                        State::ChunkData { remaining: size }
                    };
                }
                Ok(taken)
            }
            State::ChunkData { remaining } => {
                let n = clamp(*remaining, input.len());
                *remaining -= n as u64;
                if let Some(kept) = &mut self.kept {
                    kept.extend_from_slice(input.get(..n).unwrap_or_default());
                }
                if *remaining == 0 {
                    self.state = State::ChunkDataCr;
                }
                Ok(n)
            }
            State::ChunkDataCr => {
                if first != b'\r' {
                    return Err(HttpError::BadRequest("missing CRLF after chunk data"));
                }
                self.state = State::ChunkDataLf;
                Ok(1)
            }
            State::ChunkDataLf => {
                if first != b'\n' {
                    return Err(HttpError::BadRequest("missing CRLF after chunk data"));
                }
                self.state = State::ChunkSize { line: Vec::new() };
                Ok(1)
            }
            State::Trailer {
                line_len,
                after_cr,
                bytes,
            } => {
                // Trailer fields are thrown away like the body; only their line structure
                // matters, and a bare CR or LF is refused as in a header section.
                *bytes += 1;
                if *bytes > MAX_TRAILER_BYTES {
                    return Err(HttpError::HeadersTooLarge);
                }
                match (first, *after_cr) {
                    (b'\n', true) if *line_len == 0 => self.state = State::Done,
                    (b'\n', true) => {
                        *line_len = 0;
                        *after_cr = false;
                    }
                    (_, true) | (b'\n', false) => {
                        return Err(HttpError::BadRequest("bare CR or LF in trailer"))
                    }
                    (b'\r', false) => *after_cr = true,
                    (_, false) => *line_len += 1,
                }
                Ok(1)
            }
            State::Done => Ok(0),
        }
    }
}

/// How many of `available` bytes to take when `remaining` are wanted.
fn clamp(remaining: u64, available: usize) -> usize {
    usize::try_from(remaining).map_or(available, |r| r.min(available))
}

/// The size on a complete chunk-size line (`line` ends with its LF).
fn chunk_size(line: &[u8]) -> Result<u64, HttpError> {
    const INVALID: HttpError = HttpError::BadRequest("invalid chunk size");
    // httparse takes an empty line as size 0 and an LF inside an extension as extension text;
    // both would let a proxy and us see different bodies, so the line must start with a digit
    // and its only LF must be the final one, after a CR.
    if !line.first().is_some_and(u8::is_ascii_hexdigit) || !line.ends_with(b"\r\n") {
        return Err(INVALID);
    }
    match httparse::parse_chunk_size(line) {
        Ok(httparse::Status::Complete((len, size))) if len == line.len() => Ok(size),
        _ => Err(INVALID),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn chunked_head() -> RequestHead {
        RequestHead {
            chunked: true,
            ..RequestHead::default()
        }
    }

    fn length_head(length: u64) -> RequestHead {
        RequestHead {
            content_length: Some(length),
            ..RequestHead::default()
        }
    }

    /// Feeds `input` split at `cuts`; returns the bytes consumed in total once complete.
    fn feed(
        decoder: &mut BodyDecoder,
        input: &[u8],
        cuts: &[usize],
    ) -> Result<Option<usize>, HttpError> {
        let mut bounds: Vec<usize> = cuts.iter().map(|&c| c.min(input.len())).collect();
        bounds.push(input.len());
        bounds.sort_unstable();
        let mut start = 0;
        for end in bounds {
            let piece = &input[start..end];
            let (n, done) = decoder.decode(piece)?;
            if done {
                return Ok(Some(start + n));
            }
            assert_eq!(n, piece.len(), "an unfinished body takes all input");
            start = end;
        }
        Ok(None)
    }

    #[test]
    fn no_body() {
        assert_eq!(BodyDecoder::new(&RequestHead::default(), 10), Ok(None));
        assert_eq!(BodyDecoder::new(&length_head(0), 10), Ok(None));
    }

    #[test]
    fn content_length_body_stops_at_its_end() {
        let mut d = BodyDecoder::new(&length_head(5), 10).unwrap().unwrap();
        assert_eq!(d.decode(b"abc"), Ok((3, false)));
        assert_eq!(d.decode(b"deGET /"), Ok((2, true)));
        assert_eq!(d.decode(b"more"), Ok((0, true)));
    }

    #[test]
    fn declared_length_over_limit_is_413() {
        assert_eq!(
            BodyDecoder::new(&length_head(11), 10),
            Err(HttpError::PayloadTooLarge)
        );
        assert!(BodyDecoder::new(&length_head(10), 10).unwrap().is_some());
    }

    #[test]
    fn conflicting_framing_is_400() {
        let head = RequestHead {
            chunked: true,
            content_length: Some(3),
            ..RequestHead::default()
        };
        assert!(matches!(
            BodyDecoder::new(&head, 10),
            Err(HttpError::BadRequest(_))
        ));
    }

    const CHUNKED: &[u8] =
        b"5;name=value\r\nhello\r\nA \r\n0123456789\r\n0\r\nX-Trailer: yes\r\n\r\nGET / HTTP/1.1\r\n";
    const CHUNKED_BODY_LEN: usize = CHUNKED.len() - b"GET / HTTP/1.1\r\n".len();

    #[test]
    fn chunked_body_with_extensions_and_trailers() {
        let mut d = BodyDecoder::new(&chunked_head(), 100).unwrap().unwrap();
        assert_eq!(d.decode(CHUNKED), Ok((CHUNKED_BODY_LEN, true)));
        let mut d = BodyDecoder::new(&chunked_head(), 100).unwrap().unwrap();
        assert_eq!(d.decode(b"0\r\n\r\n"), Ok((5, true)));
    }

    #[test]
    fn chunked_body_one_byte_at_a_time() {
        let mut d = BodyDecoder::new(&chunked_head(), 100).unwrap().unwrap();
        let cuts: Vec<usize> = (1..CHUNKED.len()).collect();
        assert_eq!(feed(&mut d, CHUNKED, &cuts), Ok(Some(CHUNKED_BODY_LEN)));
    }

    #[test]
    fn chunked_body_over_limit_is_413() {
        let mut d = BodyDecoder::new(&chunked_head(), 14).unwrap().unwrap();
        assert_eq!(d.decode(CHUNKED), Err(HttpError::PayloadTooLarge));
        let mut d = BodyDecoder::new(&chunked_head(), 15).unwrap().unwrap();
        assert_eq!(d.decode(CHUNKED), Ok((CHUNKED_BODY_LEN, true)));
        // A huge announced size fails at once, before any data.
        let mut d = BodyDecoder::new(&chunked_head(), 100).unwrap().unwrap();
        assert_eq!(
            d.decode(b"ffffffffffffff\r\n"),
            Err(HttpError::PayloadTooLarge)
        );
    }

    #[test]
    fn bad_chunk_framing_is_400() {
        for bad in [
            b"\r\n".as_slice(),
            b"x\r\n",
            b" 5\r\nhello\r\n0\r\n\r\n",
            b"5\nhello\r\n0\r\n\r\n",
            b"5;a\nb\r\nhello\r\n0\r\n\r\n",
            b"5\r\nhelloX\r\n",
            b"5\r\nhello\rX",
            b"5\r\nhello\n",
            b"-5\r\n",
            b"0\r\nX: y\n\r\n",
            b"0\r\n\rX",
            b"fffffffffffffffff\r\n",
        ] {
            let mut d = BodyDecoder::new(&chunked_head(), u64::MAX)
                .unwrap()
                .unwrap();
            assert!(
                matches!(d.decode(bad), Err(HttpError::BadRequest(_))),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn endless_chunk_line_is_refused() {
        let mut d = BodyDecoder::new(&chunked_head(), 100).unwrap().unwrap();
        assert_eq!(d.decode(b"1;"), Ok((2, false)));
        let ext = vec![b'a'; MAX_CHUNK_LINE];
        assert!(matches!(d.decode(&ext), Err(HttpError::BadRequest(_))));
    }

    #[test]
    fn endless_trailer_is_refused() {
        let mut d = BodyDecoder::new(&chunked_head(), 100).unwrap().unwrap();
        assert_eq!(d.decode(b"0\r\nX: "), Ok((6, false)));
        let junk = vec![b'a'; MAX_TRAILER_BYTES];
        assert_eq!(d.decode(&junk), Err(HttpError::HeadersTooLarge));
    }

    /// Encodes `chunks` as a chunked body, with an extension on every other chunk.
    fn encode(chunks: &[Vec<u8>]) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, chunk) in chunks.iter().filter(|c| !c.is_empty()).enumerate() {
            let ext = if i % 2 == 0 { "" } else { ";ext=\"q\"" };
            out.extend_from_slice(format!("{:X}{ext}\r\n", chunk.len()).as_bytes());
            out.extend_from_slice(chunk);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"0\r\nTrailer-A: 1\r\n\r\n");
        out
    }

    proptest! {
        #[test]
        fn chunked_body_in_any_chunking(
            chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 0..8),
            cuts in prop::collection::vec(0usize..400, 0..12),
            tail in prop::collection::vec(any::<u8>(), 0..20),
        ) {
            let body = encode(&chunks);
            let mut input = body.clone();
            input.extend_from_slice(&tail);
            let mut d = BodyDecoder::new(&chunked_head(), 1 << 20).unwrap().unwrap();
            prop_assert_eq!(feed(&mut d, &input, &cuts), Ok(Some(body.len())));
        }

        #[test]
        fn length_body_in_any_chunking(
            len in 1u64..300,
            cuts in prop::collection::vec(0usize..400, 0..12),
        ) {
            let input = vec![b'x'; 400];
            let mut d = BodyDecoder::new(&length_head(len), 300).unwrap().unwrap();
            prop_assert_eq!(feed(&mut d, &input, &cuts), Ok(Some(len as usize)));
        }
    }
}
