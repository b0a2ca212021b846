//! What a comparison runs: the loads, which servers each applies to, their sizes (full, or
//! quick for the smoke test) and the `loadgen` arguments each becomes. Apart from running them
//! (`compare/mod.rs`) because the plan is also saved in results.json and read back by
//! `compare --render`.

use std::path::{Path, PathBuf};

use super::servers::Kind;

/// One load of the comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum Load {
    Ticks,
    TicksBig,
    Echo,
    Churn,
    Http,
    /// Idle Socket.IO sessions over WebSocket in rooms.
    SioIdle,
    /// The same over long-polling.
    SioIdlePolling,
    /// The most idle sessions one process holds (ours).
    SioIdleBig,
    /// Fan-out in many rooms.
    SioFanout,
    /// Fan-out in one big room.
    SioFanoutBig,
    SioChurn,
    /// Long-polling sessions exchanging events.
    SioPolling,
    /// The write floor, measured in the load generator (no server): stored under the
    /// pseudo-server `floor`.
    WriteFloor,
    /// The chat room (ours only): lines posted over `POST /room/<id>/chat`.
    ChatPost,
    /// The same over the socket's `chat` event with an ack.
    ChatSocket,
    /// The chat's first load: `GET /rooms` and `GET /room/<id>` with a history.
    ChatPage,
}

impl Load {
    pub const ALL: [Load; 16] = [
        Load::Ticks,
        Load::TicksBig,
        Load::Echo,
        Load::Churn,
        Load::Http,
        Load::WriteFloor,
        Load::SioIdle,
        Load::SioIdlePolling,
        Load::SioIdleBig,
        Load::SioFanout,
        Load::SioFanoutBig,
        Load::SioChurn,
        Load::SioPolling,
        Load::ChatPost,
        Load::ChatSocket,
        Load::ChatPage,
    ];

    /// The load named `name` as `--loads` takes it: its name here, any case (`ChatPost`,
    /// `chatpost`), or a dashed one (`chat-post`).
    pub fn from_name(name: &str) -> Option<Load> {
        let wanted = name.trim().replace(['-', '_'], "");
        Load::ALL
            .into_iter()
            .chain([Load::WriteFloor])
            .find(|load| format!("{load:?}").eq_ignore_ascii_case(&wanted))
    }

    pub fn applies_to(self, kind: Kind) -> bool {
        match self {
            Load::TicksBig => kind.ours(),
            Load::Http => kind.serves_http(),
            Load::Ticks | Load::Echo | Load::Churn => kind.serves_seed(),
            Load::SioIdleBig => kind.ours(),
            // The peers have no chat app.
            Load::ChatPost | Load::ChatSocket | Load::ChatPage => kind.ours(),
            Load::WriteFloor => false,
            Load::SioIdle
            | Load::SioIdlePolling
            | Load::SioFanout
            | Load::SioFanoutBig
            | Load::SioChurn
            | Load::SioPolling => kind.speaks_sio(),
        }
    }

    /// A Socket.IO load (the server is started for Socket.IO, see
    /// [`Server::start`](super::servers::Server::start)).
    pub fn is_sio(self) -> bool {
        matches!(
            self,
            Load::SioIdle
                | Load::SioIdlePolling
                | Load::SioIdleBig
                | Load::SioFanout
                | Load::SioFanoutBig
                | Load::SioChurn
                | Load::SioPolling
        )
    }

    /// A chat room load (the server is started with a fresh SQLite store and a high
    /// `CHAT_RATE`).
    pub fn is_chat(self) -> bool {
        matches!(self, Load::ChatPost | Load::ChatSocket | Load::ChatPage)
    }
}

/// Sizes of the chat room loads.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ChatPlan {
    /// Rooms and members per room (at most 10, the room's cap) of `chat-post` and
    /// `chat-socket`.
    pub rooms: usize,
    pub members: usize,
    /// Lines per second per member; 0: each as soon as the last was answered.
    pub rate: f64,
    pub seconds: f64,
    /// `chat-page`: keep-alive loaders, rooms on the list, lines in the loaded room.
    pub page_connections: usize,
    pub page_rooms: usize,
    pub history: usize,
}

impl ChatPlan {
    pub fn full() -> ChatPlan {
        ChatPlan {
            rooms: 10,
            members: 10,
            rate: 0.0,
            seconds: 10.0,
            page_connections: 16,
            page_rooms: 10,
            history: 200,
        }
    }

    pub fn quick() -> ChatPlan {
        ChatPlan {
            rooms: 2,
            members: 3,
            rate: 0.0,
            seconds: 1.0,
            page_connections: 4,
            page_rooms: 2,
            history: 20,
        }
    }
}

impl Default for ChatPlan {
    fn default() -> Self {
        ChatPlan::full()
    }
}

