//! What an idle Socket.IO session over WebSocket keeps on the heap (issue 9's memory floors):
//! 10,000 sessions opened through a [`Hub`] and [`Connection`]s exactly as a runtime drives
//! them (WebSocket handshake, Engine.IO open, CONNECT to `/relay` with a room among 100, one
//! ping/pong round), then the heap they hold, split into the connections' part and the hub's.
//!
//! The runtimes' RSS per session is this plus the allocator's overhead, the `Connection`
//! value itself and the runtime's task; a regression here shows there first, and in
//! milliseconds rather than a load test's minutes. This file is its own test binary because it
//! installs a counting global allocator; the count is per thread, so the test harness's other
//! threads do not disturb it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gif_chat_core::testing::{drain_transmit, parse_server_frames, text as client_text};
use gif_chat_core::{Config, Connection, Hub, HubSession};

struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    /// Bytes asked for minus bytes given back while counting.
    static LIVE_BYTES: Cell<isize> = const { Cell::new(0) };
    /// The same as glibc's malloc holds them: a chunk of at least 32 bytes, the size plus an
    /// 8-byte header rounded up to 16. This is what RSS sees.
    static CHUNK_BYTES: Cell<isize> = const { Cell::new(0) };
}

fn chunk(size: usize) -> isize {
    ((size + 8).div_ceil(16) * 16).max(32) as isize
}

