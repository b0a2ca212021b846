//! `write-floor`: the physical floor of one delivery, measured in the load generator itself.
//!
//! A server delivering an event to a session does at least one `write` of a small frame to a
//! TCP socket; on loopback that write also runs the receiving side of TCP in the kernel. This
//! mode holds `pairs` connected loopback socket pairs and, round after round, writes one small
//! frame on each pair's accepted end (the end a server owns), timing the writes alone with the
//! thread's CPU clock; the other ends are drained between rounds, outside the timing. CPU per
//! write is then what no server can go below, and every run shows each server beside it.
//!
//! A server's write also finds its receiver waiting: a client sleeps in `epoll_wait` until its
//! socket turns readable, so the write that makes it readable wakes the client's thread, and the
//! kernel charges that wake-up to the writer. The same probe measures it too (the *waiting*
//! floor): the other ends are then read by a thread of their own that waits in epoll (a tokio
//! runtime, as the load generator's clients are) while the writer writes. The target is
//! against the first figure; the second says how much of a server's kernel time no design can
//! avoid while its clients wait.
//!
//! Both run over `pairs` (1,000) sockets, whose kernel state stays warm in the caches from one
//! round to the next. A fan-out's server writes to thousands (5,000 in the benchmark), each
//! once per event of its room, so every write finds its socket's state cold: on the 2-core
//! machines here the same idle-receiver write costs 1.4–2.3× as much over 5,000 pairs as over
//! 1,000. The third figure (`load_pairs`, the fan-out's session count) is that write: the floor
//! of a delivery in the load itself, beside the floor, not instead of it.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use nix::time::{clock_gettime, ClockId};

use crate::report::Report;

/// The frame written: a WebSocket text frame of a short Socket.IO `chat` event.
pub const FRAME: &[u8] = b"\x81\x2842/relay,[\"chat\",{\"t\":1764530000000000}]";

fn thread_cpu() -> Duration {
    clock_gettime(ClockId::CLOCK_THREAD_CPUTIME_ID).map_or(Duration::ZERO, Duration::from)
}

/// Runs the probe for `seconds` over `pairs` socket pairs: half the time with idle receivers,
/// half with receivers waiting in epoll; then, when `load_pairs` is not 0, another half with
/// idle receivers over `load_pairs` pairs (so `1.5 × seconds` in all).
pub fn run(mut report: Report, pairs: usize, load_pairs: usize, seconds: f64) -> Report {
    let half = seconds / 2.0;
    let idle = measure(pairs, half);
    if let Ok((writes, _)) = &idle {
        report.connected = pairs as u64;
        report.writes = *writes;
    }
    report.floor_us_per_write = record(&mut report, idle, "write floor");
    let waiting = measure_waiting(pairs, half);
    report.floor_waiting_us_per_write =
        record(&mut report, waiting, "write floor, waiting receivers");
    if load_pairs > 0 {
        let at_load = measure(load_pairs, half);
        let what = format!("write floor over {load_pairs} pairs");
        report.floor_load_us_per_write = record(&mut report, at_load, &what);
    }
    report
}

/// Adds one measurement's CPU to the report's and returns its µs per write (0 when it failed,
/// the error recorded under `what`, or made no write).
fn record(report: &mut Report, outcome: std::io::Result<(u64, Duration)>, what: &str) -> f64 {
    match outcome {
        Ok((writes, cpu)) => {
            report.client_cpu_s += cpu.as_secs_f64();
            if writes > 0 {
                cpu.as_secs_f64() * 1e6 / writes as f64
            } else {
                0.0
            }
        }
        Err(error) => {
            report.error(format!("{what}: {error}"));
            0.0
        }
    }
}

/// `pairs` connected loopback pairs: (the accepted end, which is written; the connecting end).
fn pairs_of(pairs: usize) -> std::io::Result<Vec<(TcpStream, TcpStream)>> {
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
    Ok(ends)
}

