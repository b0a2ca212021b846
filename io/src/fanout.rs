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
//! not writing and has nothing to write. Each registered connection has a [`DirectSlot`]: the
//! owner marks it *idle* just before it waits ([`HubLink::offer_direct`]) when the core says
//! so ([`Connection::accepts_direct`]), and takes it back under the hub's lock at the start
//! of its next exchange, before it writes anything; a broadcaster writes only to idle slots,
//! and only while it holds that lock. A refused recipient (slot busy, socket full) gets the
//! message queued first, through the core, and is woken as before. A socket that took only
//! part of the frame leaves the slot holding the *rest*, which the owner puts before any
//! output of its own ([`Connection::handle_direct_rest`]).
//!
//! [`HubLink::offer_direct`]: crate::HubLink::offer_direct
//! [`Connection::accepts_direct`]: gif_chat_core::Connection::accepts_direct
//! [`Connection::handle_direct_rest`]: gif_chat_core::Connection::handle_direct_rest

use std::fmt;
use std::io;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

/// A connection's socket as a broadcaster on another turn (or thread) writes to it: one
/// non-blocking write through a shared reference, as `write` on `&TcpStream` is.
pub trait DirectSocket: Send + Sync + 'static {
    /// Writes some of `bytes` without blocking; `WouldBlock` when the socket is full.
    fn try_write(&self, bytes: &[u8]) -> io::Result<usize>;
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

/// Who may write to one connection's socket.
pub(crate) struct DirectSlot {
    state: AtomicU8,
    /// `None` for a runtime that gave no socket: always refused.
    socket: Option<Arc<dyn DirectSocket>>,
}

impl fmt::Debug for DirectSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DirectSlot")
            .field("state", &self.state.load(Ordering::Relaxed))
            .field("socket", &self.socket.is_some())
            .finish()
    }
}

impl DirectSlot {
    pub(crate) fn new(socket: Option<Arc<dyn DirectSocket>>) -> DirectSlot {
        DirectSlot {
            state: AtomicU8::new(BUSY),
            socket,
        }
    }

    /// The owner is about to wait with nothing unsent: broadcasters may write.
    pub(crate) fn offer(&self) {
        if self.socket.is_some() {
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
        let Some(socket) = &self.socket else {
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
    use std::sync::Mutex;

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
}
