//! `chat-page`: the chat's first load, `GET /rooms` and `GET /room/<id>` with a history, as a
//! visitor opening the list and then a room would, over keep-alive connections.
//!
//! Before the window, hosts create `rooms` rooms (so the list has rows) and keep each one's
//! `/chat` socket in it (an empty room is removed after 2 s); the first host posts `history`
//! lines into its room over the socket, one after the other's ack (the room page then shows
//! the last `CHAT_HISTORY_LIMIT`, 200 by default). Each loader is a visitor with its own cookie
//! that, in the window, asks for the list and that room's page in turn; every answer must be
//! `200`. The page's lines are counted once per loader before the window, to show the history
//! is really there.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};

use super::chat_visitor::Visitor;
use super::sio_session::WsSession;
use super::{ramp_done, wait_past_ramp, Ctx, LoadError, Plan, Stage, CONNECT_TIMEOUT};
use crate::histogram::Histogram;
use crate::report::Report;
use crate::sio;

/// How the load is shaped.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Keep-alive loaders.
    pub connections: usize,
    /// Rooms on the list.
    pub rooms: usize,
    /// Lines posted into the loaded room.
    pub history: usize,
}

/// How long the hosts' setup may take (hundreds of stored lines).
const SETUP_TIMEOUT: Duration = Duration::from_secs(120);

/// Starts the hosts and `count` loaders (one worker: the room id is shared in memory).
pub fn plan(ctx: Arc<Ctx>, shape: Shape, count: usize, stage: watch::Receiver<Stage>) -> Plan {
    let rooms = shape.rooms.max(1);
    let (ramp_tx, ramp) = mpsc::unbounded_channel();
    let (room_tx, room_rx) = watch::channel(None::<String>);
    let room_tx = Arc::new(room_tx);
    let mut handles = Vec::new();
    for host in 0..rooms {
        let (ctx, stage, ramp, room_tx) =
            (ctx.clone(), stage.clone(), ramp_tx.clone(), room_tx.clone());
        handles.push(tokio::spawn(async move {
            let lines = if host == 0 { shape.history } else { 0 };
            let hosted = tokio::time::timeout(SETUP_TIMEOUT, open_room(&ctx, host, lines))
                .await
                .unwrap_or(Err(LoadError::Timeout));
            let Some((socket, id)) = ramp_done(ramp, hosted) else {
                return Report::default();
            };
            if host == 0 {
                room_tx.send_replace(Some(id));
            }
            keep(socket, stage).await
        }));
    }
    for index in 0..count {
        let (ctx, stage, ramp, mut room_rx) =
            (ctx.clone(), stage.clone(), ramp_tx.clone(), room_rx.clone());
        handles.push(tokio::spawn(async move {
            let ready = async {
                let id = super::chat::room_id(&mut room_rx).await?;
                let _permit = ctx.connect_limit.acquire().await;
                let arrived =
                    tokio::time::timeout(CONNECT_TIMEOUT, arrive(&ctx, rooms + index, &id))
                        .await
                        .unwrap_or(Err(LoadError::Timeout))?;
                Ok::<_, LoadError>((arrived, id))
            };
            let Some(((visitor, lines), id)) = ramp_done(ramp, ready.await) else {
                return Report::default();
            };
            load(ctx, visitor, &id, lines, stage).await
        }));
    }
    Plan::summing(ramp, rooms + count, handles)
}

/// A host: a visitor creates a room, enters it, and posts `lines` lines over the socket.
async fn open_room(ctx: &Ctx, host: usize, lines: usize) -> Result<(WsSession, String), LoadError> {
    let mut visitor = Visitor::arrive(ctx, ctx.source(host)).await?;
    let id = visitor.create_room(ctx, &format!("page {host}")).await?;
    let mut socket = visitor.enter(ctx, host as u32, &id).await?;
    for n in 0..lines {
        let ack = n as u64 + 1;
        let line = sio::chat_line(sio::now_us(), host, false);
        socket.send(&sio::room_chat_packet(ack, &line)).await?;
        loop {
            let batch = socket.receive().await?;
            socket.flush().await?;
            if batch.closed {
                return Err(LoadError::Closed);
            }
            match batch.acks.iter().find(|(id, _)| *id == ack) {
                Some((_, true)) => break,
                Some((_, false)) => {
                    return Err(LoadError::Refused(format!("history line {n} refused")))
                }
                None => {}
            }
        }
    }
    Ok((socket, id))
}

/// A host's socket through the window: pings answered, then a clean leave.
async fn keep(mut socket: WsSession, mut stage: watch::Receiver<Stage>) -> Report {
    let mut report = Report::default();
    let result: Result<(), LoadError> = async {
        loop {
            if *stage.borrow() == Stage::Close {
                return Ok(());
            }
            tokio::select! {
                batch = socket.receive() => {
                    if batch?.closed {
                        return Err(LoadError::Closed);
                    }
                    socket.flush().await?;
                }
                changed = stage.changed() => if changed.is_err() { return Ok(()) },
            }
        }
    }
    .await;
    match result {
        Ok(()) => {
            socket.close().await;
        }
        Err(error) => report.error(format!("room host: {error}")),
    }
    report
}

/// A loader arrives (its cookie from `/rooms`) and loads the room once: the lines it shows.
async fn arrive(ctx: &Ctx, index: usize, id: &str) -> Result<(Visitor, u64), LoadError> {
    let mut visitor = Visitor::arrive(ctx, ctx.source(index)).await?;
    let page = visitor.get(ctx, &format!("/room/{id}")).await?;
    if page.status != 200 {
        return Err(LoadError::Refused(format!(
            "GET /room/{id}: {}",
            page.describe()
        )));
    }
    let text = String::from_utf8_lossy(&page.body);
    Ok((visitor, text.matches(" from=").count() as u64))
}

/// A loader's window: the list and the room's page in turn.
async fn load(
    ctx: Arc<Ctx>,
    mut visitor: Visitor,
    id: &str,
    lines: u64,
    mut stage: watch::Receiver<Stage>,
) -> Report {
    let mut report = Report {
        connected: 1,
        history_lines: lines,
        ..Report::default()
    };
    let mut latency = Histogram::new();
    let Stage::Window { end, .. } = wait_past_ramp(&mut stage).await else {
        return report;
    };
    let paths = ["/rooms".to_owned(), format!("/room/{id}")];
    for path in paths.iter().cycle() {
        if Instant::now() >= end {
            break;
        }
        let sent = Instant::now();
        let got = tokio::time::timeout_at(end.into(), visitor.get(&ctx, path)).await;
        match got {
            Err(_) => break, // the window closed mid-request
            Ok(Ok(reply)) if reply.status == 200 => {
                report.requests += 1;
                latency.record(sent.elapsed().as_micros() as u64);
            }
            Ok(Ok(reply)) => report.error(format!("GET {path}: {}", reply.describe())),
            Ok(Err(error)) => {
                report.dropped = 1;
                report.error(format!("GET {path}: {error}"));
                break;
            }
        }
    }
    report.rtt_histogram = Some(latency);
    report
}
