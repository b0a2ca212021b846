//! SPEC M1–M3: several instances sharing Socket.IO broadcasts through one real `redis-server`.
//!
//! A fleet of the three runtimes (tokio, smol, mio, each with `CONFORMANCE=true` and
//! `REDIS_URL`) and, in the mixed test, socket.io 4.8 on Node with `@socket.io/redis-adapter`
//! 8 in its sharded mode (tests/peers/socketio-node/server.js, its client relay-client.js).
//! Clients join the conformance app's `/relay` room `lobby`, which sends each `chat` to the room,
//! sender included.
//!
//! - M1: each member sends a message and then an end marker; every member reads until it has
//!   every sender's marker, and must have had each message exactly once. An instance delivers
//!   one sender's messages in the order Redis gave them, so a duplicate would come before
//!   that sender's marker.
//! - M3: the instance whose only client is in another room is not subscribed to the lobby's
//!   channel (`PUBSUB SHARDNUMSUB` counts one subscriber per instance that has members), so
//!   Redis sends it none of the lobby's traffic; and a room's channel is dropped when its
//!   instance's last member leaves.
//! - M2: the Node server's client is one more member, and hears and is heard like the others
//!   (binary arguments too); a Node server's `fetchSockets()` gets gif-chat's sockets and its
//!   `socketsJoin` moves them (shared membership).
//!
//! - M5: a socket.io-client with recovery on, whose instance is killed, comes back on another
//!   through nginx with its `pid` and offset and gets what it missed; a Node server's client
//!   sees nothing of the offsets gif-chat instances publish (these two have recovery on).
//!
//! Nothing is mocked. `redis-server`/`redis-cli` (redis-server, redis-tools) and, for M2, Node
//! with `npm ci` in tests/peers/socketio-node are required; a missing one fails the test.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::Instant;

use gif_chat_tests::eio::{Received, Ws};
use gif_chat_tests::fleet::FleetNginx;
use gif_chat_tests::redis_server::RedisServer;
use gif_chat_tests::sio_target::{node_peer_dir, NodePeer, Running};
use gif_chat_tests::{Runtime, Server, Signal, WAIT};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

const LOBBY: &str = "socket.io#/relay#lobby#";
const KITCHEN: &str = "socket.io#/relay#kitchen#";

/// Short timings; recovery off, so that events carry no offset and compare as sent.
fn instance_env(redis: &RedisServer) -> Vec<(&'static str, String)> {
    vec![
        ("CONFORMANCE", "true".to_owned()),
        ("REDIS_URL", redis.url()),
        ("REDIS_RECONNECT_MAX_MS", "200".to_owned()),
        ("SIO_RECOVERY_MS", "0".to_owned()),
    ]
}

async fn start_instance(runtime: Runtime, redis: &RedisServer) -> Server {
    let env = instance_env(redis);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Server::start(runtime, &env).await
}

/// The Node socket.io server with the sharded Redis adapter on `redis_url`, recovery off.
async fn start_node_peer(redis_url: &str) -> Running {
    assert!(
        node_peer_dir()
            .join("node_modules/@socket.io/redis-adapter")
            .is_dir(),
        "the Node peer is not installed: (cd tests/peers/socketio-node && npm ci)"
    );
    NodePeer::start(&[("REDIS_URL", redis_url), ("SIO_RECOVERY_MS", "0")])
        .await
        .map(Running::Node)
        .unwrap_or_else(|why| panic!("the Node peer cannot run: {why}"))
}

/// Waits until `count` instances are subscribed to `channel` (subscribing is asynchronous:
/// the bridge's thread sends it, Redis confirms it).
async fn wait_for_subscribers(redis: &RedisServer, channel: &str, count: u32) {
    let expected = format!("{channel}\n{count}\n");
    let deadline = Instant::now() + WAIT;
    loop {
        let seen = redis.cli(&["PUBSUB", "SHARDNUMSUB", channel]);
        if seen == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{channel} never had {count} subscribers: {seen:?}"
        );
        tokio::task::yield_now().await;
    }
}

