//! Connection-level properties under any interleaving a runtime can produce, on a virtual clock:
//! the client's bytes in any chunking, time passing (handled on time or late), a socket that
//! takes everything, part of it or nothing, the peer's FIN and a server stop, in any order.
//!
//! The [`Driver`] checks the runtime contract after every step; on top of it:
//! - no byte goes out once the connection is closed (counted, whatever is tried after);
//! - after the peer's FIN or a stop, the connection is closed within the close timeout, even
//!   if the peer never reads another byte;
//! - unsent output stays within the high-water mark plus what one read and one response add;
//! - the bytes written and the lines logged do not depend on how the input was chunked or how
//!   much each write took.

use std::time::{Duration, Instant};

use gif_chat_core::testing::*;
use gif_chat_core::{Config, Lifecycle};
use proptest::collection::vec;
use proptest::prelude::*;

// ---- what a client sends ----

fn http_request() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(&b"GET / HTTP/1.1\r\nHost: localhost:8005\r\n\r\n"[..]),
        Just(&b"GET /favicon.ico HTTP/1.1\r\nHost: x\r\n\r\n"[..]),
        Just(&b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"[..]),
        Just(&b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n"[..]),
        Just(&b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"[..]),
        Just(
            &b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
                [..]
        ),
        Just(&b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"[..]),
        Just(&b"GARBAGE\r\n\r\n"[..]),
    ]
    .prop_map(<[u8]>::to_vec)
}

fn ws_frame() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => "\\PC{0,24}".prop_map(|s| text(&s)),
        2 => vec(any::<u8>(), 0..40).prop_map(|b| binary(&b)),
        1 => vec(any::<u8>(), 0..20).prop_map(|p| client_frame(FIN | PING, &p)),
        1 => Just(client_frame(FIN | PONG, b"")),
        1 => Just(close(1000)),
        1 => ("\\PC{1,16}", any::<prop::sample::Index>()).prop_map(|(s, at)| {
            // A text message in two fragments, cut anywhere (a character may straddle them).
            let bytes = s.as_bytes();
            let (first, second) = bytes.split_at(at.index(bytes.len() + 1));
            let mut out = client_frame(TEXT, first);
            out.extend(client_frame(FIN | CONTINUATION, second));
            out
        }),
        1 => Just(ClientFrame::new(FIN | TEXT, b"unmasked").unmasked().encode()),
        1 => vec(any::<u8>(), 0..16),
    ]
}

/// A client's whole stream: some requests, then maybe an upgrade and frames.
fn client_stream() -> impl Strategy<Value = Vec<u8>> {
    (
        vec(http_request(), 0..4),
        prop::option::of((prop_oneof![Just("/"), Just("/echo")], vec(ws_frame(), 0..8))),
    )
        .prop_map(|(requests, websocket)| {
            let mut out = requests.concat();
            if let Some((path, frames)) = websocket {
                out.extend(upgrade_request(path, "").into_bytes());
                out.extend(frames.concat());
            }
            out
        })
}

/// `Config::new()` with a high-water mark small enough for the streams above to reach.
fn config_with_high_water_mark(high_water_mark: usize) -> Config {
    let mut config = (*default_config()).clone();
    config.high_water_mark = high_water_mark;
    config
}

// ---- any interleaving ----

/// One thing the runtime around the connection does.
#[derive(Debug, Clone)]
enum Op {
    /// Reads the next bytes of the stream (at most this many), if the connection wants input.
    Read(usize),
    /// The socket takes at most this many bytes.
    Write(usize),
    /// The socket takes everything.
    Flush,
    /// Time passes, every deadline handled on time; the peer reads nothing meanwhile.
    Wait(u64),
    /// The loop stalls for this many seconds and handles the deadline once, late.
    Stall(u64),
    /// The peer's FIN (read only while the connection wants input).
    Eof,
    /// The server stops.
    Stop,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (1usize..200).prop_map(Op::Read),
        3 => (0usize..300).prop_map(Op::Write),
        1 => Just(Op::Flush),
        2 => (0u64..10_000).prop_map(Op::Wait),
        1 => (0u64..120).prop_map(Op::Stall),
        1 => Just(Op::Eof),
        1 => Just(Op::Stop),
    ]
}

