//! Putting a packet back together from the Engine.IO messages it travelled in.
//!
//! A BINARY_EVENT or BINARY_ACK arrives as a text header announcing `n` attachments, then `n`
//! binary messages. Between them the session is in a half state that must be bounded (count
//! and bytes) and strict: a text message before the last attachment, or an attachment nobody
//! announced, is a broken client, and its session is closed.

use bytes::Bytes;

use super::packet::{Packet, PacketError};
use crate::engineio::Payload;

/// Limits on what a packet may bring.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_attachments: usize,
    pub max_attachment_bytes: usize,
}

struct Partial {
    packet: Packet,
    attachments: Vec<Bytes>,
    bytes: usize,
}

/// One session's packet in progress, if any.
#[derive(Default)]
/// Boxed: a packet with attachments is rare and short-lived, and every session holds an
/// assembler; inline, the partial packet would make each idle session 150 bytes larger.
pub struct Assembler(Option<Box<Partial>>);

impl Assembler {
    /// Takes the next message; returns a whole packet with its attachments once complete.
    pub fn feed(
        &mut self,
        payload: Payload,
        limits: Limits,
    ) -> Result<Option<(Packet, Vec<Bytes>)>, PacketError> {
        match payload {
            Payload::Text(_) => {
                if self.0.is_some() {
                    return Err(PacketError::MissingAttachments);
                }
                // The engine hands over text payloads only as valid UTF-8.
                let text = payload.as_text().ok_or(PacketError::NotJson)?;
                let packet = Packet::decode(text, limits.max_attachments)?;
                if packet.attachments == 0 {
                    return Ok(Some((packet, Vec::new())));
                }
                self.0 = Some(Box::new(Partial {
                    attachments: Vec::with_capacity(packet.attachments),
                    packet,
                    bytes: 0,
                }));
                Ok(None)
            }
            Payload::Binary(bytes) => {
                let partial = self.0.as_mut().ok_or(PacketError::UnexpectedBinary)?;
                partial.bytes += bytes.len();
                if partial.bytes > limits.max_attachment_bytes {
                    return Err(PacketError::AttachmentsTooLarge(
                        limits.max_attachment_bytes,
                    ));
                }
                partial.attachments.push(bytes);
                if partial.attachments.len() < partial.packet.attachments {
                    return Ok(None);
                }
                Ok(self.0.take().map(|p| (p.packet, p.attachments)))
            }
        }
    }
}
