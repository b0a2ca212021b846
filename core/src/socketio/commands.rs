//! What an application asks of the Socket.IO server: emits, acks, rooms, disconnects, and
//! questions about who is where.
//!
//! Commands are checked (namespace, socket, reserved names, bounds) and refused with a typed
//! [`CommandError`]; a refused command changes nothing. They take effect at once in the
//! server's state, and their payloads wait in the transmit queue like any other output.

use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::Value;

use super::app::{
    AckId, CommandError, DisconnectReason, ServerAckId, SessionCloseReason, To, Transmit,
};
use super::ids::SocketId;
use super::packet::{self, Args, PacketType};
use super::recovery::{RecoveryStore, Room};
use super::server::{Server, Timer};
use crate::engineio::{Payload, Sid};

impl Server {
    /// Accepts a session's pending CONNECT ([`Event::ConnectRequest`]): the socket joins as if
    /// the namespace were open (recovery included), and [`Event::Connected`] follows.
    ///
    /// [`Event::ConnectRequest`]: super::Event::ConnectRequest
    /// [`Event::Connected`]: super::Event::Connected
    pub fn admit(&mut self, now: Instant, ns: &str, sid: Sid) -> Result<SocketId, CommandError> {
        let ns = self.namespace(ns)?;
        let auth = self.take_connect_request(ns, sid)?;
        Ok(self.connect(now, sid, ns, auth))
    }

    /// Refuses a session's pending CONNECT: the client gets CONNECT_ERROR with `message`
    /// (`connect_error` in socket.io-client), the session stays open.
    pub fn refuse(&mut self, ns: &str, sid: Sid, message: &str) -> Result<(), CommandError> {
        let ns = self.namespace(ns)?;
        self.take_connect_request(ns, sid)?;
        let error = serde_json::json!({ "message": message });
        let name = self.namespaces[ns].name.as_str();
        let text = packet::encode(PacketType::ConnectError, name, Some(&error));
        self.send(sid, Payload::text(text));
        Ok(())
    }

    fn take_connect_request(&mut self, ns: usize, sid: Sid) -> Result<Value, CommandError> {
        let session = self
            .sessions
            .get_mut(&sid)
            .ok_or(CommandError::NoConnectRequest)?;
        let index = session
            .admitting
            .iter()
            .position(|(i, _)| *i == ns)
            .ok_or(CommandError::NoConnectRequest)?;
        Ok(session.admitting.swap_remove(index).1)
    }

    /// Emits an event. To more than one socket, it is encoded once and shared (one
    /// [`Transmit::Broadcast`]); with recovery on, it carries an offset and is kept.
    pub fn emit(
        &mut self,
        now: Instant,
        ns: &str,
        to: To<'_>,
        event: &str,
        args: &Args,
    ) -> Result<(), CommandError> {
        self.emit_to(now, ns, to, event, args, true, None)
    }

