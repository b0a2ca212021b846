//! `sio-polling`: long-polling sessions, each alone in its room, exchanging events with the
//! server: POST a `chat`, GET until it comes back (the relay includes the sender), again. It
//! measures what the polling transport costs per event: HTTP requests, and server CPU per
//! event echoed through the room.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::watch;

use super::sio_session::{start_sessions, Session, Transport};
use super::{wait_past_ramp, Ctx, Plan, Stage};
use crate::histogram::Histogram;
use crate::report::Report;
use crate::sio;

/// Starts `count` polling sessions; session `i` is alone in room `first + i`.
pub fn plan(ctx: Arc<Ctx>, first: usize, count: usize, stage: watch::Receiver<Stage>) -> Plan {
    // Each session alone in its room: the room is its number.
    start_sessions(
        ctx,
        Transport::Polling,
        (first, count),
        |index| index,
        stage,
        exchange_loop,
    )
}

async fn exchange_loop(
    mut session: Session,
    index: usize,
    mut stage: watch::Receiver<Stage>,
) -> Report {
    let mut report = Report {
        connected: 1,
        ..Report::default()
    };
    let mut rtt = Histogram::new();
    let Stage::Window { end, .. } = wait_past_ramp(&mut stage).await else {
        return report;
    };
    let exchange = async {
        loop {
            let sent = Instant::now();
            report.requests += session
                .send(&sio::chat_packet(sio::now_us(), index, true))
                .await?;
            report.events_sent += 1;
            loop {
                let batch = session.next_batch().await?;
                report.requests += batch.requests;
                if batch.closed {
                    return Err::<(), _>(super::LoadError::Closed);
                }
                if !batch.chats.is_empty() {
                    report.events += batch.chats.len() as u64;
                    rtt.record(sent.elapsed().as_micros() as u64);
                    break;
                }
            }
        }
    };
    // The window's end cuts the exchange wherever it is; the session is then abandoned (its
    // request in flight would make a clean close wait for it).
    if let Ok(Err(error)) = tokio::time::timeout_at(end.into(), exchange).await {
        report.dropped = 1;
        report.error(format!("polling exchange: {error}"));
    }
    report.rtt_histogram = Some(rtt);
    report
}
