//! The one JSON line a load run prints, and how the workers' lines merge into it.
//!
//! Counts add up across workers; latency histograms merge and only then become percentiles, so
//! a p99 over three worker processes is the p99 of all samples, not an average of p99s.

use serde::{Deserialize, Serialize};

use crate::histogram::{Histogram, Percentiles};
use crate::procstat::ServerStats;

/// Results of one load run (or, with histograms, of one worker).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The loadgen mode (`ticks`, `echo`, `churn`, `http`, `sio-idle`, …).
    pub mode: String,
    pub url: String,
    /// Connections (or concurrent loops) asked for.
    pub connections: u64,
    /// Length of the measured window in seconds.
    pub seconds: f64,
    pub processes: u32,
    /// Connections that completed their handshake.
    pub connected: u64,
    /// Connections that could not be made.
    pub connect_failed: u64,
    /// Connections lost before the end of the run.
    pub dropped: u64,
    /// Ticks received in the window.
    pub ticks_received: u64,
    /// Ticks the connections open in the window should have received.
    pub ticks_expected: u64,
    /// Replies sent to ticks in the window.
    pub replies_sent: u64,
    /// How far each gap between two ticks strayed from the interval.
    pub tick_deviation_ms: Option<Percentiles>,
    /// Echo: replies received in the window.
    pub messages: u64,
    pub msgs_per_sec: f64,
    /// Echo: time from sending a message to receiving its echo (chat room: a line's send to its
    /// `200` or ack; chat page: a request to its whole response).
    pub rtt_ms: Option<Percentiles>,
    /// Churn: handshakes completed in the window.
    pub handshakes: u64,
    pub handshakes_per_sec: f64,
    /// Churn: handshakes whose close handshake also completed.
    pub clean_closes: u64,
    /// HTTP: responses received in the window.
    pub requests: u64,
    pub requests_per_sec: f64,
    /// Socket.IO: `chat` events sent (fan-out: by the rooms' senders; polling: by every session;
    /// chat room: lines posted or emitted by every member).
    #[serde(default)]
    pub events_sent: u64,
    /// Socket.IO polling: events that came back in the window.
    #[serde(default)]
    pub events: u64,
    /// Fan-out: events received by members in the window.
    #[serde(default)]
    pub deliveries: u64,
    #[serde(default)]
    pub deliveries_per_sec: f64,
    /// Fan-out: deliveries owed for the events sent in the tracked part of the window (each
    /// such event times its room's size), and how many of those arrived.
    #[serde(default)]
    pub deliveries_expected: u64,
    #[serde(default)]
    pub deliveries_tracked: u64,
    /// Fan-out and chat room: time from an event's send to its receipt, over the tracked
    /// deliveries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<Percentiles>,
    /// Chat room: lines the room stored (`200` to the POST, `ok` ack) in the window, and the
    /// rate.
    #[serde(default)]
    pub chats_stored: u64,
    #[serde(default)]
    pub chats_per_sec: f64,
    /// Chat page: the lines of history the room page showed (the most any loader saw).
    #[serde(default)]
    pub history_lines: u64,
    /// Write floor: writes timed, and CPU per write in µs.
    #[serde(default)]
    pub writes: u64,
    #[serde(default)]
    pub floor_us_per_write: f64,
    /// Write floor with every receiving end watched by a reader waiting in epoll, as a real
    /// client's is: CPU per write in µs, the receiver's wake-up included.
    #[serde(default)]
    pub floor_waiting_us_per_write: f64,
    /// Write floor over as many pairs as the fan-out load has sessions (idle receivers): the
    /// same write with its socket's state cold in the caches, as each of a fan-out's is.
    #[serde(default)]
    pub floor_load_us_per_write: f64,
    /// Anything that went wrong (first few messages), for the reader.
    pub errors: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub error_samples: Vec<String>,
    /// CPU seconds the load generator itself used in the window (all workers): when it is
    /// close to the window's length, the client, not the server, set the rate.
    #[serde(default)]
    pub client_cpu_s: f64,
    /// The server as seen from /proc, when `--server-pid` was given.
    pub server: Option<ServerStats>,
    /// Which repeat of `compare` measured this (set by `compare`, not by `loadgen`): ratios
    /// between servers are taken within one repeat, never across.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat: Option<usize>,
    /// Raw samples, only between a worker and its parent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tick_histogram: Option<Histogram>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtt_histogram: Option<Histogram>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_histogram: Option<Histogram>,
}

