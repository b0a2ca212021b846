//! Issue 9, test 6: gif-chat's own browser Socket.IO client (`/socket.io-lite.js`, the client
//! the chat pages will use) in a real headless Chromium, against each runtime in conformance
//! mode: over WebSocket, over long-polling, and falling back to polling when every WebSocket is
//! refused. The page receives events and answers acks (among its other checks).
//!
//! The browser side is `tests/browser/sio-lite.mjs`, which opens `/sio-check.html` and prints
//! one JSON line per check; this test starts the server, runs it, and checks the server's log
//! agrees with what the page saw. The check page works only against the conformance app, so a
//! server without `CONFORMANCE=true` does not serve it (a 404), which is checked here too.
//! Missing tools are a failure naming the install step, never a silent skip.

use std::process::Stdio;
use std::time::Duration;

use gif_chat_tests::browser::{browser_dir, require_tools};
use gif_chat_tests::{http, runtime_matrix, Runtime, Server, ServerBuilder};
use serde_json::Value;

/// Bounds the whole browser run (launch, three modes of about three seconds each) on a busy
/// machine.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(120);
const MODES: [&str; 3] = ["websocket", "polling", "fallback"];
/// The checks that show an event received and an ack answered, in both directions.
const REQUIRED_CHECKS: [&str; 4] = [
    "connect-and-auth",
    "message-back",
    "ack-from-server",
    "ack-to-server",
];

/// The JSON lines `sio-lite.mjs` printed, one per check and mode.
fn results(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .filter(|line| line.starts_with('{'))
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|e| panic!("result line {line:?}: {e}"))
        })
        .collect()
}

runtime_matrix! {
    async fn socket_io_lite_works_in_headless_chromium(runtime: Runtime) {
        require_tools();
        let mut server = ServerBuilder::new(runtime)
            .envs(&[
                ("CONFORMANCE", "true"),
                // Short pings so the heartbeat scenario sees several; a timeout of 3 s, not 1,
                // because a page on a loaded machine can be a second late with its pong (a
                // polling session then ended under the page, whose next POST got 400).
                ("EIO_PING_INTERVAL_MS", "300"),
                ("EIO_PING_TIMEOUT_MS", "3000"),
            ])
            .start()
            .await;
        let url = server.url();
        let run = tokio::process::Command::new("node")
            .arg(browser_dir().join("sio-lite.mjs"))
            .arg(url.trim_end_matches('/'))
            .args(MODES)
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output();
        let output = match tokio::time::timeout(BROWSER_TIMEOUT, run).await {
            Ok(Ok(output)) => output,
            Ok(Err(e)) => panic!("running `node` (install Node.js 20 or later): {e}"),
            Err(_) => panic!(
                "the browser check took over {BROWSER_TIMEOUT:?}\n{}",
                server.transcript()
            ),
        };
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "{runtime}: sio-lite.mjs failed ({}):\n{stdout}\n{}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr),
            server.transcript()
        );

        // Every mode ran the checks that matter here, and passed them (the script exits 0
        // only when all passed; this guards against a page that silently ran none).
        let results = results(&stdout);
        for mode in MODES {
            for check in REQUIRED_CHECKS {
                let passed = results.iter().any(|r| {
                    r["mode"] == mode && r["scenario"] == check && r["ok"] == Value::Bool(true)
                });
                assert!(passed, "{runtime}: no passing {check:?} in mode {mode}:\n{stdout}");
            }
        }

        // The server saw the page's sockets join and leave, and closed no session for a fault.
        let lines = server.lines_so_far();
        let joined = lines
            .iter()
            .filter(|l| l.as_str() == "새로운 클라이언트 접속 127.0.0.1 /")
            .count();
        assert!(joined >= MODES.len() * REQUIRED_CHECKS.len(), "{runtime}: {joined} joins of /");
        let faults: Vec<String> = server
            .stderr_so_far()
            .into_iter()
            .filter(|l| l.contains("session closed"))
            .collect();
        assert!(faults.is_empty(), "{runtime}: sessions closed for a fault: {faults:?}");
    }

    /// The check page needs the conformance app: without `CONFORMANCE=true` it is a 404, while
    /// the client script itself is served (the chat pages use it).
    async fn the_check_page_is_served_only_in_conformance_mode(runtime: Runtime) {
        let plain = Server::start(runtime, &[]).await;
        let page = http::get(plain.port(), "/sio-check.html", &[]).await;
        assert_eq!(page.status, 404, "{runtime}: /sio-check.html without CONFORMANCE");
        let client = http::get(plain.port(), "/socket.io-lite.js", &[]).await;
        assert_eq!(client.status, 200, "{runtime}: /socket.io-lite.js");
        drop(plain);
        let conformance = ServerBuilder::new(runtime).env("CONFORMANCE", "true").start().await;
        let page = http::get(conformance.port(), "/sio-check.html", &[]).await;
        assert_eq!(page.status, 200, "{runtime}: /sio-check.html with CONFORMANCE=true");
        assert!(page.body_text().contains("socket.io-lite.js"), "{runtime}: not the check page");
    }
}
