//! The server measured from outside, through /proc: resident memory and CPU time.
//!
//! Every server under test (three runtimes, Node, tokio-tungstenite) is a separate program, so
//! the only fair yardstick is what the kernel accounts to its process: `VmRSS` (all threads
//! share one address space, so this is the whole process) and `utime + stime`. A sampler thread
//! reads them every 100 ms and tags each sample with the phase of the run.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Memory of a process, in KiB.
#[derive(Debug, Clone, Copy, Default)]
pub struct Memory {
    pub rss_kb: u64,
    pub hwm_kb: u64,
}

/// Reads `VmRSS` and `VmHWM` of `pid`.
pub fn memory(pid: u32) -> Option<Memory> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_status(&status)
}

fn parse_status(status: &str) -> Option<Memory> {
    let field = |name: &str| {
        status.lines().find_map(|line| {
            line.strip_prefix(name)?
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
    };
    Some(Memory {
        rss_kb: field("VmRSS:")?,
        hwm_kb: field("VmHWM:").unwrap_or(0),
    })
}

/// CPU seconds (user + system) `pid` has used so far.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    cpu_split(pid).map(|(user, system)| user + system)
}

/// User and system CPU seconds `pid` has used so far.
pub fn cpu_split(pid: u32) -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (user, system) = parse_stat_ticks(&stat)?;
    let hz = clock_ticks_per_second();
    Some((user as f64 / hz, system as f64 / hz))
}

/// `(utime, stime)` in clock ticks. The command name (field 2) may hold spaces and
/// parentheses, so fields are counted after its last `)`.
fn parse_stat_ticks(stat: &str) -> Option<(u64, u64)> {
    let rest = stat.get(stat.rfind(')')? + 1..)?;
    let mut fields = rest.split_whitespace().skip(11); // field 14 is the 12th after the comm
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime, stime))
}

fn clock_ticks_per_second() -> f64 {
    match nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK) {
        Ok(Some(ticks)) if ticks > 0 => ticks as f64,
        _ => 100.0,
    }
}

/// CPU time the whole machine spent busy, and the part the hypervisor gave to other guests
/// (`steal`), in seconds summed over every CPU, from the first line of `/proc/stat`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MachineCpu {
    pub busy_s: f64,
    pub steal_s: f64,
}

/// Reads [`MachineCpu`] now.
pub fn machine_cpu() -> Option<MachineCpu> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let (busy, steal) = parse_machine_ticks(stat.lines().next()?)?;
    let hz = clock_ticks_per_second();
    Some(MachineCpu {
        busy_s: busy as f64 / hz,
        steal_s: steal as f64 / hz,
    })
}

/// `(busy, steal)` ticks of the `cpu` line: user, nice, system, irq and softirq are busy; idle
/// and iowait are not; guest time is already inside user.
fn parse_machine_ticks(line: &str) -> Option<(u64, u64)> {
    let mut fields = line.strip_prefix("cpu ")?.split_whitespace();
    let mut next = || -> Option<u64> { fields.next()?.parse().ok() };
    let (user, nice, system, _idle, _iowait, irq, softirq) = (
        next()?,
        next()?,
        next()?,
        next()?,
        next()?,
        next()?,
        next()?,
    );
    let steal = next().unwrap_or(0);
    Some((user + nice + system + irq + softirq, steal))
}

/// Phase of a load run, as tagged on memory samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Phase {
    /// Clients are connecting.
    Ramp = 0,
    /// The measured window: every client connected and working.
    Steady = 1,
    /// Clients are closing.
    Closing = 2,
}

/// The server side of a report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServerStats {
    pub pid: u32,
    /// RSS before the first client connected.
    pub rss_baseline_kb: u64,
    /// Median RSS over the measured window.
    pub rss_steady_kb: u64,
    /// Highest RSS seen (sampled, or the kernel's high-water mark if higher).
    pub rss_peak_kb: u64,
    /// CPU seconds over the measured window.
    pub cpu_window_s: f64,
    /// CPU seconds from before the first connect until the clients were gone.
    pub cpu_total_s: f64,
    /// The kernel's share of `cpu_total_s` (system time): syscalls and, on loopback, most of
    /// the TCP stack of both ends.
    #[serde(default)]
    pub cpu_total_sys_s: f64,
    /// CPU seconds the whole machine (every CPU, every process: server, load generator and
    /// anything else running) was busy during the window; see [`MachineCpu`].
    #[serde(default)]
    pub machine_busy_window_s: f64,
    /// CPU seconds the hypervisor gave to other guests during the window.
    #[serde(default)]
    pub machine_steal_window_s: f64,
}

