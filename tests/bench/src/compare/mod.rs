//! `compare`: the same loads against every server, repeated, summarised by medians with their
//! spread.
//!
//! The machine is small and shared, so absolute numbers drift from repeat to repeat (another
//! process on a core the pinned load generator uses can cut its share to a third). What holds
//! better is the ratio between two servers measured in the *same* repeat, back to back: every
//! report carries its repeat number, ratios are taken within a repeat and only then summarised,
//! and every median is shown with its min–max so a spread is seen, not hidden.

pub mod chart;
pub mod markdown;
pub mod servers;
pub mod summary;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::report::Report;
use servers::{Kind, Server};

/// One load of the comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum Load {
    Ticks,
    TicksBig,
    Echo,
    Churn,
    Http,
}

impl Load {
    pub const ALL: [Load; 5] = [
        Load::Ticks,
        Load::TicksBig,
        Load::Echo,
        Load::Churn,
        Load::Http,
    ];

    pub fn applies_to(self, kind: Kind) -> bool {
        match self {
            Load::TicksBig => kind.ours(),
            Load::Http => kind.serves_http(),
            _ => true,
        }
    }
}

/// Sizes of the loads.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Plan {
    pub quick: bool,
    pub repeats: usize,
    pub tick_connections: usize,
    pub big_connections: usize,
    pub tick_seconds: f64,
    pub interval_ms: u64,
    pub echo_connections: usize,
    pub in_flight: usize,
    pub message_size: usize,
    pub seconds: f64,
    pub churn_concurrency: usize,
    pub http_connections: usize,
    /// Loopback source addresses for the tick loads.
    pub sources: Vec<String>,
    /// Pin server and client to different cores for the echo load.
    pub pin: bool,
    pub settle_ms: u64,
    /// Use debug binaries (target/debug) instead of release ones: the smoke test runs on what
    /// the test suite already built.
    #[serde(default)]
    pub debug: bool,
}

impl Plan {
    pub fn full() -> Plan {
        Plan {
            quick: false,
            repeats: 3,
            tick_connections: 10_000,
            big_connections: 19_000,
            tick_seconds: 24.0,
            interval_ms: 3000,
            echo_connections: 64,
            in_flight: 16,
            message_size: 32,
            seconds: 10.0,
            churn_concurrency: 32,
            http_connections: 32,
            sources: (2..=5).map(|i| format!("127.0.0.{i}")).collect(),
            pin: true,
            settle_ms: 1000,
            debug: false,
        }
    }

    pub fn quick() -> Plan {
        Plan {
            quick: true,
            repeats: 1,
            tick_connections: 50,
            big_connections: 100,
            tick_seconds: 2.0,
            interval_ms: 200,
            echo_connections: 8,
            in_flight: 4,
            seconds: 1.0,
            churn_concurrency: 4,
            http_connections: 4,
            settle_ms: 200,
            ..Plan::full()
        }
    }

    /// Where the binaries are.
    pub fn bin_dir(&self, root: &Path) -> PathBuf {
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("target"));
        target.join(if self.debug { "debug" } else { "release" })
    }

    /// The loadgen arguments for `load` against `port`.
    pub fn loadgen_args(&self, load: Load, port: u16) -> Vec<String> {
        let s = |v: &dyn ToString| v.to_string();
        let mut args: Vec<String> = match load {
            Load::Ticks | Load::TicksBig => {
                let n = if load == Load::Ticks {
                    self.tick_connections
                } else {
                    self.big_connections
                };
                vec![
                    "ticks".into(),
                    "--url".into(),
                    format!("ws://127.0.0.1:{port}/"),
                    "--connections".into(),
                    s(&n),
                    "--seconds".into(),
                    s(&self.tick_seconds),
                    "--interval-ms".into(),
                    s(&self.interval_ms),
                    "--processes".into(),
                    s(&n.div_ceil(7000).max(1)),
                    "--source-addrs".into(),
                    self.sources.join(","),
                ]
            }
            Load::Echo => vec![
                "echo".into(),
                "--url".into(),
                format!("ws://127.0.0.1:{port}/echo"),
                "--connections".into(),
                s(&self.echo_connections),
                "--in-flight".into(),
                s(&self.in_flight),
                "--size".into(),
                s(&self.message_size),
                "--seconds".into(),
                s(&self.seconds),
            ],
            Load::Churn => vec![
                "churn".into(),
                "--url".into(),
                format!("ws://127.0.0.1:{port}/"),
                "--concurrency".into(),
                s(&self.churn_concurrency),
                "--seconds".into(),
                s(&self.seconds),
                "--source-addrs".into(),
                self.sources.join(","),
            ],
            Load::Http => vec![
                "http".into(),
                "--url".into(),
                format!("http://127.0.0.1:{port}/"),
                "--connections".into(),
                s(&self.http_connections),
                "--seconds".into(),
                s(&self.seconds),
            ],
        };
        args.extend(["--settle-ms".into(), s(&self.settle_ms)]);
        args
    }
}

/// Everything measured: every report of every (server, load), and what could not be run.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Results {
    pub runs: BTreeMap<String, Vec<Report>>,
    #[serde(default)]
    pub failures: Vec<String>,
}

/// What results.json keeps, enough to render BENCHMARKS.md again (`compare --render`).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Saved {
    pub command: String,
    pub machine: Vec<(String, String)>,
    pub plan: Plan,
    pub results: Results,
}

