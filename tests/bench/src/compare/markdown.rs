//! BENCHMARKS.md: machine, method, medians, ratios within the run, targets, and the analysis
//! kept by hand in tests/bench/ANALYSIS.md (included verbatim, so regenerating the file does not
//! lose it).

use std::fmt::Write as _;
use std::process::Command;

use super::summary::{Row, Ticks};
use super::Plan;

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

fn f(v: f64, digits: usize) -> String {
    format!("{v:.digits$}")
}

fn ratio(ours: f64, peer: f64) -> String {
    if ours > 0.0 && peer > 0.0 {
        format!("{:.2}×", ours / peer)
    } else {
        "—".into()
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
            t.connected,
            t.connections,
            t.dropped,
            t.ticks_received,
            t.ticks_expected,
            f(t.dev_p50_ms, 2),
            f(t.dev_p99_ms, 2),
            f(t.dev_max_ms, 1),
            f(t.rss_per_conn_b, 0),
            f(t.rss_steady_mib, 1),
            f(t.rss_peak_mib, 1),
            f(t.cpu_total_s, 2),
            f(t.cpu_total_sys_s, 2),
            f(t.cpu_window_s, 2),
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
    pub met: bool,
}

/// Adds an upper (`upper`) or lower bound check, unless either side was not measured.
fn check(
    out: &mut Vec<Target>,
    target: &str,
    server: &'static str,
    (measured, limit): (f64, f64),
    upper: bool,
    unit: &str,
) {
    if measured <= 0.0 || limit <= 0.0 {
        return;
    }
    out.push(Target {
        target: target.to_owned(),
        server,
        measured: format!("{measured:.3} {unit}"),
        limit: format!("{} {limit:.3} {unit}", if upper { "≤" } else { "≥" }),
        met: if upper {
            measured <= limit
        } else {
            measured >= limit
        },
    });
}

/// Checks the targets for each of ours against the peers measured in the same run.
pub fn targets(rows: &[Row], plan: &Plan) -> Vec<Target> {
    let find = |key: &str| rows.iter().find(|r| r.server == key);
    let (node, tt, tt4) = (find("node"), find("tungstenite"), find("tungstenite-4k"));
    let mut out = Vec::new();
    let t = |r: Option<&Row>| r.and_then(|r| r.ticks.clone()).unwrap_or_default();
    for row in rows.iter().filter(|r| r.ours) {
        let ours = t(Some(row));
        let n = plan.tick_connections;
        check(
            &mut out,
            &format!("RSS/conn at {n} ≤ node ÷ 8"),
            row.server,
            (ours.rss_per_conn_b, t(node).rss_per_conn_b / 8.0),
            true,
            "B",
        );
        check(
            &mut out,
            &format!("RSS/conn at {n} ≤ tokio-tungstenite 4 KiB ÷ 4"),
            row.server,
            (ours.rss_per_conn_b, t(tt4).rss_per_conn_b / 4.0),
            true,
            "B",
        );
        if row.server == "mio" {
            check(
                &mut out,
                &format!("RSS/conn at {n} ≤ 600 B"),
                row.server,
                (ours.rss_per_conn_b, 600.0),
                true,
                "B",
            );
        }
        check(
            &mut out,
            &format!("CPU of the {n} tick run ≤ node ÷ 5"),
            row.server,
            (ours.cpu_total_s, t(node).cpu_total_s / 5.0),
            true,
            "s",
        );
        check(
            &mut out,
            &format!("CPU of the {n} tick run ≤ 0.7 × tokio-tungstenite 4 KiB"),
            row.server,
            (ours.cpu_total_s, t(tt4).cpu_total_s * 0.7),
            true,
            "s",
        );
        check(
            &mut out,
            &format!("tick p99 deviation at {n} ≤ 5 ms"),
            row.server,
            (ours.dev_p99_ms.max(1e-9), 5.0),
            true,
            "ms",
        );
        let lost = |t: &Ticks| t.connections - t.connected + t.dropped;
        let no_drops = |target: String, t: &Ticks| Target {
            target,
            server: row.server,
            measured: format!("{} lost", lost(t)),
            limit: "0 lost".into(),
            met: lost(t) == 0.0,
        };
        if ours.connections > 0.0 {
            out.push(no_drops(format!("no drops at {n}"), &ours));
        }
        if let Some(big) = &row.ticks_big {
            let m = plan.big_connections;
            check(
                &mut out,
                &format!("tick p99 deviation at {m} ≤ 10 ms"),
                row.server,
                (big.dev_p99_ms.max(1e-9), 10.0),
                true,
                "ms",
            );
            out.push(no_drops(format!("no drops at {m}"), big));
        }
        let echo = |r: Option<&Row>| r.and_then(|r| r.echo.clone()).unwrap_or_default();
        let e = echo(Some(row));
        check(
            &mut out,
            "echo CPU/msg ≤ 0.7 × tokio-tungstenite",
            row.server,
            (e.cpu_us_per_msg, echo(tt).cpu_us_per_msg * 0.7),
            true,
            "µs",
        );
        check(
            &mut out,
            "echo msgs/s ≥ 3 × node",
            row.server,
            (e.msgs_per_sec, echo(node).msgs_per_sec * 3.0),
            false,
            "/s",
        );
        let hs = |r: Option<&Row>| {
            r.and_then(|r| r.churn.as_ref())
                .map_or(0.0, |c| c.handshakes_per_sec)
        };
        check(
            &mut out,
            "handshakes/s ≥ 2 × node",
            row.server,
            (hs(Some(row)), hs(node) * 2.0),
            false,
            "/s",
        );
    }
    out
}

/// The whole document. `figures` are (title, path relative to the document).
pub fn document(
    command: &str,
    machine: &[(String, String)],
    plan: &Plan,
    rows: &[Row],
    failures: &[String],
    figures: &[(String, String)],
    analysis: Option<&str>,
) -> String {
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
         it; each figure is the median of {repeats} repeat(s). The server is measured from \
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
        "\n### Echo, churn, HTTP\n\n\
         | server | echo msgs/s | echo RTT p50 / p99 (ms) | server CPU per echoed msg (µs) \
         | echo CPU server / client (s) | handshakes/s | clean closes | CPU per handshake (µs) \
         | HTTP req/s | CPU per request (µs) |\n\
         |---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n",
    );
    for row in rows {
        let e = row.echo.clone().unwrap_or_default();
        let c = row.churn.clone().unwrap_or_default();
        let (req, req_cpu) = match &row.http {
            Some(h) => (f(h.requests_per_sec, 0), f(h.cpu_us_per_request, 1)),
            None => ("—".into(), "—".into()),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} / {} | {} | {} / {} | {} | {:.0} % | {} | {req} | {req_cpu} |",
            row.label,
            f(e.msgs_per_sec, 0),
            f(e.rtt_p50_ms, 2),
            f(e.rtt_p99_ms, 2),
            f(e.cpu_us_per_msg, 2),
            f(e.server_cpu_s, 2),
            f(e.client_cpu_s, 2),
            f(c.handshakes_per_sec, 0),
            c.clean_close_ratio * 100.0,
            f(c.cpu_us_per_handshake, 1),
        );
    }
    if !figures.is_empty() {
        out.push_str("\n### Figures\n\n");
        for (title, path) in figures {
            let _ = writeln!(out, "![{title}]({path})\n");
        }
    }
    out.push_str(
        "\n## Ratios (ours ÷ peer, same run)\n\nBelow 1 is better for RSS and CPU, above 1 \
         for rates.\n\n\
         | ours vs peer | RSS per connection | CPU per tick run | CPU per echoed msg | msgs/s \
         | handshakes/s | req/s |\n|---|--:|--:|--:|--:|--:|--:|\n",
    );
    for ours in rows.iter().filter(|r| r.ours) {
        for peer in rows.iter().filter(|r| !r.ours) {
            let t = |r: &Row| r.ticks.clone().unwrap_or_default();
            let e = |r: &Row| r.echo.clone().unwrap_or_default();
            let c = |r: &Row| r.churn.as_ref().map_or(0.0, |c| c.handshakes_per_sec);
            let h = |r: &Row| r.http.as_ref().map_or(0.0, |h| h.requests_per_sec);
            let _ = writeln!(
                out,
                "| {} vs {} | {} | {} | {} | {} | {} | {} |",
                ours.server,
                peer.server,
                ratio(t(ours).rss_per_conn_b, t(peer).rss_per_conn_b),
                ratio(t(ours).cpu_total_s, t(peer).cpu_total_s),
                ratio(e(ours).cpu_us_per_msg, e(peer).cpu_us_per_msg),
                ratio(e(ours).msgs_per_sec, e(peer).msgs_per_sec),
                ratio(c(ours), c(peer)),
                ratio(h(ours), h(peer)),
            );
        }
    }
    out.push_str(
        "\n## Targets\n\n| target | server | measured | limit | met |\n|---|---|--:|--:|---|\n",
    );
    for t in targets(rows, plan) {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            t.target,
            t.server,
            t.measured,
            t.limit,
            if t.met { "yes" } else { "**no**" }
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
        out.push_str(analysis.trim());
        out.push('\n');
    }
    out
}
