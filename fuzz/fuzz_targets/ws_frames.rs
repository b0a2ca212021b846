//! The fuzz input as the frame stream a client sends after a valid upgrade to `/echo`.
//!
//! Layout: one option byte, [`PLAN`] bytes of chunk sizes (see [`chunks`]), then the stream.
//!
//! Two variants run on every input:
//! - the decoder alone ([`MessageDecoder::decode`]) in the chunks, with a message limit and
//!   `release_memory` calls the option byte picks; it must consume no more than it is given,
//!   stop only when it needs more input, stay failed after an error, and give the same items as
//!   when it gets the stream in one piece;
//! - a whole [`Connection`](gif_chat_core::Connection) on `/echo`, whose output must be exactly
//!   the echo of those items (pong for ping, the close echoed, an error answered with its close
//!   code, nothing after), well-formed server frames, whatever the chunking.
#![no_main]

use gif_chat_core::internals::ws::{Incoming, MessageDecoder};
use gif_chat_core::testing::{
    chunks, default_config, parse_server_frames, switching_end, upgrade_request, Driver,
    ServerFrame,
};
use gif_chat_core::ProtocolError;
use gif_chat_core::{Event, Lifecycle};
use libfuzzer_sys::fuzz_target;

const PLAN: usize = 4;
/// The Connection's limit (`Config::new()`).
const DEFAULT_LIMIT: usize = 16 * 1024 * 1024;
/// Limits the option byte picks for the decoder alone: small ones reach 1009 with small inputs.
const LIMITS: [usize; 4] = [DEFAULT_LIMIT, 0, 16, 300];

/// An [`Incoming`] or an error, owned so that decodings can be compared.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    Text(String),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Close(Option<u16>, String),
    Error(ProtocolError),
}

fuzz_target!(|data: &[u8]| {
    let (options, rest) = data.split_at(1.min(data.len()));
    let options = options.first().copied().unwrap_or(0);
    let (plan, stream) = rest.split_at(PLAN.min(rest.len()));
    let pieces = chunks(plan, stream);

    // The decoder alone.
    let limit = LIMITS[usize::from(options & 3)];
    let release = options & 4 != 0;
    let chunked = decode_all(limit, &pieces, release);
    let whole = decode_all(limit, &[stream], false);
    assert_eq!(chunked, whole, "decoded items depend on the chunking");

    // The connection, against the decoder as its model.
    let items = if limit == DEFAULT_LIMIT {
        whole
    } else {
        decode_all(DEFAULT_LIMIT, &[stream], false)
    };
    let chunked = echo(&pieces);
    let whole = echo(&[stream]);
    assert_eq!(chunked.0, whole.0, "echoed frames depend on the chunking");
    assert_eq!(
        chunked.1.events(),
        whole.1.events(),
        "events depend on the chunking"
    );
    assert_eq!(
        chunked.0,
        expected_frames(&items),
        "the echo is not the model's"
    );
    let ended = items
        .iter()
        .any(|i| matches!(i, Item::Close(..) | Item::Error(_)));
    for (_, d) in [chunked, whole] {
        check_end(d, ended);
    }
});

/// Decodes `pieces` in order, checking the decoder's contract on every call.
fn decode_all(limit: usize, pieces: &[&[u8]], release: bool) -> Vec<Item> {
    let mut decoder = MessageDecoder::new(limit);
    let mut items = Vec::new();
    let mut failed = false;
    for piece in pieces {
        let mut rest = *piece;
        while !rest.is_empty() {
            let (n, item) = decoder.decode(rest);
            assert!(n <= rest.len(), "consumed {n} of {}", rest.len());
            if failed {
                assert!(n == 0 && item.is_none(), "decoding went on after an error");
                break;
            }
            match item {
                None => assert_eq!(n, rest.len(), "stopped without an item or needing more"),
                Some(Ok(incoming)) => {
                    assert!(n > 0, "an item from no input: the caller would loop");
                    items.push(own(incoming, limit));
                }
                Some(Err(error)) => {
                    items.push(Item::Error(error));
                    failed = true;
                }
            }
            rest = &rest[n..];
            if release {
                decoder.release_memory();
            }
        }
    }
    if failed {
        // Final, even for a valid frame (an empty masked ping).
        let (n, item) = decoder.decode(&[0x89, 0x80, 0, 0, 0, 0]);
        assert!(n == 0 && item.is_none(), "decoding went on after an error");
    }
    items
}

