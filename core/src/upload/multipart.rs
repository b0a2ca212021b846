//! A streaming `multipart/form-data` parser (RFC 7578), sans-IO: request-body bytes go in, in any
//! chunking, and each part's headers, its body in pieces, and its end come out as
//! [`MultipartEvent`]s.
//!
//! It never holds a body: a body piece is handed out as soon as it is known not to be part of
//! the next boundary, so between calls at most the delimiter's length (`\r\n--` and the
//! boundary, at most 74 bytes) is kept back in a body, and at most
//! [`MultipartLimits::max_header_bytes`] in a part's headers. Limits on the part count, the
//! header size and the total size turn into typed errors with the status to answer (413 or 400).
//!
//! Written here rather than taken from a crate: `multer`, the common one, is built on an async
//! `Stream` and cannot run in a core that has no runtime; the sans-IO ones found
//! (`nostd-multipart`, `form-net`) are new single-author crates. The boundary search is
//! `memchr`'s `memmem`, and part headers are read by `httparse`, as request heads are.

use memchr::memmem::Finder;
use thiserror::Error;

/// The most parts, header bytes and body bytes one request may have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MultipartLimits {
    /// Parts in the body (413 beyond).
    pub max_parts: usize,
    /// Bytes of one part's header block, blank line included (413 beyond).
    pub max_header_bytes: usize,
    /// Bytes of the whole body, boundaries and headers included (413 beyond).
    pub max_total_bytes: u64,
}

impl Default for MultipartLimits {
    /// Room for one 5 MiB image and a few small fields (C7).
    fn default() -> MultipartLimits {
        MultipartLimits {
            max_parts: 8,
            max_header_bytes: 8 * 1024,
            max_total_bytes: 5 * 1024 * 1024 + 64 * 1024,
        }
    }
}

/// Why a body was refused.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum MultipartError {
    /// The `Content-Type` is not `multipart/form-data`.
    #[error("the content type is not multipart/form-data")]
    NotMultipart,
    /// The boundary is missing or not a valid one (1 to 70 allowed characters).
    #[error("missing or invalid multipart boundary")]
    BadBoundary,
    /// More parts than [`MultipartLimits::max_parts`].
    #[error("more than {0} parts")]
    TooManyParts(usize),
    /// A header block longer than [`MultipartLimits::max_header_bytes`].
    #[error("part headers longer than {0} bytes")]
    HeadersTooLarge(usize),
    /// A body longer than [`MultipartLimits::max_total_bytes`].
    #[error("body longer than {0} bytes")]
    TooLarge(u64),
    /// Not well-formed multipart.
    #[error("malformed multipart body: {0}")]
    Malformed(&'static str),
    /// The body ended before the closing boundary.
    #[error("the body ended before the closing boundary")]
    Truncated,
}

impl MultipartError {
    /// The HTTP status to answer with: 413 for a limit, 400 otherwise (415 for another type).
    pub fn status(&self) -> u16 {
        match self {
            MultipartError::NotMultipart => 415,
            MultipartError::TooManyParts(_)
            | MultipartError::HeadersTooLarge(_)
            | MultipartError::TooLarge(_) => 413,
            MultipartError::BadBoundary
            | MultipartError::Malformed(_)
            | MultipartError::Truncated => 400,
        }
    }
}

/// What a part's headers say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartHeaders {
    /// The form field's name (`Content-Disposition: form-data; name="…"`).
    pub name: String,
    /// The file name the browser sent, if it is a file (for logs only: never trusted).
    pub filename: Option<String>,
    /// The part's `Content-Type`, if any (never trusted either).
    pub content_type: Option<String>,
}

/// What the parser found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MultipartEvent {
    /// A part begins.
    Part(PartHeaders),
    /// A piece of the current part's body, in order.
    Body(Vec<u8>),
    /// The current part ended.
    PartEnd,
    /// The closing boundary: nothing more will come.
    End,
}

/// The `boundary` of a `multipart/form-data` `Content-Type` header.
pub fn boundary_from_content_type(content_type: &str) -> Result<String, MultipartError> {
    let (media, params) = content_type.split_once(';').unwrap_or((content_type, ""));
    if !media.trim().eq_ignore_ascii_case("multipart/form-data") {
        return Err(MultipartError::NotMultipart);
    }
    let boundary = parameters(params)
        .ok_or(MultipartError::BadBoundary)?
        .into_iter()
        .find(|(key, _)| key.eq_ignore_ascii_case("boundary"))
        .map(|(_, value)| value)
        .ok_or(MultipartError::BadBoundary)?;
    let allowed = |b: u8| b.is_ascii_alphanumeric() || b"'()+_,-./:=? ".contains(&b);
    let valid = (1..=70).contains(&boundary.len())
        && boundary.bytes().all(allowed)
        && !boundary.ends_with(' ');
    valid.then_some(boundary).ok_or(MultipartError::BadBoundary)
}

