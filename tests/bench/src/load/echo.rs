//! `echo`: connections to `/echo`, each keeping a fixed number of binary messages in flight.
//! Every echo received in the window counts and its round trip is timed; each one is replaced
//! by a new message until the window ends. Echoes come back in order, so a queue of send times
//! per connection pairs them.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, watch};

use super::{close_ws, ramp_done, wait_past_ramp, Ctx, Plan, Stage, MAX_FRAME};
use crate::histogram::Histogram;
use crate::proto::{self, Masker};
use crate::report::Report;

/// Bytes one read may take.
const READ_CHUNK: usize = 16 * 1024;

/// Starts `count` echo connections with `in_flight` messages of `size` bytes each.
pub fn plan(
    ctx: Arc<Ctx>,
    first: usize,
    count: usize,
    in_flight: usize,
    size: usize,
    stage: watch::Receiver<Stage>,
) -> Plan {
    let (ramp_tx, ramp) = mpsc::unbounded_channel();
    let payload: Arc<[u8]> = (0..size).map(|i| b'a' + (i % 26) as u8).collect();
    let handles: Vec<_> = (0..count)
        .map(|i| {
            tokio::spawn(connection(
                ctx.clone(),
                first + i,
                in_flight.max(1),
                payload.clone(),
                stage.clone(),
                ramp_tx.clone(),
            ))
        })
        .collect();
    Plan::summing(ramp, count, handles)
}

async fn connection(
    ctx: Arc<Ctx>,
    index: usize,
    in_flight: usize,
    payload: Arc<[u8]>,
    mut stage: watch::Receiver<Stage>,
    ramp: mpsc::UnboundedSender<Result<(), String>>,
) -> Report {
    let mut report = Report::default();
    let Some((mut stream, mut pending)) = ramp_done(ramp, ctx.ws_limited(ctx.source(index)).await)
    else {
        return report;
    };
    report.connected = 1;
    let mut masker = Masker::new(index as u32);
    let mut histogram = Histogram::new();
    let window = wait_past_ramp(&mut stage).await;
    let Stage::Window { end, .. } = window else {
        close_ws(&mut stream, &mut pending, masker.next_mask()).await;
        return report;
    };
    let mut sent: VecDeque<Instant> = VecDeque::with_capacity(in_flight);
    let mut out = Vec::with_capacity(in_flight * (payload.len() + 14));
    let now = Instant::now();
    for _ in 0..in_flight {
        proto::encode_frame(&mut out, proto::OP_BINARY, &payload, masker.next_mask());
        sent.push_back(now);
    }
    loop {
        if !out.is_empty() {
            if let Err(error) = stream.write_all(&out).await {
                report.dropped = 1;
                report.error(format!("write: {error}"));
                break;
            }
            out.clear();
        }
        if sent.is_empty() && Instant::now() >= end {
            break;
        }
        // Room for a whole burst of echoes: one read per wake-up, as the server does.
        pending.reserve(READ_CHUNK);
        let read = tokio::select! {
            read = stream.read_buf(&mut pending) => read,
            _ = tokio::time::sleep_until(end.into()) => {
                // Window over: echoes still in flight no longer count.
                break;
            }
        };
        match read {
            Ok(0) => {
                report.dropped = 1;
                report.error("EOF from the server");
                return report;
            }
            Ok(_) => {}
            Err(error) => {
                report.dropped = 1;
                report.error(format!("read: {error}"));
                return report;
            }
        }
        let now = Instant::now();
        let mut at = 0;
        loop {
            let rest = pending.get(at..).unwrap_or_default();
            let frame = match proto::decode_frame(rest, MAX_FRAME) {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(error) => {
                    report.dropped = 1;
                    report.error(error);
                    return report;
                }
            };
            match frame.opcode {
                proto::OP_BINARY | proto::OP_TEXT => {
                    if let Some(at) = sent.pop_front() {
                        if now < end {
                            report.messages += 1;
                            histogram.record(now.duration_since(at).as_micros() as u64);
                            proto::encode_frame(
                                &mut out,
                                proto::OP_BINARY,
                                &payload,
                                masker.next_mask(),
                            );
                            sent.push_back(now);
                        }
                    }
                }
                proto::OP_CLOSE => {
                    report.dropped = 1;
                    report.error("close frame from the server");
                    return report;
                }
                _ => {}
            }
            at += frame.len;
        }
        // One move of the partial frame left over, not one per frame.
        pending.drain(..at);
    }
    report.rtt_histogram = Some(histogram);
    // Wait for the Close stage so no connection closes while others are still measured.
    let _ = stage.wait_for(|s| *s == Stage::Close).await;
    close_ws(&mut stream, &mut pending, masker.next_mask()).await;
    report
}
