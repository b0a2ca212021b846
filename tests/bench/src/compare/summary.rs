//! From repeated reports to one row per server: every figure is the median of its repeats with
//! their min and max, taken figure by figure (a run with a slow p99 need not be the run with the
//! high RSS); and ratios between two servers, taken repeat by repeat.

use serde::Serialize;

use super::servers::Kind;
use super::{run_key, Load, Results};
use crate::report::Report;

/// The median of some values (mean of the middle two for an even count); `None` when empty.
pub fn median(values: impl IntoIterator<Item = f64>) -> Option<f64> {
    Spread::of(values).map(|s| s.median)
}

/// A figure over the repeats: median, lowest and highest, and how many repeats had it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub n: usize,
}

impl Spread {
    /// The spread of the finite `values`; `None` when there are none.
    pub fn of(values: impl IntoIterator<Item = f64>) -> Option<Spread> {
        let mut v: Vec<f64> = values.into_iter().filter(|x| x.is_finite()).collect();
        v.sort_by(f64::total_cmp);
        let (min, max) = (v.first().copied()?, v.last().copied()?);
        let mid = v.len() / 2;
        let upper = v.get(mid).copied()?;
        let median = if v.len() % 2 == 0 {
            (v.get(mid - 1).copied().unwrap_or(upper) + upper) / 2.0
        } else {
            upper
        };
        Some(Spread {
            median,
            min,
            max,
            n: v.len(),
        })
    }

    /// max ÷ min, how far the repeats disagree (1 when they agree; infinite if min is 0).
    pub fn max_over_min(&self) -> f64 {
        self.max / self.min
    }
}

/// A tick load, summarised.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Ticks {
    pub connections: Spread,
    pub connected: Spread,
    pub connect_failed: Spread,
    pub dropped: Spread,
    pub ticks_received: Spread,
    pub ticks_expected: Spread,
    pub dev_p50_ms: Spread,
    pub dev_p99_ms: Spread,
    pub dev_max_ms: Spread,
    /// (steady RSS − baseline RSS) / connected, bytes.
    pub rss_per_conn_b: Spread,
    pub rss_steady_mib: Spread,
    pub rss_peak_mib: Spread,
    /// Server CPU from the first connect until the clients were gone.
    pub cpu_total_s: Spread,
    /// The system (kernel) part of `cpu_total_s`.
    pub cpu_total_sys_s: Spread,
    /// Server CPU over the tick window alone.
    pub cpu_window_s: Spread,
}

/// The echo load, summarised.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Echo {
    /// Server CPU per echoed message: what the server costs, whatever the client managed.
    pub cpu_us_per_msg: Spread,
    pub msgs_per_sec: Spread,
    pub rtt_p50_ms: Spread,
    pub rtt_p99_ms: Spread,
    /// CPU seconds the server and the load generator used in the window.
    pub server_cpu_s: Spread,
    pub client_cpu_s: Spread,
    /// CPU seconds the rest of the machine (neither server nor load generator) used in the
    /// window: other engineers' builds on a shared machine.
    pub others_cpu_s: Spread,
}

/// Churn, summarised.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Churn {
    pub handshakes_per_sec: Spread,
    /// Clean closes ÷ handshakes, both counted over the connections upgraded in the window.
    pub clean_close_ratio: Spread,
    pub cpu_us_per_handshake: Spread,
}

/// Keep-alive HTTP, summarised.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Http {
    pub requests_per_sec: Spread,
    pub cpu_us_per_request: Spread,
}

/// Idle Socket.IO sessions, summarised.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SioIdle {
    pub sessions: Spread,
    pub connected: Spread,
    pub connect_failed: Spread,
    pub dropped: Spread,
    /// (steady RSS − baseline RSS) / connected, bytes.
    pub rss_per_session_b: Spread,
    pub rss_steady_mib: Spread,
    /// Server CPU over the hold, and the load generator's.
    pub cpu_window_s: Spread,
    pub client_cpu_s: Spread,
}

