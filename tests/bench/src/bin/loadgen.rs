//! `loadgen`: one kind of load against one server, one JSON line of results on stdout.
//!
//! ```text
//! loadgen ticks --url ws://127.0.0.1:8005/ --connections 10000 --seconds 24 --interval-ms 3000
//! loadgen echo  --url ws://127.0.0.1:8005/echo --connections 64 --in-flight 16 --size 32 --seconds 10
//! loadgen churn --url ws://127.0.0.1:8005/ --concurrency 32 --seconds 10
//! loadgen http  --url http://127.0.0.1:8005/ --connections 32 --seconds 10
//! loadgen sio-idle    --url http://127.0.0.1:3000/ --sessions 10000 --rooms 100 --seconds 24
//! loadgen sio-idle    --url http://127.0.0.1:3000/ --sessions 1000 --transport polling
//! loadgen sio-fanout  --url http://127.0.0.1:3000/ --sessions 5000 --rooms 50 --rate 5
//! loadgen sio-churn   --url http://127.0.0.1:3000/ --concurrency 32 --seconds 10
//! loadgen sio-polling --url http://127.0.0.1:3000/ --sessions 32 --seconds 10
//! loadgen write-floor --pairs 1000 --load-pairs 5000 --seconds 5
//! loadgen chat-post   --url http://127.0.0.1:8005/ --rooms 10 --members 10 --seconds 10
//! loadgen chat-socket --url http://127.0.0.1:8005/ --rooms 10 --members 10 --rate 2
//! loadgen chat-page   --url http://127.0.0.1:8005/ --connections 16 --history 200
//! ```
//! The Socket.IO modes talk to namespace `/relay` under `/socket.io/` (the URL's path is
//! ignored), joining room `r<n>` through the handshake's auth. The chat modes use the chat
//! room itself (its pages, `POST /room/<id>/chat`, namespace `/chat`), in one worker process;
//! the server needs a high `CHAT_RATE` (e.g. `100000/100000`) for them.
//! Add `--server-pid PID` to measure the server's RSS and CPU from /proc. Progress and
//! diagnostics go to stderr.

use std::net::IpAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use gif_chat_bench::load::sio_session::Transport;
use gif_chat_bench::load::{self, Ctx, Target};
use gif_chat_bench::report::Report;

/// Load generator for gif-chat and its comparison peers.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    mode: Mode,
    /// Measure this server process (RSS and CPU from /proc).
    #[arg(long, global = true)]
    server_pid: Option<u32>,
    /// Worker processes (default: one per 8,000 connections, at least one).
    #[arg(long, global = true)]
    processes: Option<usize>,
    /// Loopback source addresses to spread connections over, e.g. 127.0.0.2,127.0.0.3.
    #[arg(long, global = true, value_delimiter = ',')]
    source_addrs: Vec<IpAddr>,
    /// Seconds the ramp (connecting) may take before the window starts anyway.
    #[arg(long, global = true, default_value_t = 180)]
    ramp_timeout: u64,
    /// Ticks: print each gap deviating more than this many ms to stderr, with its time.
    #[arg(long, global = true)]
    trace_late_ms: Option<u64>,
    /// Milliseconds to wait after the clients are gone before the server's last reading.
    #[arg(long, global = true, default_value_t = 1000)]
    settle_ms: u64,
    #[arg(long, global = true, hide = true)]
    worker: Option<usize>,
    #[arg(long, global = true, hide = true, default_value_t = 0)]
    worker_first: usize,
    #[arg(long, global = true, hide = true, default_value_t = 0)]
    worker_count: usize,
}

/// The chat room loads' arguments (`chat-post`, `chat-socket`).
#[derive(Debug, Args)]
struct ChatRoomArgs {
    #[arg(long)]
    url: Target,
    #[arg(long, default_value_t = 10)]
    rooms: usize,
    /// Members per room (1 to 10, the room's cap).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=10))]
    members: u64,
    /// Lines per second each member posts (0: the next as soon as the last is answered).
    #[arg(long, default_value_t = 0.0)]
    rate: f64,
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
}

impl ChatRoomArgs {
    fn total_members(&self) -> usize {
        self.rooms * self.members as usize
    }
}

