//! Connection state recovery across instances (SPEC M5), as pure data: the Redis keys gif-chat
//! keeps beside the adapter's channels, and the commands a bridge runs on them.
//!
//! `@socket.io/redis-adapter`'s sharded mode keeps nothing, so gif-chat keeps its own keys,
//! which Node servers never read (prefix `gif-chat#recovery#`, see [`RecoveryKeys`]):
//!
//! - `gif-chat#recovery#<nsp>#packets`, a stream: every packet a gif-chat instance emitted with
//!   an offset (to a room, the namespace or one socket), appended by the emitting instance only,
//!   with its offset, whom it was for and its encoded payloads; `XADD … MAXLEN ~` keeps it to
//!   `SIO_RECOVERY_MAX_PACKETS`, the key's TTL to the window, and a reader skips entries older
//!   than the window;
//! - `gif-chat#recovery#<nsp>#session#<pid>`, a string: a socket's id and rooms, written when
//!   it connects and whenever its rooms change (so that it survives its instance's `kill -9`),
//!   with the window as TTL, and deleted when the socket leaves for good.
//!
//! Offsets are labels the emitting instance chose (its namespace's random epoch and a counter);
//! the other gif-chat instances deliver the packet with the same label, read from the
//! broadcast's `opts.flags.gifChatOffset` (a flag Node's adapter carries and ignores; its
//! clients never see it). So an offset means one packet on every instance, and a client's last
//! offset finds its place in the stream.

use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

/// Prefix of every recovery key.
pub const KEY_PREFIX: &str = "gif-chat#recovery#";

/// The keys of one namespace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecoveryKeys {
    nsp: String,
}

impl RecoveryKeys {
    pub fn new(nsp: &str) -> RecoveryKeys {
        RecoveryKeys {
            nsp: nsp.to_owned(),
        }
    }

    /// The namespace's packet stream.
    pub fn packets(&self) -> String {
        format!("{KEY_PREFIX}{}#packets", self.nsp)
    }

    /// A dropped (or live) socket's session, by its private id.
    pub fn session(&self, pid: &str) -> String {
        format!("{KEY_PREFIX}{}#session#{pid}", self.nsp)
    }
}

/// A socket as another instance restores it: its id and its rooms (its own room not included).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    pub sid: String,
    pub rooms: Vec<String>,
}

impl SessionRecord {
    pub fn encode(&self) -> Bytes {
        // A struct of strings always serializes.
        Bytes::from(serde_json::to_vec(self).unwrap_or_default())
    }

    pub fn decode(bytes: &[u8]) -> Option<SessionRecord> {
        serde_json::from_slice(bytes).ok()
    }
}

/// One packet of the stream: its offset, whom it was for (a room, everyone when `None`, minus
/// a room), and its payloads as sent (the text packet, then binary attachments).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PacketEntry {
    pub offset: String,
    pub room: Option<String>,
    pub except: Option<String>,
    pub text: Bytes,
    pub attachments: Vec<Bytes>,
}

/// What a bridge runs on Redis for recovery, in the order given (with the publishes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecoveryCommand {
    /// `XADD stream MAXLEN ~ max_len * …` and `PEXPIRE stream ttl`.
    Append {
        stream: String,
        entry: PacketEntry,
        max_len: usize,
        ttl: Duration,
    },
    /// `SET key record PX ttl`.
    SaveSession {
        key: String,
        record: Bytes,
        ttl: Duration,
    },
    /// `DEL key`.
    ForgetSession { key: String },
    /// `GETDEL session` (one instance takes a session back, never two) and the entries of
    /// `stream` after the one whose offset is `offset`, none older than `window`; answered
    /// with a [`LookupAnswer`] of the same `id`.
    Lookup {
        id: u64,
        session: String,
        stream: String,
        offset: String,
        window: Duration,
    },
}

/// What Redis held for a [`RecoveryCommand::Lookup`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LookupAnswer {
    pub id: u64,
    /// The session record, if the key was there.
    pub session: Option<Bytes>,
    /// The entries after the offset, oldest first; `None` when the offset is not in the stream
    /// (too old, or never written there): then the client gets a fresh session.
    pub after: Option<Vec<PacketEntry>>,
}

impl LookupAnswer {
    /// The answer given when Redis could not be asked (down, or an error): nothing found.
    pub fn nothing(id: u64) -> LookupAnswer {
        LookupAnswer {
            id,
            session: None,
            after: None,
        }
    }
}
