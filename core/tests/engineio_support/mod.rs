//! The runtime and the application around an Engine.IO [`Engine`], in memory: a virtual clock,
//! parked GETs and WebSockets kept by sid as a runtime keeps them, and an echoing application as
//! the official test suite's server, so a test reads like the conversation it checks.
#![allow(dead_code)]

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use bytes::Bytes;
use gif_chat_core::engineio::{
    Answer, CloseReason, Engine, EngineConfig, EngineEvent, Method, Query, Request, RequestError,
    Sid, WsInput, WsMessage, WsOutput,
};
use serde_json::Value;

pub const PING_INTERVAL: Duration = Duration::from_millis(300);
pub const PING_TIMEOUT: Duration = Duration::from_millis(200);

pub fn suite_config() -> EngineConfig {
    EngineConfig {
        ping_interval: PING_INTERVAL,
        ping_timeout: PING_TIMEOUT,
        ..EngineConfig::default()
    }
}

/// The runtime and the echoing application, around one engine.
pub struct Server {
    pub engine: Engine,
    pub now: Instant,
    /// The sids with a parked GET the "runtime" keeps open.
    pub parked: HashSet<Sid>,
    /// Answers to parked GETs, as they came.
    pub late_answers: HashMap<Sid, VecDeque<Bytes>>,
    /// The sids with a WebSocket the "runtime" keeps open.
    pub sockets: HashSet<Sid>,
    /// What each WebSocket received, as they came.
    pub ws_inbox: HashMap<Sid, VecDeque<WsOutput>>,
    /// Every event, in order.
    pub events: Vec<EngineEvent>,
    /// Whether to echo messages, like the suite's server.
    pub echo: bool,
}

impl Server {
    pub fn new(config: EngineConfig) -> Server {
        Server {
            engine: Engine::new(config, [7; 32]),
            now: Instant::now(),
            parked: HashSet::new(),
            late_answers: HashMap::new(),
            sockets: HashSet::new(),
            ws_inbox: HashMap::new(),
            events: Vec::new(),
            echo: true,
        }
    }

    pub fn suite() -> Server {
        Server::new(suite_config())
    }

    pub fn request(&mut self, method: Method, query: &str, body: &[u8], upgrade: bool) -> Answer {
        let request = Request {
            method,
            query: Query::parse(query),
            body: Bytes::copy_from_slice(body),
            websocket_upgrade: upgrade,
        };
        let answer = self.engine.handle_request(&request, self.now);
        match &answer {
            Answer::Parked(sid) => assert!(self.parked.insert(*sid), "a GET parked twice"),
            Answer::WebSocket(sid) => assert!(self.sockets.insert(*sid), "two WebSockets"),
            _ => {}
        }
        self.pump();
        answer
    }

    pub fn get(&mut self, query: &str) -> Answer {
        self.request(Method::Get, query, b"", false)
    }

    pub fn post(&mut self, query: &str, body: &str) -> Answer {
        self.request(Method::Post, query, body.as_bytes(), false)
    }

    pub fn websocket(&mut self, query: &str) -> Answer {
        self.request(Method::Get, query, b"", true)
    }

    pub fn ws_send(&mut self, sid: Sid, input: WsInput) {
        assert!(self.sockets.contains(&sid), "no WebSocket for {sid}");
        let known = self.engine.handle_websocket_message(sid, input, self.now);
        assert!(known.is_ok());
        self.pump();
    }

    pub fn ws_text(&mut self, sid: Sid, text: &str) {
        self.ws_send(sid, WsInput::Text(Bytes::copy_from_slice(text.as_bytes())));
    }

    /// A polling handshake; the sid.
    pub fn open_polling(&mut self) -> Sid {
        let body = ok_text(self.get("EIO=4&transport=polling"));
        sid_of(&handshake(&body))
    }

    /// A WebSocket handshake; the sid (its open packet is taken).
    pub fn open_websocket(&mut self) -> Sid {
        let Answer::WebSocket(sid) = self.websocket("EIO=4&transport=websocket") else {
            panic!("WebSocket handshake refused")
        };
        let open = self.next_ws_text(sid);
        assert!(open.starts_with('0'));
        sid
    }