/// Runs `ops` over `stream`, checking the properties after every step and at the end.
fn interleave(stream: &[u8], ops: &[Op], high_water_mark: usize) -> Result<(), TestCaseError> {
    let mut d = Driver::new(config_with_high_water_mark(high_water_mark));
    let close_timeout = d.config().close_timeout;
    let mut read = 0;
    // When the peer's FIN or the stop first came.
    let mut ended_at: Option<Instant> = None;
    // How much was written when the connection was first seen closed.
    let mut written_at_close: Option<usize> = None;
    for op in ops {
        match *op {
            Op::Read(n) => {
                if d.conn().wants_input() && read < stream.len() {
                    let end = (read + n).min(stream.len());
                    d.input(&stream[read..end]);
                    read = end;
                }
            }
            Op::Write(n) => {
                d.write(n);
            }
            Op::Flush => d.flush(),
            Op::Wait(millis) => d.advance_unread(Duration::from_millis(millis)),
            Op::Stall(secs) => d.advance_late(Duration::from_secs(secs)),
            Op::Eof => {
                if d.conn().wants_input() {
                    d.eof();
                    ended_at.get_or_insert(d.now());
                }
            }
            Op::Stop => {
                d.shutdown();
                ended_at.get_or_insert(d.now());
            }
        }
        d.check_unsent_bound();
        if d.lifecycle() == Lifecycle::Closed {
            written_at_close.get_or_insert(d.written().len());
        }
        if let Some(at) = ended_at {
            if d.now() >= at + close_timeout {
                prop_assert_eq!(
                    d.lifecycle(),
                    Lifecycle::Closed,
                    "open {:?} after the FIN or stop",
                    d.now() - at
                );
            }
        }
    }

    // Nothing ended it yet: the server stops. Then the peer reads nothing at all.
    let at = *ended_at.get_or_insert_with(|| {
        d.shutdown();
        d.now()
    });
    d.advance_unread((at + close_timeout).saturating_duration_since(d.now()));
    prop_assert_eq!(
        d.lifecycle(),
        Lifecycle::Closed,
        "not closed within the close timeout after the FIN or stop"
    );
    let closed_with = *written_at_close.get_or_insert(d.written().len());

    // Closed is final: what a confused runtime still does gets no byte out.
    d.input(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    d.flush();
    d.advance_late(Duration::from_secs(3600));
    d.flush();
    prop_assert_eq!(d.written().len(), closed_with, "bytes out after Closed");
    prop_assert_eq!(d.written_after_closed(), 0);
    Ok(())
}

// ---- any chunking ----

/// One beat of a conversation: bytes that arrive together, then time that passes.
#[derive(Debug, Clone)]
struct Beat {
    /// Where the beat's bytes end in the stream (a fraction of it).
    end: prop::sample::Index,
    /// Milliseconds after the beat (deadlines handled on time, output written).
    wait: u64,
}

/// How the chunked run receives a beat: cut at these fractions, the socket taking at most
/// `writes[i]` bytes after chunk `i`.
#[derive(Debug, Clone)]
struct Chunking {
    cuts: Vec<prop::sample::Index>,
    writes: Vec<usize>,
}

/// How a conversation ends.
#[derive(Debug, Clone, Copy)]
enum End {
    Eof,
    Stop,
}

/// Plays `stream` in `beats`, each beat delivered whole or as `chunking` says, and returns what
/// was written and logged.
fn converse(
    stream: &[u8],
    beats: &[Beat],
    chunking: Option<&Chunking>,
    end: End,
) -> (Vec<u8>, Vec<String>) {
    let mut d = Driver::new(default_config());
    let mut ends: Vec<usize> = beats
        .iter()
        .map(|b| b.end.index(stream.len() + 1))
        .collect();
    ends.sort_unstable();
    ends.push(stream.len());
    let mut start = 0;
    for (i, &beat_end) in ends.iter().enumerate() {
        let beat = &stream[start..beat_end.max(start)];
        match chunking {
            None => {
                if d.conn().wants_input() && !beat.is_empty() {
                    d.input(beat);
                }
            }
            Some(chunking) => {
                let mut cuts: Vec<usize> = chunking
                    .cuts
                    .iter()
                    .map(|c| c.index(beat.len() + 1))
                    .collect();
                cuts.sort_unstable();
                cuts.push(beat.len());
                let mut from = 0;
                for (j, &cut) in cuts.iter().enumerate() {
                    if cut > from && d.conn().wants_input() {
                        d.input(&beat[from..cut]);
                        from = cut;
                    }
                    let limit = chunking.writes.get(j).copied().unwrap_or(0);
                    d.write(limit);
                }
            }
        }
        d.flush();
        start = beat_end.max(start);
        if let Some(beat) = beats.get(i) {
            d.advance(Duration::from_millis(beat.wait));
        }
    }
    match end {
        End::Eof if d.conn().wants_input() => d.eof(),
        End::Eof => {}
        End::Stop => d.shutdown(),
    }
    d.flush();
    d.advance(d.config().close_timeout);
    (d.written().to_vec(), d.log_lines())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn any_interleaving_keeps_the_contract(
        stream in client_stream(),
        ops in vec(op(), 0..60),
        high_water_mark in prop_oneof![Just(64usize), Just(1024), Just(1 << 20)],
    ) {
        interleave(&stream, &ops, high_water_mark)?;
    }

    #[test]
    fn any_chunking_and_partial_writes_give_the_same_bytes_and_log(
        stream in client_stream(),
        beats in vec(
            (any::<prop::sample::Index>(), 0u64..12_000).prop_map(|(end, wait)| Beat { end, wait }),
            0..4,
        ),
        chunking in (vec(any::<prop::sample::Index>(), 0..12), vec(0usize..200, 0..13))
            .prop_map(|(cuts, writes)| Chunking { cuts, writes }),
        end in prop_oneof![Just(End::Eof), Just(End::Stop)],
    ) {
        let whole = converse(&stream, &beats, None, end);
        let chunked = converse(&stream, &beats, Some(&chunking), end);
        prop_assert_eq!(
            String::from_utf8_lossy(&whole.0),
            String::from_utf8_lossy(&chunked.0)
        );
        prop_assert_eq!(whole.0, chunked.0);
        prop_assert_eq!(whole.1, chunked.1);
    }
}
