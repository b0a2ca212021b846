//! Connection state recovery, as socket.io 4.6+ does it: what a namespace keeps so that a client
//! whose connection dropped can come back as the same socket and miss nothing.
//!
//! Every event emitted without an ack gets an offset, sent as its extra last argument, and is
//! kept (the shared encoded payloads and whom they were for). A socket that drops for a reason
//! that is not its own choice leaves a session behind (its id and rooms) under a private `pid`.
//! A client that comes back within the window with its `pid` and the last offset it saw gets
//! the socket back and every kept packet after that offset that was meant for it, in order.
//! Both stores are bounded (count, bytes, age), so a namespace's memory never grows with
//! traffic or with abandoned clients; a client whose offset fell out gets a fresh socket.
//!
//! Offsets are labels, compared as such: in a cluster (`cluster_recovery.rs`) a broadcast from
//! another gif-chat instance is kept under the offset that instance gave it, so that a client
//! can take its offset from one instance to another.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::ids::{IdMap, Pid, SocketId};
use crate::engineio::Payload;

/// A room name. The name is shared by every map that holds it.
pub type Room = Arc<str>;

/// Bounds of what a namespace keeps for recovery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecoveryConfig {
    /// How long a dropped socket can be taken back (`SIO_RECOVERY_MS`, socket.io's
    /// `maxDisconnectionDuration`).
    pub window: Duration,
    /// Packets kept per namespace.
    pub max_packets: usize,
    /// Bytes of packets kept per namespace.
    pub max_bytes: usize,
    /// Dropped sockets kept per namespace.
    pub max_sessions: usize,
}

impl Default for RecoveryConfig {
    fn default() -> RecoveryConfig {
        RecoveryConfig {
            window: Duration::from_millis(crate::defaults::SIO_RECOVERY_MS),
            max_packets: crate::defaults::SIO_RECOVERY_MAX_PACKETS,
            max_bytes: crate::defaults::SIO_RECOVERY_MAX_BYTES,
            max_sessions: 100_000,
        }
    }
}

/// Whom a kept packet was for: sockets in `room` (everyone when `None`) but not in `except`.
#[derive(Clone, Debug)]
pub struct Target {
    pub room: Option<Room>,
    pub except: Option<Room>,
}

impl Target {
    /// Whether the socket `own` (its id: the name of its own room), in `rooms` besides, was
    /// meant to get the packet.
    pub fn includes(&self, own: &str, rooms: &[Room]) -> bool {
        let in_room = |room: &Room| &**room == own || rooms.contains(room);
        let included = self.room.as_ref().is_none_or(in_room);
        let excluded = self.except.as_ref().is_some_and(in_room);
        included && !excluded
    }
}

struct KeptPacket {
    /// The offset as the client saw it: this server's own, or, in a cluster, the one the
    /// instance that emitted it gave (`cluster_recovery.rs`).
    offset: Box<str>,
    /// Counts every packet ever kept here: where a pending cross-instance recovery began.
    seq: u64,
    at: Instant,
    target: Target,
    payloads: Vec<Payload>,
    bytes: usize,
}

struct KeptSession {
    socket: SocketId,
    rooms: Vec<Room>,
    expiry: (Instant, u64),
}

/// A dropped socket given back to its client.
pub struct Restored {
    pub socket: SocketId,
    pub pid: Pid,
    pub rooms: Vec<Room>,
    /// The missed packets, oldest first; each is one or more payloads (binary attachments).
    pub missed: Vec<Vec<Payload>>,
}

/// One namespace's kept packets and dropped sockets.
pub struct RecoveryStore {
    config: RecoveryConfig,
    /// Tells this server's offsets from any other's (a restarted server, another instance).
    epoch: u32,
    next_offset: u64,
    next_seq: u64,
    packets: VecDeque<KeptPacket>,
    bytes: usize,
    sessions: IdMap<Pid, KeptSession>,
    expiries: BTreeMap<(Instant, u64), Pid>,
    next_expiry: u64,
}

impl RecoveryStore {
    pub fn new(config: RecoveryConfig, epoch: u32) -> RecoveryStore {
        RecoveryStore {
            config,
            epoch,
            next_offset: 0,
            next_seq: 0,
            packets: VecDeque::new(),
            bytes: 0,
            sessions: IdMap::default(),
            expiries: BTreeMap::new(),
            next_expiry: 0,
        }
    }

    /// A new offset of this server's, as the client will see it; unique in a fleet too, with
    /// the epoch drawn from the OS RNG per namespace and start.
    pub fn new_offset(&mut self) -> Box<str> {
        let offset = format!("{:08x}-{:x}", self.epoch, self.next_offset);
        self.next_offset += 1;
        offset.into_boxed_str()
    }

