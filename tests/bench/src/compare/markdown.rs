//! BENCHMARKS.md: machine, method, medians with their min–max, ratios taken within each
//! repeat, targets, and the analysis kept by hand in tests/bench/ANALYSIS.md (included verbatim,
//! so regenerating the file does not lose it, with a warning when it was written for another
//! run than the one it sits beside).

use std::fmt::Write as _;
use std::process::Command;

use super::servers::Kind;
use super::summary::{self, Row, SioFanout, SioIdle, Spread, Ticks};
use super::{Load, Plan, Results, Saved};
use crate::report::Report;

/// The machine, as far as the figures depend on it.
pub fn machine() -> Vec<(String, String)> {
    let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
    let run = |program: &str, args: &[&str]| {
        Command::new(program)
            .args(args)
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "unknown".into())
    };
    let cpuinfo = read("/proc/cpuinfo");
    let model = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")?
                .split_once(':')
                .map(|(_, m)| m.trim())
        })
        .unwrap_or("unknown")
        .to_owned();
    let memory = read("/proc/meminfo")
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:").map(|m| m.trim().to_owned()))
        .unwrap_or_default();
    [
        ("date", run("date", &["-u", "+%Y-%m-%d %H:%M UTC"])),
        ("nproc", run("nproc", &[])),
        ("CPU", model),
        ("memory", memory),
        (
            "kernel",
            read("/proc/sys/kernel/osrelease").trim().to_owned(),
        ),
        (
            "load average at start",
            read("/proc/loadavg").trim().to_owned(),
        ),
        ("rustc", run("rustc", &["--version"])),
        ("node", run("node", &["--version"])),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect()
}

/// A figure over the repeats: the median, and `(min–max)` when the repeats differ.
fn sp(s: Spread, digits: usize) -> String {
    if s.n == 0 {
        return "—".into();
    }
    let median = format!("{:.digits$}", s.median);
    let (min, max) = (format!("{:.digits$}", s.min), format!("{:.digits$}", s.max));
    if min == max {
        median
    } else {
        format!("{median} ({min}–{max})")
    }
}

/// A ratio over the repeats: `median× (min–max)`, with three decimals below 0.1 so a small
/// ratio does not read as 0.
fn ratio(r: Option<Spread>) -> String {
    match r {
        Some(s) if s.n > 0 => {
            let digits = if s.median < 0.1 { 3 } else { 2 };
            let (min, max) = (format!("{:.digits$}", s.min), format!("{:.digits$}", s.max));
            if min == max {
                format!("{:.digits$}×", s.median)
            } else {
                format!("{:.digits$}× ({min}–{max})", s.median)
            }
        }
        _ => "—".into(),
    }
}

fn ticks_table(out: &mut String, rows: &[Row], pick: impl Fn(&Row) -> Option<&Ticks>) {
    out.push_str(
        "| server | connected | dropped | ticks received / expected | deviation p50 / p99 / max (ms) \
         | RSS per connection (B) | RSS steady / peak (MiB) | CPU whole run (s) (of it kernel) \
         | CPU tick window (s) |\n\
         |---|--:|--:|--:|--:|--:|--:|--:|--:|\n",
    );
    for row in rows {
        let Some(t) = pick(row) else { continue };
        let _ = writeln!(
            out,
            "| {} | {}/{} | {} | {} / {} | {} / {} / {} | {} | {} / {} | {} ({}) | {} |",
            row.label,
            sp(t.connected, 0),
            sp(t.connections, 0),
            sp(t.dropped, 0),
            sp(t.ticks_received, 0),
            sp(t.ticks_expected, 0),
            sp(t.dev_p50_ms, 2),
            sp(t.dev_p99_ms, 2),
            sp(t.dev_max_ms, 1),
            sp(t.rss_per_conn_b, 0),
            sp(t.rss_steady_mib, 1),
            sp(t.rss_peak_mib, 1),
            sp(t.cpu_total_s, 2),
            sp(t.cpu_total_sys_s, 2),
            sp(t.cpu_window_s, 2),
        );
    }
}

