//! Broadcast frames written straight to the recipients' sockets from the broadcasting turn.
//!
//! Without this, a broadcast to a room of N costs N queue pushes, N wakes (a futex or a
//! cross-thread task wake on tokio and smol), N locks of the hub by the woken owners, N copies
//! of the message into their output buffers and N writes. The write is the only part a
//! delivery cannot do without, so when a recipient's connection is idle with nothing unsent,
//! the broadcasting turn makes it itself: the core frames the broadcast once
//! ([`DirectFrame`](gif_chat_core::engineio::DirectFrame)), and the same shared bytes go to
//! every idle recipient's socket with one non-blocking `write` each, under the hub's lock (so
//! two broadcasts never interleave on one socket).
//!
//! The socket is the owner's; writing to it from another turn is safe only while the owner is
//! not writing and has nothing to write. Each registered connection has a `DirectSlot`: the
//! owner marks it *idle* just before it waits ([`HubLink::offer_direct`]) when the core says
//! so ([`Connection::accepts_direct`]), and takes it back under the hub's lock at the start
//! of its next exchange, before it writes anything; a broadcaster writes only to idle slots,
//! and only while it holds that lock. A refused recipient (slot busy, socket full) gets the
//! message queued first, through the core, and is woken as before. A socket that took only
//! part of the frame leaves the slot holding the *rest*, which the owner puts before any
//! output of its own ([`Connection::handle_direct_rest`]).
//!
//!
//! A broadcast to a big room is thousands of writes in a row, each a few microseconds of kernel
//! time, and its last recipient waits for all of them. On a runtime with several threads
//! ([`SharedHub::spread_broadcasts`]) a list of at least [`SPREAD_MIN_PER_THREAD`] recipients
//! per thread is split between the broadcasting thread and scoped helper threads, which write
//! while the broadcaster still holds the lock (so the rule above holds: nobody claims a socket
//! back mid-broadcast), and the results are applied once all are done.
//!
//! [`HubLink::offer_direct`]: crate::HubLink::offer_direct
//! [`SharedHub::spread_broadcasts`]: crate::SharedHub::spread_broadcasts
//! [`Connection::accepts_direct`]: gif_chat_core::Connection::accepts_direct
//! [`Connection::handle_direct_rest`]: gif_chat_core::Connection::handle_direct_rest

use std::fmt;
use std::io::{self, Write as _};
use std::net::TcpStream;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, OnceLock};

use crate::HubLink;

/// A connection's socket as a broadcaster on another turn (or thread) writes to it: one
/// non-blocking write through a shared reference, as `write` on `&TcpStream` is.
pub trait DirectSocket: Send + Sync + 'static {
    /// Writes some of `bytes` without blocking; `WouldBlock` when the socket is full.
    fn try_write(&self, bytes: &[u8]) -> io::Result<usize>;
}

impl DirectSocket for TcpStream {
    fn try_write(&self, bytes: &[u8]) -> io::Result<usize> {
        (&*self).write(bytes)
    }
}

/// The fewest recipients worth a thread of their own: below it, starting a helper thread
/// (tens of microseconds) costs more than the writes it would take over (a few each).
pub const SPREAD_MIN_PER_THREAD: usize = 512;

/// Writes `frame` to every slot (`None`: no owner, refused), on up to `threads` threads at
/// once when the list is long enough; the results are in the slots' order. Called under the
/// hub's lock.
pub(crate) fn write_each(
    frame: &[u8],
    slots: &[Option<&DirectSlot>],
    threads: usize,
) -> Vec<DirectWrite> {
    let threads = (slots.len() / SPREAD_MIN_PER_THREAD).clamp(1, threads.max(1));
    if threads == 1 {
        return write_part(frame, slots);
    }
    let chunk = slots.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let mut parts = slots.chunks(chunk);
        let own = parts.next().unwrap_or_default();
        let helpers: Vec<_> = parts
            .map(|part| {
                let helper = std::thread::Builder::new()
                    .name("gif-chat-fanout".into())
                    .spawn_scoped(scope, move || write_part(frame, part));
                (part, helper.ok())
            })
            .collect();
        let mut results = write_part(frame, own);
        for (part, helper) in helpers {
            match helper.map(|helper| helper.join()) {
                Some(Ok(written)) => results.extend(written),
                // Its writes were made, or some: writing them again would repeat a frame.
                Some(Err(panic)) => std::panic::resume_unwind(panic),
                // A helper that could not start leaves its part to this thread.
                None => results.extend(write_part(frame, part)),
            }
        }
        results
    })
}

