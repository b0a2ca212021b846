//! Inputs the fuzz targets in `fuzz/` (cargo-fuzz) found, kept as plain tests so that what they
//! exposed stays fixed without a nightly toolchain. Each test names its target, the artifact and
//! the decoded input, and drives the same calls the target made.

use std::time::Duration;

use gif_chat_core::testing::{default_config, upgrade_request, Driver};
use gif_chat_core::Lifecycle;

/// An empty pong, masked as a client must.
const PONG: &[u8] = b"\x8a\x80\x37\xfa\x21\x3d";

/// The liveness ping the server sends: an empty, final, unmasked ping frame.
const PING: &[u8] = b"\x89\x00";

/// A connection upgraded to the ticker on `/`, as the target's `InputUpgrade(1)` does.
fn ticker() -> Driver {
    let mut d = Driver::new(default_config());
    d.send(upgrade_request("/", "").as_bytes());
    assert!(d.take_text().starts_with("HTTP/1.1 101 "));
    assert_eq!(d.lifecycle(), Lifecycle::Open);
    d
}

fn holds_ping(written: &[u8]) -> bool {
    written.windows(PING.len()).any(|w| w == PING)
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
    let mut d = ticker();
    // One late `handle_timeout`; the driver checks that the next deadline is after it.
    d.advance_late(Duration::from_secs(136));
    // Whatever else is due now is handled too: nothing must be.
    d.advance_unread(Duration::ZERO);
    assert_eq!(
        d.lifecycle(),
        Lifecycle::Open,
        "dropped before the ping went out"
    );
    d.flush();
    let out = d.take_written();
    assert!(holds_ping(&out), "no liveness ping in {out:?}");

    // The peer answers right away: it is alive and must be kept.
    d.skip(Duration::from_millis(10));
    d.send(PONG);
    d.advance_unread(Duration::ZERO);
    assert_eq!(d.lifecycle(), Lifecycle::Open);
    d.advance_late(Duration::from_secs(29));
    d.advance_unread(Duration::ZERO);
    assert_eq!(
        d.lifecycle(),
        Lifecycle::Open,
        "dropped right after answering"
    );
}

/// The same stall, one ping interval plus a little late, is the case the core already handled:
/// the ping goes out and the deadline is a full interval ahead. Kept as the control for the test
/// above (it must keep passing whatever the fix).
#[test]
fn a_timeout_one_interval_late_pings_and_waits() {
    let mut d = ticker();
    d.advance_late(Duration::from_secs(45));
    d.flush();
    let out = d.take_written();
    assert!(holds_ping(&out), "{out:?}");
    d.skip(Duration::from_millis(10));
    d.send(PONG);
    d.advance_late(Duration::from_secs(10));
    d.advance_unread(Duration::ZERO);
    assert_eq!(d.lifecycle(), Lifecycle::Open);
}