/// Parses `; key=value; key="quoted \" value"` (leading `;` optional); `None` if malformed.
fn parameters(text: &str) -> Option<Vec<(String, String)>> {
    let mut found = Vec::new();
    let mut rest = text.trim_start().trim_start_matches(';');
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            return Some(found);
        }
        let (key, after) = rest.split_once('=')?;
        let after = after.trim_start();
        let (value, after) = if let Some(quoted) = after.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = quoted.char_indices();
            let end = loop {
                match chars.next()? {
                    (_, '\\') => value.push(chars.next()?.1),
                    (i, '"') => break i + 1,
                    (_, c) => value.push(c),
                }
            };
            (value, &quoted[end..])
        } else {
            let end = after.find(';').unwrap_or(after.len());
            (after[..end].trim_end().to_owned(), &after[end..])
        };
        found.push((key.trim().to_owned(), value));
        let after = after.trim_start();
        rest = match after.strip_prefix(';') {
            Some(next) => next,
            None if after.is_empty() => after,
            None => return None,
        };
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Before the first boundary: skipped.
    Preamble,
    /// Just after a boundary: `--` ends the body, CRLF starts a part.
    AfterBoundary,
    /// In a part's header block.
    Headers,
    /// In a part's body.
    Body,
    /// After the closing boundary: the epilogue is skipped.
    Done,
}

/// The parser for one request body. Feed it with [`push`](MultipartParser::push), then call
/// [`finish`](MultipartParser::finish) when the body has ended. After an error it stays failed.
#[derive(Debug)]
pub struct MultipartParser {
    /// `\r\n--` and the boundary.
    delimiter: Finder<'static>,
    limits: MultipartLimits,
    state: State,
    /// Bytes not yet handed out.
    held: Vec<u8>,
    total: u64,
    parts: usize,
    failed: Option<MultipartError>,
}

impl MultipartParser {
    /// A parser for bodies with this boundary (see [`boundary_from_content_type`]).
    pub fn new(boundary: &str, limits: MultipartLimits) -> MultipartParser {
        let delimiter = format!("\r\n--{boundary}").into_bytes();
        MultipartParser {
            delimiter: Finder::new(&delimiter).into_owned(),
            limits,
            state: State::Preamble,
            // The first boundary need not follow a line break: pretend one came before the body.
            held: b"\r\n".to_vec(),
            total: 0,
            parts: 0,
            failed: None,
        }
    }

    /// How many bytes the parser holds, not yet handed out.
    pub fn held(&self) -> usize {
        self.held.len()
    }

    /// Whether the closing boundary was seen.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Takes the next bytes of the body and appends what they complete to `out`.
    pub fn push(
        &mut self,
        bytes: &[u8],
        out: &mut Vec<MultipartEvent>,
    ) -> Result<(), MultipartError> {
        if let Some(error) = &self.failed {
            return Err(error.clone());
        }
        self.total += bytes.len() as u64;
        if self.total > self.limits.max_total_bytes {
            return self.fail(MultipartError::TooLarge(self.limits.max_total_bytes));
        }
        if self.state == State::Done {
            return Ok(());
        }
        self.held.extend_from_slice(bytes);
        match self.advance(out) {
            Ok(()) => Ok(()),
            Err(error) => self.fail(error),
        }
    }

    /// The body has ended: an error unless the closing boundary was seen.
    pub fn finish(&mut self) -> Result<(), MultipartError> {
        if let Some(error) = &self.failed {
            return Err(error.clone());
        }
        if self.state == State::Done {
            Ok(())
        } else {
            self.fail(MultipartError::Truncated)
        }
    }

    fn fail(&mut self, error: MultipartError) -> Result<(), MultipartError> {
        self.held = Vec::new();
        self.failed = Some(error.clone());
        Err(error)
    }