/// Sizes of the Socket.IO loads (issue 12's scales in [`SioPlan::full`]).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct SioPlan {
    /// Idle sessions over WebSocket, and their rooms.
    pub idle_sessions: usize,
    pub idle_rooms: usize,
    /// Idle sessions over polling.
    pub idle_polling_sessions: usize,
    /// The most idle sessions, ours only.
    pub big_sessions: usize,
    /// Fan-out: sessions, rooms, events per second per room.
    pub fanout_sessions: usize,
    pub fanout_rooms: usize,
    pub fanout_rate: f64,
    /// One big room: its members and events per second.
    pub big_room_sessions: usize,
    pub big_room_rate: f64,
    pub fanout_seconds: f64,
    pub churn_concurrency: usize,
    pub polling_sessions: usize,
    /// Write floor: socket pairs and seconds.
    pub floor_pairs: usize,
    pub floor_seconds: f64,
}

impl SioPlan {
    pub fn full() -> SioPlan {
        SioPlan {
            idle_sessions: 10_000,
            idle_rooms: 100,
            idle_polling_sessions: 1000,
            big_sessions: 19_000,
            fanout_sessions: 5000,
            fanout_rooms: 50,
            fanout_rate: 5.0,
            big_room_sessions: 5000,
            big_room_rate: 2.0,
            fanout_seconds: 10.0,
            churn_concurrency: 32,
            polling_sessions: 32,
            floor_pairs: 1000,
            floor_seconds: 5.0,
        }
    }

    pub fn quick() -> SioPlan {
        SioPlan {
            idle_sessions: 50,
            idle_rooms: 5,
            idle_polling_sessions: 20,
            big_sessions: 100,
            fanout_sessions: 50,
            fanout_rooms: 5,
            fanout_rate: 5.0,
            big_room_sessions: 50,
            big_room_rate: 2.0,
            fanout_seconds: 2.0,
            churn_concurrency: 4,
            polling_sessions: 4,
            floor_pairs: 50,
            floor_seconds: 0.5,
        }
    }
}

impl Default for SioPlan {
    fn default() -> Self {
        SioPlan::full()
    }
}

/// Sizes of the loads.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Plan {
    pub quick: bool,
    pub repeats: usize,
    pub tick_connections: usize,
    pub big_connections: usize,
    pub tick_seconds: f64,
    pub interval_ms: u64,
    pub echo_connections: usize,
    pub in_flight: usize,
    pub message_size: usize,
    pub seconds: f64,
    pub churn_concurrency: usize,
    pub http_connections: usize,
    /// Loopback source addresses for the tick loads.
    pub sources: Vec<String>,
    /// Pin server and client to different cores for the echo load.
    pub pin: bool,
    pub settle_ms: u64,
    /// Use debug binaries (target/debug) instead of release ones: the smoke test runs on what
    /// the test suite already built.
    #[serde(default)]
    pub debug: bool,
    /// The Socket.IO loads (results saved before them read as the full sizes).
    #[serde(default)]
    pub sio: SioPlan,
    /// The chat room loads (results saved before them read as the full sizes).
    #[serde(default)]
    pub chat: ChatPlan,
}

impl Plan {
    pub fn full() -> Plan {
        Plan {
            quick: false,
            repeats: 3,
            tick_connections: 10_000,
            big_connections: 19_000,
            tick_seconds: 24.0,
            interval_ms: 3000,
            echo_connections: 64,
            in_flight: 16,
            message_size: 32,
            seconds: 10.0,
            churn_concurrency: 32,
            http_connections: 32,
            sources: (2..=5).map(|i| format!("127.0.0.{i}")).collect(),
            pin: true,
            settle_ms: 1000,
            debug: false,
            sio: SioPlan::full(),
            chat: ChatPlan::full(),
        }
    }

    pub fn quick() -> Plan {
        Plan {
            quick: true,
            repeats: 1,
            tick_connections: 50,
            big_connections: 100,
            tick_seconds: 2.0,
            interval_ms: 200,
            echo_connections: 8,
            in_flight: 4,
            seconds: 1.0,
            churn_concurrency: 4,
            http_connections: 4,
            settle_ms: 200,
            sio: SioPlan::quick(),
            chat: ChatPlan::quick(),
            ..Plan::full()
        }
    }

