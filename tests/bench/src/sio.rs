//! The client side of Engine.IO v4 and Socket.IO v5, as much as the Socket.IO loads need: the
//! handshake paths, the namespace CONNECT with an auth payload, pings answered with pongs, and
//! `chat` events carrying their send time.
//!
//! The chat room's namespace (`/chat`) is read by the same parser ([`parse_in`]): its `chat`
//! events carry the send time in the line's text ([`chat_line`]), since the app stores and
//! relays only the text.
//!
//! Hand-rolled for the reason [`crate::proto`] is: at 10,000 sessions on a machine shared with
//! the server, a general client (and a JSON parser per packet) would put the client's cost into
//! the figures. Every packet the loads send is a fixed shape, so encoding is a `format!` and
//! decoding looks at a few bytes.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use thiserror::Error;

/// The namespace every server under test serves the chat app on (SPEC E8).
pub const NAMESPACE: &str = "/relay";
/// The chat room's namespace (SPEC C3), where the chat loads' members are.
pub const CHAT_NAMESPACE: &str = "/chat";
/// Separates packets in one polling payload (Engine.IO v4).
pub const RECORD_SEPARATOR: u8 = 0x1e;

/// What a Socket.IO server said that the loads cannot go on with.
#[derive(Debug, Error)]
pub enum SioError {
    #[error("expected an Engine.IO open packet, got {0:?}")]
    NoOpen(String),
    #[error("the open packet carries no sid")]
    NoSid,
    #[error("the namespace refused the CONNECT: {0:?}")]
    Refused(String),
    #[error("unexpected packet {0:?}")]
    Unexpected(String),
}

/// The path of the WebSocket transport.
pub fn ws_path() -> &'static str {
    "/socket.io/?EIO=4&transport=websocket"
}

/// The path of the polling transport, with the session id once there is one.
pub fn polling_path(sid: Option<&str>) -> String {
    match sid {
        None => "/socket.io/?EIO=4&transport=polling".to_owned(),
        Some(sid) => format!("/socket.io/?EIO=4&transport=polling&sid={sid}"),
    }
}

/// The room a session joins: sessions `0..n` spread over `rooms` rooms, consecutive numbers in
/// different rooms so that every worker process holds members of every room.
pub fn room_of(index: usize, rooms: usize) -> usize {
    index % rooms.max(1)
}

/// How many of `sessions` sessions [`room_of`] puts in `room`.
pub fn room_size(room: usize, sessions: usize, rooms: usize) -> usize {
    let rooms = rooms.max(1);
    sessions / rooms + usize::from(room < sessions % rooms)
}

/// The CONNECT to [`NAMESPACE`] joining room `r<room>`.
pub fn connect_packet(room: usize) -> String {
    format!("40{NAMESPACE},{{\"room\":\"r{room}\"}}")
}

/// The CONNECT to `namespace` with `auth` (a JSON object).
pub fn connect_packet_in(namespace: &str, auth: &str) -> String {
    format!("40{namespace},{auth}")
}

/// The DISCONNECT from [`NAMESPACE`].
pub fn disconnect_packet() -> String {
    disconnect_packet_in(NAMESPACE)
}

/// The DISCONNECT from `namespace`.
pub fn disconnect_packet_in(namespace: &str) -> String {
    format!("41{namespace},")
}

/// The text of a chat room line sent at `sent_us` by member `from` (`tracked` as in
/// [`chat_packet`]): plain words, since the room stores and relays the text as it is.
pub fn chat_line(sent_us: u64, from: usize, tracked: bool) -> String {
    format!("t={sent_us} k={} from={from}", u8::from(tracked))
}

/// The room's `chat` event with ack id `ack`, carrying `line` (a [`chat_line`]).
pub fn room_chat_packet(ack: u64, line: &str) -> String {
    format!("42{CHAT_NAMESPACE},{ack}[\"chat\",{{\"chat\":\"{line}\"}}]")
}

/// A `chat` event sent at `sent_us` (µs since the Unix epoch) by session `from`; `tracked`
/// marks an event every member must receive (the sender decides, so that every receiver, in
/// whatever process, counts the same events).
pub fn chat_packet(sent_us: u64, from: usize, tracked: bool) -> String {
    let k = u8::from(tracked);
    format!("42{NAMESPACE},[\"chat\",{{\"t\":{sent_us},\"from\":{from},\"k\":{k}}}]")
}

