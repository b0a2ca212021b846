//! A whole connection driven by an arbitrary runtime-like script: input, the peer's FIN, time
//! passing (stepwise, or late as a stalled loop sees it), a server stop, partial writes (so
//! that backpressure engages) and I/O errors, in any order.
//!
//! The script honours the runtime contract where a real runtime would: it only reads while
//! `wants_input()` is true. Everything else may happen at any time. Besides the invariants of
//! [`Driver`], unsent output stays within the high-water mark plus what one input and one
//! response can add, and a connection left alone always ends: every wait has a deadline.
#![no_main]

use std::sync::Arc;
use std::time::Duration;

use arbitrary::Arbitrary;
use gif_chat_core::testing::{default_config, upgrade_request, ClientFrame, Driver};
use gif_chat_core::Lifecycle;
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Script {
    /// The connection's `high_water_mark`, small so that partial writes reach it.
    high_water_mark: u16,
    ops: Vec<Op>,
}

#[derive(Arbitrary, Debug)]
enum Op {
    /// Raw bytes from the peer.
    Input(Vec<u8>),
    /// One of [`UPGRADES`].
    InputUpgrade(u8),
    /// A masked frame from the peer; `first` is the FIN/RSV/opcode byte as sent.
    InputFrame {
        first: u8,
        payload: Vec<u8>,
    },
    Eof,
    Advance(u16),
    AdvanceSecs(u8),
    Shutdown,
    /// The socket takes at most this many bytes of the pending output.
    Written(u16),
    IoError,
}

/// Upgrade requests: accepted (`/echo`, the ticker on `/` and another path) and refused ones.
const UPGRADES: [&str; 7] = [
    "/echo",
    "/",
    "/room?x=1",
    "version",
    "origin",
    "key",
    "body",
];

fn upgrade(selector: u8) -> Vec<u8> {
    let which = UPGRADES[usize::from(selector) % UPGRADES.len()];
    let text = upgrade_request("/", "");
    match which {
        "version" => text.replace("Version: 13", "Version: 8").into_bytes(),
        "origin" => text
            .replace("\r\n\r\n", "\r\nOrigin: http://evil.example\r\n\r\n")
            .into_bytes(),
        "key" => text
            .replace("dGhlIHNhbXBsZSBub25jZQ==", "short")
            .into_bytes(),
        "body" => text
            .replace("\r\n\r\n", "\r\nContent-Length: 3\r\n\r\nabc")
            .into_bytes(),
        path => upgrade_request(path, "").into_bytes(),
    }
}

fuzz_target!(|script: Script| {
    let mut config = (*default_config()).clone();
    config.high_water_mark = usize::from(script.high_water_mark);
    let mut d = Driver::new(Arc::new(config));

    for op in script.ops {
        let closed = d.conn().is_closed();
        // A runtime reads only while the connection wants input; reading from a closed one must
        // be harmless all the same, and is checked by `Driver::input`.
        let may_read = d.conn().wants_input() || closed;
        match op {
            Op::Input(bytes) if may_read && !bytes.is_empty() => d.input(&bytes),
            Op::InputUpgrade(selector) if may_read => d.input(&upgrade(selector)),
            Op::InputFrame { first, payload } if may_read => {
                d.input(&ClientFrame::new(first, &payload).encode())
            }
            Op::Eof if d.conn().wants_input() => d.eof(),
            Op::Input(_) | Op::InputUpgrade(_) | Op::InputFrame { .. } | Op::Eof => {}
            Op::Advance(millis) => d.advance_unread(Duration::from_millis(millis.into())),
            Op::AdvanceSecs(secs) => d.advance_late(Duration::from_secs(secs.into())),
            Op::Shutdown => d.shutdown(),
            Op::Written(limit) => {
                d.write(limit.into());
            }
            Op::IoError => d.io_error(),
        }
        d.check_unsent_bound();
    }

    // Left alone, with nobody reading, every connection ends within its timeouts.
    d.advance_unread(Duration::from_secs(3600));
    assert_eq!(
        d.lifecycle(),
        Lifecycle::Closed,
        "a connection outlived every deadline"
    );
});
