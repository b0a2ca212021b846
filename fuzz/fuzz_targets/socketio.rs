//! The Socket.IO layer driven by an arbitrary script: several Engine.IO sessions sending any
//! text or binary message, sessions closing, time passing, and the app's commands (emits to
//! rooms and namespaces, joins, server acks, admissions), with the conformance app answering
//! events, in any order.
//!
//! Checks: no panic; nothing is sent to a session after it was closed or reported gone; after
//! `handle_timeout(now)` the next deadline is later than `now`; the recovery store stays within
//! its bounds; and once every session is gone and the timeouts have passed, nothing is kept.
#![no_main]

use std::collections::HashSet;
use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use bytes::Bytes;
use gif_chat_core::engineio::{Payload, Sid};
use gif_chat_core::socketio::{
    packet::Packet, Admission, Args, CloseReason, Config, ConformanceApp, Event, RecoveryConfig,
    Server, SocketId, To, Transmit,
};
use libfuzzer_sys::fuzz_target;

const MAX_PACKETS: usize = 16;
const MAX_SESSIONS: usize = 4;

#[derive(Arbitrary, Debug)]
enum Op {
    Open,
    Text(u8, String),
    /// A likely-valid packet: `<type digit><namespace choice><rest>`.
    Packet(u8, u8, u8, String),
    Binary(u8, Vec<u8>),
    Close(u8),
    Wait(u32),
    EmitRoom(u8, bool),
    EmitNamespace(u8),
    Join(u8, u8),
    EmitWithAck(u8, u16),
    Admit(u8, bool),
}

#[derive(Arbitrary, Debug)]
struct Script {
    recovery: bool,
    ops: Vec<Op>,
}

const NAMESPACES: [&str; 4] = ["/", "/custom", "/relay", "/gate"];
const ROOMS: [&str; 3] = ["a", "b", "c"];

struct Harness {
    server: Server,
    app: ConformanceApp,
    now: Instant,
    sids: Vec<Sid>,
    gone: HashSet<Sid>,
    sockets: Vec<(usize, SocketId)>,
    next: u64,
}

impl Harness {
    fn pump(&mut self) {
        loop {
            let mut idle = true;
            while let Some(event) = self.server.poll_event() {
                idle = false;
                match &event {
                    Event::Connected { ns, socket, .. } => {
                        let ns = NAMESPACES.iter().position(|n| *n == ns.as_str()).unwrap();
                        self.sockets.push((ns, *socket));
                    }
                    Event::Disconnected { ns, socket, .. } => {
                        let ns = NAMESPACES.iter().position(|n| *n == ns.as_str()).unwrap();
                        self.sockets.retain(|s| *s != (ns, *socket));
                    }
                    _ => {}
                }
                // A refused command (a socket gone meanwhile) is fine; a panic is not.
                let _ = self.app.handle_event(self.now, &mut self.server, event);
            }
            while let Some(transmit) = self.server.poll_transmit() {
                idle = false;
                match transmit {
                    Transmit::Send { sid, .. } => assert!(!self.gone.contains(&sid)),
                    Transmit::Broadcast { sids, payloads } => {
                        assert!(!payloads.is_empty());
                        assert!(sids.iter().all(|sid| !self.gone.contains(sid)));
                    }
                    Transmit::Close { sid } => {
                        assert!(self.gone.insert(sid), "closed once");
                    }
                }
            }
            if idle {
                return;
            }
        }
    }

    fn sid(&self, i: u8) -> Option<Sid> {
        let live: Vec<Sid> = self
            .sids
            .iter()
            .copied()
            .filter(|s| !self.gone.contains(s))
            .collect();
        (!live.is_empty()).then(|| live[usize::from(i) % live.len()])
    }

    fn socket(&self, i: u8) -> Option<(usize, SocketId)> {
        (!self.sockets.is_empty()).then(|| self.sockets[usize::from(i) % self.sockets.len()])
    }
}