/// A member of a `/relay` room, whichever server it is connected to.
enum Member {
    /// A raw Socket.IO client over WebSocket (gif-chat).
    Raw(Ws),
    /// socket.io-client on Node (relay-client.js), killed on drop.
    Node {
        _child: Child,
        stdin: ChildStdin,
        lines: Lines<BufReader<ChildStdout>>,
    },
}

impl Member {
    async fn raw(port: u16, room: &str) -> Member {
        let (mut ws, _) = Ws::opened_session(port, "/socket.io/").await;
        ws.send_text(&format!("40/relay,{}", json!({ "room": room })))
            .await;
        let answer = ws.next_packet_text(WAIT).await;
        assert!(answer.starts_with("40/relay,{\"sid\""), "{answer}");
        Member::Raw(ws)
    }

    async fn node(port: u16, room: &str) -> Member {
        let mut child = Command::new("node")
            .arg("relay-client.js")
            .arg(format!("http://127.0.0.1:{port}"))
            .arg(room)
            .current_dir(node_peer_dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("node runs (Node.js 20 or later)");
        let stdin = child.stdin.take().expect("piped");
        let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
        let first = next_node_line(&mut lines).await;
        assert!(first.get("connected").is_some(), "{first}");
        Member::Node {
            _child: child,
            stdin,
            lines,
        }
    }

    /// Sends `chat` with `args` (a JSON array), through the Node client only.
    async fn say_json(&mut self, args: Value) {
        let Member::Node { stdin, .. } = self else {
            panic!("JSON arguments are sent through the Node client")
        };
        let line = format!("{args}\n");
        stdin
            .write_all(line.as_bytes())
            .await
            .expect("write to node");
    }

    async fn say(&mut self, text: &str) {
        match self {
            Member::Raw(ws) => {
                ws.send_text(&format!("42/relay,{}", json!(["chat", text])))
                    .await
            }
            Member::Node { stdin, .. } => {
                let line = format!("{}\n", json!([text]));
                stdin
                    .write_all(line.as_bytes())
                    .await
                    .expect("write to node");
            }
        }
    }

    /// The next event: its name and arguments (relay-client.js reports `chat` events only).
    async fn hear_event(&mut self) -> (Value, Vec<Value>) {
        match self {
            Member::Raw(ws) => {
                let packet = ws.next_packet_text(WAIT).await;
                let array = packet
                    .strip_prefix("42/relay,")
                    .unwrap_or_else(|| panic!("not a /relay event: {packet}"));
                let mut values: Vec<Value> =
                    serde_json::from_str(array).expect("an event's JSON array");
                let name = values.remove(0);
                (name, values)
            }
            Member::Node { lines, .. } => {
                let line = next_node_line(lines).await;
                match line.get("chat") {
                    Some(Value::Array(args)) => (json!("chat"), args.clone()),
                    _ => panic!("not a chat event: {line}"),
                }
            }
        }
    }

    /// The text of the next event, which must be a `chat`.
    async fn hear(&mut self) -> String {
        let (name, args) = self.hear_event().await;
        assert_eq!(name, "chat", "{args:?}");
        match args.as_slice() {
            [Value::String(text)] => text.clone(),
            _ => panic!("one text argument expected: {args:?}"),
        }
    }
}

async fn next_node_line(lines: &mut Lines<BufReader<ChildStdout>>) -> Value {
    let line = tokio::time::timeout(WAIT, lines.next_line())
        .await
        .unwrap_or_else(|_| panic!("the Node client printed nothing within {WAIT:?}"))
        .expect("reading the Node client")
        .expect("the Node client exited");
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line:?}: {e}"))
}

