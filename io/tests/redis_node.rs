//! A mixed fleet (SPEC M2): gif-chat's Redis bridge and `ClusterNode` beside a real Node
//! socket.io 4.8 server using `@socket.io/redis-adapter` 8.3 in its sharded mode
//! (tests/peers/socketio-node/server.js with `REDIS_URL`), on one real `redis-server`.
//!
//! A socket.io-client (tests/peers/socketio-node/relay-client.js) joins the Node server's
//! `/relay` room `lobby`, and a gif-chat instance has a member there too. What the client sends
//! is relayed by Node to the room, and reaches gif-chat decoded; what gif-chat broadcasts to the
//! room reaches the Node client. Needs Node and `npm ci` in tests/peers/socketio-node (a missing
//! install fails the test with what to run).

#[allow(dead_code)]
#[path = "support/cluster_instance.rs"]
mod cluster_instance;
#[allow(dead_code)]
#[path = "support/redis_server.rs"]
mod redis_server;

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Instant;

use bytes::Bytes;
use cluster_instance::{chat_of, Instance, PATIENCE};
use gif_chat_core::cluster::{Body, EventPacket, Options};
use gif_chat_core::socketio::Args;
use redis_server::RedisServer;
use serde_json::{json, Value};

/// A Node process, killed on drop, whose stdout lines arrive on a channel.
struct NodeProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
}

fn peer_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/peers/socketio-node");
    assert!(
        dir.join("node_modules/@socket.io/redis-adapter").is_dir()
            && dir.join("node_modules/socket.io-client").is_dir(),
        "the Node peer is not installed: (cd tests/peers/socketio-node && npm ci)"
    );
    dir
}

