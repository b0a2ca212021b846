//! The hub's side of a cluster (SPEC M1–M3): one [`ClusterNode`] per namespace, fed with the
//! server's room changes and emits after every pump, and the broadcasts other instances publish
//! delivered to the local sockets.
//!
//! The hub owns no socket to Redis: what to send comes out of [`Hub::poll_subscription`] and
//! [`Hub::poll_publish`], what arrives goes into [`Hub::handle_cluster_message`]. A local emit
//! is delivered here by the server as always and published for the others; a received one is
//! delivered with [`Server::emit_remote`], which publishes nothing, so each member of a room
//! gets a message once, wherever it is connected.
//!
//! [`Hub::poll_subscription`]: super::Hub::poll_subscription
//! [`Hub::poll_publish`]: super::Hub::poll_publish
//! [`Hub::handle_cluster_message`]: super::Hub::handle_cluster_message

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use crate::cluster::{
    delivery, Body, ClusterNode, DecodeError, Delivery, Message, Publish, ServerSockets,
    Subscription, Uid,
};
use crate::socketio::{CommandError, Server, To};

/// Why a message from Redis was not delivered.
#[derive(Debug, thiserror::Error)]
pub(super) enum ClusterMessageError {
    #[error("undecodable cluster message: {0}")]
    Decode(#[from] DecodeError),
    #[error("cluster broadcast not delivered: {0}")]
    Command(#[from] CommandError),
}

/// The cluster nodes of every namespace and what they want sent.
#[derive(Debug)]
pub(super) struct HubCluster {
    uid: Uid,
    nodes: HashMap<String, ClusterNode>,
    subscriptions: VecDeque<Subscription>,
    publishes: VecDeque<Publish>,
}

impl HubCluster {
    /// Nodes for the server's namespaces, which from now on reports to them.
    pub(super) fn new(uid: Uid, server: &mut Server) -> HubCluster {
        server.report_to_cluster();
        let mut cluster = HubCluster {
            uid,
            nodes: HashMap::new(),
            subscriptions: VecDeque::new(),
            publishes: VecDeque::new(),
        };
        let names: Vec<String> = server.namespace_names().map(str::to_owned).collect();
        for name in names {
            cluster.node(&name);
        }
        cluster.collect(server);
        cluster
    }

    fn node(&mut self, ns: &str) -> &mut ClusterNode {
        self.nodes
            .entry(ns.to_owned())
            .or_insert_with(|| ClusterNode::new(self.uid.clone(), ns))
    }

    /// Takes the server's room changes and emits since the last call.
    pub(super) fn collect(&mut self, server: &mut Server) {
        while let Some(change) = server.poll_room_change() {
            let node = self.node(change.ns.as_str());
            if change.joined {
                node.join(change.socket.as_str(), &change.room);
            } else {
                node.leave(change.socket.as_str(), &change.room);
            }
        }
        while let Some(emit) = server.poll_cluster_emit() {
            let publish = self
                .node(emit.ns.as_str())
                .broadcast(emit.packet, emit.opts);
            self.publishes.extend(publish);
        }
        for node in self.nodes.values_mut() {
            while let Some(change) = node.poll_subscription() {
                self.subscriptions.push_back(change);
            }
        }
    }

    pub(super) fn poll_subscription(&mut self) -> Option<Subscription> {
        self.subscriptions.pop_front()
    }

    pub(super) fn poll_publish(&mut self) -> Option<Publish> {
        self.publishes.pop_front()
    }

    /// A payload from one of the nodes' channels: a broadcast is delivered to the local
    /// sockets it selects; a broadcast with acks is answered with a client count of zero (its
    /// clients here are not asked for acks), so the sender does not wait; the rest is ignored.
    pub(super) fn handle_message(
        &mut self,
        now: Instant,
        server: &mut Server,
        payload: &[u8],
    ) -> Result<(), ClusterMessageError> {
        let message = Message::decode(payload)?;
        let Some(node) = self.nodes.get(&message.nsp) else {
            return Ok(());
        };
        let Some(message) = node.handle_message_decoded(message) else {
            return Ok(());
        };
        let Body::Broadcast(broadcast) = message.body else {
            return Ok(());
        };
        if let Some(request_id) = broadcast.request_id.clone() {
            let count = Body::BroadcastClientCount {
                request_id,
                client_count: 0,
            };
            self.publishes.push_back(node.respond(&message.uid, count));
        }
        let ns = message.nsp.as_str();
        let packet = &broadcast.packet;
        let local = ServerSockets { server, ns };
        let to = match delivery(&broadcast.opts, &local) {
            Delivery::Nobody => return Ok(()),
            Delivery::Emit(to) => to,
            Delivery::Select { rooms, except } => {
                for socket in server.select_sockets(ns, &rooms, &except) {
                    server.emit_remote(now, ns, To::Socket(socket), &packet.name, &packet.args)?;
                }
                return Ok(());
            }
        };
        server.emit_remote(now, ns, to, &packet.name, &packet.args)?;
        Ok(())
    }
}