/// Microseconds since the Unix epoch: the send time a `chat` carries. The wall clock, because
/// sender and receiver may be different processes; on one machine they read the same clock.
pub fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// A load's window in wall-clock µs (the clock events carry their send time on), its tracked
/// part only: `[start, end − tail)`; events sent in the tail are not owed to every member.
pub fn tracked_us(start: Instant, end: Instant, tail: Duration) -> (u64, u64) {
    let now = Instant::now();
    let wall = now_us();
    let at = |t: Instant| {
        if t >= now {
            wall + t.duration_since(now).as_micros() as u64
        } else {
            wall.saturating_sub(now.duration_since(t).as_micros() as u64)
        }
    };
    (at(start), at(end.checked_sub(tail).unwrap_or(start)))
}

/// One Engine.IO packet from the server, as far as the loads care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packet<'a> {
    /// `0{...}`: the session is open; carries the sid.
    Open(&'a str),
    /// `2`: answer with `3`.
    Ping,
    /// `40/relay,{...}`: the namespace accepted the CONNECT.
    Connected,
    /// `44/relay,{...}`: it refused.
    ConnectError(&'a str),
    /// A `chat` event, with its send time when it carries one.
    Chat(Chat),
    /// `43/ns,<id>[...]`: an ack; whether it says `"ok":true`.
    Ack(u64, bool),
    /// `1`: the server closes the session; `41/relay,`: it disconnected us from the namespace.
    Closed,
    /// Anything else (other events, noop `6`, a `left` notice).
    Other,
}

/// What a `chat` event carries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Chat {
    /// µs since the Unix epoch (0 when the event carries none).
    pub sent_us: u64,
    /// Its sender marked it as owed to every member (see [`chat_packet`]).
    pub tracked: bool,
}

/// Reads one packet (a WebSocket text message, or one record of a polling payload) of
/// [`NAMESPACE`].
pub fn parse(packet: &[u8]) -> Packet<'_> {
    parse_in(packet, NAMESPACE)
}

/// Reads one packet of `namespace`.
pub fn parse_in<'a>(packet: &'a [u8], namespace: &str) -> Packet<'a> {
    let text = std::str::from_utf8(packet).unwrap_or_default();
    match packet {
        [b'0', ..] => Packet::Open(text.get(1..).unwrap_or_default()),
        [b'2'] => Packet::Ping,
        [b'1', ..] => Packet::Closed,
        [b'4', b'0', ..] => Packet::Connected,
        [b'4', b'1', ..] => Packet::Closed,
        [b'4', b'4', ..] => Packet::ConnectError(namespace_body(text, namespace).unwrap_or(text)),
        [b'4', b'2', ..] => match namespace_body(text, namespace) {
            Some(body) if body.starts_with("[\"chat\"") => Packet::Chat(Chat {
                sent_us: send_time(body).or_else(|| line_time(body)).unwrap_or(0),
                tracked: body.contains("\"k\":1") || body.contains(" k=1 "),
            }),
            _ => Packet::Other,
        },
        [b'4', b'3', ..] => match namespace_body(text, namespace) {
            Some(body) => {
                let end = body.find('[').unwrap_or(0);
                match body.get(..end).and_then(|id| id.parse().ok()) {
                    Some(id) => Packet::Ack(id, body.contains("\"ok\":true")),
                    None => Packet::Other,
                }
            }
            None => Packet::Other,
        },
        _ => Packet::Other,
    }
}

/// The body of a `4x/ns,...` packet (empty for `4x/ns`).
fn namespace_body<'a>(text: &'a str, namespace: &str) -> Option<&'a str> {
    let rest = text.get(2..)?.strip_prefix(namespace)?;
    Some(rest.strip_prefix(',').unwrap_or(rest))
}

/// The `"t":` number of a `chat` event's body.
fn send_time(body: &str) -> Option<u64> {
    let at = body.find("\"t\":")? + 4;
    let digits = body.get(at..)?;
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    digits.get(..end)?.parse().ok()
}

/// The send time of a chat room line ([`chat_line`]) in a `chat` event's body.
fn line_time(body: &str) -> Option<u64> {
    const KEY: &str = "\"chat\":\"t=";
    let at = body.find(KEY)? + KEY.len();
    let digits = body.get(at..)?;
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    digits.get(..end)?.parse().ok()
}

/// The `sid` of an open packet's JSON.
pub fn open_sid(json: &str) -> Result<String, SioError> {
    let value: serde_json::Value =
        serde_json::from_str(json).map_err(|_| SioError::NoOpen(json.to_owned()))?;
    value
        .get("sid")
        .and_then(|s| s.as_str())
        .map(str::to_owned)
        .ok_or(SioError::NoSid)
}

/// The packets of a polling payload.
pub fn records(payload: &[u8]) -> impl Iterator<Item = &[u8]> {
    payload
        .split(|b| *b == RECORD_SEPARATOR)
        .filter(|r| !r.is_empty())
}