#[derive(Debug, Subcommand)]
enum Mode {
    /// Connections behaving like the seed's page: answer every tick, measure its regularity.
    Ticks {
        #[arg(long)]
        url: Target,
        #[arg(long, default_value_t = 1000)]
        connections: usize,
        #[arg(long, default_value_t = 24.0)]
        seconds: f64,
        /// The server's tick interval.
        #[arg(long, default_value_t = 3000)]
        interval_ms: u64,
    },
    /// Connections to /echo with messages in flight: messages/s and round-trip times.
    Echo {
        #[arg(long)]
        url: Target,
        #[arg(long, default_value_t = 64)]
        connections: usize,
        #[arg(long, default_value_t = 16)]
        in_flight: usize,
        /// Payload bytes per message.
        #[arg(long, default_value_t = 32)]
        size: usize,
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
    },
    /// Loops of connect, upgrade, clean close: handshakes/s.
    Churn {
        #[arg(long)]
        url: Target,
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
    },
    /// Keep-alive `GET` loops: requests/s.
    Http {
        #[arg(long)]
        url: Target,
        #[arg(long, default_value_t = 32)]
        connections: usize,
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
    },
    /// Socket.IO sessions in rooms that only answer pings: RSS per session, CPU while idle.
    SioIdle {
        #[arg(long)]
        url: Target,
        #[arg(long, default_value_t = 1000)]
        sessions: usize,
        #[arg(long, default_value_t = 10)]
        rooms: usize,
        #[arg(long, default_value_t = 24.0)]
        seconds: f64,
        #[arg(long, value_enum, default_value_t = Transport::Websocket)]
        transport: Transport,
    },
    /// Socket.IO sessions in rooms, one sender per room: deliveries/s, loss, latency.
    SioFanout {
        #[arg(long)]
        url: Target,
        #[arg(long, default_value_t = 1000)]
        sessions: usize,
        #[arg(long, default_value_t = 10)]
        rooms: usize,
        /// `chat` events per second each room's sender emits.
        #[arg(long, default_value_t = 5.0)]
        rate: f64,
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
    },
    /// Loops of open, CONNECT (joining a room), leave, close: sessions/s.
    SioChurn {
        #[arg(long)]
        url: Target,
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        #[arg(long, default_value_t = 100)]
        rooms: usize,
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
    },
    /// Long-polling sessions exchanging events (POST a chat, GET it back): requests/s, events/s.
    SioPolling {
        #[arg(long)]
        url: Target,
        #[arg(long, default_value_t = 32)]
        sessions: usize,
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
    },
    /// The chat room: members posting `POST /room/<id>/chat`, every member's socket receiving
    /// each line: chats stored/s, deliveries/s, latency, loss.
    ChatPost(ChatRoomArgs),
    /// The same with the socket's `chat` event and its ack instead of HTTP.
    ChatSocket(ChatRoomArgs),
    /// The chat's first load: `GET /rooms` and `GET /room/<id>` (with `--history` lines) in turn
    /// over keep-alive connections: pages/s and latency.
    ChatPage {
        #[arg(long)]
        url: Target,
        #[arg(long, default_value_t = 16)]
        connections: usize,
        /// Rooms on the list.
        #[arg(long, default_value_t = 10)]
        rooms: usize,
        /// Lines posted into the loaded room before the window.
        #[arg(long, default_value_t = 200)]
        history: usize,
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
    },
    /// The floor of a delivery: one small write per loopback socket pair per round, CPU each.
    WriteFloor {
        #[arg(long, default_value_t = 1000)]
        pairs: usize,
        /// Pairs of the third figure, the floor at a fan-out's size (0: not measured).
        #[arg(long, default_value_t = 0)]
        load_pairs: usize,
        #[arg(long, default_value_t = 5.0)]
        seconds: f64,
    },
}

impl Mode {
    fn describe(&self) -> (&'static str, &Target, usize, f64) {
        match self {
            Mode::Ticks {
                url,
                connections,
                seconds,
                ..
            } => ("ticks", url, *connections, *seconds),
            Mode::Echo {
                url,
                connections,
                seconds,
                ..
            } => ("echo", url, *connections, *seconds),
            Mode::Churn {
                url,
                concurrency,
                seconds,
            } => ("churn", url, *concurrency, *seconds),
            Mode::Http {
                url,
                connections,
                seconds,
            } => ("http", url, *connections, *seconds),
            Mode::SioIdle {
                url,
                sessions,
                seconds,
                transport,
                ..
            } => (
                match transport {
                    Transport::Websocket => "sio-idle",
                    Transport::Polling => "sio-idle-polling",
                },
                url,
                *sessions,
                *seconds,
            ),
            Mode::SioFanout {
                url,
                sessions,
                seconds,
                ..
            } => ("sio-fanout", url, *sessions, *seconds),
            Mode::SioChurn {
                url,
                concurrency,
                seconds,
                ..
            } => ("sio-churn", url, *concurrency, *seconds),
            Mode::SioPolling {
                url,
                sessions,
                seconds,
            } => ("sio-polling", url, *sessions, *seconds),
            Mode::ChatPost(args) => ("chat-post", &args.url, args.total_members(), args.seconds),
            Mode::ChatSocket(args) => {
                ("chat-socket", &args.url, args.total_members(), args.seconds)
            }
            Mode::ChatPage {
                url,
                connections,
                seconds,
                ..
            } => ("chat-page", url, *connections, *seconds),
            Mode::WriteFloor { .. } => unreachable!("write-floor runs in the parent"),
        }
    }

