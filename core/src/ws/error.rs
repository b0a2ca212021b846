//! Why the server fails a WebSocket connection, and with which close code (SPEC §4).

/// A violation by the peer; each maps to the close code the server answers with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    #[error("client frame is not masked")]
    UnmaskedFrame,
    #[error("reserved bits set")]
    ReservedBits,
    #[error("reserved opcode {0}")]
    ReservedOpcode(u8),
    #[error("fragmented control frame")]
    FragmentedControl,
    #[error("64-bit payload length with the most significant bit set")]
    InvalidLength,
    #[error("control frame payload over 125 bytes")]
    ControlTooLong,
    #[error("continuation frame without a message to continue")]
    UnexpectedContinuation,
    #[error("new data frame before the previous message ended")]
    ExpectedContinuation,
    #[error("invalid close frame: {0}")]
    BadClose(&'static str),
    #[error("invalid UTF-8 in text")]
    InvalidUtf8,
    #[error("message over {limit} bytes")]
    MessageTooBig { limit: usize },
}

impl ProtocolError {
    /// The close code sent for this error: 1002, 1007 or 1009.
    pub fn close_code(&self) -> u16 {
        match self {
            ProtocolError::InvalidUtf8 => 1007,
            ProtocolError::MessageTooBig { .. } => 1009,
            _ => 1002,
        }
    }
}