    fn advance(&mut self, out: &mut Vec<MultipartEvent>) -> Result<(), MultipartError> {
        let delimiter_len = self.delimiter.needle().len();
        loop {
            match self.state {
                State::Preamble => match self.delimiter.find(&self.held) {
                    Some(at) => {
                        self.held.drain(..at + delimiter_len);
                        self.state = State::AfterBoundary;
                    }
                    None => {
                        self.keep_last(delimiter_len - 1);
                        return Ok(());
                    }
                },
                State::AfterBoundary => {
                    if self.held.starts_with(b"--") {
                        self.held = Vec::new();
                        self.state = State::Done;
                        out.push(MultipartEvent::End);
                        return Ok(());
                    }
                    // Transport padding (RFC 2046): spaces and tabs before the line break.
                    let padding = self
                        .held
                        .iter()
                        .take_while(|b| matches!(b, b' ' | b'\t'))
                        .count();
                    self.held.drain(..padding);
                    match self.held.get(..2) {
                        None if self.held.first().is_none_or(|b| b"-\r".contains(b)) => {
                            return Ok(())
                        }
                        Some(b"\r\n") => {
                            self.held.drain(..2);
                            self.state = State::Headers;
                        }
                        _ => return Err(MultipartError::Malformed("junk after a boundary")),
                    }
                }
                State::Headers => {
                    let end = if self.held.starts_with(b"\r\n") {
                        Some(2)
                    } else {
                        memchr::memmem::find(&self.held, b"\r\n\r\n").map(|at| at + 4)
                    };
                    let limit = self.limits.max_header_bytes;
                    match end {
                        Some(end) if end <= limit => {
                            let headers = part_headers(&self.held[..end])?;
                            self.parts += 1;
                            if self.parts > self.limits.max_parts {
                                return Err(MultipartError::TooManyParts(self.limits.max_parts));
                            }
                            out.push(MultipartEvent::Part(headers));
                            self.held.drain(..end);
                            self.state = State::Body;
                        }
                        None if self.held.len() < limit => return Ok(()),
                        _ => return Err(MultipartError::HeadersTooLarge(limit)),
                    }
                }
                State::Body => match self.delimiter.find(&self.held) {
                    Some(at) => {
                        if at > 0 {
                            out.push(MultipartEvent::Body(self.held[..at].to_vec()));
                        }
                        out.push(MultipartEvent::PartEnd);
                        self.held.drain(..at + delimiter_len);
                        self.state = State::AfterBoundary;
                    }
                    None => {
                        // Bytes that cannot begin a delimiter are body: hand them out now.
                        let keep = delimiter_len - 1;
                        if self.held.len() > keep {
                            let piece: Vec<u8> =
                                self.held.drain(..self.held.len() - keep).collect();
                            out.push(MultipartEvent::Body(piece));
                        }
                        return Ok(());
                    }
                },
                State::Done => return Ok(()),
            }
        }
    }

    /// Drops all but the last `keep` bytes (skipped text that may begin a delimiter).
    fn keep_last(&mut self, keep: usize) {
        let drop = self.held.len().saturating_sub(keep);
        self.held.drain(..drop);
    }
}

/// Reads a part's header block (its blank line included).
fn part_headers(block: &[u8]) -> Result<PartHeaders, MultipartError> {
    let mut slots = [httparse::EMPTY_HEADER; 16];
    let headers = match httparse::parse_headers(block, &mut slots) {
        Ok(httparse::Status::Complete((_, headers))) => headers,
        Ok(httparse::Status::Partial) | Err(_) => {
            return Err(MultipartError::Malformed("bad part headers"))
        }
    };
    let mut disposition = None;
    let mut content_type = None;
    for header in headers.iter() {
        let value = std::str::from_utf8(header.value)
            .map_err(|_| MultipartError::Malformed("part header not UTF-8"))?;
        if header.name.eq_ignore_ascii_case("content-disposition") {
            disposition = Some(value);
        } else if header.name.eq_ignore_ascii_case("content-type") {
            content_type = Some(value.trim().to_owned());
        }
    }
    let disposition = disposition.ok_or(MultipartError::Malformed("part without a name"))?;
    let (kind, params) = disposition.split_once(';').unwrap_or((disposition, ""));
    if !kind.trim().eq_ignore_ascii_case("form-data") {
        return Err(MultipartError::Malformed("part is not form-data"));
    }
    let params = parameters(params).ok_or(MultipartError::Malformed("bad disposition"))?;
    let param = |wanted: &str| {
        params
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(wanted))
            .map(|(_, value)| value.clone())
    };
    Ok(PartHeaders {
        name: param("name").ok_or(MultipartError::Malformed("part without a name"))?,
        filename: param("filename"),
        content_type,
    })
}

#[cfg(test)]
mod tests;
