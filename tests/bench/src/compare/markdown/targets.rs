//! The targets, checked for each of ours: the seed's (RSS, CPU, tick regularity,
//! echo, handshakes) and Socket.IO's (issue 12's ratios, issue 9's floors). Apart from the
//! tables because `compare` also writes them to the JSON, and a target relative to a peer is
//! checked on the ratio taken within each repeat, never on a ratio of medians.

use super::sp;
use crate::compare::servers::Kind;
use crate::compare::summary::{self, Row, SioFanout, Spread, Ticks};
use crate::compare::{Load, Plan, Results};
use crate::report::Report;

/// `p99(ours) ÷ the lowest peer p99` of the same repeat, for the big room.
fn big_room_vs_best_peer(results: &Results, ours: Kind, peers: &[Kind]) -> Option<Spread> {
    let ratios = summary::reports(results, ours, Load::SioFanoutBig)
        .iter()
        .filter_map(|r| {
            let repeat = r.repeat?;
            let best = peers
                .iter()
                .filter_map(|&p| {
                    summary::reports(results, p, Load::SioFanoutBig)
                        .iter()
                        .find(|b| b.repeat == Some(repeat))
                        .and_then(summary::latency_p99_ms)
                })
                .filter(|v| *v > 0.0)
                .min_by(f64::total_cmp)?;
            Some(summary::latency_p99_ms(r)? / best)
        });
    Spread::of(ratios)
}

/// Issue 12's targets and issue 9's floors, for one of ours.
fn sio_targets(checks: &mut Checks, results: &Results, row: &Row, kind: Kind, plan: &Plan) {
    let sio = &plan.sio;
    let times = |v: f64| format!("{v:.3}×");
    let bytes = |v: f64| format!("{v:.0} B");
    let ms = |v: f64| format!("{v:.2} ms");
    let count = |v: f64| format!("{v:.0} lost");
    let n = sio.idle_sessions;
    checks.at_most(
        &format!("Socket.IO RSS/idle session at {n}: ours ÷ socket.io ≤ 1/10"),
        summary::paired_ratio(
            results,
            (kind, Kind::SocketioNode),
            Load::SioIdle,
            summary::rss_per_conn_b,
        ),
        0.1,
        times,
    );
    // Issue 9's floors: 2 KB on runtime-mio, 3 KB on tokio and smol (tasks, reactors).
    let floor = if kind == Kind::Mio { 2000.0 } else { 3000.0 };
    checks.at_most(
        &format!("Socket.IO RSS/idle session at {n} (issue 9 floor)"),
        row.sio_idle.as_ref().map(|t| t.rss_per_session_b),
        floor,
        bytes,
    );
    let (fs, fr, rate) = (sio.fanout_sessions, sio.fanout_rooms, sio.fanout_rate);
    checks.at_most(
        &format!("fan-out {fs} in {fr} rooms at {rate}/s: CPU/delivery ÷ write floor ≤ 1.5"),
        row.sio_fanout.as_ref().map(|f| f.over_floor),
        1.5,
        times,
    );
    checks.at_most(
        &format!("fan-out {fs} in {fr} rooms: p99 ≤ 2 ms"),
        row.sio_fanout.as_ref().map(|f| f.latency_p99_ms),
        2.0,
        ms,
    );
    let lost = |f: &SioFanout| {
        Spread::of([f.lost.max + (f.sessions.max - f.connected.min) + f.dropped.max])
    };
    if let Some(f) = &row.sio_fanout {
        checks.at_most(
            &format!("fan-out {fs} in {fr} rooms: no loss"),
            lost(f),
            0.0,
            count,
        );
    }
    let b = sio.big_room_sessions;
    if let Some(f) = &row.sio_fanout_big {
        checks.at_most(&format!("one room of {b}: no loss"), lost(f), 0.0, count);
    }
    checks.at_most(
        &format!("one room of {b}: p99 ÷ the best peer's p99 ≤ 1/2"),
        big_room_vs_best_peer(results, kind, &[Kind::SocketioNode, Kind::Socketioxide]),
        0.5,
        times,
    );
    if let Some(big) = &row.sio_idle_big {
        let m = sio.big_sessions;
        checks.at_most(
            &format!(
                "{m} idle Socket.IO sessions: no drops (RSS/session {} B)",
                sp(big.rss_per_session_b, 0)
            ),
            Spread::of([big.sessions.max - big.connected.min + big.dropped.max]),
            0.0,
            count,
        );
    }
}

