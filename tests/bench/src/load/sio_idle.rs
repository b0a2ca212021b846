//! `sio-idle`: Socket.IO sessions that join a room and then only answer pings, over WebSocket
//! or long-polling. What it measures is the server's memory per session (the parent samples
//! RSS) and the CPU an idle session costs; the sessions only report whether they stayed open.

use std::sync::Arc;

use tokio::sync::watch;

use super::sio_session::{start_sessions, Session, Transport};
use super::{Ctx, Plan, Stage};
use crate::report::Report;
use crate::sio;

/// Starts `count` sessions; session `i` has the global number `first + i` and joins room
/// `(first + i) % rooms`.
pub fn plan(
    ctx: Arc<Ctx>,
    transport: Transport,
    first: usize,
    count: usize,
    rooms: usize,
    stage: watch::Receiver<Stage>,
) -> Plan {
    let room = move |index| sio::room_of(index, rooms);
    start_sessions(
        ctx,
        transport,
        (first, count),
        room,
        stage,
        |session, _, stage| hold(session, stage),
    )
}

/// Keeps a session answering pings until the stage is `Close`, then closes it (a polling GET
/// in flight is abandoned: the server times that session out).
async fn hold(mut session: Session, mut stage: watch::Receiver<Stage>) -> Report {
    let mut report = Report {
        connected: 1,
        ..Report::default()
    };
    // Only the end of the run interrupts a batch: a polling GET cut short and sent again would
    // overlap the first, which Engine.IO servers answer by closing the session.
    let closing = async {
        let _ = stage.wait_for(|s| *s == Stage::Close).await;
    };
    tokio::pin!(closing);
    loop {
        tokio::select! {
            batch = session.next_batch() => match batch {
                Ok(batch) if batch.closed => {
                    report.dropped = 1;
                    report.error("the server closed an idle session");
                    return report;
                }
                Ok(batch) => report.requests += batch.requests,
                Err(error) => {
                    report.dropped = 1;
                    report.error(format!("idle session: {error}"));
                    return report;
                }
            },
            () = &mut closing => break,
        }
    }
    if matches!(session, Session::Websocket(_)) {
        session.close().await;
    }
    report
}
