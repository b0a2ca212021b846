//! `sio-churn`: loops that each open a Socket.IO session over WebSocket, CONNECT to `/relay`
//! joining a room through the auth, then leave the namespace and close, as fast as the server
//! lets them. A session counts when its CONNECT is acknowledged in the window; a clean close
//! when the server's close frame comes back on one of those sessions.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};

use super::sio_session::{Session, Transport};
use super::{wait_past_ramp, Ctx, Plan, Stage};
use crate::report::Report;
use crate::sio;

/// Starts `concurrency` loops; loop `i` uses rooms `i, i + concurrency, …` of `rooms`.
pub fn plan(
    ctx: Arc<Ctx>,
    first: usize,
    concurrency: usize,
    rooms: usize,
    stage: watch::Receiver<Stage>,
) -> Plan {
    let (_ramp_tx, ramp) = mpsc::unbounded_channel();
    let handles: Vec<_> = (0..concurrency)
        .map(|i| tokio::spawn(churn_loop(ctx.clone(), first + i, rooms, stage.clone())))
        .collect();
    Plan::summing(ramp, 0, handles)
}

async fn churn_loop(
    ctx: Arc<Ctx>,
    index: usize,
    rooms: usize,
    mut stage: watch::Receiver<Stage>,
) -> Report {
    let mut report = Report::default();
    let Stage::Window { end, .. } = wait_past_ramp(&mut stage).await else {
        return report;
    };
    let mut round = index;
    while Instant::now() < end {
        round += 1;
        let room = sio::room_of(round, rooms);
        let opening = Session::open(
            &ctx,
            Transport::Websocket,
            ctx.source(round),
            round as u32,
            room,
        );
        let session = match tokio::time::timeout_at(end.into(), opening).await {
            Err(_) => break,
            Ok(Ok(session)) => session,
            Ok(Err(error)) => {
                report.connect_failed += 1;
                report.error(format!("session: {error}"));
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let counted = Instant::now() < end;
        if counted {
            report.handshakes += 1;
            report.connected += 1;
        }
        let clean = session.close().await;
        if counted && clean {
            report.clean_closes += 1;
        }
    }
    report
}
