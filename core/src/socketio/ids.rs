//! Socket ids and recovery session ids: unguessable, drawn from a CSPRNG seeded by the runtime.
//!
//! A socket id names a socket to every other client (it is a room anyone may emit to), and a
//! recovery id (`pid`) lets a client take its socket back after a dropped connection; guessing
//! either would let one client act as another. The core has no random source of its own: the
//! runtime passes a seed from the OS RNG, and ChaCha20 stretches it, so a test with a fixed
//! seed sees the same ids on every run.

use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;

use crate::engineio::Sid;

/// The randomness source behind every id the Socket.IO layer hands out.
pub struct IdSource(ChaCha20Rng);

impl IdSource {
    /// A source stretching a 32-byte seed (from the OS RNG in a runtime).
    pub fn from_seed(seed: [u8; 32]) -> IdSource {
        IdSource(ChaCha20Rng::from_seed(seed))
    }

    fn id(&mut self) -> Sid {
        // 120 bits, as for an Engine.IO sid.
        let mut random = [0u8; 15];
        self.0.fill_bytes(&mut random);
        Sid::from_random(random)
    }

    /// A fresh socket id.
    pub fn socket_id(&mut self) -> SocketId {
        SocketId(self.id())
    }

    /// A fresh recovery session id.
    pub fn pid(&mut self) -> Pid {
        Pid(self.id())
    }

    /// A random number (the recovery offsets' epoch).
    pub fn next_u32(&mut self) -> u32 {
        self.0.next_u32()
    }
}

/// The id of one socket: one client's connection to one namespace (`socket.id`). Twenty
/// URL-safe characters over 120 random bits, the shape of an Engine.IO sid.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SocketId(Sid);

impl SocketId {
    /// The id as sent to the client.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// Parses an id sent back by a client; `None` unless it has the shape of ours.
    pub fn parse(text: &str) -> Option<SocketId> {
        Sid::parse(text).map(SocketId)
    }
}

impl fmt::Display for SocketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for SocketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SocketId({})", self.as_str())
    }
}

/// A recovery session id (`pid`): private to its client, sent once in the CONNECT answer.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Pid(Sid);

impl Pid {
    /// The id as sent to the client.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// Parses a pid sent back by a client.
    pub fn parse(text: &str) -> Option<Pid> {
        Sid::parse(text).map(Pid)
    }
}

impl fmt::Debug for Pid {
    // A pid is a credential: never printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pid(..)")
    }
}

/// Hashes ids that are already uniformly random (sids, socket ids, pids) by folding their
/// bytes: no key is needed since no client chooses them, and the map needs no OS randomness.
#[derive(Default)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
    }
}

/// A map keyed by random ids.
pub type IdMap<K, V> = std::collections::HashMap<K, V, BuildHasherDefault<IdHasher>>;
/// A set of random ids.
pub type IdSet<K> = std::collections::HashSet<K, BuildHasherDefault<IdHasher>>;
