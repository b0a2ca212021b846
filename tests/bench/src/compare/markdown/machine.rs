//! The machine a run was measured on, as far as the figures depend on it: recorded once per run
//! (not per render) so a re-rendered BENCHMARKS.md still names the machine of its figures.

use std::process::Command;

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
