//! `chat-post` and `chat-socket`: the chat room itself, which stores every line (SQLite or
//! PostgreSQL) before relaying it, measured apart from the `/relay` loads.
//!
//! `rooms` rooms of `members` visitors each (at most 10, the room's cap); every member has the
//! room page's `/chat` socket in its room and posts lines as fast as the answers come back (or
//! at `rate` lines/s): over `POST /room/<id>/chat` on its own keep-alive connection
//! (`chat-post`), or as the socket's `chat` event with an ack (`chat-socket`). Every member's
//! socket receives every line of its room, its own included.
//!
//! A line's text carries its send time ([`sio::chat_line`]), so latency is receipt − send on
//! the wall clock; as in `sio-fanout`, a line stored in the window's tracked part is owed to
//! every member of its room and counted as lost if it never arrives. A chat counts as stored
//! when its `200` or `ok` ack arrives in the window. Room numbering: member `i` is in room
//! `i % rooms` and member `r < rooms` creates room `r`, so every room is full before the window.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};

use super::chat_visitor::Visitor;
use super::sio_session::WsSession;
use super::{ramp_done, wait_past_ramp, Ctx, LoadError, Plan, Stage, CONNECT_TIMEOUT};
use crate::histogram::Histogram;
use crate::report::Report;
use crate::sio;

/// How the members post.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// `POST /room/<id>/chat` with JSON `{chat}`.
    Http,
    /// The socket's `chat` event with an ack.
    Socket,
}

/// How the load is shaped.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub rooms: usize,
    /// Members per room (1 to 10).
    pub members: usize,
    /// Lines per second each member posts; 0: the next as soon as the last is answered.
    pub rate: f64,
    pub seconds: f64,
    pub via: Via,
}

impl Shape {
    /// Every member of every room.
    pub fn sessions(&self) -> usize {
        self.rooms * self.members
    }

    /// The end part of the window whose lines are not tracked (still in flight at its end).
    fn tail(&self) -> Duration {
        Duration::from_secs_f64((self.seconds / 4.0).min(1.0))
    }

    /// Time between two lines of a member, if paced.
    fn interval(&self) -> Option<Duration> {
        (self.rate > 0.0).then(|| Duration::from_secs_f64(1.0 / self.rate))
    }
}

/// The rooms' ids as their creators learn them, for the other members to wait on.
type RoomIds = Arc<Vec<watch::Sender<Option<String>>>>;

/// The id of a room once its creator has it.
pub(super) async fn room_id(
    ids: &mut watch::Receiver<Option<String>>,
) -> Result<String, LoadError> {
    let id = ids
        .wait_for(Option::is_some)
        .await
        .map_err(|_| LoadError::Closed)?;
    Ok(id.clone().unwrap_or_default())
}

/// Starts members `first..first + count` (the chat modes run in one worker: room ids are
/// shared in memory).
pub fn plan(
    ctx: Arc<Ctx>,
    shape: Shape,
    first: usize,
    count: usize,
    stage: watch::Receiver<Stage>,
) -> Plan {
    let rooms: RoomIds = Arc::new((0..shape.rooms).map(|_| watch::channel(None).0).collect());
    let (ramp_tx, ramp) = mpsc::unbounded_channel();
    let handles = (first..first + count)
        .map(|index| {
            let (ctx, rooms, stage, ramp) =
                (ctx.clone(), rooms.clone(), stage.clone(), ramp_tx.clone());
            tokio::spawn(async move {
                let joined =
                    tokio::time::timeout(CONNECT_TIMEOUT, join(&ctx, &rooms, shape, index))
                        .await
                        .unwrap_or(Err(LoadError::Timeout));
                let Some((visitor, socket, room_id)) = ramp_done(ramp, joined) else {
                    return Report::default();
                };
                member(ctx, shape, index, visitor, socket, room_id, stage).await
            })
        })
        .collect();
    Plan::summing(ramp, count, handles)
}

/// Makes member `index` a member: a visitor with its cookie, the room (created by its first
/// member), the socket in it.
async fn join(
    ctx: &Ctx,
    rooms: &RoomIds,
    shape: Shape,
    index: usize,
) -> Result<(Visitor, WsSession, String), LoadError> {
    let room = sio::room_of(index, shape.rooms);
    let source = ctx.source(index);
    let mut visitor = {
        let _permit = ctx.connect_limit.acquire().await;
        Visitor::arrive(ctx, source).await?
    };
    let ids = rooms.get(room).ok_or(LoadError::Closed)?;
    if index == room {
        let id = visitor.create_room(ctx, &format!("bench {room}")).await?;
        let socket = visitor.enter(ctx, index as u32, &id).await?;
        // Published once the creator is in: a room is removed when empty for 2 s.
        ids.send_replace(Some(id.clone()));
        return Ok((visitor, socket, id));
    }
    let id = room_id(&mut ids.subscribe()).await?;
    let _permit = ctx.connect_limit.acquire().await;
    let socket = visitor.enter(ctx, index as u32, &id).await?;
    Ok((visitor, socket, id))
}

