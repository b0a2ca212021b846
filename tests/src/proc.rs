//! What `/proc` says about a server process: CPU time used, whether it is alive, resident
//! memory and open descriptors. This is how the tests prove the server does not spin (B6), does
//! not leak and keeps its memory bounded under hostile peers, without trusting the server's own
//! account.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use nix::unistd::{sysconf, SysconfVar};

use crate::Server;

/// User plus system CPU time the process has used so far.
pub fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .unwrap_or_else(|e| panic!("reading /proc/{pid}/stat: {e}"));
    let (utime, stime) =
        parse_times(&stat).unwrap_or_else(|| panic!("unexpected /proc/{pid}/stat: {stat:?}"));
    let ticks_per_second = sysconf(SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .and_then(|n| u64::try_from(n).ok())
        .filter(|&n| n > 0)
        .unwrap_or(100);
    let ticks = utime + stime;
    Duration::from_secs(ticks / ticks_per_second)
        + Duration::from_secs_f64((ticks % ticks_per_second) as f64 / ticks_per_second as f64)
}

/// The process state letter (`R`, `S`, `Z`, ...), or `None` if it no longer exists.
pub fn state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    after_comm(&stat)?.split_whitespace().next()?.chars().next()
}

/// Resident memory (VmRSS) in KiB.
pub fn rss_kib(pid: u32) -> u64 {
    status_kib(pid, "VmRSS:")
}

/// The most resident memory the process has had (VmHWM) in KiB, since it started or since the
/// last [`reset_peak_rss`]. The kernel keeps it, so no peak is missed between two samples.
pub fn peak_rss_kib(pid: u32) -> u64 {
    status_kib(pid, "VmHWM:")
}

/// Lowers the process's VmHWM to its present RSS (proc(5): writing 5 to `clear_refs`), so that
/// a following [`peak_rss_kib`] measures only what comes after.
pub fn reset_peak_rss(pid: u32) {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5")
        .unwrap_or_else(|e| panic!("resetting the peak RSS of {pid}: {e}"));
}

/// A `/proc/<pid>/status` value given in kB, such as `VmRSS:`.
fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("reading /proc/{pid}/status: {e}"));
    parse_status_kib(&status, field).unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// The number of descriptors the process holds open.
pub fn fd_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap_or_else(|e| panic!("reading /proc/{pid}/fd: {e}"))
        .count()
}

/// Waits until the server holds no more descriptors than `baseline`: every connection a case
/// opened is closed on the server's side too. Polled, since nothing announces it.
pub async fn expect_fds_back(server: &mut Server, baseline: usize) {
    let deadline = Instant::now() + crate::WAIT;
    loop {
        let now = fd_count(server.pid());
        if now <= baseline {
            return;
        }
        if Instant::now() > deadline {
            let transcript = server.transcript();
            panic!(
                "the server still holds {now} descriptors, {baseline} before the case\n{transcript}"
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Samples a process's RSS on a thread until [`peak`](Self::peak) is asked for. A thread, not a
/// task, so that a test busy on its async workers cannot make it miss the peak.
#[derive(Debug)]
pub struct RssSampler {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<u64>>,
}

impl RssSampler {
    pub fn start(pid: u32) -> RssSampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = thread::spawn(move || {
            let mut peak = 0;
            while !flag.load(Ordering::Relaxed) {
                peak = peak.max(rss_kib(pid));
                thread::sleep(Duration::from_millis(10));
            }
            peak.max(rss_kib(pid))
        });
        RssSampler {
            stop,
            thread: Some(thread),
        }
    }

    /// Stops sampling; the largest RSS seen, in KiB.
    pub fn peak(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        let thread = self.thread.take().expect("joined once");
        thread.join().expect("the RSS sampler panicked")
    }
}

/// The value of `field` (such as `VmRSS:`) in a `/proc/<pid>/status` text, in KiB.
fn parse_status_kib(status: &str, field: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

/// The fields after the command name, which may itself contain spaces and parentheses.
fn after_comm(stat: &str) -> Option<&str> {
    stat.rfind(')').and_then(|at| stat.get(at + 1..))
}

/// `utime` and `stime` (fields 14 and 15 of proc(5)), in clock ticks.
fn parse_times(stat: &str) -> Option<(u64, u64)> {
    let fields: Vec<&str> = after_comm(stat)?.split_whitespace().collect();
    // Field 3 (state) is the first after the command name, so field N is at index N - 3.
    let utime = fields.get(11)?.parse().ok()?;
    let stime = fields.get(12)?.parse().ok()?;
    Some((utime, stime))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_times_past_a_tricky_command_name() {
        let stat = "1234 (a (b) c) S 1 1234 1234 0 -1 4194560 100 0 0 0 17 5 0 0 20 0 3 0";
        assert_eq!(parse_times(stat), Some((17, 5)));
    }

    #[test]
    fn reads_rss_and_its_peak_from_status() {
        let status =
            "Name:\tx\nVmPeak:\t  9000 kB\nVmHWM:\t    2345 kB\nVmRSS:\t    1234 kB\nThreads:\t1\n";
        assert_eq!(parse_status_kib(status, "VmRSS:"), Some(1234));
        assert_eq!(parse_status_kib(status, "VmHWM:"), Some(2345));
        assert_eq!(parse_status_kib("Name:\tx\n", "VmRSS:"), None);
    }

    #[test]
    fn this_process_has_memory_and_descriptors() {
        let pid = std::process::id();
        assert!(rss_kib(pid) > 0);
        // At least the descriptor that lists the directory.
        assert!(fd_count(pid) > 0);
    }

    #[test]
    fn this_process_is_alive() {
        assert!(matches!(state(std::process::id()), Some('R' | 'S')));
    }

    /// `cpu_time` sees CPU this thread burns, in the right unit: it grows while we spin, and by
    /// no more than the wall time that passed on every core. (Wrong fields read as zero and the
    /// spin never ends; ticks read as seconds outgrow the wall clock.)
    #[test]
    fn cpu_time_counts_cpu_this_process_burns() {
        const BURN: Duration = Duration::from_millis(50);
        let pid = std::process::id();
        let cores = thread::available_parallelism().map_or(1, |n| n.get()) as u32;
        let started = Instant::now();
        let before = cpu_time(pid);
        let mut spun = 0u64;
        let used = loop {
            // A batch of work the optimiser cannot drop, between reads of /proc.
            for i in 0..100_000u64 {
                spun = std::hint::black_box(spun.wrapping_add(i));
            }
            let used = cpu_time(pid).saturating_sub(before);
            if used >= BURN {
                break used;
            }
            assert!(
                started.elapsed() < crate::WAIT,
                "cpu_time grew by only {used:?} in {:?} of spinning",
                started.elapsed()
            );
        };
        let wall = started.elapsed();
        // One clock tick (10 ms at most on Linux) of rounding at either end.
        let tick = Duration::from_millis(10);
        assert!(
            used <= wall * cores + 2 * tick,
            "cpu_time says {used:?} in {wall:?} of wall time on {cores} cores"
        );
    }
}
