//! What a connection has to say: bytes for the socket, and events for the log, some of which
//! wait for the output queued before them to be written. The phases of a connection are lent
//! the outbox to write into; it knows the client's address as logged, so that a phase can
//! report an error without knowing where the connection came from.

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv6Addr};
use std::time::Instant;

use crate::event::{AccessLog, ConnectionError, Event};

/// Output buffers are given back to the allocator once drained if they grew past this: a quiet
/// connection should cost a few hundred bytes, not the size of its largest burst.
const KEEP_CAPACITY: usize = 256;

/// An event held back until the output queued before it has been written.
///
/// Access-log lines wait for their response's last byte (morgan times a response up to the moment
/// it is handed to the socket); any event raised after such a line waits behind it, so the log
/// order never depends on how the input happened to be chunked.
#[derive(Debug)]
struct Pending {
    /// Stream offset just past the output queued before this event.
    end: u64,
    /// For access-log lines: when the request began.
    started: Option<Instant>,
    event: Event,
}

/// Pending output of one connection.
#[derive(Debug)]
pub(crate) struct Outbox {
    /// The client as logged: the peer, or what a trusted proxy says (set at the upgrade). Kept
    /// as IPv6 (IPv4 mapped), 16 bytes where `IpAddr` takes 17 and its padding 7 more: an idle
    /// connection is the common case and its size counts.
    client_ip: Ipv6Addr,
    bytes: Vec<u8>,
    /// How much of `bytes` the socket already took.
    sent: usize,
    /// Bytes written (or discarded) over the connection's life, before `bytes`.
    written_total: u64,
    events: VecDeque<Event>,
    pending: VecDeque<Pending>,
}

impl Outbox {
    pub(crate) fn new(client_ip: IpAddr) -> Self {
        Outbox {
            client_ip: as_v6(client_ip),
            bytes: Vec::new(),
            sent: 0,
            written_total: 0,
            events: VecDeque::new(),
            pending: VecDeque::new(),
        }
    }

    /// The client's address as the log names it.
    pub(crate) fn client_ip(&self) -> IpAddr {
        self.client_ip.to_canonical()
    }

    /// From now on the log names the client `ip` (a trusted proxy said so at the upgrade).
    pub(crate) fn set_client_ip(&mut self, ip: IpAddr) {
        self.client_ip = as_v6(ip);
    }

    /// Queues the error line of a failed connection.
    pub(crate) fn push_error(&mut self, error: ConnectionError) {
        self.push_event(Event::Error {
            ip: self.client_ip(),
            error,
        });
    }

    /// The buffer to append frames and responses to.
    pub(crate) fn bytes_mut(&mut self) -> &mut Vec<u8> {
        &mut self.bytes
    }

    /// Puts `bytes` before every unsent byte: the rest of a frame whose start another writer
    /// already gave the socket.
    pub(crate) fn insert_unsent_front(&mut self, bytes: &[u8]) {
        self.bytes
            .splice(self.sent..self.sent, bytes.iter().copied());
    }

    /// Unsent bytes.
    pub(crate) fn unsent(&self) -> &[u8] {
        self.bytes.get(self.sent..).unwrap_or_default()
    }

    pub(crate) fn unsent_len(&self) -> usize {
        self.bytes.len() - self.sent
    }

    /// Drops everything not yet written (the socket is gone or given up on); held-back events
    /// are released as of `now`.
    pub(crate) fn discard_unsent(&mut self, now: Instant) {
        self.written_total += self.bytes.len() as u64;
        self.bytes = Vec::new();
        self.sent = 0;
        self.release_pending(now);
    }

    /// Stream offset just past everything queued so far.
    fn queued_end(&self) -> u64 {
        self.written_total + self.bytes.len() as u64
    }

    /// Stream offset just past everything written so far.
    fn written_end(&self) -> u64 {
        self.written_total + self.sent as u64
    }

    /// Queues an access-log entry for the response just appended.
    pub(crate) fn push_access(&mut self, started: Instant, entry: AccessLog) {
        let end = self.queued_end();
        self.pending.push_back(Pending {
            end,
            started: Some(started),
            event: Event::Request(entry),
        });
    }

    /// Queues an event, behind any access-log line still waiting for its response.
    pub(crate) fn push_event(&mut self, event: Event) {
        if self.pending.is_empty() {
            self.events.push_back(event);
        } else {
            let end = self.queued_end();
            self.pending.push_back(Pending {
                end,
                started: None,
                event,
            });
        }
    }

    pub(crate) fn pop_event(&mut self) -> Option<Event> {
        let event = self.events.pop_front();
        if event.is_none() && self.events.capacity() > 0 {
            self.events = VecDeque::new();
        }
        event
    }

    /// The socket took `n` more bytes at `now`: releases the events waiting for them and frees
    /// the buffer once drained.
    pub(crate) fn handle_written(&mut self, now: Instant, n: usize) {
        self.sent += n.min(self.unsent_len());
        self.release_pending(now);
        if self.sent == self.bytes.len() {
            self.written_total += self.sent as u64;
            self.sent = 0;
            if self.bytes.capacity() > KEEP_CAPACITY {
                self.bytes = Vec::new();
            } else {
                self.bytes.clear();
            }
        }
    }

    /// Frees what a quiet connection does not need.
    pub(crate) fn shrink(&mut self) {
        if self.unsent_len() == 0 && self.bytes.capacity() > 0 {
            self.written_total += self.sent as u64;
            self.bytes = Vec::new();
            self.sent = 0;
        }
    }

    /// Moves held-back events whose output is written to the event queue.
    fn release_pending(&mut self, now: Instant) {
        let written = self.written_end();
        while self.pending.front().is_some_and(|p| p.end <= written) {
            if let Some(Pending {
                started, mut event, ..
            }) = self.pending.pop_front()
            {
                if let (Event::Request(entry), Some(started)) = (&mut event, started) {
                    entry.elapsed = now.saturating_duration_since(started);
                }
                self.events.push_back(event);
            }
        }
        if self.pending.is_empty() && self.pending.capacity() > 0 {
            self.pending = VecDeque::new();
        }
    }
}

/// `ip` as IPv6: itself, or the IPv4-mapped form that [`Ipv6Addr::to_canonical`] turns back.
fn as_v6(ip: IpAddr) -> Ipv6Addr {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    }
}