fn sio_idle_table(out: &mut String, rows: &[Row], pick: impl Fn(&Row) -> Option<&SioIdle>) {
    out.push_str(
        "| server | connected | failed | dropped | RSS per session (B) | RSS steady (MiB) \
         | server CPU over the hold (s) | client CPU (s) |\n|---|--:|--:|--:|--:|--:|--:|--:|\n",
    );
    for row in rows {
        let Some(t) = pick(row) else { continue };
        let _ = writeln!(
            out,
            "| {} | {}/{} | {} | {} | {} | {} | {} | {} |",
            row.label,
            sp(t.connected, 0),
            sp(t.sessions, 0),
            sp(t.connect_failed, 0),
            sp(t.dropped, 0),
            sp(t.rss_per_session_b, 0),
            sp(t.rss_steady_mib, 1),
            sp(t.cpu_window_s, 2),
            sp(t.client_cpu_s, 2),
        );
    }
}

fn sio_fanout_table(out: &mut String, rows: &[Row], pick: impl Fn(&Row) -> Option<&SioFanout>) {
    out.push_str(
        "| server | connected | dropped | deliveries/s | lost | latency p50 / p99 / max (ms) \
         | server CPU per delivery (µs) | ÷ write floor | client CPU (s) |\n\
         |---|--:|--:|--:|--:|--:|--:|--:|--:|\n",
    );
    for row in rows {
        let Some(f) = pick(row) else { continue };
        let _ = writeln!(
            out,
            "| {} | {}/{} | {} | {} | {} | {} / {} / {} | {} | {} | {} |",
            row.label,
            sp(f.connected, 0),
            sp(f.sessions, 0),
            sp(f.dropped, 0),
            sp(f.deliveries_per_sec, 0),
            sp(f.lost, 0),
            sp(f.latency_p50_ms, 2),
            sp(f.latency_p99_ms, 2),
            sp(f.latency_max_ms, 1),
            sp(f.cpu_us_per_delivery, 2),
            sp(f.over_floor, 2),
            sp(f.client_cpu_s, 2),
        );
    }
}

/// The Socket.IO sections of the results.
fn sio_results(out: &mut String, results: &Results, rows: &[Row], plan: &Plan) {
    if !rows
        .iter()
        .any(|r| r.sio_idle.is_some() || r.sio_fanout.is_some())
    {
        return;
    }
    let sio = &plan.sio;
    let floor = summary::floor(results).map_or_else(|| "—".into(), |f| sp(f, 3));
    let _ = writeln!(
        out,
        "\n### Socket.IO: the write floor\n\n\
         One `write` of a {} B WebSocket frame to a connected loopback TCP socket, {} pairs, \
         timed with the load generator's thread CPU clock: **{floor} µs** per write. No server \
         delivers an event for less; the fan-out tables divide each server's CPU per delivery \
         by the floor measured in the same repeat.\n",
        crate::load::write_floor::FRAME.len(),
        sio.floor_pairs
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
    out.push_str(
        "\n### Socket.IO: session churn, polling exchanges\n\n\
         | server | sessions/s | clean closes | CPU per session (µs) | polling req/s \
         | polling events/s | CPU per polling event (µs) | polling RTT p99 (ms) |\n\
         |---|--:|--:|--:|--:|--:|--:|--:|\n",
    );
    for row in rows {
        if row.sio_churn.is_none() && row.sio_polling.is_none() {
            continue;
        }
        let c = row.sio_churn.clone().unwrap_or_default();
        let p = row.sio_polling.clone().unwrap_or_default();
        let closes = Spread {
            median: c.clean_close_ratio.median * 100.0,
            min: c.clean_close_ratio.min * 100.0,
            max: c.clean_close_ratio.max * 100.0,
            n: c.clean_close_ratio.n,
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} % | {} | {} | {} | {} | {} |",
            row.label,
            sp(c.sessions_per_sec, 0),
            sp(closes, 1),
            sp(c.cpu_us_per_session, 1),
            sp(p.requests_per_sec, 0),
            sp(p.events_per_sec, 0),
            sp(p.cpu_us_per_event, 1),
            sp(p.rtt_p99_ms, 2),
        );
    }
}

