//! The Engine.IO WebSocket phase of a connection: a session's WebSocket transport, its frames
//! carried to and from the [`Hub`](crate::Hub).
//!
//! Unlike the seed's WebSocket phase, nothing is decided here: a text or binary message is an
//! Engine.IO packet for the session, handed on as a [`HubCall`]; what the session sends comes
//! back from the hub as [`WsOutput`]s to frame. Engine.IO's own heartbeat (its `2`/`3` packets,
//! run by the engine) replaces B2's liveness ping, so this phase has no deadline of its own;
//! WebSocket pings from the peer are still answered. A message over `EIO_MAX_PAYLOAD_BYTES`
//! is a protocol error (close 1009), which ends the session (E2).

use bytes::Bytes;

use super::outbox::Outbox;
use super::transition::Transition;
use crate::engineio::{Sid, WsInput, WsMessage, WsOutput};
use crate::event::ConnectionError;
use crate::hub::{HubCall, Mount};
use crate::ws::{
    write_close, write_frame, write_frame_parts, Control, Data, Incoming, MessageDecoder, OpCode,
};

/// State of a connection that carries an Engine.IO session over WebSocket.
#[derive(Debug)]
pub(super) struct EngineWsPhase {
    mount: Mount,
    sid: Sid,
    decoder: MessageDecoder,
    /// Our close frame is queued: no more data.
    close_sent: bool,
    /// The peer's close frame arrived: nothing after it is read.
    close_received: bool,
    /// Messages for the hub, in order (a `Vec`, not a `VecDeque`: one word less in every
    /// connection, and the runtime drains it after each read, so it stays short).
    calls: Vec<HubCall>,
}

impl EngineWsPhase {
    pub(super) fn new(mount: Mount, sid: Sid, max_payload: usize) -> Self {
        EngineWsPhase {
            mount,
            sid,
            decoder: MessageDecoder::new(max_payload),
            close_sent: false,
            close_received: false,
            calls: Vec::new(),
        }
    }

    /// The next message for the hub.
    pub(super) fn poll_call(&mut self) -> Option<HubCall> {
        if self.calls.is_empty() {
            return None;
        }
        let call = self.calls.remove(0);
        if self.calls.is_empty() {
            // Room for four calls is a few hundred bytes: an idle session should not keep it.
            self.calls = Vec::new();
        }
        Some(call)
    }

    /// Whether a message for the hub waits.
    pub(super) fn has_call(&self) -> bool {
        !self.calls.is_empty()
    }

    /// The session this WebSocket carries.
    pub(super) fn session(&self) -> (Mount, Sid) {
        (self.mount, self.sid)
    }

    /// Decodes frames: messages become hub calls, pings get pongs, a close is answered.
    pub(super) fn handle_input(&mut self, input: &[u8], out: &mut Outbox) -> Transition {
        if self.close_received {
            return Transition::None;
        }
        let mut offset = 0;
        while let Some(rest) = input.get(offset..).filter(|rest| !rest.is_empty()) {
            let (consumed, item) = self.decoder.decode(rest);
            offset += consumed;
            let item = match item {
                Some(item) => item,
                None if consumed == 0 => break,
                None => continue,
            };
            let message = match item {
                Ok(Incoming::Text(text)) => WsInput::Text(Bytes::copy_from_slice(text.as_bytes())),
                Ok(Incoming::Binary(payload)) => WsInput::Binary(Bytes::copy_from_slice(payload)),
                Ok(Incoming::Ping(payload)) => {
                    if !self.close_sent {
                        write_frame(out.bytes_mut(), OpCode::Control(Control::Pong), payload);
                    }
                    continue;
                }
                Ok(Incoming::Close(frame)) => {
                    self.close_received = true;
                    if !self.close_sent {
                        match frame {
                            Some(frame) => write_close(out.bytes_mut(), frame.code, ""),
                            None => {
                                write_frame(out.bytes_mut(), OpCode::Control(Control::Close), b"")
                            }
                        }
                        self.close_sent = true;
                    }
                    return Transition::CloseWhenFlushed;
                }
                Err(error) => {
                    if !self.close_sent {
                        write_close(out.bytes_mut(), error.close_code(), "");
                        self.close_sent = true;
                    }
                    out.push_error(ConnectionError::Protocol(error));
                    return Transition::AwaitPeerClose;
                }
                Ok(_) => continue,
            };
            if !self.close_sent {
                self.calls.push(HubCall::WsMessage {
                    mount: self.mount,
                    sid: self.sid,
                    message,
                });
            }
        }
        // A session hears a pong every ping interval and little else when idle: as the seed's
        // ticker, keep no decoder buffer in between (a message cut by the read is kept).
        self.decoder.release_memory();
        Transition::None
    }

    /// Output was written: a drained buffer is given back, as the ticker's is, since an idle
    /// session writes one ping per interval.
    pub(super) fn handle_written(&self, out: &mut Outbox) {
        out.shrink();
    }

    /// Whether a frame may be written straight to the socket by someone else (the hub's
    /// broadcasting turn): the WebSocket is open both ways as far as we are concerned.
    pub(super) fn accepts_direct(&self) -> bool {
        !self.close_sent
    }

    /// Frames what the session sends; the session's end closes the WebSocket.
    pub(super) fn handle_output(&mut self, output: WsOutput, out: &mut Outbox) -> Transition {
        if self.close_sent {
            return Transition::None;
        }
        match output {
            WsOutput::Message(WsMessage::Text { packet_type, data }) => {
                // One frame, its payload the type digit then the data, without a copy of the data
                // into a temporary.
                write_frame_parts(
                    out.bytes_mut(),
                    OpCode::Data(Data::Text),
                    &[&[packet_type], &data],
                );
                Transition::None
            }
            WsOutput::Message(WsMessage::Binary(data)) => {
                write_frame(out.bytes_mut(), OpCode::Data(Data::Binary), &data);
                Transition::None
            }
            WsOutput::Close => {
                self.close_sent = true;
                write_close(out.bytes_mut(), 1000, "");
                Transition::AwaitPeerClose
            }
        }
    }
}