/// One checked target.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Target {
    pub target: String,
    pub server: &'static str,
    pub measured: String,
    pub limit: String,
    /// The median meets the limit.
    pub met: bool,
    /// Every repeat meets it (its min or max, whichever side the limit is on).
    pub met_every_repeat: bool,
}

/// The targets checked for one server, added in order.
struct Checks<'a> {
    out: &'a mut Vec<Target>,
    server: &'static str,
}

impl Checks<'_> {
    /// `measured` ≤ `limit`; see [`Checks::check`].
    fn at_most(
        &mut self,
        target: &str,
        measured: Option<Spread>,
        limit: f64,
        show: impl Fn(f64) -> String,
    ) {
        self.check(target, measured, limit, true, show);
    }

    /// `measured` ≥ `limit`; see [`Checks::check`].
    fn at_least(
        &mut self,
        target: &str,
        measured: Option<Spread>,
        limit: f64,
        show: impl Fn(f64) -> String,
    ) {
        self.check(target, measured, limit, false, show);
    }

    /// Adds a check of `measured` against an upper (`upper`) or lower bound, unless it was not
    /// measured. `show` formats a value.
    fn check(
        &mut self,
        target: &str,
        measured: Option<Spread>,
        limit: f64,
        upper: bool,
        show: impl Fn(f64) -> String,
    ) {
        let Some(m) = measured.filter(|m| m.n > 0) else {
            return;
        };
        let meets = |v: f64| if upper { v <= limit } else { v >= limit };
        let spread = if m.min == m.max {
            show(m.median)
        } else {
            format!("{} ({}–{})", show(m.median), show(m.min), show(m.max))
        };
        self.out.push(Target {
            target: target.to_owned(),
            server: self.server,
            measured: spread,
            limit: format!("{} {}", if upper { "≤" } else { "≥" }, show(limit)),
            met: meets(m.median),
            met_every_repeat: meets(if upper { m.max } else { m.min }),
        });
    }
}

