//! One image upload as it arrives (C7): request-body bytes in, [`UploadStep`]s out for the I/O
//! layer to write, refused as soon as it is too large or its first bytes are not an image.
//!
//! The body is `multipart/form-data`; only the first part named `gif` is the file, other parts
//! are read and dropped. The file's first bytes are held until they tell its type
//! ([`ImageType::sniff`]), then `Begin` goes out with that type, then the bytes as `Piece`s as
//! the parser hands them over, so nothing is held whole. Every `Begin` is followed by exactly
//! one `Finish` (the body ended well) or `Abort` (anything else), so the I/O layer never keeps
//! a file the server refused.

use std::collections::VecDeque;

use bytes::Bytes;

use super::multipart::{MultipartError, MultipartEvent, MultipartLimits, MultipartParser};
use super::UploadStep;
use crate::chat::{ImageType, Sniff, SNIFF_LEN};

/// The form field that carries the image, as the book's page names it.
pub const UPLOAD_FIELD: &str = "gif";

/// Why an upload was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UploadRefusal {
    /// The file is larger than the limit.
    #[error("the image is larger than {0} bytes")]
    TooLarge(u64),
    /// The file's bytes are not a GIF, PNG, JPEG or WebP image.
    #[error("the file is not a GIF, PNG, JPEG or WebP image")]
    NotAnImage,
    /// The body has no `gif` part.
    #[error("no file in the form's gif field")]
    NoFile,
    /// The body is not well-formed multipart, or past one of its limits.
    #[error(transparent)]
    Multipart(#[from] MultipartError),
}

impl UploadRefusal {
    /// The HTTP status to answer with.
    pub fn status(&self) -> u16 {
        match self {
            UploadRefusal::TooLarge(_) => 413,
            UploadRefusal::NotAnImage => 415,
            UploadRefusal::NoFile => 400,
            UploadRefusal::Multipart(error) => error.status(),
        }
    }

    /// The text a visitor reads.
    pub fn message(&self) -> &'static str {
        match self {
            UploadRefusal::TooLarge(_) => "파일이 너무 큽니다.",
            UploadRefusal::NotAnImage => "GIF, PNG, JPEG, WebP 이미지만 올릴 수 있습니다.",
            UploadRefusal::NoFile => "올릴 파일이 없습니다.",
            UploadRefusal::Multipart(error) if error.status() == 413 => "파일이 너무 큽니다.",
            UploadRefusal::Multipart(_) => "잘못된 업로드 요청입니다.",
        }
    }
}

/// Where the receiver is in the body.
#[derive(Debug)]
enum File {
    /// Before the `gif` part.
    NotYet,
    /// In the `gif` part, its first bytes held until they tell the type.
    Sniffing(Vec<u8>),
    /// In the `gif` part, after `Begin`.
    Streaming,
    /// The `gif` part ended; later parts are dropped.
    Received,
}

/// An upload being received.
#[derive(Debug)]
pub struct UploadReceiver {
    parser: MultipartParser,
    max_file_bytes: u64,
    file: File,
    /// Which part the parser is in: the file's, or one to drop.
    in_file_part: bool,
    file_bytes: u64,
    steps: VecDeque<UploadStep>,
    /// `Begin` went out, and neither `Finish` nor `Abort` yet.
    open: bool,
    refused: Option<UploadRefusal>,
    events: Vec<MultipartEvent>,
}

impl UploadReceiver {
    /// A receiver for a body with this boundary, taking a file of at most `max_file_bytes`.
    pub fn new(boundary: &str, max_file_bytes: u64) -> UploadReceiver {
        let limits = MultipartLimits {
            max_total_bytes: max_file_bytes.saturating_add(64 * 1024),
            ..MultipartLimits::default()
        };
        UploadReceiver {
            parser: MultipartParser::new(boundary, limits),
            max_file_bytes,
            file: File::NotYet,
            in_file_part: false,
            file_bytes: 0,
            steps: VecDeque::new(),
            open: false,
            refused: None,
            events: Vec::new(),
        }
    }

    /// The file's bytes received so far (all of them once `Finish` went out).
    pub fn file_bytes(&self) -> u64 {
        self.file_bytes
    }