impl NodeProcess {
    fn spawn(script: &str, args: &[&str], env: &[(&str, &str)]) -> NodeProcess {
        let dir = peer_dir();
        let mut child = Command::new("node")
            .arg(script)
            .args(args)
            .envs(env.iter().copied())
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node runs (apt-get install -y nodejs npm)");
        let stdout = child.stdout.take().expect("piped stdout");
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                // Keep reading after the test stops listening, so Node never blocks on a pipe.
                let _ = send.send(line);
            }
        });
        NodeProcess {
            stdin: child.stdin.take(),
            child,
            lines,
        }
    }

    fn next_line(&self) -> String {
        self.lines
            .recv_timeout(PATIENCE)
            .expect("the Node process printed a line in time")
    }

    fn send_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{line}")
            .and_then(|()| stdin.flush())
            .expect("write to node");
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        self.stdin = None;
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until `count` connections are subscribed to `channel` (the Node adapter subscribes
/// a room's channel when its first local socket joins, asynchronously, and says nothing).
fn wait_for_subscribers(redis: &RedisServer, channel: &str, count: u32) {
    let expected = format!("{channel}\n{count}\n");
    let deadline = Instant::now() + PATIENCE;
    while redis.cli(&["PUBSUB", "SHARDNUMSUB", channel]) != expected {
        assert!(
            Instant::now() < deadline,
            "{channel} never had {count} subscribers"
        );
        std::thread::yield_now();
    }
}

#[test]
fn a_node_server_with_the_sharded_redis_adapter_and_gif_chat_exchange_room_broadcasts() {
    exchange(Recovery::Off);
}

/// With connection state recovery, the Node server appends an offset to every event it
/// delivers: `""` (what the sharded adapter's publish returns) to its own broadcasts, and
/// `undefined` (JSON `null`) to those received from Redis. gif-chat's messages are taken as the
/// adapter's own.
#[test]
fn the_exchange_also_works_with_connection_state_recovery_on_the_node_server() {
    exchange(Recovery::On);
}

#[derive(Clone, Copy, PartialEq)]
enum Recovery {
    Off,
    On,
}

fn exchange(recovery: Recovery) {
    let redis = RedisServer::start();
    let url = redis.url();
    let recovery_ms = if recovery == Recovery::On {
        "120000"
    } else {
        "0"
    };
    let server = NodeProcess::spawn(
        "server.js",
        &[],
        &[
            ("PORT", "0"),
            ("REDIS_URL", &url),
            ("SIO_RECOVERY_MS", recovery_ms),
        ],
    );
    let listening = server.next_line();
    let port = listening
        .rsplit(':')
        .next()
        .expect("socket.io conformance app listening on 127.0.0.1:PORT");
    let server_url = format!("http://127.0.0.1:{port}");

    let mut gif_chat = Instance::start(&url, "/relay", 0x9c);
    gif_chat.join("gif-chat-socket", "lobby");
    gif_chat.wait_subscribed();

    let mut client = NodeProcess::spawn("relay-client.js", &[&server_url, "lobby"], &[]);
    let connected: Value = serde_json::from_str(&client.next_line()).expect("JSON");
    assert!(connected["connected"].is_string(), "{connected}");
    wait_for_subscribers(&redis, "socket.io#/relay#lobby#", 2);

    // Node -> gif-chat: the client's `chat` is relayed by the Node app to the room, published
    // by the adapter on the room's channel, and decoded by gif-chat's node.
    client.send_line(r#"["hello from node", {"n": 1}]"#);
    let (channel, message) = gif_chat.next_message();
    assert_eq!(channel, "socket.io#/relay#lobby#");
    assert_eq!(message.nsp, "/relay");
    assert_ne!(message.uid, gif_chat.node.uid().as_str());
    let (event, first, rooms) = chat_of(&message);
    assert_eq!(
        (event.as_str(), first, rooms),
        ("chat", json!("hello from node"), vec!["lobby".to_owned()])
    );
    let client_saw: Value = serde_json::from_str(&client.next_line()).expect("JSON");
    let mut local = json!(["hello from node", {"n": 1}]);
    let mut relayed = json!(["hello from gif-chat"]);
    let mut to_all = json!(["to all of /relay"]);
    if recovery == Recovery::On {
        push(&mut local, json!(""));
        push(&mut relayed, Value::Null);
        push(&mut to_all, Value::Null);
    }
    assert_eq!(client_saw, json!({"chat": local}));

    // gif-chat -> Node: gif-chat's broadcast to the room reaches the Node server's client.
    gif_chat.broadcast(&["lobby"], "hello from gif-chat");
    let client_saw: Value = serde_json::from_str(&client.next_line()).expect("JSON");
    assert_eq!(client_saw, json!({"chat": relayed}));

    // And to the whole namespace (published on the namespace channel).
    gif_chat.broadcast(&[], "to all of /relay");
    let client_saw: Value = serde_json::from_str(&client.next_line()).expect("JSON");
    assert_eq!(client_saw, json!({"chat": to_all}));
}

/// Binary arguments make the adapter switch to msgpack (notepack): a Buffer sent by the Node
/// client reaches gif-chat as an attachment, and gif-chat's attachment reaches the client as
/// binary data.
#[test]
fn binary_arguments_cross_the_mixed_fleet_as_msgpack() {
    let redis = RedisServer::start();
    let url = redis.url();
    let server = NodeProcess::spawn(
        "server.js",
        &[],
        &[("PORT", "0"), ("REDIS_URL", &url), ("SIO_RECOVERY_MS", "0")],
    );
    let listening = server.next_line();
    let port = listening.rsplit(':').next().expect("a port");
    let server_url = format!("http://127.0.0.1:{port}");
    let mut gif_chat = Instance::start(&url, "/relay", 0x9c);
    gif_chat.join("gif-chat-socket", "lobby");
    gif_chat.wait_subscribed();
    let mut client = NodeProcess::spawn("relay-client.js", &[&server_url, "lobby"], &[]);
    assert!(client.next_line().contains("connected"));
    wait_for_subscribers(&redis, "socket.io#/relay#lobby#", 2);

    client.send_line(r#"["picture", {"$binary": "AAEC/w=="}]"#);
    let (_, message) = gif_chat.next_message();
    let Body::Broadcast(broadcast) = &message.body else {
        panic!("not a broadcast: {message:?}");
    };
    assert_eq!(
        broadcast.packet.args.values,
        [json!("picture"), json!({"_placeholder": true, "num": 0})]
    );
    assert_eq!(
        broadcast.packet.args.attachments,
        [Bytes::from_static(&[0, 1, 2, 0xff])]
    );
    let _local_echo = client.next_line();

    let packet = EventPacket {
        name: "chat".to_owned(),
        args: Args {
            values: vec![
                json!("from gif-chat"),
                json!({"_placeholder": true, "num": 0}),
            ],
            attachments: vec![Bytes::from_static(b"\x89PNG")],
        },
    };
    let opts = Options {
        rooms: vec!["lobby".to_owned()],
        ..Options::default()
    };
    let publish = gif_chat.node.broadcast(packet, opts).expect("published");
    assert_ne!(publish.payload.first(), Some(&b'{'), "msgpack, not JSON");
    assert!(gif_chat.bridge.publish(publish));
    let client_saw: Value = serde_json::from_str(&client.next_line()).expect("JSON");
    assert_eq!(
        client_saw,
        json!({"chat": ["from gif-chat", {"$binary": "iVBORw=="}]})
    );
}

fn push(array: &mut Value, item: Value) {
    if let Value::Array(items) = array {
        items.push(item);
    }
}
