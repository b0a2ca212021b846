//! core/BEHAVIOUR.md's behaviours, each checked against every runtime from the outside: HTTP
//! over raw TCP, WebSockets through async-tungstenite, the server's own log lines and exit
//! status.

use std::time::{Duration, Instant};

use async_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use async_tungstenite::tungstenite::Message;
use gif_chat_tests::http::{self, ResponseReader};
use gif_chat_tests::ws::{self, RawWs, TickWatcher, OP_BINARY, OP_CLOSE, OP_TEXT, SAMPLE_KEY};
use gif_chat_tests::{runtime_matrix, spec, Runtime, Server, ServerBuilder, Signal, EARLY, WAIT};
use tokio::io::AsyncWriteExt;

/// Short ticks keep the suite fast; all tick assertions are relative to this.
const TICK_MS: u64 = 200;
const TICK: Duration = Duration::from_millis(TICK_MS);
/// A tick may come this much later on a loaded two-core machine.
const LATE: Duration = Duration::from_millis(300);

async fn ticking_server(runtime: Runtime) -> Server {
    Server::start(runtime, &[("TICK_INTERVAL_MS", &TICK_MS.to_string())]).await
}

/// Checks that tick number `k` (1-based) of a connection opened just after `opened` was read at
/// `elapsed` after `opened`. Measured from the open, not between ticks: a tick read late (the
/// test was busy elsewhere) would otherwise make the next gap look short.
#[track_caller]
fn assert_tick_at(what: &str, k: u32, elapsed: Duration) {
    let due = TICK * k;
    assert!(
        elapsed + EARLY >= due && elapsed <= due + LATE,
        "{what}: tick {k} read {elapsed:?} after the open, expected {due:?} (-{EARLY:?}/+{LATE:?})"
    );
}

/// A server plus a well-behaved client on `/` whose ticks show the server still serves others.
async fn hostile_setup(runtime: Runtime, env: &[(&str, &str)]) -> (Server, TickWatcher) {
    let tick = TICK_MS.to_string();
    let mut server = ServerBuilder::new(runtime)
        .env("TICK_INTERVAL_MS", &tick)
        .envs(env)
        .start()
        .await;
    let watcher = TickWatcher::connect(server.port()).await;
    server
        .expect_exact(&spec::connected("127.0.0.1"), WAIT)
        .await;
    (server, watcher)
}

/// After an attack: the watching client still gets its next tick, and a new client its page.
async fn assert_still_serving(server: &mut Server, watcher: &mut TickWatcher) {
    watcher.tick_after(Instant::now(), WAIT).await;
    let page = http::get(server.port(), "/", &[]).await;
    assert_eq!(page.status, 200, "GET / after the attack");
    assert!(server.is_running(), "the server exited");
}

/// An upgrade request for `/` with exactly these WebSocket headers after `Upgrade` and
/// `Connection`, for the cases that break them ([`ws::upgrade_request`] sends them right).
fn broken_upgrade(port: u16, headers: &[(&str, &str)]) -> Vec<u8> {
    let mut all = vec![("Upgrade", "websocket"), ("Connection", "Upgrade")];
    all.extend_from_slice(headers);
    http::get_request(port, "/", &all)
}

/// A raw WebSocket sends `frame`; the server must answer with a close frame carrying `code`,
/// report the error on stderr, and end the connection once we answer the close.
async fn expect_protocol_close(server: &mut Server, frame: Vec<u8>, code: u16) {
    let mut raw = RawWs::handshake(server.port(), "/").await;
    server
        .expect_exact(&spec::connected("127.0.0.1"), WAIT)
        .await;
    raw.write(&frame).await;
    let close = raw.expect_close(WAIT).await;
    assert_eq!(close.close_code(), Some(code), "close frame {close:?}");
    let marker = format!("(close {code})");
    let error = server
        .expect_stderr_line(|l| l.starts_with("Error: ") && l.contains(&marker), WAIT)
        .await;
    assert!(error.ends_with("[127.0.0.1]"), "error line {error:?}");
    raw.send_frame(true, OP_CLOSE, &code.to_be_bytes(), true)
        .await;
    raw.expect_eof(WAIT).await;
    server
        .expect_exact(&spec::disconnected("127.0.0.1"), WAIT)
        .await;
}

