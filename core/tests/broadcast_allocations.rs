//! A broadcast costs the same number of allocations whatever the room's size (issue 9, E4):
//! it is encoded once, the recipients' sids go into one vector sized up front, and every
//! recipient shares the same reference-counted payload bytes.
//!
//! It also measures the bytes an idle socket keeps. This file is its own test binary because it
//! installs a counting global allocator; the count is per thread, so the test harness's other
//! threads do not disturb it.

mod sio;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use bytes::Bytes;
use gif_chat_core::socketio::{Args, Config, RecoveryConfig, SocketId, To, Transmit};
use serde_json::json;

struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
    /// Bytes allocated minus bytes freed while counting.
    static LIVE_BYTES: Cell<isize> = const { Cell::new(0) };
}

fn count() {
    // `try_with`: the allocator may run while thread-locals are being torn down.
    if COUNTING.try_with(Cell::get).unwrap_or(false) {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
    }
}

fn live(delta: isize) {
    if COUNTING.try_with(Cell::get).unwrap_or(false) {
        let _ = LIVE_BYTES.try_with(|n| n.set(n.get() + delta));
    }
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        live(layout.size() as isize);
        // SAFETY: forwarded as received.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        live(-(layout.size() as isize));
        // SAFETY: forwarded as received.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        live(new_size as isize - layout.size() as isize);
        // SAFETY: forwarded as received.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Allocations made by `f` on this thread.
fn allocations(f: impl FnOnce()) -> usize {
    ALLOCATIONS.with(|n| n.set(0));
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    ALLOCATIONS.with(Cell::get)
}

/// Allocations of one broadcast to a room of `size` (emit, and the engine taking the
/// transmit and dropping it), after a few broadcasts have warmed up the queues. The room also
/// holds a sender, for the broadcast to the room except the sender.
fn broadcast_allocations(size: usize, config: Config, args: &Args) -> usize {
    let kept = config.recovery.is_some();
    let mut engine = sio::plain(config);
    let mut sender = None;
    for _ in 0..=size {
        let (_, socket, _) = engine.connect("/chat", "");
        let socket = SocketId::parse(&socket).unwrap();
        engine.server.join("/chat", socket, "room").unwrap();
        sender.get_or_insert(socket);
    }
    let sender = sender.unwrap();
    let now = engine.now;
    let mut broadcast = |to: To<'_>| {
        engine.server.emit(now, "/chat", to, "chat", args).unwrap();
        match engine.server.poll_transmit() {
            Some(Transmit::Broadcast { sids, payloads }) => {
                // Every recipient's share: a clone of the payload handles, no copy of bytes.
                for _ in &sids {
                    for payload in &payloads {
                        drop(payload.clone());
                    }
                }
            }
            Some(Transmit::Send { .. }) => {}
            other => panic!("a broadcast, got {other:?}"),
        }
    };
    // Past the growth of the queues (the recovery store's grows to 32 at the 17th packet), so
    // both measured broadcasts land in the same amortised state.
    for _ in 0..20 {
        broadcast(To::Room("room"));
    }
    let room = allocations(|| broadcast(To::Room("room")));
    let except = allocations(|| {
        broadcast(To::RoomExcept {
            room: "room",
            except: sender,
        })
    });
    // A packet kept for recovery names whom it was for; leaving the sender out then names the
    // sender's own room, which a socket does not store: one allocation more, whatever the size.
    // Without recovery nothing is named.
    assert_eq!(
        room + usize::from(kept),
        except,
        "room of {size}: with or without the sender (recovery: {kept})"
    );
    room
}

fn check(config: Config, args: &Args) {
    let counts: Vec<usize> = [1, 100, 10_000]
        .into_iter()
        .map(|size| broadcast_allocations(size, config.clone(), args))
        .collect();
    eprintln!("allocations per broadcast to rooms of 1, 100, 10000: {counts:?}");
    assert!(counts[0] > 0, "the counter counts");
    assert_eq!(counts[0], counts[1]);
    assert_eq!(counts[1], counts[2]);
}

#[test]
fn a_broadcast_makes_as_many_allocations_for_a_room_of_1_100_or_10000() {
    let text = Args::json(vec![json!({"user": "#ff0000", "chat": "안녕하세요"})]);
    let mut binary = Args::json(vec![json!("gif")]);
    let placeholder = binary.attach(Bytes::from(vec![0x47; 4096]));
    binary.values.push(placeholder);
    for args in [&text, &binary] {
        check(
            Config {
                recovery: None,
                ..Config::default()
            },
            args,
        );
        check(
            Config {
                recovery: Some(RecoveryConfig::default()),
                ..Config::default()
            },
            args,
        );
    }
}

/// Bytes the Socket.IO state adds per idle socket (226 when written), measured over 10,000
/// sockets connected and left alone. The floor for a whole idle session over WebSocket,
/// engine and runtime included, is 2 KB on runtime-mio.
#[test]
fn an_idle_socket_keeps_few_bytes() {
    let mut engine = sio::plain(Config {
        recovery: Some(RecoveryConfig::default()),
        ..Config::default()
    });
    let sids: Vec<_> = (0..10_000).map(|_| engine.open()).collect();
    // The CONNECT messages are made before counting: they belong to the engine.
    let connect: Vec<_> = sids
        .iter()
        .map(|_| gif_chat_core::engineio::Payload::text("0/chat,"))
        .collect();
    LIVE_BYTES.with(|n| n.set(0));
    COUNTING.with(|c| c.set(true));
    for (sid, payload) in sids.iter().zip(connect) {
        engine.server.handle_message(engine.now, *sid, payload);
        while engine.server.poll_event().is_some() {}
        while engine.server.poll_transmit().is_some() {}
    }
    COUNTING.with(|c| c.set(false));
    let per_socket = LIVE_BYTES.with(Cell::get) / 10_000;
    eprintln!("bytes kept per idle socket: {per_socket}");
    assert!(per_socket < 300, "{per_socket} bytes per idle socket");
}
