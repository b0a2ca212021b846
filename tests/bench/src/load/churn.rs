//! `churn`: loops that each connect, upgrade, close cleanly and start over, as fast as the
//! server lets them. A handshake counts when its 101 arrives in the window; a clean close counts
//! when the server's close frame comes back on one of those same connections, so the clean-close
//! ratio is taken over one set (a connection upgraded after the window is in neither count).

use std::sync::Arc;

use tokio::sync::{mpsc, watch};

use super::{close_ws, wait_past_ramp, Ctx, Plan, Stage};
use crate::proto::Masker;
use crate::report::Report;

/// Starts `concurrency` churn loops.
pub fn plan(
    ctx: Arc<Ctx>,
    first: usize,
    concurrency: usize,
    stage: watch::Receiver<Stage>,
) -> Plan {
    // Nothing to ramp: the loops start with the window.
    let (_ramp_tx, ramp) = mpsc::unbounded_channel();
    let handles: Vec<_> = (0..concurrency)
        .map(|i| tokio::spawn(churn_loop(ctx.clone(), first + i, stage.clone())))
        .collect();
    Plan::summing(ramp, 0, handles)
}

async fn churn_loop(ctx: Arc<Ctx>, index: usize, mut stage: watch::Receiver<Stage>) -> Report {
    let mut report = Report::default();
    let Stage::Window { end, .. } = wait_past_ramp(&mut stage).await else {
        return report;
    };
    let mut masker = Masker::new(index as u32);
    // Each loop walks the source addresses, so a long run does not exhaust one address's ports.
    let mut round = index;
    while std::time::Instant::now() < end {
        round += 1;
        let attempt = tokio::time::timeout_at(end.into(), ctx.ws(ctx.source(round))).await;
        let (mut stream, mut pending) = match attempt {
            Err(_) => break, // window over mid-handshake
            Ok(Ok(conn)) => conn,
            Ok(Err(error)) => {
                report.connect_failed += 1;
                report.error(format!("connect: {error}"));
                // A refused connect fails at once: do not spin on it.
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        let counted = std::time::Instant::now() < end;
        if counted {
            report.handshakes += 1;
            report.connected += 1;
        }
        let clean = close_ws(&mut stream, &mut pending, masker.next_mask()).await;
        if counted && clean {
            report.clean_closes += 1;
        }
    }
    report
}
