//! One Socket.IO session of the loads, over either transport: open the Engine.IO session,
//! CONNECT to `/relay` with the room in the auth, answer pings, send and receive packets.
//!
//! Both transports share one shape ([`Session`]) so every Socket.IO mode can run over either;
//! pings are answered inside [`Session::next_batch`], so a mode only sees what it counts.

use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};

use super::{close_ws, Ctx, LoadError, Plan, Stage, CONNECT_TIMEOUT, MAX_FRAME};
use crate::proto::{self, Masker};
use crate::report::Report;
use crate::sio::{self, Chat, Packet, SioError};

/// Starts `count` sessions for a mode that holds them through the window: session `i` has the
/// global number `first + i` (its seed and source address) and joins room `room(first + i)`;
/// once open (and counted in the ramp) it is handed to `run` with its number.
pub fn start_sessions<Run, Fut>(
    ctx: Arc<Ctx>,
    transport: Transport,
    (first, count): (usize, usize),
    room: impl Fn(usize) -> usize,
    stage: watch::Receiver<Stage>,
    run: Run,
) -> Plan
where
    Run: Fn(Session, usize, watch::Receiver<Stage>) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Report> + Send + 'static,
{
    let (ramp_tx, ramp) = mpsc::unbounded_channel();
    let handles: Vec<_> = (0..count)
        .map(|i| {
            let index = first + i;
            let room = room(index);
            let (ctx, stage, ramp, run) =
                (ctx.clone(), stage.clone(), ramp_tx.clone(), run.clone());
            tokio::spawn(async move {
                let opened =
                    Session::open_limited(&ctx, transport, ctx.source(index), index as u32, room)
                        .await;
                let Some(session) = super::ramp_done(ramp, opened) else {
                    return Report::default();
                };
                run(session, index, stage).await
            })
        })
        .collect();
    Plan::summing(ramp, count, handles)
}

/// Which Engine.IO transport a session uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
pub enum Transport {
    Websocket,
    Polling,
}

/// What a batch of server packets held, besides pings (answered already).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Batch {
    /// The `chat` events received.
    pub chats: Vec<Chat>,
    /// The server closed the session or disconnected it from the namespace.
    pub closed: bool,
    /// HTTP requests this batch took (polling only).
    pub requests: u64,
    /// Acks received: their id and whether they said `ok`.
    pub acks: Vec<(u64, bool)>,
}

/// Which namespace a WebSocket session joins, how, and as whom.
#[derive(Debug, Clone)]
pub struct Join<'a> {
    pub namespace: &'static str,
    /// The CONNECT's auth, a JSON object.
    pub auth: String,
    /// A `Cookie` header value for the Engine.IO request (the chat's visitor).
    pub cookie: Option<&'a str>,
}

/// An open session, CONNECTed to `/relay`.
#[derive(Debug)]
pub enum Session {
    Websocket(WsSession),
    Polling(PollingSession),
}

impl Session {
    /// Opens a session from `source` and joins `room`, within [`CONNECT_TIMEOUT`].
    pub async fn open(
        ctx: &Ctx,
        transport: Transport,
        source: Option<IpAddr>,
        seed: u32,
        room: usize,
    ) -> Result<Session, LoadError> {
        let opening = async {
            match transport {
                Transport::Websocket => Ok(Session::Websocket(
                    WsSession::open(ctx, source, seed, room).await?,
                )),
                Transport::Polling => Ok(Session::Polling(
                    PollingSession::open(ctx, source, room).await?,
                )),
            }
        };
        tokio::time::timeout(CONNECT_TIMEOUT, opening)
            .await
            .map_err(|_| LoadError::Timeout)?
    }

    /// [`Session::open`] under the connect limit.
    pub async fn open_limited(
        ctx: &Ctx,
        transport: Transport,
        source: Option<IpAddr>,
        seed: u32,
        room: usize,
    ) -> Result<Session, LoadError> {
        let _permit = ctx.connect_limit.acquire().await;
        Session::open(ctx, transport, source, seed, room).await
    }

    /// Waits for the next server packets (a polling GET, or WebSocket frames) and answers pings.
    pub async fn next_batch(&mut self) -> Result<Batch, LoadError> {
        match self {
            Session::Websocket(ws) => ws.next_batch().await,
            Session::Polling(p) => p.next_batch().await,
        }
    }

    /// Sends one Socket.IO packet (text).
    pub async fn send(&mut self, packet: &str) -> Result<u64, LoadError> {
        match self {
            Session::Websocket(ws) => ws.send(packet).await.map(|()| 0),
            Session::Polling(p) => p.post(packet).await.map(|()| 1),
        }
    }

    /// Leaves the namespace and closes the session; whether the server answered the close.
    pub async fn close(self) -> bool {
        match self {
            Session::Websocket(ws) => ws.close().await,
            Session::Polling(p) => p.close().await,
        }
    }
}

