//! Several instances (SPEC §7, issue 11): three gif-chat instances (one per runtime, in
//! conformance mode: namespace `/relay`, the room from the handshake's auth, `chat` relayed to
//! the room) and one Node socket.io server with `@socket.io/redis-adapter`'s sharded adapter,
//! all sharing one real `redis-server`, behind a real nginx; and, for the store, instances
//! sharing one real PostgreSQL.
//!
//! The members are real socket.io-client processes (`tests/fleet/member.js`), so reconnection
//! and the polling-to-WebSocket upgrade are the client's own. Every wait is on something
//! observable (a member's line, a Redis subscription count, a log line) with a deadline; Redis
//! subscription counts are polled, as Redis announces nothing.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use gif_chat_tests::chat::{self, Visitor};
use gif_chat_tests::fleet::{chats_equal, connections, FleetNginx, Members, Transport};
use gif_chat_tests::postgres_server::PostgresServer;
use gif_chat_tests::redis_server::RedisServer;
use gif_chat_tests::sio_target::{Running, Target};
use gif_chat_tests::{Runtime, Server, ServerBuilder, Signal, WAIT};
use serde_json::{json, Value};

/// The Redis channel of a `/relay` room in the sharded adapter's `dynamic` mode (its default):
/// `<prefix>#<namespace>#<room>#`.
fn room_channel(room: &str) -> String {
    format!("socket.io#/relay#{room}#")
}

/// Three gif-chat instances and one Node server sharing Redis, behind nginx.
struct Fleet {
    redis: RedisServer,
    /// tokio, smol, mio; `None` once killed.
    gif_chat: Vec<Option<Server>>,
    _node: Running,
    nginx: FleetNginx,
}

impl Fleet {
    async fn start() -> Fleet {
        let redis = tokio::task::spawn_blocking(RedisServer::start)
            .await
            .expect("starting redis-server");
        let url = redis.url();
        let mut gif_chat = Vec::new();
        for runtime in Runtime::ALL {
            let server = ServerBuilder::new(runtime)
                .env("CONFORMANCE", "true")
                .env("REDIS_URL", &url)
                // A restarted Redis is found again within a fraction of the test's patience.
                .env("REDIS_RECONNECT_MAX_MS", "200")
                .env("TRUST_PROXY", "127.0.0.1")
                .start()
                .await;
            gif_chat.push(Some(server));
        }
        let node = Target::SocketIoNode
            .start(&[("REDIS_URL", url.as_str())])
            .await
            .unwrap_or_else(|why| panic!("the Node peer cannot run: {why}"));
        let mut ports: Vec<u16> = gif_chat.iter().flatten().map(Server::port).collect();
        ports.push(node.port());
        let nginx = FleetNginx::start(&ports).await;
        Fleet {
            redis,
            gif_chat,
            _node: node,
            nginx,
        }
    }

    /// Each instance's own URL (not through nginx): tokio, smol, mio, Node.
    fn instance_urls(&self) -> Vec<String> {
        let mut urls: Vec<String> = self
            .gif_chat
            .iter()
            .flatten()
            .map(|server| format!("http://127.0.0.1:{}", server.port()))
            .collect();
        urls.push(format!("http://127.0.0.1:{}", self._node.port()));
        urls
    }

    /// How many Redis connections subscribe to `room`'s channel.
    fn subscribers(&self, room: &str) -> usize {
        let out = self
            .redis
            .cli(&["PUBSUB", "SHARDNUMSUB", &room_channel(room)]);
        // `redis-cli` prints the channel, then the count, a line each.
        out.lines()
            .nth(1)
            .and_then(|count| count.trim().parse().ok())
            .unwrap_or_else(|| panic!("PUBSUB SHARDNUMSUB answered {out:?}"))
    }

