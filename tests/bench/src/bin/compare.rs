//! `compare`: builds every server, runs the same loads against each, prints a table and writes
//! BENCHMARKS.md, tests/bench/results.json and SVG charts in tests/bench/figures.
//!
//! ```text
//! cargo run --release -p gif-chat-bench --bin compare              # full run, ~25 min
//! cargo run --release -p gif-chat-bench --bin compare -- --quick   # smoke sizes, ~1 min
//! cargo run --release -p gif-chat-bench --bin compare -- --only mio,node
//! cargo run --release -p gif-chat-bench --bin compare -- --only tokio,smol,mio \
//!     --loads chat-post,chat-socket,chat-page --out-dir /tmp/chat   # the chat room alone
//! ```

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use gif_chat_bench::compare::chart::{self, Bar};
use gif_chat_bench::compare::servers::Kind;
use gif_chat_bench::compare::summary::{self, Row};
use gif_chat_bench::compare::{self, markdown, Load, Plan, Saved};

/// Compare gif-chat's runtimes with the seed's Node app, tokio-tungstenite, socket.io and
/// socketioxide.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Smoke-test sizes (50 connections, 2 s, one repeat); writes to a temporary directory.
    #[arg(long)]
    quick: bool,
    /// Servers to run: tokio, smol, mio, node, tungstenite, tungstenite-4k, socketio-node,
    /// socketioxide.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Loads to run (default: all), e.g. chat-post,chat-socket,chat-page or sio-fanout.
    #[arg(long, value_delimiter = ',')]
    loads: Vec<String>,
    /// Repeats of every measurement (default 3, 1 with --quick).
    #[arg(long)]
    repeats: Option<usize>,
    /// Connections of the tick load (default 10000).
    #[arg(long)]
    connections: Option<usize>,
    /// Connections of the large tick load, ours only (default 19000).
    #[arg(long)]
    big_connections: Option<usize>,
    /// Seconds of the tick window (default 24).
    #[arg(long)]
    tick_seconds: Option<f64>,
    /// Seconds of the echo, churn and HTTP windows (default 10).
    #[arg(long)]
    seconds: Option<f64>,
    /// Lines per second each chat room member posts (default 0: each as soon as the last was
    /// answered).
    #[arg(long)]
    chat_rate: Option<f64>,
    /// Skip `cargo build --release` (binaries already built).
    #[arg(long)]
    no_build: bool,
    /// Build and run debug binaries (for smoke tests; figures are then meaningless).
    #[arg(long)]
    debug: bool,
    /// Where to write the report (default: BENCHMARKS.md at the workspace root; with --quick a
    /// temporary directory).
    #[arg(long)]
    out_dir: Option<PathBuf>,
    /// Keep the servers' and loadgen's logs (printed path) instead of deleting them at the end.
    #[arg(long)]
    keep_logs: bool,
    /// Render BENCHMARKS.md and the charts again from a results.json (no measuring).
    #[arg(long)]
    render: Option<PathBuf>,
    /// The workspace root.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))]
    root: PathBuf,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let root = cli.root.canonicalize().unwrap_or(cli.root.clone());
    let mut plan = if cli.quick {
        Plan::quick()
    } else {
        Plan::full()
    };
    plan.debug = cli.debug;
    if let Some(r) = cli.repeats {
        plan.repeats = r.max(1);
    }
    if let Some(n) = cli.connections {
        plan.tick_connections = n;
    }
    if let Some(n) = cli.big_connections {
        plan.big_connections = n;
    }
    if let Some(s) = cli.tick_seconds {
        plan.tick_seconds = s;
    }
    if let Some(s) = cli.seconds {
        plan.seconds = s;
    }
    if let Some(rate) = cli.chat_rate {
        plan.chat.rate = rate.max(0.0);
    }
    let mut kinds = Vec::new();
    for key in &cli.only {
        match Kind::from_key(key) {
            Some(kind) if !kinds.contains(&kind) => kinds.push(kind),
            Some(_) => {}
            None => {
                eprintln!("compare: unknown server {key:?}");
                return ExitCode::from(2);
            }
        }
    }
    if kinds.is_empty() {
        kinds = Kind::ALL.to_vec();
    }
    let mut loads = Vec::new();
    for name in &cli.loads {
        match Load::from_name(name) {
            Some(load) if !loads.contains(&load) => loads.push(load),
            Some(_) => {}
            None => {
                eprintln!("compare: unknown load {name:?}");
                return ExitCode::from(2);
            }
        }
    }
    if loads.is_empty() {
        loads = Load::ALL.to_vec();
    }
    kinds.sort();
    let (markdown_path, figures_dir, json_path) = match (&cli.out_dir, cli.quick) {
        (Some(dir), _) => (
            dir.join("BENCHMARKS.md"),
            dir.join("figures"),
            dir.join("results.json"),
        ),
        (None, true) => {
            let dir = std::env::temp_dir().join("gif-chat-bench-quick");
            (
                dir.join("BENCHMARKS.md"),
                dir.join("figures"),
                dir.join("results.json"),
            )
        }
        (None, false) => (
            root.join("BENCHMARKS.md"),
            root.join("tests/bench/figures"),
            root.join("tests/bench/results.json"),
        ),
    };
    let logs = std::env::temp_dir().join(format!("gif-chat-bench-logs-{}", std::process::id()));
    for dir in [&figures_dir, &logs] {
        if let Err(error) = std::fs::create_dir_all(dir) {
            eprintln!("compare: {}: {error}", dir.display());
            return ExitCode::FAILURE;
        }
    }
    let saved = match &cli.render {
        Some(path) => {
            let loaded = std::fs::read_to_string(path)
                .map_err(|e| e.to_string())
                .and_then(|text| serde_json::from_str::<Saved>(&text).map_err(|e| e.to_string()));
            match loaded {
                Ok(mut saved) => {
                    saved.results.number_repeats();
                    saved
                }
                Err(error) => {
                    eprintln!("compare: {}: {error}", path.display());
                    return ExitCode::FAILURE;
                }
            }
        }
        None => {
            let machine = markdown::machine();
            let mut failures = Vec::new();
            if !cli.no_build {
                kinds = compare::build(&root, &kinds, plan.debug, &mut failures);
            }
            for (kind, folder) in [
                (Kind::Node, "node-seed"),
                (Kind::SocketioNode, "socketio-node"),
            ] {
                if kinds.contains(&kind) && !compare::prepare_node(&root, folder, &mut failures) {
                    kinds.retain(|k| *k != kind);
                }
            }
            eprintln!("compare: server logs in {}", logs.display());
            let mut results = compare::measure(&root, &kinds, &loads, &plan, &logs);
            failures.append(&mut results.failures);
            results.failures = failures;
            Saved {
                command: command_line(),
                machine,
                plan,
                results,
            }
        }
    };
    if cli.render.is_some() {
        let measured = |k: &Kind| {
            let prefix = format!("{}/", k.key());
            saved
                .results
                .runs
                .keys()
                .any(|key| key.starts_with(&prefix))
        };
        kinds.retain(measured);
    }
    let rows = summary::rows(&saved.results, &kinds);
    let mut failures = saved.results.failures.clone();
    let floors: Vec<(String, f64)> = [
        ("write floor".to_owned(), summary::floor(&saved.results)),
        (
            format!("write floor, {} sockets", saved.plan.sio.fanout_sessions),
            summary::floor_load(&saved.results),
        ),
    ]
    .into_iter()
    .filter_map(|(label, floor)| Some((label, floor?.median)))
    .collect();
    let figures = draw(&rows, &floors, &figures_dir, &markdown_path, &mut failures);
    let analysis = std::fs::read_to_string(root.join("tests/bench/ANALYSIS.md")).ok();
    let doc = markdown::document(
        &saved,
        &rows,
        &failures,
        &figures,
        analysis.as_deref().filter(|_| !saved.plan.quick),
    );
    let mut json = serde_json::to_value(&saved).unwrap_or_default();
    if let Some(object) = json.as_object_mut() {
        // Derived figures, for readers of the JSON (ignored by --render).
        object.insert(
            "rows".into(),
            serde_json::to_value(&rows).unwrap_or_default(),
        );
        let targets = markdown::targets(&saved.results, &rows, &saved.plan);
        object.insert(
            "targets".into(),
            serde_json::to_value(targets).unwrap_or_default(),
        );
    }
    let written = std::fs::write(&markdown_path, &doc).and_then(|()| {
        std::fs::write(
            &json_path,
            serde_json::to_string_pretty(&json).unwrap_or_default(),
        )
    });
    if let Err(error) = written {
        eprintln!("compare: writing results: {error}");
        return ExitCode::FAILURE;
    }
    if !cli.keep_logs {
        let _ = std::fs::remove_dir_all(&logs);
    }
    // The results part of the document is the table to print.
    let start = doc.find("## Results").unwrap_or(0);
    println!("{}", doc.get(start..).unwrap_or_default());
    println!(
        "written: {} and {}",
        markdown_path.display(),
        json_path.display()
    );
    ExitCode::SUCCESS
}

