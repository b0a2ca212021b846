//! The chat room's loads in the comparison: their summaries, their progress lines and their
//! section of BENCHMARKS.md. Apart from the Socket.IO loads because the chat room stores every
//! line (SQLite here) and caps rooms at 10 members, so its figures answer another question
//! (what a stored, relayed line costs), and only ours serve it: the peers have no chat app.

use std::fmt::Write as _;

use serde::Serialize;

use super::summary::{Row, Spread};
use super::Plan;
use crate::report::Report;

/// `chat-post` or `chat-socket`, summarised.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ChatLines {
    pub members: Spread,
    pub connected: Spread,
    pub dropped: Spread,
    /// Lines stored (`200` or `ok` ack) per second.
    pub chats_per_sec: Spread,
    pub deliveries_per_sec: Spread,
    /// Deliveries owed for the tracked lines that never arrived.
    pub lost: Spread,
    /// Send → `200` or ack, ms.
    pub answer_p50_ms: Spread,
    pub answer_p99_ms: Spread,
    /// Send → receipt of the `chat` event by each member, ms.
    pub latency_p50_ms: Spread,
    pub latency_p99_ms: Spread,
    pub cpu_us_per_chat: Spread,
    pub cpu_us_per_delivery: Spread,
    pub errors: Spread,
    pub client_cpu_s: Spread,
}

/// `chat-page`, summarised.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ChatPage {
    pub pages_per_sec: Spread,
    pub latency_p50_ms: Spread,
    pub latency_p99_ms: Spread,
    pub cpu_us_per_page: Spread,
    /// Lines the room page showed.
    pub history_lines: Spread,
    pub errors: Spread,
}

fn spread(reports: &[Report], f: impl Fn(&Report) -> Option<f64>) -> Spread {
    Spread::of(reports.iter().filter_map(f)).unwrap_or_default()
}

fn cpu_window_s(r: &Report) -> Option<f64> {
    r.server.as_ref().map(|s| s.cpu_window_s)
}

/// Server CPU in the window per stored line, µs.
pub fn cpu_us_per_chat(r: &Report) -> Option<f64> {
    (r.chats_stored > 0).then(|| cpu_window_s(r).map(|s| s * 1e6 / r.chats_stored as f64))?
}

/// Server CPU in the window per delivered line, µs.
pub fn cpu_us_per_delivery(r: &Report) -> Option<f64> {
    (r.deliveries > 0).then(|| cpu_window_s(r).map(|s| s * 1e6 / r.deliveries as f64))?
}

/// Server CPU in the window per page, µs.
pub fn cpu_us_per_page(r: &Report) -> Option<f64> {
    (r.requests > 0).then(|| cpu_window_s(r).map(|s| s * 1e6 / r.requests as f64))?
}

fn lost(r: &Report) -> f64 {
    r.deliveries_expected.saturating_sub(r.deliveries_tracked) as f64
}

/// Summarises the reports of `chat-post` or `chat-socket`.
pub fn lines(reports: &[Report]) -> Option<ChatLines> {
    (!reports.is_empty()).then(|| ChatLines {
        members: spread(reports, |r| Some(r.connections as f64)),
        connected: spread(reports, |r| Some(r.connected as f64)),
        dropped: spread(reports, |r| Some(r.dropped as f64)),
        chats_per_sec: spread(reports, |r| Some(r.chats_per_sec)),
        deliveries_per_sec: spread(reports, |r| Some(r.deliveries_per_sec)),
        lost: spread(reports, |r| Some(lost(r))),
        answer_p50_ms: spread(reports, |r| r.rtt_ms.map(|p| p.p50)),
        answer_p99_ms: spread(reports, |r| r.rtt_ms.map(|p| p.p99)),
        latency_p50_ms: spread(reports, |r| r.latency_ms.map(|p| p.p50)),
        latency_p99_ms: spread(reports, |r| r.latency_ms.map(|p| p.p99)),
        cpu_us_per_chat: spread(reports, cpu_us_per_chat),
        cpu_us_per_delivery: spread(reports, cpu_us_per_delivery),
        errors: spread(reports, |r| Some(r.errors as f64)),
        client_cpu_s: spread(reports, |r| Some(r.client_cpu_s)),
    })
}