    /// Waits until exactly `count` connections subscribe to `room`'s channel.
    async fn wait_subscribers(&self, room: &str, count: usize) {
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            let now = self.subscribers(room);
            if now == count {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{room}: {now} subscribers, not {count}, after {WAIT:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Each member sends one `chat`, then one end mark; returns once every member saw every end
/// mark, and checks each saw each `chat` exactly once.
async fn every_member_gets_each_once(members: &mut Members, round: &str) {
    let live = members.live();
    for &i in &live {
        members.send(i, &json!([round, i])).await;
    }
    for &i in &live {
        members.send(i, &json!([format!("{round}-end"), i])).await;
    }
    let marks: Vec<Value> = live
        .iter()
        .map(|i| json!([format!("{round}-end"), i]))
        .collect();
    let what = format!("every member to get the `{round}` end marks");
    let watched = live.clone();
    members
        .wait_until(&what, |seen| {
            watched
                .iter()
                .all(|m| marks.iter().all(|mark| chats_equal(&seen[*m], mark) >= 1))
        })
        .await;
    for &m in &live {
        for &i in &live {
            let sent = json!([round, i]);
            let got = chats_equal(members.seen(m), &sent);
            assert_eq!(
                got,
                1,
                "member {m} got {sent} {got} times:\n{}",
                members.transcript()
            );
        }
    }
}

/// M1, M2: members on every instance (one on each, one more through each of nginx's doors)
/// get each broadcast exactly once, whichever instance it was sent through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_member_gets_each_broadcast_once_whichever_instance_sent_it() {
    let fleet = Fleet::start().await;
    let mut members = Members::new();
    for url in fleet.instance_urls() {
        members
            .join(&url, "lobby", Transport::WebSocket, None)
            .await;
    }
    let round_robin = fleet.nginx.round_robin_url();
    members
        .join(&round_robin, "lobby", Transport::WebSocket, None)
        .await;
    let pinned = fleet.nginx.pinned_url();
    members
        .join(&pinned, "lobby", Transport::Polling, Some(loopback(2)))
        .await;
    // Every instance has a member: each subscribes to the room before anything is sent.
    fleet.wait_subscribers("lobby", 4).await;
    every_member_gets_each_once(&mut members, "hello").await;
}

/// M3: an instance with no member in a room does not subscribe to it, so none of the room's
/// traffic reaches it; its last member gone, an instance unsubscribes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_without_members_in_a_room_gets_none_of_its_traffic() {
    let fleet = Fleet::start().await;
    let urls = fleet.instance_urls();
    let mut members = Members::new();
    // Room `a` on tokio and smol, room `b` on mio and Node.
    let a0 = members
        .join(&urls[0], "a", Transport::WebSocket, None)
        .await;
    let a1 = members
        .join(&urls[1], "a", Transport::WebSocket, None)
        .await;
    let b2 = members
        .join(&urls[2], "b", Transport::WebSocket, None)
        .await;
    let b3 = members
        .join(&urls[3], "b", Transport::WebSocket, None)
        .await;
    fleet.wait_subscribers("a", 2).await;
    fleet.wait_subscribers("b", 2).await;
    members.send(a0, &json!(["to-a"])).await;
    members.send(b3, &json!(["to-b"])).await;
    members
        .wait_until("a's members to get `to-a`, b's `to-b`", |seen| {
            chats_equal(&seen[a0], &json!(["to-a"])) == 1
                && chats_equal(&seen[a1], &json!(["to-a"])) == 1
                && chats_equal(&seen[b2], &json!(["to-b"])) == 1
                && chats_equal(&seen[b3], &json!(["to-b"])) == 1
        })
        .await;
    for (member, other) in [(a0, "to-b"), (a1, "to-b"), (b2, "to-a"), (b3, "to-a")] {
        assert_eq!(chats_equal(members.seen(member), &json!([other])), 0);
    }
    // Still two subscribers each after the traffic: nobody subscribed to a room to deliver it.
    assert_eq!(fleet.subscribers("a"), 2);
    assert_eq!(fleet.subscribers("b"), 2);
    // smol's only member of `a` leaves: smol unsubscribes.
    members.leave(a1).await;
    fleet.wait_subscribers("a", 1).await;
}

/// M5, M6: `kill -9` of a gif-chat instance. Its WebSocket-only clients, which came through
/// nginx's round-robin door (no stickiness), reconnect through nginx to the instances left and
/// get the broadcasts sent after. (What they missed while away is replayed by the instance they
/// land on when it is a gif-chat one, SPEC M5: tests/tests/cluster.rs tests that with a client
/// whose reconnection it controls.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_of_a_killed_instance_reconnect_through_nginx_and_get_later_broadcasts() {
    let mut fleet = Fleet::start().await;
    let round_robin = fleet.nginx.round_robin_url();
    let mut members = Members::new();
    // Round robin over four instances: two members on each.
    for _ in 0..8 {
        members
            .join(&round_robin, "r", Transport::WebSocket, None)
            .await;
    }
    fleet.wait_subscribers("r", 4).await;
    every_member_gets_each_once(&mut members, "before").await;

    let mut victim = fleet.gif_chat[0].take().expect("tokio's instance");
    let on_victim = victim
        .lines_so_far()
        .iter()
        .filter(|line| line.contains("/relay"))
        .count();
    assert!(
        on_victim > 0,
        "round robin put no member on {}:\n{}",
        victim.runtime(),
        victim.transcript()
    );
    victim.signal(Signal::SIGKILL);
    victim.wait_exit(WAIT).await;
    let what = format!("{on_victim} members to lose the killed instance and reconnect");
    members
        .wait_until(&what, |seen| {
            let reconnected = seen.iter().filter(|s| connections(s) >= 2).count();
            let lost = seen
                .iter()
                .filter(|s| s.iter().any(|v| v.get("disconnected").is_some()))
                .count();
            reconnected >= on_victim && lost == reconnected
        })
        .await;
    // The three instances left all have members: each subscribes to the room.
    fleet.wait_subscribers("r", 3).await;
    every_member_gets_each_once(&mut members, "after").await;
    assert!(
        fleet.nginx.error_log().contains("failed (111"),
        "nginx never found the killed instance refusing:\n{}",
        fleet.nginx.error_log()
    );
}

/// M1: Redis restarted mid-run. The instances reconnect and subscribe again, and broadcasts
/// flow as before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fleet_carries_on_when_redis_restarts() {
    let mut fleet = Fleet::start().await;
    let mut members = Members::new();
    for url in fleet.instance_urls() {
        members.join(&url, "r", Transport::WebSocket, None).await;
    }
    fleet.wait_subscribers("r", 4).await;
    every_member_gets_each_once(&mut members, "before").await;
    tokio::task::block_in_place(|| fleet.redis.restart());
    fleet.wait_subscribers("r", 4).await;
    every_member_gets_each_once(&mut members, "after").await;
}

