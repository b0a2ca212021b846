//! A connection's state, as RFC 6455 and the browser's `readyState` name it (SPEC §2).

/// Where a connection is. It only ever moves forward (the derived order is the order of life).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Lifecycle {
    /// Serving plain HTTP requests (keep-alive) before any upgrade.
    Http,
    /// An upgrade request is being read and answered.
    Connecting,
    /// `101` sent: messages and ticks flow.
    Open,
    /// We sent our last bytes (a close frame, or a final HTTP response) and wait for the peer's
    /// close frame or FIN, at most the close timeout.
    Closing,
    /// Done: the socket is to be closed once the remaining output is written. No deadline, no
    /// new output.
    Closed,
}

impl Lifecycle {
    /// The name used in logs and docs (`OPEN`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Lifecycle::Http => "HTTP",
            Lifecycle::Connecting => "CONNECTING",
            Lifecycle::Open => "OPEN",
            Lifecycle::Closing => "CLOSING",
            Lifecycle::Closed => "CLOSED",
        }
    }
}

impl std::fmt::Display for Lifecycle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
