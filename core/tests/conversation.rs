//! Whole conversations with a [`Connection`], in memory, on a virtual clock: the seed's
//! behaviour (SPEC §1), what we add (§3) and what hostile input gets (§4). The [`Driver`] checks
//! the runtime contract after every step of each.

use std::time::Duration;

use gif_chat_core::testing::*;
use gif_chat_core::{Config, ConnectionError, Endpoint, Event, Lifecycle, TICK_MESSAGE};

fn config() -> Config {
    Config::new()
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

const REPLY: &str = "클라이언트에서 서버로 답장을 보냅니다";

fn ticks(frames: &[ServerFrame]) -> usize {
    frames
        .iter()
        .filter(|f| f.opcode() == TEXT && f.text() == TICK_MESSAGE)
        .count()
}

#[test]
fn the_seed_conversation_ticks_at_3_6_9_seconds_and_logs_replies() {
    let mut peer = Driver::new(config());
    peer.upgrade("/");
    assert_eq!(
        peer.take_events(),
        vec![Event::Connected {
            ip: "::1".parse().unwrap(),
            endpoint: Endpoint::Ticker
        }]
    );
    for second in [3, 6, 9] {
        peer.advance(secs(3) - Duration::from_millis(1));
        assert!(peer.take_frames().is_empty(), "no tick before {second} s");
        peer.advance(Duration::from_millis(1));
        assert_eq!(peer.elapsed(), secs(second));
        let frames = peer.take_frames();
        assert_eq!(ticks(&frames), 1, "one tick at {second} s");
        peer.send(&text(REPLY));
        assert_eq!(peer.take_events(), vec![Event::Text(REPLY.to_owned())]);
    }
    let line = Event::Text(REPLY.to_owned()).log_line(false);
    assert_eq!(line.text, REPLY);
}

#[test]
fn two_connections_keep_their_own_phase() {
    let mut a = Driver::new(config());
    a.upgrade("/");
    let mut b = Driver::new(config());
    b.skip(Duration::from_millis(1500));
    b.upgrade("/");
    a.advance(secs(3));
    b.advance(secs(3) - Duration::from_millis(1500));
    assert_eq!(ticks(&a.take_frames()), 1);
    assert!(
        b.take_frames().is_empty(),
        "b opened 1.5 s later and is not due yet"
    );
    b.advance(Duration::from_millis(1500));
    assert_eq!(ticks(&b.take_frames()), 1);
}

#[test]
fn a_stall_sends_one_tick_not_a_burst() {
    let mut peer = Driver::new(config());
    peer.upgrade("/");
    // Jump 10 s at once, as a suspended process would see it.
    peer.advance_late(secs(10));
    peer.flush();
    assert_eq!(ticks(&peer.take_frames()), 1);
    assert_eq!(peer.conn().poll_timeout(), Some(t0() + secs(12)));
}

#[test]
fn echo_answers_every_message_and_never_ticks() {
    let mut peer = Driver::new(config());
    peer.upgrade("/echo");
    peer.send(&text("hello"));
    peer.send(&client_frame(FIN | BINARY, &[1, 2, 3]));
    let frames = peer.take_frames();
    assert_eq!(
        frames[0],
        ServerFrame {
            first: FIN | TEXT,
            payload: b"hello".to_vec()
        }
    );
    assert_eq!(
        frames[1],
        ServerFrame {
            first: FIN | BINARY,
            payload: vec![1, 2, 3]
        }
    );
    peer.advance(secs(9));
    assert_eq!(ticks(&peer.take_frames()), 0);
    // Messages on /echo are not logged.
    assert!(peer
        .take_events()
        .iter()
        .all(|e| !matches!(e, Event::Text(_) | Event::Binary(_))));
}

#[test]
fn binary_messages_are_logged_like_node_buffers() {
    let mut peer = Driver::new(config());
    peer.upgrade("/");
    peer.take_events();
    peer.send(&client_frame(FIN | BINARY, &[1, 2]));
    let events = peer.take_events();
    assert_eq!(events, vec![Event::Binary(vec![1, 2])]);
    assert_eq!(events[0].log_line(false).text, "<Buffer 01 02>");
}

#[test]
fn ping_gets_pong_with_the_same_payload() {
    let mut peer = Driver::new(config());
    peer.upgrade("/");
    peer.send(&client_frame(FIN | PING, b"are you there"));
    assert_eq!(
        peer.take_frames(),
        vec![ServerFrame {
            first: FIN | PONG,
            payload: b"are you there".to_vec()
        }]
    );
}

#[test]
fn client_close_is_echoed_then_closed_and_logged() {
    let mut peer = Driver::new(config());
    peer.upgrade("/");
    peer.take_events();
    peer.send(&close(1000));
    let frames = peer.take_frames();
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].close_code(), Some(1000));
    assert!(peer.fin_sent());
    assert_eq!(peer.lifecycle(), Lifecycle::Closed);
    let events = peer.take_events();
    assert_eq!(
        events,
        vec![Event::Disconnected {
            ip: "::1".parse().unwrap(),
            endpoint: Endpoint::Ticker
        }]
    );
    assert_eq!(events[0].log_line(false).text, "클라이언트 접속 해제 ::1");
    assert_eq!(peer.conn().poll_timeout(), None);
}