/// M6: polling clients through the pinned door, each from its own loopback address, complete
/// the upgrade to WebSocket; every request of one address went to one instance, and the
/// addresses spread over several. WebSocket-only clients through the round-robin door share
/// the room with them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_clients_pinned_by_their_address_complete_the_upgrade() {
    let fleet = Fleet::start().await;
    let pinned = fleet.nginx.pinned_url();
    let round_robin = fleet.nginx.round_robin_url();
    let mut members = Members::new();
    let mut polling = Vec::new();
    for host in 2..10 {
        let index = members
            .join(&pinned, "p", Transport::Polling, Some(loopback(host)))
            .await;
        polling.push(index);
    }
    for _ in 0..4 {
        members
            .join(&round_robin, "p", Transport::WebSocket, None)
            .await;
    }
    let upgraded = polling.clone();
    members
        .wait_until("every polling member to upgrade to WebSocket", |seen| {
            upgraded.iter().all(|i| {
                seen[*i]
                    .iter()
                    .any(|v| v.get("upgraded") == Some(&json!("websocket")))
            })
        })
        .await;
    for &i in &polling {
        assert_eq!(
            members.seen(i).first().and_then(|v| v.get("opened")),
            Some(&json!("polling")),
            "member {i} did not start with long-polling:\n{}",
            members.transcript()
        );
        assert_eq!(connections(members.seen(i)), 1, "{}", members.transcript());
        assert!(
            !members.seen(i).iter().any(|v| v.get("error").is_some()),
            "member {i}: {}",
            members.transcript()
        );
    }
    fleet.wait_subscribers("p", 4).await;
    every_member_gets_each_once(&mut members, "pinned").await;

    // The pinning, from nginx's own record: one upstream per client address, several in all.
    let log = fleet.nginx.access_log();
    let mut upstream_of = std::collections::HashMap::new();
    for line in log.lines() {
        let mut fields = line.split(' ');
        let (Some(client), Some(upstream)) = (fields.next(), fields.next()) else {
            continue;
        };
        if client == "127.0.0.1" {
            continue;
        }
        let first = upstream_of
            .entry(client.to_owned())
            .or_insert(upstream.to_owned());
        assert_eq!(first, upstream, "{client} went to two instances:\n{log}");
    }
    assert_eq!(upstream_of.len(), polling.len(), "{log}");
    let spread: std::collections::HashSet<&String> = upstream_of.values().collect();
    assert!(spread.len() >= 2, "every address on one instance:\n{log}");
}