fn write_part(frame: &[u8], slots: &[Option<&DirectSlot>]) -> Vec<DirectWrite> {
    slots
        .iter()
        .map(|slot| slot.map_or(DirectWrite::Refused, |slot| slot.write(frame)))
        .collect()
}

/// The owner may write, or has something to write: nobody else writes.
const BUSY: u8 = 0;
/// The owner waits with nothing unsent: a broadcaster holding the hub's lock may write.
const IDLE: u8 = 1;
/// A broadcaster wrote part of a frame; the rest waits in the hub for the owner.
const REST: u8 = 2;
/// The owner is gone: nobody writes again.
const GONE: u8 = 3;

/// What a direct write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DirectWrite {
    /// The socket took the whole frame.
    Whole,
    /// The socket took this many bytes of it: the owner must send the rest first.
    Part(usize),
    /// Nothing was written: queue the message for the owner.
    Refused,
}

/// A connection's socket, owned by its task until the hub needs it too. The `Arc` a
/// broadcaster writes through is made only once the connection holds an Engine.IO WebSocket
/// ([`HubLink::wants_socket`]): every other connection (the seed's page, its ticking
/// WebSocket, HTTP) keeps its socket inline and pays no allocation for direct writes.
pub struct SocketCell<S>(Holding<S>);

enum Holding<S> {
    Owned(S),
    Shared(Arc<S>),
    /// Only inside [`SocketCell::share_if_wanted`], between taking the socket and sharing it.
    Moving,
}

impl<S: DirectSocket> SocketCell<S> {
    pub fn new(socket: S) -> SocketCell<S> {
        SocketCell(Holding::Owned(socket))
    }

    /// The socket, for the task's own reads and writes.
    pub fn get(&self) -> &S {
        match &self.0 {
            Holding::Owned(socket) => socket,
            Holding::Shared(socket) => socket,
            Holding::Moving => unreachable!("a socket cell is never seen while it moves"),
        }
    }

    /// Whether the socket was shared with the hub.
    pub fn is_shared(&self) -> bool {
        matches!(self.0, Holding::Shared(_))
    }

    /// Call after each exchange: when the link's session now takes broadcasts straight to its
    /// socket, the socket moves into an `Arc` shared with the hub (once).
    pub fn share_if_wanted(&mut self, link: &HubLink) {
        if !link.wants_socket() {
            return;
        }
        let shared = match std::mem::replace(&mut self.0, Holding::Moving) {
            Holding::Owned(socket) => Arc::new(socket),
            Holding::Shared(socket) => socket,
            Holding::Moving => return,
        };
        link.give_socket(shared.clone());
        self.0 = Holding::Shared(shared);
    }
}

/// The cell is what tokio's `AsyncFd` and async-io's `Async` register, so that the socket is
/// deregistered before it is closed, whichever of the task and the hub lets it go last.
impl<S: DirectSocket + AsFd> AsFd for SocketCell<S> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.get().as_fd()
    }
}

impl<S: DirectSocket + AsRawFd> AsRawFd for SocketCell<S> {
    fn as_raw_fd(&self) -> RawFd {
        self.get().as_raw_fd()
    }
}

impl<S: fmt::Debug> fmt::Debug for SocketCell<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Holding::Owned(socket) => f.debug_tuple("Owned").field(socket).finish(),
            Holding::Shared(socket) => f.debug_tuple("Shared").field(socket).finish(),
            Holding::Moving => f.write_str("Moving"),
        }
    }
}

/// Who may write to one connection's socket.
pub(crate) struct DirectSlot {
    state: AtomicU8,
    /// Empty until the runtime gives the socket (always refused until then).
    socket: OnceLock<Arc<dyn DirectSocket>>,
}