/// Summarises the reports of `chat-page`.
pub fn page(reports: &[Report]) -> Option<ChatPage> {
    (!reports.is_empty()).then(|| ChatPage {
        pages_per_sec: spread(reports, |r| Some(r.requests_per_sec)),
        latency_p50_ms: spread(reports, |r| r.rtt_ms.map(|p| p.p50)),
        latency_p99_ms: spread(reports, |r| r.rtt_ms.map(|p| p.p99)),
        cpu_us_per_page: spread(reports, cpu_us_per_page),
        history_lines: spread(reports, |r| Some(r.history_lines as f64)),
        errors: spread(reports, |r| Some(r.errors as f64)),
    })
}

/// A progress line for a chat report (`page` for `chat-page`).
pub fn one_line(page: bool, r: &Report) -> String {
    if page {
        let lat = r.rtt_ms.unwrap_or_default();
        return format!(
            "{:.0} pages/s, p50/p99 {:.2}/{:.2} ms, {:.1} µs CPU/page, {} history lines",
            r.requests_per_sec,
            lat.p50,
            lat.p99,
            cpu_us_per_page(r).unwrap_or(0.0),
            r.history_lines
        );
    }
    let lat = r.latency_ms.unwrap_or_default();
    format!(
        "{}/{} members, {:.0} chats/s, {:.0} deliveries/s, lost {}/{}, latency p50/p99 {:.2}/{:.2} ms, \
         {:.1} µs CPU/chat, client CPU {:.2} s",
        r.connected,
        r.connections,
        r.chats_per_sec,
        r.deliveries_per_sec,
        lost(r),
        r.deliveries_expected,
        lat.p50,
        lat.p99,
        cpu_us_per_chat(r).unwrap_or(0.0),
        r.client_cpu_s
    )
}

/// `median (min–max)` as the other tables write it.
fn sp(s: Spread, digits: usize) -> String {
    if s.n == 0 {
        return "—".into();
    }
    let (median, min, max) = (
        format!("{:.digits$}", s.median),
        format!("{:.digits$}", s.min),
        format!("{:.digits$}", s.max),
    );
    if min == max {
        median
    } else {
        format!("{median} ({min}–{max})")
    }
}

