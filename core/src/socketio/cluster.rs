//! What the server tells a cluster (SPEC M1–M3): which rooms its sockets join and leave, and
//! which emits other instances must deliver too; and how a broadcast from another instance is
//! delivered here without being published again.
//!
//! Off unless [`Server::report_to_cluster`] is called (a single instance pays nothing). The
//! reports are queues the hub drains after each input: [`Server::poll_room_change`] for the
//! cluster node's subscriptions (a socket's own room is never reported: it has no channel),
//! [`Server::poll_cluster_emit`] for the publishes. Every way a socket enters or leaves a room
//! is reported where it happens, in the namespace's state: `join`/`leave`, a recovered socket
//! coming back with its rooms, and a socket leaving all of them on disconnect.

use std::collections::BTreeSet;
use std::time::Instant;

use super::app::{CommandError, To};
use super::cluster_reports::{ClusterEmit, ClusterReports, RoomChange};
use super::ids::SocketId;
use super::packet::Args;
use super::server::Server;

impl Server {
    /// From now on, report room changes and emits for a cluster, in every namespace (those
    /// added later too). The rooms sockets are already in are reported as joined.
    pub fn report_to_cluster(&mut self) {
        if self.cluster.is_none() {
            self.cluster = Some(ClusterReports::default());
        }
        for namespace in &mut self.namespaces {
            namespace.report_room_changes();
        }
    }

    /// The namespaces' names, in the order they were added.
    pub fn namespace_names(&self) -> impl Iterator<Item = &str> {
        self.namespaces.iter().map(|ns| ns.name.as_str())
    }

    /// The next room change, with [`report_to_cluster`](Self::report_to_cluster).
    pub fn poll_room_change(&mut self) -> Option<RoomChange> {
        self.namespaces.iter_mut().find_map(|namespace| {
            let (socket, room, joined) = namespace.changes.as_mut()?.pop_front()?;
            Some(RoomChange {
                ns: namespace.name.clone(),
                socket,
                room,
                joined,
            })
        })
    }

    /// The next emit to publish, with [`report_to_cluster`](Self::report_to_cluster).
    pub fn poll_cluster_emit(&mut self) -> Option<ClusterEmit> {
        self.cluster.as_mut()?.emits.pop_front()
    }

    /// Delivers a broadcast received from another instance to the local sockets in `to`, as
    /// [`emit`](Self::emit) does (offset, recovery), but reports nothing: it was published
    /// already. `offset`: the one the emitting gif-chat instance gave it (none from Node: then
    /// a local one).
    pub fn emit_remote(
        &mut self,
        now: Instant,
        ns: &str,
        to: To<'_>,
        event: &str,
        args: &Args,
        offset: Option<&str>,
    ) -> Result<(), CommandError> {
        self.emit_to(now, ns, to, event, args, false, offset)
    }

    /// The local sockets in any of `rooms` (every socket of `ns` when empty) and in none of
    /// `except`, each once, in a stable order: a received broadcast no single [`To`] names.
    pub fn select_sockets(&self, ns: &str, rooms: &[&str], except: &[&str]) -> Vec<SocketId> {
        let Some(index) = self.namespace_index(ns) else {
            return Vec::new();
        };
        let namespace = &self.namespaces[index];
        let mut chosen: BTreeSet<SocketId> = if rooms.is_empty() {
            namespace.sockets.keys().copied().collect()
        } else {
            rooms
                .iter()
                .flat_map(|room| namespace.room_members(room))
                .collect()
        };
        for room in except {
            for socket in namespace.room_members(room) {
                chosen.remove(&socket);
            }
        }
        chosen.into_iter().collect()
    }
}
