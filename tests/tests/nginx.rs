//! gif-chat behind nginx (Debian's package, installed by tests/run.sh), with the configuration
//! the README recommends (tests/nginx/nginx.conf.template): the page and the tick pass through
//! the proxy, the Origin check still works, the logged client address follows `TRUST_PROXY`
//! exactly as Express's `trust proxy` would, and two instances behind one upstream share the
//! clients and stop independently.
//!
//! nginx runs as one foreground process (`daemon off; master_process off;`) whose pid file, logs
//! and temporary directories live in a scratch directory, listening on a free loopback port.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use async_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use async_tungstenite::tungstenite::Message;
use gif_chat_tests::http::{self, ResponseReader};
use gif_chat_tests::nginx::spawn_nginx;
use gif_chat_tests::ws::{self, Seen, TickWatcher};
use gif_chat_tests::{runtime_matrix, spec, Runtime, Server, Signal, WAIT};
use tokio::net::{TcpSocket, TcpStream};
use tokio::process::Child;

const TEMPLATE: &str = include_str!("../nginx/nginx.conf.template");
const TICK_MS: u64 = 200;
/// The longest a client behind nginx may wait for its next tick.
const MAX_TICK_GAP: Duration = Duration::from_millis(3 * TICK_MS);
/// What a client claims to be, in the header it sends itself.
const FORGED: &str = "203.0.113.9";
const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
/// A second loopback address, so that the client and nginx have different addresses.
const CLIENT_2: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

/// A running nginx; killed when dropped.
struct Nginx {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Nginx {
    /// Starts nginx in front of `upstreams` (gif-chat ports); `host_header` is the value of
    /// `proxy_set_header Host` (the template's `$http_host`, or another to compare).
    async fn start(upstreams: &[u16], host_header: &str) -> Nginx {
        // A free port can be taken by someone else between our probe and nginx's bind: retry.
        let mut failures = Vec::new();
        for _ in 0..3 {
            match Nginx::try_start(upstreams, host_header).await {
                Ok(nginx) => return nginx,
                Err(why) => failures.push(why),
            }
        }
        panic!("nginx did not start:\n{}", failures.join("\n---\n"));
    }

    async fn try_start(upstreams: &[u16], host_header: &str) -> Result<Nginx, String> {
        let dir = tempfile::tempdir().map_err(|e| format!("a scratch directory: {e}"))?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|probe| probe.local_addr())
            .map_err(|e| format!("probing for a free port: {e}"))?
            .port();
        let servers: String = upstreams
            .iter()
            .map(|p| format!("        server 127.0.0.1:{p};\n"))
            .collect();
        let config = TEMPLATE
            .replace("{{DIR}}", &dir.path().display().to_string())
            .replace("{{LISTEN}}", &format!("127.0.0.1:{port}"))
            .replace("{{UPSTREAM_SERVERS}}", servers.trim_end())
            .replace("Host $http_host;", &format!("Host {host_header};"));
        let child = spawn_nginx(dir.path(), &config, &[port]).await?;
        Ok(Nginx { child, port, dir })
    }

    fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

async fn start_server(runtime: Runtime, trust_proxy: &str) -> Server {
    let tick = TICK_MS.to_string();
    Server::start(
        runtime,
        &[("TICK_INTERVAL_MS", &tick), ("TRUST_PROXY", trust_proxy)],
    )
    .await
}

/// An upgrade request for `/` from the local address `from` to `port`, with `extra` headers;
/// returns the response status and the connection.
async fn upgrade_from(from: IpAddr, port: u16, extra: &[(&str, &str)]) -> (u16, TcpStream) {
    let socket = TcpSocket::new_v4().expect("a socket");
    socket
        .bind(SocketAddr::new(from, 0))
        .unwrap_or_else(|e| panic!("binding to {from}: {e}"));
    let mut stream = socket
        .connect(SocketAddr::new(LOCALHOST, port))
        .await
        .unwrap_or_else(|e| panic!("connecting from {from} to port {port}: {e}"));
    let response = ResponseReader::default()
        .exchange(&mut stream, &ws::upgrade_request(port, "/", extra), false)
        .await;
    (response.status, stream)
}

/// The address the server logs for a WebSocket opened from `from`, through nginx or not, when
/// the client sends `X-Forwarded-For: 203.0.113.9` itself.
async fn logged_client(runtime: Runtime, trust_proxy: &str, from: IpAddr, nginx: bool) -> String {
    let mut server = start_server(runtime, trust_proxy).await;
    let proxy = if nginx {
        Some(Nginx::start(&[server.port()], "$http_host").await)
    } else {
        None
    };
    let port = proxy.as_ref().map_or(server.port(), |p| p.port);
    let (status, _stream) = upgrade_from(from, port, &[("X-Forwarded-For", FORGED)]).await;
    assert_eq!(status, 101, "the upgrade from {from}");
    let prefix = spec::connected("");
    let line = server.expect_line(|l| l.starts_with(&prefix), WAIT).await;
    line.strip_prefix(&prefix).unwrap_or_default().to_owned()
}

/// Waits for `count` ticks on `client`, each within [`MAX_TICK_GAP`] of the previous one (or
/// of `since`); panics on anything else.
async fn expect_ticks(client: &mut TickWatcher, since: Instant, count: usize) {
    let mut last = since;
    for _ in 0..count {
        match client.next_seen(WAIT).await {
            Some(Seen::Tick(at)) => {
                assert!(
                    at.saturating_duration_since(last) <= MAX_TICK_GAP,
                    "a tick came {:?} after the previous one",
                    at - last
                );
                last = at;
            }
            other => panic!("expected a tick, got {other:?}"),
        }
    }
}

/// Connection lines a server printed so far.
fn connections(server: &mut Server) -> usize {
    let line = spec::connected("127.0.0.1");
    server.lines_so_far().iter().filter(|l| **l == line).count()
}

runtime_matrix! {
    /// The page and a ticking WebSocket, both through nginx.
    async fn page_and_tick_through_nginx(runtime: Runtime) {
        let mut server = start_server(runtime, "loopback").await;
        let nginx = Nginx::start(&[server.port()], "$http_host").await;
        let page = http::get(nginx.port, "/", &[]).await;
        assert_eq!(page.status, 200, "GET / through nginx\n{}", nginx.error_log());
        assert!(page.body_text().contains(spec::PAGE_TITLE), "the page through nginx");
        server.expect_access("GET", "/", 200).await;

        let mut client = ws::connect(nginx.port, "/").await;
        server.expect_exact(&spec::connected("127.0.0.1"), WAIT).await;
        let first = ws::expect_tick(&mut client, WAIT).await;
        let second = ws::expect_tick(&mut client, WAIT).await;
        assert!(second - first <= MAX_TICK_GAP, "ticks {:?} apart", second - first);
        ws::send(&mut client, Message::text(spec::REPLY)).await;
        server.expect_exact(spec::REPLY, WAIT).await;
        ws::close(client).await;
        server.expect_exact(&spec::disconnected("127.0.0.1"), WAIT).await;
    }

    /// The same-host Origin check (B8) through nginx: the page's own origin is let in, another
    /// site's is not. It needs `Host $http_host`: with `Host $host` nginx drops the port and
    /// the page's own origin no longer matches.
    async fn origin_check_through_nginx(runtime: Runtime) {
        let server = start_server(runtime, "loopback").await;
        let nginx = Nginx::start(&[server.port()], "$http_host").await;
        let own = format!("http://127.0.0.1:{}", nginx.port);
        let (status, _) = upgrade_from(LOCALHOST, nginx.port, &[("Origin", &own)]).await;
        assert_eq!(status, 101, "the page's own origin through nginx");
        let (status, _) =
            upgrade_from(LOCALHOST, nginx.port, &[("Origin", "http://evil.example")]).await;
        assert_eq!(status, 403, "a foreign origin through nginx");

        let dropping_port = Nginx::start(&[server.port()], "$host").await;
        let own = format!("http://127.0.0.1:{}", dropping_port.port);
        let (status, _) = upgrade_from(LOCALHOST, dropping_port.port, &[("Origin", &own)]).await;
        assert_eq!(status, 403, "with `Host $host` the port is lost and the page refused");
    }

    /// B7 through nginx, which appends the address it saw to the client's own
    /// `X-Forwarded-For: 203.0.113.9`. As with Express's `trust proxy`, the server walks the
    /// header from the right past trusted addresses and logs the first untrusted one.
    async fn client_ip_follows_trust_proxy(runtime: Runtime) {
        // Only nginx (127.0.0.1) trusted; the client is 127.0.0.2: its own claim is ignored.
        assert_eq!(logged_client(runtime, "127.0.0.1", CLIENT_2, true).await, "127.0.0.2");
        // `loopback` trusts every 127.x address, the client's own too (here it is local), so
        // the walk passes it and lands on what the client wrote: Express logs 203.0.113.9 as
        // well. In production the client is not on loopback and nginx's entry stops the walk.
        assert_eq!(logged_client(runtime, "loopback", LOCALHOST, true).await, FORGED);
        // Nobody trusted: the TCP peer, which is nginx.
        assert_eq!(logged_client(runtime, "false", CLIENT_2, true).await, "127.0.0.1");
        // Straight to the server from an untrusted peer: the forged header is ignored.
        assert_eq!(logged_client(runtime, "127.0.0.2/32", LOCALHOST, false).await, "127.0.0.1");
    }

    /// Two instances behind one upstream: clients are spread round robin, each keeps its own
    /// tick, and stopping one instance gives its clients close 1001 while the other's tick on;
    /// new clients then go to the one left.
    async fn two_instances_share_clients_and_stop_independently(runtime: Runtime) {
        const CLIENTS: usize = 6;
        let mut a = start_server(runtime, "loopback").await;
        let mut b = start_server(runtime, "loopback").await;
        let nginx = Nginx::start(&[a.port(), b.port()], "$http_host").await;
        let mut watched = Vec::new();
        let mut opened = Vec::new();
        for _ in 0..CLIENTS {
            watched.push(TickWatcher::connect(nginx.port).await);
            opened.push(Instant::now());
        }
        let deadline = Instant::now() + WAIT;
        while connections(&mut a) + connections(&mut b) < CLIENTS && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let on_a = connections(&mut a);
        assert_eq!((on_a, connections(&mut b)), (CLIENTS / 2, CLIENTS / 2), "round robin");
        for (client, &since) in watched.iter_mut().zip(&opened) {
            expect_ticks(client, since, 2).await;
        }

        a.signal(Signal::SIGTERM);
        let stopped = Instant::now();
        let (mut closed, mut ticking) = (0, 0);
        for client in &mut watched {
            // Ticks sent before the stop may still be queued; one may even cross the signal.
            let mut last = stopped;
            let mut after = 0;
            while after < 3 {
                match client.next_seen(WAIT).await {
                    Some(Seen::Tick(at)) if at <= stopped => {}
                    Some(Seen::Tick(at)) => {
                        assert!(at - last <= MAX_TICK_GAP, "a tick {:?} after the last", at - last);
                        (last, after) = (at, after + 1);
                    }
                    Some(Seen::Close(code)) => {
                        assert_eq!(code, Some(CloseCode::Away), "close code from the stopping one");
                        assert!(after <= 1, "{after} ticks before the close");
                        closed += 1;
                        break;
                    }
                    other => panic!("a client behind nginx got {other:?}"),
                }
            }
            if after == 3 {
                ticking += 1;
            }
        }
        assert_eq!((closed, ticking), (on_a, CLIENTS - on_a), "clients closed / still ticking");
        a.expect_line(|l| l.starts_with(&spec::stopping_prefix(on_a)), WAIT).await;
        a.expect_exact(spec::STOPPED, WAIT).await;
        assert!(a.wait_exit(WAIT).await.success(), "the stopped instance's exit status");

        let before = connections(&mut b);
        let mut late = TickWatcher::connect(nginx.port).await;
        expect_ticks(&mut late, Instant::now(), 2).await;
        assert_eq!(connections(&mut b), before + 1, "a new client goes to the instance left");
    }
}
