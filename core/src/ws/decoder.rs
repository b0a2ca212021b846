//! Streaming decoder of client frames into messages (RFC 6455 §5, server side).
//!
//! The decoder is fed whatever the socket produced, in any chunking down to one byte at a time,
//! and never waits for a whole frame: payload bytes are unmasked straight into the message buffer
//! as they arrive, and text is UTF-8 checked on arrival so that a bad byte fails the connection at
//! once (Autobahn 6.x). Only a frame *header* is ever held back, in a 14-byte array.
//!
//! Memory is what a hostile peer aims at, so it is bounded by the message limit and nothing else:
//! a declared length is checked against the limit before anything is allocated, the buffer grows
//! with the bytes actually received (a header promising 16 MiB reserves 64 KiB), fragments leave
//! no per-fragment trace, and a control frame interleaved with fragments lands in its own
//! 125-byte box instead of the message buffer. The struct itself fits in 96 bytes because a server
//! keeps one per idle connection; [`MessageDecoder::release_memory`] drops the buffers.
//!
//! A text message is validated twice at most: chunk by chunk while it is incomplete (to fail
//! fast), then whole when it completes, which is what turns the bytes into a `&str` without
//! `unsafe`. A message that arrives in one read is validated once.

use tungstenite::protocol::frame::coding::{Control, Data, OpCode};

use super::error::ProtocolError;
use super::{mask, utf8};

/// The longest frame header: 2 bytes, a 64-bit length and the 4-byte masking key.
const MAX_HEADER: usize = 14;
/// Longest control frame payload (RFC 6455 §5.5).
const MAX_CONTROL: usize = 125;
/// Most a declared length may reserve up front, and most capacity kept between messages.
const KEEP_CAPACITY: usize = 64 * 1024;
/// `MAX_MESSAGE_BYTES`' default (SPEC §4), used by [`MessageDecoder::default`].
const DEFAULT_MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;

/// A close frame's payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CloseFrame<'a> {
    pub code: u16,
    pub reason: &'a str,
}

