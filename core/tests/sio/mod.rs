//! A tiny in-memory "engine" under a Socket.IO [`Server`]: sessions are numbered sids, payloads
//! go in as the official test suite writes them (`42[...]`, the Engine.IO message type `4`
//! first) and come out the same way, and the clock only moves when the test says so. The
//! conformance app runs above the server, as it will in a runtime with `CONFORMANCE=true`.
#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use gif_chat_core::engineio::{Payload, Sid};
use gif_chat_core::socketio::{
    CloseReason, Config, ConformanceApp, Event, RecoveryConfig, Server, Transmit,
};

/// What a client received, as the test suite sees a WebSocket message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Msg {
    /// A text message with its Engine.IO type (`4` for a Socket.IO packet).
    Text(String),
    Binary(Vec<u8>),
}

pub fn text(s: &str) -> Msg {
    Msg::Text(s.to_owned())
}

pub struct Engine {
    pub server: Server,
    pub app: Option<ConformanceApp>,
    pub t0: Instant,
    pub now: Instant,
    next_sid: u64,
    inbox: HashMap<Sid, Vec<Msg>>,
    pub closed: HashSet<Sid>,
    /// Every event the server raised, in order (the app saw them first).
    pub events: Vec<Event>,
    /// How many `Transmit::Broadcast`s came out (each encoded once).
    pub broadcasts: usize,
}

/// The conformance server: the app's namespaces, recovery off (the suite expects a CONNECT
/// answer with `sid` alone).
pub fn conformance() -> Engine {
    let config = Config {
        recovery: None,
        ..Config::default()
    };
    let mut server = Server::new(config, [7; 32]);
    let app = ConformanceApp::mount(&mut server);
    Engine::new(server, Some(app))
}

/// A server with recovery on and the given bounds, `/` and `/chat`, no app.
pub fn with_recovery(recovery: RecoveryConfig) -> Engine {
    let config = Config {
        recovery: Some(recovery),
        ..Config::default()
    };
    let mut server = Server::new(config, [9; 32]);
    server.add_namespace("/chat");
    Engine::new(server, None)
}

/// A server with these settings, `/` and `/chat`, no app.
pub fn plain(config: Config) -> Engine {
    let mut server = Server::new(config, [3; 32]);
    server.add_namespace("/chat");
    Engine::new(server, None)
}

impl Engine {
    pub fn new(server: Server, app: Option<ConformanceApp>) -> Engine {
        let t0 = Instant::now();
        Engine {
            server,
            app,
            t0,
            now: t0,
            next_sid: 0,
            inbox: HashMap::new(),
            closed: HashSet::new(),
            events: Vec::new(),
            broadcasts: 0,
        }
    }

    /// Opens a new Engine.IO session.
    pub fn open(&mut self) -> Sid {
        self.next_sid += 1;
        let mut random = [0xa5; 15];
        random[..8].copy_from_slice(&self.next_sid.to_le_bytes());
        let sid = Sid::from_random(random);
        self.server.handle_open(self.now, sid);
        self.pump();
        sid
    }

    /// The client sends a text message as the suite writes it: `4` then the Socket.IO packet.
    pub fn send(&mut self, sid: Sid, message: &str) {
        let packet = message
            .strip_prefix('4')
            .expect("a Socket.IO packet travels in an Engine.IO message (type 4)");
        self.server
            .handle_message(self.now, sid, Payload::text(packet));
        self.pump();
    }

    /// The client sends a binary message.
    pub fn send_binary(&mut self, sid: Sid, bytes: &[u8]) {
        self.server.handle_message(
            self.now,
            sid,
            Payload::Binary(bytes::Bytes::copy_from_slice(bytes)),
        );
        self.pump();
    }

    /// The engine reports the session gone.
    pub fn drop_session(&mut self, sid: Sid, reason: CloseReason) {
        self.server.handle_close(self.now, sid, reason);
        self.pump();
    }

    /// Lets the server and the app run until neither has anything left to say.
    pub fn pump(&mut self) {
        loop {
            let mut idle = true;
            while let Some(event) = self.server.poll_event() {
                idle = false;
                self.events.push(event.clone());
                if let Some(app) = &mut self.app {
                    app.handle_event(self.now, &mut self.server, event)
                        .expect("the conformance app's commands succeed");
                }
            }
            while let Some(transmit) = self.server.poll_transmit() {
                idle = false;
                match transmit {
                    Transmit::Send { sid, payload } => self.deliver(sid, &payload),
                    Transmit::Broadcast { sids, payloads } => {
                        self.broadcasts += 1;
                        for sid in sids {
                            for payload in &payloads {
                                self.deliver(sid, payload);
                            }
                        }
                    }
                    Transmit::Close { sid } => {
                        self.closed.insert(sid);
                    }
                }
            }
            if idle {
                return;
            }
        }
    }

    fn deliver(&mut self, sid: Sid, payload: &Payload) {
        assert!(
            !self.closed.contains(&sid),
            "no payload after a session is closed"
        );
        let msg = match payload {
            Payload::Text(_) => Msg::Text(format!("4{}", payload.as_text().unwrap())),
            Payload::Binary(bytes) => Msg::Binary(bytes.to_vec()),
        };
        self.inbox.entry(sid).or_default().push(msg);
    }

    /// Moves the clock, firing every deadline on the way, at its time.
    pub fn advance(&mut self, by: Duration) {
        let until = self.now + by;
        while let Some(at) = self.server.poll_timeout().filter(|at| *at <= until) {
            self.now = self.now.max(at);
            self.server.handle_timeout(self.now);
            self.pump();
        }
        self.now = until;
    }

    /// Everything a client received since the last call.
    pub fn received(&mut self, sid: Sid) -> Vec<Msg> {
        self.inbox.remove(&sid).unwrap_or_default()
    }

    /// The texts a client received since the last call.
    pub fn texts(&mut self, sid: Sid) -> Vec<String> {
        self.received(sid)
            .into_iter()
            .map(|m| match m {
                Msg::Text(t) => t,
                Msg::Binary(b) => panic!("expected text, got binary {b:?}"),
            })
            .collect()
    }

    /// Events raised since the last call.
    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    /// Opens a session and connects it to a namespace, returning the sid and the socket id
    /// (from the CONNECT answer), with the answer and anything the app sent on connect read.
    pub fn connect(&mut self, ns: &str, auth: &str) -> (Sid, String, serde_json::Value) {
        let sid = self.open();
        let (socket, answer) = self.connect_on(sid, ns, auth);
        (sid, socket, answer)
    }

    /// Connects an open session to a namespace; returns the socket id and the CONNECT answer.
    pub fn connect_on(&mut self, sid: Sid, ns: &str, auth: &str) -> (String, serde_json::Value) {
        let prefix = if ns == "/" {
            String::new()
        } else {
            format!("{ns},")
        };
        self.send(sid, &format!("40{prefix}{auth}"));
        let texts = self.texts(sid);
        let answer = texts
            .first()
            .and_then(|t| t.strip_prefix(&format!("40{prefix}")))
            .unwrap_or_else(|| panic!("a CONNECT answer, got {texts:?}"));
        let answer: serde_json::Value = serde_json::from_str(answer).unwrap();
        (answer["sid"].as_str().unwrap().to_owned(), answer)
    }
}
