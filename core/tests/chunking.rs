//! Properties that must hold whatever the network does to the byte stream.

use std::time::Duration;

use gif_chat_core::testing::*;
use gif_chat_core::{Event, Lifecycle};
use proptest::prelude::*;

/// A scripted client stream: a page request, an upgrade, messages, a ping and a close.
fn script() -> Vec<u8> {
    let mut bytes = b"GET / HTTP/1.1\r\nHost: localhost:8005\r\n\r\n".to_vec();
    bytes.extend(b"GET /favicon.ico HTTP/1.1\r\nHost: localhost:8005\r\n\r\n");
    bytes.extend(upgrade_request("/", "").as_bytes());
    bytes.extend(text("클라이언트에서 서버로 답장을 보냅니다"));
    bytes.extend(client_frame(TEXT, "조각난 ".as_bytes()));
    bytes.extend(client_frame(FIN | PING, b"ping in the middle"));
    bytes.extend(client_frame(FIN | CONTINUATION, "메시지".as_bytes()));
    bytes.extend(client_frame(FIN | BINARY, &[0, 1, 2, 254, 255]));
    bytes.extend(close(1000));
    bytes
}

/// Feeds `bytes` split at `cuts`, returns everything written and logged.
fn run(bytes: &[u8], cuts: &[usize]) -> (Vec<u8>, Vec<Event>, Vec<Lifecycle>) {
    let mut peer = Driver::new(default_config());
    let mut start = 0;
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    points.sort_unstable();
    points.push(bytes.len());
    for end in points {
        if end > start {
            peer.send(&bytes[start..end]);
            start = end;
        }
    }
    peer.eof();
    (
        peer.written().to_vec(),
        peer.events().to_vec(),
        peer.lifecycles().to_vec(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn any_chunking_gives_the_same_bytes_and_events(cuts in proptest::collection::vec(any::<usize>(), 0..40)) {
        let bytes = script();
        let whole = run(&bytes, &[]);
        let chunked = run(&bytes, &cuts);
        prop_assert_eq!(&whole.0, &chunked.0);
        prop_assert_eq!(&whole.1, &chunked.1);
        // Only the end state is comparable: how many states an observer sees in between depends
        // on how often it looks.
        prop_assert_eq!(whole.2.last(), chunked.2.last());
    }

    #[test]
    fn one_byte_at_a_time_is_the_same_as_all_at_once(seed in any::<u8>()) {
        let mut bytes = script();
        // Vary the message a little so the cases differ.
        bytes.extend(text(&format!("{seed}")));
        let whole = run(&bytes, &[]);
        let cuts: Vec<usize> = (0..bytes.len()).collect();
        let dripped = run(&bytes, &cuts);
        prop_assert_eq!(whole.0, dripped.0);
        prop_assert_eq!(whole.1, dripped.1);
    }

    /// Arbitrary input, end of input and clock steps: the lifecycle never goes back, and once
    /// closed there is no deadline, no output and no reading.
    #[test]
    fn lifecycle_is_monotonic_under_arbitrary_input(
        steps in proptest::collection::vec((proptest::collection::vec(any::<u8>(), 0..64), 0u64..8000, any::<bool>()), 1..30),
        upgrade in any::<bool>(),
    ) {
        let mut peer = Driver::new(default_config());
        if upgrade {
            peer.send(upgrade_request("/echo", "").as_bytes());
        }
        for (bytes, millis, eof) in steps {
            let before = peer.lifecycle();
            peer.send(&bytes);
            peer.advance(Duration::from_millis(millis));
            if eof {
                peer.eof();
            }
            let after = peer.lifecycle();
            prop_assert!(after >= before, "{} -> {}", before, after);
            if after == Lifecycle::Closed {
                prop_assert!(peer.conn().poll_transmit().is_none());
                prop_assert_eq!(peer.conn().poll_timeout(), None);
                prop_assert!(!peer.conn().wants_input());
            } else {
                prop_assert!(peer.conn().poll_timeout().is_some(), "a live connection always has a deadline");
            }
        }
    }
}