/// Checks the targets for each of ours. Targets relative to a peer are checked on the
/// ratio taken within each repeat (ours ÷ peer, same repeat), never on a ratio of medians.
pub fn targets(results: &Results, rows: &[Row], plan: &Plan) -> Vec<Target> {
    let mut out = Vec::new();
    let times = |v: f64| format!("{v:.3}×");
    for row in rows.iter().filter(|r| r.ours) {
        let Some(kind) = Kind::from_key(row.server) else {
            continue;
        };
        let vs = |peer: Kind, load: Load, figure: fn(&Report) -> Option<f64>| {
            summary::paired_ratio(results, (kind, peer), load, figure)
        };
        let mut checks = Checks {
            out: &mut out,
            server: row.server,
        };
        let n = plan.tick_connections;
        let ours = row.ticks.clone();
        checks.at_most(
            &format!("RSS/conn at {n}: ours ÷ node ≤ 1/8"),
            vs(Kind::Node, Load::Ticks, summary::rss_per_conn_b),
            1.0 / 8.0,
            times,
        );
        checks.at_most(
            &format!("RSS/conn at {n}: ours ÷ tokio-tungstenite 4 KiB ≤ 1/4"),
            vs(Kind::Tungstenite4k, Load::Ticks, summary::rss_per_conn_b),
            0.25,
            times,
        );
        if row.server == "mio" {
            checks.at_most(
                &format!("RSS/conn at {n} ≤ 600 B"),
                ours.as_ref().map(|t| t.rss_per_conn_b),
                600.0,
                |v| format!("{v:.0} B"),
            );
        }
        checks.at_most(
            &format!("CPU of the {n} tick run: ours ÷ node ≤ 1/5"),
            vs(Kind::Node, Load::Ticks, summary::cpu_total_s),
            0.2,
            times,
        );
        checks.at_most(
            &format!("CPU of the {n} tick run: ours ÷ tokio-tungstenite 4 KiB ≤ 0.7"),
            vs(Kind::Tungstenite4k, Load::Ticks, summary::cpu_total_s),
            0.7,
            times,
        );
        let ms = |v: f64| format!("{v:.2} ms");
        checks.at_most(
            &format!("tick p99 deviation at {n} ≤ 5 ms"),
            ours.as_ref().map(|t| t.dev_p99_ms),
            5.0,
            ms,
        );
        let lost = |t: &Ticks| Spread::of([t.connections.max - t.connected.min + t.dropped.max]);
        let count = |v: f64| format!("{v:.0} lost");
        if let Some(t) = ours.as_ref().filter(|t| t.connections.n > 0) {
            checks.at_most(&format!("no drops at {n}"), lost(t), 0.0, count);
        }
        if let Some(big) = &row.ticks_big {
            let m = plan.big_connections;
            checks.at_most(
                &format!("tick p99 deviation at {m} ≤ 10 ms"),
                Some(big.dev_p99_ms),
                10.0,
                ms,
            );
            checks.at_most(&format!("no drops at {m}"), lost(big), 0.0, count);
        }
        checks.at_most(
            "echo CPU/msg: ours ÷ tokio-tungstenite ≤ 0.7",
            vs(Kind::Tungstenite, Load::Echo, summary::cpu_us_per_op),
            0.7,
            times,
        );
        checks.at_least(
            "echo msgs/s: ours ÷ node ≥ 3",
            vs(Kind::Node, Load::Echo, |r| Some(r.msgs_per_sec)),
            3.0,
            times,
        );
        checks.at_least(
            "handshakes/s: ours ÷ node ≥ 2",
            vs(Kind::Node, Load::Churn, |r| Some(r.handshakes_per_sec)),
            2.0,
            times,
        );
        sio_targets(&mut checks, results, row, kind, plan);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sio_report(mode: &str, repeat: usize, grown_kb: u64, p99: f64) -> Report {
        Report {
            mode: mode.into(),
            connections: 100,
            connected: 100,
            deliveries: 1000,
            deliveries_expected: 500,
            deliveries_tracked: 500,
            latency_ms: Some(crate::histogram::Percentiles {
                p50: p99 / 2.0,
                p99,
                max: p99,
            }),
            repeat: Some(repeat),
            server: Some(crate::procstat::ServerStats {
                rss_baseline_kb: 1000,
                rss_steady_kb: 1000 + grown_kb,
                cpu_window_s: 0.004,
                ..Default::default()
            }),
            ..Report::default()
        }
    }

    #[test]
    fn socket_io_targets_are_checked_within_each_repeat() {
        let mut results = Results::default();
        let mut put = |kind, load, reports: Vec<Report>| {
            results
                .runs
                .insert(crate::compare::run_key(kind, load), reports);
        };
        // 100 sessions: mio grows 100 KiB (1,024 B each), socket.io 1,600 KiB (16,384 B).
        put(
            Kind::Mio,
            Load::SioIdle,
            vec![sio_report("sio-idle", 0, 100, 0.0)],
        );
        put(
            Kind::SocketioNode,
            Load::SioIdle,
            vec![sio_report("sio-idle", 0, 1600, 0.0)],
        );
        put(
            Kind::Mio,
            Load::SioFanout,
            vec![sio_report("sio-fanout", 0, 0, 1.5)],
        );
        put(
            Kind::Mio,
            Load::SioFanoutBig,
            vec![sio_report("sio-fanout", 0, 0, 30.0)],
        );
        for (kind, p99) in [(Kind::SocketioNode, 100.0), (Kind::Socketioxide, 50.0)] {
            put(
                kind,
                Load::SioFanoutBig,
                vec![sio_report("sio-fanout", 0, 0, p99)],
            );
        }
        results.runs.insert(
            crate::compare::FLOOR_KEY.into(),
            vec![Report {
                floor_us_per_write: 2.0,
                repeat: Some(0),
                ..Report::default()
            }],
        );
        let kinds = [Kind::Mio, Kind::SocketioNode, Kind::Socketioxide];
        let rows = summary::rows(&results, &kinds);
        let found = targets(&results, &rows, &Plan::quick());
        let get = |start: &str| {
            found
                .iter()
                .find(|t| t.target.starts_with(start))
                .map(|t| (t.measured.clone(), t.met))
        };
        assert_eq!(
            get("Socket.IO RSS/idle session at 50: ours ÷ socket.io"),
            Some(("0.062×".into(), true))
        );
        assert_eq!(
            get("Socket.IO RSS/idle session at 50 (issue 9"),
            Some(("1024 B".into(), true))
        );
        // 4 µs per delivery over a 2 µs floor.
        assert_eq!(
            get("fan-out 50 in 5 rooms at 5/s"),
            Some(("2.000×".into(), false))
        );
        assert_eq!(
            get("fan-out 50 in 5 rooms: p99"),
            Some(("1.50 ms".into(), true))
        );
        assert_eq!(
            get("fan-out 50 in 5 rooms: no loss"),
            Some(("0 lost".into(), true))
        );
        // 30 ms against the better peer's 50 ms.
        assert_eq!(get("one room of 50: p99"), Some(("0.600×".into(), false)));
    }
}
