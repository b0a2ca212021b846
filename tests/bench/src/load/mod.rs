//! One worker process of the load generator: connections of one kind, driven on a
//! single-threaded tokio runtime through three stages.
//!
//! Stages exist so that every worker measures the same window: each worker first makes its
//! connections (ramp), reports `ready` on stdout, and waits for `go` on stdin; the parent sends
//! `go` once every worker is ready, so the server's CPU and memory can be attributed to the
//! window alone. After the window the worker prints `measured`, closes its connections cleanly
//! and prints its JSON report.

pub mod chat;
pub mod chat_page;
pub mod chat_visitor;
pub mod churn;
pub mod echo;
pub mod http;
pub mod sio_churn;
pub mod sio_fanout;
pub mod sio_idle;
pub mod sio_polling;
pub mod sio_session;
pub mod ticks;
pub mod write_floor;

use std::io::BufRead;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use thiserror::Error;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{mpsc, watch, Semaphore};

use crate::proto::{self, ProtoError};
use crate::report::Report;
use crate::sio::SioError;

/// How long one connect plus handshake may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a clean close may take once the window is over.
pub const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);
/// Handshakes in progress at once per worker: a burst of thousands of SYNs would overflow the
/// server's accept backlog and turn into one-second SYN retransmits, measuring the kernel.
pub const CONNECT_CONCURRENCY: usize = 64;
/// Largest server frame a client accepts.
pub const MAX_FRAME: u64 = 1 << 20;

/// Why a connection failed.
#[derive(Debug, Error)]
pub enum LoadError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Proto(#[from] ProtoError),
    #[error(transparent)]
    Sio(#[from] SioError),
    #[error("timed out")]
    Timeout,
    #[error("connection closed by the server")]
    Closed,
    #[error("refused: {0}")]
    Refused(String),
    #[error("bad URL {0:?}: expected ws://host:port/path or http://host:port/path")]
    Url(String),
}

/// Where the load goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub addr: SocketAddr,
    /// `host:port` as written, for the `Host` header.
    pub host: String,
    pub path: String,
}

impl std::str::FromStr for Target {
    type Err = LoadError;

    fn from_str(url: &str) -> Result<Self, LoadError> {
        let bad = || LoadError::Url(url.to_owned());
        let rest = ["ws://", "http://"]
            .iter()
            .find_map(|scheme| url.strip_prefix(scheme))
            .ok_or_else(bad)?;
        let (host, path) = match rest.find('/') {
            Some(i) => (
                rest.get(..i).ok_or_else(bad)?,
                rest.get(i..).ok_or_else(bad)?,
            ),
            None => (rest, "/"),
        };
        let addr = host
            .replace("localhost", "127.0.0.1")
            .parse::<SocketAddr>()
            .map_err(|_| bad())?;
        Ok(Self {
            addr,
            host: host.to_owned(),
            path: path.to_owned(),
        })
    }
}

/// What every connection task shares.
#[derive(Debug)]
pub struct Ctx {
    pub target: Target,
    /// Loopback source addresses to spread connections over (empty: let the kernel choose).
    pub sources: Vec<IpAddr>,
    pub connect_limit: Semaphore,
    /// Ticks mode: print every gap deviating more than this (with its time in the window) to
    /// stderr, to see when late ticks happen.
    pub trace_late: Option<std::time::Duration>,
}

impl Ctx {
    pub fn new(target: Target, sources: Vec<IpAddr>, trace_late: Option<Duration>) -> Arc<Self> {
        Arc::new(Self {
            target,
            sources,
            connect_limit: Semaphore::new(CONNECT_CONCURRENCY),
            trace_late,
        })
    }

    /// The source address for the connection numbered `index`.
    pub fn source(&self, index: usize) -> Option<IpAddr> {
        match self.sources.len() {
            0 => None,
            n => self.sources.get(index % n).copied(),
        }
    }