    /// Keeps a packet just sent under `offset` (from [`Self::new_offset`], or another
    /// instance's).
    pub fn keep(&mut self, now: Instant, offset: Box<str>, target: Target, payloads: Vec<Payload>) {
        let bytes = payloads.iter().map(Payload::len).sum();
        self.packets.push_back(KeptPacket {
            offset,
            seq: self.next_seq,
            at: now,
            target,
            payloads,
            bytes,
        });
        self.next_seq += 1;
        self.bytes += bytes;
        while self.packets.len() > self.config.max_packets || self.bytes > self.config.max_bytes {
            self.drop_oldest_packet();
        }
    }

    fn drop_oldest_packet(&mut self) {
        if let Some(packet) = self.packets.pop_front() {
            self.bytes -= packet.bytes;
        }
    }

    /// Keeps a dropped socket for the window.
    pub fn persist(&mut self, now: Instant, pid: Pid, socket: SocketId, rooms: Vec<Room>) {
        if self.config.max_sessions == 0 {
            return;
        }
        while self.sessions.len() >= self.config.max_sessions {
            let Some((_, oldest)) = self.expiries.pop_first() else {
                break;
            };
            self.sessions.remove(&oldest);
        }
        let expiry = (super::deadline(now, self.config.window), self.next_expiry);
        self.next_expiry += 1;
        self.expiries.insert(expiry, pid);
        if let Some(old) = self.sessions.insert(
            pid,
            KeptSession {
                socket,
                rooms,
                expiry,
            },
        ) {
            self.expiries.remove(&old.expiry);
        }
    }

    /// Gives a dropped socket back, with what it missed after `offset`; `None` when the
    /// session is unknown, expired, or its offset is no longer kept (then: a fresh socket).
    pub fn restore(&mut self, now: Instant, pid: &str, offset: &str) -> Option<Restored> {
        let pid = Pid::parse(pid)?;
        let session = self.sessions.remove(&pid)?;
        self.expiries.remove(&session.expiry);
        if session.expiry.0 <= now {
            return None;
        }
        // Offsets are labels (another instance's may be among them), recent ones most likely.
        let index = self
            .packets
            .iter()
            .rposition(|packet| &*packet.offset == offset)?;
        let missed = self
            .packets
            .range(index + 1..)
            .filter(|packet| (packet.target).includes(session.socket.as_str(), &session.rooms))
            .map(|packet| packet.payloads.clone())
            .collect();
        Some(Restored {
            socket: session.socket,
            pid,
            rooms: session.rooms,
            missed,
        })
    }

    /// How long a dropped socket can be taken back.
    pub fn window(&self) -> Duration {
        self.config.window
    }

    /// Packets kept at most.
    pub fn max_packets(&self) -> usize {
        self.config.max_packets
    }

    /// Whether a dropped socket with this `pid` is kept here.
    pub fn has_session(&self, pid: &Pid) -> bool {
        self.sessions.contains_key(pid)
    }

    /// Where the packets kept from now on begin, for [`Self::kept_since`].
    pub fn mark(&self) -> u64 {
        self.next_seq
    }

    /// The packets kept since `mark` for the socket `own` in `rooms`, with their offsets,
    /// oldest first: what a socket whose session is being fetched from another instance missed
    /// here meanwhile.
    pub fn kept_since(
        &self,
        mark: u64,
        own: &str,
        rooms: &[Room],
    ) -> Vec<(Box<str>, Vec<Payload>)> {
        self.packets
            .iter()
            .filter(|packet| packet.seq >= mark && packet.target.includes(own, rooms))
            .map(|packet| (packet.offset.clone(), packet.payloads.clone()))
            .collect()
    }

    /// Forgets packets and sessions older than the window.
    pub fn handle_timeout(&mut self, now: Instant) {
        while self
            .packets
            .front()
            .is_some_and(|packet| super::deadline(packet.at, self.config.window) <= now)
        {
            self.drop_oldest_packet();
        }
        while let Some(entry) = self.expiries.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let pid = entry.remove();
            self.sessions.remove(&pid);
        }
    }

    /// When something kept next expires.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let packet = self
            .packets
            .front()
            .map(|packet| super::deadline(packet.at, self.config.window));
        let session = self.expiries.keys().next().map(|(at, _)| *at);
        packet.into_iter().chain(session).min()
    }

    /// Packets and sessions kept (for tests and metrics).
    pub fn kept(&self) -> (usize, usize) {
        (self.packets.len(), self.sessions.len())
    }
}
