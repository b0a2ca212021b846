//! The load generator's parent process: it starts the workers (itself, re-executed with a
//! worker flag), keeps them in step and merges their reports.
//!
//! Why processes at all: one process may hold only 20,000 descriptors here, and 19,000
//! connections plus a server would not fit in one. The parent also measures the server from
//! outside (see [`crate::procstat`]), switching the sampler's phase when every worker is ready
//! (window starts) and when every worker has measured (window ends).

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::procstat::{Phase, Sampler};
use crate::report::Report;

/// What a worker said on stdout.
enum Line {
    Ready,
    Measured,
    Report(Box<Report>),
    /// The worker's stdout closed.
    Gone,
}

/// One worker's share of the connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Share {
    pub index: usize,
    pub first: usize,
    pub count: usize,
}

/// Splits `total` connections over `processes` workers as evenly as possible.
pub fn shares(total: usize, processes: usize) -> Vec<Share> {
    let processes = processes.max(1);
    (0..processes)
        .map(|index| {
            let first = total * index / processes;
            let next = total * (index + 1) / processes;
            Share {
                index,
                first,
                count: next - first,
            }
        })
        .collect()
}

/// Runs the workers and merges their reports into `base`.
///
/// Workers are this program re-executed with its own arguments plus `--worker`.
/// `ramp_timeout` bounds how long connecting may take before the window starts anyway; `settle`
/// is the wait, after the workers are gone, before the server's last reading; `window_delay`
/// the wait between the last `ready` and `go`.
pub fn run(
    mut base: Report,
    total: usize,
    processes: usize,
    server_pid: Option<u32>,
    ramp_timeout: Duration,
    settle: Duration,
    window_delay: Duration,
) -> Report {
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(error) => {
            base.error(format!("current_exe: {error}"));
            return base;
        }
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut sampler = server_pid.map(Sampler::start);
    let (tx, rx) = mpsc::channel::<(usize, Line)>();
    let mut children: Vec<(Child, Option<ChildStdin>)> = Vec::new();
    for share in shares(total, processes) {
        let spawned = Command::new(&exe)
            .args(&args)
            .args([
                "--worker".to_owned(),
                share.index.to_string(),
                "--worker-first".to_owned(),
                share.first.to_string(),
                "--worker-count".to_owned(),
                share.count.to_string(),
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn();
        let mut child = match spawned {
            Ok(child) => child,
            Err(error) => {
                base.error(format!("spawn worker: {error}"));
                continue;
            }
        };
        let stdin = child.stdin.take();
        if let Some(stdout) = child.stdout.take() {
            let tx = tx.clone();
            let index = share.index;
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    let parsed = match line.trim() {
                        "ready" => Line::Ready,
                        "measured" => Line::Measured,
                        json if json.starts_with('{') => match serde_json::from_str(json) {
                            Ok(report) => Line::Report(Box::new(report)),
                            Err(error) => {
                                eprintln!("worker {index}: bad report: {error}");
                                continue;
                            }
                        },
                        other => {
                            eprintln!("worker {index}: {other}");
                            continue;
                        }
                    };
                    if tx.send((index, parsed)).is_err() {
                        return;
                    }
                }
                let _ = tx.send((index, Line::Gone));
            });
        }
        children.push((child, stdin));
    }
    drop(tx);
    let workers = children.len();
    let mut ready = 0;
    let mut measured = 0;
    let mut reports = Vec::new();
    let mut gone = 0;
    let started = Instant::now();
    let mut went = false;
    // The window length plus generous margins for ramp and close.
    let deadline = started + ramp_timeout + Duration::from_secs_f64(base.seconds) + ramp_timeout;
    while gone < workers {
        let wait = deadline.saturating_duration_since(Instant::now());
        let message = if !went && ready < workers {
            // Bound the ramp: a worker stuck connecting must not stall the run forever.
            rx.recv_timeout(ramp_timeout.saturating_sub(started.elapsed()))
        } else {
            rx.recv_timeout(wait)
        };
        match message {
            Ok((_, Line::Ready)) => ready += 1,
            Ok((_, Line::Measured)) => {
                measured += 1;
                if measured == workers {
                    if let Some(sampler) = sampler.as_mut() {
                        sampler.set_phase(Phase::Closing);
                    }
                }
            }
            Ok((_, Line::Report(report))) => reports.push(report),
            Ok((_, Line::Gone)) => gone += 1,
            Err(mpsc::RecvTimeoutError::Timeout) if !went => {
                base.error(format!("only {ready} of {workers} workers ready in time"));
                ready = workers;
            }
            Err(_) => {
                base.error("workers did not finish in time");
                break;
            }
        }
        if !went && ready >= workers {
            went = true;
            std::thread::sleep(window_delay);
            if let Some(sampler) = sampler.as_mut() {
                sampler.set_phase(Phase::Steady);
            }
            for (_, stdin) in &mut children {
                if let Some(stdin) = stdin.as_mut() {
                    let _ = stdin.write_all(b"go\n");
                    let _ = stdin.flush();
                }
            }
        }
    }
    for (mut child, _) in children {
        if gone < workers {
            let _ = child.kill();
        }
        let _ = child.wait();
    }
    if let Some(sampler) = sampler {
        // Let the server finish with the closes (and their log lines) before the last sample.
        std::thread::sleep(settle);
        base.server = Some(sampler.finish());
    }
    for report in &reports {
        base.absorb(report);
    }
    base.finish();
    base
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_cover_every_connection_once() {
        for (total, processes) in [(19_000, 3), (10, 4), (1, 3), (0, 2), (50, 1)] {
            let s = shares(total, processes);
            assert_eq!(s.len(), processes);
            assert_eq!(s.iter().map(|s| s.count).sum::<usize>(), total);
            let mut next = 0;
            for share in &s {
                assert_eq!(share.first, next);
                next += share.count;
            }
            let (min, max) = (
                s.iter().map(|s| s.count).min().unwrap_or(0),
                s.iter().map(|s| s.count).max().unwrap_or(0),
            );
            assert!(max - min <= 1, "{total}/{processes}: {min}..{max}");
        }
    }
}