/// Samples a process's RSS in the background.
pub struct Sampler {
    pid: u32,
    phase: Arc<AtomicU8>,
    samples: Arc<Mutex<Vec<(u8, u64)>>>,
    stop: Arc<AtomicU8>,
    thread: Option<JoinHandle<()>>,
    baseline: Memory,
    cpu_start: f64,
    sys_start: f64,
    cpu_window_start: f64,
    cpu_window_end: f64,
    machine_window_start: MachineCpu,
    machine_window_end: MachineCpu,
}

impl Sampler {
    pub fn start(pid: u32) -> Self {
        let baseline = memory(pid).unwrap_or_default();
        let (user, sys_start) = cpu_split(pid).unwrap_or_default();
        let cpu_start = user + sys_start;
        let phase = Arc::new(AtomicU8::new(Phase::Ramp as u8));
        let samples = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicU8::new(0));
        let thread = {
            let (phase, samples, stop) = (phase.clone(), samples.clone(), stop.clone());
            std::thread::spawn(move || {
                while stop.load(Ordering::Relaxed) == 0 {
                    if let Some(mem) = memory(pid) {
                        if let Ok(mut samples) = samples.lock() {
                            samples.push((phase.load(Ordering::Relaxed), mem.rss_kb));
                        }
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            })
        };
        Self {
            pid,
            phase,
            samples,
            stop,
            thread: Some(thread),
            baseline,
            cpu_start,
            sys_start,
            cpu_window_start: cpu_start,
            cpu_window_end: cpu_start,
            machine_window_start: MachineCpu::default(),
            machine_window_end: MachineCpu::default(),
        }
    }

    /// Enters `phase`; entering and leaving [`Phase::Steady`] also reads the CPU clock.
    pub fn set_phase(&mut self, phase: Phase) {
        let cpu = cpu_seconds(self.pid).unwrap_or(self.cpu_window_end);
        let machine = machine_cpu().unwrap_or_default();
        match phase {
            Phase::Steady => {
                self.cpu_window_start = cpu;
                self.machine_window_start = machine;
            }
            Phase::Closing => {
                self.cpu_window_end = cpu;
                self.machine_window_end = machine;
            }
            Phase::Ramp => {}
        }
        self.phase.store(phase as u8, Ordering::Relaxed);
    }

    /// Stops sampling and sums up.
    pub fn finish(mut self) -> ServerStats {
        let (user_end, sys_end) = cpu_split(self.pid).unwrap_or((self.cpu_window_end, 0.0));
        let cpu_end = user_end + sys_end;
        let hwm = memory(self.pid).map_or(0, |m| m.hwm_kb);
        self.stop.store(1, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        let samples = self.samples.lock().map(|s| s.clone()).unwrap_or_default();
        let mut steady: Vec<u64> = samples
            .iter()
            .filter(|(phase, _)| *phase == Phase::Steady as u8)
            .map(|&(_, rss)| rss)
            .collect();
        steady.sort_unstable();
        let peak = samples.iter().map(|&(_, rss)| rss).max().unwrap_or(0);
        ServerStats {
            pid: self.pid,
            rss_baseline_kb: self.baseline.rss_kb,
            rss_steady_kb: steady.get(steady.len() / 2).copied().unwrap_or(0),
            rss_peak_kb: peak.max(hwm),
            cpu_window_s: (self.cpu_window_end - self.cpu_window_start).max(0.0),
            cpu_total_s: (cpu_end - self.cpu_start).max(0.0),
            cpu_total_sys_s: (sys_end - self.sys_start).max(0.0),
            machine_busy_window_s: (self.machine_window_end.busy_s
                - self.machine_window_start.busy_s)
                .max(0.0),
            machine_steal_window_s: (self.machine_window_end.steal_s
                - self.machine_window_start.steal_s)
                .max(0.0),
        }
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop.store(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_fields_parse() {
        let status = "Name:\tnode\nVmHWM:\t  51234 kB\nVmRSS:\t   48000 kB\nThreads:\t7\n";
        let mem = parse_status(status);
        assert_eq!(mem.map(|m| (m.rss_kb, m.hwm_kb)), Some((48_000, 51_234)));
        assert!(parse_status("Name:\tx\n").is_none());
    }

    #[test]
    fn stat_ticks_skip_a_tricky_command_name() {
        let stat = "4242 (we ird) (name) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 1";
        assert_eq!(parse_stat_ticks(stat), Some((250, 75)));
    }

    #[test]
    fn machine_line_parses() {
        let line = "cpu  100 5 50 9000 20 3 2 7 0 0";
        assert_eq!(parse_machine_ticks(line), Some((160, 7)));
        assert_eq!(parse_machine_ticks("cpu0 1 2 3 4 5 6 7 8"), None);
        assert!(machine_cpu().is_some_and(|m| m.busy_s > 0.0));
    }

    #[test]
    fn own_process_is_measurable() {
        let me = std::process::id();
        assert!(memory(me).is_some_and(|m| m.rss_kb > 0));
        assert!(cpu_seconds(me).is_some());
    }
}
