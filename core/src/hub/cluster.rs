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

use serde_json::{json, Value};

use crate::cluster::{
    delivery, Body, Broadcast, ClusterNode, Data, DecodeError, Delivery, Message, Options, Publish,
    ServerSockets, Subscription, Uid,
};
use crate::socketio::{CommandError, Server, SocketId, To};

use super::cluster_recovery::RecoveryRequests;

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
    /// Recovery across instances (M5): what to run on Redis, and the lookups waiting for
    /// their answer (`hub/cluster_recovery.rs`).
    pub(super) recovery: RecoveryRequests,
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
            recovery: RecoveryRequests::default(),
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
        self.recovery.collect(server);
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

    /// A payload from one of the nodes' channels, from another instance of the namespace:
    /// - a broadcast is delivered to the local sockets it selects; one with acks is answered
    ///   with a client count of zero (its clients here are not asked for acks), so the sender
    ///   does not wait for them;
    /// - `socketsJoin`, `socketsLeave` and `disconnectSockets` apply to the local sockets they
    ///   select (M1's shared membership);
    /// - `fetchSockets` is answered with the local sockets it selects (id and rooms), so that
    ///   a Node server's `fetchSockets()`, which waits for every instance, need not time out;
    /// - the rest (server-side emits, answers to requests this instance never makes) is
    ///   ignored.
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
        let ns = message.nsp.as_str();
        match message.body {
            Body::Broadcast(broadcast) => {
                if let Some(request_id) = broadcast.request_id.clone() {
                    let count = Body::BroadcastClientCount {
                        request_id,
                        client_count: 0,
                    };
                    self.publishes.push_back(node.respond(&message.uid, count));
                }
                deliver(now, server, ns, &broadcast)?;
            }
            Body::SocketsJoin { opts, rooms } => {
                for socket in selected(server, ns, &opts) {
                    for room in &rooms {
                        server.join(ns, socket, room)?;
                    }
                }
            }
            Body::SocketsLeave { opts, rooms } => {
                for socket in selected(server, ns, &opts) {
                    for room in &rooms {
                        server.leave(ns, socket, room)?;
                    }
                }
            }
            Body::DisconnectSockets { opts, close } => {
                for socket in selected(server, ns, &opts) {
                    match (close, server.session_of(ns, socket)) {
                        (true, Some(sid)) => server.close(now, sid),
                        _ => server.disconnect(now, ns, socket)?,
                    }
                }
            }
            Body::FetchSockets { opts, request_id } => {
                let sockets: Vec<Value> = selected(server, ns, &opts)
                    .into_iter()
                    .map(|socket| describe(server, ns, socket))
                    .collect();
                let answer = Body::FetchSocketsResponse {
                    request_id,
                    sockets: Data {
                        value: Value::Array(sockets),
                        attachments: Vec::new(),
                    },
                };
                self.publishes.push_back(node.respond(&message.uid, answer));
            }
            _ => {}
        }
        Ok(())
    }
}

/// Delivers a broadcast from another instance to the local sockets it selects.
fn deliver(
    now: Instant,
    server: &mut Server,
    ns: &str,
    broadcast: &Broadcast,
) -> Result<(), CommandError> {
    let packet = &broadcast.packet;
    let offset = broadcast.opts.flags.offset.as_deref();
    let local = ServerSockets { server, ns };
    match delivery(&broadcast.opts, &local) {
        Delivery::Nobody => Ok(()),
        Delivery::Emit(to) => server.emit_remote(now, ns, to, &packet.name, &packet.args, offset),
        Delivery::Select { rooms, except } => {
            for socket in server.select_sockets(ns, &rooms, &except) {
                let to = To::Socket(socket);
                server.emit_remote(now, ns, to, &packet.name, &packet.args, offset)?;
            }
            Ok(())
        }
    }
}

/// The local sockets a request's options select.
fn selected(server: &Server, ns: &str, opts: &Options) -> Vec<SocketId> {
    let rooms: Vec<&str> = opts.rooms.iter().map(String::as_str).collect();
    let except: Vec<&str> = opts.except.iter().map(String::as_str).collect();
    server.select_sockets(ns, &rooms, &except)
}