/// A session over WebSocket.
#[derive(Debug)]
pub struct WsSession {
    namespace: &'static str,
    stream: TcpStream,
    pending: Vec<u8>,
    out: Vec<u8>,
    masker: Masker,
}

impl WsSession {
    /// Opens a session from `source` (no timeout: see [`Session::open`]) and joins `room`.
    pub async fn open(
        ctx: &Ctx,
        source: Option<IpAddr>,
        seed: u32,
        room: usize,
    ) -> Result<WsSession, LoadError> {
        let join = Join {
            namespace: sio::NAMESPACE,
            auth: format!("{{\"room\":\"r{room}\"}}"),
            cookie: None,
        };
        WsSession::open_in(ctx, source, seed, &join).await
    }

    /// Opens a session from `source` (no timeout) and joins `join`'s namespace.
    pub async fn open_in(
        ctx: &Ctx,
        source: Option<IpAddr>,
        seed: u32,
        join: &Join<'_>,
    ) -> Result<WsSession, LoadError> {
        let extra = join
            .cookie
            .map(|cookie| format!("Cookie: {cookie}\r\n"))
            .unwrap_or_default();
        let (stream, pending) = ctx.ws_with(source, &extra).await?;
        let mut session = WsSession {
            namespace: join.namespace,
            stream,
            pending,
            out: Vec::with_capacity(64),
            masker: Masker::new(seed),
        };
        let open = session.next_message().await?;
        match sio::parse(&open) {
            Packet::Open(_) => {}
            _ => return Err(unexpected(&open, true)),
        }
        let connect = sio::connect_packet_in(join.namespace, &join.auth);
        session.send(&connect).await?;
        loop {
            let message = session.next_message().await?;
            match sio::parse_in(&message, join.namespace) {
                Packet::Connected => return Ok(session),
                Packet::Ping => session.send("3").await?,
                Packet::ConnectError(why) => return Err(SioError::Refused(why.into()).into()),
                // Another member's event may come first (the chat's `members`, `join`).
                Packet::Other | Packet::Chat(_) => {}
                _ => return Err(unexpected(&message, false)),
            }
        }
    }

    /// The next text or binary message (pings of the WebSocket layer answered on the way).
    async fn next_message(&mut self) -> Result<Vec<u8>, LoadError> {
        loop {
            if let Some(frame) = proto::decode_frame(&self.pending, MAX_FRAME)? {
                let payload = self
                    .pending
                    .get(frame.payload.0..frame.payload.1)
                    .unwrap_or_default()
                    .to_vec();
                self.pending.drain(..frame.len);
                match frame.opcode {
                    proto::OP_TEXT | proto::OP_BINARY => return Ok(payload),
                    proto::OP_PING => {
                        let mask = self.masker.next_mask();
                        proto::encode_frame(&mut self.out, proto::OP_PONG, &payload, mask);
                        self.flush().await?;
                    }
                    proto::OP_CLOSE => return Err(LoadError::Closed),
                    _ => {}
                }
                continue;
            }
            if self.stream.read_buf(&mut self.pending).await? == 0 {
                return Err(LoadError::Closed);
            }
        }
    }

    /// Waits for server packets and reads them; pongs are queued, not sent, so this can be
    /// cancelled (it only awaits a read) and used in a `select!`. [`WsSession::flush`] sends them.
    pub async fn receive(&mut self) -> Result<Batch, LoadError> {
        let mut batch = Batch::default();
        loop {
            let mut at = 0;
            while let Some(frame) =
                proto::decode_frame(self.pending.get(at..).unwrap_or_default(), MAX_FRAME)?
            {
                let payload = self
                    .pending
                    .get(at + frame.payload.0..at + frame.payload.1)
                    .unwrap_or_default();
                match frame.opcode {
                    proto::OP_TEXT | proto::OP_BINARY => {
                        match sio::parse_in(payload, self.namespace) {
                            Packet::Ping => {
                                let mask = self.masker.next_mask();
                                proto::encode_frame(&mut self.out, proto::OP_TEXT, b"3", mask);
                            }
                            Packet::Chat(chat) => batch.chats.push(chat),
                            Packet::Ack(id, ok) => batch.acks.push((id, ok)),
                            Packet::Closed => batch.closed = true,
                            _ => {}
                        }
                    }
                    proto::OP_PING => {
                        let payload = payload.to_vec();
                        let mask = self.masker.next_mask();
                        proto::encode_frame(&mut self.out, proto::OP_PONG, &payload, mask);
                    }
                    proto::OP_CLOSE => batch.closed = true,
                    _ => {}
                }
                at += frame.len;
            }
            self.pending.drain(..at);
            if at > 0 {
                return Ok(batch);
            }
            if self.stream.read_buf(&mut self.pending).await? == 0 {
                batch.closed = true;
                return Ok(batch);
            }
        }
    }

