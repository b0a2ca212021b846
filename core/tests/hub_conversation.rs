//! Socket.IO end to end in memory: HTTP requests and WebSocket frames through [`Connection`]s,
//! their hub calls through one [`Hub`], on a virtual clock — what a runtime does, minus sockets.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gif_chat_core::testing::{drain_transmit, text as client_text};
use gif_chat_core::{Config, Connection, Hub, HubSession};

struct World {
    config: Arc<Config>,
    hub: Hub,
    now: Instant,
    logs: Vec<String>,
}

impl World {
    fn new(conformance: bool) -> World {
        let mut config = Config::new();
        config.hub.conformance = conformance;
        config.hub.socketio.recovery = None;
        let hub = Hub::new(config.hub.clone(), [1; 32]);
        World {
            config: Arc::new(config),
            hub,
            now: Instant::now(),
            logs: Vec::new(),
        }
    }

    fn connect(&self) -> Connection {
        let peer: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        Connection::new(Arc::clone(&self.config), peer, self.now)
    }

    /// Hands the connection's calls to the hub and answers them, then delivers ready output.
    fn exchange(&mut self, conn: &mut Connection) {
        while let Some(call) = conn.poll_hub_call() {
            if let Some(answer) = self.hub.handle_call(self.now, call) {
                conn.handle_hub_answer(self.now, answer);
            }
        }
        self.deliver(conn);
        while let Some(line) = self.hub.poll_log() {
            self.logs.push(line.text);
        }
    }

    fn deliver(&mut self, conn: &mut Connection) {
        while self.hub.poll_ready().is_some() {}
        match conn.hub_session() {
            Some(HubSession::ParkedGet(mount, sid)) => {
                let answer = self.hub.poll_get_answer(mount, sid);
                if !matches!(answer, gif_chat_core::engineio::Answer::Parked(_)) {
                    conn.handle_hub_answer(self.now, answer);
                }
            }
            Some(HubSession::WebSocket(mount, sid)) => {
                while conn.wants_hub_output() {
                    let Some(output) = self.hub.poll_websocket(mount, sid) else {
                        break;
                    };
                    conn.handle_hub_output(self.now, output);
                }
            }
            None => {}
        }
    }

    fn send(&mut self, conn: &mut Connection, bytes: &[u8]) -> String {
        conn.handle_input(self.now, bytes);
        self.exchange(conn);
        take(conn)
    }
}

fn take(conn: &mut Connection) -> String {
    String::from_utf8_lossy(&drain_transmit(conn, Instant::now())).into_owned()
}

fn body(response: &str) -> &str {
    response.split_once("\r\n\r\n").map_or("", |(_, body)| body)
}

fn sid_of(open: &str) -> String {
    let json: serde_json::Value = serde_json::from_str(open.trim_start_matches('0')).unwrap();
    json["sid"].as_str().unwrap().to_owned()
}

#[test]
fn polling_handshake_connect_and_echo_through_connections() {
    let mut world = World::new(true);
    let mut conn = world.connect();
    let open = world.send(
        &mut conn,
        b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: a\r\n\r\n",
    );
    assert!(open.starts_with("HTTP/1.1 200 OK\r\n"), "{open}");
    assert!(
        open.contains("Content-Type: text/plain; charset=UTF-8\r\n"),
        "{open}"
    );
    let sid = sid_of(body(&open));

    let post = format!(
        "POST /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: a\r\n\
         Content-Length: 2\r\n\r\n40"
    );
    let ok = world.send(&mut conn, post.as_bytes());
    assert_eq!(body(&ok), "ok", "{ok}");

    let get =
        format!("GET /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: a\r\n\r\n");
    let packets = world.send(&mut conn, get.as_bytes());
    let packets = body(&packets);
    assert!(packets.starts_with("40{\"sid\":"), "{packets}");
    assert!(packets.ends_with("\u{1e}42[\"auth\",{}]"), "{packets}");
    assert!(
        world
            .logs
            .iter()
            .any(|l| l == "새로운 클라이언트 접속 127.0.0.1 /"),
        "{:?}",
        world.logs
    );

    // A GET with nothing to receive parks; the echo of a POST on another connection wakes it.
    let parked = world.send(&mut conn, get.as_bytes());
    assert_eq!(parked, "");
    assert!(matches!(
        conn.hub_session(),
        Some(HubSession::ParkedGet(..))
    ));
    let mut other = world.connect();
    let post = format!(
        "POST /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: a\r\n\
         Content-Length: 17\r\n\r\n42[\"message\",\"x\"]"
    );
    assert_eq!(body(&world.send(&mut other, post.as_bytes())), "ok");
    world.deliver(&mut conn);
    assert_eq!(body(&take(&mut conn)), "42[\"message-back\",\"x\"]");
}