    /// Plays the runtime and the application until neither has anything left to do.
    pub fn pump(&mut self) {
        loop {
            let mut idle = true;
            while let Some(event) = self.engine.poll_event() {
                idle = false;
                if let (EngineEvent::Message(sid, payload), true) = (&event, self.echo) {
                    // Echo, as the suite's server; the session may have closed meanwhile.
                    let _ = self.engine.send(*sid, payload.clone(), self.now);
                }
                self.events.push(event);
            }
            while let Some(sid) = self.engine.poll_ready() {
                idle = false;
                if self.parked.contains(&sid) {
                    if let Some(body) = self.engine.poll_get_answer(sid) {
                        self.parked.remove(&sid);
                        self.late_answers.entry(sid).or_default().push_back(body);
                    }
                }
                if self.sockets.contains(&sid) {
                    while let Some(output) = self.engine.poll_websocket(sid) {
                        if output == WsOutput::Close {
                            self.sockets.remove(&sid);
                        }
                        self.ws_inbox.entry(sid).or_default().push_back(output);
                    }
                }
                if self.engine.transport(sid).is_none() && self.engine.queued_bytes(sid).is_none() {
                    // Forgotten by the engine: drop what we keep for it.
                    self.parked.remove(&sid);
                    self.sockets.remove(&sid);
                }
            }
            if idle {
                return;
            }
        }
    }

    /// Moves the clock, running every deadline on the way in order.
    pub fn advance(&mut self, by: Duration) {
        let target = self.now + by;
        while let Some(at) = self.engine.poll_timeout().filter(|&at| at <= target) {
            self.now = self.now.max(at);
            self.engine.handle_timeout(self.now);
            self.pump();
        }
        self.now = target;
    }

    pub fn late_answer(&mut self, sid: Sid) -> Option<String> {
        let body = self.late_answers.get_mut(&sid)?.pop_front()?;
        Some(String::from_utf8(body.to_vec()).expect("polling bodies are text"))
    }

    pub fn next_ws(&mut self, sid: Sid) -> Option<WsOutput> {
        self.ws_inbox.get_mut(&sid)?.pop_front()
    }

    pub fn next_ws_text(&mut self, sid: Sid) -> String {
        match self.next_ws(sid) {
            Some(WsOutput::Message(message @ WsMessage::Text { .. })) => {
                String::from_utf8(message.to_vec()).expect("text messages are UTF-8")
            }
            other => panic!("expected a text message, got {other:?}"),
        }
    }

    pub fn closed_reason(&self, sid: Sid) -> Option<&CloseReason> {
        self.events.iter().find_map(|event| match event {
            EngineEvent::Closed(closed, reason, _) if *closed == sid => Some(reason),
            _ => None,
        })
    }
}

pub fn query(sid: Sid) -> String {
    format!("EIO=4&transport=polling&sid={sid}")
}

pub fn ws_query(sid: Sid) -> String {
    format!("EIO=4&transport=websocket&sid={sid}")
}

pub fn ok_text(answer: Answer) -> String {
    match answer {
        Answer::Ok(body) => String::from_utf8(body.to_vec()).expect("text body"),
        other => panic!("expected 200, got {other:?}"),
    }
}

pub fn error(answer: Answer) -> RequestError {
    match answer {
        Answer::Error(error) => error,
        other => panic!("expected an error, got {other:?}"),
    }
}

pub fn handshake(open: &str) -> Value {
    let json = open.strip_prefix('0').expect("an open packet");
    serde_json::from_str(json).expect("the open packet's JSON")
}

pub fn sid_of(handshake: &Value) -> Sid {
    Sid::parse(handshake["sid"].as_str().expect("a sid")).expect("a well-formed sid")
}

pub fn assert_handshake(value: &Value, upgrades: &[&str]) {
    let keys: HashSet<&str> = value
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    let expected = [
        "sid",
        "upgrades",
        "pingInterval",
        "pingTimeout",
        "maxPayload",
    ];
    assert_eq!(keys, expected.into_iter().collect());
    assert!(value["sid"].is_string());
    assert_eq!(value["upgrades"], serde_json::json!(upgrades));
    assert_eq!(value["pingInterval"], 300);
    assert_eq!(value["pingTimeout"], 200);
    assert_eq!(value["maxPayload"], 1_000_000);
}