/// Every member of `senders` says hello then its end marker; every member of `members` must
/// hear each hello exactly once before it has all the markers.
async fn everyone_hears_everyone_once(members: &mut [(String, Member)]) {
    let names: Vec<String> = members.iter().map(|(name, _)| name.clone()).collect();
    for (name, member) in members.iter_mut() {
        member.say(&format!("hello from {name}")).await;
        member.say(&format!("end {name}")).await;
    }
    for (listener, member) in members.iter_mut() {
        let mut heard: BTreeMap<String, usize> = BTreeMap::new();
        let mut ends = 0;
        while ends < names.len() {
            let text = member.hear().await;
            if text.starts_with("end ") {
                ends += 1;
            }
            *heard.entry(text).or_default() += 1;
        }
        let expected: BTreeMap<String, usize> = names
            .iter()
            .flat_map(|name| [format!("hello from {name}"), format!("end {name}")])
            .map(|text| (text, 1))
            .collect();
        assert_eq!(heard, expected, "what {listener} heard");
    }
}

#[tokio::test]
async fn three_runtimes_share_a_room_and_only_members_instances_hear_it() {
    let redis = RedisServer::start();
    let mut tokio_server = start_instance(Runtime::Tokio, &redis).await;
    let mut smol_server = start_instance(Runtime::Smol, &redis).await;
    let mut mio_server = start_instance(Runtime::Mio, &redis).await;
    // The same line on all three.
    for server in [&mut tokio_server, &mut smol_server, &mut mio_server] {
        server
            .expect_line(|line| line.starts_with("Redis connected"), WAIT)
            .await;
    }

    let mut members = vec![
        (
            "tokio-1".to_owned(),
            Member::raw(tokio_server.port(), "lobby").await,
        ),
        (
            "tokio-2".to_owned(),
            Member::raw(tokio_server.port(), "lobby").await,
        ),
        (
            "smol".to_owned(),
            Member::raw(smol_server.port(), "lobby").await,
        ),
    ];
    let mut cook = Member::raw(mio_server.port(), "kitchen").await;
    // One subscriber per instance with members, whatever their number there (M3).
    wait_for_subscribers(&redis, LOBBY, 2).await;
    wait_for_subscribers(&redis, KITCHEN, 1).await;

    everyone_hears_everyone_once(&mut members).await;

    // The kitchen's instance was not subscribed to the lobby: its member hears only its room.
    cook.say("kitchen only").await;
    assert_eq!(cook.hear().await, "kitchen only");

    // A member in the lobby on mio makes mio subscribe, and hear the others (M1 on mio).
    members.push((
        "mio".to_owned(),
        Member::raw(mio_server.port(), "lobby").await,
    ));
    wait_for_subscribers(&redis, LOBBY, 3).await;
    everyone_hears_everyone_once(&mut members).await;

    // The smol instance's last lobby member leaves: the others, wherever they are, hear that
    // it left (the app's `left`, a broadcast from smol), and its channel goes (M3).
    let (_, smol_member) = members.remove(2);
    if let Member::Raw(ws) = smol_member {
        ws.close().await;
    }
    for (name, member) in members.iter_mut() {
        let (event, args) = member.hear_event().await;
        assert_eq!(event, "left", "{name}: {args:?}");
    }
    wait_for_subscribers(&redis, LOBBY, 2).await;
    everyone_hears_everyone_once(&mut members).await;

    // No instance logged an error (an undecodable message, a refused delivery, a lost Redis).
    for server in [&mut tokio_server, &mut smol_server, &mut mio_server] {
        let errors: Vec<String> = server
            .stderr_so_far()
            .into_iter()
            .filter(|line| line.starts_with("Error"))
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", server.runtime());
    }
}

