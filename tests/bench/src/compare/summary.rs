//! From repeated reports to one row per server: every figure is the median of its repeats,
//! taken figure by figure (a run with a slow p99 need not be the run with the high RSS).

use serde::Serialize;

use super::servers::Kind;
use super::{run_key, Load, Results};
use crate::report::Report;

/// The median of some values (mean of the middle two for an even count); `None` when empty.
pub fn median(values: impl IntoIterator<Item = f64>) -> Option<f64> {
    let mut v: Vec<f64> = values.into_iter().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    let upper = v.get(mid).copied()?;
    Some(if v.len() % 2 == 0 {
        (v.get(mid - 1).copied().unwrap_or(upper) + upper) / 2.0
    } else {
        upper
    })
}

/// A tick load, summarised.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Ticks {
    pub connections: f64,
    pub connected: f64,
    pub connect_failed: f64,
    pub dropped: f64,
    pub ticks_received: f64,
    pub ticks_expected: f64,
    pub dev_p50_ms: f64,
    pub dev_p99_ms: f64,
    pub dev_max_ms: f64,
    /// (steady RSS − baseline RSS) / connected, bytes.
    pub rss_per_conn_b: f64,
    pub rss_steady_mib: f64,
    pub rss_peak_mib: f64,
    /// Server CPU from the first connect until the clients were gone.
    pub cpu_total_s: f64,
    /// The system (kernel) part of `cpu_total_s`.
    pub cpu_total_sys_s: f64,
    /// Server CPU over the tick window alone.
    pub cpu_window_s: f64,
}

/// The echo load, summarised.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Echo {
    pub msgs_per_sec: f64,
    pub rtt_p50_ms: f64,
    pub rtt_p99_ms: f64,
    pub cpu_us_per_msg: f64,
    /// CPU seconds the server and the load generator used in the window.
    pub server_cpu_s: f64,
    pub client_cpu_s: f64,
}

/// Churn, summarised.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Churn {
    pub handshakes_per_sec: f64,
    /// Clean closes / handshakes.
    pub clean_close_ratio: f64,
    pub cpu_us_per_handshake: f64,
}

/// Keep-alive HTTP, summarised.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Http {
    pub requests_per_sec: f64,
    pub cpu_us_per_request: f64,
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
}

fn med(reports: &[Report], f: impl Fn(&Report) -> Option<f64>) -> f64 {
    median(reports.iter().filter_map(f)).unwrap_or(0.0)
}

fn server(r: &Report) -> Option<&crate::procstat::ServerStats> {
    r.server.as_ref()
}

fn ticks(reports: &[Report]) -> Option<Ticks> {
    if reports.is_empty() {
        return None;
    }
    let kib_to_mib = |kb: u64| kb as f64 / 1024.0;
    Some(Ticks {
        connections: med(reports, |r| Some(r.connections as f64)),
        connected: med(reports, |r| Some(r.connected as f64)),
        connect_failed: med(reports, |r| Some(r.connect_failed as f64)),
        dropped: med(reports, |r| Some(r.dropped as f64)),
        ticks_received: med(reports, |r| Some(r.ticks_received as f64)),
        ticks_expected: med(reports, |r| Some(r.ticks_expected as f64)),
        dev_p50_ms: med(reports, |r| r.tick_deviation_ms.map(|p| p.p50)),
        dev_p99_ms: med(reports, |r| r.tick_deviation_ms.map(|p| p.p99)),
        dev_max_ms: med(reports, |r| r.tick_deviation_ms.map(|p| p.max)),
        rss_per_conn_b: med(reports, |r| {
            let s = server(r)?;
            let grown = s.rss_steady_kb.saturating_sub(s.rss_baseline_kb) as f64 * 1024.0;
            (r.connected > 0).then(|| grown / r.connected as f64)
        }),
        rss_steady_mib: med(reports, |r| server(r).map(|s| kib_to_mib(s.rss_steady_kb))),
        rss_peak_mib: med(reports, |r| server(r).map(|s| kib_to_mib(s.rss_peak_kb))),
        cpu_total_s: med(reports, |r| server(r).map(|s| s.cpu_total_s)),
        cpu_total_sys_s: med(reports, |r| server(r).map(|s| s.cpu_total_sys_s)),
        cpu_window_s: med(reports, |r| server(r).map(|s| s.cpu_window_s)),
    })
}

fn per_op_us(r: &Report, count: u64) -> Option<f64> {
    let s = server(r)?;
    (count > 0).then(|| s.cpu_window_s * 1e6 / count as f64)
}

/// Summarises `results` into one row per server of `kinds`.
pub fn rows(results: &Results, kinds: &[Kind]) -> Vec<Row> {
    let get = |kind, load| {
        results
            .runs
            .get(&run_key(kind, load))
            .map(Vec::as_slice)
            .unwrap_or_default()
    };
    kinds
        .iter()
        .map(|&kind| {
            let echo = get(kind, Load::Echo);
            let churn = get(kind, Load::Churn);
            let http = get(kind, Load::Http);
            Row {
                server: kind.key(),
                label: kind.label(),
                ours: kind.ours(),
                runs: Load::ALL.iter().map(|&l| get(kind, l).len()).sum(),
                ticks: ticks(get(kind, Load::Ticks)),
                ticks_big: ticks(get(kind, Load::TicksBig)),
                echo: (!echo.is_empty()).then(|| Echo {
                    msgs_per_sec: med(echo, |r| Some(r.msgs_per_sec)),
                    rtt_p50_ms: med(echo, |r| r.rtt_ms.map(|p| p.p50)),
                    rtt_p99_ms: med(echo, |r| r.rtt_ms.map(|p| p.p99)),
                    cpu_us_per_msg: med(echo, |r| per_op_us(r, r.messages)),
                    server_cpu_s: med(echo, |r| server(r).map(|s| s.cpu_window_s)),
                    client_cpu_s: med(echo, |r| Some(r.client_cpu_s)),
                }),
                churn: (!churn.is_empty()).then(|| Churn {
                    handshakes_per_sec: med(churn, |r| Some(r.handshakes_per_sec)),
                    clean_close_ratio: med(churn, |r| {
                        (r.handshakes > 0).then(|| r.clean_closes as f64 / r.handshakes as f64)
                    }),
                    cpu_us_per_handshake: med(churn, |r| per_op_us(r, r.handshakes)),
                }),
                http: (!http.is_empty()).then(|| Http {
                    requests_per_sec: med(http, |r| Some(r.requests_per_sec)),
                    cpu_us_per_request: med(http, |r| per_op_us(r, r.requests)),
                }),
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
            "{:.0} msgs/s, CPU {cpu:.2} s, client CPU {:.2} s",
            r.msgs_per_sec, r.client_cpu_s
        ),
        Load::Churn => format!("{:.0} handshakes/s, CPU {cpu:.2} s", r.handshakes_per_sec),
        Load::Http => format!("{:.0} req/s, CPU {cpu:.2} s", r.requests_per_sec),
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
    }
}