#[test]
fn errors_are_engine_io_json_and_a_large_post_is_413() {
    let mut world = World::new(false);
    let mut conn = world.connect();
    let bad = world.send(
        &mut conn,
        b"GET /socket.io/?EIO=3&transport=polling HTTP/1.1\r\nHost: a\r\n\r\n",
    );
    assert!(bad.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{bad}");
    assert!(bad.contains("Content-Type: application/json"));
    assert_eq!(
        body(&bad),
        r#"{"code":5,"message":"Unsupported protocol version"}"#
    );
    let unknown = world.send(
        &mut conn,
        b"GET /socket.io/?EIO=4&transport=polling&sid=nope HTTP/1.1\r\nHost: a\r\n\r\n",
    );
    assert_eq!(
        body(&unknown),
        r#"{"code":1,"message":"Session ID unknown"}"#
    );
    // Not conformance mode: /engine.io/ is the seed's 404.
    let not_found = world.send(
        &mut conn,
        b"GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: a\r\n\r\n",
    );
    assert!(not_found.starts_with("HTTP/1.1 404"), "{not_found}");
    let mut conn = world.connect();
    let large = world.send(
        &mut conn,
        b"POST /socket.io/?EIO=4&transport=polling&sid=x HTTP/1.1\r\nHost: a\r\n\
          Content-Length: 1000001\r\n\r\n",
    );
    assert!(
        large.starts_with("HTTP/1.1 413 Payload Too Large\r\n"),
        "{large}"
    );
}

#[test]
fn websocket_session_pings_and_echoes_on_the_raw_engine() {
    let mut world = World::new(true);
    let mut conn = world.connect();
    let switching = world.send(&mut conn, websocket_handshake("/engine.io/").as_bytes());
    assert!(
        switching.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
        "{switching}"
    );
    assert!(
        switching.contains("0{\"sid\""),
        "the open packet follows: {switching:?}"
    );
    let frame = client_text("4hello");
    let echo = world.send(&mut conn, &frame);
    assert!(echo.ends_with("4hello"), "{echo:?}");
    // The heartbeat: the engine pings after the interval.
    world.now += Duration::from_millis(25_000);
    world.hub.handle_timeout(world.now);
    world.deliver(&mut conn);
    assert!(take(&mut conn).ends_with('2'));
    // The client goes away: the session ends.
    conn.handle_eof(world.now);
    world.exchange(&mut conn);
    assert_eq!(world.hub.session_count(), 0);
}

#[test]
fn a_stop_releases_a_parked_get_with_the_close_packet_and_logs_the_leave() {
    let mut world = World::new(false);
    let mut conn = world.connect();
    let open = world.send(
        &mut conn,
        b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: a\r\n\r\n",
    );
    let sid = sid_of(body(&open));
    let post = format!(
        "POST /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: a\r\n\
         Content-Length: 2\r\n\r\n40"
    );
    world.send(&mut conn, post.as_bytes());
    let get =
        format!("GET /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: a\r\n\r\n");
    assert!(body(&world.send(&mut conn, get.as_bytes())).starts_with("40{"));
    assert_eq!(world.send(&mut conn, get.as_bytes()), "", "parked");
    conn.handle_shutdown(world.now);
    world.hub.handle_shutdown(world.now);
    world.exchange(&mut conn);
    let last = take(&mut conn);
    assert!(last.contains("Connection: close\r\n"), "{last}");
    assert_eq!(body(&last), "1");
    assert_eq!(
        world.logs,
        [
            "새로운 클라이언트 접속 127.0.0.1 /",
            "클라이언트 접속 해제 127.0.0.1 /"
        ]
    );
    // No new session while stopping.
    let mut late = world.connect();
    let refused = world.send(
        &mut late,
        b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: a\r\n\r\n",
    );
    assert!(refused.starts_with("HTTP/1.1 400"), "{refused}");
}

#[test]
fn forged_sids_get_400_and_leave_nothing_behind() {
    let mut world = World::new(true);
    let mut conn = world.connect();
    for i in 0..10_000 {
        let request = format!(
            "GET /socket.io/?EIO=4&transport=polling&sid=forged{i:014} HTTP/1.1\r\nHost: a\r\n\r\n"
        );
        let answer = world.send(&mut conn, request.as_bytes());
        assert!(
            answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
            "{answer}"
        );
    }
    assert_eq!(world.hub.session_count(), 0);
    assert!(world.logs.is_empty(), "{:?}", world.logs);
}

#[test]
fn a_polling_client_that_never_polls_is_dropped_at_its_buffer_bound() {
    let mut config = Config::new();
    config.hub.conformance = true;
    config.hub.socketio.recovery = None;
    config.hub.engine.high_water_mark = 4_096;
    let hub = Hub::new(config.hub.clone(), [2; 32]);
    let mut world = World {
        config: Arc::new(config),
        hub,
        now: Instant::now(),
        logs: Vec::new(),
    };
    let open = |world: &mut World| {
        let mut conn = world.connect();
        let answer = world.send(
            &mut conn,
            b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: a\r\n\r\n",
        );
        let sid = sid_of(body(&answer));
        let post = post_request(&sid, r#"40/relay,{"room":"r"}"#);
        assert_eq!(body(&world.send(&mut conn, post.as_bytes())), "ok");
        (conn, sid)
    };
    let (mut talker, sid) = open(&mut world);
    let (_silent, _) = open(&mut world);
    let chat = post_request(&sid, &format!(r#"42/relay,["chat","{}"]"#, "x".repeat(20)));
    for _ in 0..400 {
        world.send(&mut talker, chat.as_bytes());
        if world.hub.session_count() < 2 {
            break;
        }
        // The talker reads what it is sent, so only the silent one's buffer grows.
        let get = format!(
            "GET /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: a\r\n\r\n"
        );
        world.send(&mut talker, get.as_bytes());
    }
    assert_eq!(world.hub.session_count(), 1, "the silent session is gone");
    assert!(
        world
            .logs
            .iter()
            .any(|line| line.starts_with("Error: Engine.IO session closed: buffer full")),
        "{:?}",
        world.logs
    );
}

fn post_request(sid: &str, body: &str) -> String {
    format!(
        "POST /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: a\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// An Engine.IO WebSocket handshake on `path`.
fn websocket_handshake(path: &str) -> String {
    format!(
        "GET {path}?EIO=4&transport=websocket HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\n\r\n"
    )
}

/// The session's address lives in the engine's session; the disconnect line comes after the
/// engine has forgotten a session whose WebSocket went away, and still names it.
#[test]
fn a_websocket_client_that_goes_away_is_logged_with_its_address() {
    let mut world = World::new(false);
    let mut conn = world.connect();
    let switching = world.send(&mut conn, websocket_handshake("/socket.io/").as_bytes());
    assert!(switching.starts_with("HTTP/1.1 101 "), "{switching}");
    let connected = world.send(&mut conn, &client_text("40"));
    assert!(connected.contains("40{\"sid\""), "{connected:?}");
    conn.handle_eof(world.now);
    world.exchange(&mut conn);
    assert_eq!(
        world.hub.session_count(),
        0,
        "the engine forgot the session"
    );
    assert_eq!(
        world.logs,
        [
            "새로운 클라이언트 접속 127.0.0.1 /",
            "클라이언트 접속 해제 127.0.0.1 /"
        ]
    );
}
