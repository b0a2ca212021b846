//! The rooms the app knows and who is in each: members in join order, each with their `/chat`
//! sockets, the visitors admitted to a password room, and since when a room is empty.
//!
//! A member is a visitor (a session id), not a socket: two tabs are one member, counted once
//! against the room's `max`, announced once on arrival and once on leaving. The stored room
//! (title, owner, ...) is the store's [`Room`] record, kept here as a cache that the app changes
//! in step with the store (create, hand-over, delete), so admission and the room list need no
//! round trip.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use crate::chat::{colour_of, Colour, Room, RoomId, SessionId};
use crate::socketio::SocketId;

/// One member of a room.
#[derive(Clone, Debug)]
pub struct Member {
    pub visitor: SessionId,
    pub colour: Colour,
    /// Their `/chat` sockets in the room, oldest first.
    pub sockets: Vec<SocketId>,
}

/// A room as the app holds it.
#[derive(Clone, Debug)]
pub struct RoomState {
    pub room: Room,
    /// In join order: the first is the longest present (C9's heir).
    pub members: Vec<Member>,
    /// Visitors who may enter a password room: its creator and those who gave the password.
    pub admitted: HashSet<SessionId>,
    /// When the room became empty, while it is; it is removed once empty for the window.
    pub empty_since: Option<Instant>,
}

impl RoomState {
    pub fn new(room: Room, empty_since: Option<Instant>) -> RoomState {
        RoomState {
            room,
            members: Vec::new(),
            admitted: HashSet::new(),
            empty_since,
        }
    }

    pub fn member(&self, visitor: &SessionId) -> Option<&Member> {
        self.members.iter().find(|m| &m.visitor == visitor)
    }

    pub fn member_by_colour(&self, colour: Colour) -> Option<&Member> {
        self.members.iter().find(|m| m.colour == colour)
    }

    pub fn is_member(&self, visitor: &SessionId) -> bool {
        self.member(visitor).is_some()
    }

    /// Whether `visitor` may be let in: a member already, or a seat free.
    pub fn has_seat_for(&self, visitor: &SessionId) -> bool {
        self.is_member(visitor) || self.members.len() < usize::from(self.room.max.get())
    }

    /// Whether `visitor` may enter without giving the password.
    pub fn is_admitted(&self, visitor: &SessionId) -> bool {
        !self.room.has_password || self.admitted.contains(visitor)
    }

    /// The members' colours, join order.
    pub fn colours(&self) -> Vec<Colour> {
        self.members.iter().map(|m| m.colour).collect()
    }

    /// Adds a socket of `visitor`; `true` when it is their first (they just arrived).
    pub fn add_socket(&mut self, visitor: &SessionId, socket: SocketId) -> bool {
        self.empty_since = None;
        if let Some(member) = self.members.iter_mut().find(|m| &m.visitor == visitor) {
            member.sockets.push(socket);
            return false;
        }
        self.members.push(Member {
            visitor: visitor.clone(),
            colour: colour_of(visitor),
            sockets: vec![socket],
        });
        true
    }

    /// Removes a socket; the member it was the last socket of, who has now left.
    pub fn remove_socket(&mut self, socket: SocketId, now: Instant) -> Option<Member> {
        let index = self
            .members
            .iter()
            .position(|m| m.sockets.contains(&socket))?;
        let member = &mut self.members[index];
        member.sockets.retain(|s| *s != socket);
        if !member.sockets.is_empty() {
            return None;
        }
        let gone = self.members.remove(index);
        self.note_if_empty(now);
        Some(gone)
    }

    /// Removes a member with all their sockets (a kick).
    pub fn remove_member(&mut self, colour: Colour, now: Instant) -> Option<Member> {
        let index = self.members.iter().position(|m| m.colour == colour)?;
        let gone = self.members.remove(index);
        self.note_if_empty(now);
        Some(gone)
    }

    fn note_if_empty(&mut self, now: Instant) {
        if self.members.is_empty() && self.empty_since.is_none() {
            self.empty_since = Some(now);
        }
    }
}

/// Every room the app knows, by id, and which room each `/chat` socket is in.
#[derive(Debug, Default)]
pub struct Rooms {
    rooms: HashMap<RoomId, RoomState>,
    sockets: HashMap<SocketId, RoomId>,
}

impl Rooms {
    pub fn get(&self, id: &RoomId) -> Option<&RoomState> {
        self.rooms.get(id)
    }

    pub fn get_mut(&mut self, id: &RoomId) -> Option<&mut RoomState> {
        self.rooms.get_mut(id)
    }

    /// Adds a room the store holds (created, or loaded at start); a room already known keeps
    /// its members.
    pub fn insert(&mut self, room: Room, empty_since: Option<Instant>) -> &mut RoomState {
        let id = room.id;
        self.rooms
            .entry(id)
            .and_modify(|state| state.room = room.clone())
            .or_insert_with(|| RoomState::new(room, empty_since))
    }

    pub fn remove(&mut self, id: &RoomId) -> Option<RoomState> {
        let state = self.rooms.remove(id)?;
        for member in &state.members {
            for socket in &member.sockets {
                self.sockets.remove(socket);
            }
        }
        Some(state)
    }

    /// Every room, oldest first (the list page's order).
    pub fn list(&self) -> Vec<Room> {
        let mut rooms: Vec<Room> = self.rooms.values().map(|s| s.room.clone()).collect();
        rooms.sort_by(|a, b| (a.created_at, a.id.as_str()).cmp(&(b.created_at, b.id.as_str())));
        rooms
    }

    /// Records that `socket` is in `room`.
    pub fn bind_socket(&mut self, socket: SocketId, room: RoomId) {
        self.sockets.insert(socket, room);
    }

    /// Forgets a socket; the room it was in.
    pub fn unbind_socket(&mut self, socket: SocketId) -> Option<RoomId> {
        self.sockets.remove(&socket)
    }

    /// The room a `/chat` socket is in.
    pub fn room_of(&self, socket: SocketId) -> Option<RoomId> {
        self.sockets.get(&socket).copied()
    }

    /// Rooms empty since `deadline_for(empty_since) <= now`.
    pub fn expired(&self, now: Instant, deadline_for: impl Fn(Instant) -> Instant) -> Vec<RoomId> {
        let mut ids: Vec<RoomId> = self
            .rooms
            .iter()
            .filter(|(_, s)| s.empty_since.is_some_and(|at| deadline_for(at) <= now))
            .map(|(id, _)| *id)
            .collect();
        ids.sort();
        ids
    }

    /// The earliest moment a room became empty.
    pub fn earliest_empty(&self) -> Option<Instant> {
        self.rooms.values().filter_map(|s| s.empty_since).min()
    }

    /// Rooms known.
    pub fn len(&self) -> usize {
        self.rooms.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rooms.is_empty()
    }

    /// Every room's state (for the stop: nothing to do, but tests look).
    pub fn iter(&self) -> impl Iterator<Item = &RoomState> {
        self.rooms.values()
    }
}