fn own(incoming: Incoming<'_>, limit: usize) -> Item {
    match incoming {
        Incoming::Text(text) => {
            assert!(text.len() <= limit, "a message over the limit");
            Item::Text(text.to_owned())
        }
        Incoming::Binary(bytes) => {
            assert!(bytes.len() <= limit, "a message over the limit");
            Item::Binary(bytes.to_vec())
        }
        Incoming::Ping(payload) => {
            assert!(payload.len() <= 125, "control payload over 125");
            Item::Ping(payload.to_vec())
        }
        Incoming::Pong(payload) => {
            assert!(payload.len() <= 125, "control payload over 125");
            Item::Pong(payload.to_vec())
        }
        Incoming::Close(None) => Item::Close(None, String::new()),
        Incoming::Close(Some(frame)) => {
            assert!(
                gif_chat_core::internals::ws::is_valid_close_code(frame.code),
                "close code {} accepted",
                frame.code
            );
            assert!(frame.reason.len() <= 123, "close reason over 123 bytes");
            Item::Close(Some(frame.code), frame.reason.to_owned())
        }
    }
}

/// What `/echo` answers to `items`: every message echoed, pings ponged, pongs ignored, and the
/// first close or error answered with a close frame, after which nothing more is said.
fn expected_frames(items: &[Item]) -> Vec<ServerFrame> {
    let frame = |opcode: u8, payload: &[u8]| ServerFrame {
        first: 0x80 | opcode,
        payload: payload.to_vec(),
    };
    let mut frames = Vec::new();
    for item in items {
        match item {
            Item::Text(text) => frames.push(frame(1, text.as_bytes())),
            Item::Binary(bytes) => frames.push(frame(2, bytes)),
            Item::Ping(payload) => frames.push(frame(10, payload)),
            Item::Pong(_) => {}
            Item::Close(code, _) => {
                let payload = code.map(u16::to_be_bytes);
                frames.push(frame(8, payload.as_ref().map_or(&[][..], |p| &p[..])));
                break;
            }
            Item::Error(error) => {
                frames.push(frame(8, &error.close_code().to_be_bytes()));
                break;
            }
        }
    }
    frames
}

/// Upgrades to `/echo`, feeds `pieces` writing everything after each, and returns the frames
/// written after the 101.
fn echo(pieces: &[&[u8]]) -> (Vec<ServerFrame>, Driver) {
    let mut d = Driver::new(default_config());
    d.input(upgrade_request("/echo", "").as_bytes());
    d.flush();
    assert_eq!(
        d.lifecycle(),
        Lifecycle::Open,
        "the upgrade to /echo failed"
    );
    let start = switching_end(d.written(), 0).expect("a 101 response");
    assert_eq!(
        start,
        d.written().len(),
        "output after the 101 before any frame"
    );
    for piece in pieces.iter().filter(|p| !p.is_empty()) {
        if !d.conn().wants_input() {
            break;
        }
        d.input(piece);
        d.flush();
        let out = d.written().len() - start;
        assert!(
            out <= d.total_input() - start_input() + 4,
            "{out} bytes of frames for {} in",
            d.total_input() - start_input()
        );
    }
    let frames = parse_server_frames(&d.written()[start..]);
    (frames, d)
}

/// Bytes of the upgrade request itself, not part of the frame stream.
fn start_input() -> usize {
    upgrade_request("/echo", "").len()
}

/// After a close or an error the connection is closing or closed; a hang-up then closes it, and
/// a WebSocket's end is logged once.
fn check_end(mut d: Driver, ended: bool) {
    if ended {
        assert!(
            d.lifecycle() >= Lifecycle::Closing,
            "still {} after a close",
            d.lifecycle()
        );
    } else {
        assert_eq!(d.lifecycle(), Lifecycle::Open);
    }
    if !d.eof_delivered() {
        d.eof();
    }
    d.flush();
    assert_eq!(d.lifecycle(), Lifecycle::Closed);
    let disconnects = d
        .events()
        .iter()
        .filter(|e| matches!(e, Event::Disconnected { .. }))
        .count();
    assert_eq!(disconnects, 1);
}
