//! BENCHMARKS.md: machine, method, medians with their min–max, ratios taken within each
//! repeat, targets, and the analysis kept by hand in tests/bench/ANALYSIS.md (included verbatim,
//! so regenerating the file does not lose it, with a warning when it was written for another
//! run than the one it sits beside).
//!
//! This file holds the document and the seed's tables; the Socket.IO sections are in `sio`,
//! the targets in `targets`, the machine's description in `machine`.

mod machine;
mod sio;
mod targets;

use std::fmt::Write as _;

pub use machine::machine;
pub use targets::{targets, Target};

use super::servers::Kind;
use super::summary::{self, Row, Spread, Ticks};
use super::{Load, Results, Saved};
use crate::report::Report;

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

/// A ratio (0–1) over the repeats as a percentage.
fn percent(s: Spread) -> Spread {
    Spread {
        median: s.median * 100.0,
        min: s.min * 100.0,
        max: s.max * 100.0,
        n: s.n,
    }
}

/// Writes `head` (the title, header and separator lines), then one line per row `cells` gives
/// figures for, led by the row's label.
fn table(out: &mut String, head: &str, rows: &[Row], cells: impl Fn(&Row) -> Option<Vec<String>>) {
    out.push_str(head);
    for row in rows {
        let Some(cells) = cells(row) else { continue };
        let _ = writeln!(out, "| {} | {} |", row.label, cells.join(" | "));
    }
}

/// One figure of a report, for a ratio column.
type Figure = fn(&Report) -> Option<f64>;

/// One line per (ours, peer) pair: each column's figure as ours ÷ peer within each repeat.
fn ratio_rows(
    out: &mut String,
    results: &Results,
    kinds: &[Kind],
    peers: &[Kind],
    columns: &[(Load, Figure)],
) {
    for &ours in kinds.iter().filter(|k| k.ours()) {
        for &peer in peers {
            let cells: Vec<String> = columns
                .iter()
                .map(|&(load, figure)| {
                    ratio(summary::paired_ratio(results, (ours, peer), load, figure))
                })
                .collect();
            let _ = writeln!(
                out,
                "| {} vs {} | {} |",
                ours.key(),
                peer.key(),
                cells.join(" | ")
            );
        }
    }
}

fn ticks_table(out: &mut String, rows: &[Row], pick: impl Fn(&Row) -> Option<&Ticks>) {
    let head = "| server | connected | dropped | ticks received / expected | deviation p50 / p99 / max (ms) \
         | RSS per connection (B) | RSS steady / peak (MiB) | CPU whole run (s) (of it kernel) \
         | CPU tick window (s) |\n\
         |---|--:|--:|--:|--:|--:|--:|--:|--:|\n";
    table(out, head, rows, |row| {
        let t = pick(row)?;
        Some(vec![
            format!("{}/{}", sp(t.connected, 0), sp(t.connections, 0)),
            sp(t.dropped, 0),
            format!("{} / {}", sp(t.ticks_received, 0), sp(t.ticks_expected, 0)),
            format!(
                "{} / {} / {}",
                sp(t.dev_p50_ms, 2),
                sp(t.dev_p99_ms, 2),
                sp(t.dev_max_ms, 1)
            ),
            sp(t.rss_per_conn_b, 0),
            format!("{} / {}", sp(t.rss_steady_mib, 1), sp(t.rss_peak_mib, 1)),
            format!("{} ({})", sp(t.cpu_total_s, 2), sp(t.cpu_total_sys_s, 2)),
            sp(t.cpu_window_s, 2),
        ])
    });
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
    if saved.results.runs.keys().any(|k| k.contains("/Chat")) {
        let _ = writeln!(
            out,
            "- **The chat room** (ours only; the peers have no chat app): `chat-post` and \
             `chat-socket`, members of rooms of at most 10 posting lines (over `POST \
             /room/<id>/chat`, or the `/chat` socket's `chat` event with an ack) that the room \
             stores in SQLite and relays to every member; `chat-page`, the first load (`GET \
             /rooms`, `GET /room/<id>` with a history). Each on a fresh SQLite file, \
             `CHAT_RATE=100000/100000`.\n"
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
    let head = "\n### Echo\n\n\
         Led by the server's CPU per echoed message: the load generator is pinned to one core \
         and is as busy as the server, so msgs/s measures the share of that core it got as \
         much as the server (a repeat where another process ran on the client's core shows as \
         low client CPU and high *others*); the CPU per message does not depend on it.\n\n\
         | server | server CPU per echoed msg (µs) | msgs/s | RTT p50 / p99 (ms) \
         | CPU in the window: server / client / others (s) |\n\
         |---|--:|--:|--:|--:|\n";
    table(&mut out, head, rows, |row| {
        let e = row.echo.as_ref()?;
        Some(vec![
            sp(e.cpu_us_per_msg, 3),
            sp(e.msgs_per_sec, 0),
            format!("{} / {}", sp(e.rtt_p50_ms, 2), sp(e.rtt_p99_ms, 2)),
            format!(
                "{} / {} / {}",
                sp(e.server_cpu_s, 2),
                sp(e.client_cpu_s, 2),
                sp(e.others_cpu_s, 2)
            ),
        ])
    });
    let head = "\n### Churn, HTTP\n\n\
         | server | handshakes/s | clean closes | CPU per handshake (µs) \
         | HTTP req/s | CPU per request (µs) |\n\
         |---|--:|--:|--:|--:|--:|\n";
    table(&mut out, head, rows, |row| {
        if row.churn.is_none() && row.http.is_none() {
            return None;
        }
        let c = row.churn.clone().unwrap_or_default();
        let (req, req_cpu) = match &row.http {
            Some(h) => (sp(h.requests_per_sec, 0), sp(h.cpu_us_per_request, 1)),
            None => ("—".into(), "—".into()),
        };
        Some(vec![
            sp(c.handshakes_per_sec, 0),
            format!("{} %", sp(percent(c.clean_close_ratio), 1)),
            sp(c.cpu_us_per_handshake, 1),
            req,
            req_cpu,
        ])
    });
    sio::results(&mut out, &saved.results, rows, plan);
    crate::compare::chat::results(&mut out, rows, plan);
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
    let peers: Vec<Kind> = kinds
        .iter()
        .copied()
        .filter(|k| !k.ours() && k.serves_seed())
        .collect();
    ratio_rows(
        &mut out,
        results,
        &kinds,
        &peers,
        &[
            (Load::Ticks, summary::rss_per_conn_b),
            (Load::Ticks, summary::cpu_total_s),
            (Load::Echo, summary::cpu_us_per_op),
            (Load::Echo, |r| Some(r.msgs_per_sec)),
            (Load::Churn, |r| Some(r.handshakes_per_sec)),
            (Load::Http, |r| Some(r.requests_per_sec)),
        ],
    );
    sio::ratios(&mut out, results, &kinds);
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

    #[test]
    fn the_analysis_says_which_run_it_was_written_for() {
        let analysis = "<!-- written for the run of 2026-11-26 12:49 UTC -->\nText";
        assert_eq!(analysis_run_date(analysis), Some("2026-11-26 12:49 UTC"));
        assert_eq!(analysis_run_date("Text"), None);
    }
}
