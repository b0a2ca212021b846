//! Blocking WebSocket clients on std sockets, each on a thread of its own: a raw one ([`Wire`])
//! for hostile peers and a well-behaved one ([`Ticker`]) whose tick gaps a case asserts.
//!
//! The hostile-peer cases measure the server's timing while other clients flood, stall or churn.
//! A client on the test's async workers is delayed by whatever else the test is doing there, and
//! that delay would be charged to the server; a thread blocked in `read` wakes when the bytes
//! arrive. So these clients never share the workers, and [`run`] moves blocking client work off
//! them. ([`crate::ws`] has the async counterparts for tests that measure nothing this fine.)
//!
//! The bytes on the wire come from [`crate::ws`], so both kinds of client speak exactly alike.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use crate::ws::{self, Frame, OP_TEXT};
use crate::{http, spec, Server, WAIT};

/// Runs blocking client work off the async workers; a panic in it is the caller's panic.
pub async fn run<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
}

/// A loopback connection set up by [`configure`].
pub fn connect(port: u16) -> io::Result<TcpStream> {
    configure(TcpStream::connect(("127.0.0.1", port))?)
}

/// Turns Nagle off (each write is its own segment) and bounds reads by [`WAIT`], so a silent
/// server fails the read instead of hanging the test.
pub fn configure(stream: TcpStream) -> io::Result<TcpStream> {
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(WAIT))?;
    Ok(stream)
}

/// A blocking client that writes whatever bytes it is given and decodes the server's frames.
#[derive(Debug)]
pub struct Wire {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Wire {
    /// Opens a WebSocket to `path`; with `drip`, the upgrade request goes out a byte at a time.
    pub fn upgrade(port: u16, path: &str, drip: bool) -> io::Result<Wire> {
        Wire::upgrade_on(connect(port)?, port, path, drip)
    }

    /// [`upgrade`](Self::upgrade) on a connection the caller set up (its buffers, say).
    pub fn upgrade_on(stream: TcpStream, port: u16, path: &str, drip: bool) -> io::Result<Wire> {
        let mut wire = Wire {
            stream,
            buf: Vec::new(),
        };
        let request = ws::upgrade_request(port, path, &[]);
        if drip {
            wire.drip(&request, Duration::from_millis(1))?;
        } else {
            wire.write(&request)?;
        }
        let end = loop {
            if let Some(at) = http::find(&wire.buf, b"\r\n\r\n") {
                break at + 4;
            }
            wire.fill()?;
        };
        let head = String::from_utf8_lossy(&wire.buf[..end]).into_owned();
        wire.buf.drain(..end);
        ws::check_handshake(&head).map_err(io::Error::other)?;
        Ok(wire)
    }

    /// A second handle on the same connection, with nothing buffered, so that one thread can
    /// read while another writes.
    pub fn try_clone(&self) -> io::Result<Wire> {
        Ok(Wire {
            stream: self.stream.try_clone()?,
            buf: Vec::new(),
        })
    }

    /// The connection, for what the client does to the socket itself (a reset, say).
    pub fn into_stream(self) -> TcpStream {
        self.stream
    }

    fn fill(&mut self) -> io::Result<()> {
        let mut chunk = [0u8; 64 * 1024];
        match self.stream.read(&mut chunk)? {
            0 => Err(io::ErrorKind::UnexpectedEof.into()),
            n => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(())
            }
        }
    }

    /// Writes all of `bytes`.
    pub fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// Writes `bytes` one at a time, each in its own segment, `pause` apart.
    pub fn drip(&mut self, bytes: &[u8], pause: Duration) -> io::Result<()> {
        for byte in bytes {
            self.stream.write_all(std::slice::from_ref(byte))?;
            thread::sleep(pause);
        }
        Ok(())
    }

    /// The next frame from the server. Server frames are never masked (RFC 6455 §5.1); a masked
    /// one is an error.
    pub fn read_frame(&mut self) -> io::Result<Frame> {
        loop {
            if self.buf.get(1).is_some_and(|second| second & 0x80 != 0) {
                return Err(io::Error::other(format!(
                    "the server sent a masked frame: {:?}",
                    self.buf.get(..2)
                )));
            }
            if let Some((frame, used)) = ws::decode_frame(&self.buf) {
                self.buf.drain(..used);
                return Ok(frame);
            }
            self.fill()?;
        }
    }

