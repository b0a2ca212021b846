//! `compare`: the same loads against every server, repeated, summarised by medians with their
//! spread.
//!
//! The machine is small and shared, so absolute numbers drift from repeat to repeat (another
//! process on a core the pinned load generator uses can cut its share to a third). What holds
//! better is the ratio between two servers measured in the *same* repeat, back to back: every
//! report carries its repeat number, ratios are taken within a repeat and only then summarised,
//! and every median is shown with its min–max so a spread is seen, not hidden.

pub mod chart;
pub mod chat;
pub mod markdown;
mod plan;
pub mod servers;
pub mod summary;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::report::Report;
pub use plan::{ChatPlan, Load, Plan, SioPlan};
use servers::{Kind, Server};

/// The key under which the write floor's reports are kept in [`Results::runs`].
pub const FLOOR_KEY: &str = "floor/WriteFloor";

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

/// Builds the binaries `kinds` need (and loadgen): release for a measurement, debug for a smoke
/// test. Returns the kinds that built.
///
/// A debug build asks for every binary of the workspace, the set the test command has already
/// built: cargo unifies dependency features over the packages of one invocation, so `-p` for a
/// few of them would compile tokio, rustix and others a second time with other features (a
/// clean CI checkout once ran out of disk doing so).
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
    let workspace = || {
        let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        command
            .current_dir(root)
            .args(["build", "--workspace", "--bins"]);
        eprintln!("compare: {command:?}");
        command.status().is_ok_and(|s| s.success())
    };
    if if debug { workspace() } else { cargo(&packages) } {
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

/// Installs a Node peer's packages (`folder` under tests/peers) when missing. Returns whether
/// node can run it.
pub fn prepare_node(root: &Path, folder: &str, failures: &mut Vec<String>) -> bool {
    let dir = root.join("tests/peers").join(folder);
    if !dir.join("node_modules").is_dir() {
        eprintln!("compare: npm ci in {}", dir.display());
        let ok = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            failures.push(format!("{folder}: `npm ci` failed (is npm installed?)"));
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

/// Runs every load of `loads` against every server `plan.repeats` times.
pub fn measure(root: &Path, kinds: &[Kind], loads: &[Load], plan: &Plan, logs: &Path) -> Results {
    let mut results = Results::default();
    let bin_dir = plan.bin_dir(root);
    let pin = plan.pin && std::thread::available_parallelism().map_or(1, |n| n.get()) >= 2;
    let sio = kinds.iter().any(|k| k.speaks_sio()) && loads.iter().any(|l| l.is_sio());
    for repeat in 0..plan.repeats {
        if sio {
            eprintln!("compare: [{}/{}] write floor", repeat + 1, plan.repeats);
            match run_floor(plan, &bin_dir) {
                Ok(mut report) => {
                    report.repeat = Some(repeat);
                    eprintln!(
                        "compare:   {}",
                        summary::one_line(Load::WriteFloor, &report)
                    );
                    results
                        .runs
                        .entry(FLOOR_KEY.to_owned())
                        .or_default()
                        .push(report);
                }
                Err(error) => results.failures.push(format!("floor WriteFloor: {error}")),
            }
        }
        for &load in loads {
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

/// The last JSON line of a loadgen run.
fn parse_report(output: &std::process::Output) -> Result<Report, String> {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .ok_or_else(|| format!("loadgen printed no report ({})", output.status))?;
    serde_json::from_str(line).map_err(|e| format!("loadgen report: {e}"))
}

/// The write floor, in the load generator alone.
fn run_floor(plan: &Plan, bin_dir: &Path) -> Result<Report, String> {
    let output = Command::new(bin_dir.join("loadgen"))
        .args(plan.loadgen_args(Load::WriteFloor, 0))
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("loadgen: {e}"))?;
    let report = parse_report(&output)?;
    match report.error_samples.first() {
        Some(error) if report.writes == 0 => Err(error.clone()),
        _ => Ok(report),
    }
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
    // The chat loads: a fresh SQLite store and upload folder (removed with the logs), and a
    // rate limit the load does not reach.
    let chat_dir = logs.join(format!("chat-{}-{tag}", kind.key()));
    let mut env = Vec::new();
    if load.is_chat() {
        std::fs::create_dir_all(chat_dir.join("uploads")).map_err(|e| e.to_string())?;
        env = vec![
            (
                "DATABASE_URL",
                format!("sqlite://{}", chat_dir.join("bench.db").display()),
            ),
            ("UPLOAD_DIR", chat_dir.join("uploads").display().to_string()),
            ("CHAT_RATE", "100000/100000".to_owned()),
        ];
    }
    let server = Server::start(
        kind,
        root,
        bin_dir,
        plan.interval_ms,
        pinned.then_some(0),
        logs,
        tag,
        load.is_sio(),
        &env,
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
    if load.is_chat() {
        let _ = std::fs::remove_dir_all(&chat_dir);
    }
    let report = parse_report(&output)?;
    // A server that does not speak the load's protocol fails every connection: say so as a
    // failure rather than a row of zeros.
    if report.connected == 0 && report.connections > 0 {
        let why = report.error_samples.first().cloned().unwrap_or_default();
        return Err(format!("no connection succeeded: {why}"));
    }
    Ok(report)
}