#[tokio::test]
async fn a_node_server_with_the_sharded_adapter_joins_the_fleet() {
    let redis = RedisServer::start();
    let node = start_node_peer(&redis.url()).await;
    let tokio_server = start_instance(Runtime::Tokio, &redis).await;
    let mio_server = start_instance(Runtime::Mio, &redis).await;

    let mut members = vec![
        ("node".to_owned(), Member::node(node.port(), "lobby").await),
        (
            "tokio".to_owned(),
            Member::raw(tokio_server.port(), "lobby").await,
        ),
        (
            "mio".to_owned(),
            Member::raw(mio_server.port(), "lobby").await,
        ),
    ];
    wait_for_subscribers(&redis, LOBBY, 3).await;
    everyone_hears_everyone_once(&mut members).await;

    // Binary arguments cross too (the adapter's msgpack encoding), both ways.
    const BYTES: &[u8] = &[1, 2, 3];
    let placeholder = r#"451-/relay,["chat",{"_placeholder":true,"num":0}]"#;
    members[0].1.say_json(json!([{ "$binary": "AQID" }])).await;
    for (name, member) in &mut members[1..] {
        let Member::Raw(ws) = member else {
            unreachable!("gif-chat members are raw clients")
        };
        assert_eq!(ws.next_packet_text(WAIT).await, placeholder, "{name}");
        assert_eq!(ws.next_packet(WAIT).await, Received::Binary(BYTES.to_vec()));
    }
    if let Member::Raw(ws) = &mut members[1].1 {
        ws.send_text(placeholder).await;
        ws.send_binary(BYTES).await;
    }
    let (event, args) = members[0].1.hear_event().await;
    assert_eq!(
        (event, args),
        (json!("chat"), vec![json!({ "$binary": "AQID" })])
    );
}

/// A Node server's cluster-wide requests, from a script run with socket.io and the sharded
/// adapter (no HTTP server: the requests go through Redis only): `fetchSockets()` must resolve
/// with the gif-chat instance's socket (it waits for an answer from every instance subscribed to
/// the namespace, so an instance that stays silent makes it fail after its timeout), and
/// `socketsJoin` must put that socket in the room.
const FLEET_REQUESTS: &str = r#"
const { Server } = require("socket.io");
const { createClient } = require("redis");
const { createShardedAdapter } = require("@socket.io/redis-adapter");
(async () => {
  const pub = createClient({ url: process.env.REDIS_URL });
  const sub = pub.duplicate();
  await Promise.all([pub.connect(), sub.connect()]);
  const io = new Server({ adapter: createShardedAdapter(pub, sub) });
  const relay = io.of("/relay");
  // Its own channels subscribed (gif-chat's and its own: two), or the answers would be missed.
  while ((await pub.sendCommand(["PUBSUB", "SHARDNUMSUB", "socket.io#/relay#"]))[1] < 2) {
    await new Promise((resolve) => setImmediate(resolve));
  }
  const sockets = await relay.in("lobby").fetchSockets();
  console.log(JSON.stringify(sockets.map((s) => ({ id: s.id, rooms: [...s.rooms].sort() }))));
  relay.in("lobby").socketsJoin("vip");
  console.log("joined");
  process.stdin.resume();
  process.stdin.on("end", () => process.exit(0));
})().catch((error) => {
  console.error(error.message);
  process.exit(1);
});
"#;

#[tokio::test]
async fn a_node_servers_fetch_sockets_and_sockets_join_reach_gif_chat() {
    let redis = RedisServer::start();
    assert!(
        node_peer_dir()
            .join("node_modules/@socket.io/redis-adapter")
            .is_dir(),
        "the Node peer is not installed: (cd tests/peers/socketio-node && npm ci)"
    );
    let mut server = start_instance(Runtime::Smol, &redis).await;
    server
        .expect_line(|line| line.starts_with("Redis connected"), WAIT)
        .await;
    let (mut ws, _) = Ws::opened_session(server.port(), "/socket.io/").await;
    ws.send_text(r#"40/relay,{"room":"lobby"}"#).await;
    let answer = ws.next_packet_text(WAIT).await;
    let id = answer
        .split("\"sid\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no sid in {answer}"))
        .to_owned();
    wait_for_subscribers(&redis, LOBBY, 1).await;

    let mut child = Command::new("node")
        .arg("-e")
        .arg(FLEET_REQUESTS)
        .current_dir(node_peer_dir())
        .env("REDIS_URL", redis.url())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs (Node.js 20 or later)");
    let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
    let fetched = next_node_line(&mut lines).await;
    let mut rooms = vec![id.clone(), "lobby".to_owned()];
    rooms.sort();
    assert_eq!(fetched, json!([{ "id": id, "rooms": rooms }]));
    assert_eq!(next_node_line_text(&mut lines).await, "joined");
    wait_for_subscribers(&redis, "socket.io#/relay#vip#", 1).await;
    drop(child);
}