/// Socket.IO fan-out, summarised.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SioFanout {
    pub sessions: Spread,
    pub connected: Spread,
    pub dropped: Spread,
    pub deliveries_per_sec: Spread,
    /// Deliveries owed for the tracked sends that never arrived.
    pub lost: Spread,
    pub latency_p50_ms: Spread,
    pub latency_p99_ms: Spread,
    pub latency_max_ms: Spread,
    pub cpu_us_per_delivery: Spread,
    /// CPU per delivery ÷ the write floor of the same repeat.
    pub over_floor: Spread,
    /// CPU per delivery ÷ the floor over as many sockets as the load's (same repeat).
    pub over_load_floor: Spread,
    pub client_cpu_s: Spread,
}

/// Socket.IO session churn and polling exchanges, summarised.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SioChurn {
    pub sessions_per_sec: Spread,
    pub clean_close_ratio: Spread,
    pub cpu_us_per_session: Spread,
}

/// Long-polling sessions exchanging events, summarised.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SioPolling {
    pub requests_per_sec: Spread,
    pub events_per_sec: Spread,
    pub cpu_us_per_event: Spread,
    pub rtt_p99_ms: Spread,
}

/// One server's row.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub server: &'static str,
    pub label: &'static str,
    pub ours: bool,
    pub runs: usize,
    pub ticks: Option<Ticks>,
    pub ticks_big: Option<Ticks>,
    pub echo: Option<Echo>,
    pub churn: Option<Churn>,
    pub http: Option<Http>,
    pub sio_idle: Option<SioIdle>,
    pub sio_idle_polling: Option<SioIdle>,
    pub sio_idle_big: Option<SioIdle>,
    pub sio_fanout: Option<SioFanout>,
    pub sio_fanout_big: Option<SioFanout>,
    pub sio_churn: Option<SioChurn>,
    pub sio_polling: Option<SioPolling>,
    /// The chat room (ours only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chat_post: Option<super::chat::ChatLines>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chat_socket: Option<super::chat::ChatLines>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chat_page: Option<super::chat::ChatPage>,
}

fn spread(reports: &[Report], f: impl Fn(&Report) -> Option<f64>) -> Spread {
    Spread::of(reports.iter().filter_map(f)).unwrap_or_default()
}

fn server(r: &Report) -> Option<&crate::procstat::ServerStats> {
    r.server.as_ref()
}

/// (steady RSS − baseline RSS) ÷ connected, bytes.
pub fn rss_per_conn_b(r: &Report) -> Option<f64> {
    let s = server(r)?;
    let grown = s.rss_steady_kb.saturating_sub(s.rss_baseline_kb) as f64 * 1024.0;
    (r.connected > 0).then(|| grown / r.connected as f64)
}

/// Server CPU for the whole tick run, seconds.
pub fn cpu_total_s(r: &Report) -> Option<f64> {
    server(r).map(|s| s.cpu_total_s)
}

/// Server CPU in the window per message, handshake or request (whichever the load counts).
pub fn cpu_us_per_op(r: &Report) -> Option<f64> {
    let count = r.messages + r.handshakes + r.requests;
    let s = server(r)?;
    (count > 0).then(|| s.cpu_window_s * 1e6 / count as f64)
}

/// CPU the rest of the machine used in the window: busy time of every CPU minus the server's
/// and the load generator's.
pub fn others_cpu_s(r: &Report) -> Option<f64> {
    let s = server(r)?;
    (s.machine_busy_window_s > 0.0)
        .then(|| (s.machine_busy_window_s - s.cpu_window_s - r.client_cpu_s).max(0.0))
}

/// Server CPU in the window per fan-out delivery, µs.
pub fn cpu_us_per_delivery(r: &Report) -> Option<f64> {
    let s = server(r)?;
    (r.deliveries > 0).then(|| s.cpu_window_s * 1e6 / r.deliveries as f64)
}

