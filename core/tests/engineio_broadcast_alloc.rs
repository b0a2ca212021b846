//! A broadcast is encoded once and shared (issue 9): under a counting allocator, queueing one
//! payload for N WebSocket sessions and taking every message out costs the same number of
//! allocations for 10 recipients as for 1,000.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::Instant;

use bytes::Bytes;
use gif_chat_core::engineio::{
    Answer, Engine, EngineConfig, Method, Payload, Query, Request, Sid, WsOutput,
};

struct Counting;

// Both per thread: the tests of this file run in parallel, and one test's allocations must not
// land in another's count.
thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

/// `try_with`: an allocation while a thread's locals are torn down is not counted, not a panic.
fn count_one() {
    if COUNTING.try_with(Cell::get).unwrap_or(false) {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
    }
}

// SAFETY: every call is forwarded unchanged to the system allocator; counting has no effect on
// the memory handed out.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one();
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn counted<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = ALLOCATIONS.with(Cell::get);
    COUNTING.with(|c| c.set(true));
    let out = f();
    COUNTING.with(|c| c.set(false));
    (out, ALLOCATIONS.with(Cell::get) - before)
}

fn websocket_sessions(engine: &mut Engine, n: usize, now: Instant) -> Vec<Sid> {
    let request = Request {
        method: Method::Get,
        query: Query::parse("EIO=4&transport=websocket"),
        body: Bytes::new(),
        websocket_upgrade: true,
    };
    (0..n)
        .map(|_| match engine.handle_request(&request, now) {
            Answer::WebSocket(sid) => sid,
            other => panic!("refused: {other:?}"),
        })
        .collect()
}

/// Broadcasts one fresh payload and takes every message, as a runtime would; the allocations.
fn broadcast(engine: &mut Engine, sids: &[Sid], now: Instant) -> usize {
    let payload = Payload::Binary(Bytes::from(vec![42u8; 512]));
    let (written, allocations) = counted(|| {
        let taken = engine.send_many(sids.iter().copied(), &payload, now);
        let mut written = 0;
        while let Some(sid) = engine.poll_ready() {
            while let Some(WsOutput::Message(message)) = engine.poll_websocket(sid) {
                written += message.len();
            }
        }
        assert_eq!(taken, sids.len());
        written
    });
    assert!(written >= sids.len() * 512);
    allocations
}

#[test]
fn allocations_per_broadcast_do_not_grow_with_the_number_of_recipients() {
    let now = Instant::now();
    let mut costs = Vec::new();
    for n in [10, 1_000] {
        let mut engine = Engine::new(EngineConfig::default(), [3; 32]);
        let sids = websocket_sessions(&mut engine, n, now);
        // Warm up: queues and the ready list reach their working capacity once.
        broadcast(&mut engine, &sids, now);
        costs.push(broadcast(&mut engine, &sids, now));
    }
    assert_eq!(costs[0], costs[1], "allocations for 10 vs 1,000 recipients");
    // At most one: `Bytes` from a `Vec` turns into a shared buffer at its first clone.
    assert!(costs[1] <= 1, "{} allocations for one broadcast", costs[1]);
}

/// Direct delivery: the broadcast is framed once into one buffer for all idle recipients (the
/// frame, the list of recipients, the list of messages), whatever their number.
#[test]
fn a_direct_broadcast_makes_as_many_allocations_for_10_or_1000_recipients() {
    let now = Instant::now();
    let mut costs = Vec::new();
    for n in [10, 1_000] {
        let mut engine = Engine::new(EngineConfig::default(), [3; 32]);
        engine.set_direct_delivery(true);
        let sids = websocket_sessions(&mut engine, n, now);
        while let Some(sid) = engine.poll_ready() {
            while engine.poll_websocket(sid).is_some() {}
        }
        let payload = Payload::Binary(Bytes::from(vec![42u8; 512]));
        // Warm up: the engine's list of offers reaches its working capacity once.
        engine.broadcast(&sids, std::slice::from_ref(&payload), now);
        while engine.poll_direct().is_some() {}
        let (recipients, allocations) = counted(|| {
            engine.broadcast(&sids, std::slice::from_ref(&payload), now);
            let frame = engine.poll_direct().expect("offered");
            assert!(engine.poll_direct().is_none());
            frame.sids.len()
        });
        assert_eq!(recipients, n);
        costs.push(allocations);
    }
    assert_eq!(costs[0], costs[1], "allocations for 10 vs 1,000 recipients");
    assert!(costs[1] <= 4, "{} allocations for one broadcast", costs[1]);
}