fn live(old: usize, new: usize) {
    // `try_with`: the allocator may run while thread-locals are being torn down.
    if COUNTING.try_with(Cell::get).unwrap_or(false) {
        let _ = LIVE_BYTES.try_with(|n| n.set(n.get() + new as isize - old as isize));
        let old_chunk = if old == 0 { 0 } else { chunk(old) };
        let new_chunk = if new == 0 { 0 } else { chunk(new) };
        let _ = CHUNK_BYTES.try_with(|n| n.set(n.get() + new_chunk - old_chunk));
    }
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        live(0, layout.size());
        // SAFETY: forwarded as received.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        live(layout.size(), 0);
        // SAFETY: forwarded as received.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        live(layout.size(), new_size);
        // SAFETY: forwarded as received.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Heap held, as asked for and as malloc's chunks.
#[derive(Clone, Copy, Debug, Default)]
struct Heap {
    asked: isize,
    chunks: isize,
}

fn heap_now() -> Heap {
    Heap {
        asked: LIVE_BYTES.with(Cell::get),
        chunks: CHUNK_BYTES.with(Cell::get),
    }
}

impl std::ops::Sub for Heap {
    type Output = Heap;
    fn sub(self, other: Heap) -> Heap {
        Heap {
            asked: self.asked - other.asked,
            chunks: self.chunks - other.chunks,
        }
    }
}

impl Heap {
    fn per(self, n: usize) -> Heap {
        Heap {
            asked: self.asked / n as isize,
            chunks: self.chunks / n as isize,
        }
    }
}

const SESSIONS: usize = 10_000;
const ROOMS: usize = 100;

/// A runtime in miniature: one hub, many connections, a virtual clock.
struct World {
    config: Arc<Config>,
    hub: Hub,
    now: Instant,
}

impl World {
    fn new() -> World {
        let mut config = Config::new();
        config.hub.conformance = true;
        let hub = Hub::new(config.hub.clone(), [7; 32]);
        World {
            config: Arc::new(config),
            hub,
            now: Instant::now(),
        }
    }

    /// Feeds `bytes` to `conn`, runs its hub calls and delivers what the hub has for it, as a
    /// runtime's connection task does after a read; returns what it wrote.
    fn send(&mut self, conn: &mut Connection, bytes: &[u8]) -> Vec<u8> {
        conn.handle_input(self.now, bytes);
        while let Some(call) = conn.poll_hub_call() {
            if let Some(answer) = self.hub.handle_call(self.now, call) {
                conn.handle_hub_answer(self.now, answer);
            }
        }
        while self.hub.poll_ready().is_some() {}
        while self.hub.poll_log().is_some() {}
        if let Some(HubSession::WebSocket(mount, sid)) = conn.hub_session() {
            while conn.wants_hub_output() {
                let Some(output) = self.hub.poll_websocket(mount, sid) else {
                    break;
                };
                conn.handle_hub_output(self.now, output);
            }
        }
        let written = drain_transmit(conn, self.now);
        while conn.poll_event().is_some() {}
        written
    }

    /// Opens one session over WebSocket: the handshake and Engine.IO's open packet.
    fn open_session(&mut self, index: usize) -> Connection {
        let peer = SocketAddr::from(([127, 0, 0, 1], 10_000 + (index % 50_000) as u16));
        let mut conn = Connection::new(Arc::clone(&self.config), peer, self.now);
        let switching = self.send(
            &mut conn,
            b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: a\r\n\
              Upgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        );
        assert!(switching.starts_with(b"HTTP/1.1 101 "), "{switching:?}");
        conn
    }

    /// CONNECTs the session to `/relay` with a room among [`ROOMS`] in its auth, as the load
    /// generator's `sio-idle` does.
    fn connect_relay(&mut self, conn: &mut Connection, index: usize) {
        let connect = format!("40/relay,{{\"room\":\"r{}\"}}", index % ROOMS);
        let connected = self.send(conn, &client_text(&connect));
        let frames = parse_server_frames(&connected);
        assert!(
            frames.iter().any(|f| f.text().starts_with("40/relay,{")),
            "{frames:?}"
        );
    }

    /// Time passes to the next heartbeat; every connection gets its ping and answers it.
    fn ping_round(&mut self, conns: &mut [Connection]) {
        let Some(deadline) = self.hub.poll_timeout() else {
            panic!("no heartbeat scheduled");
        };
        self.now = self.now.max(deadline);
        self.hub.handle_timeout(self.now);
        for conn in conns.iter_mut() {
            let pinged = self.send(conn, b"");
            assert!(
                parse_server_frames(&pinged).iter().any(|f| f.text() == "2"),
                "no ping: {pinged:?}"
            );
        }
        self.now += Duration::from_millis(1);
        for conn in conns.iter_mut() {
            let answer = self.send(conn, &client_text("3"));
            assert!(answer.is_empty(), "{answer:?}");
        }
    }
}

/// What 10,000 idle sessions hold per session, step by step.
#[derive(Debug)]
struct Report {
    /// WebSocket handshake and Engine.IO open.
    opened: Heap,
    /// Added by the CONNECT to `/relay` and its room.
    connected: Heap,
    /// Added by one ping/pong round.
    pinged: Heap,
    /// Everything.
    total: Heap,
    /// The connections' part of it.
    connections: Heap,
}

fn measure() -> Report {
    let mut world = World::new();
    let mut conns = Vec::with_capacity(SESSIONS);
    // The vector of connections is not the sessions' cost.
    let vec_buffer = Heap {
        asked: (SESSIONS * std::mem::size_of::<Connection>()) as isize,
        chunks: chunk(SESSIONS * std::mem::size_of::<Connection>()),
    };
    LIVE_BYTES.with(|n| n.set(0));
    CHUNK_BYTES.with(|n| n.set(0));
    COUNTING.with(|c| c.set(true));
    let start = heap_now();
    for index in 0..SESSIONS {
        let conn = world.open_session(index);
        conns.push(conn);
    }
    let opened = heap_now();
    for (index, conn) in conns.iter_mut().enumerate() {
        world.connect_relay(conn, index);
    }
    let connected = heap_now();
    world.ping_round(&mut conns);
    let pinged = heap_now();
    // The connections' own heap: drop them without telling the hub.
    drop(std::mem::take(&mut conns));
    let in_connections = pinged - heap_now() - vec_buffer;
    COUNTING.with(|c| c.set(false));
    assert_eq!(world.hub.session_count(), SESSIONS);
    Report {
        opened: (opened - start).per(SESSIONS),
        connected: (connected - opened).per(SESSIONS),
        pinged: (pinged - connected).per(SESSIONS),
        total: (pinged - start).per(SESSIONS),
        connections: in_connections.per(SESSIONS),
    }
}

#[test]
fn an_idle_websocket_session_keeps_little_heap() {
    let report = measure();
    eprintln!(
        "idle Socket.IO session over WebSocket, heap per session (asked / malloc chunks): \
         {} / {} B in all; opened {} / {}, CONNECT +{} / +{}, ping round +{} / +{}; \
         of which its connection {} / {}; the Connection value itself: {} B",
        report.total.asked,
        report.total.chunks,
        report.opened.asked,
        report.opened.chunks,
        report.connected.asked,
        report.connected.chunks,
        report.pinged.asked,
        report.pinged.chunks,
        report.connections.asked,
        report.connections.chunks,
        std::mem::size_of::<Connection>(),
    );
    // Measured at 739 B (from 2,221 B before the Engine.IO WebSocket released its buffers and
    // the tables boxed their entries; 899 B before the client's address moved into the
    // engine's session, a socket's room list and a session's socket list became inline and a
    // socket's own room implied by its id); the bound leaves room for a table's load factor.
    assert!(
        report.total.chunks <= 1_000,
        "an idle session keeps {} B of heap",
        report.total.chunks
    );
    // Between two pings a connection needs no buffer at all (as the seed's ticker).
    assert!(
        report.connections.chunks <= 64,
        "an idle session's connection keeps {} B of heap",
        report.connections.chunks
    );
}