impl fmt::Debug for DirectSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DirectSlot")
            .field("state", &self.state.load(Ordering::Relaxed))
            .field("socket", &self.has_socket())
            .finish()
    }
}

impl DirectSlot {
    pub(crate) fn new(socket: Option<Arc<dyn DirectSocket>>) -> DirectSlot {
        let slot = DirectSlot {
            state: AtomicU8::new(BUSY),
            socket: OnceLock::new(),
        };
        if let Some(socket) = socket {
            slot.give(socket);
        }
        slot
    }

    /// The connection's socket, given once (a second one is ignored).
    pub(crate) fn give(&self, socket: Arc<dyn DirectSocket>) {
        let _ = self.socket.set(socket);
    }

    pub(crate) fn has_socket(&self) -> bool {
        self.socket.get().is_some()
    }

    /// The owner is about to wait with nothing unsent: broadcasters may write.
    pub(crate) fn offer(&self) {
        if self.has_socket() {
            // Only from `BUSY`: a rest left for the owner must be taken first.
            let _ = self
                .state
                .compare_exchange(BUSY, IDLE, Ordering::AcqRel, Ordering::Acquire);
        }
    }

    /// The owner takes its socket back (under the hub's lock, before writing anything).
    /// Returns whether a rest waits for it in the hub.
    pub(crate) fn claim(&self) -> bool {
        match self.state.load(Ordering::Acquire) {
            IDLE => self.state.swap(BUSY, Ordering::AcqRel) == REST,
            REST => {
                self.state.store(BUSY, Ordering::Release);
                true
            }
            _ => false,
        }
    }

    /// The owner is gone: no more direct writes.
    pub(crate) fn close(&self) {
        self.state.store(GONE, Ordering::Release);
    }