    /// A TCP connection, from `source` if given (bound before connecting: each source address
    /// has its own ~28k ephemeral ports).
    pub async fn tcp(&self, source: Option<IpAddr>) -> Result<TcpStream, LoadError> {
        let socket = match self.target.addr {
            SocketAddr::V4(_) => TcpSocket::new_v4()?,
            SocketAddr::V6(_) => TcpSocket::new_v6()?,
        };
        if let Some(ip) = source {
            socket.bind(SocketAddr::new(ip, 0))?;
        }
        let stream = socket.connect(self.target.addr).await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }

    /// A WebSocket connection to the target's path, with any bytes that came after the 101.
    pub async fn ws(&self, source: Option<IpAddr>) -> Result<(TcpStream, Vec<u8>), LoadError> {
        self.ws_with(source, "").await
    }

    /// [`Ctx::ws`] with `extra` header lines in the upgrade request (each ending in CRLF).
    pub async fn ws_with(
        &self,
        source: Option<IpAddr>,
        extra: &str,
    ) -> Result<(TcpStream, Vec<u8>), LoadError> {
        let mut stream = self.tcp(source).await?;
        let request = proto::upgrade_request_with(&self.target.host, &self.target.path, extra);
        stream.write_all(request.as_bytes()).await?;
        let mut buf = Vec::with_capacity(256);
        loop {
            if let Some(end) = proto::head_end(&buf) {
                proto::check_upgrade(buf.get(..end).unwrap_or_default())?;
                buf.drain(..end);
                return Ok((stream, buf));
            }
            if buf.len() > 16 * 1024 {
                return Err(ProtoError::HeadTooLarge(16 * 1024).into());
            }
            if stream.read_buf(&mut buf).await? == 0 {
                return Err(LoadError::Closed);
            }
        }
    }

    /// [`Ctx::ws`] under the connect limit and timeout.
    pub async fn ws_limited(
        &self,
        source: Option<IpAddr>,
    ) -> Result<(TcpStream, Vec<u8>), LoadError> {
        let _permit = self.connect_limit.acquire().await;
        tokio::time::timeout(CONNECT_TIMEOUT, self.ws(source))
            .await
            .map_err(|_| LoadError::Timeout)?
    }
}

/// The run's stage, broadcast to every connection task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Ramp,
    Window { start: Instant, end: Instant },
    Close,
}

impl Stage {
    /// Whether `at` falls in the measured window.
    pub fn in_window(&self, at: Instant) -> bool {
        matches!(*self, Stage::Window { start, end } if at >= start && at < end)
    }
}

/// Reports how a connection's ramp went and ends the sender's part in it; the connection goes
/// on only when it connected.
pub fn ramp_done<T, E: std::fmt::Display>(
    ramp: mpsc::UnboundedSender<Result<(), String>>,
    connected: Result<T, E>,
) -> Option<T> {
    match connected {
        Ok(conn) => {
            let _ = ramp.send(Ok(()));
            Some(conn)
        }
        Err(error) => {
            let _ = ramp.send(Err(format!("connect: {error}")));
            None
        }
    }
}

/// Waits until the stage leaves [`Stage::Ramp`]; the stage then (`Close` if the sender is gone).
pub async fn wait_past_ramp(stage: &mut watch::Receiver<Stage>) -> Stage {
    match stage.wait_for(|s| *s != Stage::Ramp).await {
        Ok(s) => *s,
        Err(_) => Stage::Close,
    }
}

