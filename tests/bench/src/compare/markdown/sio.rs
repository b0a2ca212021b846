//! The Socket.IO sections of BENCHMARKS.md: the write floor, idle sessions, fan-out, churn and
//! polling, and ours ÷ each Socket.IO peer. Apart from the seed's tables because only servers
//! that speak Socket.IO take these loads, and a run without them leaves the sections out.

use std::fmt::Write as _;

use super::{percent, ratio_rows, sp, table};
use crate::compare::servers::Kind;
use crate::compare::summary::{self, Row, SioFanout, SioIdle};
use crate::compare::{Load, Plan, Results};

fn sio_idle_table(out: &mut String, rows: &[Row], pick: impl Fn(&Row) -> Option<&SioIdle>) {
    let head = "| server | connected | failed | dropped | RSS per session (B) | RSS steady (MiB) \
         | server CPU over the hold (s) | client CPU (s) |\n|---|--:|--:|--:|--:|--:|--:|--:|\n";
    table(out, head, rows, |row| {
        let t = pick(row)?;
        Some(vec![
            format!("{}/{}", sp(t.connected, 0), sp(t.sessions, 0)),
            sp(t.connect_failed, 0),
            sp(t.dropped, 0),
            sp(t.rss_per_session_b, 0),
            sp(t.rss_steady_mib, 1),
            sp(t.cpu_window_s, 2),
            sp(t.client_cpu_s, 2),
        ])
    });
}

fn sio_fanout_table(out: &mut String, rows: &[Row], pick: impl Fn(&Row) -> Option<&SioFanout>) {
    let head =
        "| server | connected | dropped | deliveries/s | lost | latency p50 / p99 / max (ms) \
         | server CPU per delivery (µs) | ÷ write floor | ÷ floor at the load's size \
         | client CPU (s) |\n\
         |---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n";
    table(out, head, rows, |row| {
        let f = pick(row)?;
        Some(vec![
            format!("{}/{}", sp(f.connected, 0), sp(f.sessions, 0)),
            sp(f.dropped, 0),
            sp(f.deliveries_per_sec, 0),
            sp(f.lost, 0),
            format!(
                "{} / {} / {}",
                sp(f.latency_p50_ms, 2),
                sp(f.latency_p99_ms, 2),
                sp(f.latency_max_ms, 1)
            ),
            sp(f.cpu_us_per_delivery, 2),
            sp(f.over_floor, 2),
            sp(f.over_load_floor, 2),
            sp(f.client_cpu_s, 2),
        ])
    });
}

/// The Socket.IO sections of the results.
pub(super) fn results(out: &mut String, results: &Results, rows: &[Row], plan: &Plan) {
    if !rows
        .iter()
        .any(|r| r.sio_idle.is_some() || r.sio_fanout.is_some())
    {
        return;
    }
    let sio = &plan.sio;
    let floor = summary::floor(results).map_or_else(|| "—".into(), |f| sp(f, 3));
    let waiting = summary::floor_waiting(results).map_or_else(|| "—".into(), |f| sp(f, 3));
    let at_load = summary::floor_load(results).map_or_else(|| "—".into(), |f| sp(f, 3));
    let _ = writeln!(
        out,
        "\n### Socket.IO: the write floor\n\n\
         One `write` of a {} B WebSocket frame to a connected loopback TCP socket, {} pairs, \
         timed with the load generator's thread CPU clock: **{floor} µs** per write. No server \
         delivers an event for less; the fan-out tables divide each server's CPU per delivery \
         by the floor measured in the same repeat. The same write when a thread waits in epoll \
         for the receiving end, as every client of a fan-out does, also pays that thread's \
         wake-up: **{waiting} µs** per write. Over as many pairs as the fan-out load has \
         sessions ({}), with idle receivers: **{at_load} µs** per write; in the thousands, a \
         socket's kernel state has left the caches by the time it is written again, as each of \
         the load's has. The fan-out tables show both ratios; the targets are against the \
         first floor.\n",
        crate::load::write_floor::FRAME.len(),
        sio.floor_pairs,
        sio.fanout_sessions
    );
    let _ = writeln!(
        out,
        "### Socket.IO: idle sessions over WebSocket ({} in {} rooms)\n",
        sio.idle_sessions, sio.idle_rooms
    );
    sio_idle_table(out, rows, |r| r.sio_idle.as_ref());
    let _ = writeln!(
        out,
        "\n### Socket.IO: idle sessions over long-polling ({})\n",
        sio.idle_polling_sessions
    );
    sio_idle_table(out, rows, |r| r.sio_idle_polling.as_ref());
    let _ = writeln!(
        out,
        "\n### Socket.IO: {} idle sessions (ours)\n",
        sio.big_sessions
    );
    sio_idle_table(out, rows, |r| r.sio_idle_big.as_ref());
    let _ = writeln!(
        out,
        "\n### Socket.IO: fan-out, {} sessions in {} rooms, {} events/s per room\n",
        sio.fanout_sessions, sio.fanout_rooms, sio.fanout_rate
    );
    sio_fanout_table(out, rows, |r| r.sio_fanout.as_ref());
    let _ = writeln!(
        out,
        "\n### Socket.IO: one room of {} at {} events/s\n",
        sio.big_room_sessions, sio.big_room_rate
    );
    sio_fanout_table(out, rows, |r| r.sio_fanout_big.as_ref());
    let head = "\n### Socket.IO: session churn, polling exchanges\n\n\
         | server | sessions/s | clean closes | CPU per session (µs) | polling req/s \
         | polling events/s | CPU per polling event (µs) | polling RTT p99 (ms) |\n\
         |---|--:|--:|--:|--:|--:|--:|--:|\n";
    table(out, head, rows, |row| {
        if row.sio_churn.is_none() && row.sio_polling.is_none() {
            return None;
        }
        let c = row.sio_churn.clone().unwrap_or_default();
        let p = row.sio_polling.clone().unwrap_or_default();
        Some(vec![
            sp(c.sessions_per_sec, 0),
            format!("{} %", sp(percent(c.clean_close_ratio), 1)),
            sp(c.cpu_us_per_session, 1),
            sp(p.requests_per_sec, 0),
            sp(p.events_per_sec, 0),
            sp(p.cpu_us_per_event, 1),
            sp(p.rtt_p99_ms, 2),
        ])
    });
}

/// Ours ÷ each Socket.IO peer, within each repeat.
pub(super) fn ratios(out: &mut String, results: &Results, kinds: &[Kind]) {
    let peers: Vec<Kind> = kinds
        .iter()
        .copied()
        .filter(|k| k.speaks_sio() && !k.ours())
        .collect();
    if peers.is_empty() {
        return;
    }
    out.push_str(
        "\n### Socket.IO (ours ÷ peer, within each repeat)\n\n\
         | ours vs peer | RSS per idle session | RSS per polling session | CPU per delivery \
         | fan-out p99 | big-room p99 | sessions/s | CPU per polling event |\n\
         |---|--:|--:|--:|--:|--:|--:|--:|\n",
    );
    ratio_rows(
        out,
        results,
        kinds,
        &peers,
        &[
            (Load::SioIdle, summary::rss_per_conn_b),
            (Load::SioIdlePolling, summary::rss_per_conn_b),
            (Load::SioFanout, summary::cpu_us_per_delivery),
            (Load::SioFanout, summary::latency_p99_ms),
            (Load::SioFanoutBig, summary::latency_p99_ms),
            (Load::SioChurn, |r| Some(r.handshakes_per_sec)),
            (Load::SioPolling, summary::cpu_us_per_event),
        ],
    );
}
