//! Socket.IO protocol v5 above Engine.IO: namespaces, sockets, rooms, acks and connection state
//! recovery, as sans-IO state.
//!
//! The engine (`crate::engineio`) owns transports and heartbeats and only passes sessions and
//! payloads up; [`Server`] turns them into namespace sockets and application [`Event`]s, and
//! the application's commands into [`Transmit`]s for the engine. A broadcast is encoded once
//! and its payloads are reference-counted [`bytes::Bytes`], shared by every recipient.
//! [`ConformanceApp`] is the reference behaviour of the official protocol test suite (E8).

mod app;
mod assembly;
mod cluster;
mod cluster_recovery;
mod cluster_reports;
mod commands;
mod conformance;
mod ids;
mod namespace;
pub mod packet;
mod recovery;
mod server;

pub use app::{
    AckId, CloseReason, CommandError, DisconnectReason, Event, Namespace, ServerAckId,
    SessionCloseReason, To, Transmit,
};
pub use cluster_reports::{ClusterEmit, RecoveryLookup, RecoveryWrite, RemoteSession, RoomChange};
pub use conformance::{ConformanceApp, NAMESPACES as CONFORMANCE_NAMESPACES};
pub use ids::{Pid, SocketId};
pub use namespace::Admission;
pub use packet::{Args, PacketError};
pub use recovery::{RecoveryConfig, Room, Target};
pub use server::{Config, Server};

/// `now + after`, with `after` capped at a year: settings and app arguments may be any
/// `Duration`, and `Instant` arithmetic must not overflow (a panic) on any of them.
fn deadline(now: std::time::Instant, after: std::time::Duration) -> std::time::Instant {
    const YEAR: std::time::Duration = std::time::Duration::from_secs(365 * 24 * 3600);
    now.checked_add(after.min(YEAR)).unwrap_or(now)
}
