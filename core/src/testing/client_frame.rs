//! The one encoder of client frames: masked and minimal as a browser sends them, or bent the ways
//! a hostile or broken client bends them (unmasked, over-long lengths, a declared length that
//! lies, any first byte).

/// The FIN bit of a frame's first byte.
pub const FIN: u8 = 0x80;
/// Opcodes (RFC 6455 §5.2).
pub const CONTINUATION: u8 = 0x0;
pub const TEXT: u8 = 0x1;
pub const BINARY: u8 = 0x2;
pub const CLOSE: u8 = 0x8;
pub const PING: u8 = 0x9;
pub const PONG: u8 = 0xA;

/// The masking key of every frame unless told otherwise; any key would do.
pub const MASK_KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// How a frame spells its payload length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Length {
    /// The shortest encoding, as a correct client sends it.
    Minimal,
    /// Always the 16-bit form (over-long for short payloads).
    U16,
    /// Always the 64-bit form.
    U64,
}

/// A client frame to encode.
#[derive(Debug, Clone, Copy)]
pub struct ClientFrame<'a> {
    /// FIN, RSV and opcode, as sent.
    pub first: u8,
    pub payload: &'a [u8],
    /// `None`: unmasked (a protocol error from a client).
    pub mask: Option<[u8; 4]>,
    pub length: Length,
    /// The length the header declares, if not the payload's (a lying header).
    pub declared: Option<u64>,
}

impl<'a> ClientFrame<'a> {
    /// A frame as a browser sends it: masked with [`MASK_KEY`], minimal length.
    pub fn new(first: u8, payload: &'a [u8]) -> Self {
        ClientFrame {
            first,
            payload,
            mask: Some(MASK_KEY),
            length: Length::Minimal,
            declared: None,
        }
    }

    /// Masked with `key`, or not at all.
    pub fn mask(self, mask: Option<[u8; 4]>) -> Self {
        ClientFrame { mask, ..self }
    }

    /// Not masked.
    pub fn unmasked(self) -> Self {
        self.mask(None)
    }

    /// The length spelled as `length` says.
    pub fn length(self, length: Length) -> Self {
        ClientFrame { length, ..self }
    }

    /// A header declaring `len` bytes whatever the payload.
    pub fn declared(self, len: u64) -> Self {
        ClientFrame {
            declared: Some(len),
            ..self
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(14 + self.payload.len());
        self.encode_into(&mut out);
        out
    }

    pub fn encode_into(&self, out: &mut Vec<u8>) {
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        let n = self
            .declared
            .unwrap_or(u64::try_from(self.payload.len()).unwrap_or(u64::MAX));
        out.push(self.first);
        match (self.length, u8::try_from(n), u16::try_from(n)) {
            (Length::Minimal, Ok(short @ 0..=125), _) => out.push(mask_bit | short),
            (Length::Minimal | Length::U16, _, Ok(medium)) => {
                out.push(mask_bit | 126);
                out.extend_from_slice(&medium.to_be_bytes());
            }
            _ => {
                out.push(mask_bit | 127);
                out.extend_from_slice(&n.to_be_bytes());
            }
        }
        match self.mask {
            Some(key) => {
                out.extend_from_slice(&key);
                out.extend(
                    self.payload
                        .iter()
                        .zip(key.iter().cycle())
                        .map(|(b, k)| b ^ k),
                );
            }
            None => out.extend_from_slice(self.payload),
        }
    }
}

/// A frame as a browser sends it: `first` is FIN|RSV|opcode.
pub fn client_frame(first: u8, payload: &[u8]) -> Vec<u8> {
    ClientFrame::new(first, payload).encode()
}

/// A final text frame.
pub fn text(message: &str) -> Vec<u8> {
    client_frame(FIN | TEXT, message.as_bytes())
}

/// A final binary frame.
pub fn binary(message: &[u8]) -> Vec<u8> {
    client_frame(FIN | BINARY, message)
}

/// A close frame with `code` and no reason.
pub fn close(code: u16) -> Vec<u8> {
    client_frame(FIN | CLOSE, &code.to_be_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6455_masked_hello() {
        // RFC 6455 §5.7: "A single-frame masked text message".
        let frame = ClientFrame::new(FIN | TEXT, b"Hello")
            .mask(Some([0x37, 0xfa, 0x21, 0x3d]))
            .encode();
        assert_eq!(
            frame,
            [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]
        );
    }

    #[test]
    fn lengths_as_asked() {
        let unmasked = |length| {
            ClientFrame::new(FIN | BINARY, &[7; 3])
                .unmasked()
                .length(length)
                .encode()
        };
        assert_eq!(unmasked(Length::Minimal), [0x82, 3, 7, 7, 7]);
        assert_eq!(unmasked(Length::U16), [0x82, 126, 0, 3, 7, 7, 7]);
        assert_eq!(
            unmasked(Length::U64),
            [0x82, 127, 0, 0, 0, 0, 0, 0, 0, 3, 7, 7, 7]
        );
        assert_eq!(client_frame(FIN | BINARY, &[0; 126])[1], 0x80 | 126);
        assert_eq!(client_frame(FIN | BINARY, &[0; 0x10000])[1], 0x80 | 127);
        let lying = ClientFrame::new(FIN | BINARY, &[])
            .declared(1 << 40)
            .encode();
        assert_eq!(lying.len(), 14);
    }
}