/// A clean close: our close frame, then wait (bounded) for the server's close frame and for its
/// FIN (RFC 6455 section 7.1.1: the server closes the TCP connection first, so the client is
/// not left with TIME_WAIT sockets eating its ephemeral ports). Returns whether the server
/// answered with a close frame.
pub async fn close_ws(stream: &mut TcpStream, pending: &mut Vec<u8>, mask: [u8; 4]) -> bool {
    let mut frame = Vec::with_capacity(8);
    proto::encode_close(&mut frame, mask);
    if stream.write_all(&frame).await.is_err() {
        return false;
    }
    let mut got_close = false;
    let wait = async {
        loop {
            while let Ok(Some(f)) = proto::decode_frame(pending, MAX_FRAME) {
                got_close |= f.opcode == proto::OP_CLOSE;
                pending.drain(..f.len);
            }
            if got_close {
                pending.clear();
            }
            match stream.read_buf(pending).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, wait).await;
    got_close
}

/// What the worker driver needs from a mode.
pub struct Plan {
    /// Results of the ramp: one message per connection (or none for churn).
    pub ramp: mpsc::UnboundedReceiver<Result<(), String>>,
    pub ramp_expected: usize,
    /// Sums up the tasks once the stage is `Close`.
    pub collect: std::pin::Pin<Box<dyn std::future::Future<Output = Report>>>,
}

impl Plan {
    /// A plan whose report is the sum of `handles`' reports, collected once the window closes.
    pub fn summing(
        ramp: mpsc::UnboundedReceiver<Result<(), String>>,
        ramp_expected: usize,
        handles: Vec<tokio::task::JoinHandle<Report>>,
    ) -> Plan {
        let collect = Box::pin(async move {
            let mut report = Report::default();
            for handle in handles {
                match handle.await {
                    Ok(part) => report.absorb(&part),
                    Err(error) => report.error(format!("task: {error}")),
                }
            }
            report
        });
        Plan {
            ramp,
            ramp_expected,
            collect,
        }
    }
}

/// Runs one worker: ramp, `ready`, wait for `go` (or go at once when `standalone`), window,
/// `measured`, close, and returns the report. `build` starts the mode's tasks.
pub fn run_worker(
    seconds: f64,
    mut report: Report,
    build: impl FnOnce(watch::Receiver<Stage>) -> Plan,
) -> Report {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            report.error(format!("tokio runtime: {error}"));
            return report;
        }
    };
    let (go_tx, go_rx) = tokio::sync::oneshot::channel::<()>();
    // stdin is read on a plain thread: the parent writes one line, `go`.
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::stdin().lock().read_line(&mut line);
        let _ = go_tx.send(());
    });
    runtime.block_on(async move {
        let (stage_tx, stage_rx) = watch::channel(Stage::Ramp);
        let mut plan = build(stage_rx);
        let mut failed = 0u64;
        for _ in 0..plan.ramp_expected {
            match plan.ramp.recv().await {
                Some(Ok(())) => {}
                Some(Err(message)) => {
                    failed += 1;
                    report.error(message);
                }
                None => break,
            }
        }
        report.connect_failed = failed;
        println!("ready");
        let _ = go_rx.await;
        let start = Instant::now();
        let end = start + Duration::from_secs_f64(seconds);
        let own_cpu = || crate::procstat::cpu_seconds(std::process::id()).unwrap_or(0.0);
        let cpu_start = own_cpu();
        let _ = stage_tx.send(Stage::Window { start, end });
        tokio::time::sleep_until(end.into()).await;
        report.client_cpu_s = (own_cpu() - cpu_start).max(0.0);
        println!("measured");
        let _ = stage_tx.send(Stage::Close);
        let sums = plan.collect.await;
        report.absorb(&sums);
        report
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse() {
        let t: Result<Target, _> = "ws://127.0.0.1:8005/echo".parse();
        assert_eq!(
            t.ok(),
            Some(Target {
                addr: "127.0.0.1:8005"
                    .parse()
                    .unwrap_or(SocketAddr::from(([0; 4], 0))),
                host: "127.0.0.1:8005".into(),
                path: "/echo".into()
            })
        );
        let t: Option<Target> = "http://localhost:9".parse().ok();
        assert_eq!(t.map(|t| (t.addr.port(), t.path)), Some((9, "/".into())));
        assert!("wss://x:1/".parse::<Target>().is_err());
        assert!("ws://nohost/".parse::<Target>().is_err());
    }

    #[test]
    fn window_bounds() {
        let start = Instant::now();
        let end = start + Duration::from_secs(1);
        let stage = Stage::Window { start, end };
        assert!(stage.in_window(start));
        assert!(!stage.in_window(end));
        assert!(!Stage::Ramp.in_window(start));
    }
}