    /// [`emit`](Self::emit); `report`: tell the cluster, if any (not for a broadcast that
    /// came from it); `remote_offset`: the offset the emitting instance gave it, if any.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn emit_to(
        &mut self,
        now: Instant,
        ns: &str,
        to: To<'_>,
        event: &str,
        args: &Args,
        report: bool,
        remote_offset: Option<&str>,
    ) -> Result<(), CommandError> {
        check_event_name(event)?;
        let ns = self.namespace(ns)?;
        let namespace = &mut self.namespaces[ns];
        let sids = namespace.recipients(to)?;
        let offset = match (&mut namespace.recovery, remote_offset) {
            (Some(_), Some(offset)) => Some(Box::from(offset)),
            (Some(store), None) => Some(store.new_offset()),
            (None, _) => None,
        };
        // Only a kept packet needs its target: without recovery, an emit names no room.
        let target = offset.as_ref().map(|_| namespace.target(to));
        if let (true, Some(cluster)) = (report, &mut self.cluster) {
            cluster.record(&namespace.name, to, event, args, offset.as_deref());
        }
        let text = packet::encode_event(
            namespace.name.as_str(),
            None,
            event,
            args,
            offset.as_deref(),
        );
        let mut payloads = Vec::with_capacity(1 + args.attachments.len());
        payloads.push(Payload::Text(Bytes::from(text)));
        payloads.extend(args.attachments.iter().cloned().map(Payload::Binary));
        if let (Some(store), Some(offset), Some(target)) =
            (&mut namespace.recovery, &offset, &target)
        {
            store.keep(now, offset.clone(), target.clone(), payloads.clone());
        }
        if let (true, Some(offset), Some(target)) = (report, offset, target) {
            self.report_packet(ns, offset, target, payloads.clone());
        }
        match (sids.len(), to) {
            (0, _) => {}
            (_, To::Socket(_)) => {
                for payload in payloads {
                    self.send(sids[0], payload);
                }
            }
            _ => self
                .transmits
                .push_back(Transmit::Broadcast { sids, payloads }),
        }
        Ok(())
    }

    /// Emits an event to one socket and asks for an ack: [`Event::AckReceived`] or, after
    /// `timeout`, [`Event::AckTimedOut`]. Not kept for recovery (as socket.io).
    ///
    /// [`Event::AckReceived`]: super::Event::AckReceived
    /// [`Event::AckTimedOut`]: super::Event::AckTimedOut
    pub fn emit_with_ack(
        &mut self,
        now: Instant,
        ns: &str,
        socket: SocketId,
        event: &str,
        args: &Args,
        timeout: Duration,
    ) -> Result<ServerAckId, CommandError> {
        check_event_name(event)?;
        let max = self.config.max_pending_acks;
        let ns = self.namespace(ns)?;
        let namespace = &mut self.namespaces[ns];
        let state = namespace
            .sockets
            .get_mut(&socket)
            .ok_or(CommandError::UnknownSocket)?;
        if state.acks.len() >= max {
            return Err(CommandError::TooManyPendingAcks(max));
        }
        let id = state.next_ack;
        state.next_ack += 1;
        let sid = state.sid;
        let text = packet::encode_event(namespace.name.as_str(), Some(id), event, args, None);
        let key = self.set_timer(super::deadline(now, timeout), Timer::Ack { ns, socket, id });
        if let Some(state) = self.namespaces[ns].sockets.get_mut(&socket) {
            state.acks.insert(id, key);
        }
        self.send_with_attachments(sid, text, args);
        Ok(ServerAckId(id))
    }

    /// Answers a client's event that asked for an ack.
    pub fn ack(
        &mut self,
        ns: &str,
        socket: SocketId,
        id: AckId,
        args: &Args,
    ) -> Result<(), CommandError> {
        let ns = self.namespace(ns)?;
        let namespace = &self.namespaces[ns];
        let sid = namespace
            .sockets
            .get(&socket)
            .ok_or(CommandError::UnknownSocket)?
            .sid;
        let text = packet::encode_ack(namespace.name.as_str(), id.0, args);
        self.send_with_attachments(sid, text, args);
        Ok(())
    }

    fn send_with_attachments(&mut self, sid: Sid, text: String, args: &Args) {
        self.send(sid, Payload::Text(Bytes::from(text)));
        for attachment in &args.attachments {
            self.send(sid, Payload::Binary(attachment.clone()));
        }
    }

    /// Puts a socket in a room.
    pub fn join(&mut self, ns: &str, socket: SocketId, room: &str) -> Result<(), CommandError> {
        let max = self.config.max_rooms_per_socket;
        let ns = self.namespace(ns)?;
        self.namespaces[ns].join(socket, room, max)?;
        self.report_session(ns, socket);
        Ok(())
    }

    /// Takes a socket out of a room.
    pub fn leave(&mut self, ns: &str, socket: SocketId, room: &str) -> Result<(), CommandError> {
        let ns = self.namespace(ns)?;
        self.namespaces[ns].leave(socket, room)?;
        self.report_session(ns, socket);
        Ok(())
    }

    /// The rooms a socket is in, its own id's room first.
    pub fn rooms(&self, ns: &str, socket: SocketId) -> Option<Vec<&str>> {
        let namespace = &self.namespaces[self.namespace_index(ns)?];
        let own = namespace.socket_id(socket)?.as_str();
        let joined = namespace.joined_rooms(socket)?;
        Some(
            std::iter::once(own)
                .chain(joined.iter().map(|r| &**r))
                .collect(),
        )
    }

    /// The rooms a socket joined as the server keeps them, in the order joined, its own id's
    /// room not among them: what an app asks on every message, without a copy.
    pub fn joined_rooms(&self, ns: &str, socket: SocketId) -> Option<&[Room]> {
        let ns = self.namespace_index(ns)?;
        self.namespaces[ns].joined_rooms(socket)
    }

    /// The sockets in a room (who is in a chat room, C9), in no particular order.
    pub fn room_members(&self, ns: &str, room: &str) -> Vec<SocketId> {
        self.namespace_index(ns)
            .map_or_else(Vec::new, |ns| self.namespaces[ns].room_members(room))
    }

    /// The Engine.IO session a socket speaks through (to find its client's address).
    pub fn session_of(&self, ns: &str, socket: SocketId) -> Option<Sid> {
        let ns = self.namespace_index(ns)?;
        self.namespaces[ns].sockets.get(&socket).map(|s| s.sid)
    }

    /// How many sockets are in a room.
    pub fn room_len(&self, ns: &str, room: &str) -> usize {
        self.namespace_index(ns)
            .map_or(0, |ns| self.namespaces[ns].room_len(room))
    }

    /// How many sockets a namespace has.
    pub fn socket_count(&self, ns: &str) -> usize {
        self.namespace_index(ns)
            .map_or(0, |ns| self.namespaces[ns].sockets.len())
    }

    /// Sessions open (connected to a namespace or not yet).
    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    /// Kept packets and dropped sockets of a namespace's recovery store.
    pub fn recovery_kept(&self, ns: &str) -> (usize, usize) {
        self.namespace_index(ns)
            .and_then(|ns| self.namespaces[ns].recovery.as_ref())
            .map_or((0, 0), RecoveryStore::kept)
    }

    /// Makes a socket leave its namespace (DISCONNECT sent); the session stays open.
    pub fn disconnect(
        &mut self,
        now: Instant,
        ns: &str,
        socket: SocketId,
    ) -> Result<(), CommandError> {
        let ns = self.namespace(ns)?;
        let namespace = &self.namespaces[ns];
        let sid = namespace
            .sockets
            .get(&socket)
            .ok_or(CommandError::UnknownSocket)?
            .sid;
        let text = packet::encode(PacketType::Disconnect, namespace.name.as_str(), None);
        self.send(sid, Payload::text(text));
        self.remove_socket(now, ns, socket, DisconnectReason::ServerNamespaceDisconnect);
        Ok(())
    }

    /// Closes a whole session (`socket.disconnect(true)`); its sockets are kept for recovery.
    pub fn close(&mut self, now: Instant, sid: Sid) {
        self.close_session(now, sid, SessionCloseReason::Closed);
    }
}

fn check_event_name(event: &str) -> Result<(), CommandError> {
    if packet::RESERVED_EVENTS.contains(&event) {
        return Err(CommandError::ReservedEvent(event.to_owned()));
    }
    Ok(())
}
