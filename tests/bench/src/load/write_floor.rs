//! `write-floor`: the physical floor of one delivery, measured in the load generator itself.
//!
//! A server delivering an event to a session does at least one `write` of a small frame to a
//! TCP socket; on loopback that write also runs the receiving side of TCP in the kernel. This
//! mode holds `pairs` connected loopback socket pairs and, round after round, writes one small
//! frame on each pair's accepted end (the end a server owns), timing the writes alone with the
//! thread's CPU clock; the other ends are drained between rounds, outside the timing. CPU per
//! write is then what no server can go below, and every run shows each server beside it.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use nix::time::{clock_gettime, ClockId};

use crate::report::Report;

/// The frame written: a WebSocket text frame of a short Socket.IO `chat` event.
pub const FRAME: &[u8] = b"\x81\x2842/relay,[\"chat\",{\"t\":1764530000000000}]";

fn thread_cpu() -> Duration {
    clock_gettime(ClockId::CLOCK_THREAD_CPUTIME_ID).map_or(Duration::ZERO, Duration::from)
}

/// Runs the probe for `seconds` over `pairs` socket pairs.
pub fn run(mut report: Report, pairs: usize, seconds: f64) -> Report {
    match measure(pairs, seconds) {
        Ok((writes, cpu)) => {
            report.connected = pairs as u64;
            report.writes = writes;
            report.client_cpu_s = cpu.as_secs_f64();
            if writes > 0 {
                report.floor_us_per_write = cpu.as_secs_f64() * 1e6 / writes as f64;
            }
        }
        Err(error) => report.error(format!("write floor: {error}")),
    }
    report
}

fn measure(pairs: usize, seconds: f64) -> std::io::Result<(u64, Duration)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let mut ends = Vec::with_capacity(pairs);
    for _ in 0..pairs {
        let client = TcpStream::connect(addr)?;
        let (server, _) = listener.accept()?;
        server.set_nodelay(true)?;
        client.set_nonblocking(true)?;
        ends.push((server, client));
    }
    let mut sink = vec![0u8; 64 * 1024];
    let (mut writes, mut cpu) = (0u64, Duration::ZERO);
    let end = Instant::now() + Duration::from_secs_f64(seconds);
    while Instant::now() < end {
        let before = thread_cpu();
        for (server, _) in &mut ends {
            server.write_all(FRAME)?;
        }
        cpu += thread_cpu().saturating_sub(before);
        writes += ends.len() as u64;
        for (_, client) in &mut ends {
            loop {
                match client.read(&mut sink) {
                    Ok(0) => return Err(ErrorKind::UnexpectedEof.into()),
                    Ok(_) => {}
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) => return Err(e),
                }
            }
        }
    }
    Ok((writes, cpu))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_frame_is_one_well_formed_text_frame() {
        assert_eq!(usize::from(FRAME[1]), FRAME.len() - 2);
    }

    #[test]
    fn a_short_probe_counts_writes_and_their_cpu() {
        let report = run(Report::default(), 4, 0.05);
        assert_eq!(report.errors, 0, "{:?}", report.error_samples);
        assert!(report.writes >= 4 && report.writes % 4 == 0);
        assert!(report.floor_us_per_write >= 0.0);
    }
}