fn command_line() -> String {
    let mut command = "cargo run --release -p gif-chat-bench --bin compare".to_owned();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !args.is_empty() {
        command.push_str(" -- ");
        command.push_str(&args.join(" "));
    }
    command
}

/// Draws the charts; returns (title, path relative to the markdown file).
fn draw(
    rows: &[Row],
    floors: &[(String, f64)],
    dir: &Path,
    markdown: &Path,
    failures: &mut Vec<String>,
) -> Vec<(String, String)> {
    let bars = |value: &dyn Fn(&Row) -> Option<f64>| -> Vec<Bar> {
        rows.iter()
            .filter_map(|r| {
                Some(Bar {
                    label: r.server.to_owned(),
                    value: value(r)?,
                    ours: r.ours,
                })
            })
            .collect()
    };
    let n = rows
        .iter()
        .find_map(|r| r.ticks.as_ref().map(|t| t.connections.median))
        .unwrap_or(0.0);
    let mut per_delivery = bars(&|r| r.sio_fanout.as_ref().map(|f| f.cpu_us_per_delivery.median));
    if !per_delivery.is_empty() {
        per_delivery.extend(floors.iter().map(|(label, floor)| Bar {
            label: label.clone(),
            value: *floor,
            ours: false,
        }));
    }
    let charts: [(&str, String, &str, Vec<Bar>, bool); 7] = [
        (
            "rss_per_connection.svg",
            format!("Server RSS per ticking connection ({n} connections)"),
            "bytes",
            bars(&|r| r.ticks.as_ref().map(|t| t.rss_per_conn_b.median)),
            true,
        ),
        (
            "tick_run_cpu.svg",
            format!("Server CPU for the whole tick run ({n} connections)"),
            "CPU seconds",
            bars(&|r| r.ticks.as_ref().map(|t| t.cpu_total_s.median)),
            false,
        ),
        (
            "echo_cpu_per_msg.svg",
            "Server CPU per echoed message".into(),
            "µs",
            bars(&|r| r.echo.as_ref().map(|e| e.cpu_us_per_msg.median)),
            true,
        ),
        (
            "echo_msgs_per_sec.svg",
            "Echo throughput (server on one core)".into(),
            "messages/s",
            bars(&|r| r.echo.as_ref().map(|e| e.msgs_per_sec.median)),
            true,
        ),
        (
            "handshakes_per_sec.svg",
            "WebSocket handshakes per second (connect, upgrade, close)".into(),
            "handshakes/s",
            bars(&|r| r.churn.as_ref().map(|c| c.handshakes_per_sec.median)),
            false,
        ),
        (
            "sio_rss_per_idle_session.svg",
            "Server RSS per idle Socket.IO session (WebSocket)".into(),
            "bytes",
            bars(&|r| r.sio_idle.as_ref().map(|t| t.rss_per_session_b.median)),
            true,
        ),
        (
            "sio_cpu_per_delivery.svg",
            "Server CPU per Socket.IO fan-out delivery, beside the write floor".into(),
            "µs",
            per_delivery,
            true,
        ),
    ];
    let base = markdown.parent().unwrap_or(Path::new("."));
    let mut out = Vec::new();
    for (file, title, unit, data, log) in charts {
        if data.is_empty() {
            continue;
        }
        let path = dir.join(file);
        match chart::bars(&path, &title, unit, &data, log) {
            Ok(()) => {
                let shown = path.strip_prefix(base).unwrap_or(&path);
                out.push((title, shown.display().to_string()));
            }
            Err(error) => failures.push(format!("chart: {error}")),
        }
    }
    out
}
