//! One namespace: its sockets, its rooms, and whom an emit reaches.
//!
//! Membership is kept both ways (room → sockets for emits, socket → rooms for leaving and for
//! recovery), and a room exists only while it has members, so the maps never outgrow the
//! sockets in them. Room names are shared `Arc<str>`s: the two maps and the recovery store
//! hold the same allocation. The room named by a socket's own id, which every socket is in, is
//! not stored in the room map: the socket map answers for it, which halves what an idle
//! socket costs.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use super::app::{CommandError, Namespace, To};
use super::ids::{IdMap, IdSet, Pid, SocketId};
use super::recovery::{RecoveryStore, Room, Target};
use crate::engineio::Sid;
use smallvec::SmallVec;

/// Up to this many rooms, a socket's room list grows one at a time.
const SMALL_ROOM_LIST: usize = 4;

/// The rooms a socket joined, besides its own (which is implied by its id and never stored:
/// a string per socket saved). One is kept in the socket's record itself (the common case: a
/// chat's one room), so an idle socket has no room-list allocation; with the `union` feature
/// the list is as small as a `Vec`.
pub type RoomList = SmallVec<[Room; 1]>;

/// A pending server ack's timer key.
pub type TimerKey = (Instant, u64);

/// One socket's state.
pub struct SocketState {
    pub sid: Sid,
    /// The rooms it joined; its own room (named by its id) is not among them.
    pub rooms: RoomList,
    pub pid: Option<Pid>,
    pub next_ack: u64,
    /// Pending server acks and their timers.
    pub acks: PendingAcks,
}

/// A socket's pending server acks and their timers: boxed and made on the first ack, since
/// most sockets never wait for one and every socket carries the field (an empty `BTreeMap` is
/// three words, this one).
#[derive(Default)]
// The box is the point: one word in every socket instead of three, the map made when needed.
#[allow(clippy::box_collection)]
pub struct PendingAcks(Option<Box<BTreeMap<u64, TimerKey>>>);

impl PendingAcks {
    pub fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |acks| acks.len())
    }

    pub fn insert(&mut self, id: u64, key: TimerKey) {
        self.0.get_or_insert_default().insert(id, key);
    }

    /// Removes an ack; the map goes with the last one.
    pub fn remove(&mut self, id: u64) -> Option<TimerKey> {
        let acks = self.0.as_mut()?;
        let key = acks.remove(&id);
        if acks.is_empty() {
            self.0 = None;
        }
        key
    }

    /// The timers of every pending ack.
    pub fn timers(&self) -> impl Iterator<Item = &TimerKey> {
        self.0.iter().flat_map(|acks| acks.values())
    }
}

/// Who decides whether a CONNECT to a namespace is accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Every CONNECT is accepted at once.
    Open,
    /// The app answers each [`Event::ConnectRequest`](super::Event::ConnectRequest) with
    /// `Server::admit` or `Server::refuse` (socket.io's middlewares: checking a password, a
    /// database), possibly later; the connect timeout still runs meanwhile.
    ByApp,
}

pub struct NamespaceState {
    pub name: Namespace,
    pub admission: Admission,
    /// Boxed, as the engine's sessions: an empty slot of the table costs a pointer, not a
    /// socket.
    pub sockets: IdMap<SocketId, Box<SocketState>>,
    rooms: BTreeMap<Room, IdSet<SocketId>>,
    pub recovery: Option<RecoveryStore>,
    /// Sockets entering (`true`) and leaving rooms other than their own, for a cluster
    /// (`cluster.rs`); `None`: nobody asked, nothing kept.
    pub changes: Option<VecDeque<(SocketId, Room, bool)>>,
}

impl NamespaceState {
    pub fn new(
        name: &str,
        admission: Admission,
        recovery: Option<RecoveryStore>,
    ) -> NamespaceState {
        NamespaceState {
            name: Namespace(Arc::from(name)),
            admission,
            sockets: IdMap::default(),
            rooms: BTreeMap::new(),
            recovery,
            changes: None,
        }
    }

    /// Starts reporting room changes; the rooms sockets are in already count as joined.
    pub fn report_room_changes(&mut self) {
        if self.changes.is_some() {
            return;
        }
        let mut changes = VecDeque::new();
        for (room, members) in &self.rooms {
            for id in members {
                changes.push_back((*id, room.clone(), true));
            }
        }
        self.changes = Some(changes);
    }

    fn report(&mut self, id: SocketId, room: &Room, joined: bool) {
        if let Some(changes) = &mut self.changes {
            changes.push_back((id, room.clone(), joined));
        }
    }

    /// Adds a socket, in its own room and in `rooms` (a recovered socket's).
    pub fn add_socket(&mut self, id: SocketId, sid: Sid, pid: Option<Pid>, rooms: Vec<Room>) {
        let mut state = SocketState {
            sid,
            rooms: RoomList::with_capacity(rooms.len()),
            pid,
            next_ack: 0,
            acks: PendingAcks::default(),
        };
        for room in rooms {
            if &*room != id.as_str() && !state.rooms.contains(&room) {
                self.rooms.entry(room.clone()).or_default().insert(id);
                if let Some(changes) = &mut self.changes {
                    changes.push_back((id, room.clone(), true));
                }
                state.rooms.push(room);
            }
        }
        self.sockets.insert(id, Box::new(state));
    }

    /// The socket whose own room this is, if it is connected and not also a member of a
    /// stored room of that name (then it is counted there).
    fn own_room_member(&self, room: &str) -> Option<(SocketId, Sid)> {
        let id = SocketId::parse(room)?;
        let state = self.sockets.get(&id)?;
        let stored = self
            .rooms
            .get(room)
            .is_some_and(|members| members.contains(&id));
        (!stored).then_some((id, state.sid))
    }