impl Results {
    /// Numbers the reports of results saved before reports carried their repeat: `measure`
    /// pushes one report per repeat in order, so without a failure of that (server, load) the
    /// position is the repeat. A (server, load) with a failure is left unnumbered: its reports
    /// then pair with nothing.
    pub fn number_repeats(&mut self) {
        for (key, reports) in &mut self.runs {
            // `measure` words a failure "<server> <Load>: <error>"; the key is "<server>/<Load>".
            let prefix = format!("{}:", key.replacen('/', " ", 1));
            if self.failures.iter().any(|f| f.starts_with(&prefix)) {
                continue;
            }
            for (position, report) in reports.iter_mut().enumerate() {
                report.repeat.get_or_insert(position);
            }
        }
    }
}

/// The key of a (server, load) pair in [`Results::runs`].
pub fn run_key(kind: Kind, load: Load) -> String {
    format!("{}/{load:?}", kind.key())
}

/// Builds the release binaries `kinds` need (and loadgen). Returns the kinds that built.
pub fn build(root: &Path, kinds: &[Kind], debug: bool, failures: &mut Vec<String>) -> Vec<Kind> {
    let mut packages: Vec<&str> = kinds.iter().filter_map(|k| k.package()).collect();
    packages.sort_unstable();
    packages.dedup();
    packages.push("gif-chat-bench");
    let cargo = |packages: &[&str]| {
        let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        command.current_dir(root).arg("build");
        if !debug {
            command.arg("--release");
        }
        for p in packages {
            command.args(["-p", p]);
        }
        eprintln!("compare: {command:?}");
        command.status().is_ok_and(|s| s.success())
    };
    if cargo(&packages) {
        return kinds.to_vec();
    }
    // One package failing (another engineer's work in progress) must not sink the others.
    let built: Vec<&str> = packages.into_iter().filter(|p| cargo(&[p])).collect();
    kinds
        .iter()
        .copied()
        .filter(|k| match k.package() {
            Some(p) if !built.contains(&p) => {
                failures.push(format!(
                    "{}: `cargo build --release -p {p}` failed",
                    k.key()
                ));
                false
            }
            _ => true,
        })
        .collect()
}

/// Installs the Node peer's packages when missing. Returns whether node can run.
pub fn prepare_node(root: &Path, failures: &mut Vec<String>) -> bool {
    let dir = root.join("tests/peers/node-seed");
    if !dir.join("node_modules").is_dir() {
        eprintln!("compare: npm ci in {}", dir.display());
        let ok = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            failures.push("node: `npm ci` failed (is npm installed?)".into());
            return false;
        }
    }
    let ok = Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        failures.push("node: `node` not found".into());
    }
    ok
}

/// Runs every load against every server `plan.repeats` times.
pub fn measure(root: &Path, kinds: &[Kind], plan: &Plan, logs: &Path) -> Results {
    let mut results = Results::default();
    let bin_dir = plan.bin_dir(root);
    let pin = plan.pin && std::thread::available_parallelism().map_or(1, |n| n.get()) >= 2;
    for repeat in 0..plan.repeats {
        for load in Load::ALL {
            for &kind in kinds.iter().filter(|k| load.applies_to(**k)) {
                let tag = format!("{load:?}-{repeat}");
                eprintln!(
                    "compare: [{}/{}] {load:?} {}",
                    repeat + 1,
                    plan.repeats,
                    kind.key()
                );
                match run_one(kind, load, plan, root, &bin_dir, logs, &tag, pin) {
                    Ok(mut report) => {
                        report.repeat = Some(repeat);
                        eprintln!("compare:   {}", summary::one_line(load, &report));
                        results
                            .runs
                            .entry(run_key(kind, load))
                            .or_default()
                            .push(report);
                    }
                    Err(error) => {
                        eprintln!("compare:   failed: {error}");
                        results
                            .failures
                            .push(format!("{} {load:?}: {error}", kind.key()));
                    }
                }
            }
        }
    }
    results
}

#[allow(clippy::too_many_arguments)]
fn run_one(
    kind: Kind,
    load: Load,
    plan: &Plan,
    root: &Path,
    bin_dir: &Path,
    logs: &Path,
    tag: &str,
    pin: bool,
) -> Result<Report, String> {
    let pinned = pin && load == Load::Echo;
    let loadgen = bin_dir.join("loadgen");
    let server = Server::start(
        kind,
        root,
        bin_dir,
        plan.interval_ms,
        pinned.then_some(0),
        logs,
        tag,
    )
    .map_err(|e| e.to_string())?;
    let mut command = if pinned {
        let mut c = Command::new("taskset");
        c.args(["-c", "1"]).arg(&loadgen);
        c
    } else {
        Command::new(&loadgen)
    };
    let stderr = std::fs::File::create(logs.join(format!("loadgen-{}-{tag}.err", kind.key())))
        .map_err(|e| e.to_string())?;
    let output = command
        .args(plan.loadgen_args(load, server.port))
        .args(["--server-pid", &server.pid.to_string()])
        .stdin(Stdio::null())
        .stderr(stderr)
        .output()
        .map_err(|e| format!("loadgen: {e}"))?;
    server.stop();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .ok_or_else(|| format!("loadgen printed no report ({})", output.status))?;
    serde_json::from_str(line).map_err(|e| format!("loadgen report: {e}"))
}