/// Server CPU in the window per event exchanged over polling, µs.
pub fn cpu_us_per_event(r: &Report) -> Option<f64> {
    let s = server(r)?;
    (r.events > 0).then(|| s.cpu_window_s * 1e6 / r.events as f64)
}

/// Fan-out: deliveries owed for tracked sends that did not arrive.
pub fn lost_deliveries(r: &Report) -> f64 {
    r.deliveries_expected.saturating_sub(r.deliveries_tracked) as f64
}

/// Fan-out latency p99, ms.
pub fn latency_p99_ms(r: &Report) -> Option<f64> {
    r.latency_ms.map(|p| p.p99)
}

/// `figure(report) ÷ floor` for each report of (kind, load), the floor being `floor` of the
/// write floor's report of the same repeat.
pub fn over_floor(
    results: &Results,
    kind: Kind,
    load: Load,
    figure: impl Fn(&Report) -> Option<f64>,
    floor: impl Fn(&Report) -> f64,
) -> Option<Spread> {
    let floors = results
        .runs
        .get(super::FLOOR_KEY)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let ratios = reports(results, kind, load).iter().filter_map(|r| {
        let floor_report = floors
            .iter()
            .find(|f| f.repeat == r.repeat && r.repeat.is_some())?;
        let (x, y) = (figure(r)?, floor(floor_report));
        (x > 0.0 && y > 0.0).then(|| x / y)
    });
    Spread::of(ratios)
}

/// The write floor over the repeats, µs per write.
pub fn floor(results: &Results) -> Option<Spread> {
    floor_figure(results, |r| r.floor_us_per_write)
}

/// The write floor with the receivers waiting in epoll, over the repeats, µs per write.
pub fn floor_waiting(results: &Results) -> Option<Spread> {
    floor_figure(results, |r| r.floor_waiting_us_per_write)
}

/// The write floor over as many sockets as the fan-out load has, over the repeats, µs per
/// write (`None` for a run that did not measure it).
pub fn floor_load(results: &Results) -> Option<Spread> {
    floor_figure(results, |r| r.floor_load_us_per_write)
}

fn floor_figure(results: &Results, figure: impl Fn(&Report) -> f64) -> Option<Spread> {
    let floors = results.runs.get(super::FLOOR_KEY)?;
    Spread::of(floors.iter().map(figure).filter(|v| *v > 0.0))
}

fn sio_idle(reports: &[Report]) -> Option<SioIdle> {
    (!reports.is_empty()).then(|| SioIdle {
        sessions: spread(reports, |r| Some(r.connections as f64)),
        connected: spread(reports, |r| Some(r.connected as f64)),
        connect_failed: spread(reports, |r| Some(r.connect_failed as f64)),
        dropped: spread(reports, |r| Some(r.dropped as f64)),
        rss_per_session_b: spread(reports, rss_per_conn_b),
        rss_steady_mib: spread(reports, |r| {
            server(r).map(|s| s.rss_steady_kb as f64 / 1024.0)
        }),
        cpu_window_s: spread(reports, |r| server(r).map(|s| s.cpu_window_s)),
        client_cpu_s: spread(reports, |r| Some(r.client_cpu_s)),
    })
}

fn sio_fanout(results: &Results, kind: Kind, load: Load) -> Option<SioFanout> {
    let reports = reports(results, kind, load);
    (!reports.is_empty()).then(|| SioFanout {
        sessions: spread(reports, |r| Some(r.connections as f64)),
        connected: spread(reports, |r| Some(r.connected as f64)),
        dropped: spread(reports, |r| Some(r.dropped as f64)),
        deliveries_per_sec: spread(reports, |r| Some(r.deliveries_per_sec)),
        lost: spread(reports, |r| Some(lost_deliveries(r))),
        latency_p50_ms: spread(reports, |r| r.latency_ms.map(|p| p.p50)),
        latency_p99_ms: spread(reports, latency_p99_ms),
        latency_max_ms: spread(reports, |r| r.latency_ms.map(|p| p.max)),
        cpu_us_per_delivery: spread(reports, cpu_us_per_delivery),
        over_floor: over_floor(results, kind, load, cpu_us_per_delivery, |f| {
            f.floor_us_per_write
        })
        .unwrap_or_default(),
        over_load_floor: over_floor(results, kind, load, cpu_us_per_delivery, |f| {
            f.floor_load_us_per_write
        })
        .unwrap_or_default(),
        client_cpu_s: spread(reports, |r| Some(r.client_cpu_s)),
    })
}

