//! The fuzz input as the bytes a client sends on a fresh connection, before any upgrade.
//!
//! Layout: the first [`PLAN`] bytes choose the chunk sizes the stream arrives in (see
//! [`chunks`]), the rest is the stream. The stream is fed twice, in those chunks and in one
//! piece, and both conversations must be byte-for-byte the same: TCP segmentation is not the
//! client's to choose, so it must never change an answer. The parser is also called directly,
//! with the default limits and with tiny ones the plan picks.
#![no_main]

use gif_chat_core::internals::http::{accept_upgrade, parse_request, route};
use gif_chat_core::testing::{chunks, default_config, parse_server_frames, switching_end, Driver};
use std::sync::Arc;

use gif_chat_core::chat::SessionIds;
use gif_chat_core::{AppEnv, HttpLimits, Lifecycle, OriginPolicy};
use libfuzzer_sys::fuzz_target;

const PLAN: usize = 4;

/// Most output one conversation may produce for `input` bytes. The largest answer is a static
/// file or page of about 1.5 KiB for a request line of 16 bytes (`GET / HTTP/1.1\n\n`); an error
/// page quotes the target HTML-escaped (up to 6 bytes per byte); upgraded, an echo is never
/// longer than the frame it answers. A loop answering one request twice blows the bound.
fn output_bound(input: usize) -> usize {
    4096 + 128 * input
}

fuzz_target!(|data: &[u8]| {
    let (plan, stream) = data.split_at(PLAN.min(data.len()));
    check_parser(plan, stream);

    let chunked = converse(&chunks(plan, stream));
    let whole = converse(&[stream]);
    assert!(
        chunked.written() == whole.written(),
        "output depends on the chunking:\n{:?}\nvs\n{:?}",
        String::from_utf8_lossy(chunked.written()),
        String::from_utf8_lossy(whole.written()),
    );
    assert_eq!(
        chunked.events(),
        whole.events(),
        "events depend on the chunking"
    );
});

/// Feeds `pieces` one after the other, writing everything after each, then ends the input.
fn converse(pieces: &[&[u8]]) -> Driver {
    // A fresh session-id generator per conversation: a visitor without a cookie gets the next
    // id, so two conversations on one shared generator would differ by their `Set-Cookie`.
    let mut config = (*default_config()).clone();
    config.session_ids = SessionIds::new([7; 32]);
    let mut d = Driver::new(Arc::new(config));
    // Where the output of the piece that upgraded the connection begins.
    let mut upgraded_at = None;
    for piece in pieces.iter().filter(|p| !p.is_empty()) {
        let before = d.written().len();
        let http = !d.was_open();
        d.input(piece);
        d.flush();
        if http && d.was_open() {
            upgraded_at = Some(before);
        }
        let new = &d.written()[before..];
        if http && !new.is_empty() {
            // Output is drained after every piece, so new output in the HTTP phase starts a
            // response (the 101 included).
            assert!(
                new.starts_with(b"HTTP/1.1 "),
                "HTTP output does not start with a status line: {:?}",
                String::from_utf8_lossy(&new[..new.len().min(64)])
            );
        }
        assert!(
            d.written().len() <= output_bound(d.total_input()),
            "{} bytes out for {} in",
            d.written().len(),
            d.total_input()
        );
    }
    if let Some(from) = upgraded_at {
        let end = switching_end(d.written(), from).expect("a WebSocket starts with a 101");
        parse_server_frames(&d.written()[end..]);
    }
    // The client hangs up: with everything written, nothing is left to wait for.
    d.eof();
    d.flush();
    assert_eq!(
        d.lifecycle(),
        Lifecycle::Closed,
        "still open after EOF and flush"
    );
    let written = d.written().len();
    d.advance_late(std::time::Duration::from_secs(3600));
    d.input(b"GET / HTTP/1.1\r\n\r\n");
    d.flush();
    assert_eq!(d.written().len(), written, "output after Closed");
    assert_eq!(d.written_after_closed(), 0);
    d
}

fn check_parser(plan: &[u8], stream: &[u8]) {
    let tiny = HttpLimits {
        max_header_bytes: usize::from(plan.get(1).copied().unwrap_or(0)) * 4,
        max_headers: usize::from(plan.get(2).copied().unwrap_or(0) % 8),
    };
    for limits in [HttpLimits::default(), tiny] {
        match parse_request(stream, &limits) {
            Ok(Some((head, n))) => {
                assert!(n <= stream.len(), "head of {n} bytes in {}", stream.len());
                assert!(
                    n <= limits.max_header_bytes,
                    "head of {n} bytes over the limit"
                );
                // The head is all in its own bytes, and any shorter prefix is incomplete: a
                // request cut anywhere by TCP must not be refused.
                assert_eq!(
                    parse_request(&stream[..n], &limits),
                    Ok(Some((head.clone(), n)))
                );
                let cut = n * usize::from(plan.first().copied().unwrap_or(0)) / 256;
                assert_eq!(
                    parse_request(&stream[..cut], &limits),
                    Ok(None),
                    "a prefix of {cut} of a {n}-byte head is not just incomplete"
                );
                let _ = (head.path(), head.keep_alive(), head.is_head());
                let config = default_config();
                for env in [AppEnv::Development, AppEnv::Production] {
                    let response = route(&head, &config.site, env);
                    let mut out = Vec::new();
                    response.write_to(&mut out, head.is_head(), None);
                    assert!(out.starts_with(b"HTTP/1.1 "));
                }
                if head.is_upgrade() {
                    let answer = accept_upgrade(&head, &OriginPolicy::default());
                    if let Ok(switching) = answer {
                        assert!(switching.starts_with(b"HTTP/1.1 101 "));
                    }
                }
            }
            Ok(None) => assert!(
                stream.len() <= limits.max_header_bytes,
                "{} bytes without a head end are still awaited",
                stream.len()
            ),
            Err(error) => assert!(matches!(error.status(), 400 | 413 | 431)),
        }
    }
}
