//! `sio-fanout`: sessions over WebSocket in rooms; the first member of each room also sends
//! `rate` `chat` events per second, each carrying its send time, and the relay delivers every
//! one to the whole room (sender included).
//!
//! Counting is decided by the sender so that every worker process agrees on it: an event sent
//! in the window's tracked part, `[start, end − tail)`, is marked in its payload and owed to
//! every member of its room (the room sizes follow from the session numbering,
//! [`sio::room_size`]); the tail leaves it time to arrive before the window closes. Latency is receipt time minus send time on the
//! wall clock, which sender and receiver processes share. Every receipt in the window counts
//! as a delivery for the rate and the server's CPU per delivery.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::sio_session::{start_sessions, Session, Transport, WsSession};
use super::{Ctx, LoadError, Plan, Stage};
use crate::histogram::Histogram;
use crate::report::Report;
use crate::sio;

/// How the load is shaped.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Sessions over all workers.
    pub sessions: usize,
    pub rooms: usize,
    /// Events per second each room's sender emits.
    pub rate: f64,
    /// The window's length.
    pub seconds: f64,
}

impl Shape {
    /// The end part of the window whose sends are not tracked (still in flight at its end).
    pub fn tail(&self) -> Duration {
        Duration::from_secs_f64((self.seconds / 4.0).min(1.0))
    }
}

/// Starts `count` sessions; session `i` has the global number `first + i`.
pub fn plan(
    ctx: Arc<Ctx>,
    shape: Shape,
    first: usize,
    count: usize,
    stage: watch::Receiver<Stage>,
) -> Plan {
    let room = move |index| sio::room_of(index, shape.rooms);
    start_sessions(
        ctx,
        Transport::Websocket,
        (first, count),
        room,
        stage,
        move |session, index, stage| async move {
            // A WebSocket transport opens WebSocket sessions only.
            let Session::Websocket(session) = session else {
                return Report::default();
            };
            member(session, shape, index, stage).await
        },
    )
}

async fn member(
    mut session: WsSession,
    shape: Shape,
    index: usize,
    mut stage: watch::Receiver<Stage>,
) -> Report {
    let mut report = Report {
        connected: 1,
        ..Report::default()
    };
    let room = sio::room_of(index, shape.rooms);
    let sender = index < shape.rooms;
    let room_size = sio::room_size(room, shape.sessions, shape.rooms) as u64;
    let interval = Duration::from_secs_f64(1.0 / shape.rate.max(0.001));
    let mut latency = Histogram::new();
    let mut tracked = (0u64, 0u64);
    let mut next_send: Option<Instant> = None;
    let far = || Instant::now() + Duration::from_secs(3600);
    let result: Result<(), LoadError> = async {
        loop {
            let current = *stage.borrow();
            match current {
                Stage::Close => return Ok(()),
                Stage::Window { start, end } if tracked == (0, 0) => {
                    tracked = sio::tracked_us(start, end, shape.tail());
                    if sender {
                        // Senders spread over the interval, so the server sees a steady rate.
                        let phase = interval.mul_f64(room as f64 / shape.rooms.max(1) as f64);
                        next_send = Some(start + phase);
                    }
                }
                _ => {}
            }
            let send_at = next_send.unwrap_or_else(far);
            tokio::select! {
                batch = session.receive() => {
                    let batch = batch?;
                    let now = Instant::now();
                    let now_us = sio::now_us();
                    for chat in batch.chats {
                        if current.in_window(now) {
                            report.deliveries += 1;
                        }
                        if chat.tracked {
                            report.deliveries_tracked += 1;
                            latency.record(now_us.saturating_sub(chat.sent_us));
                        }
                    }
                    if batch.closed {
                        return Err(LoadError::Closed);
                    }
                    session.flush().await?;
                }
                _ = tokio::time::sleep_until(send_at.into()) => {
                    let sent = sio::now_us();
                    let owed = sent >= tracked.0 && sent < tracked.1;
                    session.send(&sio::chat_packet(sent, index, owed)).await?;
                    report.events_sent += 1;
                    if owed {
                        report.deliveries_expected += room_size;
                    }
                    // The next send keeps to the schedule; a late one does not cause a burst.
                    let next = send_at + interval;
                    next_send = Some(next.max(Instant::now()));
                    if let Stage::Window { end, .. } = current {
                        if next >= end {
                            next_send = None;
                        }
                    }
                }
                changed = stage.changed() => if changed.is_err() { return Ok(()) },
            }
        }
    }
    .await;
    match result {
        Ok(()) => {
            session.close().await;
        }
        Err(error) => {
            report.dropped = 1;
            report.error(format!("fan-out session: {error}"));
        }
    }
    report.latency_histogram = Some(latency);
    report
}