/// The chat room's section of the results: ours, and one line per peer saying it has no chat
/// app. Left out when no chat load ran.
pub fn results(out: &mut String, rows: &[Row], plan: &Plan) {
    let ran = |r: &Row| r.chat_post.is_some() || r.chat_socket.is_some() || r.chat_page.is_some();
    if !rows.iter().any(ran) {
        return;
    }
    let chat = &plan.chat;
    let pace = if chat.rate > 0.0 {
        format!("{} lines/s each", chat.rate)
    } else {
        "each line as soon as the last was answered".to_owned()
    };
    let _ = writeln!(
        out,
        "\n### The chat room (ours only: the peers have no chat app)\n\n\
         The chat room stores every line (SQLite, `DATABASE_URL=sqlite://<temp>/bench.db`, \
         `CHAT_RATE=100000/100000`) before it goes to the room. {} rooms of {} members, each \
         member posting ({pace}) for {} s; every member's `/chat` socket receives every line of \
         its room. *Answer* = send → `200` or ack; *latency* = send → the `chat` event at each \
         member.\n\n\
         | server | via | members | chats/s stored | deliveries/s | lost | answer p50 / p99 (ms) \
         | latency p50 / p99 (ms) | CPU per chat (µs) | CPU per delivery (µs) | errors |\n\
         |---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
        chat.rooms, chat.members, chat.seconds
    );
    for row in rows {
        if !row.ours {
            let _ = writeln!(
                out,
                "| {} | — | no chat app | — | — | — | — | — | — | — | — |",
                row.label
            );
            continue;
        }
        for (via, lines) in [
            ("`POST /room/<id>/chat`", &row.chat_post),
            ("socket `chat` + ack", &row.chat_socket),
        ] {
            let Some(l) = lines else { continue };
            let _ = writeln!(
                out,
                "| {} | {via} | {}/{} | {} | {} | {} | {} / {} | {} / {} | {} | {} | {} |",
                row.label,
                sp(l.connected, 0),
                sp(l.members, 0),
                sp(l.chats_per_sec, 0),
                sp(l.deliveries_per_sec, 0),
                sp(l.lost, 0),
                sp(l.answer_p50_ms, 2),
                sp(l.answer_p99_ms, 2),
                sp(l.latency_p50_ms, 2),
                sp(l.latency_p99_ms, 2),
                sp(l.cpu_us_per_chat, 1),
                sp(l.cpu_us_per_delivery, 1),
                sp(l.errors, 0),
            );
        }
    }
    let _ = writeln!(
        out,
        "\n{} keep-alive visitors loading `GET /rooms` ({} rooms listed) and `GET /room/<id>` \
         ({} lines posted, the page shows the last `CHAT_HISTORY_LIMIT`) in turn, {} s.\n\n\
         | server | pages/s | latency p50 / p99 (ms) | CPU per page (µs) | history lines shown \
         | errors |\n|---|--:|--:|--:|--:|--:|",
        chat.page_connections, chat.page_rooms, chat.history, chat.seconds
    );
    for row in rows {
        match (&row.chat_page, row.ours) {
            (_, false) => {
                let _ = writeln!(out, "| {} | no chat app | — | — | — | — |", row.label);
            }
            (Some(p), true) => {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} / {} | {} | {} | {} |",
                    row.label,
                    sp(p.pages_per_sec, 0),
                    sp(p.latency_p50_ms, 2),
                    sp(p.latency_p99_ms, 2),
                    sp(p.cpu_us_per_page, 1),
                    sp(p.history_lines, 0),
                    sp(p.errors, 0),
                );
            }
            (None, true) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::procstat::ServerStats;

    #[test]
    fn per_chat_and_per_page_costs_divide_the_window_cpu() {
        let report = Report {
            chats_stored: 2000,
            deliveries: 20_000,
            requests: 500,
            server: Some(ServerStats {
                cpu_window_s: 1.0,
                ..ServerStats::default()
            }),
            ..Report::default()
        };
        assert_eq!(cpu_us_per_chat(&report), Some(500.0));
        assert_eq!(cpu_us_per_delivery(&report), Some(50.0));
        assert_eq!(cpu_us_per_page(&report), Some(2000.0));
        assert_eq!(cpu_us_per_chat(&Report::default()), None);
        let summary = lines(&[report.clone(), report]).unwrap_or_default();
        assert_eq!(summary.cpu_us_per_chat.median, 500.0);
        assert!(lines(&[]).is_none());
    }

    #[test]
    fn the_section_shows_ours_and_says_the_peers_have_no_chat_app() {
        use crate::compare::servers::Kind;
        use crate::compare::{run_key, summary, Load, Results};
        let mut results = Results::default();
        let report = Report {
            mode: "chat-post".into(),
            connections: 6,
            connected: 6,
            chats_per_sec: 1234.0,
            ..Report::default()
        };
        results
            .runs
            .insert(run_key(Kind::Mio, Load::ChatPost), vec![report]);
        let rows = summary::rows(&results, &[Kind::Mio, Kind::Node]);
        let mut out = String::new();
        results_section(&mut out, &rows);
        assert!(
            out.contains("| runtime-mio | `POST /room/<id>/chat` | 6/6 | 1234 |"),
            "{out}"
        );
        assert!(
            out.contains("| node-seed (Express + ws) | — | no chat app |"),
            "{out}"
        );
        let mut none = String::new();
        results_section(&mut none, &summary::rows(&Results::default(), &[Kind::Mio]));
        assert!(none.is_empty(), "{none}");
    }

    fn results_section(out: &mut String, rows: &[Row]) {
        results(out, rows, &Plan::quick());
    }
}