fn ticks(reports: &[Report]) -> Option<Ticks> {
    if reports.is_empty() {
        return None;
    }
    let kib_to_mib = |kb: u64| kb as f64 / 1024.0;
    Some(Ticks {
        connections: spread(reports, |r| Some(r.connections as f64)),
        connected: spread(reports, |r| Some(r.connected as f64)),
        connect_failed: spread(reports, |r| Some(r.connect_failed as f64)),
        dropped: spread(reports, |r| Some(r.dropped as f64)),
        ticks_received: spread(reports, |r| Some(r.ticks_received as f64)),
        ticks_expected: spread(reports, |r| Some(r.ticks_expected as f64)),
        dev_p50_ms: spread(reports, |r| r.tick_deviation_ms.map(|p| p.p50)),
        dev_p99_ms: spread(reports, |r| r.tick_deviation_ms.map(|p| p.p99)),
        dev_max_ms: spread(reports, |r| r.tick_deviation_ms.map(|p| p.max)),
        rss_per_conn_b: spread(reports, rss_per_conn_b),
        rss_steady_mib: spread(reports, |r| server(r).map(|s| kib_to_mib(s.rss_steady_kb))),
        rss_peak_mib: spread(reports, |r| server(r).map(|s| kib_to_mib(s.rss_peak_kb))),
        cpu_total_s: spread(reports, cpu_total_s),
        cpu_total_sys_s: spread(reports, |r| server(r).map(|s| s.cpu_total_sys_s)),
        cpu_window_s: spread(reports, |r| server(r).map(|s| s.cpu_window_s)),
    })
}

