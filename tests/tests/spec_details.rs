//! BEHAVIOUR.md rows that behaviour.rs does not walk through: HTTP details (keep-alive, HEAD,
//! conditional GET on static files, bodies, production error pages, escaping) and the
//! WebSocket guarantees beyond the seed (trusted proxies, liveness pings, the close timeout).

use std::time::{Duration, Instant};

use async_tungstenite::tungstenite::Message;
use futures_util::StreamExt;
use gif_chat_tests::http::{self, ResponseReader};
use gif_chat_tests::ws::{self, RawWs, OP_PING};
use gif_chat_tests::{runtime_matrix, spec, Runtime, Server, Signal, EARLY, LATE, WAIT};
use tokio::sync::mpsc;

runtime_matrix! {
    /// S16: keep-alive as Node sends it, and an idle connection closed after the timeout, not
    /// before and not much later.
    async fn keeps_alive_then_closes_when_idle(runtime: Runtime) {
        const TIMEOUT: Duration = Duration::from_millis(300);
        let server = Server::start(runtime, &[("KEEP_ALIVE_TIMEOUT_MS", "300")]).await;
        let port = server.port();
        let mut stream = http::connect(port).await;
        let mut reader = ResponseReader::default();
        let request = http::get_request(port, "/", &[]);
        let first = reader.exchange(&mut stream, &request, false).await;
        assert_eq!(first.status, 200);
        assert_eq!(first.header("connection"), Some("keep-alive"));
        assert!(
            first.header("keep-alive").is_some_and(|v| v.starts_with("timeout=")),
            "Keep-Alive {:?}",
            first.header("keep-alive")
        );
        let second = reader.exchange(&mut stream, &request, false).await;
        assert_eq!(second.status, 200);
        assert_eq!(second.body, first.body);
        let idle = Instant::now();
        let rest = reader
            .read_to_eof(&mut stream, WAIT)
            .await
            .unwrap_or_else(|e| panic!("expected the idle connection to be closed: {e}"));
        let waited = idle.elapsed();
        assert!(rest.is_empty());
        assert!(
            waited + EARLY >= TIMEOUT && waited <= TIMEOUT + LATE,
            "closed {waited:?} after the last response, the timeout is {TIMEOUT:?}"
        );
    }

    /// S16 default: `Keep-Alive: timeout=5`, as Node sends it.
    async fn keep_alive_header_says_five_seconds(runtime: Runtime) {
        let server = Server::start(runtime, &[]).await;
        let page = http::get(server.port(), "/", &[]).await;
        assert_eq!(page.header("keep-alive"), Some("timeout=5"));
    }

    /// S12: HEAD gives the headers of GET and no body; If-Modified-Since gives 304.
    async fn static_file_head_and_conditional_get(runtime: Runtime) {
        let mut server = Server::start(runtime, &[]).await;
        let port = server.port();
        let mut stream = http::connect(port).await;
        let mut reader = ResponseReader::default();
        let head = format!("HEAD /favicon.ico HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n");
        let headers = reader.exchange(&mut stream, head.as_bytes(), true).await;
        assert_eq!(headers.status, 200);
        // The next response on the connection parses only if HEAD sent no body.
        let get = http::get_request(port, "/favicon.ico", &[]);
        let icon = reader.exchange(&mut stream, &get, false).await;
        assert_eq!(icon.status, 200);
        assert_eq!(headers.header("content-length"), Some(icon.body.len().to_string().as_str()));
        assert_eq!(headers.header("etag"), icon.header("etag"));
        assert!(icon.header("etag").is_some_and(|e| !e.is_empty()));
        // The two access lines, HEAD's and GET's.
        server.expect_access("HEAD", "/favicon.ico", 200).await;
        server.expect_access("GET", "/favicon.ico", 200).await;

        let modified = icon.header("last-modified").expect("Last-Modified").to_owned();
        let conditional = http::get(port, "/favicon.ico", &[("If-Modified-Since", &modified)]).await;
        assert_eq!(conditional.status, 304);
        let etag = icon.header("etag").expect("ETag").to_owned();
        let conditional = http::get(port, "/favicon.ico", &[("If-None-Match", &etag)]).await;
        assert_eq!(conditional.status, 304);
    }

    /// S15: bodies are consumed (Content-Length and chunked) so keep-alive stays in step.
    async fn request_bodies_are_consumed(runtime: Runtime) {
        let server = Server::start(runtime, &[]).await;
        let port = server.port();
        let mut stream = http::connect(port).await;
        let mut reader = ResponseReader::default();
        let sized = format!(
            "POST /nope HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 11\r\n\r\nGET / x\r\n\r\n"
        );
        assert_eq!(reader.exchange(&mut stream, sized.as_bytes(), false).await.status, 404);
        let chunked = format!(
            "POST /nope HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nTransfer-Encoding: chunked\r\n\r\n\
             5\r\nhello\r\n0\r\n\r\n"
        );
        assert_eq!(reader.exchange(&mut stream, chunked.as_bytes(), false).await.status, 404);
        let get = http::get_request(port, "/", &[]);
        let page = reader.exchange(&mut stream, &get, false).await;
        assert_eq!(page.status, 200, "the connection fell out of step after a body");
    }

    /// S15: a body over 100 KiB gets 413, then the connection closes.
    async fn body_over_limit_is_413(runtime: Runtime) {
        let server = Server::start(runtime, &[]).await;
        let port = server.port();
        let length = 100 * 1024 + 1;
        let mut request = format!(
            "POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {length}\r\n\r\n"
        )
        .into_bytes();
        request.resize(request.len() + length, b'x');
        assert_eq!(http::response_then_close(port, &request).await.status, 413);
    }

    /// S11: production error pages say only the message.
    async fn production_error_page_hides_details(runtime: Runtime) {
        let server = Server::start(runtime, &[("APP_ENV", "production")]).await;
        let page = http::get(server.port(), "/nope", &[]).await;
        assert_eq!(page.status, 404);
        let body = page.body_text();
        assert!(body.contains("Not Found"), "{body}");
        assert!(!body.contains("404"), "production shows no status or detail: {body}");
    }

    /// S11: text put into a page is HTML-escaped.
    async fn error_page_escapes_the_path(runtime: Runtime) {
        let server = Server::start(runtime, &[]).await;
        let port = server.port();
        for target in ["/%3Cscript%3Ealert(1)%3C/script%3E", "/<script>alert(1)</script>"] {
            let request = format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n");
            let mut stream = http::connect(port).await;
            let mut reader = ResponseReader::default();
            let page = reader.exchange(&mut stream, request.as_bytes(), false).await;
            assert!(page.status >= 400, "{target}: {}", page.status);
            assert!(!page.body_text().contains("<script>"), "{target}: {}", page.body_text());
        }
    }

    /// B7: behind a trusted proxy (loopback by default) the logged IP is X-Forwarded-For's.
    async fn trusted_proxy_sets_the_logged_ip(runtime: Runtime) {
        let mut server = Server::start(runtime, &[]).await;
        let raw = RawWs::handshake_with(server.port(), "/", &[("X-Forwarded-For", "203.0.113.9")]).await;
        server.expect_exact(&spec::connected("203.0.113.9"), WAIT).await;
        drop(raw);
        server.expect_exact(&spec::disconnected("203.0.113.9"), WAIT).await;
    }

    /// B7: with TRUST_PROXY=false nobody can forge the logged IP.
    async fn untrusted_proxy_header_is_ignored(runtime: Runtime) {
        let mut server = Server::start(runtime, &[("TRUST_PROXY", "false")]).await;
        let raw = RawWs::handshake_with(server.port(), "/", &[("X-Forwarded-For", "203.0.113.9")]).await;
        server.expect_exact(&spec::connected("127.0.0.1"), WAIT).await;
        drop(raw);
        server.expect_exact(&spec::disconnected("127.0.0.1"), WAIT).await;
    }

    /// B2: a silent connection is pinged; one that answers stays, one that does not is dropped.
    async fn silent_peers_are_pinged_then_dropped(runtime: Runtime) {
        const INTERVAL: Duration = Duration::from_millis(300);
        let mut server = Server::start(
            runtime,
            &[("PING_INTERVAL_MS", "300"), ("TICK_INTERVAL_MS", "600000")],
        )
        .await;
        // async-tungstenite answers a ping on the next read, so the polite client is read all
        // the time, by a task that reports the pings.
        let mut polite = ws::connect(server.port(), "/").await;
        server.expect_exact(&spec::connected("127.0.0.1"), WAIT).await;
        let (pings, mut pinged) = mpsc::unbounded_channel();
        let reader = tokio::spawn(async move {
            while let Some(message) = polite.next().await {
                let report = match message {
                    Ok(Message::Ping(_)) => Ok(()),
                    Ok(_) => continue,
                    Err(e) => Err(e.to_string()),
                };
                let failed = report.is_err();
                if pings.send(report).is_err() || failed {
                    return;
                }
            }
        });
        let mut silent = RawWs::handshake(server.port(), "/").await;
        server.expect_exact(&spec::connected("127.0.0.1"), WAIT).await;
        let opened = Instant::now();

        let ping = silent.read_frame(WAIT).await.expect("a ping, not the end of the stream");
        let pinged_after = opened.elapsed();
        assert_eq!(ping.opcode, OP_PING, "{ping:?}");
        assert!(
            pinged_after + EARLY >= INTERVAL && pinged_after <= INTERVAL + LATE,
            "pinged {pinged_after:?} after the open, the interval is {INTERVAL:?}"
        );
        // No pong: the server gives up one interval later, without a close handshake.
        let end = silent.read_frame(WAIT).await;
        let dropped_after = opened.elapsed();
        assert!(end.is_none(), "expected the connection to be dropped, got {end:?}");
        assert!(
            dropped_after + EARLY >= INTERVAL * 2 && dropped_after <= INTERVAL * 2 + LATE,
            "dropped {dropped_after:?} after the open, two intervals are {:?}",
            INTERVAL * 2
        );
        server.expect_stderr_line(|l| l.contains("no answer to ping"), WAIT).await;
        server.expect_exact(&spec::disconnected("127.0.0.1"), WAIT).await;

        // The polite client was pinged as well, answered, and is still pinged: still open.
        for n in 1..=3 {
            match tokio::time::timeout(WAIT, pinged.recv()).await {
                Ok(Some(Ok(()))) => {}
                Ok(Some(Err(e))) => panic!("the polite client failed before ping {n}: {e}"),
                Ok(None) => panic!("the polite client's connection ended before ping {n}"),
                Err(_) => panic!("the polite client got no ping {n} within {WAIT:?}"),
            }
        }
        reader.abort();
        let stderr = server.stderr_so_far();
        let dropped = stderr.iter().filter(|l| l.contains("no answer to ping")).count();
        assert_eq!(dropped, 1, "only the silent client is dropped: {stderr:?}");
    }

    /// B3 with B4: a peer that never answers our close frame is dropped after CLOSE_TIMEOUT_MS
    /// (not before, not much later), and the graceful stop then completes.
    async fn unanswered_close_times_out(runtime: Runtime) {
        const TIMEOUT: Duration = Duration::from_millis(300);
        let mut server = Server::start(
            runtime,
            &[("CLOSE_TIMEOUT_MS", "300"), ("SHUTDOWN_TIMEOUT_MS", "60000")],
        )
        .await;
        let mut raw = RawWs::handshake(server.port(), "/").await;
        server.expect_exact(&spec::connected("127.0.0.1"), WAIT).await;
        server.signal(Signal::SIGTERM);
        let close = raw.expect_close(WAIT).await;
        let closed = Instant::now();
        assert_eq!(close.close_code(), Some(1001));
        // We keep the socket open and say nothing. (The server may half-close right after its
        // close frame; that is not the drop, its log is.)
        let error = server
            .expect_stderr_line_timed(|l| l.contains("no close frame from the peer"), WAIT)
            .await;
        let waited = error.at.saturating_duration_since(closed);
        assert!(
            waited + EARLY >= TIMEOUT && waited <= TIMEOUT + LATE,
            "dropped {waited:?} after the close frame, the timeout is {TIMEOUT:?}"
        );
        server.expect_exact(&spec::disconnected("127.0.0.1"), WAIT).await;
        server.expect_exact(spec::STOPPED, WAIT).await;
        let status = server.wait_exit(WAIT).await;
        assert!(status.success(), "exit status {status}");
        drop(raw);
    }
}
