//! The seed's tick server written the way a Rust user would write it with tokio-tungstenite:
//! one task per connection, a `tokio::time::interval` per connection, the default
//! `WebSocketConfig` (or a 4 KiB read buffer with `--read-buffer 4096`), `println!` for the log.
//!
//! It exists only as a comparison peer for `compare` (tests/bench): it is deliberately the
//! idiomatic, unoptimised version, so the numbers say what the sans-IO core buys over it. It
//! serves no HTTP page: `/` is the seed's tick socket, `/echo` echoes every message.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

/// The seed's tick server on tokio-tungstenite (comparison peer).
#[derive(Debug, Parser)]
struct Args {
    /// Port to listen on (0 picks one; the start line shows it).
    #[arg(long, env = "PORT", default_value_t = 8005)]
    port: u16,
    /// Address to listen on.
    #[arg(long, env = "HOST", default_value = "127.0.0.1")]
    host: std::net::IpAddr,
    /// Milliseconds between ticks.
    #[arg(long, env = "TICK_INTERVAL_MS", default_value_t = 3000)]
    tick_ms: u64,
    /// tungstenite's read buffer size (its default is 128 KiB).
    #[arg(long)]
    read_buffer: Option<usize>,
}

const TICK: &str = "서버에서 클라이언트로 메시지를 보냅니다.";

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let listener = TcpListener::bind(SocketAddr::new(args.host, args.port)).await?;
    println!("{} 번 포트에서 대기 중", listener.local_addr()?.port());
    let mut config = WebSocketConfig::default();
    if let Some(size) = args.read_buffer {
        config = config.read_buffer_size(size);
    }
    let tick = Duration::from_millis(args.tick_ms.max(1));
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                // EMFILE and friends: wait a little instead of spinning.
                eprintln!("{error}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        tokio::spawn(handle(stream, peer, config, tick));
    }
}

// tungstenite's handshake callback returns its own (large) error response type.
#[allow(clippy::result_large_err)]
async fn handle(stream: TcpStream, peer: SocketAddr, config: WebSocketConfig, tick: Duration) {
    let _ = stream.set_nodelay(true);
    let mut path = String::new();
    let callback = |request: &Request, response: Response| {
        path = request.uri().path().to_owned();
        Ok(response)
    };
    let mut ws =
        match tokio_tungstenite::accept_hdr_async_with_config(stream, callback, Some(config)).await
        {
            Ok(ws) => ws,
            Err(error) => {
                eprintln!("{error}");
                return;
            }
        };
    if path == "/echo" {
        while let Some(message) = ws.next().await {
            match message {
                Ok(message @ (Message::Text(_) | Message::Binary(_))) => {
                    if let Err(error) = ws.send(message).await {
                        eprintln!("{error}");
                        break;
                    }
                }
                // tungstenite queues the close reply; the next poll sends it and ends the stream.
                Ok(_) => {}
                Err(error) => {
                    eprintln!("{error}");
                    break;
                }
            }
        }
        return;
    }
    let ip = peer.ip();
    println!("새로운 클라이언트 접속 {ip}");
    let mut interval = tokio::time::interval_at(tokio::time::Instant::now() + tick, tick);
    loop {
        tokio::select! {
            message = ws.next() => match message {
                Some(Ok(Message::Text(text))) => println!("{}", text.as_str()),
                Some(Ok(Message::Binary(data))) => println!("{data:?}"),
                None => break,
                // Close, ping, pong: tungstenite answers them on the next poll.
                Some(Ok(_)) => {}
                Some(Err(error)) => {
                    eprintln!("{error}");
                    break;
                }
            },
            _ = interval.tick() => {
                if let Err(error) = ws.send(Message::text(TICK)).await {
                    eprintln!("{error}");
                    break;
                }
            }
        }
    }
    println!("클라이언트 접속 해제 {ip}");
}