/// A local socket as `fetchSockets()` describes it (socket.io's `RemoteSocket`): its id, its
/// rooms, and a handshake and data this server does not keep, empty.
fn describe(server: &Server, ns: &str, socket: SocketId) -> Value {
    let rooms = server.rooms(ns, socket).unwrap_or_default();
    json!({
        "id": socket.as_str(),
        "handshake": {"headers": {}, "query": {}, "auth": {}},
        "rooms": rooms,
        "data": {},
    })
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::engineio::{Payload, Sid};
    use crate::socketio::{Args, Config, Event, SocketId, Transmit};

    const NS: &str = "/chat";

    /// An instance: a server with `/chat`, reporting to its cluster nodes.
    fn instance(uid: u8) -> (Server, HubCluster) {
        let config = Config {
            recovery: None,
            ..Config::default()
        };
        let mut server = Server::new(config, [uid; 32]);
        server.add_namespace(NS);
        let cluster = HubCluster::new(Uid::from_random([uid; 8]), &mut server);
        (server, cluster)
    }

    /// A session connected to `/chat`, in `room`.
    fn member(server: &mut Server, fill: u8, room: &str) -> (Sid, SocketId) {
        let now = Instant::now();
        let sid = Sid::from_random([fill; 15]);
        server.handle_open(now, sid);
        server.handle_message(now, sid, Payload::text(format!("0{NS},")));
        let socket = loop {
            match server.poll_event() {
                Some(Event::Connected { socket, .. }) => break socket,
                Some(_) => {}
                None => panic!("not connected"),
            }
        };
        server.join(NS, socket, room).expect("joined");
        while server.poll_transmit().is_some() {}
        (sid, socket)
    }

    /// The sessions each event payload went to.
    fn delivered(server: &mut Server) -> Vec<(Vec<Sid>, String)> {
        let mut out = Vec::new();
        while let Some(transmit) = server.poll_transmit() {
            match transmit {
                Transmit::Send { sid, payload } => out.push((vec![sid], text(&payload))),
                Transmit::Broadcast { mut sids, payloads } => {
                    sids.sort();
                    out.push((sids, text(&payloads[0])));
                }
                Transmit::Close { .. } => {}
            }
        }
        out
    }

    fn text(payload: &Payload) -> String {
        match payload {
            Payload::Text(bytes) => String::from_utf8_lossy(bytes).into_owned(),
            Payload::Binary(_) => "<binary>".to_owned(),
        }
    }

    fn subscriptions(cluster: &mut HubCluster) -> Vec<Subscription> {
        std::iter::from_fn(|| cluster.poll_subscription()).collect()
    }

    #[test]
    fn a_rooms_channel_is_subscribed_while_the_instance_has_members_there() {
        let (mut server, mut cluster) = instance(1);
        let subscribed = subscriptions(&mut cluster);
        assert_eq!(
            subscribed.len(),
            4,
            "namespace and reply channels of / and /chat"
        );
        let (sid, socket) = member(&mut server, 1, "lobby");
        let (_, other) = member(&mut server, 2, "lobby");
        cluster.collect(&mut server);
        let lobby = "socket.io#/chat#lobby#".to_owned();
        assert_eq!(
            subscriptions(&mut cluster),
            [Subscription::Subscribe(lobby.clone())]
        );
        server.leave(NS, other, "lobby").expect("left");
        cluster.collect(&mut server);
        assert_eq!(subscriptions(&mut cluster), []);
        // The last member goes with its session: the channel goes too.
        server.handle_close(
            Instant::now(),
            sid,
            crate::socketio::CloseReason::TransportClose,
        );
        cluster.collect(&mut server);
        assert_eq!(
            subscriptions(&mut cluster),
            [Subscription::Unsubscribe(lobby)]
        );
        let _ = socket;
    }

    #[test]
    fn an_emit_reaches_the_other_instances_members_once_and_is_not_published_again() {
        let (mut a, mut cluster_a) = instance(1);
        let (mut b, mut cluster_b) = instance(2);
        let (_, sender) = member(&mut a, 1, "lobby");
        let (here, _) = member(&mut b, 2, "lobby");
        let (elsewhere, _) = member(&mut b, 3, "kitchen");
        let now = Instant::now();
        let args = Args::json(vec![serde_json::json!("hi")]);
        a.emit(
            now,
            NS,
            To::RoomExcept {
                room: "lobby",
                except: sender,
            },
            "chat",
            &args,
        )
        .expect("emitted");
        cluster_a.collect(&mut a);
        let publish = cluster_a.poll_publish().expect("published");
        assert_eq!(publish.channel, "socket.io#/chat#lobby#");
        assert!(cluster_a.poll_publish().is_none());

        // Heard back by its own instance: dropped.
        let sent_here = delivered(&mut a);
        cluster_a
            .handle_message(now, &mut a, &publish.payload)
            .expect("decodes");
        assert!(delivered(&mut a).is_empty(), "{sent_here:?}");

        cluster_b
            .handle_message(now, &mut b, &publish.payload)
            .expect("decodes");
        assert_eq!(
            delivered(&mut b),
            [(vec![here], r#"2/chat,["chat","hi"]"#.to_owned())]
        );
        cluster_b.collect(&mut b);
        assert!(cluster_b.poll_publish().is_none(), "not published again");
        let _ = elsewhere;

        let error = cluster_b.handle_message(now, &mut b, b"{not json");
        assert!(matches!(error, Err(ClusterMessageError::Decode(_))));
    }

    #[test]
    fn membership_requests_from_other_instances_apply_here_and_fetch_sockets_is_answered() {
        let (mut server, mut cluster) = instance(1);
        let (_, socket) = member(&mut server, 1, "lobby");
        cluster.collect(&mut server);
        subscriptions(&mut cluster);
        let asker = ClusterNode::new(Uid::from_random([9; 8]), NS);
        let lobby = Options {
            rooms: vec!["lobby".to_owned()],
            ..Options::default()
        };
        let now = Instant::now();

        let join = asker.publish(Body::SocketsJoin {
            opts: lobby.clone(),
            rooms: vec!["vip".to_owned()],
        });
        cluster
            .handle_message(now, &mut server, &join.payload)
            .expect("applied");
        cluster.collect(&mut server);
        assert_eq!(
            server.rooms(NS, socket),
            Some(vec![socket.as_str(), "lobby", "vip"])
        );
        assert_eq!(
            subscriptions(&mut cluster),
            [Subscription::Subscribe("socket.io#/chat#vip#".to_owned())]
        );

        let fetch = asker.publish(Body::FetchSockets {
            opts: lobby,
            request_id: "0123456789abcdef".to_owned(),
        });
        cluster
            .handle_message(now, &mut server, &fetch.payload)
            .expect("answered");
        let answer = cluster.poll_publish().expect("an answer");
        assert_eq!(answer.channel, "socket.io#/chat#0909090909090909#");
        let Body::FetchSocketsResponse {
            request_id,
            sockets,
        } = Message::decode(&answer.payload).expect("decodes").body
        else {
            panic!("not a fetchSockets answer");
        };
        assert_eq!(request_id, "0123456789abcdef");
        assert_eq!(sockets.value[0]["id"], socket.as_str());
        assert_eq!(
            sockets.value[0]["rooms"],
            serde_json::json!([socket.as_str(), "lobby", "vip"])
        );
    }
}