/// The reports of (kind, load).
pub fn reports(results: &Results, kind: Kind, load: Load) -> &[Report] {
    results
        .runs
        .get(&run_key(kind, load))
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// `figure(ours) ÷ figure(peer)` taken within each repeat that measured both, summarised.
/// `None` when no repeat measured both.
pub fn paired_ratio(
    results: &Results,
    (ours, peer): (Kind, Kind),
    load: Load,
    figure: impl Fn(&Report) -> Option<f64>,
) -> Option<Spread> {
    let peers = reports(results, peer, load);
    let ratios = reports(results, ours, load).iter().filter_map(|a| {
        let repeat = a.repeat?;
        let b = peers.iter().find(|b| b.repeat == Some(repeat))?;
        let (x, y) = (figure(a)?, figure(b)?);
        (x > 0.0 && y > 0.0).then(|| x / y)
    });
    Spread::of(ratios)
}

/// Summarises `results` into one row per server of `kinds`.
pub fn rows(results: &Results, kinds: &[Kind]) -> Vec<Row> {
    kinds
        .iter()
        .map(|&kind| {
            let get = |load| reports(results, kind, load);
            let echo = get(Load::Echo);
            let churn = get(Load::Churn);
            let http = get(Load::Http);
            let churn_sio = get(Load::SioChurn);
            let polling = get(Load::SioPolling);
            Row {
                server: kind.key(),
                label: kind.label(),
                ours: kind.ours(),
                runs: Load::ALL.iter().map(|&l| get(l).len()).sum(),
                ticks: ticks(get(Load::Ticks)),
                ticks_big: ticks(get(Load::TicksBig)),
                echo: (!echo.is_empty()).then(|| Echo {
                    cpu_us_per_msg: spread(echo, cpu_us_per_op),
                    msgs_per_sec: spread(echo, |r| Some(r.msgs_per_sec)),
                    rtt_p50_ms: spread(echo, |r| r.rtt_ms.map(|p| p.p50)),
                    rtt_p99_ms: spread(echo, |r| r.rtt_ms.map(|p| p.p99)),
                    server_cpu_s: spread(echo, |r| server(r).map(|s| s.cpu_window_s)),
                    client_cpu_s: spread(echo, |r| Some(r.client_cpu_s)),
                    others_cpu_s: spread(echo, others_cpu_s),
                }),
                churn: (!churn.is_empty()).then(|| Churn {
                    handshakes_per_sec: spread(churn, |r| Some(r.handshakes_per_sec)),
                    clean_close_ratio: spread(churn, |r| {
                        (r.handshakes > 0).then(|| r.clean_closes as f64 / r.handshakes as f64)
                    }),
                    cpu_us_per_handshake: spread(churn, cpu_us_per_op),
                }),
                http: (!http.is_empty()).then(|| Http {
                    requests_per_sec: spread(http, |r| Some(r.requests_per_sec)),
                    cpu_us_per_request: spread(http, cpu_us_per_op),
                }),
                sio_idle: sio_idle(get(Load::SioIdle)),
                sio_idle_polling: sio_idle(get(Load::SioIdlePolling)),
                sio_idle_big: sio_idle(get(Load::SioIdleBig)),
                sio_fanout: sio_fanout(results, kind, Load::SioFanout),
                sio_fanout_big: sio_fanout(results, kind, Load::SioFanoutBig),
                sio_churn: (!churn_sio.is_empty()).then(|| SioChurn {
                    sessions_per_sec: spread(churn_sio, |r| Some(r.handshakes_per_sec)),
                    clean_close_ratio: spread(churn_sio, |r| {
                        (r.handshakes > 0).then(|| r.clean_closes as f64 / r.handshakes as f64)
                    }),
                    cpu_us_per_session: spread(churn_sio, cpu_us_per_op),
                }),
                sio_polling: (!polling.is_empty()).then(|| SioPolling {
                    requests_per_sec: spread(polling, |r| Some(r.requests_per_sec)),
                    events_per_sec: spread(polling, |r| {
                        Some(r.events as f64 / r.seconds.max(f64::MIN_POSITIVE))
                    }),
                    cpu_us_per_event: spread(polling, cpu_us_per_event),
                    rtt_p99_ms: spread(polling, |r| r.rtt_ms.map(|p| p.p99)),
                }),
                chat_post: super::chat::lines(get(Load::ChatPost)),
                chat_socket: super::chat::lines(get(Load::ChatSocket)),
                chat_page: super::chat::page(get(Load::ChatPage)),
            }
        })
        .collect()
}

/// A progress line for one report.
pub fn one_line(load: Load, r: &Report) -> String {
    let server = r.server.as_ref();
    let cpu = server.map_or(0.0, |s| s.cpu_total_s);
    let rss = server.map_or(0, |s| s.rss_steady_kb);
    let errors = match r.error_samples.first() {
        Some(first) => format!(", {} errors (first: {first})", r.errors),
        None => String::new(),
    };
    let body = match load {
        Load::Ticks | Load::TicksBig => {
            let dev = r.tick_deviation_ms.unwrap_or_default();
            format!(
                "{}/{} connected, {} dropped, ticks {}/{}, dev p99 {:.2} ms, RSS {rss} KiB, CPU {cpu:.2} s",
                r.connected, r.connections, r.dropped, r.ticks_received, r.ticks_expected, dev.p99
            )
        }
        Load::Echo => format!(
            "{:.3} µs server CPU/msg, {:.0} msgs/s, CPU {cpu:.2} s, client CPU {:.2} s, others {:.2} s",
            cpu_us_per_op(r).unwrap_or(0.0),
            r.msgs_per_sec,
            r.client_cpu_s,
            others_cpu_s(r).unwrap_or(0.0)
        ),
        Load::Churn => format!("{:.0} handshakes/s, CPU {cpu:.2} s", r.handshakes_per_sec),
        Load::Http => format!("{:.0} req/s, CPU {cpu:.2} s", r.requests_per_sec),
        Load::SioIdle | Load::SioIdleBig | Load::SioIdlePolling => format!(
            "{}/{} sessions, {} dropped, {:.0} B RSS/session, RSS {rss} KiB, CPU {cpu:.2} s, client CPU {:.2} s",
            r.connected,
            r.connections,
            r.dropped,
            rss_per_conn_b(r).unwrap_or(0.0),
            r.client_cpu_s
        ),
        Load::SioFanout | Load::SioFanoutBig => {
            let lat = r.latency_ms.unwrap_or_default();
            format!(
                "{}/{} sessions, {:.0} deliveries/s, lost {}/{}, latency p50/p99/max {:.2}/{:.2}/{:.1} ms, \
                 {:.2} µs CPU/delivery, client CPU {:.2} s",
                r.connected,
                r.connections,
                r.deliveries_per_sec,
                lost_deliveries(r),
                r.deliveries_expected,
                lat.p50,
                lat.p99,
                lat.max,
                cpu_us_per_delivery(r).unwrap_or(0.0),
                r.client_cpu_s
            )
        }
        Load::SioChurn => format!(
            "{:.0} sessions/s, {:.1} µs CPU/session",
            r.handshakes_per_sec,
            cpu_us_per_op(r).unwrap_or(0.0)
        ),
        Load::SioPolling => format!(
            "{:.0} req/s, {} events, {:.1} µs CPU/event",
            r.requests_per_sec,
            r.events,
            cpu_us_per_event(r).unwrap_or(0.0)
        ),
        Load::WriteFloor => format!(
            "{} writes, {:.3} µs CPU/write ({:.3} with the receivers waiting in epoll, {:.3} \
             over the fan-out's sockets)",
            r.writes, r.floor_us_per_write, r.floor_waiting_us_per_write, r.floor_load_us_per_write
        ),
        Load::ChatPost | Load::ChatSocket | Load::ChatPage => {
            super::chat::one_line(load == Load::ChatPage, r)
        }
    };
    body + &errors
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median([3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median([4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median([f64::NAN, 5.0]), Some(5.0));
        assert_eq!(median(Vec::new()), None);
        let s = Spread::of([2.6, 0.9, 0.7]);
        assert_eq!(
            s.map(|s| (s.median, s.min, s.max, s.n)),
            Some((0.9, 0.7, 2.6, 3))
        );
    }

    fn echo_report(repeat: usize, messages: u64, cpu_window_s: f64) -> Report {
        Report {
            mode: "echo".into(),
            messages,
            msgs_per_sec: messages as f64,
            repeat: Some(repeat),
            server: Some(crate::procstat::ServerStats {
                cpu_window_s,
                ..Default::default()
            }),
            ..Report::default()
        }
    }

    #[test]
    fn ratios_pair_reports_of_the_same_repeat() {
        let mut results = Results::default();
        // Repeat 1 was a fast one for both servers; its ratio is as ordinary as the others'.
        let ours = [(0, 100, 1.0), (1, 400, 4.0), (2, 120, 1.2)];
        let peer = [(2, 60, 1.2), (0, 50, 1.0), (1, 200, 4.0)];
        for (kind, runs) in [(Kind::Mio, ours), (Kind::Node, peer)] {
            results.runs.insert(
                run_key(kind, Load::Echo),
                runs.iter().map(|&(r, m, c)| echo_report(r, m, c)).collect(),
            );
        }
        let ratio = paired_ratio(&results, (Kind::Mio, Kind::Node), Load::Echo, |r| {
            Some(r.msgs_per_sec)
        });
        assert_eq!(
            ratio.map(|s| (s.median, s.min, s.max)),
            Some((2.0, 2.0, 2.0))
        );
        // The ratio of the medians would be 120 / 60 = 2 here too, but not in general:
        let rows = rows(&results, &[Kind::Mio, Kind::Node]);
        let echo = rows
            .first()
            .and_then(|r| r.echo.clone())
            .unwrap_or_default();
        assert_eq!(echo.msgs_per_sec.min, 100.0);
        assert_eq!(echo.msgs_per_sec.max, 400.0);
        assert_eq!(echo.cpu_us_per_msg.median, 10_000.0);
    }

    #[test]
    fn old_results_are_numbered_by_position_unless_that_load_failed() {
        let mut results = Results::default();
        let unnumbered = |n| (0..n).map(|_| Report::default()).collect::<Vec<_>>();
        results
            .runs
            .insert(run_key(Kind::Mio, Load::Echo), unnumbered(3));
        results
            .runs
            .insert(run_key(Kind::Node, Load::Echo), unnumbered(2));
        results
            .failures
            .push("node Echo: loadgen printed no report".into());
        results.number_repeats();
        let repeats = |kind| -> Vec<Option<usize>> {
            reports(&results, kind, Load::Echo)
                .iter()
                .map(|r| r.repeat)
                .collect()
        };
        assert_eq!(repeats(Kind::Mio), [Some(0), Some(1), Some(2)]);
        assert_eq!(repeats(Kind::Node), [None, None]);
    }

    fn fanout_report(repeat: usize, deliveries: u64, cpu_window_s: f64) -> Report {
        Report {
            mode: "sio-fanout".into(),
            deliveries,
            deliveries_expected: 100,
            deliveries_tracked: 97,
            repeat: Some(repeat),
            server: Some(crate::procstat::ServerStats {
                cpu_window_s,
                ..Default::default()
            }),
            ..Report::default()
        }
    }

    #[test]
    fn deliveries_are_divided_by_the_floor_of_their_own_repeat() {
        let mut results = Results::default();
        // 10 µs and 20 µs per delivery; floors of 2.5 µs and 5 µs in those repeats, twice
        // that over the load's sockets.
        results.runs.insert(
            run_key(Kind::Mio, Load::SioFanout),
            vec![
                fanout_report(0, 100_000, 1.0),
                fanout_report(1, 100_000, 2.0),
            ],
        );
        let floor = |repeat, us| Report {
            mode: "write-floor".into(),
            floor_us_per_write: us,
            floor_load_us_per_write: 2.0 * us,
            repeat: Some(repeat),
            ..Report::default()
        };
        results.runs.insert(
            super::super::FLOOR_KEY.into(),
            vec![floor(1, 5.0), floor(0, 2.5)],
        );
        let ratio = over_floor(
            &results,
            Kind::Mio,
            Load::SioFanout,
            cpu_us_per_delivery,
            |f| f.floor_us_per_write,
        );
        assert_eq!(ratio.map(|s| (s.min, s.max)), Some((4.0, 4.0)));
        assert_eq!(floor(0, 1.0).floor_us_per_write, 1.0);
        let rows = rows(&results, &[Kind::Mio]);
        let fanout = rows
            .first()
            .and_then(|r| r.sio_fanout.clone())
            .unwrap_or_default();
        assert_eq!(fanout.lost.median, 3.0);
        assert_eq!(fanout.cpu_us_per_delivery.median, 15.0);
        assert_eq!(fanout.over_floor.median, 4.0);
        assert_eq!(fanout.over_load_floor.median, 2.0);
        assert_eq!(summary_floor(&results), Some((2.5, 5.0)));
    }

    fn summary_floor(results: &Results) -> Option<(f64, f64)> {
        super::floor(results).map(|s| (s.min, s.max))
    }

    #[test]
    fn a_repeat_one_side_lacks_pairs_with_nothing() {
        let mut results = Results::default();
        results.runs.insert(
            run_key(Kind::Mio, Load::Echo),
            vec![echo_report(0, 10, 1.0)],
        );
        results.runs.insert(
            run_key(Kind::Node, Load::Echo),
            vec![echo_report(1, 10, 1.0)],
        );
        let ratio = paired_ratio(&results, (Kind::Mio, Kind::Node), Load::Echo, |r| {
            Some(r.msgs_per_sec)
        });
        assert_eq!(ratio, None);
    }
}