    /// Writes `frame` if the owner is idle (called under the hub's lock).
    pub(crate) fn write(&self, frame: &[u8]) -> DirectWrite {
        let Some(socket) = self.socket.get() else {
            return DirectWrite::Refused;
        };
        if self.state.load(Ordering::Acquire) != IDLE {
            return DirectWrite::Refused;
        }
        let mut written = 0;
        while let Some(rest) = frame.get(written..).filter(|rest| !rest.is_empty()) {
            match socket.try_write(rest) {
                Ok(0) => break,
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // Full, or failed: the owner finds out on its own write or read.
                Err(_) => break,
            }
        }
        if written >= frame.len() {
            return DirectWrite::Whole;
        }
        if written == 0 {
            // The owner must look at its socket itself: no more offers until it has.
            self.state.store(BUSY, Ordering::Release);
            DirectWrite::Refused
        } else {
            self.state.store(REST, Ordering::Release);
            DirectWrite::Part(written)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;
    use std::sync::Mutex;
    use std::time::Instant;

    use gif_chat_core::testing::{drain_transmit, parse_server_frames, text, upgrade_request};
    use gif_chat_core::{Config, Connection};

    use crate::{HubLink, SharedHub};

    /// A socket in memory that takes at most `room` bytes.
    struct Memory {
        taken: Mutex<Vec<u8>>,
        room: Mutex<usize>,
    }

    impl DirectSocket for Memory {
        fn try_write(&self, bytes: &[u8]) -> io::Result<usize> {
            let mut room = self.room.lock().expect("not poisoned");
            if *room == 0 {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            let n = bytes.len().min(*room);
            *room -= n;
            self.taken
                .lock()
                .expect("not poisoned")
                .extend_from_slice(&bytes[..n]);
            Ok(n)
        }
    }

    fn memory(room: usize) -> Arc<Memory> {
        Arc::new(Memory {
            taken: Mutex::new(Vec::new()),
            room: Mutex::new(room),
        })
    }

    /// A long list is split between threads: every idle slot's socket gets the frame once,
    /// and each result stands at its slot's place.
    #[test]
    fn a_big_rooms_writes_spread_over_threads_keep_their_order() {
        let count = SPREAD_MIN_PER_THREAD * 3 + 7;
        let sockets: Vec<_> = (0..count).map(|_| memory(100)).collect();
        let slots: Vec<DirectSlot> = sockets
            .iter()
            .map(|socket| DirectSlot::new(Some(socket.clone())))
            .collect();
        for (i, slot) in slots.iter().enumerate() {
            // Every seventh owner is busy; the others wait with nothing unsent.
            if i % 7 != 0 {
                slot.offer();
            }
        }
        let mut listed: Vec<Option<&DirectSlot>> = slots.iter().map(Some).collect();
        listed.push(None);
        let results = write_each(b"frame", &listed, 4);
        assert_eq!(results.len(), count + 1);
        for (i, result) in results.iter().enumerate().take(count) {
            let expected = if i % 7 == 0 {
                DirectWrite::Refused
            } else {
                DirectWrite::Whole
            };
            assert_eq!(*result, expected, "slot {i}");
            let taken = sockets[i].taken.lock().expect("not poisoned").clone();
            let wanted: &[u8] = if i % 7 == 0 { b"" } else { b"frame" };
            assert_eq!(taken, wanted, "socket {i}");
        }
        assert_eq!(results[count], DirectWrite::Refused, "no owner");
    }

    #[test]
    fn only_an_idle_slot_is_written_and_a_full_socket_hands_it_back() {
        let socket = memory(10);
        let slot = DirectSlot::new(Some(socket.clone()));
        assert_eq!(slot.write(b"abc"), DirectWrite::Refused, "busy at first");
        slot.offer();
        assert_eq!(slot.write(b"abc"), DirectWrite::Whole);
        assert_eq!(slot.write(b"defghijkl"), DirectWrite::Part(7));
        assert_eq!(slot.write(b"x"), DirectWrite::Refused, "a rest waits");
        slot.offer();
        assert_eq!(
            slot.write(b"x"),
            DirectWrite::Refused,
            "not offered over a rest"
        );
        assert!(slot.claim(), "the owner finds the rest");
        assert!(!slot.claim());
        slot.offer();
        assert_eq!(slot.write(b"x"), DirectWrite::Refused, "full");
        assert_eq!(
            slot.write(b"x"),
            DirectWrite::Refused,
            "busy after a refusal"
        );
        assert_eq!(&*socket.taken.lock().expect("not poisoned"), b"abcdefghij");
        slot.close();
        slot.offer();
        assert_eq!(slot.write(b"x"), DirectWrite::Refused, "gone");
    }

    /// Every write a socket was given: its bytes and where they lay in memory.
    #[derive(Default)]
    struct Recorder {
        writes: Mutex<Vec<(usize, Vec<u8>)>>,
    }

    impl DirectSocket for Recorder {
        fn try_write(&self, bytes: &[u8]) -> io::Result<usize> {
            let mut writes = self.writes.lock().expect("not poisoned");
            writes.push((bytes.as_ptr() as usize, bytes.to_vec()));
            Ok(bytes.len())
        }
    }

    /// The recorder as a runtime's socket, which a [`SocketCell`] owns until it is shared.
    struct Handle(Arc<Recorder>);

    impl DirectSocket for Handle {
        fn try_write(&self, bytes: &[u8]) -> io::Result<usize> {
            self.0.try_write(bytes)
        }
    }

    /// A Socket.IO client in memory: its connection, link and socket, the socket given to the
    /// hub as the runtimes give it (a [`SocketCell`] shared after an exchange that asks).
    struct Client {
        conn: Connection,
        link: HubLink,
        cell: SocketCell<Handle>,
        socket: Arc<Recorder>,
    }

    impl Client {
        /// Opens a WebSocket session and joins `/relay`'s room `r`.
        fn joined(hub: &SharedHub, config: &Arc<Config>) -> Client {
            let peer: SocketAddr = "127.0.0.1:5000".parse().expect("literal");
            let socket = Arc::new(Recorder::default());
            let mut client = Client {
                conn: Connection::new(Arc::clone(config), peer, Instant::now()),
                link: HubLink::new(),
                cell: SocketCell::new(Handle(socket.clone())),
                socket,
            };
            let request = upgrade_request("/socket.io/?EIO=4&transport=websocket", "");
            client.send(hub, request.as_bytes());
            assert!(
                client.cell.is_shared(),
                "an Engine.IO WebSocket shares its socket"
            );
            assert!(!client.link.wants_socket(), "once");
            client.send(hub, &text("40/relay,{\"room\":\"r\"}"));
            let written = String::from_utf8_lossy(&client.written()).into_owned();
            assert!(written.contains("40/relay,{\"sid\""), "{written}");
            client
        }

        fn send(&mut self, hub: &SharedHub, bytes: &[u8]) {
            self.conn.handle_input(Instant::now(), bytes);
            hub.exchange(&mut self.conn, &mut self.link, 0);
            self.cell.share_if_wanted(&self.link);
        }

        /// What the connection itself writes (its outbox), as its runtime would.
        fn written(&mut self) -> Vec<u8> {
            drain_transmit(&mut self.conn, Instant::now())
        }

        fn direct(&self) -> Vec<(usize, Vec<u8>)> {
            std::mem::take(&mut *self.socket.writes.lock().expect("not poisoned"))
        }
    }

    fn payloads(bytes: &[u8]) -> Vec<String> {
        parse_server_frames(bytes)
            .into_iter()
            .map(|frame| String::from_utf8_lossy(&frame.payload).into_owned())
            .collect()
    }

    /// A connection that never holds an Engine.IO WebSocket (a page, the seed's ticking
    /// WebSocket) keeps its socket to itself: no `Arc`, nothing given to the hub.
    #[test]
    fn only_an_engine_io_websocket_shares_its_socket() {
        let config = Arc::new(Config::new());
        let hub = SharedHub::new(&config, None, false).expect("the OS random source");
        let peer: SocketAddr = "127.0.0.1:5000".parse().expect("literal");
        for request in [
            upgrade_request("/", ""),
            "GET / HTTP/1.1\r\nHost: a\r\n\r\n".to_owned(),
            "GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: a\r\n\r\n".to_owned(),
        ] {
            let mut conn = Connection::new(Arc::clone(&config), peer, Instant::now());
            let mut link = HubLink::new();
            let mut cell = SocketCell::new(Handle(Arc::new(Recorder::default())));
            conn.handle_input(Instant::now(), request.as_bytes());
            hub.exchange(&mut conn, &mut link, 0);
            cell.share_if_wanted(&link);
            assert!(!link.wants_socket());
            assert!(!cell.is_shared(), "{request:?}");
        }
    }

    /// A broadcast reaches every waiting recipient as one write of the same shared frame,
    /// made by the broadcasting turn; a recipient that has not offered its socket (output
    /// pending) gets it through its own connection, after what it had queued; the sender gets
    /// its own copy in its own exchange.
    #[test]
    fn a_broadcast_is_written_once_to_each_idle_socket_and_queued_for_a_busy_one() {
        let mut config = Config::new();
        config.hub.conformance = true;
        config.hub.socketio.recovery = None;
        let config = Arc::new(config);
        let hub = SharedHub::new(&config, None, false).expect("the OS random source");
        let mut sender = Client::joined(&hub, &config);
        let mut idle: Vec<Client> = (0..5).map(|_| Client::joined(&hub, &config)).collect();
        let mut busy = Client::joined(&hub, &config);
        for client in &idle {
            client.link.offer_direct(&client.conn);
        }
        // The busy one has a frame of its own unsent (a pong to a WebSocket ping).
        busy.send(&hub, &gif_chat_core::testing::client_frame(0x89, b"p"));

        sender.send(&hub, &text("42/relay,[\"chat\",\"one\"]"));
        sender.send(&hub, &text("42/relay,[\"chat\",\"two\"]"));

        let event = |n: &str| format!("42/relay,[\"chat\",\"{n}\"]");
        let mut frames = Vec::new();
        for client in &mut idle {
            let direct = client.direct();
            assert_eq!(direct.len(), 2, "one write per broadcast");
            let bytes: Vec<u8> = direct.iter().flat_map(|(_, b)| b.clone()).collect();
            assert_eq!(payloads(&bytes), [event("one"), event("two")]);
            assert!(
                client.written().is_empty(),
                "nothing through the connection"
            );
            frames.push(direct[0].0);
        }
        assert!(
            frames.windows(2).all(|w| w[0] == w[1]),
            "every recipient was given the same bytes, not a copy"
        );
        assert_eq!(payloads(&sender.written()), [event("one"), event("two")]);
        assert!(sender.direct().is_empty());

        assert!(
            busy.direct().is_empty(),
            "not offered: nothing written for it"
        );
        hub.exchange(&mut busy.conn, &mut busy.link, 0);
        let written = busy.written();
        let frames = parse_server_frames(&written);
        assert_eq!(frames[0].opcode(), 0xA, "its pong first");
        assert_eq!(payloads(&written)[1..], [event("one"), event("two")]);

        // Once it has caught up and waits, it is written to directly as well.
        busy.link.offer_direct(&busy.conn);
        sender.send(&hub, &text("42/relay,[\"chat\",\"three\"]"));
        let direct = busy.direct();
        assert_eq!(direct.len(), 1);
        assert_eq!(payloads(&direct[0].1), [event("three")]);
        // A recipient that spoke (its turn took the socket back) is queued for again.
        let recipient = &mut idle[0];
        hub.exchange(&mut recipient.conn, &mut recipient.link, 0);
        sender.send(&hub, &text("42/relay,[\"chat\",\"four\"]"));
        let recipient = &mut idle[0];
        assert_eq!(
            recipient.direct().len(),
            1,
            "only `three`, before it took it back"
        );
        hub.exchange(&mut recipient.conn, &mut recipient.link, 0);
        assert_eq!(payloads(&recipient.written()), [event("four")]);
    }

    /// A socket that takes only part of a frame: the rest goes out first through its owner,
    /// before the owner's own output, and nothing is written to it meanwhile.
    #[test]
    fn the_rest_of_a_partly_written_frame_goes_first() {
        let mut config = Config::new();
        config.hub.conformance = true;
        config.hub.socketio.recovery = None;
        let config = Arc::new(config);
        let hub = SharedHub::new(&config, None, false).expect("the OS random source");
        let mut sender = Client::joined(&hub, &config);
        let peer: SocketAddr = "127.0.0.1:5000".parse().expect("literal");
        let socket = memory(1_000_000);
        let mut narrow = Client {
            conn: Connection::new(Arc::clone(&config), peer, Instant::now()),
            // Its socket given up front, so the cell is never asked for it.
            link: HubLink::with_socket(socket.clone()),
            cell: SocketCell::new(Handle(Arc::new(Recorder::default()))),
            socket: Arc::new(Recorder::default()),
        };
        let request = upgrade_request("/socket.io/?EIO=4&transport=websocket", "");
        narrow.send(&hub, request.as_bytes());
        narrow.send(&hub, &text("40/relay,{\"room\":\"r\"}"));
        narrow.written();
        narrow.link.offer_direct(&narrow.conn);
        *socket.room.lock().expect("not poisoned") = 5;

        sender.send(&hub, &text("42/relay,[\"chat\",\"one\"]"));
        sender.send(&hub, &text("42/relay,[\"chat\",\"two\"]"));
        // A ping from the peer, read before the owner's exchange: its pong waits behind the rest.
        narrow.conn.handle_input(
            Instant::now(),
            &gif_chat_core::testing::client_frame(0x89, b"p"),
        );
        hub.exchange(&mut narrow.conn, &mut narrow.link, 0);
        let mut bytes = std::mem::take(&mut *socket.taken.lock().expect("not poisoned"));
        assert_eq!(bytes.len(), 5);
        bytes.extend(narrow.written());
        let frames = parse_server_frames(&bytes);
        let texts: Vec<_> = frames
            .iter()
            .filter(|f| f.opcode() == 1)
            .map(|f| String::from_utf8_lossy(&f.payload).into_owned())
            .collect();
        assert_eq!(
            texts,
            ["42/relay,[\"chat\",\"one\"]", "42/relay,[\"chat\",\"two\"]"]
        );
        assert_eq!(frames[1].opcode(), 0xA, "the pong after the rest of `one`");
    }
}
