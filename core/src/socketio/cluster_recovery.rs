//! Connection state recovery across instances (SPEC M5), the server's side: what it reports so
//! that another instance can restore its sockets, and how it restores one of another's.
//!
//! Only in a cluster ([`Server::report_to_cluster`]) and in namespaces with recovery on; a
//! single instance takes the local path of `recovery.rs` alone, unchanged.
//!
//! - Writes ([`Server::poll_recovery_write`]): a socket's session (id, rooms) when it connects,
//!   whenever its rooms change, and every half window (its TTL is the window), since an
//!   instance killed with `SIGKILL` writes nothing when its sockets drop; the socket forgotten
//!   when it leaves for good; every packet this instance emits with an offset.
//! - Lookups ([`Server::poll_recovery_lookup`]): a CONNECT to an open namespace with a `pid`
//!   and an offset this server does not know waits, while its session and the packets after
//!   the offset are fetched, for [`Server::resume_connect`], or for the lookup's timeout, after
//!   which it gets a fresh socket, as an unknown `pid` does. What this server kept meanwhile for
//!   the socket's rooms is delivered after what was fetched, so that nothing emitted during the
//!   lookup is missed, and nothing is delivered twice (packets are told apart by offset).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::cluster_reports::{PendingLookup, RecoveryLookup, RecoveryWrite, RemoteSession};
use super::ids::{Pid, SocketId};
use super::recovery::{Restored, Room, Target};
use super::server::{Server, Timer};
use crate::engineio::{Payload, Sid};

impl Server {
    /// The next session or packet to write to Redis.
    pub fn poll_recovery_write(&mut self) -> Option<RecoveryWrite> {
        self.cluster.as_mut()?.recovery.writes.pop_front()
    }

    /// The next lookup to make; answer it with [`Server::resume_connect`].
    pub fn poll_recovery_lookup(&mut self) -> Option<RecoveryLookup> {
        self.cluster.as_mut()?.recovery.lookups.pop_front()
    }

    /// How often live sockets' sessions are written again: half the shortest window, so that
    /// a session in Redis outlives its instance by at least half a window and at most a whole
    /// one; `None` without a cluster or a namespace with recovery.
    fn refresh_interval(&self) -> Option<Duration> {
        self.cluster.as_ref()?;
        self.namespaces
            .iter()
            .filter_map(|ns| ns.recovery.as_ref().map(|store| store.window() / 2))
            .filter(|every| !every.is_zero())
            .min()
    }

    /// Starts the sessions' refresh when the first session opens.
    pub(super) fn arm_session_refresh(&mut self, now: Instant) {
        let Some(every) = self.refresh_interval() else {
            return;
        };
        if let Some(cluster) = &mut self.cluster {
            cluster
                .recovery
                .next_refresh
                .get_or_insert_with(|| super::deadline(now, every));
        }
    }

    /// When the sessions are next written again.
    pub(super) fn session_refresh_deadline(&self) -> Option<Instant> {
        self.cluster.as_ref()?.recovery.next_refresh
    }

    /// Writes every live socket's session again when it is time: a session's TTL is the
    /// window, and a socket may stay longer than that in the same rooms.
    pub(super) fn refresh_sessions(&mut self, now: Instant) {
        let (Some(due), Some(every)) = (self.session_refresh_deadline(), self.refresh_interval())
        else {
            return;
        };
        if due > now {
            return;
        }
        for ns in 0..self.namespaces.len() {
            let namespace = &self.namespaces[ns];
            if namespace.recovery.is_none() {
                continue;
            }
            let live: Vec<SocketId> = namespace
                .sockets
                .iter()
                .filter(|(_, state)| state.pid.is_some())
                .map(|(id, _)| *id)
                .collect();
            for socket in live {
                self.report_session(ns, socket);
            }
        }
        if let Some(cluster) = &mut self.cluster {
            cluster.recovery.next_refresh = Some(super::deadline(now, every));
        }
    }

    /// Reports a socket's session as it is now (after a connect or a room change).
    pub(super) fn report_session(&mut self, ns: usize, socket: SocketId) {
        let namespace = &self.namespaces[ns];
        let (Some(cluster), Some(store)) = (&mut self.cluster, &namespace.recovery) else {
            return;
        };
        let Some(state) = namespace.sockets.get(&socket) else {
            return;
        };
        let Some(pid) = state.pid else { return };
        cluster.recovery.writes.push_back(RecoveryWrite::Session {
            ns: namespace.name.clone(),
            pid,
            socket,
            rooms: state.rooms.to_vec(),
            ttl: store.window(),
        });
    }

    /// Reports a socket gone: kept for the window when it may come back (its last session
    /// written again, its TTL from now), forgotten otherwise.
    pub(super) fn report_socket_gone(
        &mut self,
        ns: usize,
        pid: Pid,
        socket: SocketId,
        rooms: &[Room],
        recoverable: bool,
    ) {
        let namespace = &self.namespaces[ns];
        let (Some(cluster), Some(store)) = (&mut self.cluster, &namespace.recovery) else {
            return;
        };
        let ns = namespace.name.clone();
        let write = if recoverable {
            RecoveryWrite::Session {
                ns,
                pid,
                socket,
                rooms: rooms.to_vec(),
                ttl: store.window(),
            }
        } else {
            RecoveryWrite::Forget { ns, pid }
        };
        cluster.recovery.writes.push_back(write);
    }