    /// The largest body accepted: the file, its headers, and a few small fields.
    pub fn max_body_bytes(max_file_bytes: u64) -> u64 {
        max_file_bytes.saturating_add(64 * 1024)
    }

    /// The next body bytes. After a refusal, everything is ignored and the refusal returned.
    pub fn push(&mut self, bytes: &[u8]) -> Result<(), UploadRefusal> {
        if let Some(refusal) = &self.refused {
            return Err(refusal.clone());
        }
        let mut events = std::mem::take(&mut self.events);
        let parsed = self.parser.push(bytes, &mut events);
        let mut outcome = parsed.map_err(UploadRefusal::from);
        for event in events.drain(..) {
            if outcome.is_err() {
                break;
            }
            outcome = self.handle_event(event);
        }
        self.events = events;
        outcome.or_else(|refusal| self.refuse(refusal))
    }

    /// The body ended: `Finish` goes out when it held an image, else the refusal.
    pub fn finish(&mut self) -> Result<(), UploadRefusal> {
        if let Some(refusal) = &self.refused {
            return Err(refusal.clone());
        }
        if let Err(error) = self.parser.finish() {
            return self.refuse(error.into());
        }
        match self.file {
            File::Received => {
                self.steps.push_back(UploadStep::Finish);
                self.open = false;
                Ok(())
            }
            _ => self.refuse(UploadRefusal::NoFile),
        }
    }

    /// The request was cut or dropped: an upload begun is aborted.
    pub fn abort(&mut self) {
        if self.open {
            self.steps.push_back(UploadStep::Abort);
            self.open = false;
        }
    }

    /// The next step for the I/O layer.
    pub fn poll_step(&mut self) -> Option<UploadStep> {
        self.steps.pop_front()
    }

    /// Whether steps wait to be taken (the connection reads no more until they are).
    pub fn has_steps(&self) -> bool {
        !self.steps.is_empty()
    }

    /// Whether a `Finish` went out.
    pub fn is_finished(&self) -> bool {
        matches!(self.file, File::Received) && !self.open && self.refused.is_none()
    }

    fn refuse(&mut self, refusal: UploadRefusal) -> Result<(), UploadRefusal> {
        self.abort();
        self.refused = Some(refusal.clone());
        Err(refusal)
    }

    fn handle_event(&mut self, event: MultipartEvent) -> Result<(), UploadRefusal> {
        match event {
            MultipartEvent::Part(headers) => {
                self.in_file_part =
                    headers.name == UPLOAD_FIELD && matches!(self.file, File::NotYet);
                if self.in_file_part {
                    self.file = File::Sniffing(Vec::with_capacity(SNIFF_LEN));
                }
                Ok(())
            }
            MultipartEvent::Body(piece) if self.in_file_part => self.file_piece(piece),
            MultipartEvent::Body(_) => Ok(()),
            MultipartEvent::PartEnd if self.in_file_part => {
                self.in_file_part = false;
                if let File::Sniffing(first) = &mut self.file {
                    let first = std::mem::take(first);
                    self.begin(&first, true)?;
                }
                self.file = File::Received;
                Ok(())
            }
            MultipartEvent::PartEnd | MultipartEvent::End => Ok(()),
        }
    }

    fn file_piece(&mut self, piece: Vec<u8>) -> Result<(), UploadRefusal> {
        self.file_bytes = self.file_bytes.saturating_add(piece.len() as u64);
        if self.file_bytes > self.max_file_bytes {
            return Err(UploadRefusal::TooLarge(self.max_file_bytes));
        }
        match &mut self.file {
            File::Sniffing(first) => {
                first.extend_from_slice(&piece);
                let first = std::mem::take(first);
                self.begin(&first, false)
            }
            File::Streaming => {
                self.steps.push_back(UploadStep::Piece(Bytes::from(piece)));
                Ok(())
            }
            File::NotYet | File::Received => Ok(()),
        }
    }

