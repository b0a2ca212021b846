//! The tokio runtime end to end on a real socket: a page, a tick, and a graceful stop that sends
//! close 1001. The behaviour suite in `tests/` covers the protocol; this checks the adapter's own
//! wiring (readiness, timers, the stop broadcast, the open-connection count, the log).

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use gif_chat_core::{Config, TICK_MESSAGE};
use gif_chat_io::{listener, Log, MemorySink, Sinks};
use runtime_tokio::server;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::timeout;

/// Bounds every wait, so a broken runtime fails the test instead of hanging it.
const PATIENCE: Duration = Duration::from_secs(5);

struct Running {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    server: JoinHandle<Result<usize, gif_chat_io::StartError>>,
    stdout: MemorySink,
}

async fn start(config: Config) -> Running {
    let listener = listener::bind((Ipv4Addr::LOCALHOST, 0).into(), false).expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let stdout = MemorySink::new();
    let log = Log::new(
        false,
        Sinks {
            stdout: Box::new(stdout.clone()),
            stderr: Box::new(io::sink()),
        },
    );
    let _writer = log.spawn_writer().expect("a log writer thread");
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(server::serve_until(
        listener,
        Arc::new(config),
        log,
        PATIENCE,
        async move {
            let _ = stopped.await;
        },
    ));
    Running {
        addr,
        stop,
        server,
        stdout,
    }
}

/// Reads until `done` says the bytes so far are enough.
async fn read_until(stream: &mut TcpStream, done: impl Fn(&[u8]) -> bool) -> Vec<u8> {
    let mut got = Vec::new();
    let mut chunk = [0; 4096];
    while !done(&got) {
        let n = timeout(PATIENCE, stream.read(&mut chunk))
            .await
            .expect("the server answers in time")
            .expect("read");
        assert!(n > 0, "EOF after {:?}", String::from_utf8_lossy(&got));
        got.extend_from_slice(chunk.get(..n).unwrap_or_default());
    }
    got
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// An unmasked server frame's opcode and payload, if `bytes` starts with a whole one (payloads
/// under 126 bytes, which is all this test receives).
fn frame(bytes: &[u8]) -> Option<(u8, &[u8])> {
    let (&b0, &b1) = (bytes.first()?, bytes.get(1)?);
    let len = usize::from(b1 & 0x7f);
    assert!(len < 126, "unexpectedly long frame");
    Some((b0 & 0x0f, bytes.get(2..2 + len)?))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_the_page_ticks_and_stops_with_1001() {
    let mut config = Config::new();
    config.tick_interval = Duration::from_millis(100);
    let running = start(config).await;

    let mut http = TcpStream::connect(running.addr).await.expect("connect");
    http.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .expect("send the request");
    let page = read_until(&mut http, |got| contains(got, b"</html>")).await;
    assert!(page.starts_with(b"HTTP/1.1 200 "), "{page:?}");
    // Our FIN ends the server's lingering close at once.
    drop(http);

    let mut ws = TcpStream::connect(running.addr).await.expect("connect");
    ws.write_all(
        b"GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .await
    .expect("send the upgrade");
    let head = read_until(&mut ws, |got| contains(got, b"\r\n\r\n")).await;
    assert!(head.starts_with(b"HTTP/1.1 101 "), "{head:?}");
    let after_head = head
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(0, |at| at + 4);
    let mut rest = head.get(after_head..).unwrap_or_default().to_vec();
    rest.extend(read_until(&mut ws, |got| frame(got).is_some()).await);
    let (opcode, payload) = frame(&rest).expect("a whole frame");
    assert_eq!(
        (opcode, payload),
        (1, TICK_MESSAGE.as_bytes()),
        "a text tick"
    );

    running.stop.send(()).expect("the server is running");
    let closing = read_until(&mut ws, |got| {
        contains(got, &[0x88, 0x02, 0x03, 0xe9]) // close frame, 2 bytes: 1001
    })
    .await;
    assert!(contains(&closing, &[0x88, 0x02, 0x03, 0xe9]));
    // Our close answer (masked with a zero key), after which the server closes.
    ws.write_all(&[0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe9])
        .await
        .expect("answer the close");

    let left = timeout(PATIENCE, running.server)
        .await
        .expect("the server stops in time")
        .expect("the server task did not panic")
        .expect("the server started");
    assert_eq!(left, 0, "every connection closed");
    let log = running.stdout.text();
    assert!(log.contains("GET / 200 "), "{log}");
    assert!(log.contains("새로운 클라이언트 접속 127.0.0.1"), "{log}");
    assert!(log.contains("클라이언트 접속 해제 127.0.0.1"), "{log}");
    assert!(log.trim_end().ends_with("서버를 종료합니다"), "{log}");
}
