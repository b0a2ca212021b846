//! gif-chat on a bare mio event loop: one thread, no async runtime.
//!
//! This is the smallest of the three runtimes and the one closest to the machine: readiness
//! events from one `mio::Poll`, connections in a [`slab::Slab`] keyed by their token, deadlines
//! in one heap, and a single 64 KiB read buffer for everyone. All protocol decisions, and every
//! log line, come from [`gif_chat_core`]; this crate only moves bytes, keeps time and handles
//! signals. It exists to show what the sans-IO core costs without any runtime in between, and
//! how little memory an idle connection needs when nothing but the core's state is kept for it.
//!
//! [`run`] is the whole server as the binary starts it; [`Server`] is the same in two steps
//! (bind, then serve) for callers that want the bound address first.

#![forbid(unsafe_code)]

mod conn;
mod server;
mod timer;

use std::io::{self, IsTerminal, Write};
use std::net::SocketAddr;
use std::process::ExitCode;

use gif_chat_core::log::{self, LogBuffer, LogLine, Stream};
use gif_chat_core::Settings;
use socket2::{Domain, Protocol, Socket, Type};

pub use server::{Server, StartError};

/// Pending connections the kernel queues for us: a connect burst must not overflow it.
const BACKLOG: i32 = 1024;

/// Runs the server as the runtime contract says: configuration (exit 2 if invalid), warnings,
/// bind (exit 1 on failure), the listening line with the real port, then serve until stopped
/// (0 after a graceful stop).
pub fn run(settings: Settings) -> ExitCode {
    let config = match settings.to_config(io::stdout().is_terminal()) {
        Ok(config) => config,
        Err(e) => {
            print_line(&log::fatal(&e));
            return ExitCode::from(2);
        }
    };
    for warning in settings.warnings() {
        print_line(&log::warning(warning));
    }
    let server = match Server::bind(&settings, config) {
        Ok(server) => server,
        Err(e) => {
            print_line(&log::fatal(&e));
            return ExitCode::from(1);
        }
    };
    // Tests read this line to learn the port: it must be out before the first connection.
    print_line(&log::listening(server.local_addr().port()));
    server.serve()
}

/// A nonblocking listening socket on `addr`. For an IPv6 address, `dual_stack` also takes
/// IPv4 (the default `::` serves both); SO_REUSEADDR lets a restart reuse the port at once.
pub fn bind_listener(addr: SocketAddr, dual_stack: bool) -> io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    if addr.is_ipv6() {
        socket.set_only_v6(!dual_stack)?;
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    Ok(socket.into())
}

/// Prints one line at once (start-up and fatal lines, before and after the loop).
fn print_line(line: &LogLine) {
    let mut buffer = LogBuffer::default();
    buffer.push(line);
    write_log(&mut buffer);
}

/// Writes out and empties what the loop logged: one write per stream, however many lines.
/// A closed stdout or stderr must not stop the server, so write errors are ignored.
fn write_log(log: &mut LogBuffer) {
    /// A buffer that grew past this in a burst is shrunk back, so one burst does not pin memory.
    const KEEP_CAPACITY: usize = 64 * 1024;
    for (stream, bytes) in [
        (Stream::Stdout, &mut log.stdout),
        (Stream::Stderr, &mut log.stderr),
    ] {
        if bytes.is_empty() {
            continue;
        }
        let _ = match stream {
            Stream::Stdout => write_flush(&mut io::stdout().lock(), bytes),
            Stream::Stderr => write_flush(&mut io::stderr().lock(), bytes),
        };
        bytes.clear();
        bytes.shrink_to(KEEP_CAPACITY);
    }
}

fn write_flush(out: &mut impl Write, bytes: &[u8]) -> io::Result<()> {
    out.write_all(bytes)?;
    out.flush()
}