/// The control for the test above: without the pinning rule, a polling client's requests are
/// spread round robin, the one after the handshake reaches an instance that does not hold its
/// session, and the client never connects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_clients_without_the_rule_lose_their_session() {
    let fleet = Fleet::start().await;
    let mut members = Members::new();
    let member = members.start(
        &fleet.nginx.round_robin_url(),
        "p",
        Transport::Polling,
        Some(loopback(2)),
    );
    members
        .wait_until("the unpinned polling member's error", |seen| {
            seen[member].iter().any(|v| v.get("error").is_some())
        })
        .await;
    assert_eq!(
        connections(members.seen(member)),
        0,
        "{}",
        members.transcript()
    );
}

/// 127.0.0.`host`.
fn loopback(host: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, host))
}

/// M4: instances sharing PostgreSQL. A room created and a line written through one instance are
/// read through the others (the chat app reads through its cache to the store), the room list
/// comes from the store in a fleet, and a room empty on the instance that made it is not
/// removed: other instances may have members in it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_and_its_history_written_through_one_instance_are_read_through_another() {
    let postgres = tokio::task::spawn_blocking(PostgresServer::start)
        .await
        .expect("starting PostgreSQL");
    let redis = tokio::task::spawn_blocking(RedisServer::start)
        .await
        .expect("starting redis-server");
    let uploads = tempfile::tempdir().expect("an upload directory");
    let database = postgres.url();
    let redis_url = redis.url();
    let upload_dir = uploads.path().display().to_string();
    let mut instances = Vec::new();
    // One after the other: the first creates the schema.
    for runtime in Runtime::ALL {
        let server = ServerBuilder::new(runtime)
            .env("DATABASE_URL", &database)
            .env("REDIS_URL", &redis_url)
            .env("UPLOAD_DIR", &upload_dir)
            // Outside a fleet a room would go 1 ms after its last member.
            .env("ROOM_EMPTY_REMOVAL_MS", "1")
            .start()
            .await;
        instances.push(server);
    }
    let [tokio_server, smol_server, mio_server] = &mut instances[..] else {
        unreachable!("three runtimes");
    };

    let mut maker = Visitor::new(tokio_server.port());
    maker.get("/rooms").await;
    let room = maker.create_room("여러 서버", 10, "").await;
    let mut socket = chat::enter(tokio_server.port(), &maker, &room).await;
    let ack = socket.emit_with_ack("chat", &json!("tokio에서 씀")).await;
    assert_eq!(ack["ok"], true, "{ack}");
    socket.close().await;

    let mut reader = Visitor::new(smol_server.port());
    let list = reader.get("/rooms").await;
    assert!(
        list.body_text().contains("여러 서버"),
        "smol does not list the room made through tokio:\n{}",
        list.body_text()
    );
    let page = reader.get(&format!("/room/{room}")).await;
    assert_eq!(page.status, 200, "{}", page.body_text());
    assert!(
        page.body_text().contains("tokio에서 씀"),
        "{}",
        page.body_text()
    );
    let mut socket = chat::enter(smol_server.port(), &reader, &room).await;
    let ack = socket.emit_with_ack("chat", &json!("smol에서 씀")).await;
    assert_eq!(ack["ok"], true, "{ack}");
    socket.close().await;

    let mut third = Visitor::new(mio_server.port());
    let page = third.get(&format!("/room/{room}")).await;
    assert_eq!(page.status, 200, "{}", page.body_text());
    let text = page.body_text();
    let (first, second) = (text.find("tokio에서 씀"), text.find("smol에서 씀"));
    assert!(
        first.is_some() && second.is_some() && first < second,
        "mio's page lacks the history, in order:\n{text}"
    );
    // Empty on tokio and on smol for longer than the window, and removed by neither.
    let again = maker.get(&format!("/room/{room}")).await;
    assert_eq!(again.status, 200, "{}", again.body_text());
    for server in instances.iter_mut() {
        let lines = server.lines_so_far();
        assert!(
            !lines.iter().any(|line| line.contains("방 삭제")),
            "{} removed a room in a fleet:\n{}",
            server.runtime(),
            lines.join("\n")
        );
    }
    drop(instances);
    drop(postgres);
    drop(redis);
}