async fn next_node_line_text(lines: &mut Lines<BufReader<ChildStdout>>) -> String {
    tokio::time::timeout(WAIT, lines.next_line())
        .await
        .unwrap_or_else(|_| panic!("the Node script printed nothing within {WAIT:?}"))
        .expect("reading the Node script")
        .expect("the Node script exited")
}

/// socket.io-client with connection state recovery (tests/fleet/recovering-member.js), which
/// reconnects when and where the test says.
struct RecoveringMember {
    _child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
}

impl RecoveringMember {
    async fn start(url: &str, room: &str) -> RecoveringMember {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/fleet/recovering-member.js");
        let mut child = Command::new("node")
            .arg(script)
            .arg(url)
            .arg(room)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("node runs (Node.js 20 or later)");
        let stdin = child.stdin.take().expect("piped");
        let lines = BufReader::new(child.stdout.take().expect("piped")).lines();
        RecoveringMember {
            _child: child,
            stdin,
            lines,
        }
    }

    async fn command(&mut self, command: Value) {
        let line = format!("{command}\n");
        self.stdin
            .write_all(line.as_bytes())
            .await
            .expect("write to node");
    }

    async fn next(&mut self) -> Value {
        next_node_line(&mut self.lines).await
    }
}

/// The instance the one `/relay` client connected to (the one that logged it), then the other.
async fn on_which(first: Server, second: Server) -> (Server, Server) {
    let (mut first, mut second) = (first, second);
    let deadline = Instant::now() + WAIT;
    loop {
        let relay = |server: &mut Server| {
            server
                .lines_so_far()
                .iter()
                .any(|line| line.ends_with("/relay"))
        };
        if relay(&mut first) {
            return (first, second);
        }
        if relay(&mut second) {
            return (second, first);
        }
        assert!(
            Instant::now() < deadline,
            "neither instance logged the client"
        );
        tokio::task::yield_now().await;
    }
}

/// Waits until Redis holds a session for a socket in `room` (written by its instance when it
/// joined: the bridge sends it on its own thread).
async fn wait_for_session(redis: &RedisServer, room: &str) {
    let deadline = Instant::now() + WAIT;
    loop {
        let keys = redis.cli(&["--scan", "--pattern", "gif-chat#recovery#/relay#session#*"]);
        let held = keys
            .lines()
            .any(|key| redis.cli(&["GET", key]).contains(&format!("\"{room}\"")));
        if held {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no session in {room} reached Redis: {keys:?}"
        );
        tokio::task::yield_now().await;
    }
}