    /// The chat modes share room ids in memory: one worker process.
    fn single_process(&self) -> bool {
        matches!(
            self,
            Mode::ChatPost(_) | Mode::ChatSocket(_) | Mode::ChatPage { .. }
        )
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Mode::WriteFloor {
        pairs,
        load_pairs,
        seconds,
    } = cli.mode
    {
        let base = Report {
            mode: "write-floor".into(),
            connections: pairs as u64,
            seconds,
            processes: 1,
            ..Report::default()
        };
        return print(&load::write_floor::run(base, pairs, load_pairs, seconds));
    }
    let (name, url, total, seconds) = cli.mode.describe();
    let processes = if cli.mode.single_process() {
        1
    } else {
        cli.processes.unwrap_or(total.div_ceil(8000)).max(1)
    };
    let base = Report {
        mode: name.to_owned(),
        url: format!("{}{}", url.host, url.path),
        connections: total as u64,
        seconds,
        processes: processes as u32,
        ..Report::default()
    };
    let report = match cli.worker {
        None => gif_chat_bench::parent::run(
            base,
            total,
            processes,
            cli.server_pid,
            Duration::from_secs(cli.ramp_timeout),
            Duration::from_millis(cli.settle_ms),
            window_delay(&cli.mode),
        ),
        Some(_) => worker(&cli, base),
    };
    print(&report)
}

fn print(report: &Report) -> ExitCode {
    match serde_json::to_string(report) {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("loadgen: {error}");
            ExitCode::FAILURE
        }
    }
}

/// How long to wait between the end of the ramp and the window. For ticks, half an interval:
/// the connections made last are in phase with the ramp's end, and a window starting right then
/// would put their ticks exactly on its edges (where a late tick falls out of the count).
fn window_delay(mode: &Mode) -> Duration {
    match mode {
        Mode::Ticks { interval_ms, .. } => Duration::from_millis(interval_ms / 2),
        _ => Duration::ZERO,
    }
}

/// Runs this worker's share of the mode: one context (the Socket.IO modes aim at the
/// Socket.IO endpoint), the mode's tasks built on it.
fn worker(cli: &Cli, base: Report) -> Report {
    if let Mode::WriteFloor { .. } = cli.mode {
        return base;
    }
    let (first, count) = (cli.worker_first, cli.worker_count);
    let (name, url, _, seconds) = cli.mode.describe();
    let target = if name.starts_with("sio-") || name.starts_with("chat-") {
        sio_target(url)
    } else {
        url.clone()
    };
    let trace = cli.trace_late_ms.map(Duration::from_millis);
    let ctx = Ctx::new(target, cli.source_addrs.clone(), trace);
    load::run_worker(seconds, base, |stage| match &cli.mode {
        Mode::Ticks { interval_ms, .. } => {
            let interval = Duration::from_millis((*interval_ms).max(1));
            load::ticks::plan(ctx, first, count, interval, seconds, stage)
        }
        Mode::Echo {
            in_flight, size, ..
        } => load::echo::plan(ctx, first, count, *in_flight, *size, stage),
        Mode::Churn { .. } => load::churn::plan(ctx, first, count, stage),
        Mode::Http { .. } => load::http::plan(ctx, first, count, stage),
        Mode::SioIdle {
            rooms, transport, ..
        } => load::sio_idle::plan(ctx, *transport, first, count, *rooms, stage),
        Mode::SioFanout {
            sessions,
            rooms,
            rate,
            ..
        } => {
            let shape = load::sio_fanout::Shape {
                sessions: *sessions,
                rooms: (*rooms).max(1),
                rate: *rate,
                seconds,
            };
            load::sio_fanout::plan(ctx, shape, first, count, stage)
        }
        Mode::SioChurn { rooms, .. } => load::sio_churn::plan(ctx, first, count, *rooms, stage),
        Mode::SioPolling { .. } => load::sio_polling::plan(ctx, first, count, stage),
        Mode::ChatPost(args) | Mode::ChatSocket(args) => {
            let via = match &cli.mode {
                Mode::ChatPost(_) => load::chat::Via::Http,
                _ => load::chat::Via::Socket,
            };
            let shape = load::chat::Shape {
                rooms: args.rooms.max(1),
                members: args.members as usize,
                rate: args.rate,
                seconds,
                via,
            };
            load::chat::plan(ctx, shape, first, count, stage)
        }
        Mode::ChatPage { rooms, history, .. } => {
            let shape = load::chat_page::Shape {
                connections: count,
                rooms: *rooms,
                history: *history,
            };
            load::chat_page::plan(ctx, shape, count, stage)
        }
        Mode::WriteFloor { .. } => unreachable!("write-floor returned above"),
    })
}

/// The Socket.IO WebSocket endpoint on the URL's host (polling builds its own paths).
fn sio_target(url: &Target) -> Target {
    Target {
        path: gif_chat_bench::sio::ws_path().to_owned(),
        ..url.clone()
    }
}
