//! Receiving uploaded files (C7) without holding them: a streaming `multipart/form-data` parser
//! that turns request-body bytes, in any chunking, into parts' headers and body pieces.
//!
//! What an upload *is* (its type by the bytes, its stored name) lives with the chat data in
//! [`crate::chat`]; writing it to disk is `gif-chat-io`'s.

pub mod multipart;
pub mod receiver;

pub use multipart::{
    boundary_from_content_type, MultipartError, MultipartEvent, MultipartLimits, MultipartParser,
    PartHeaders,
};
pub use receiver::{UploadReceiver, UploadRefusal, UPLOAD_FIELD};

/// What a connection receiving an upload (`POST /room/<id>/gif`) asks the I/O layer to do with
/// it, in order: one `Begin`, `Piece`s, then `Finish` or `Abort`. The I/O layer answers a
/// `Finish` with [`Connection::handle_upload_stored`](crate::Connection::handle_upload_stored).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UploadStep {
    /// A file part began; its type by its first bytes.
    Begin {
        /// The image's type, which picks the stored name's extension.
        kind: crate::chat::ImageType,
    },
    /// The next bytes of the file.
    Piece(bytes::Bytes),
    /// The file is complete and accepted: sync it and give it its server-chosen name.
    Finish,
    /// The upload failed (too large, not an image, the request cut): leave nothing behind.
    Abort,
}

/// Why the I/O layer could not keep a finished upload.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UploadFailure {
    /// The disk refused it (full, permissions, ...).
    #[error("the upload could not be stored: {0}")]
    Storage(String),
}