fn measure(pairs: usize, seconds: f64) -> std::io::Result<(u64, Duration)> {
    let mut ends = pairs_of(pairs)?;
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

/// As [`measure`], the receiving ends read by a thread that waits in epoll: each round is
/// written while the reader sleeps or drains, and the next starts once it read the whole round.
fn measure_waiting(pairs: usize, seconds: f64) -> std::io::Result<(u64, Duration)> {
    let ends = pairs_of(pairs)?;
    let (mut servers, clients): (Vec<_>, Vec<_>) = ends.into_iter().unzip();
    let round_bytes = (servers.len() * FRAME.len()) as u64;
    let read = Arc::new(AtomicU64::new(0));
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let reader = {
        let read = Arc::clone(&read);
        std::thread::spawn(move || read_waiting(clients, round_bytes, read, done_tx))
    };
    let (mut writes, mut cpu) = (0u64, Duration::ZERO);
    let end = Instant::now() + Duration::from_secs_f64(seconds);
    let mut outcome = Ok(());
    while Instant::now() < end && outcome.is_ok() {
        let before = thread_cpu();
        for server in &mut servers {
            if let Err(error) = server.write_all(FRAME) {
                outcome = Err(error);
                break;
            }
        }
        cpu += thread_cpu().saturating_sub(before);
        writes += servers.len() as u64;
        // The reader says when the whole round is in; it hangs up only on an error.
        if outcome.is_ok() && done_rx.recv().is_err() {
            break;
        }
    }
    // The readers see EOF and end.
    drop(servers);
    let reader_outcome = reader
        .join()
        .unwrap_or_else(|_| Err(std::io::Error::other("the reader thread panicked")));
    outcome.and(reader_outcome)?;
    if read.load(Ordering::Relaxed) != writes * FRAME.len() as u64 {
        return Err(std::io::Error::other("the reader did not get every byte"));
    }
    Ok((writes, cpu))
}

/// The reading side of [`measure_waiting`]: one task per receiving end on a one-thread tokio
/// runtime (so the thread sleeps in epoll between wake-ups, as a client's does). A round is in
/// when the bytes read reach a multiple of `round_bytes`: the writer writes the next round only
/// after, so the count passes each multiple exactly once, at the end of its round.
fn read_waiting(
    clients: Vec<TcpStream>,
    round_bytes: u64,
    read: Arc<AtomicU64>,
    done: mpsc::Sender<()>,
) -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    runtime.block_on(async move {
        let mut tasks = tokio::task::JoinSet::new();
        for client in clients {
            let client = tokio::net::TcpStream::from_std(client)?;
            let (read, done) = (Arc::clone(&read), done.clone());
            tasks.spawn(async move {
                let mut sink = [0u8; 4096];
                loop {
                    client.readable().await?;
                    match client.try_read(&mut sink) {
                        Ok(0) => return Ok::<(), std::io::Error>(()),
                        Ok(n) => {
                            let total = read.fetch_add(n as u64, Ordering::Relaxed) + n as u64;
                            if total % round_bytes == 0 {
                                let _ = done.send(());
                            }
                        }
                        Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                        Err(e) => return Err(e),
                    }
                }
            });
        }
        drop(done);
        while let Some(ended) = tasks.join_next().await {
            ended.map_err(std::io::Error::other)??;
        }
        Ok(())
    })
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
        let report = run(Report::default(), 4, 8, 0.05);
        assert_eq!(report.errors, 0, "{:?}", report.error_samples);
        assert!(report.writes >= 4 && report.writes % 4 == 0);
        assert!(report.floor_us_per_write > 0.0);
        assert!(report.floor_waiting_us_per_write > 0.0);
        assert!(report.floor_load_us_per_write > 0.0);
        let without = run(Report::default(), 4, 0, 0.02);
        assert_eq!(without.floor_load_us_per_write, 0.0, "not asked for");
    }
}