    /// Where the binaries are.
    pub fn bin_dir(&self, root: &Path) -> PathBuf {
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("target"));
        target.join(if self.debug { "debug" } else { "release" })
    }

    /// The loadgen arguments for `load` against `port`: the mode, the URL (the seed's loads
    /// over WebSocket, the others over HTTP), the mode's flags, then `--settle-ms`.
    pub fn loadgen_args(&self, load: Load, port: u16) -> Vec<String> {
        let s = |v: &dyn ToString| v.to_string();
        let ws = |path: &str| Some(format!("ws://127.0.0.1:{port}{path}"));
        let http = Some(format!("http://127.0.0.1:{port}/"));
        let sources = ("--source-addrs", self.sources.join(","));
        let processes = |n: usize| ("--processes", s(&n.div_ceil(7000).max(1)));
        let (mode, url, flags) = match load {
            Load::Ticks | Load::TicksBig => {
                let n = if load == Load::Ticks {
                    self.tick_connections
                } else {
                    self.big_connections
                };
                let flags = vec![
                    ("--connections", s(&n)),
                    ("--seconds", s(&self.tick_seconds)),
                    ("--interval-ms", s(&self.interval_ms)),
                    processes(n),
                    sources,
                ];
                ("ticks", ws("/"), flags)
            }
            Load::Echo => {
                let flags = vec![
                    ("--connections", s(&self.echo_connections)),
                    ("--in-flight", s(&self.in_flight)),
                    ("--size", s(&self.message_size)),
                    ("--seconds", s(&self.seconds)),
                ];
                ("echo", ws("/echo"), flags)
            }
            Load::Churn => {
                let flags = vec![
                    ("--concurrency", s(&self.churn_concurrency)),
                    ("--seconds", s(&self.seconds)),
                    sources,
                ];
                ("churn", ws("/"), flags)
            }
            Load::Http => {
                let flags = vec![
                    ("--connections", s(&self.http_connections)),
                    ("--seconds", s(&self.seconds)),
                ];
                ("http", http, flags)
            }
            Load::SioIdle | Load::SioIdleBig | Load::SioIdlePolling => {
                let sio = &self.sio;
                let n = match load {
                    Load::SioIdle => sio.idle_sessions,
                    Load::SioIdleBig => sio.big_sessions,
                    _ => sio.idle_polling_sessions,
                };
                let transport = if load == Load::SioIdlePolling {
                    "polling"
                } else {
                    "websocket"
                };
                let flags = vec![
                    ("--sessions", s(&n)),
                    ("--rooms", s(&sio.idle_rooms)),
                    ("--transport", transport.into()),
                    ("--seconds", s(&self.tick_seconds)),
                    processes(n),
                    sources,
                ];
                ("sio-idle", http, flags)
            }
            Load::SioFanout | Load::SioFanoutBig => {
                let sio = &self.sio;
                let (n, rooms, rate) = if load == Load::SioFanout {
                    (sio.fanout_sessions, sio.fanout_rooms, sio.fanout_rate)
                } else {
                    (sio.big_room_sessions, 1, sio.big_room_rate)
                };
                let flags = vec![
                    ("--sessions", s(&n)),
                    ("--rooms", s(&rooms)),
                    ("--rate", s(&rate)),
                    ("--seconds", s(&sio.fanout_seconds)),
                    // Two processes: receiving every delivery is the client's heaviest work.
                    ("--processes", s(&n.div_ceil(7000).max(2).min(n.max(1)))),
                    sources,
                ];
                ("sio-fanout", http, flags)
            }
            Load::SioChurn => {
                let flags = vec![
                    ("--concurrency", s(&self.sio.churn_concurrency)),
                    ("--seconds", s(&self.seconds)),
                    sources,
                ];
                ("sio-churn", http, flags)
            }
            Load::SioPolling => {
                let flags = vec![
                    ("--sessions", s(&self.sio.polling_sessions)),
                    ("--seconds", s(&self.seconds)),
                ];
                ("sio-polling", http, flags)
            }
            Load::ChatPost | Load::ChatSocket => {
                let chat = &self.chat;
                let flags = vec![
                    ("--rooms", s(&chat.rooms)),
                    ("--members", s(&chat.members)),
                    ("--rate", s(&chat.rate)),
                    ("--seconds", s(&chat.seconds)),
                ];
                let mode = if load == Load::ChatPost {
                    "chat-post"
                } else {
                    "chat-socket"
                };
                (mode, http, flags)
            }
            Load::ChatPage => {
                let chat = &self.chat;
                let flags = vec![
                    ("--connections", s(&chat.page_connections)),
                    ("--rooms", s(&chat.page_rooms)),
                    ("--history", s(&chat.history)),
                    ("--seconds", s(&chat.seconds)),
                ];
                ("chat-page", http, flags)
            }
            Load::WriteFloor => {
                let flags = vec![
                    ("--pairs", s(&self.sio.floor_pairs)),
                    ("--load-pairs", s(&self.sio.fanout_sessions)),
                    ("--seconds", s(&self.sio.floor_seconds)),
                ];
                ("write-floor", None, flags)
            }
        };
        let mut args = vec![mode.to_owned()];
        if let Some(url) = url {
            args.extend(["--url".to_owned(), url]);
        }
        for (flag, value) in flags
            .into_iter()
            .chain([("--settle-ms", s(&self.settle_ms))])
        {
            args.extend([flag.to_owned(), value]);
        }
        args
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_are_named_as_loadgen_names_them() {
        assert_eq!(Load::from_name("chat-post"), Some(Load::ChatPost));
        assert_eq!(Load::from_name("ChatPage"), Some(Load::ChatPage));
        assert_eq!(Load::from_name("sio_fanout_big"), Some(Load::SioFanoutBig));
        assert_eq!(Load::from_name("write-floor"), Some(Load::WriteFloor));
        assert_eq!(Load::from_name("chat"), None);
        assert!(Load::ChatSocket.applies_to(Kind::Mio));
        assert!(!Load::ChatSocket.applies_to(Kind::SocketioNode));
        let args = Plan::quick().loadgen_args(Load::ChatPage, 9);
        assert_eq!(args.first().map(String::as_str), Some("chat-page"));
        assert!(
            args.windows(2).any(|w| w == ["--history", "20"]),
            "{args:?}"
        );
    }
}