    /// Removes a socket from the namespace and from every room.
    pub fn remove_socket(&mut self, id: SocketId) -> Option<SocketState> {
        let state = self.sockets.remove(&id)?;
        for room in &state.rooms {
            self.remove_member(room, id);
            self.report(id, room, false);
        }
        Some(*state)
    }

    fn remove_member(&mut self, room: &str, id: SocketId) {
        if let Some(members) = self.rooms.get_mut(room) {
            members.remove(&id);
            if members.is_empty() {
                self.rooms.remove(room);
            }
        }
    }

    pub fn join(&mut self, id: SocketId, room: &str, max_rooms: usize) -> Result<(), CommandError> {
        let state = self
            .sockets
            .get_mut(&id)
            .ok_or(CommandError::UnknownSocket)?;
        if room == id.as_str() || state.rooms.iter().any(|r| &**r == room) {
            return Ok(());
        }
        // Its own room counts.
        if state.rooms.len() + 1 >= max_rooms {
            return Err(CommandError::TooManyRooms(max_rooms));
        }
        let room = match self.rooms.get_key_value(room) {
            Some((name, _)) => name.clone(),
            None => Arc::from(room),
        };
        self.rooms.entry(room.clone()).or_default().insert(id);
        if let Some(changes) = &mut self.changes {
            changes.push_back((id, room.clone(), true));
        }
        if state.rooms.len() < SMALL_ROOM_LIST {
            // A socket is in a room or two besides its own: room for exactly that, where
            // `push` would make room for four.
            state.rooms.reserve_exact(1);
        }
        state.rooms.push(room);
        Ok(())
    }

    pub fn leave(&mut self, id: SocketId, room: &str) -> Result<(), CommandError> {
        let state = self
            .sockets
            .get_mut(&id)
            .ok_or(CommandError::UnknownSocket)?;
        // Its own room, which is not in the list, a socket never leaves.
        if let Some(index) = state.rooms.iter().position(|r| &**r == room) {
            let left = state.rooms.remove(index);
            self.remove_member(room, id);
            self.report(id, &left, false);
        }
        Ok(())
    }

    /// The rooms a socket joined, its own not among them.
    pub fn joined_rooms(&self, id: SocketId) -> Option<&[Room]> {
        self.sockets.get(&id).map(|s| s.rooms.as_slice())
    }

    /// A connected socket's id as the namespace keeps it, borrowed from the namespace (the
    /// name of its own room).
    pub fn socket_id(&self, id: SocketId) -> Option<&SocketId> {
        self.sockets.get_key_value(&id).map(|(id, _)| id)
    }

    /// The sockets in a room, in no particular order.
    pub fn room_members(&self, room: &str) -> Vec<SocketId> {
        let mut members: Vec<SocketId> = self
            .rooms
            .get(room)
            .map_or_else(Vec::new, |members| members.iter().copied().collect());
        members.extend(self.own_room_member(room).map(|(id, _)| id));
        members
    }

    /// How many sockets are in a room.
    pub fn room_len(&self, room: &str) -> usize {
        self.rooms.get(room).map_or(0, |members| members.len())
            + usize::from(self.own_room_member(room).is_some())
    }

    fn room_name(&self, room: &str) -> Room {
        match self.rooms.get_key_value(room) {
            Some((name, _)) => name.clone(),
            None => Arc::from(room),
        }
    }

    /// A socket's own room as a name to keep (a packet's target): made when asked, as
    /// the socket does not store it.
    fn own_room(&self, id: SocketId) -> Room {
        self.room_name(id.as_str())
    }

    /// The sessions an emit reaches (one allocation, sized to the candidates).
    pub fn recipients(&self, to: To<'_>) -> Result<Vec<Sid>, CommandError> {
        let (room, except) = match to {
            To::Socket(id) => {
                let state = self.sockets.get(&id).ok_or(CommandError::UnknownSocket)?;
                return Ok(vec![state.sid]);
            }
            To::Room(room) => (Some(room), None),
            To::RoomExcept { room, except } => (Some(room), Some(except)),
            To::Namespace => (None, None),
            To::NamespaceExcept(except) => (None, Some(except)),
        };
        let sids = match room {
            Some(room) => {
                let own = self
                    .own_room_member(room)
                    .filter(|(id, _)| Some(*id) != except);
                let members = self.rooms.get(room);
                let mut sids =
                    Vec::with_capacity(members.map_or(0, |m| m.len()) + usize::from(own.is_some()));
                if let Some(members) = members {
                    sids.extend(
                        members
                            .iter()
                            .filter(|id| Some(**id) != except)
                            .filter_map(|id| self.sockets.get(id).map(|s| s.sid)),
                    );
                }
                sids.extend(own.map(|(_, sid)| sid));
                sids
            }
            None => {
                let mut sids = Vec::with_capacity(self.sockets.len());
                sids.extend(
                    self.sockets
                        .iter()
                        .filter(|(id, _)| Some(**id) != except)
                        .map(|(_, s)| s.sid),
                );
                sids
            }
        };
        Ok(sids)
    }

    /// Whom an emit was for, as recovery keeps it. Asked only when a packet is kept: naming a
    /// socket's own room allocates, as the socket does not store it.
    pub fn target(&self, to: To<'_>) -> Target {
        let (room, except) = match to {
            To::Socket(id) => (Some(self.own_room(id)), None),
            To::Room(room) => (Some(self.room_name(room)), None),
            To::RoomExcept { room, except } => {
                (Some(self.room_name(room)), Some(self.own_room(except)))
            }
            To::Namespace => (None, None),
            To::NamespaceExcept(except) => (None, Some(self.own_room(except))),
        };
        Target { room, except }
    }
}