/// Found by `interleavings`: bytes after the peer's close frame were dropped when they came in
/// the same read, but decoded (and a protocol error logged) when they came in a later one.
#[test]
fn bytes_after_the_close_frame_are_never_read_whatever_the_chunking() {
    for split in [false, true] {
        let mut peer = Driver::new(config());
        peer.upgrade("/");
        let mut stream = close(1000);
        let garbage = client_frame(FIN | 5, b"");
        let first = if split {
            stream.len()
        } else {
            stream.len() + garbage.len()
        };
        stream.extend(&garbage);
        peer.input(&stream[..first]);
        peer.input(&stream[first..]);
        peer.flush();
        assert_eq!(peer.lifecycle(), Lifecycle::Closed);
        assert!(
            !peer
                .events()
                .iter()
                .any(|e| matches!(e, Event::Error { .. })),
            "split {split}: {:?}",
            peer.events()
        );
    }
}

#[test]
fn server_stop_sends_1001_and_waits_for_the_client_close() {
    let mut peer = Driver::new(config());
    peer.upgrade("/");
    peer.shutdown();
    peer.flush();
    let frames = peer.take_frames();
    assert_eq!(frames[0].close_code(), Some(1001));
    assert_eq!(peer.lifecycle(), Lifecycle::Closing);
    peer.advance(secs(3));
    assert_eq!(ticks(&peer.take_frames()), 0, "no tick while closing");
    peer.send(&close(1001));
    assert_eq!(peer.lifecycle(), Lifecycle::Closed);
    assert!(peer.take_frames().is_empty(), "no second close frame");
}

#[test]
fn close_timeout_drops_a_peer_that_never_answers() {
    let mut peer = Driver::new(config());
    peer.upgrade("/");
    peer.shutdown();
    peer.flush();
    peer.advance(secs(5) - Duration::from_millis(1));
    assert_eq!(peer.lifecycle(), Lifecycle::Closing);
    peer.advance(Duration::from_millis(1));
    assert_eq!(peer.lifecycle(), Lifecycle::Closed);
    assert!(peer.take_events().iter().any(|e| matches!(
        e,
        Event::Error {
            error: ConnectionError::CloseTimeout(_),
            ..
        }
    )));
}

#[test]
fn silence_is_pinged_after_30_s_and_dropped_after_30_more() {
    let mut peer = Driver::new(config());
    peer.upgrade("/echo");
    peer.advance(secs(30));
    assert_eq!(
        peer.take_frames(),
        vec![ServerFrame {
            first: FIN | PING,
            payload: vec![]
        }]
    );
    peer.advance(secs(29));
    assert_eq!(peer.lifecycle(), Lifecycle::Open);
    peer.advance(secs(1));
    assert_eq!(peer.lifecycle(), Lifecycle::Closed);
}

#[test]
fn an_answer_to_the_ping_keeps_the_connection() {
    let mut peer = Driver::new(config());
    peer.upgrade("/echo");
    peer.advance(secs(30));
    peer.take_frames();
    peer.send(&client_frame(FIN | PONG, b""));
    peer.advance(secs(59));
    assert_eq!(peer.lifecycle(), Lifecycle::Open);
}

