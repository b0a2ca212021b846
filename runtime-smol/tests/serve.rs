//! The smol runtime end to end on real sockets, in process: the page, a tick, the graceful stop
//! with close 1001, and the stop's time limit. The behaviour suite in `tests/` covers the
//! protocol; these check the adapter's own wiring (readiness, the reused timer, the stop
//! broadcast, the open-connection count, the flusher thread).

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::num::NonZeroUsize;
use std::process::ExitCode;
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use gif_chat_core::{Config, TICK_MESSAGE};
use gif_chat_io::{listener, Log, MemorySink, Sinks};
use runtime_smol::Server;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::{Message, WebSocket};

/// Bounds every wait, so a broken runtime fails the test instead of hanging it.
const PATIENCE: Duration = Duration::from_secs(5);
const TICK: Duration = Duration::from_millis(150);

struct Running {
    addr: SocketAddr,
    stop: smol::channel::Sender<()>,
    exited: mpsc::Receiver<ExitCode>,
    stdout: MemorySink,
    stderr: MemorySink,
}

impl Running {
    fn stop(&self) {
        self.stop
            .send_blocking(())
            .expect("the server listens for stops");
    }

    fn exit_code(&self) -> ExitCode {
        self.exited
            .recv_timeout(PATIENCE)
            .expect("the server stops in time")
    }
}

fn start(config: Config, shutdown_timeout: Duration, threads: usize) -> Running {
    let listener = listener::bind((Ipv4Addr::LOCALHOST, 0).into(), false).expect("bind");
    let (stdout, stderr) = (MemorySink::new(), MemorySink::new());
    let log = Log::new(
        false,
        Sinks {
            stdout: Box::new(stdout.clone()),
            stderr: Box::new(stderr.clone()),
        },
    );
    let server = Server::new(listener, Arc::new(config), log, shutdown_timeout)
        .expect("server")
        .worker_threads(NonZeroUsize::new(threads).expect("at least one thread"));
    let addr = server.local_addr().expect("local address");
    let (stop, stops) = smol::channel::unbounded();
    let (exit, exited) = mpsc::channel();
    thread::spawn(move || {
        let _ = exit.send(server.serve(stops).expect("the server starts"));
    });
    Running {
        addr,
        stop,
        exited,
        stdout,
        stderr,
    }
}

fn config() -> Config {
    Config {
        tick_interval: TICK,
        ..Config::new()
    }
}

fn websocket(addr: SocketAddr) -> WebSocket<TcpStream> {
    let stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(PATIENCE)).expect("timeout");
    let (socket, response) =
        tungstenite::client(format!("ws://{addr}/"), stream).expect("handshake");
    assert_eq!(response.status(), 101);
    socket
}

#[test]
fn page_tick_and_graceful_stop() {
    page_tick_and_graceful_stop_on(1);
}

/// The same with the executor on two threads (`WORKER_THREADS=2`): a task woken on one
/// thread may run on the other.
#[test]
fn page_tick_and_graceful_stop_on_two_threads() {
    page_tick_and_graceful_stop_on(2);
}

fn page_tick_and_graceful_stop_on(threads: usize) {
    let server = start(config(), Duration::from_secs(5), threads);

    let mut http = TcpStream::connect(server.addr).expect("connect");
    http.set_read_timeout(Some(PATIENCE)).expect("timeout");
    http.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .expect("request");
    let mut response = Vec::new();
    http.read_to_end(&mut response).expect("response");
    // After the response the server waits for our FIN before it counts the connection closed.
    drop(http);
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    assert!(response.contains("<title>GIF 채팅방</title>"), "{response}");

    let mut ws = websocket(server.addr);
    let opened = Instant::now();
    let tick = ws.read().expect("a tick");
    let waited = opened.elapsed();
    assert_eq!(tick, Message::text(TICK_MESSAGE));
    assert!(
        waited >= TICK - Duration::from_millis(20),
        "tick after {waited:?}"
    );
    ws.send(Message::text("답장")).expect("reply");
    // The flusher thread prints it promptly; waiting also orders it before the stop.
    assert!(
        server.stdout.wait_for_line("답장", PATIENCE),
        "no reply line in {:?}",
        server.stdout.text()
    );

    server.stop();
    let close = loop {
        match ws.read().expect("the close frame") {
            Message::Close(frame) => break frame,
            // A tick may have been on its way.
            Message::Text(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    };
    assert_eq!(close.map(|frame| frame.code), Some(CloseCode::Away));
    // tungstenite answers the close; the server then closes the TCP connection.
    while ws.read().is_ok() {}

    assert_eq!(server.exit_code(), ExitCode::SUCCESS);
    assert!(
        TcpStream::connect(server.addr).is_err(),
        "the listener is closed"
    );
    let stdout = server.stdout.text();
    let lines: Vec<&str> = stdout.lines().collect();
    let expected = [
        "새로운 클라이언트 접속 127.0.0.1",
        "답장",
        "종료 신호를 받았습니다: 연결 1개를 닫는 중 (최대 5 초, 한 번 더 보내면 즉시 종료)",
        "클라이언트 접속 해제 127.0.0.1",
        "서버를 종료합니다",
    ];
    let found: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|line| expected.contains(line))
        .collect();
    assert_eq!(found, expected, "{stdout}");
    assert!(
        lines.first().is_some_and(|l| l.starts_with("GET / 200 ")),
        "{stdout}"
    );
    assert_eq!(server.stderr.text(), "");
}

#[test]
fn stop_gives_up_after_the_shutdown_timeout() {
    let timeout = Duration::from_millis(300);
    let server = start(config(), timeout, 1);
    // A peer that never answers our close frame: the core would wait 5 s for it.
    let _silent = websocket(server.addr);
    assert!(
        server
            .stdout
            .wait_for_line("새로운 클라이언트 접속 127.0.0.1", PATIENCE),
        "no connection line in {:?}",
        server.stdout.text()
    );

    let stopped = Instant::now();
    server.stop();
    assert_eq!(server.exit_code(), ExitCode::SUCCESS);
    let took = stopped.elapsed();
    assert!(took >= timeout && took < PATIENCE, "stopped after {took:?}");
    let stdout = server.stdout.text();
    assert_eq!(
        stdout.lines().last(),
        Some("서버를 종료합니다 (닫히지 않은 연결 1개)"),
        "{stdout}"
    );
}