/// Ours ÷ each Socket.IO peer, within each repeat.
fn sio_ratios(out: &mut String, results: &Results, kinds: &[Kind]) {
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
    for &ours in kinds.iter().filter(|k| k.ours()) {
        for &peer in &peers {
            let pair = (ours, peer);
            let r = |load, figure: fn(&Report) -> Option<f64>| {
                ratio(summary::paired_ratio(results, pair, load, figure))
            };
            let _ = writeln!(
                out,
                "| {} vs {} | {} | {} | {} | {} | {} | {} | {} |",
                ours.key(),
                peer.key(),
                r(Load::SioIdle, summary::rss_per_conn_b),
                r(Load::SioIdlePolling, summary::rss_per_conn_b),
                r(Load::SioFanout, summary::cpu_us_per_delivery),
                r(Load::SioFanout, summary::latency_p99_ms),
                r(Load::SioFanoutBig, summary::latency_p99_ms),
                r(Load::SioChurn, |r| Some(r.handshakes_per_sec)),
                r(Load::SioPolling, summary::cpu_us_per_event),
            );
        }
    }
}

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
fn sio_targets(out: &mut Vec<Target>, results: &Results, row: &Row, kind: Kind, plan: &Plan) {
    let name = row.server;
    let sio = &plan.sio;
    let times = |v: f64| format!("{v:.3}×");
    let bytes = |v: f64| format!("{v:.0} B");
    let ms = |v: f64| format!("{v:.2} ms");
    let count = |v: f64| format!("{v:.0} lost");
    let n = sio.idle_sessions;
    check(
        out,
        (
            &format!("Socket.IO RSS/idle session at {n}: ours ÷ socket.io ≤ 1/10"),
            name,
        ),
        summary::paired_ratio(
            results,
            (kind, Kind::SocketioNode),
            Load::SioIdle,
            summary::rss_per_conn_b,
        ),
        0.1,
        true,
        times,
    );
    // Issue 9's floors: 2 KB on runtime-mio, 3 KB on the multi-threaded runtimes.
    let floor = if kind == Kind::Mio { 2000.0 } else { 3000.0 };
    check(
        out,
        (
            &format!("Socket.IO RSS/idle session at {n} (issue 9 floor)"),
            name,
        ),
        row.sio_idle.as_ref().map(|t| t.rss_per_session_b),
        floor,
        true,
        bytes,
    );
    let (fs, fr, rate) = (sio.fanout_sessions, sio.fanout_rooms, sio.fanout_rate);
    check(
        out,
        (
            &format!("fan-out {fs} in {fr} rooms at {rate}/s: CPU/delivery ÷ write floor ≤ 1.5"),
            name,
        ),
        row.sio_fanout.as_ref().map(|f| f.over_floor),
        1.5,
        true,
        times,
    );
    check(
        out,
        (&format!("fan-out {fs} in {fr} rooms: p99 ≤ 2 ms"), name),
        row.sio_fanout.as_ref().map(|f| f.latency_p99_ms),
        2.0,
        true,
        ms,
    );
    let lost = |f: &SioFanout| {
        Spread::of([f.lost.max + (f.sessions.max - f.connected.min) + f.dropped.max])
    };
    if let Some(f) = &row.sio_fanout {
        check(
            out,
            (&format!("fan-out {fs} in {fr} rooms: no loss"), name),
            lost(f),
            0.0,
            true,
            count,
        );
    }
    let b = sio.big_room_sessions;
    if let Some(f) = &row.sio_fanout_big {
        check(
            out,
            (&format!("one room of {b}: no loss"), name),
            lost(f),
            0.0,
            true,
            count,
        );
    }
    check(
        out,
        (
            &format!("one room of {b}: p99 ÷ the best peer's p99 ≤ 1/2"),
            name,
        ),
        big_room_vs_best_peer(results, kind, &[Kind::SocketioNode, Kind::Socketioxide]),
        0.5,
        true,
        times,
    );
    if let Some(big) = &row.sio_idle_big {
        let m = sio.big_sessions;
        check(
            out,
            (
                &format!(
                    "{m} idle Socket.IO sessions: no drops (RSS/session {} B)",
                    sp(big.rss_per_session_b, 0)
                ),
                name,
            ),
            Spread::of([big.sessions.max - big.connected.min + big.dropped.max]),
            0.0,
            true,
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

/// Adds a check of `measured` against an upper (`upper`) or lower bound, unless it was not
/// measured. `show` formats a value.
fn check(
    out: &mut Vec<Target>,
    (target, server): (&str, &'static str),
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
    out.push(Target {
        target: target.to_owned(),
        server,
        measured: spread,
        limit: format!("{} {}", if upper { "≤" } else { "≥" }, show(limit)),
        met: meets(m.median),
        met_every_repeat: meets(if upper { m.max } else { m.min }),
    });
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
        let name = row.server;
        let n = plan.tick_connections;
        let ours = row.ticks.clone();
        check(
            &mut out,
            (&format!("RSS/conn at {n}: ours ÷ node ≤ 1/8"), name),
            vs(Kind::Node, Load::Ticks, summary::rss_per_conn_b),
            1.0 / 8.0,
            true,
            times,
        );
        check(
            &mut out,
            (
                &format!("RSS/conn at {n}: ours ÷ tokio-tungstenite 4 KiB ≤ 1/4"),
                name,
            ),
            vs(Kind::Tungstenite4k, Load::Ticks, summary::rss_per_conn_b),
            0.25,
            true,
            times,
        );
        if row.server == "mio" {
            check(
                &mut out,
                (&format!("RSS/conn at {n} ≤ 600 B"), name),
                ours.as_ref().map(|t| t.rss_per_conn_b),
                600.0,
                true,
                |v| format!("{v:.0} B"),
            );
        }
        check(
            &mut out,
            (&format!("CPU of the {n} tick run: ours ÷ node ≤ 1/5"), name),
            vs(Kind::Node, Load::Ticks, summary::cpu_total_s),
            0.2,
            true,
            times,
        );
        check(
            &mut out,
            (
                &format!("CPU of the {n} tick run: ours ÷ tokio-tungstenite 4 KiB ≤ 0.7"),
                name,
            ),
            vs(Kind::Tungstenite4k, Load::Ticks, summary::cpu_total_s),
            0.7,
            true,
            times,
        );
        let ms = |v: f64| format!("{v:.2} ms");
        check(
            &mut out,
            (&format!("tick p99 deviation at {n} ≤ 5 ms"), name),
            ours.as_ref().map(|t| t.dev_p99_ms),
            5.0,
            true,
            ms,
        );
        let lost = |t: &Ticks| Spread::of([t.connections.max - t.connected.min + t.dropped.max]);
        let count = |v: f64| format!("{v:.0} lost");
        if let Some(t) = ours.as_ref().filter(|t| t.connections.n > 0) {
            check(
                &mut out,
                (&format!("no drops at {n}"), name),
                lost(t),
                0.0,
                true,
                count,
            );
        }
        if let Some(big) = &row.ticks_big {
            let m = plan.big_connections;
            check(
                &mut out,
                (&format!("tick p99 deviation at {m} ≤ 10 ms"), name),
                Some(big.dev_p99_ms),
                10.0,
                true,
                ms,
            );
            check(
                &mut out,
                (&format!("no drops at {m}"), name),
                lost(big),
                0.0,
                true,
                count,
            );
        }
        check(
            &mut out,
            ("echo CPU/msg: ours ÷ tokio-tungstenite ≤ 0.7", name),
            vs(Kind::Tungstenite, Load::Echo, summary::cpu_us_per_op),
            0.7,
            true,
            times,
        );
        check(
            &mut out,
            ("echo msgs/s: ours ÷ node ≥ 3", name),
            vs(Kind::Node, Load::Echo, |r| Some(r.msgs_per_sec)),
            3.0,
            false,
            times,
        );
        check(
            &mut out,
            ("handshakes/s: ours ÷ node ≥ 2", name),
            vs(Kind::Node, Load::Churn, |r| Some(r.handshakes_per_sec)),
            2.0,
            false,
            times,
        );
        sio_targets(&mut out, results, row, kind, plan);
    }
    out
}

/// The first line of ANALYSIS.md may say which run it was written for, as
/// `<!-- written for the run of 2026-11-26 12:49 UTC -->`: the date `compare` records.
pub fn analysis_run_date(analysis: &str) -> Option<&str> {
    analysis
        .lines()
        .next()?
        .trim()
        .strip_prefix("<!-- written for the run of ")?
        .strip_suffix("-->")
        .map(str::trim)
}

/// The whole document. `figures` are (title, path relative to the document).
pub fn document(
    saved: &Saved,
    rows: &[Row],
    failures: &[String],
    figures: &[(String, String)],
    analysis: Option<&str>,
) -> String {
    let (command, machine, plan) = (&saved.command, &saved.machine, &saved.plan);
    let mut out = String::new();
    out.push_str("# Benchmarks\n\n");
    let _ = writeln!(
        out,
        "Generated by `{command}`; the figures below are from one run of it. Regenerate with the \
         same command (this file is overwritten; the analysis section comes from \
         `tests/bench/ANALYSIS.md`).\n"
    );
    if plan.quick {
        out.push_str(
            "**Quick run** (smoke-test sizes): the figures only show that every load works.\n\n",
        );
    }
    out.push_str("## Machine\n\n| | |\n|---|---|\n");
    for (name, value) in machine {
        let _ = writeln!(out, "| {name} | {value} |");
    }
    let _ = writeln!(
        out,
        "\nThe machine is small and shared (other builds may run during the measurement): \
         absolute figures drift between runs; the ratios between servers measured in the same run \
         (interleaved: every repeat runs each server once per load) are what to read.\n\n\
         ## Method\n\n\
         Every measurement starts a fresh server (logs to a file, `HOST=127.0.0.1`, \
         `TICK_INTERVAL_MS={interval}`), runs `loadgen` against it with `--server-pid`, stops \
         it; each figure is the median of {repeats} repeat(s), followed by (min–max) when \
         the repeats differ, and each ratio is taken within one repeat (both servers measured \
         back to back) before its median and min–max are taken. The server is measured from \
         outside: RSS from `/proc/PID/status` (sampled every 100 ms; per connection = (median \
         RSS in the window − RSS before the first connect) ÷ connections), CPU = utime + stime \
         from `/proc/PID/stat`.\n\n\
         - **ticks**: {n} connections behaving like the seed's page (each tick answered with \
         `클라이언트에서 서버로 답장을 보냅니다`), {secs} s window, interval {interval} ms; \
         deviation = |gap between two ticks − interval|. Clients in {procs} processes, from \
         source addresses {sources}. Then {big} connections for ours.\n\
         - **echo**: {ec} connections × {inflight} messages in flight × {size} B to `/echo`, \
         {s} s{pin}.\n\
         - **churn**: {cc} loops of connect, upgrade to `/`, close handshake, {s} s.\n\
         - **http**: {hc} keep-alive connections repeating `GET /`, {s} s.\n",
        interval = plan.interval_ms,
        repeats = plan.repeats,
        n = plan.tick_connections,
        secs = plan.tick_seconds,
        procs = plan.tick_connections.div_ceil(7000).max(1),
        sources = plan.sources.join(", "),
        big = plan.big_connections,
        ec = plan.echo_connections,
        inflight = plan.in_flight,
        size = plan.message_size,
        s = plan.seconds,
        pin = if plan.pin {
            "; server pinned to CPU 0, client to CPU 1 (`taskset`)"
        } else {
            ""
        },
        cc = plan.churn_concurrency,
        hc = plan.http_connections,
    );
    if saved.results.runs.keys().any(|k| k.contains("/Sio")) {
        let _ = writeln!(
            out,
            "- **Socket.IO** (namespace `/relay`, room named in the handshake's auth; ours started \
         with `CONFORMANCE=true`, every server with connection state recovery off, \
         `SIO_RECOVERY_MS=0`, as socket.io and socketioxide default to): idle sessions over \
         WebSocket ({si} in {sr} rooms, {secs} s hold) and over long-polling ({sp}), {sb} idle \
         sessions for ours; fan-out of {fs} sessions in {fr} rooms, the first member of each \
         room sending {frate} `chat` events/s carrying their send time, and one room of {bs} at \
         {brate}/s ({fsecs} s; an event sent in the window but its last quarter or second is \
         owed to every member of its room, latency = receipt − send on the wall clock); {sc} \
         loops of open, CONNECT, leave, close; {pp} polling sessions each POSTing a `chat` and \
         GETting it back; and the write floor (one small write per loopback socket pair, CPU \
         per write, in the load generator).\n",
        si = plan.sio.idle_sessions,
        secs = plan.tick_seconds,
        sr = plan.sio.idle_rooms,
        sp = plan.sio.idle_polling_sessions,
        sb = plan.sio.big_sessions,
        fs = plan.sio.fanout_sessions,
        fr = plan.sio.fanout_rooms,
        frate = plan.sio.fanout_rate,
        bs = plan.sio.big_room_sessions,
        brate = plan.sio.big_room_rate,
        fsecs = plan.sio.fanout_seconds,
        sc = plan.sio.churn_concurrency,
        pp = plan.sio.polling_sessions,
        );
    }
    let _ = writeln!(
        out,
        "## Results\n\n### Ticks at {} connections\n",
        plan.tick_connections
    );
    ticks_table(&mut out, rows, |r| r.ticks.as_ref());
    let _ = writeln!(
        out,
        "\n### Ticks at {} connections (ours)\n",
        plan.big_connections
    );
    ticks_table(&mut out, rows, |r| r.ticks_big.as_ref());
    out.push_str(
        "\n### Echo\n\n\
         Led by the server's CPU per echoed message: the load generator is pinned to one core \
         and is as busy as the server, so msgs/s measures the share of that core it got as \
         much as the server (a repeat where another process ran on the client's core shows as \
         low client CPU and high *others*); the CPU per message does not depend on it.\n\n\
         | server | server CPU per echoed msg (µs) | msgs/s | RTT p50 / p99 (ms) \
         | CPU in the window: server / client / others (s) |\n\
         |---|--:|--:|--:|--:|\n",
    );
    for row in rows {
        let Some(e) = &row.echo else { continue };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} / {} | {} / {} / {} |",
            row.label,
            sp(e.cpu_us_per_msg, 3),
            sp(e.msgs_per_sec, 0),
            sp(e.rtt_p50_ms, 2),
            sp(e.rtt_p99_ms, 2),
            sp(e.server_cpu_s, 2),
            sp(e.client_cpu_s, 2),
            sp(e.others_cpu_s, 2),
        );
    }
    out.push_str(
        "\n### Churn, HTTP\n\n\
         | server | handshakes/s | clean closes | CPU per handshake (µs) \
         | HTTP req/s | CPU per request (µs) |\n\
         |---|--:|--:|--:|--:|--:|\n",
    );
    for row in rows
        .iter()
        .filter(|r| r.churn.is_some() || r.http.is_some())
    {
        let c = row.churn.clone().unwrap_or_default();
        let (req, req_cpu) = match &row.http {
            Some(h) => (sp(h.requests_per_sec, 0), sp(h.cpu_us_per_request, 1)),
            None => ("—".into(), "—".into()),
        };
        let closes = Spread {
            median: c.clean_close_ratio.median * 100.0,
            min: c.clean_close_ratio.min * 100.0,
            max: c.clean_close_ratio.max * 100.0,
            n: c.clean_close_ratio.n,
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} % | {} | {req} | {req_cpu} |",
            row.label,
            sp(c.handshakes_per_sec, 0),
            sp(closes, 1),
            sp(c.cpu_us_per_handshake, 1),
        );
    }
    sio_results(&mut out, &saved.results, rows, plan);
    if !figures.is_empty() {
        out.push_str("\n### Figures\n\nBars are medians over the repeats.\n\n");
        for (title, path) in figures {
            let _ = writeln!(out, "![{title}]({path})\n");
        }
    }
    out.push_str(
        "\n## Ratios (ours ÷ peer, within each repeat)\n\nEach cell is the median of the \
         per-repeat ratios, (min–max) over the repeats. Below 1 is better for RSS and CPU, \
         above 1 for rates.\n\n\
         | ours vs peer | RSS per connection | CPU per tick run | CPU per echoed msg | msgs/s \
         | handshakes/s | req/s |\n|---|--:|--:|--:|--:|--:|--:|\n",
    );
    let results = &saved.results;
    let kinds: Vec<Kind> = rows
        .iter()
        .filter_map(|r| Kind::from_key(r.server))
        .collect();
    for &ours in kinds.iter().filter(|k| k.ours()) {
        for &peer in kinds.iter().filter(|k| !k.ours() && k.serves_seed()) {
            let pair = (ours, peer);
            let r = |load, figure: fn(&Report) -> Option<f64>| {
                ratio(summary::paired_ratio(results, pair, load, figure))
            };
            let _ = writeln!(
                out,
                "| {} vs {} | {} | {} | {} | {} | {} | {} |",
                ours.key(),
                peer.key(),
                r(Load::Ticks, summary::rss_per_conn_b),
                r(Load::Ticks, summary::cpu_total_s),
                r(Load::Echo, summary::cpu_us_per_op),
                r(Load::Echo, |r| Some(r.msgs_per_sec)),
                r(Load::Churn, |r| Some(r.handshakes_per_sec)),
                r(Load::Http, |r| Some(r.requests_per_sec)),
            );
        }
    }
    sio_ratios(&mut out, results, &kinds);
    out.push_str(
        "\n## Targets\n\n| target | server | measured: median (min–max) | limit | median meets it \
         | every repeat meets it |\n|---|---|--:|--:|---|---|\n",
    );
    let yes = |met: bool| if met { "yes" } else { "**no**" };
    for t in targets(results, rows, plan) {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            t.target,
            t.server,
            t.measured,
            t.limit,
            yes(t.met),
            yes(t.met_every_repeat)
        );
    }
    if !failures.is_empty() {
        out.push_str("\n## Not measured\n\n");
        for failure in failures {
            let _ = writeln!(out, "- {failure}");
        }
    }
    if let Some(analysis) = analysis {
        out.push_str("\n## Analysis\n\n");
        let this_run = machine
            .iter()
            .find(|(name, _)| name == "date")
            .map(|(_, date)| date.as_str());
        if analysis_run_date(analysis) != this_run {
            let _ = writeln!(
                out,
                "**The analysis below was written for the run of {}, not for this one ({}): \
                 its figures may not match the tables above.**\n",
                analysis_run_date(analysis).unwrap_or("(no date given)"),
                this_run.unwrap_or("unknown date"),
            );
        }
        out.push_str(analysis.trim());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spreads_and_ratios_read_as_median_then_range() {
        let s = Spread::of([0.7, 2.6, 0.9]).unwrap_or_default();
        assert_eq!(sp(s, 1), "0.9 (0.7–2.6)");
        assert_eq!(sp(Spread::of([5.0]).unwrap_or_default(), 1), "5.0");
        assert_eq!(sp(Spread::default(), 1), "—");
        assert_eq!(ratio(Spread::of([0.31, 0.33, 0.30])), "0.31× (0.30–0.33)");
        assert_eq!(
            ratio(Spread::of([0.045, 0.044, 0.046])),
            "0.045× (0.044–0.046)"
        );
        assert_eq!(ratio(None), "—");
    }

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
                .insert(super::super::run_key(kind, load), reports);
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
            super::super::FLOOR_KEY.into(),
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

    #[test]
    fn the_analysis_says_which_run_it_was_written_for() {
        let analysis = "<!-- written for the run of 2026-11-26 12:49 UTC -->\nText";
        assert_eq!(analysis_run_date(analysis), Some("2026-11-26 12:49 UTC"));
        assert_eq!(analysis_run_date("Text"), None);
    }
}