    async fn next_batch(&mut self) -> Result<Batch, LoadError> {
        let batch = self.receive().await?;
        self.flush().await?;
        Ok(batch)
    }

    /// Sends one text packet.
    pub async fn send(&mut self, packet: &str) -> Result<(), LoadError> {
        let mask = self.masker.next_mask();
        proto::encode_frame(&mut self.out, proto::OP_TEXT, packet.as_bytes(), mask);
        self.flush().await
    }

    /// Sends what [`WsSession::receive`] queued.
    pub async fn flush(&mut self) -> Result<(), LoadError> {
        if !self.out.is_empty() {
            self.stream.write_all(&self.out).await?;
            self.out.clear();
        }
        Ok(())
    }

    /// Leaves the namespace, then a clean WebSocket close.
    pub async fn close(mut self) -> bool {
        if self
            .send(&sio::disconnect_packet_in(self.namespace))
            .await
            .is_err()
        {
            return false;
        }
        let mask = self.masker.next_mask();
        close_ws(&mut self.stream, &mut self.pending, mask).await
    }
}

fn unexpected(packet: &[u8], opening: bool) -> LoadError {
    let text = String::from_utf8_lossy(packet.get(..packet.len().min(120)).unwrap_or_default());
    if opening {
        SioError::NoOpen(text.into_owned()).into()
    } else {
        SioError::Unexpected(text.into_owned()).into()
    }
}

/// A session over HTTP long-polling: one keep-alive connection, requests one after the other
/// (a GET waits for packets; pongs and events go by POST once it has answered).
#[derive(Debug)]
pub struct PollingSession {
    stream: TcpStream,
    buf: Vec<u8>,
    host: String,
    path: String,
    get: String,
}

impl PollingSession {
    async fn open(
        ctx: &Ctx,
        source: Option<IpAddr>,
        room: usize,
    ) -> Result<PollingSession, LoadError> {
        let mut stream = ctx.tcp(source).await?;
        let mut buf = Vec::with_capacity(1024);
        let host = ctx.target.host.clone();
        let handshake = proto::get_request(&host, &sio::polling_path(None));
        let body = exchange(&mut stream, handshake.as_bytes(), &mut buf).await?;
        let sid = match body.first() {
            Some(b'0') => {
                sio::open_sid(&String::from_utf8_lossy(body.get(1..).unwrap_or_default()))?
            }
            _ => return Err(unexpected(&body, true)),
        };
        let path = sio::polling_path(Some(&sid));
        let get = proto::get_request(&host, &path);
        let mut session = PollingSession {
            stream,
            buf,
            host,
            path,
            get,
        };
        session.post(&sio::connect_packet(room)).await?;
        loop {
            let body = session.get_payload().await?;
            let mut connected = false;
            for record in sio::records(&body) {
                match sio::parse(record) {
                    Packet::Connected => connected = true,
                    Packet::Ping => session.post("3").await?,
                    Packet::ConnectError(why) => return Err(SioError::Refused(why.into()).into()),
                    _ => return Err(unexpected(record, false)),
                }
            }
            if connected {
                return Ok(session);
            }
        }
    }

    async fn get_payload(&mut self) -> Result<Vec<u8>, LoadError> {
        exchange(&mut self.stream, self.get.as_bytes(), &mut self.buf).await
    }

    async fn next_batch(&mut self) -> Result<Batch, LoadError> {
        let body = self.get_payload().await?;
        let mut batch = Batch {
            requests: 1,
            ..Batch::default()
        };
        let mut pings = 0;
        for record in sio::records(&body) {
            match sio::parse(record) {
                Packet::Ping => pings += 1,
                Packet::Chat(chat) => batch.chats.push(chat),
                Packet::Closed => batch.closed = true,
                _ => {}
            }
        }
        for _ in 0..pings {
            self.post("3").await?;
            batch.requests += 1;
        }
        Ok(batch)
    }

    async fn post(&mut self, packet: &str) -> Result<(), LoadError> {
        let request = sio::post_request(&self.host, &self.path, packet);
        exchange(&mut self.stream, request.as_bytes(), &mut self.buf).await?;
        Ok(())
    }

    /// Leaves the namespace and closes the Engine.IO session (`1`).
    async fn close(mut self) -> bool {
        let leave = format!("{}\u{1e}1", sio::disconnect_packet());
        self.post(&leave).await.is_ok()
    }
}

/// One request on a keep-alive connection; the response body (status 200 expected).
async fn exchange(
    stream: &mut TcpStream,
    request: &[u8],
    buf: &mut Vec<u8>,
) -> Result<Vec<u8>, LoadError> {
    let response = super::http::round_trip(stream, request, buf).await?;
    let body = buf.get(response.body.clone()).unwrap_or_default().to_vec();
    buf.drain(..response.body.end);
    Ok(body)
}
