//! What the `eio_sessions` fuzzer chooses: the engine's settings and a script of client
//! requests, WebSocket messages, runtime events, server sends and time steps, with the wire
//! forms of the client's packets. Kept apart from the harness so that the vocabulary of the
//! script reads in one place.

use std::time::Duration;

use arbitrary::Arbitrary;
use bytes::Bytes;
use gif_chat_core::engineio::{EngineConfig, Packet, Payload, WsInput};

#[derive(Arbitrary, Debug)]
pub struct Settings {
    pub ping_interval_ms: u8,
    pub ping_timeout_ms: u8,
    pub upgrade_timeout_ms: u8,
    pub close_timeout_ms: u8,
    /// Bytes, so that small values reach `TooLarge` and `BufferFull` quickly.
    pub max_payload: u16,
    pub high_water_mark: u16,
    pub allow_upgrades: bool,
}

impl Settings {
    pub fn config(&self) -> EngineConfig {
        let ms = |v: u8| Duration::from_millis(1 + u64::from(v));
        EngineConfig {
            ping_interval: ms(self.ping_interval_ms),
            ping_timeout: ms(self.ping_timeout_ms),
            max_payload: usize::from(self.max_payload % 4096),
            high_water_mark: usize::from(self.high_water_mark % 8192),
            upgrade_timeout: ms(self.upgrade_timeout_ms),
            close_timeout: ms(self.close_timeout_ms),
            allow_upgrades: self.allow_upgrades,
        }
    }
}

/// Which session a request names.
#[derive(Arbitrary, Debug)]
pub enum Who {
    /// One opened by a handshake (possibly closed or forgotten since).
    Session(u8),
    /// A well-formed sid the engine never issued.
    Forged([u8; 15]),
    /// Anything at all.
    Garbage(String),
}

/// A packet a client may put in a POST body.
#[derive(Arbitrary, Debug)]
pub enum ClientPacket {
    Pong,
    Ping,
    Message(String),
    Binary(Vec<u8>),
    Close,
    Upgrade,
    Noop,
    Open,
}

#[derive(Arbitrary, Debug)]
pub enum Body {
    Packets(Vec<ClientPacket>),
    Raw(Vec<u8>),
    /// A valid message over the maximum payload by this many bytes.
    Oversized(u8),
}

#[derive(Arbitrary, Debug)]
pub enum WsText {
    Probe,
    Upgrade,
    Pong,
    Ping,
    Close,
    Noop,
    Message(String),
    Binary(Vec<u8>),
    Garbage(Vec<u8>),
    Oversized(u8),
}

#[derive(Arbitrary, Debug)]
pub enum Op {
    OpenPolling,
    OpenWebSocket,
    Get(Who),
    Post(Who, Body),
    Upgrade(Who),
    /// Any request at all: method, query string, body, upgrade flag.
    Raw(u8, String, Vec<u8>, bool),
    /// A message on the WebSocket the runtime holds for a session (or on none: refused).
    Ws(Who, WsText),
    WsDropped(u8),
    GetAborted(u8),
    /// The WebSocket's socket stops (or resumes) taking output.
    Stall(u8, bool),
    Send(Who, bool, u16),
    SendMany(Vec<u8>, bool, u16),
    Close(Who),
    /// A punctual runtime: time passes and the due timers run.
    Wait(u16),
    /// Straight to the next deadline.
    WaitForDeadline,
    /// A late runtime: time passes, the timers have not run yet.
    Late(u16),
}

#[derive(Arbitrary, Debug)]
pub struct Script {
    pub settings: Settings,
    pub ops: Vec<Op>,
}

pub fn client_packet(packet: &ClientPacket) -> Packet {
    match packet {
        ClientPacket::Pong => Packet::Pong(Bytes::new()),
        ClientPacket::Ping => Packet::Ping(Bytes::new()),
        ClientPacket::Message(text) => Packet::Message(Payload::text(text.clone())),
        ClientPacket::Binary(bytes) => Packet::Message(Payload::Binary(Bytes::from(bytes.clone()))),
        ClientPacket::Close => Packet::Close,
        ClientPacket::Upgrade => Packet::Upgrade,
        ClientPacket::Noop => Packet::Noop,
        ClientPacket::Open => Packet::Open(Bytes::from_static(b"{}")),
    }
}

pub fn ws_input(text: &WsText, max_payload: usize) -> WsInput {
    let digit = |s: &'static [u8]| WsInput::Text(Bytes::from_static(s));
    match text {
        WsText::Probe => digit(b"2probe"),
        WsText::Upgrade => digit(b"5"),
        WsText::Pong => digit(b"3"),
        WsText::Ping => digit(b"2"),
        WsText::Close => digit(b"1"),
        WsText::Noop => digit(b"6"),
        WsText::Message(text) => WsInput::Text(Bytes::from(format!("4{text}"))),
        WsText::Binary(bytes) => WsInput::Binary(Bytes::from(bytes.clone())),
        WsText::Garbage(bytes) => WsInput::Text(Bytes::from(bytes.clone())),
        WsText::Oversized(extra) => {
            WsInput::Binary(Bytes::from(vec![
                0u8;
                max_payload + 1 + usize::from(*extra)
            ]))
        }
    }
}
