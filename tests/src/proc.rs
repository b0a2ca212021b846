//! What `/proc` says about a server process: CPU time used and whether it is alive. This is how
//! the descriptor-exhaustion test proves the server does not spin (B6) without trusting the
//! server's own account.

use std::time::Duration;

use nix::unistd::{sysconf, SysconfVar};

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
    fn this_process_is_alive_and_has_used_some_cpu() {
        let pid = std::process::id();
        assert!(matches!(state(pid), Some('R' | 'S')));
        let _ = cpu_time(pid);
    }
}