    /// The next data message, reassembled: its opcode, its payload, and the control frames that
    /// came before its last fragment.
    pub fn read_message(&mut self) -> io::Result<(u8, Vec<u8>, Vec<Frame>)> {
        let mut controls = Vec::new();
        let mut message: Option<(u8, Vec<u8>)> = None;
        loop {
            let frame = self.read_frame()?;
            if frame.opcode >= 0x8 {
                controls.push(frame);
                continue;
            }
            let (opcode, payload) = message.get_or_insert((frame.opcode, Vec::new()));
            payload.extend_from_slice(&frame.payload);
            if frame.fin {
                return Ok((*opcode, std::mem::take(payload), controls));
            }
        }
    }
}

/// A client on `/` that only reads, on its own thread, time-stamping each tick on arrival; at
/// the end of a case, [`finish`](Self::finish) asserts that no silence between ticks was longer
/// than the case allows: "the server goes on serving everyone else" is measured, not assumed.
#[derive(Debug)]
pub struct Ticker {
    opened: Instant,
    max_gap: Duration,
    stop: Arc<AtomicBool>,
    /// Arrival times, or why the client failed.
    ticks: mpsc::Receiver<Result<Instant, String>>,
}

impl Ticker {
    /// Connects and waits for the server to log the connection, so that the descriptor and
    /// memory baselines a case takes afterwards include it. `max_gap` is the longest silence
    /// [`finish`](Self::finish) accepts.
    pub async fn start(server: &mut Server, max_gap: Duration) -> Ticker {
        let port = server.port();
        let mut wire = run(move || Wire::upgrade(port, "/", false))
            .await
            .unwrap_or_else(|e| panic!("the ticking client's handshake: {e}"));
        let opened = Instant::now();
        server
            .expect_exact(&spec::connected("127.0.0.1"), WAIT)
            .await;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let (tx, ticks) = mpsc::channel();
        thread::spawn(move || {
            // Short reads so the stop flag is seen promptly; a timeout mid-frame keeps the bytes.
            let _ = wire
                .stream
                .set_read_timeout(Some(Duration::from_millis(50)));
            while !flag.load(Ordering::Relaxed) {
                let report = match wire.read_frame() {
                    Ok(frame)
                        if frame.opcode == OP_TEXT && frame.payload == spec::TICK.as_bytes() =>
                    {
                        Ok(Instant::now())
                    }
                    Ok(frame) => Err(format!("the ticking client got {frame:?}")),
                    Err(e)
                        if matches!(
                            e.kind(),
                            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                        ) =>
                    {
                        continue
                    }
                    Err(e) => Err(format!("the ticking client's connection failed: {e}")),
                };
                let failed = report.is_err();
                if tx.send(report).is_err() || failed {
                    return;
                }
            }
        });
        Ticker {
            opened,
            max_gap,
            stop,
            ticks,
        }
    }

    /// Asserts the ticks kept coming through the case: one more arrives after now, and no
    /// silence between the opening, each tick and that last one exceeds `max_gap`.
    pub async fn finish(self, case: &str) {
        let end = Instant::now();
        let max_gap = self.max_gap;
        let ticks = run(move || {
            let mut ticks = Vec::new();
            let deadline = end + max_gap + Duration::from_millis(100);
            while ticks.last().is_none_or(|&at| at <= end) {
                let left = deadline.saturating_duration_since(Instant::now());
                match self.ticks.recv_timeout(left) {
                    Ok(Ok(at)) => ticks.push(at),
                    Ok(Err(e)) => return Err(e),
                    Err(_) => return Err(format!("no tick within {max_gap:?} after the case")),
                }
            }
            self.stop.store(true, Ordering::Relaxed);
            Ok(ticks)
        })
        .await
        .unwrap_or_else(|e| panic!("{case}: {e}"));
        let marks: Vec<Instant> = std::iter::once(self.opened)
            .chain(ticks.iter().copied())
            .collect();
        let worst = marks
            .windows(2)
            .map(|pair| pair[1].saturating_duration_since(pair[0]))
            .max()
            .unwrap_or_default();
        eprintln!("{case}: {} ticks, longest wait {worst:?}", ticks.len());
        assert!(
            worst <= max_gap,
            "{case}: the ticking client waited {worst:?} for a tick (at most {max_gap:?}); \
             {} ticks over {:?}",
            ticks.len(),
            end - self.opened
        );
    }
}