/// When member `index` first posts: members spread over one interval, so a paced load is
/// steady rather than in bursts.
fn first_post(start: Instant, shape: Shape, index: usize) -> Instant {
    match shape.interval() {
        Some(interval) => start + interval.mul_f64(index as f64 / shape.sessions().max(1) as f64),
        None => start,
    }
}

/// What one member counts.
struct Tally {
    report: Report,
    /// Send → receipt of the `chat` event, tracked lines.
    latency: Histogram,
    /// Send → `200` or ack.
    answer: Histogram,
    room_size: u64,
}

impl Tally {
    fn new(room_size: u64) -> Tally {
        Tally {
            report: Report {
                connected: 1,
                ..Report::default()
            },
            latency: Histogram::new(),
            answer: Histogram::new(),
            room_size,
        }
    }

    /// Counts the `chat` events of a batch received at `now`.
    fn received(&mut self, chats: &[sio::Chat], stage: Stage, now: Instant) {
        let now_us = sio::now_us();
        for chat in chats {
            if stage.in_window(now) {
                self.report.deliveries += 1;
            }
            if chat.tracked {
                self.report.deliveries_tracked += 1;
                self.latency.record(now_us.saturating_sub(chat.sent_us));
            }
        }
    }

    /// Counts a line the room stored (answered at `now`, sent at `sent`).
    fn stored(&mut self, sent: Instant, owed: bool, stage: Stage, now: Instant) {
        self.answer
            .record(now.duration_since(sent).as_micros() as u64);
        if stage.in_window(now) {
            self.report.chats_stored += 1;
        }
        if owed {
            self.report.deliveries_expected += self.room_size;
        }
    }

    /// Adds a part's counts (the poster's or the receiver's).
    fn absorb(&mut self, part: Tally) {
        let mut report = part.finish();
        self.latency
            .merge(&report.latency_histogram.take().unwrap_or_default());
        self.answer
            .merge(&report.rtt_histogram.take().unwrap_or_default());
        report.connected = 0;
        self.report.absorb(&report);
    }

    fn finish(mut self) -> Report {
        self.report.latency_histogram = Some(self.latency);
        self.report.rtt_histogram = Some(self.answer);
        self.report
    }
}

async fn member(
    ctx: Arc<Ctx>,
    shape: Shape,
    index: usize,
    visitor: Visitor,
    mut socket: WsSession,
    room_id: String,
    mut stage: watch::Receiver<Stage>,
) -> Report {
    let room = sio::room_of(index, shape.rooms);
    let mut tally = Tally::new(sio::room_size(room, shape.sessions(), shape.rooms) as u64);
    let result = match shape.via {
        Via::Http => {
            let (posted, received) = tokio::join!(
                post_lines(&ctx, visitor, &room_id, shape, index, stage.clone()),
                receive_lines(&mut socket, stage.clone()),
            );
            tally.absorb(posted);
            tally.absorb(received);
            Ok(())
        }
        Via::Socket => emit_lines(&mut socket, shape, index, &mut stage, &mut tally).await,
    };
    match result {
        Ok(()) => {
            socket.close().await;
        }
        Err(error) => {
            tally.report.dropped = 1;
            tally.report.error(format!("chat member: {error}"));
        }
    }
    tally.finish()
}

/// `chat-post`'s poster: one `POST /room/<id>/chat` after the other on the visitor's
/// keep-alive connection, paced when the shape has a rate.
async fn post_lines(
    ctx: &Ctx,
    mut visitor: Visitor,
    room_id: &str,
    shape: Shape,
    index: usize,
    mut stage: watch::Receiver<Stage>,
) -> Tally {
    let mut tally = Tally::new(shape.members as u64);
    let current = wait_past_ramp(&mut stage).await;
    let Stage::Window { start, end } = current else {
        return tally;
    };
    let tracked = sio::tracked_us(start, end, shape.tail());
    let path = format!("/room/{room_id}/chat");
    let mut next = first_post(start, shape, index);
    loop {
        if let Some(interval) = shape.interval() {
            tokio::time::sleep_until(next.into()).await;
            next = (next + interval).max(Instant::now());
        }
        if Instant::now() >= end {
            break;
        }
        let sent_us = sio::now_us();
        let owed = sent_us >= tracked.0 && sent_us < tracked.1;
        let body = format!("{{\"chat\":\"{}\"}}", sio::chat_line(sent_us, index, owed));
        let sent = Instant::now();
        tally.report.events_sent += 1;
        let answered = tokio::time::timeout(
            CONNECT_TIMEOUT,
            visitor.post(ctx, &path, "application/json", &body),
        )
        .await
        .unwrap_or(Err(LoadError::Timeout));
        let now = Instant::now();
        match answered {
            Ok(reply) if reply.status == 200 => tally.stored(sent, owed, current, now),
            Ok(reply) => tally
                .report
                .error(format!("POST {path}: {}", reply.describe())),
            Err(error) => {
                tally.report.dropped = 1;
                tally.report.error(format!("POST {path}: {error}"));
                break;
            }
        }
    }
    tally
}