/// A polling `POST` of `body` on a keep-alive connection.
pub fn post_request(host: &str, path: &str, body: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: text/plain;charset=UTF-8\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packets_parse() {
        assert_eq!(parse(b"0{\"sid\":\"a\"}"), Packet::Open("{\"sid\":\"a\"}"));
        assert_eq!(parse(b"2"), Packet::Ping);
        assert_eq!(parse(b"40/relay,{\"sid\":\"x\"}"), Packet::Connected);
        assert_eq!(
            parse(b"44/relay,{\"message\":\"no\"}"),
            Packet::ConnectError("{\"message\":\"no\"}")
        );
        let chat = chat_packet(1_700_000_000_123_456, 7, true);
        assert_eq!(
            parse(chat.as_bytes()),
            Packet::Chat(Chat {
                sent_us: 1_700_000_000_123_456,
                tracked: true
            })
        );
        let untracked = chat_packet(5, 1, false);
        assert_eq!(
            parse(untracked.as_bytes()),
            Packet::Chat(Chat {
                sent_us: 5,
                tracked: false
            })
        );
        assert_eq!(
            parse(b"42/relay,[\"chat\",\"hi\"]"),
            Packet::Chat(Chat::default())
        );
        assert_eq!(parse(b"42/relay,[\"left\",\"x\"]"), Packet::Other);
        assert_eq!(parse(b"42[\"chat\",1]"), Packet::Other);
        assert_eq!(parse(b"41/relay,"), Packet::Closed);
        assert_eq!(parse(b"1"), Packet::Closed);
        assert_eq!(parse(b"6"), Packet::Other);
    }

    #[test]
    fn chat_room_packets_parse() {
        let line = chat_line(1_700_000_000_000_001, 3, true);
        let event = format!(
            "42/chat,[\"chat\",{{\"_id\":\"9\",\"chat\":\"{line}\",\"room\":\"r\",\"user\":\"#aabbcc\"}}]"
        );
        assert_eq!(
            parse_in(event.as_bytes(), CHAT_NAMESPACE),
            Packet::Chat(Chat {
                sent_us: 1_700_000_000_000_001,
                tracked: true
            })
        );
        assert_eq!(parse(event.as_bytes()), Packet::Other);
        let untracked = chat_line(7, 1, false);
        let event = format!("42/chat,[\"chat\",{{\"chat\":\"{untracked}\"}}]");
        assert_eq!(
            parse_in(event.as_bytes(), CHAT_NAMESPACE),
            Packet::Chat(Chat {
                sent_us: 7,
                tracked: false
            })
        );
        assert_eq!(
            parse_in(b"43/chat,12[{\"ok\":true}]", CHAT_NAMESPACE),
            Packet::Ack(12, true)
        );
        assert_eq!(
            parse_in(b"43/chat,3[{\"error\":\"x\"}]", CHAT_NAMESPACE),
            Packet::Ack(3, false)
        );
        assert_eq!(
            parse_in(b"42/chat,[\"members\",{}]", CHAT_NAMESPACE),
            Packet::Other
        );
        assert_eq!(
            room_chat_packet(4, "t=1 k=0 from=2"),
            "42/chat,4[\"chat\",{\"chat\":\"t=1 k=0 from=2\"}]"
        );
    }

    #[test]
    fn sids_and_records() {
        let open = "{\"sid\":\"lv_VI97HAXpY6yYWAAAC\",\"upgrades\":[\"websocket\"]}";
        assert_eq!(open_sid(open).ok().as_deref(), Some("lv_VI97HAXpY6yYWAAAC"));
        assert!(matches!(open_sid("{}"), Err(SioError::NoSid)));
        assert!(open_sid("x").is_err());
        let payload = b"2\x1e42/relay,[\"chat\",{\"t\":5}]\x1e";
        let got: Vec<&[u8]> = records(payload).collect();
        assert_eq!(got, [&b"2"[..], &b"42/relay,[\"chat\",{\"t\":5}]"[..]]);
    }

    #[test]
    fn rooms_cover_every_session() {
        for (n, r) in [(5000, 50), (10_000, 100), (7, 3), (2, 5), (5000, 1)] {
            let sizes: usize = (0..r).map(|room| room_size(room, n, r)).sum();
            assert_eq!(sizes, n);
            for room in 0..r {
                let members = (0..n).filter(|&i| room_of(i, r) == room).count();
                assert_eq!(members, room_size(room, n, r));
            }
        }
        assert_eq!(connect_packet(3), "40/relay,{\"room\":\"r3\"}");
    }
}