runtime_matrix! {
    /// S1: the start line names the real port, and that port serves.
    async fn prints_the_start_line(runtime: Runtime) {
        let mut server = Server::start(runtime, &[]).await;
        let port = server.port();
        assert_eq!(
            server.lines_so_far().first(),
            Some(&format!("{port} 번 포트에서 대기 중"))
        );
        assert_eq!(http::get(port, "/", &[]).await.status, 200);
    }

    /// S1, S14: `.env` in the working directory is read, the environment wins over it, and
    /// `COOKIE_SECRET` from it silences the start-up warning.
    async fn reads_dotenv_under_the_environment(runtime: Runtime) {
        // HOST in .env is invalid: the server only starts if the environment's HOST wins.
        let mut server = ServerBuilder::new(runtime)
            .dotenv("HOST=not-an-address\nCOOKIE_SECRET=gifchat\nTICK_INTERVAL_MS=150\n")
            .start()
            .await;
        let mut client = ws::connect(server.port(), "/").await;
        let first = ws::expect_tick(&mut client, WAIT).await;
        let second = ws::expect_tick(&mut client, WAIT).await;
        let gap = second - first;
        assert!(
            gap < Duration::from_millis(150) + LATE,
            "TICK_INTERVAL_MS from .env ignored: {gap:?} between ticks"
        );
        drop(client);
        server.signal(Signal::SIGTERM);
        server.wait_exit(WAIT).await;
        let warnings: Vec<String> = server
            .stderr_so_far()
            .into_iter()
            .filter(|l| l.contains("COOKIE_SECRET"))
            .collect();
        assert!(warnings.is_empty(), "warned despite .env: {warnings:?}");
    }

    /// S14: a missing COOKIE_SECRET is a warning on stderr, not a crash.
    async fn warns_without_cookie_secret(runtime: Runtime) {
        let mut server = Server::start(runtime, &[]).await;
        server
            .expect_stderr_line(|l| l.starts_with("Warning:") && l.contains("COOKIE_SECRET"), WAIT)
            .await;
        assert_eq!(http::get(server.port(), "/", &[]).await.status, 200);
    }

    /// S2, S4, S14: the page, its access line (3-decimal time, body length), and no cookie.
    async fn serves_the_page(runtime: Runtime) {
        let mut server = Server::start(runtime, &[]).await;
        let page = http::get(server.port(), "/", &[]).await;
        assert_eq!(page.status, 200);
        assert_eq!(page.header("content-type"), Some("text/html; charset=utf-8"));
        let body = page.body_text();
        assert!(body.contains(&format!("<title>{}</title>", spec::PAGE_TITLE)), "{body}");
        assert!(body.contains(spec::PAGE_HINT), "{body}");
        assert!(body.contains("location"), "the page must connect to its own host: {body}");
        assert_eq!(page.header("set-cookie"), None);
        assert!(page.header("etag").is_some(), "S13: GET / carries an ETag");
        let length = server.expect_access("GET", "/", 200).await;
        assert_eq!(length, page.body.len().to_string());
    }

    /// S13: the page's ETag in If-None-Match gives 304 and `GET / 304 … ms - -`.
    async fn page_etag_gives_304(runtime: Runtime) {
        let mut server = Server::start(runtime, &[]).await;
        let port = server.port();
        let page = http::get(port, "/", &[]).await;
        let etag = page.header("etag").expect("GET / carries an ETag").to_owned();
        server.expect_access("GET", "/", 200).await;
        let again = http::get(port, "/", &[("If-None-Match", &etag)]).await;
        assert_eq!(again.status, 304);
        assert!(again.body.is_empty());
        assert_eq!(server.expect_access("GET", "/", 304).await, "-");
    }

    /// S12: the favicon is shipped (no favicon error as in the seed).
    async fn serves_the_favicon(runtime: Runtime) {
        let mut server = Server::start(runtime, &[]).await;
        let icon = http::get(server.port(), "/favicon.ico", &[]).await;
        assert_eq!(icon.status, 200);
        assert!(
            matches!(
                icon.header("content-type"),
                Some("image/x-icon" | "image/vnd.microsoft.icon")
            ),
            "Content-Type {:?}",
            icon.header("content-type")
        );
        assert!(icon.body.starts_with(&[0, 0, 1, 0]), "not an ICO file");
        let length = server.expect_access("GET", "/favicon.ico", 200).await;
        assert_eq!(length, icon.body.len().to_string());
    }

    /// S11: any other path is a 404 page saying Not Found, with the status in development.
    async fn unknown_path_is_404(runtime: Runtime) {
        let mut server = Server::start(runtime, &[]).await;
        let page = http::get(server.port(), "/nope", &[]).await;
        assert_eq!(page.status, 404);
        assert!(page.header("content-type").is_some_and(|t| t.starts_with("text/html")));
        let body = page.body_text();
        assert!(body.contains("Not Found"), "{body}");
        assert!(body.contains("404"), "development mode shows the status: {body}");
        let length = server.expect_access("GET", "/nope", 404).await;
        assert_eq!(length, page.body.len().to_string());
    }

    /// S12: no path escapes `public/`.
    async fn no_path_escapes_public(runtime: Runtime) {
        let server = Server::start(runtime, &[]).await;
        for path in ["/../Cargo.toml", "/%2e%2e/Cargo.toml", "/..%2fCargo.toml", "/favicon.ico%00"] {
            let response = http::get(server.port(), path, &[]).await;
            assert!(
                matches!(response.status, 400 | 403 | 404),
                "{path}: {}",
                response.status
            );
        }
    }

    /// S5, S6, S7, S9: connect line, ticks at the interval, replies printed, disconnect line.
    async fn websocket_ticks_and_replies(runtime: Runtime) {
        let mut server = ticking_server(runtime).await;
        // Taken before connecting, so the server's own open instant (the tick phase) is later.
        let opened = Instant::now();
        let mut client = ws::connect(server.port(), "/").await;
        server.expect_exact(&spec::connected("127.0.0.1"), WAIT).await;
        let first = ws::expect_tick(&mut client, WAIT).await;
        assert_tick_at("first tick", 1, first - opened);
        ws::send(&mut client, Message::text(spec::REPLY)).await;
        server.expect_exact(spec::REPLY, WAIT).await;
        let second = ws::expect_tick(&mut client, WAIT).await;
        assert!(second > first);
        assert!(second - opened + EARLY >= TICK * 2, "second tick early: {:?}", second - opened);
        ws::send(&mut client, Message::text(spec::REPLY)).await;
        server.expect_exact(spec::REPLY, WAIT).await;
        ws::close(client).await;
        server.expect_exact(&spec::disconnected("127.0.0.1"), WAIT).await;
    }

    /// S7: any text is printed as is, on its own line.
    async fn text_messages_print_as_is(runtime: Runtime) {
        let mut server = ticking_server(runtime).await;
        let mut client = ws::connect(server.port(), "/").await;
        for text in ["안녕하세요", "<b>not html</b> & more", "emoji 🎉"] {
            ws::send(&mut client, Message::text(text)).await;
            server.expect_exact(text, WAIT).await;
        }
    }

    /// S7: a binary message prints like a Node Buffer.
    async fn binary_prints_as_buffer(runtime: Runtime) {
        let mut server = ticking_server(runtime).await;
        let mut client = ws::connect(server.port(), "/").await;
        ws::send(&mut client, Message::binary(vec![1u8, 2, 3])).await;
        server.expect_exact("<Buffer 01 02 03>", WAIT).await;
    }

    /// S6, S10: two clients each get their own ticks; closing one leaves the other ticking.
    async fn clients_tick_independently(runtime: Runtime) {
        let mut server = ticking_server(runtime).await;
        let opened = Instant::now();
        let mut first = ws::connect(server.port(), "/").await;
        server.expect_exact(&spec::connected("127.0.0.1"), WAIT).await;
        let mut second = TickWatcher::connect(server.port()).await;
        server.expect_exact(&spec::connected("127.0.0.1"), WAIT).await;
        // The first client gets one tick per interval, not one per client.
        let a = ws::expect_tick(&mut first, WAIT).await;
        let b = ws::expect_tick(&mut first, WAIT).await;
        let c = ws::expect_tick(&mut first, WAIT).await;
        assert_tick_at("first client", 1, a - opened);
        assert!(b - opened + EARLY >= TICK * 2, "first client, tick 2 early: {:?}", b - opened);
        assert!(c - opened + EARLY >= TICK * 3, "first client, tick 3 early: {:?}", c - opened);
        let seen = second.tick_after(a, WAIT).await;
        ws::close(first).await;
        server.expect_exact(&spec::disconnected("127.0.0.1"), WAIT).await;
        let closed = Instant::now();
        let next = second.tick_after(closed.max(seen), WAIT).await;
        let after = second.tick_after(next, WAIT).await;
        assert!(after > next, "the second client keeps ticking after the first closed");
    }

    /// B1: /echo echoes text and binary and gets no ticks.
    async fn echo_endpoint_echoes_without_ticks(runtime: Runtime) {
        let mut server = ticking_server(runtime).await;
        let mut echo = ws::connect(server.port(), "/echo").await;
        ws::send(&mut echo, Message::text("메아리 hello")).await;
        assert_eq!(ws::next_message(&mut echo, WAIT).await, Message::text("메아리 hello"));
        let bytes = vec![0u8, 1, 2, 254, 255];
        ws::send(&mut echo, Message::binary(bytes.clone())).await;
        assert_eq!(ws::next_message(&mut echo, WAIT).await, Message::binary(bytes));
        // Let three intervals pass, as seen by a ticking client, then ask once more: a tick
        // sent to /echo meanwhile would arrive before the echo.
        let start = Instant::now();
        let mut clock = TickWatcher::connect(server.port()).await;
        let mut at = start;
        for _ in 0..3 {
            at = clock.tick_after(at, WAIT).await;
        }
        assert!(at - start >= 3 * TICK, "three ticks in {:?}", at - start);
        ws::send(&mut echo, Message::text("after three intervals")).await;
        assert_eq!(
            ws::next_message(&mut echo, WAIT).await,
            Message::text("after three intervals"),
            "/echo must not tick"
        );
        ws::close(echo).await;
        let lines = server.lines_so_far();
        assert!(
            !lines.iter().any(|l| l == "메아리 hello" || l == "after three intervals"),
            "echoed messages are not printed: {lines:?}"
        );
    }

    /// B4: SIGTERM sends 1001 to open clients, prints the stop lines, exits 0 well within the
    /// shutdown timeout.
    async fn sigterm_stops_gracefully(runtime: Runtime) {
        let mut server = ticking_server(runtime).await;
        let mut client = ws::connect(server.port(), "/").await;
        server.expect_exact(&spec::connected("127.0.0.1"), WAIT).await;
        let signalled = Instant::now();
        server.signal(Signal::SIGTERM);
        let code = ws::expect_close(&mut client, WAIT).await;
        assert_eq!(code, Some(CloseCode::Away));
        // Reading on lets the library answer the close frame; then the server ends the stream.
        let ended = tokio::time::timeout(WAIT, async {
            while let Some(Ok(_)) = futures_util::StreamExt::next(&mut client).await {}
        })
        .await;
        assert!(ended.is_ok(), "the server did not end the connection");
        let prefix = spec::stopping_prefix(1);
        server.expect_line(|l| l.starts_with(&prefix), WAIT).await;
        server.expect_exact(&spec::disconnected("127.0.0.1"), WAIT).await;
        server.expect_exact(spec::STOPPED, WAIT).await;
        let status = server.wait_exit(WAIT).await;
        assert!(status.success(), "exit status {status}");
        assert!(signalled.elapsed() < Duration::from_secs(5), "took {:?}", signalled.elapsed());
    }

    /// B4: SIGINT does the same with nothing open.
    async fn sigint_stops_an_idle_server(runtime: Runtime) {
        let mut server = Server::start(runtime, &[]).await;
        server.signal(Signal::SIGINT);
        let prefix = spec::stopping_prefix(0);
        server.expect_line(|l| l.starts_with(&prefix), WAIT).await;
        server.expect_exact(spec::STOPPED, WAIT).await;
        let status = server.wait_exit(WAIT).await;
        assert!(status.success(), "exit status {status}");
    }

    /// B4: a second signal exits at once, even with a peer that never answers the close.
    async fn second_signal_exits_at_once(runtime: Runtime) {
        let mut server = Server::start(
            runtime,
            &[("SHUTDOWN_TIMEOUT_MS", "60000"), ("CLOSE_TIMEOUT_MS", "60000")],
        )
        .await;
        let mut raw = RawWs::handshake(server.port(), "/").await;
        server.expect_exact(&spec::connected("127.0.0.1"), WAIT).await;
        server.signal(Signal::SIGTERM);
        let prefix = spec::stopping_prefix(1);
        server.expect_line(|l| l.starts_with(&prefix), WAIT).await;
        let close = raw.expect_close(WAIT).await;
        assert_eq!(close.close_code(), Some(1001));
        // We never answer: the server would wait a minute.
        let again = Instant::now();
        server.signal(Signal::SIGTERM);
        let status = server.wait_exit(WAIT).await;
        assert!(again.elapsed() < Duration::from_secs(5), "took {:?}", again.elapsed());
        assert_eq!(status.code(), Some(130), "exit status {status}");
        assert!(
            server.stderr_so_far().iter().any(|l| l == spec::FORCED_STOP),
            "{}",
            server.transcript()
        );
        drop(raw);
    }

    /// §4: a malformed request line or header gets 400, then the connection closes.
    async fn malformed_request_is_400(runtime: Runtime) {
        let (mut server, mut watcher) = hostile_setup(runtime, &[]).await;
        let port = server.port();
        let bad_line = http::response_then_close(port, b"HELLO WORLD\r\n\r\n").await;
        assert_eq!(bad_line.status, 400);
        let bad_header = format!("GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nno colon\r\n\r\n");
        let response = http::response_then_close(port, bad_header.as_bytes()).await;
        assert_eq!(response.status, 400);
        assert_still_serving(&mut server, &mut watcher).await;
    }

    /// §4: a header section over 16 KiB gets 431, then the connection closes.
    async fn huge_header_is_431(runtime: Runtime) {
        let (mut server, mut watcher) = hostile_setup(runtime, &[]).await;
        let port = server.port();
        let request = format!(
            "GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Big: {}\r\n\r\n",
            "a".repeat(17 * 1024)
        );
        let response = http::response_then_close(port, request.as_bytes()).await;
        assert_eq!(response.status, 431);
        assert_still_serving(&mut server, &mut watcher).await;
    }

    /// §4: an upgrade without Sec-WebSocket-Key gets 400.
    async fn upgrade_without_key_is_400(runtime: Runtime) {
        let (mut server, mut watcher) = hostile_setup(runtime, &[]).await;
        let port = server.port();
        let request = broken_upgrade(port, &[("Sec-WebSocket-Version", "13")]);
        assert_eq!(http::one_response(port, &request).await.status, 400);
        assert_still_serving(&mut server, &mut watcher).await;
    }

    /// §4: a WebSocket version other than 13 gets 426 naming version 13.
    async fn wrong_websocket_version_is_426(runtime: Runtime) {
        let (mut server, mut watcher) = hostile_setup(runtime, &[]).await;
        let port = server.port();
        let request = broken_upgrade(
            port,
            &[("Sec-WebSocket-Key", SAMPLE_KEY), ("Sec-WebSocket-Version", "8")],
        );
        let response = http::one_response(port, &request).await;
        assert_eq!(response.status, 426);
        assert_eq!(response.header("sec-websocket-version"), Some("13"));
        assert_still_serving(&mut server, &mut watcher).await;
    }

    /// B8: a cross-site Origin gets 403.
    async fn foreign_origin_is_403(runtime: Runtime) {
        let (mut server, mut watcher) = hostile_setup(runtime, &[]).await;
        let port = server.port();
        let request = ws::upgrade_request(port, "/", &[("Origin", "https://evil.example")]);
        assert_eq!(http::one_response(port, &request).await.status, 403);
        assert_still_serving(&mut server, &mut watcher).await;
    }

    /// §4: an unmasked client frame is closed with 1002.
    async fn unmasked_frame_is_1002(runtime: Runtime) {
        let (mut server, mut watcher) = hostile_setup(runtime, &[]).await;
        let frame = ws::encode_frame(true, OP_TEXT, b"no mask", false);
        expect_protocol_close(&mut server, frame, 1002).await;
        assert_still_serving(&mut server, &mut watcher).await;
    }

    /// §4: text that is not UTF-8 is closed with 1007.
    async fn invalid_utf8_is_1007(runtime: Runtime) {
        let (mut server, mut watcher) = hostile_setup(runtime, &[]).await;
        let frame = ws::encode_frame(true, OP_TEXT, &[b'o', b'k', 0xff, 0xfe], true);
        expect_protocol_close(&mut server, frame, 1007).await;
        assert_still_serving(&mut server, &mut watcher).await;
    }

    /// §4: a message over MAX_MESSAGE_BYTES is closed with 1009.
    async fn oversized_message_is_1009(runtime: Runtime) {
        let (mut server, mut watcher) =
            hostile_setup(runtime, &[("MAX_MESSAGE_BYTES", "1000")]).await;
        // At the limit is fine...
        let mut client = ws::connect(server.port(), "/").await;
        server.expect_exact(&spec::connected("127.0.0.1"), WAIT).await;
        ws::send(&mut client, Message::binary(vec![7u8; 1000])).await;
        server.expect_line(|l| l.starts_with("<Buffer 07 07"), WAIT).await;
        ws::close(client).await;
        server.expect_exact(&spec::disconnected("127.0.0.1"), WAIT).await;
        // ...one byte over is not.
        let frame = ws::encode_frame(true, OP_BINARY, &[7u8; 1001], true);
        expect_protocol_close(&mut server, frame, 1009).await;
        assert_still_serving(&mut server, &mut watcher).await;
    }

    /// §4: headers that do not complete within HEADER_TIMEOUT_MS: the connection is closed.
    async fn slowloris_is_cut_off(runtime: Runtime) {
        let (mut server, mut watcher) =
            hostile_setup(runtime, &[("HEADER_TIMEOUT_MS", "300")]).await;
        let port = server.port();
        let mut stream = http::connect(port).await;
        let started = Instant::now();
        stream
            .write_all(format!("GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Slow: ").as_bytes())
            .await
            .expect("writing half a request");
        let rest = ResponseReader::default()
            .read_to_eof(&mut stream, WAIT)
            .await
            .unwrap_or_else(|e| panic!("expected the server to close the connection: {e}"));
        let waited = started.elapsed();
        let timeout = Duration::from_millis(300);
        assert!(
            waited + EARLY >= timeout && waited <= timeout + gif_chat_tests::LATE,
            "closed after {waited:?}, the header timeout is {timeout:?}"
        );
        assert!(
            rest.is_empty() || rest.starts_with(b"HTTP/1.1 408"),
            "unexpected bytes {:?}",
            String::from_utf8_lossy(&rest)
        );
        server
            .expect_stderr_line(|l| l.contains("request headers not complete"), WAIT)
            .await;
        assert_still_serving(&mut server, &mut watcher).await;
    }
}
