//! gif-chat's `/relay` app (SPEC E8) on socketioxide, axum and tokio, written the way
//! socketioxide's documentation shows: a client names its room in the handshake's auth
//! (`{"room": "..."}`), joins it, and each `chat` event it sends goes to the whole room, sender
//! included. The benchmark compares gif-chat's Socket.IO with this and with socket.io on Node
//! (`tests/peers/socketio-node`), which run the same app.
//!
//! Settings from the environment, under gif-chat's names: `PORT` (on 127.0.0.1; 0 for an
//! ephemeral port, printed on the start line), `EIO_PING_INTERVAL_MS`, `EIO_PING_TIMEOUT_MS`.

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;
use socketioxide::extract::{Data, SocketRef, TryData};
use socketioxide::SocketIo;

/// The handshake's auth payload of a `/relay` client.
#[derive(Debug, Deserialize)]
struct Auth {
    room: String,
}

/// Why the server could not start.
#[derive(Debug)]
enum StartError {
    Setting(&'static str, String),
    Io(std::io::Error),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Setting(name, value) => {
                write!(f, "{name} must be a non-negative integer, got {value:?}")
            }
            StartError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl From<std::io::Error> for StartError {
    fn from(e: std::io::Error) -> Self {
        StartError::Io(e)
    }
}

/// A numeric setting from the environment, or its default.
fn setting(name: &'static str, default: u64) -> Result<u64, StartError> {
    match std::env::var(name) {
        Ok(text) if !text.is_empty() => text
            .parse()
            .map_err(|_| StartError::Setting(name, text.clone())),
        _ => Ok(default),
    }
}

async fn on_relay_connect(socket: SocketRef, TryData(auth): TryData<Auth>) {
    let room = match auth {
        Ok(Auth { room }) if !room.is_empty() => room,
        _ => {
            // No room to join: this client has nothing to do here.
            let _ = socket.disconnect();
            return;
        }
    };
    socket.join(room.clone());
    socket.on(
        "chat",
        async move |socket: SocketRef, Data::<Value>(message)| {
            // A failed send means that client is gone; the room carries on.
            let _ = socket.within(room.clone()).emit("chat", &message).await;
        },
    );
}

async fn serve() -> Result<(), StartError> {
    let port = u16::try_from(setting("PORT", 3000)?)
        .map_err(|_| StartError::Setting("PORT", std::env::var("PORT").unwrap_or_default()))?;
    let (layer, io) = SocketIo::builder()
        .ping_interval(Duration::from_millis(setting(
            "EIO_PING_INTERVAL_MS",
            25_000,
        )?))
        .ping_timeout(Duration::from_millis(setting(
            "EIO_PING_TIMEOUT_MS",
            20_000,
        )?))
        .build_layer();
    io.ns("/relay", on_relay_connect);

    let app = axum::Router::new().layer(layer);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("socketioxide relay listening on {}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match serve().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("socketioxide-peer: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
