//! Inputs the fuzz targets in `fuzz/` (cargo-fuzz) found, kept as plain tests so that what they
//! exposed stays fixed without a nightly toolchain. Each test names its target, the artifact and
//! the decoded input, and drives the same calls the target made.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gif_chat_core::{Config, Connection, Lifecycle};

/// The `InputUpgrade(1)` of the `connection` target: an accepted upgrade to the ticker on `/`.
const UPGRADE_TICKER: &[u8] = b"GET / HTTP/1.1\r\nHost: localhost:8005\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

/// An empty pong, masked as a client must.
const PONG: &[u8] = b"\x8a\x80\x37\xfa\x21\x3d";

/// The liveness ping the server sends: an empty, final, unmasked ping frame.
const PING: &[u8] = b"\x89\x00";

fn connection(t0: Instant) -> Connection {
    let peer = SocketAddr::from(([127, 0, 0, 1], 50000));
    Connection::new(Arc::new(Config::new()), peer, t0)
}

/// Writes everything the connection has to say, as a fast socket would.
fn flush(conn: &mut Connection, now: Instant) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(bytes) = conn.poll_transmit() {
        let n = bytes.len();
        out.extend_from_slice(bytes);
        conn.handle_written(now, n);
    }
    while conn.poll_event().is_some() {}
    out
}

/// Handles every deadline already due at `now`, as a runtime loop does after waking up late;
/// returns how many calls that took.
fn fire_due(conn: &mut Connection, now: Instant) -> usize {
    let mut calls = 0;
    while conn.poll_timeout().is_some_and(|deadline| deadline <= now) && calls < 100 {
        conn.handle_timeout(now);
        calls += 1;
    }
    calls
}

/// `connection` target, artifact `crash-b7457472c514cbf28c7bb1de4a1d589c0613e797`
/// (bytes `ffff011dc7711c018989c8719c88`), decoded:
/// `Script { high_water_mark: 65535, ops: [InputUpgrade(1), AdvanceSecs(136)] }`.
///
/// The panic was the target's invariant "deadline 60s not after the handled instant 136s
/// (OPEN)": a WebSocket whose first `handle_timeout` comes at least two ping intervals after it
/// last heard from the peer (the loop stalled: a suspended process, an overloaded host) queues
/// the liveness ping, but `poll_timeout` then returns `last_heard + 2 * ping_interval`, already
/// past. The runtime calls again at once, and that call drops the connection for a ping timeout
/// (discarding the unsent ping): the peer never gets the ping interval B2 promises to answer it.
#[test]
fn a_late_timeout_still_gives_the_peer_a_ping_interval_to_answer() {
    let t0 = Instant::now();
    let mut conn = connection(t0);
    conn.handle_input(t0, UPGRADE_TICKER);
    let switching = flush(&mut conn, t0);
    assert!(switching.starts_with(b"HTTP/1.1 101 "), "{switching:?}");
    assert_eq!(conn.lifecycle(), Lifecycle::Open);

    let late = t0 + Duration::from_secs(136);
    conn.handle_timeout(late);
    let deadline = conn
        .poll_timeout()
        .expect("an open connection has a deadline");
    assert!(
        deadline > late,
        "after handling {late:?}, the next deadline is {:?}: already due",
        deadline - t0,
        late = late - t0,
    );
    assert_eq!(fire_due(&mut conn, late), 0);
    assert_eq!(
        conn.lifecycle(),
        Lifecycle::Open,
        "dropped before the ping went out"
    );
    let out = flush(&mut conn, late);
    assert!(
        out.windows(PING.len()).any(|w| w == PING),
        "no liveness ping in {out:?}"
    );

    // The peer answers right away: it is alive and must be kept.
    let answered = late + Duration::from_millis(10);
    conn.handle_input(answered, PONG);
    fire_due(&mut conn, answered);
    assert_eq!(conn.lifecycle(), Lifecycle::Open);
    let later = answered + Duration::from_secs(29);
    fire_due(&mut conn, later);
    assert_eq!(
        conn.lifecycle(),
        Lifecycle::Open,
        "dropped right after answering"
    );
}

/// The same stall, one ping interval plus a little late, is the case the core already handled:
/// the ping goes out and the deadline is a full interval ahead. Kept as the control for the test
/// above (it must keep passing whatever the fix).
#[test]
fn a_timeout_one_interval_late_pings_and_waits() {
    let t0 = Instant::now();
    let mut conn = connection(t0);
    conn.handle_input(t0, UPGRADE_TICKER);
    flush(&mut conn, t0);
    let late = t0 + Duration::from_secs(45);
    conn.handle_timeout(late);
    let deadline = conn
        .poll_timeout()
        .expect("an open connection has a deadline");
    assert!(deadline > late);
    let out = flush(&mut conn, late);
    assert!(out.windows(PING.len()).any(|w| w == PING), "{out:?}");
    conn.handle_input(late + Duration::from_millis(10), PONG);
    fire_due(&mut conn, late + Duration::from_secs(10));
    assert_eq!(conn.lifecycle(), Lifecycle::Open);
}