fuzz_target!(|script: Script| {
    // The decoder alone, on every text, must not panic either.
    let config = Config {
        recovery: script.recovery.then(|| RecoveryConfig {
            max_packets: MAX_PACKETS,
            max_sessions: MAX_SESSIONS,
            ..RecoveryConfig::default()
        }),
        max_attachments: 4,
        max_attachment_bytes: 64,
        ..Config::default()
    };
    let mut server = Server::new(config, [42; 32]);
    let app = ConformanceApp::mount(&mut server);
    server.add_namespace_with(
        "/gate",
        Admission::ByApp,
        Some(RecoveryConfig {
            max_packets: MAX_PACKETS,
            max_sessions: MAX_SESSIONS,
            ..RecoveryConfig::default()
        }),
    );
    let mut h = Harness {
        server,
        app,
        now: Instant::now(),
        sids: Vec::new(),
        gone: HashSet::new(),
        sockets: Vec::new(),
        next: 0,
    };
    for op in script.ops {
        match op {
            Op::Open => {
                h.next += 1;
                let mut random = [0; 15];
                random[..8].copy_from_slice(&h.next.to_le_bytes());
                let sid = Sid::from_random(random);
                h.sids.push(sid);
                h.server.handle_open(h.now, sid);
            }
            Op::Text(i, text) => {
                let _ = Packet::decode(&text, 4);
                if let Some(sid) = h.sid(i) {
                    h.server.handle_message(h.now, sid, Payload::text(text));
                }
            }
            Op::Packet(i, kind, ns, rest) => {
                let ns = match NAMESPACES[usize::from(ns) % 4] {
                    "/" => String::new(),
                    other => format!("{other},"),
                };
                let text = format!("{}{ns}{rest}", kind % 7);
                let _ = Packet::decode(&text, 4);
                if let Some(sid) = h.sid(i) {
                    h.server.handle_message(h.now, sid, Payload::text(text));
                }
            }
            Op::Binary(i, bytes) => {
                if let Some(sid) = h.sid(i) {
                    h.server
                        .handle_message(h.now, sid, Payload::Binary(Bytes::from(bytes)));
                }
            }
            Op::Close(i) => {
                if let Some(sid) = h.sid(i) {
                    h.gone.insert(sid);
                    h.server
                        .handle_close(h.now, sid, CloseReason::TransportClose);
                }
            }
            Op::Wait(ms) => {
                h.now += Duration::from_millis(u64::from(ms % 200_000));
                h.server.handle_timeout(h.now);
                if let Some(next) = h.server.poll_timeout() {
                    assert!(
                        next > h.now,
                        "a deadline not yet fired after handle_timeout"
                    );
                }
            }
            Op::EmitRoom(r, except) => {
                if let Some((ns, socket)) = h.socket(r) {
                    let room = ROOMS[usize::from(r) % 3];
                    let to = if except {
                        To::RoomExcept {
                            room,
                            except: socket,
                        }
                    } else {
                        To::Room(room)
                    };
                    let mut args = Args::default();
                    let placeholder = args.attach(Bytes::from_static(b"gif"));
                    args.values.push(placeholder);
                    h.server
                        .emit(h.now, NAMESPACES[ns], to, "e", &args)
                        .unwrap();
                }
            }
            Op::EmitNamespace(n) => {
                let ns = NAMESPACES[usize::from(n) % 4];
                h.server
                    .emit(h.now, ns, To::Namespace, "e", &Args::default())
                    .unwrap();
            }
            Op::Join(s, r) => {
                if let Some((ns, socket)) = h.socket(s) {
                    h.server
                        .join(NAMESPACES[ns], socket, ROOMS[usize::from(r) % 3])
                        .unwrap();
                }
            }
            Op::EmitWithAck(s, ms) => {
                if let Some((ns, socket)) = h.socket(s) {
                    let timeout = Duration::from_millis(u64::from(ms));
                    let _ = h.server.emit_with_ack(
                        h.now,
                        NAMESPACES[ns],
                        socket,
                        "q",
                        &Args::default(),
                        timeout,
                    );
                }
            }
            Op::Admit(i, yes) => {
                if let Some(sid) = h.sid(i) {
                    let _ = if yes {
                        h.server.admit(h.now, "/gate", sid).map(drop)
                    } else {
                        h.server.refuse("/gate", sid, "no")
                    };
                }
            }
        }
        h.pump();
        for ns in NAMESPACES {
            let (packets, sessions) = h.server.recovery_kept(ns);
            assert!(packets <= MAX_PACKETS && sessions <= MAX_SESSIONS);
        }
    }
    for sid in h.sids.clone() {
        if h.gone.insert(sid) {
            h.server
                .handle_close(h.now, sid, CloseReason::TransportClose);
        }
    }
    h.pump();
    h.now += Duration::from_secs(3600);
    h.server.handle_timeout(h.now);
    h.pump();
    assert_eq!(h.server.session_count(), 0);
    assert!(h.sockets.is_empty());
    for ns in NAMESPACES {
        assert_eq!(h.server.socket_count(ns), 0);
        assert_eq!(h.server.recovery_kept(ns), (0, 0));
    }
    assert_eq!(h.server.poll_timeout(), None);
});