/// SPEC M5: a socket.io-client with recovery on, through nginx's round-robin door, in a room
/// on the instance nginx chose (tokio's or smol's); that instance is killed with SIGKILL; the
/// room's broadcasts go on through the other; the client comes back through nginx, which now
/// reaches only the other, with its `pid` and last offset, is told `recovered`, keeps its id,
/// and gets what it missed, in order and exactly once, then what comes next.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_whose_instance_died_recovers_its_missed_events_on_another() {
    let redis = RedisServer::start();
    let mut env = instance_env(&redis);
    env.retain(|(name, _)| *name != "SIO_RECOVERY_MS");
    env.push(("SIO_RECOVERY_MS", "60000".to_owned()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let tokio = Server::start(Runtime::Tokio, &env).await;
    let smol = Server::start(Runtime::Smol, &env).await;
    let nginx = FleetNginx::start(&[tokio.port(), smol.port()]).await;

    let mut client = RecoveringMember::start(&nginx.round_robin_url(), "lobby").await;
    let first = client.next().await;
    assert_eq!(first["recovered"], json!(false), "{first}");
    let id = first["connected"].clone();
    let (mut a, b) = on_which(tokio, smol).await;
    let (mut sender, _) = Ws::opened_session(b.port(), "/socket.io/").await;
    sender
        .send_text(&format!("40/relay,{}", json!({ "room": "lobby" })))
        .await;
    sender.next_packet_text(WAIT).await;
    wait_for_subscribers(&redis, LOBBY, 2).await;
    wait_for_session(&redis, "lobby").await;

    // Heard on the client's instance, from the other, with the other's offset.
    let say = |text: &str| format!("42/relay,{}", json!(["chat", text]));
    sender.send_text(&say("before")).await;
    let echo = sender.next_packet_text(WAIT).await;
    assert!(echo.contains("before"), "{echo}");
    let heard = client.next().await;
    assert_eq!(heard["chat"][0], json!("before"), "{heard}");
    assert!(heard["chat"][1].is_string(), "an offset: {heard}");

    a.signal(Signal::SIGKILL);
    a.wait_exit(WAIT).await;
    let lost = client.next().await;
    assert!(lost.get("disconnected").is_some(), "{lost}");

    // Missed: sent through the survivor while the client has no instance. The sender hearing its own
    // echo means B has emitted it (and queued its record for Redis before the lookup).
    for text in ["missed 1", "missed 2", "missed 3"] {
        sender.send_text(&say(text)).await;
        let echo = sender.next_packet_text(WAIT).await;
        assert!(echo.contains(text), "{echo}");
    }
    client
        .command(json!({ "reconnect": nginx.round_robin_url() }))
        .await;
    let back = client.next().await;
    assert_eq!(back["recovered"], json!(true), "{back}");
    assert_eq!(back["connected"], id, "the same socket");

    sender.send_text(&say("after")).await;
    let mut heard = Vec::new();
    loop {
        let line = client.next().await;
        let text = line["chat"][0]
            .as_str()
            .unwrap_or_else(|| panic!("a chat: {line}"))
            .to_owned();
        heard.push(text.clone());
        if text == "after" {
            break;
        }
    }
    assert_eq!(heard, ["missed 1", "missed 2", "missed 3", "after"]);

    // Back in the room on B: what it says reaches the room, itself included.
    client.command(json!({ "say": ["still here"] })).await;
    let echo = client.next().await;
    assert_eq!(echo["chat"][0], json!("still here"), "{echo}");
}

/// SPEC M5 beside M2: a gif-chat instance with recovery on publishes its offset in a flag of
/// the adapter's message, which Node's adapter ignores: a Node server's client hears a gif-chat
/// broadcast exactly as before, with nothing added.
#[tokio::test]
async fn a_node_servers_clients_see_nothing_of_gif_chats_offsets() {
    let redis = RedisServer::start();
    let node = start_node_peer(&redis.url()).await;
    let mut env = instance_env(&redis);
    env.retain(|(name, _)| *name != "SIO_RECOVERY_MS");
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let gif = Server::start(Runtime::Tokio, &env).await;
    let mut listener = Member::node(node.port(), "lobby").await;
    let (mut sender, _) = Ws::opened_session(gif.port(), "/socket.io/").await;
    sender
        .send_text(&format!("40/relay,{}", json!({ "room": "lobby" })))
        .await;
    sender.next_packet_text(WAIT).await;
    wait_for_subscribers(&redis, LOBBY, 2).await;
    sender
        .send_text(&format!("42/relay,{}", json!(["chat", "from gif"])))
        .await;
    let echo = sender.next_packet_text(WAIT).await;
    assert!(
        echo.starts_with(r#"42/relay,["chat","from gif","#),
        "gif-chat's own client gets the offset: {echo}"
    );
    assert_eq!(
        listener.hear_event().await,
        (json!("chat"), vec![json!("from gif")])
    );
    let published = redis.cli(&["XLEN", "gif-chat#recovery#/relay#packets"]);
    assert_eq!(published.trim(), "1", "kept in gif-chat's own stream");
}
