//! Broadcast frames a runtime may write straight to the recipients' sockets.
//!
//! A broadcast to a room used to be queued in every recipient session, the session named
//! ready, its connection woken, and the message pulled and framed into that connection's
//! output buffer, once per recipient. When a recipient has nothing queued and its connection
//! nothing unsent, all of that only delays one `write` of bytes that are the same for every
//! recipient (a server frame is unmasked). So the engine frames the broadcast once, and offers
//! it as a [`DirectFrame`] for those sessions; the runtime writes the shared bytes to each
//! recipient's socket from the broadcasting turn and hands back the sessions it could not
//! write to (connection busy, socket full), whose copy is then queued first, as if it had never
//! left. The protocol decision (which session may skip its queue) stays here; the runtime only
//! knows whether a connection is idle and whether its socket took the bytes.

use bytes::Bytes;

use super::{Payload, Sid};
use crate::ws::{write_frame_parts, Data, OpCode};

/// One broadcast, framed once, for the sessions that may receive it without queueing.
#[derive(Debug)]
pub struct DirectFrame {
    /// The WebSocket frames of the broadcast's messages, back to back: what each recipient's
    /// socket is given.
    pub frame: Bytes,
    /// The recipients: WebSocket sessions that had nothing queued.
    pub sids: Vec<Sid>,
    /// The messages, to queue for a recipient that refuses the frame.
    pub(crate) payloads: Vec<Payload>,
}

impl DirectFrame {
    /// Frames `payloads` (one WebSocket message each) for `sids`.
    pub(crate) fn new(payloads: &[Payload], sids: Vec<Sid>) -> DirectFrame {
        let len: usize = payloads.iter().map(|p| 10 + 1 + p.len()).sum();
        let mut frame = Vec::with_capacity(len);
        for payload in payloads {
            match payload {
                Payload::Text(data) => {
                    write_frame_parts(&mut frame, OpCode::Data(Data::Text), &[b"4", data])
                }
                Payload::Binary(data) => {
                    write_frame_parts(&mut frame, OpCode::Data(Data::Binary), &[data])
                }
            }
        }
        DirectFrame {
            frame: Bytes::from(frame),
            sids,
            payloads: payloads.to_vec(),
        }
    }
}
