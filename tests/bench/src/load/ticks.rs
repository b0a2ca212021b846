//! `ticks`: connections that behave like the seed's page. Each answers every server message with
//! the page's reply; in the window it counts ticks and measures how far each gap between two
//! ticks strays from the interval (each connection has its own phase, so only gaps mean anything).

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::{close_ws, ramp_done, Ctx, Plan, Stage, MAX_FRAME};
use crate::histogram::Histogram;
use crate::proto::{self, Masker};
use crate::report::Report;

/// What one connection saw.
#[derive(Debug, Default)]
struct ConnStats {
    connected: bool,
    dropped: bool,
    ticks: u64,
    replies: u64,
    /// Deviations of gaps in the window, µs.
    deviations: Vec<u32>,
    error: Option<String>,
}

/// Starts `count` tick connections; connection `i` has the global number `first + i`.
pub fn plan(
    ctx: Arc<Ctx>,
    first: usize,
    count: usize,
    interval: Duration,
    seconds: f64,
    stage: watch::Receiver<Stage>,
) -> Plan {
    let (ramp_tx, ramp) = mpsc::unbounded_channel();
    let handles: Vec<JoinHandle<ConnStats>> = (0..count)
        .map(|i| {
            let index = first + i;
            tokio::spawn(connection(
                ctx.clone(),
                index,
                interval,
                stage.clone(),
                ramp_tx.clone(),
            ))
        })
        .collect();
    let collect = Box::pin(async move {
        let mut report = Report::default();
        let mut histogram = Histogram::new();
        let mut open_in_window = 0u64;
        for handle in handles {
            let stats = match handle.await {
                Ok(stats) => stats,
                Err(error) => {
                    report.error(format!("task: {error}"));
                    continue;
                }
            };
            if stats.connected {
                report.connected += 1;
                open_in_window += 1;
            }
            report.dropped += u64::from(stats.dropped);
            report.ticks_received += stats.ticks;
            report.replies_sent += stats.replies;
            for d in stats.deviations {
                histogram.record(u64::from(d));
            }
            if let Some(error) = stats.error {
                report.error(error);
            }
        }
        report.tick_histogram = Some(histogram);
        report.ticks_expected = expected_ticks(open_in_window, seconds, interval);
        report
    });
    Plan {
        ramp,
        ramp_expected: count,
        collect,
    }
}

/// Expected ticks for `open` connections over `seconds` with `interval`: a strictly periodic
/// schedule puts exactly `seconds / interval` ticks in any window of that length.
pub fn expected_ticks(open: u64, seconds: f64, interval: Duration) -> u64 {
    let per_connection = seconds / interval.as_secs_f64().max(f64::MIN_POSITIVE);
    (open as f64 * per_connection).round() as u64
}

async fn connection(
    ctx: Arc<Ctx>,
    index: usize,
    interval: Duration,
    mut stage: watch::Receiver<Stage>,
    ramp: mpsc::UnboundedSender<Result<(), String>>,
) -> ConnStats {
    let mut stats = ConnStats::default();
    let Some((mut stream, mut pending)) = ramp_done(ramp, ctx.ws_limited(ctx.source(index)).await)
    else {
        return stats;
    };
    stats.connected = true;
    let mut masker = Masker::new(index as u32);
    let mut out = Vec::with_capacity(128);
    let mut last_tick: Option<Instant> = None;
    let interval_us = interval.as_micros() as i128;
    let mut sender_gone = false;
    loop {
        let now = Instant::now();
        let current = if sender_gone {
            Stage::Close
        } else {
            *stage.borrow()
        };
        let mut at = 0;
        loop {
            let rest = pending.get(at..).unwrap_or_default();
            let frame = match proto::decode_frame(rest, MAX_FRAME) {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(error) => {
                    stats.dropped = true;
                    stats.error = Some(error.to_string());
                    return stats;
                }
            };
            match frame.opcode {
                proto::OP_TEXT | proto::OP_BINARY | proto::OP_CONTINUATION => {
                    if current.in_window(now) {
                        stats.ticks += 1;
                        if let Some(last) = last_tick {
                            let gap = now.duration_since(last).as_micros() as i128;
                            let deviation = (gap - interval_us).unsigned_abs();
                            if let (Some(limit), Stage::Window { start, .. }) =
                                (ctx.trace_late, current)
                            {
                                if deviation > limit.as_micros() {
                                    eprintln!(
                                        "late: connection {index} at {:.3} s of the window: \
                                         gap off by {:.1} ms",
                                        now.duration_since(start).as_secs_f64(),
                                        deviation as f64 / 1000.0
                                    );
                                }
                            }
                            stats.deviations.push(deviation.min(u32::MAX.into()) as u32);
                        }
                        stats.replies += 1;
                    }
                    last_tick = Some(now);
                    proto::encode_frame(
                        &mut out,
                        proto::OP_TEXT,
                        proto::REPLY.as_bytes(),
                        masker.next_mask(),
                    );
                }
                proto::OP_PING => {
                    let payload = rest.get(frame.payload.0..frame.payload.1);
                    let payload = payload.unwrap_or_default().to_vec();
                    proto::encode_frame(&mut out, proto::OP_PONG, &payload, masker.next_mask());
                }
                proto::OP_CLOSE => {
                    // The server closed first: a drop unless we are closing anyway.
                    stats.dropped = current != Stage::Close;
                    let _ = close_ws(&mut stream, &mut Vec::new(), masker.next_mask()).await;
                    return stats;
                }
                _ => {}
            }
            at += frame.len;
        }
        pending.drain(..at);
        if !out.is_empty() {
            if let Err(error) = stream.write_all(&out).await {
                stats.dropped = true;
                stats.error = Some(format!("write: {error}"));
                return stats;
            }
            out.clear();
        }
        if current == Stage::Close {
            close_ws(&mut stream, &mut pending, masker.next_mask()).await;
            return stats;
        }
        tokio::select! {
            read = stream.read_buf(&mut pending) => match read {
                Ok(0) => {
                    stats.dropped = true;
                    stats.error = Some("EOF from the server".into());
                    return stats;
                }
                Ok(_) => {}
                Err(error) => {
                    stats.dropped = true;
                    stats.error = Some(format!("read: {error}"));
                    return stats;
                }
            },
            // The new stage is read at the top of the loop.
            changed = stage.changed() => sender_gone = changed.is_err(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_ticks_scale_with_window_and_connections() {
        let three = Duration::from_secs(3);
        assert_eq!(expected_ticks(10_000, 24.0, three), 80_000);
        assert_eq!(expected_ticks(50, 2.0, Duration::from_millis(200)), 500);
        assert_eq!(expected_ticks(0, 24.0, three), 0);
    }
}
