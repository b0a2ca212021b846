//! Receiving uploaded files (C7) without holding them: a streaming `multipart/form-data` parser
//! that turns request-body bytes, in any chunking, into parts' headers and body pieces.
//!
//! What an upload *is* (its type by the bytes, its stored name) lives with the chat data in
//! [`crate::chat`]; writing it to disk is `gif-chat-io`'s.

pub mod multipart;

pub use multipart::{
    boundary_from_content_type, MultipartError, MultipartEvent, MultipartLimits, MultipartParser,
    PartHeaders,
};