/// How many error messages a report keeps.
const ERROR_SAMPLES: usize = 5;

impl Report {
    /// Notes one error.
    pub fn error(&mut self, message: impl std::fmt::Display) {
        self.errors += 1;
        if self.error_samples.len() < ERROR_SAMPLES {
            self.error_samples.push(message.to_string());
        }
    }

    /// Adds a worker's results to this (the parent's) report.
    pub fn absorb(&mut self, worker: &Report) {
        self.connected += worker.connected;
        self.connect_failed += worker.connect_failed;
        self.dropped += worker.dropped;
        self.ticks_received += worker.ticks_received;
        self.ticks_expected += worker.ticks_expected;
        self.replies_sent += worker.replies_sent;
        self.messages += worker.messages;
        self.handshakes += worker.handshakes;
        self.clean_closes += worker.clean_closes;
        self.requests += worker.requests;
        self.events_sent += worker.events_sent;
        self.events += worker.events;
        self.deliveries += worker.deliveries;
        self.deliveries_expected += worker.deliveries_expected;
        self.deliveries_tracked += worker.deliveries_tracked;
        self.chats_stored += worker.chats_stored;
        self.history_lines = self.history_lines.max(worker.history_lines);
        self.errors += worker.errors;
        self.client_cpu_s += worker.client_cpu_s;
        for sample in &worker.error_samples {
            if self.error_samples.len() < ERROR_SAMPLES {
                self.error_samples.push(sample.clone());
            }
        }
        merge_histogram(&mut self.tick_histogram, worker.tick_histogram.as_ref());
        merge_histogram(&mut self.rtt_histogram, worker.rtt_histogram.as_ref());
        merge_histogram(
            &mut self.latency_histogram,
            worker.latency_histogram.as_ref(),
        );
    }

    /// Turns sums and histograms into rates and percentiles; drops the raw histograms.
    pub fn finish(&mut self) {
        let seconds = self.seconds.max(f64::MIN_POSITIVE);
        self.msgs_per_sec = self.messages as f64 / seconds;
        self.handshakes_per_sec = self.handshakes as f64 / seconds;
        self.requests_per_sec = self.requests as f64 / seconds;
        self.deliveries_per_sec = self.deliveries as f64 / seconds;
        self.chats_per_sec = self.chats_stored as f64 / seconds;
        if let Some(h) = self.tick_histogram.take() {
            self.tick_deviation_ms = h.percentiles_ms();
        }
        if let Some(h) = self.rtt_histogram.take() {
            self.rtt_ms = h.percentiles_ms();
        }
        if let Some(h) = self.latency_histogram.take() {
            self.latency_ms = h.percentiles_ms();
        }
    }
}

fn merge_histogram(into: &mut Option<Histogram>, from: Option<&Histogram>) {
    if let Some(from) = from {
        into.get_or_insert_with(Histogram::new).merge(from);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_merge_into_rates_and_percentiles() {
        let mut parent = Report {
            mode: "echo".into(),
            seconds: 2.0,
            ..Report::default()
        };
        for (messages, rtt) in [(100, 1000), (300, 3000)] {
            let mut h = Histogram::new();
            for _ in 0..messages {
                h.record(rtt);
            }
            let mut worker = Report {
                messages,
                connected: 4,
                rtt_histogram: Some(h),
                ..Report::default()
            };
            worker.error("boom");
            parent.absorb(&worker);
        }
        parent.finish();
        assert_eq!(parent.messages, 400);
        assert_eq!(parent.connected, 8);
        assert_eq!(parent.msgs_per_sec, 200.0);
        assert_eq!(parent.errors, 2);
        let rtt = parent.rtt_ms.unwrap_or_default();
        assert_eq!((rtt.p50, rtt.max), (3.0, 3.0));
        assert!(parent.rtt_histogram.is_none());
        let line = serde_json::to_string(&parent).unwrap_or_default();
        assert!(!line.contains("rtt_histogram"), "{line}");
        assert_eq!(serde_json::from_str::<Report>(&line).ok(), Some(parent));
    }
}