    /// Tells the type from the bytes held: `Begin` and those bytes, or hold on (not
    /// `complete`), or refuse.
    fn begin(&mut self, first: &[u8], complete: bool) -> Result<(), UploadRefusal> {
        match ImageType::sniff(first, complete) {
            Sniff::Image(kind) => {
                self.steps.push_back(UploadStep::Begin { kind });
                self.open = true;
                self.steps
                    .push_back(UploadStep::Piece(Bytes::copy_from_slice(first)));
                self.file = File::Streaming;
                Ok(())
            }
            Sniff::NeedMore => {
                self.file = File::Sniffing(first.to_vec());
                Ok(())
            }
            Sniff::Refused => Err(UploadRefusal::NotAnImage),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOUNDARY: &str = "----formX";
    const GIF: &[u8] = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9";

    fn body(parts: &[(&str, &[u8])]) -> Vec<u8> {
        let mut body = Vec::new();
        for (name, bytes) in parts {
            body.extend_from_slice(
                format!(
                    "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; \
                     filename=\"a.gif\"\r\nContent-Type: image/gif\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
        body
    }

    /// Feeds `body` one byte at a time; the steps, and the refusal if any.
    fn receive(body: &[u8], max: u64) -> (Vec<UploadStep>, Option<UploadRefusal>) {
        let mut receiver = UploadReceiver::new(BOUNDARY, max);
        let mut steps = Vec::new();
        let mut refusal = None;
        for byte in body {
            if let Err(r) = receiver.push(std::slice::from_ref(byte)) {
                refusal = Some(r);
                break;
            }
            steps.extend(std::iter::from_fn(|| receiver.poll_step()));
        }
        if refusal.is_none() {
            refusal = receiver.finish().err();
        }
        steps.extend(std::iter::from_fn(|| receiver.poll_step()));
        (steps, refusal)
    }

    fn file_of(steps: &[UploadStep]) -> Vec<u8> {
        steps
            .iter()
            .filter_map(|s| match s {
                UploadStep::Piece(b) => Some(b.to_vec()),
                _ => None,
            })
            .flatten()
            .collect()
    }

    #[test]
    fn an_image_goes_out_typed_in_pieces_then_finishes() {
        let (steps, refusal) = receive(&body(&[("title", b"x"), ("gif", GIF)]), 1024);
        assert_eq!(refusal, None);
        assert_eq!(
            steps.first(),
            Some(&UploadStep::Begin {
                kind: ImageType::Gif
            })
        );
        assert_eq!(steps.last(), Some(&UploadStep::Finish));
        assert_eq!(file_of(&steps), GIF);
    }

    #[test]
    fn past_the_limit_is_413_and_aborted() {
        let (steps, refusal) = receive(&body(&[("gif", GIF)]), GIF.len() as u64 - 1);
        assert_eq!(refusal.as_ref().map(UploadRefusal::status), Some(413));
        assert_eq!(steps.last(), Some(&UploadStep::Abort));
        let (steps, refusal) = receive(&body(&[("gif", GIF)]), GIF.len() as u64);
        assert_eq!(refusal, None, "exactly the limit is accepted");
        assert_eq!(steps.last(), Some(&UploadStep::Finish));
    }

    #[test]
    fn a_file_that_is_no_image_is_415_before_any_begin() {
        let (steps, refusal) = receive(&body(&[("gif", b"<svg onload=alert(1)>")]), 1024);
        assert_eq!(refusal, Some(UploadRefusal::NotAnImage));
        assert_eq!(refusal.map(|r| r.status()), Some(415));
        assert!(steps.is_empty(), "{steps:?}");
        let (steps, refusal) = receive(&body(&[("gif", b"GIF8")]), 1024);
        assert_eq!(
            refusal,
            Some(UploadRefusal::NotAnImage),
            "too short to tell"
        );
        assert!(steps.is_empty());
    }

    #[test]
    fn no_gif_field_or_a_cut_body_is_400() {
        let (steps, refusal) = receive(&body(&[("other", GIF)]), 1024);
        assert_eq!(refusal, Some(UploadRefusal::NoFile));
        assert!(steps.is_empty());
        let whole = body(&[("gif", GIF)]);
        let (steps, refusal) = receive(&whole[..whole.len() - 20], 1024);
        assert_eq!(refusal.map(|r| r.status()), Some(400));
        assert_eq!(steps.last(), Some(&UploadStep::Abort));
    }
}