    /// Reports a packet this server emitted with an offset.
    pub(super) fn report_packet(
        &mut self,
        ns: usize,
        offset: Box<str>,
        target: Target,
        payloads: Vec<Payload>,
    ) {
        let namespace = &self.namespaces[ns];
        let (Some(cluster), Some(store)) = (&mut self.cluster, &namespace.recovery) else {
            return;
        };
        cluster.recovery.writes.push_back(RecoveryWrite::Packet {
            ns: namespace.name.clone(),
            offset,
            target,
            payloads,
            max_packets: store.max_packets(),
            ttl: store.window(),
        });
    }

    /// Whether a CONNECT must wait for a lookup, and if so starts it: in a cluster, in a
    /// namespace with recovery, with a `pid` and an offset, the `pid` unknown here.
    pub(super) fn start_lookup(&mut self, now: Instant, sid: Sid, ns: usize, auth: &Value) -> bool {
        let (Some(Value::String(pid)), Some(Value::String(offset))) =
            (auth.get("pid"), auth.get("offset"))
        else {
            return false;
        };
        let Some(parsed) = Pid::parse(pid) else {
            return false;
        };
        let namespace = &self.namespaces[ns];
        let (Some(_), Some(store)) = (&self.cluster, &namespace.recovery) else {
            return false;
        };
        if store.has_session(&parsed) {
            return false;
        }
        let window = store.window();
        let mark = store.mark();
        let Some(session) = self.sessions.get(&sid) else {
            return false;
        };
        if session.looking_up.iter().any(|pending| pending.ns == ns) {
            return true; // a repeated CONNECT while the first waits
        }
        let lookup = RecoveryLookup {
            ns: namespace.name.clone(),
            sid,
            pid: pid.clone(),
            offset: offset.clone(),
            window,
        };
        let timeout = self.config.recovery_lookup_timeout;
        let timer = self.set_timer(super::deadline(now, timeout), Timer::Lookup { sid, ns });
        if let Some(session) = self.sessions.get_mut(&sid) {
            session.looking_up.push(PendingLookup {
                ns,
                auth: auth.clone(),
                pid: parsed,
                mark,
                timer,
            });
        }
        if let Some(cluster) = &mut self.cluster {
            cluster.recovery.lookups.push_back(lookup);
        }
        true
    }

    /// Finishes a CONNECT that waited for a lookup: with the session found (its id, its rooms,
    /// the packets it missed), or `None` (nothing found, or the lookup failed): a fresh socket.
    /// Nothing happens when that CONNECT is no longer waiting (its session closed, or the
    /// lookup timed out).
    pub fn resume_connect(
        &mut self,
        ns: &str,
        sid: Sid,
        found: Option<RemoteSession>,
    ) -> Option<SocketId> {
        let ns = self.namespace_index(ns)?;
        let pending = self.take_lookup(sid, ns)?;
        self.timers.remove(&pending.timer);
        // A socket connected here already (the same pid presented twice) is not cloned.
        let found =
            found.filter(|remote| !self.namespaces[ns].sockets.contains_key(&remote.socket));
        let restored = found.map(|remote| self.merge(ns, pending.pid, pending.mark, remote));
        Some(self.join_namespace(sid, ns, pending.auth, restored))
    }

    /// A lookup's deadline passed: the CONNECT gets a fresh socket.
    pub(super) fn lookup_timed_out(&mut self, sid: Sid, ns: usize) {
        if let Some(pending) = self.take_lookup(sid, ns) {
            self.join_namespace(sid, ns, pending.auth, None);
        }
    }

    fn take_lookup(&mut self, sid: Sid, ns: usize) -> Option<PendingLookup> {
        let session = self.sessions.get_mut(&sid)?;
        let index = session.looking_up.iter().position(|p| p.ns == ns)?;
        Some(session.looking_up.swap_remove(index))
    }

    /// The fetched packets meant for the socket's rooms, then those this server kept since the
    /// lookup began that were not among them.
    fn merge(&self, ns: usize, pid: Pid, mark: u64, remote: RemoteSession) -> Restored {
        let (own, rooms) = (remote.socket.as_str(), &remote.rooms);
        let mut seen = HashSet::new();
        let mut missed = Vec::new();
        for (offset, target, payloads) in remote.after {
            if target.includes(own, rooms) && seen.insert(offset) {
                missed.push(payloads);
            }
        }
        if let Some(store) = &self.namespaces[ns].recovery {
            for (offset, payloads) in store.kept_since(mark, own, rooms) {
                if seen.insert(offset) {
                    missed.push(payloads);
                }
            }
        }
        Restored {
            socket: remote.socket,
            pid,
            rooms: remote.rooms,
            missed,
        }
    }
}