#[test]
fn the_page_is_served_with_an_etag_and_304_on_a_match() {
    let mut peer = Driver::new(config());
    peer.send(b"GET / HTTP/1.1\r\nHost: localhost:8005\r\n\r\n");
    let response = peer.take_text();
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    assert!(response.contains("text/html; charset=utf-8"));
    assert!(response.contains("<title>GIF 채팅방</title>"));
    assert!(response.contains("Keep-Alive: timeout=5"));
    let etag = response
        .lines()
        .find_map(|l| {
            l.strip_prefix("ETag: ")
                .or_else(|| l.strip_prefix("etag: "))
        })
        .expect("an ETag")
        .to_owned();
    let events = peer.take_events();
    let Event::Request(access) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(
        (
            access.method.as_str(),
            access.target.as_str(),
            access.status
        ),
        ("GET", "/", 200)
    );
    peer.send(
        format!("GET / HTTP/1.1\r\nHost: localhost:8005\r\nIf-None-Match: {etag}\r\n\r\n")
            .as_bytes(),
    );
    let response = peer.take_text();
    assert!(
        response.starts_with("HTTP/1.1 304 Not Modified\r\n"),
        "{response}"
    );
    let line = peer.take_events()[0].log_line(false).text;
    assert!(
        line.starts_with("GET / 304 ") && line.ends_with(" ms - -"),
        "{line}"
    );
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let mut peer = Driver::new(config());
    peer.send(b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\nGET /favicon.ico HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n");
    let response = peer.take_text();
    let statuses: Vec<&str> = response
        .match_indices("HTTP/1.1 ")
        .map(|(i, _)| &response[i + 9..i + 12])
        .collect();
    assert_eq!(statuses, ["404", "200", "200"]);
    assert_eq!(peer.take_events().len(), 3);
    assert_eq!(peer.lifecycle(), Lifecycle::Http);
}

#[test]
fn bodies_are_consumed_so_keep_alive_stays_in_step() {
    let mut peer = Driver::new(config());
    peer.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\nHost: x\r\n\r\n");
    let response = peer.take_text();
    assert!(response.starts_with("HTTP/1.1 404"), "{response}");
    assert!(response.contains("HTTP/1.1 200 OK"), "{response}");
    peer.send(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n");
    let response = peer.take_text();
    assert!(response.contains("HTTP/1.1 200 OK"), "{response}");
}

#[test]
fn a_body_over_100_kib_gets_413_and_a_close() {
    let mut peer = Driver::new(config());
    peer.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 200000\r\n\r\n");
    assert!(peer.take_text().starts_with("HTTP/1.1 413"));
    assert!(peer.fin_sent());
    assert_eq!(peer.lifecycle(), Lifecycle::Closing);
    peer.eof();
    assert_eq!(peer.lifecycle(), Lifecycle::Closed);
}

#[test]
fn keep_alive_idles_out_after_5_s() {
    let mut peer = Driver::new(config());
    peer.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    peer.advance(secs(5) - Duration::from_millis(1));
    assert_eq!(peer.lifecycle(), Lifecycle::Http);
    peer.advance(Duration::from_millis(1));
    assert_eq!(peer.lifecycle(), Lifecycle::Closed);
}

#[test]
fn not_found_is_an_escaped_error_page() {
    let mut peer = Driver::new(config());
    peer.send(b"GET /<script>alert(1)</script> HTTP/1.1\r\nHost: x\r\n\r\n");
    let response = peer.take_text();
    assert!(response.starts_with("HTTP/1.1 404"), "{response}");
    assert!(response.contains("Not Found"));
    assert!(!response.contains("<script>alert"), "{response}");
    assert!(!response.to_ascii_lowercase().contains("set-cookie"));
}

#[test]
fn path_traversal_never_escapes_public() {
    for target in [
        "/../Cargo.toml",
        "/%2e%2e/Cargo.toml",
        "/..%2fCargo.toml",
        "/%2e%2e%2fetc/passwd",
        "/favicon.ico%00",
        "/public/../favicon.ico/..",
    ] {
        let mut peer = Driver::new(config());
        peer.send(format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes());
        let response = peer.take_text();
        assert!(
            response.starts_with("HTTP/1.1 404") || response.starts_with("HTTP/1.1 400"),
            "{target}: {response}"
        );
    }
}

// ---- SPEC §4: hostile input ----

fn assert_http_refused(request: &[u8], status: &str) -> Driver {
    let mut peer = Driver::new(config());
    peer.send(request);
    let response = peer.take_text();
    assert!(
        response.starts_with(&format!("HTTP/1.1 {status}")),
        "wanted {status}: {response}"
    );
    assert!(peer.fin_sent(), "closed after {status}");
    peer
}

#[test]
fn malformed_requests_get_400_then_close() {
    assert_http_refused(b"GARBAGE\r\n\r\n", "400");
    assert_http_refused(b"GET / HTTP/1.1\r\nBad Header\r\n\r\n", "400");
}

#[test]
fn oversized_or_too_many_headers_get_431() {
    let mut big = b"GET / HTTP/1.1\r\nX: ".to_vec();
    big.extend(std::iter::repeat_n(b'a', 17 * 1024));
    assert_http_refused(&big, "431");
    let mut many = String::from("GET / HTTP/1.1\r\n");
    for i in 0..101 {
        many.push_str(&format!("X-{i}: y\r\n"));
    }
    many.push_str("\r\n");
    assert_http_refused(many.as_bytes(), "431");
}

#[test]
fn slowloris_headers_are_cut_after_10_s() {
    let mut peer = Driver::new(config());
    peer.send(b"GET / HTTP/1.1\r\n");
    for _ in 0..9 {
        peer.advance(secs(1));
        peer.send(b"X");
    }
    assert_eq!(peer.lifecycle(), Lifecycle::Http);
    peer.advance(secs(1));
    assert_eq!(peer.lifecycle(), Lifecycle::Closed);
    assert!(peer.take_events().iter().any(|e| matches!(
        e,
        Event::Error {
            error: ConnectionError::HeaderTimeout(_),
            ..
        }
    )));
}

#[test]
fn bad_upgrades_get_400_426_and_403() {
    let no_key = "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n";
    assert_http_refused(no_key.as_bytes(), "400");
    let bad_key = upgrade_request("/", "").replace(KEY, "short");
    assert_http_refused(bad_key.as_bytes(), "400");
    let post = upgrade_request("/", "").replacen("GET", "POST", 1);
    assert_http_refused(post.as_bytes(), "400");
    let http10 = upgrade_request("/", "").replacen("HTTP/1.1", "HTTP/1.0", 1);
    assert_http_refused(http10.as_bytes(), "400");
    let v8 = upgrade_request("/", "").replace("Version: 13", "Version: 8");
    let mut peer = Driver::new(config());
    peer.send(v8.as_bytes());
    let response = peer.take_text();
    assert!(response.starts_with("HTTP/1.1 426"), "{response}");
    assert!(response.contains("Sec-WebSocket-Version: 13"), "{response}");
    let cross = upgrade_request("/", "Origin: https://evil.example\r\n");
    assert_http_refused(cross.as_bytes(), "403");
    let same = upgrade_request("/", "Origin: http://localhost:8005\r\n");
    let mut peer = Driver::new(config());
    peer.send(same.as_bytes());
    assert!(peer.take_text().starts_with("HTTP/1.1 101"));
}

/// Sends `frames` on an open connection and checks the close code the server answers with.
fn assert_closed_with(frames: &[u8], code: u16) {
    let mut peer = Driver::new(config());
    peer.upgrade("/echo");
    peer.send(frames);
    let frames = peer.take_frames();
    let last = frames.last().expect("a close frame");
    assert_eq!(last.close_code(), Some(code), "{frames:?}");
    assert_eq!(peer.lifecycle(), Lifecycle::Closing);
    assert!(peer.events().iter().any(|e| matches!(
        e,
        Event::Error {
            error: ConnectionError::Protocol(_),
            ..
        }
    )));
    // The server still closes cleanly once the client answers.
    peer.send(&close(code));
    peer.eof();
    assert_eq!(peer.lifecycle(), Lifecycle::Closed);
}

#[test]
fn frame_violations_close_with_1002() {
    assert_closed_with(
        &ClientFrame::new(FIN | TEXT, b"hi").unmasked().encode(),
        1002,
    ); // unmasked
    assert_closed_with(&client_frame(FIN | 0x40 | TEXT, b"hi"), 1002); // RSV1
    assert_closed_with(&client_frame(FIN | 3, b""), 1002); // reserved opcode
    assert_closed_with(&client_frame(PING, b""), 1002); // fragmented ping
    assert_closed_with(&client_frame(FIN | PING, &[0; 126]), 1002); // control too long
    assert_closed_with(&close(1005), 1002); // bad close code
    assert_closed_with(&client_frame(FIN | CONTINUATION, b"x"), 1002); // continuation of nothing
}

#[test]
fn invalid_utf8_closes_with_1007_even_across_fragments() {
    assert_closed_with(&client_frame(FIN | TEXT, &[0xff]), 1007);
    let euro = "€".as_bytes();
    let mut frames = client_frame(TEXT, &euro[..2]);
    frames.extend(client_frame(FIN | CONTINUATION, b"x"));
    assert_closed_with(&frames, 1007);
}

#[test]
fn a_split_character_across_fragments_is_fine() {
    let mut peer = Driver::new(config());
    peer.upgrade("/");
    peer.take_events();
    let euro = "a€b".as_bytes();
    peer.send(&client_frame(TEXT, &euro[..2]));
    peer.send(&client_frame(FIN | CONTINUATION, &euro[2..]));
    assert_eq!(peer.take_events(), vec![Event::Text("a€b".to_owned())]);
}

#[test]
fn a_message_over_the_limit_closes_with_1009() {
    let mut config = config();
    config.max_message_bytes = 1000;
    let mut peer = Driver::new(config);
    peer.upgrade("/echo");
    peer.send(&client_frame(FIN | BINARY, &[0; 1001]));
    assert_eq!(
        peer.take_frames().last().and_then(ServerFrame::close_code),
        Some(1009)
    );
}

#[test]
fn output_above_the_high_water_mark_stops_reading() {
    let mut config = config();
    config.high_water_mark = 10_000;
    let mut peer = Driver::new(config);
    peer.upgrade("/echo");
    // Feed without draining: the peer is not reading.
    for _ in 0..20 {
        peer.input(&client_frame(FIN | BINARY, &[7; 1000]));
    }
    assert!(!peer.conn().wants_input());
    peer.flush();
    assert!(peer.conn().wants_input());
}

#[test]
fn lifecycle_only_moves_forward_and_closed_is_final() {
    let mut peer = Driver::new(config());
    peer.upgrade("/");
    peer.advance(secs(3));
    peer.send(&close(1000));
    peer.eof();
    // The driver looks after every call: between the close frame and the write of its echo the
    // connection is Closing.
    assert_eq!(
        peer.lifecycles(),
        [
            Lifecycle::Http,
            Lifecycle::Open,
            Lifecycle::Closing,
            Lifecycle::Closed
        ]
    );
    peer.send(&text("late"));
    peer.advance(secs(100));
    assert!(peer.conn().poll_transmit().is_none());
    assert_eq!(peer.conn().poll_timeout(), None);
    assert!(!peer.conn().wants_input());
}

#[test]
fn trusted_proxy_header_sets_the_logged_ip_and_untrusted_is_ignored() {
    let xff = "X-Forwarded-For: 203.0.113.7\r\n";
    let mut behind_proxy = Driver::with_peer(config(), "127.0.0.1:4000".parse().unwrap());
    behind_proxy.send(upgrade_request("/", xff).as_bytes());
    assert!(
        matches!(behind_proxy.take_events()[0], Event::Connected { ip, .. } if ip.to_string() == "203.0.113.7")
    );
    let mut direct = Driver::with_peer(config(), "198.51.100.1:4000".parse().unwrap());
    direct.send(upgrade_request("/", xff).as_bytes());
    assert!(
        matches!(direct.take_events()[0], Event::Connected { ip, .. } if ip.to_string() == "198.51.100.1")
    );
}

#[test]
fn stop_closes_http_after_queued_output_and_drops_half_requests() {
    let mut idle = Driver::new(config());
    idle.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    idle.shutdown();
    idle.flush();
    assert_eq!(idle.lifecycle(), Lifecycle::Closed);
    let mut half = Driver::new(config());
    half.send(b"GET / HTTP/1.1\r\nHo");
    half.shutdown();
    half.flush();
    assert_eq!(half.lifecycle(), Lifecycle::Closed);
    assert!(half.take_text().is_empty());
}

#[test]
fn a_connection_is_small() {
    // Tens of thousands of idle connections are the normal case: every byte here counts.
    let size = std::mem::size_of::<gif_chat_core::Connection>();
    assert!(size <= 344, "Connection is {size} bytes");
}