/// What the peer sent: a whole message or a control frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Incoming<'a> {
    Text(&'a str),
    Binary(&'a [u8]),
    Ping(&'a [u8]),
    Pong(&'a [u8]),
    /// `None` for an empty close payload (no status code).
    Close(Option<CloseFrame<'a>>),
}

/// Whether a peer may send `code` in a close frame (RFC 6455 §7.4; 1012-1014 were registered
/// later). 1004-1006 and 1015 are reserved for local use, the rest below 3000 unassigned.
pub fn is_valid_close_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// Where the decoder is within the byte stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Collecting a frame header; `header_len` bytes of it are in `header`.
    Header,
    /// Reading the payload of the frame whose header was parsed; `remaining` bytes to go.
    Payload,
    /// An error was returned: nothing more is decoded.
    Failed,
}

/// What one pass over the input ended with; turned into an [`Incoming`] once `self` is no longer
/// being mutated.
enum Step {
    NeedMore,
    Failed(ProtocolError),
    Control(Control),
    Message(Data),
}

/// Decodes masked client frames incrementally, in any chunking.
#[derive(Debug)]
pub struct MessageDecoder {
    /// `message[..message_len]` is the unmasked payload of the data message being assembled, or
    /// of the one last returned. The bytes after it are zeroes or leftovers of earlier messages:
    /// they are kept initialised so that payload is unmasked straight into place, without
    /// zeroing or copying it first.
    message: Vec<u8>,
    message_len: usize,
    /// Payload of the current (or last returned) control frame; allocated on first use.
    control: Option<Box<[u8; MAX_CONTROL]>>,
    max_message_bytes: usize,
    /// Payload bytes of the current frame not received yet.
    remaining: u64,
    /// For a text message, `message[..utf8_valid]` is whole, valid characters.
    utf8_valid: usize,
    header: [u8; MAX_HEADER],
    header_len: u8,
    control_len: u8,
    /// The masking key, rotated so that the next payload byte uses `key[0]`.
    key: [u8; 4],
    state: State,
    /// Opcode and FIN bit of the frame whose payload is being read.
    frame: OpCode,
    fin: bool,
    /// Kind of the message being assembled (`Text` or `Binary`); `None` between messages.
    open: Option<Data>,
    /// The message in `message` was returned; it is dropped on the next call.
    delivered: bool,
}

impl Default for MessageDecoder {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_MESSAGE_BYTES)
    }
}

impl MessageDecoder {
    /// A decoder that refuses messages over `max_message_bytes` (1009).
    pub fn new(max_message_bytes: usize) -> Self {
        MessageDecoder {
            message: Vec::new(),
            message_len: 0,
            control: None,
            max_message_bytes,
            remaining: 0,
            utf8_valid: 0,
            header: [0; MAX_HEADER],
            header_len: 0,
            control_len: 0,
            key: [0; 4],
            state: State::Header,
            frame: OpCode::Data(Data::Continue),
            fin: false,
            open: None,
            delivered: false,
        }
    }

    /// Consumes bytes from the front of `input` until one item is complete or `input` is used up.
    /// Returns how many bytes were consumed and the item, if one completed. After an error the
    /// decoder is done and consumes nothing more.
    pub fn decode(&mut self, input: &[u8]) -> (usize, Option<Result<Incoming<'_>, ProtocolError>>) {
        if self.state == State::Failed {
            return (0, None);
        }
        if self.delivered {
            self.delivered = false;
            self.discard_message();
        }
        let (used, step) = self.advance(input);
        let item = match step {
            Step::NeedMore => return (used, None),
            Step::Failed(error) => Err(error),
            Step::Control(kind) => {
                let payload = match &self.control {
                    Some(buf) => buf.get(..usize::from(self.control_len)).unwrap_or_default(),
                    None => &[],
                };
                control_item(kind, payload)
            }
            Step::Message(kind) => {
                self.delivered = true;
                message_item(
                    kind,
                    self.message.get(..self.message_len).unwrap_or_default(),
                )
            }
        };
        if item.is_err() {
            self.state = State::Failed;
        }
        (used, Some(item))
    }

    /// Frees buffers kept for the next message, for a connection that went quiet.
    ///
    /// Bytes of a message still being received are kept (in a buffer trimmed to their size).
    pub fn release_memory(&mut self) {
        if self.open.is_none() {
            self.message = Vec::new();
            self.message_len = 0;
            self.utf8_valid = 0;
            self.delivered = false;
        } else {
            self.message.truncate(self.message_len);
            self.message.shrink_to_fit();
        }
        let reading_control =
            self.state == State::Payload && matches!(self.frame, OpCode::Control(_));
        if !reading_control {
            self.control = None;
            self.control_len = 0;
        }
    }

    /// Bytes held in buffers, for tests of the memory bounds.
    #[cfg(test)]
    pub(crate) fn buffered_bytes(&self) -> usize {
        self.message.capacity() + self.control.as_ref().map_or(0, |b| b.len())
    }

    /// Runs the state machine over `input` until an item completes or the input is used up.
    fn advance(&mut self, input: &[u8]) -> (usize, Step) {
        let mut used = 0;
        loop {
            let rest = input.get(used..).unwrap_or_default();
            match self.state {
                State::Header => {
                    let (n, parsed) = self.read_header(rest);
                    used += n;
                    match parsed {
                        Err(error) => return (used, Step::Failed(error)),
                        Ok(false) => return (used, Step::NeedMore),
                        Ok(true) => {}
                    }
                }
                State::Payload => {
                    used += self.read_payload(rest);
                    if self.remaining > 0 {
                        // Input used up mid-frame: check the text received so far (fail-fast).
                        return match self.check_text() {
                            Ok(()) => (used, Step::NeedMore),
                            Err(error) => (used, Step::Failed(error)),
                        };
                    }
                    self.state = State::Header;
                    match self.frame {
                        OpCode::Control(kind) => return (used, Step::Control(kind)),
                        OpCode::Data(_) if self.fin => {
                            // The whole message is checked when it is turned into a `&str`.
                            let kind = self.open.take().unwrap_or(Data::Binary);
                            return (used, Step::Message(kind));
                        }
                        OpCode::Data(_) => {
                            if let Err(error) = self.check_text() {
                                return (used, Step::Failed(error));
                            }
                        }
                    }
                }
                State::Failed => return (used, Step::NeedMore),
            }
        }
    }

    /// Collects header bytes from `input`. Returns the bytes consumed and whether the header is
    /// complete (the frame is then set up and the state is `Payload`). Each rule is checked as
    /// soon as the byte it depends on has arrived.
    fn read_header(&mut self, input: &[u8]) -> (usize, Result<bool, ProtocolError>) {
        let mut used = 0;
        loop {
            let have = usize::from(self.header_len);
            let need = header_size(&self.header, have);
            if have >= need {
                return (used, self.begin_frame().map(|()| true));
            }
            let rest = input.get(used..).unwrap_or_default();
            let take = (need - have).min(rest.len());
            if take == 0 {
                return (used, Ok(false));
            }
            if let (Some(dst), Some(src)) =
                (self.header.get_mut(have..have + take), rest.get(..take))
            {
                dst.copy_from_slice(src);
            }
            used += take;
            // `take` is at most MAX_HEADER.
            self.header_len += take as u8;
            if have == 0 {
                if let Err(error) = self.check_first_byte() {
                    return (used, Err(error));
                }
            }
            if have < 2 && self.header_len >= 2 && self.header[1] & 0x80 == 0 {
                return (used, Err(ProtocolError::UnmaskedFrame));
            }
        }
    }

    /// The rules that FIN, RSV and the opcode alone decide.
    fn check_first_byte(&self) -> Result<(), ProtocolError> {
        let first = self.header[0];
        if first & 0x70 != 0 {
            return Err(ProtocolError::ReservedBits);
        }
        let fin = first & 0x80 != 0;
        match OpCode::from(first & 0x0F) {
            OpCode::Data(Data::Reserved(code)) | OpCode::Control(Control::Reserved(code)) => {
                Err(ProtocolError::ReservedOpcode(code))
            }
            OpCode::Control(_) if !fin => Err(ProtocolError::FragmentedControl),
            OpCode::Data(Data::Continue) if self.open.is_none() => {
                Err(ProtocolError::UnexpectedContinuation)
            }
            OpCode::Data(Data::Text | Data::Binary) if self.open.is_some() => {
                Err(ProtocolError::ExpectedContinuation)
            }
            _ => Ok(()),
        }
    }

    /// Checks the declared length of the complete header in `header` and prepares for its
    /// payload.
    fn begin_frame(&mut self) -> Result<(), ProtocolError> {
        let h = self.header;
        let (len, key) = match h[1] & 0x7F {
            126 => (
                u64::from(u16::from_be_bytes([h[2], h[3]])),
                [h[4], h[5], h[6], h[7]],
            ),
            127 => (
                u64::from_be_bytes([h[2], h[3], h[4], h[5], h[6], h[7], h[8], h[9]]),
                [h[10], h[11], h[12], h[13]],
            ),
            short => (u64::from(short), [h[2], h[3], h[4], h[5]]),
        };
        if len >> 63 != 0 {
            return Err(ProtocolError::InvalidLength);
        }
        let opcode = OpCode::from(h[0] & 0x0F);
        match opcode {
            OpCode::Control(_) => {
                if len > MAX_CONTROL as u64 {
                    return Err(ProtocolError::ControlTooLong);
                }
                self.control_len = 0;
                self.control
                    .get_or_insert_with(|| Box::new([0; MAX_CONTROL]));
            }
            OpCode::Data(data) => {
                let limit = self.max_message_bytes;
                let total = (self.message_len as u64).saturating_add(len);
                if total > limit as u64 {
                    return Err(ProtocolError::MessageTooBig { limit });
                }
                if data != Data::Continue {
                    self.open = Some(data);
                    self.utf8_valid = 0;
                }
                // Reserve for what is declared, but no more than a sane amount: the header
                // may lie, and the bytes may never come.
                let declared = usize::try_from(len).unwrap_or(usize::MAX);
                self.grow_message(declared.min(KEEP_CAPACITY));
            }
        }
        self.frame = opcode;
        self.fin = h[0] & 0x80 != 0;
        self.key = key;
        self.remaining = len;
        self.header_len = 0;
        self.state = State::Payload;
        Ok(())
    }

    /// Unmasks the part of the current frame's payload found in `input`; returns its length.
    fn read_payload(&mut self, input: &[u8]) -> usize {
        let take = usize::try_from(self.remaining).map_or(input.len(), |r| r.min(input.len()));
        let chunk = input.get(..take).unwrap_or_default();
        match self.frame {
            OpCode::Control(_) => {
                let start = usize::from(self.control_len);
                let end = start + take;
                if let Some(dst) = self.control.as_mut().and_then(|b| b.get_mut(start..end)) {
                    mask::unmask_copy(dst, chunk, self.key);
                }
                // Control payloads are at most 125 bytes (checked in `begin_frame`).
                self.control_len = end as u8;
            }
            OpCode::Data(_) => {
                let start = self.message_len;
                let end = start + take;
                self.grow_message(take);
                if let Some(dst) = self.message.get_mut(start..end) {
                    mask::unmask_copy(dst, chunk, self.key);
                }
                self.message_len = end;
            }
        }
        self.key = mask::advance(self.key, take);
        self.remaining -= take as u64;
        take
    }

    /// Makes `message[message_len..][..additional]` exist. Capacity doubles as usual but never
    /// past the message limit, so a message just under the limit does not cost twice the limit;
    /// all of it is initialised at once, so the next messages of that size need no zeroing.
    fn grow_message(&mut self, additional: usize) {
        let needed = self.message_len.saturating_add(additional);
        if needed <= self.message.len() {
            return;
        }
        if needed > self.message.capacity() {
            let doubled = self.message.capacity().saturating_mul(2);
            let target = doubled.min(self.max_message_bytes).max(needed);
            self.message.reserve_exact(target - self.message.len());
        }
        self.message.resize(self.message.capacity(), 0);
    }

    /// For a text message, validates the bytes received since the last check.
    fn check_text(&mut self) -> Result<(), ProtocolError> {
        if self.open == Some(Data::Text) {
            let text = self.message.get(..self.message_len).unwrap_or_default();
            self.utf8_valid = utf8::validate_prefix(text, self.utf8_valid)
                .map_err(|()| ProtocolError::InvalidUtf8)?;
        }
        Ok(())
    }

    /// Drops the message that was returned, and its buffer too if a big message grew it.
    fn discard_message(&mut self) {
        if self.message.capacity() > KEEP_CAPACITY {
            self.message = Vec::new();
        }
        self.message_len = 0;
        self.utf8_valid = 0;
    }
}

/// How long the header starting with `header[..have]` is: 2 bytes until the second byte tells
/// the length encoding and whether a key follows.
fn header_size(header: &[u8; MAX_HEADER], have: usize) -> usize {
    if have < 2 {
        return 2;
    }
    let second = header[1];
    let extended = match second & 0x7F {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    let key = if second & 0x80 != 0 { 4 } else { 0 };
    2 + extended + key
}

/// A complete data message. Text is validated as a whole here, which both finishes the
/// incremental check (an unfinished last character is an error) and yields the `&str`.
fn message_item(kind: Data, payload: &[u8]) -> Result<Incoming<'_>, ProtocolError> {
    match kind {
        Data::Text => simdutf8::basic::from_utf8(payload)
            .map(Incoming::Text)
            .map_err(|_| ProtocolError::InvalidUtf8),
        _ => Ok(Incoming::Binary(payload)),
    }
}

fn control_item(kind: Control, payload: &[u8]) -> Result<Incoming<'_>, ProtocolError> {
    match kind {
        Control::Ping => Ok(Incoming::Ping(payload)),
        Control::Pong => Ok(Incoming::Pong(payload)),
        Control::Close => parse_close(payload).map(Incoming::Close),
        Control::Reserved(code) => Err(ProtocolError::ReservedOpcode(code)),
    }
}

/// A close payload: nothing, or a valid code and a UTF-8 reason (RFC 6455 §5.5.1).
fn parse_close(payload: &[u8]) -> Result<Option<CloseFrame<'_>>, ProtocolError> {
    match payload {
        [] => Ok(None),
        [_] => Err(ProtocolError::BadClose("one-byte payload")),
        [high, low, reason @ ..] => {
            let code = u16::from_be_bytes([*high, *low]);
            if !is_valid_close_code(code) {
                return Err(ProtocolError::BadClose("invalid close code"));
            }
            let reason = std::str::from_utf8(reason).map_err(|_| ProtocolError::InvalidUtf8)?;
            Ok(Some(CloseFrame { code, reason }))
        }
    }
}