/// `chat-post`'s receiver: the member's socket, counting the room's lines until the close.
async fn receive_lines(socket: &mut WsSession, mut stage: watch::Receiver<Stage>) -> Tally {
    let mut tally = Tally::new(0);
    let result: Result<(), LoadError> = async {
        loop {
            let current = *stage.borrow();
            if current == Stage::Close {
                return Ok(());
            }
            tokio::select! {
                batch = socket.receive() => {
                    let batch = batch?;
                    tally.received(&batch.chats, current, Instant::now());
                    if batch.closed {
                        return Err(LoadError::Closed);
                    }
                    socket.flush().await?;
                }
                changed = stage.changed() => if changed.is_err() { return Ok(()) },
            }
        }
    }
    .await;
    if let Err(error) = result {
        tally.report.dropped = 1;
        tally.report.error(format!("chat socket: {error}"));
    }
    tally
}

/// `chat-socket`'s member: emits `chat` with an ack on its socket, the next once the last is
/// acked (or on schedule when paced), while counting the room's lines.
async fn emit_lines(
    socket: &mut WsSession,
    shape: Shape,
    index: usize,
    stage: &mut watch::Receiver<Stage>,
    tally: &mut Tally,
) -> Result<(), LoadError> {
    let far = || Instant::now() + Duration::from_secs(3600);
    let mut tracked = (0u64, 0u64);
    let mut next_send: Option<Instant> = None;
    // The line awaiting its ack: id, send time, owed (one at a time, as a page's user waits).
    let mut in_flight: Option<(u64, Instant, bool)> = None;
    let mut ack_id = 0u64;
    loop {
        let current = *stage.borrow();
        match current {
            Stage::Close => return Ok(()),
            Stage::Window { start, end } if tracked == (0, 0) => {
                tracked = sio::tracked_us(start, end, shape.tail());
                next_send = Some(first_post(start, shape, index));
            }
            _ => {}
        }
        // Sent here rather than from a timer: a timer already due still waits for the runtime's
        // next millisecond tick, which would pace an unpaced member at 1 line per ms.
        if let Some(at) = next_send.filter(|at| in_flight.is_none() && *at <= Instant::now()) {
            let sent_us = sio::now_us();
            let owed = sent_us >= tracked.0 && sent_us < tracked.1;
            ack_id += 1;
            let line = sio::chat_line(sent_us, index, owed);
            socket.send(&sio::room_chat_packet(ack_id, &line)).await?;
            in_flight = Some((ack_id, Instant::now(), owed));
            tally.report.events_sent += 1;
            next_send = match (shape.interval(), current) {
                (Some(interval), Stage::Window { end, .. }) => {
                    let next = (at + interval).max(Instant::now());
                    (next < end).then_some(next)
                }
                // Unpaced: the next once this one is acked.
                (None, Stage::Window { end, .. }) if Instant::now() < end => Some(far()),
                _ => None,
            };
            continue;
        }
        let wake_at = match next_send {
            Some(at) if in_flight.is_none() => at,
            _ => far(),
        };
        tokio::select! {
            batch = socket.receive() => {
                let batch = batch?;
                let now = Instant::now();
                tally.received(&batch.chats, current, now);
                for (id, ok) in batch.acks {
                    let Some((_, sent, owed)) = in_flight.filter(|(awaited, ..)| *awaited == id) else {
                        continue;
                    };
                    in_flight = None;
                    if ok {
                        tally.stored(sent, owed, current, now);
                    } else {
                        tally.report.error(format!("chat {id} refused"));
                    }
                    if shape.interval().is_none() && next_send.is_some() {
                        next_send = Some(now);
                    }
                }
                if batch.closed {
                    return Err(LoadError::Closed);
                }
                socket.flush().await?;
            }
            _ = tokio::time::sleep_until(wake_at.into()) => {}
            changed = stage.changed() => if changed.is_err() { return Ok(()) },
        }
        if let Stage::Window { end, .. } = current {
            if Instant::now() >= end {
                next_send = None;
            }
        }
    }
}
