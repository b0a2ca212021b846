//! What a connection has to say: bytes for the socket, events for the log, and access-log
//! entries waiting for their response to be written.

use std::collections::VecDeque;
use std::time::Instant;

use crate::event::{AccessLog, Event};

/// Output buffers are given back to the allocator once drained if they grew past this: a quiet
/// connection should cost a few hundred bytes, not the size of its largest burst.
const KEEP_CAPACITY: usize = 256;

/// An access-log line waiting until its response's last byte has been written (morgan times a
/// response up to the moment it is handed to the socket).
#[derive(Debug)]
struct PendingAccess {
    /// Stream offset just past the response's last byte.
    end: u64,
    started: Instant,
    entry: AccessLog,
}

/// Pending output of one connection.
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    bytes: Vec<u8>,
    /// How much of `bytes` the socket already took.
    sent: usize,
    /// Bytes written over the connection's life, before `bytes[sent..]`.
    written_total: u64,
    events: VecDeque<Event>,
    access: VecDeque<PendingAccess>,
}

impl Outbox {
    /// The buffer to append frames and responses to.
    pub(crate) fn bytes_mut(&mut self) -> &mut Vec<u8> {
        &mut self.bytes
    }

    /// Unsent bytes.
    pub(crate) fn unsent(&self) -> &[u8] {
        self.bytes.get(self.sent..).unwrap_or_default()
    }

    pub(crate) fn unsent_len(&self) -> usize {
        self.bytes.len() - self.sent
    }

    /// Drops everything not yet written (the socket is gone or given up on).
    pub(crate) fn discard_unsent(&mut self) {
        self.bytes = Vec::new();
        self.sent = 0;
        self.access.clear();
    }

    /// Queues an access-log entry for the response just appended.
    pub(crate) fn push_access(&mut self, started: Instant, entry: AccessLog) {
        let end = self.written_total + self.bytes.len() as u64 - self.sent as u64;
        self.access.push_back(PendingAccess {
            end,
            started,
            entry,
        });
    }

    pub(crate) fn push_event(&mut self, event: Event) {
        self.events.push_back(event);
    }

    pub(crate) fn pop_event(&mut self) -> Option<Event> {
        let event = self.events.pop_front();
        if event.is_none() && self.events.capacity() > 0 {
            self.events = VecDeque::new();
        }
        event
    }

    /// The socket took `n` more bytes at `now`: completes access-log entries and frees the buffer
    /// once drained.
    pub(crate) fn handle_written(&mut self, now: Instant, n: usize) {
        let n = n.min(self.unsent_len());
        self.sent += n;
        let done_through = self.written_total + self.sent as u64;
        while let Some(pending) = self.access.front() {
            if pending.end > done_through {
                break;
            }
            if let Some(PendingAccess {
                started, mut entry, ..
            }) = self.access.pop_front()
            {
                entry.elapsed = now.saturating_duration_since(started);
                self.events.push_back(Event::Request(entry));
            }
        }
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
}
