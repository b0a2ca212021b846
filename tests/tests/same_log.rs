//! The runtime contract says all three runtimes print the same log, byte for byte, because every
//! line comes from the core. This test holds them to it: one scripted session per runtime, each
//! step waiting for its log line before the next so the order is fixed, then the three stdout
//! transcripts compared after normalising only what must differ (response times and ports).

use async_tungstenite::tungstenite::Message;
use gif_chat_tests::eio::{Ws, SOCKET_PATH};
use gif_chat_tests::{http, spec, ws, Runtime, Server, Signal, WAIT};
use regex::Regex;

/// Runs the session against `runtime` and returns its normalised stdout.
async fn session(runtime: Runtime) -> Vec<String> {
    let mut server = Server::start(runtime, &[("TICK_INTERVAL_MS", "200")]).await;
    let port = server.port();

    for (path, status) in [("/", 200), ("/favicon.ico", 200), ("/nope", 404)] {
        assert_eq!(
            http::get(port, path, &[]).await.status,
            status,
            "{runtime} GET {path}"
        );
        server.expect_access("GET", path, status).await;
    }

    let mut client = ws::connect(port, "/").await;
    server
        .expect_exact(&spec::connected("127.0.0.1"), WAIT)
        .await;
    for _ in 0..2 {
        ws::expect_tick(&mut client, WAIT).await;
        ws::send(&mut client, Message::text(spec::REPLY)).await;
        server.expect_exact(spec::REPLY, WAIT).await;
    }
    ws::send(&mut client, Message::binary(vec![1u8, 2, 3])).await;
    server.expect_exact("<Buffer 01 02 03>", WAIT).await;
    ws::close(client).await;
    server
        .expect_exact(&spec::disconnected("127.0.0.1"), WAIT)
        .await;

    // A Socket.IO session over WebSocket joins the main namespace; closing the WebSocket ends
    // the session, and its socket leaves (the line comes as the connection closes, as S9's).
    let mut sio = Ws::open_session(port, SOCKET_PATH).await;
    assert!(
        sio.next_text(WAIT).await.starts_with("0{"),
        "{runtime} open"
    );
    sio.send_text("40").await;
    assert!(
        sio.next_text(WAIT).await.starts_with("40{"),
        "{runtime} CONNECT"
    );
    server
        .expect_exact("새로운 클라이언트 접속 127.0.0.1 /", WAIT)
        .await;
    sio.close().await;
    server
        .expect_exact("클라이언트 접속 해제 127.0.0.1 /", WAIT)
        .await;

    server.signal(Signal::SIGTERM);
    let status = server.wait_exit(WAIT).await;
    assert!(status.success(), "{runtime} exit status {status}");

    let time = Regex::new(r"\d+\.\d{3} ms").expect("a valid pattern");
    let port_number = Regex::new(&format!(r"\b{port}\b")).expect("a valid pattern");
    server
        .lines_so_far()
        .iter()
        .map(|line| {
            let line = time.replace_all(line, "<t> ms");
            port_number.replace_all(&line, "<port>").into_owned()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_runtimes_print_the_same_log() {
    let (tokio_log, smol_log, mio_log) = tokio::join!(
        session(Runtime::Tokio),
        session(Runtime::Smol),
        session(Runtime::Mio)
    );

    // The transcript is the one core/BEHAVIOUR.md describes, line for line...
    let expected = [
        r"^<port> 번 포트에서 대기 중$".to_owned(),
        r"^GET / 200 <t> ms - \d+$".to_owned(),
        r"^GET /favicon\.ico 200 <t> ms - \d+$".to_owned(),
        r"^GET /nope 404 <t> ms - \d+$".to_owned(),
        format!("^{}$", regex::escape(&spec::connected("127.0.0.1"))),
        format!("^{}$", regex::escape(spec::REPLY)),
        format!("^{}$", regex::escape(spec::REPLY)),
        r"^<Buffer 01 02 03>$".to_owned(),
        format!("^{}$", regex::escape(&spec::disconnected("127.0.0.1"))),
        r"^새로운 클라이언트 접속 127\.0\.0\.1 /$".to_owned(),
        r"^클라이언트 접속 해제 127\.0\.0\.1 /$".to_owned(),
        format!("^{}", regex::escape(&spec::stopping_prefix(0))),
        format!("^{}$", regex::escape(spec::STOPPED)),
    ];
    assert_eq!(
        tokio_log.len(),
        expected.len(),
        "runtime-tokio's transcript:\n{}",
        tokio_log.join("\n")
    );
    for (line, pattern) in tokio_log.iter().zip(&expected) {
        let pattern = Regex::new(pattern).expect("a valid pattern");
        assert!(
            pattern.is_match(line),
            "runtime-tokio printed {line:?} where {pattern} was expected:\n{}",
            tokio_log.join("\n")
        );
    }

    // ...and the other two print exactly the same bytes.
    assert_eq!(
        smol_log, tokio_log,
        "runtime-smol's log differs from runtime-tokio's"
    );
    assert_eq!(
        mio_log, tokio_log,
        "runtime-mio's log differs from runtime-tokio's"
    );
}
