//! What a clustered server reports and keeps for the other instances (SPEC M1–M5), as plain
//! data: room changes and emits to publish (`cluster.rs` fills them), sessions and packets to
//! write and lookups to make for recovery across instances (`cluster_recovery.rs`), and the
//! CONNECTs waiting for a lookup. A leaf, so that `server.rs` holds these queues without
//! depending on the files that fill them.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::app::{Namespace, To};
use super::ids::{Pid, SocketId};
use super::namespace::TimerKey;
use super::packet::Args;
use super::recovery::{Room, Target};
use crate::cluster::{EventPacket, Options};
use crate::engineio::{Payload, Sid};

/// A socket entered or left a room (not its own).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoomChange {
    pub ns: Namespace,
    pub socket: SocketId,
    pub room: Room,
    pub joined: bool,
}

/// An emit of this instance that other instances deliver to their sockets too.
#[derive(Clone, Debug, PartialEq)]
pub struct ClusterEmit {
    pub ns: Namespace,
    pub packet: EventPacket,
    pub opts: Options,
}

/// The emits waiting to be published, and what recovery across instances keeps in Redis.
#[derive(Default)]
pub(super) struct ClusterReports {
    pub(super) emits: VecDeque<ClusterEmit>,
    /// Sessions and packets to write, lookups to make (`cluster_recovery.rs`).
    pub(super) recovery: RecoveryReports,
}

impl ClusterReports {
    /// Records an emit to `to`, unless it concerns this instance only (one socket); `offset`,
    /// the one its local recipients got, goes along for the other gif-chat instances.
    pub(super) fn record(
        &mut self,
        ns: &Namespace,
        to: To<'_>,
        event: &str,
        args: &Args,
        offset: Option<&str>,
    ) {
        if let Some(mut opts) = crate::cluster::options_for(to) {
            opts.flags.offset = offset.map(str::to_owned);
            self.emits.push_back(ClusterEmit {
                ns: ns.clone(),
                packet: EventPacket {
                    name: event.to_owned(),
                    args: args.clone(),
                },
                opts,
            });
        }
    }
}

/// What another instance needs in Redis to restore this server's sockets.
#[derive(Clone, Debug)]
pub enum RecoveryWrite {
    /// A socket's session: its id and rooms (its own not included), kept for `ttl`.
    Session {
        ns: Namespace,
        pid: Pid,
        socket: SocketId,
        rooms: Vec<Room>,
        ttl: Duration,
    },
    /// The socket left for good: its session is not to be restored.
    Forget { ns: Namespace, pid: Pid },
    /// A packet this server emitted with `offset`, for `target`, kept `max_packets` deep and
    /// for `ttl`.
    Packet {
        ns: Namespace,
        offset: Box<str>,
        target: Target,
        payloads: Vec<Payload>,
        max_packets: usize,
        ttl: Duration,
    },
}

/// A CONNECT whose `pid` this server does not know: fetch its session and what it missed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecoveryLookup {
    pub ns: Namespace,
    pub sid: Sid,
    pub pid: String,
    pub offset: String,
    /// Packets older than this are not to be delivered (the recovery window).
    pub window: Duration,
}

/// A session found in Redis, with the packets after the client's offset, oldest first.
#[derive(Clone, Debug)]
pub struct RemoteSession {
    pub socket: SocketId,
    pub rooms: Vec<Room>,
    pub after: Vec<(Box<str>, Target, Vec<Payload>)>,
}

/// A CONNECT waiting for its lookup.
pub(super) struct PendingLookup {
    pub(super) ns: usize,
    pub(super) auth: Value,
    pub(super) pid: Pid,
    /// Where this server's recovery store was when the lookup began.
    pub(super) mark: u64,
    pub(super) timer: TimerKey,
}

/// The queues the hub drains.
#[derive(Default)]
pub(super) struct RecoveryReports {
    pub(super) writes: VecDeque<RecoveryWrite>,
    pub(super) lookups: VecDeque<RecoveryLookup>,
    /// When every live socket's session is next written again (`None`: no session opened
    /// yet).
    pub(super) next_refresh: Option<Instant>,
}
