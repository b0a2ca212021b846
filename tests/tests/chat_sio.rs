//! The chat's Socket.IO events reach the real npm `socket.io-client` (4.8, pinned in
//! tests/sio/package-lock.json) as the room page gets them, on every runtime: the client gets
//! its session cookie over HTTP, watches `/room`, and two visitors meet in a room on `/chat`
//! (`newRoom`, `join`, `members`, `chat`, `whisper`, `exit`, the owner's hand-over `system` and
//! `updateRoom`, `removeRoom`), every payload held
//! to the shapes the browser test also holds the page's frames to (tests/chat/events.mjs).
//!
//! The client side is `tests/sio/chat-client.js`; this test starts the server with a short
//! `ROOM_EMPTY_REMOVAL_MS`, runs it, and checks the server's log agrees with what it saw.
//! Missing tools are a failure naming the install step, never a silent skip.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use gif_chat_tests::chat::{self, ChatFiles};
use gif_chat_tests::{runtime_matrix, Runtime, WAIT};
use serde_json::Value;

/// Bounds the client's whole run on a busy machine.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(60);
/// Short, so the room's removal is quick to see; long enough that the client's steps between
/// the room's creation and its first socket never leave it empty that long.
const REMOVAL_MS: &str = "700";
const SCENARIOS: [&str; 3] = ["chat-events", "chat-refusals", "shapes"];

runtime_matrix! {
    async fn the_npm_client_gets_the_rooms_events(runtime: Runtime) {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("sio");
        assert!(
            dir.join("node_modules/socket.io-client").is_dir(),
            "{}/node_modules is missing: run `cd tests/sio && npm ci` (Node.js 20 or later)",
            dir.display()
        );
        let files = ChatFiles::new();
        let mut server = chat::start(runtime, &files, &[("ROOM_EMPTY_REMOVAL_MS", REMOVAL_MS)]).await;
        let run = tokio::process::Command::new("node")
            .arg(dir.join("chat-client.js"))
            .arg(server.url().trim_end_matches('/'))
            .env("ROOM_EMPTY_REMOVAL_MS", REMOVAL_MS)
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output();
        let output = match tokio::time::timeout(CLIENT_TIMEOUT, run).await {
            Ok(Ok(output)) => output,
            Ok(Err(e)) => panic!("running `node` (install Node.js 20 or later): {e}"),
            Err(_) => panic!("chat-client.js took over {CLIENT_TIMEOUT:?}\n{}", server.transcript()),
        };
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "{runtime}: chat-client.js failed ({}):\n{stdout}\n{}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr),
            server.transcript()
        );
        let lines: Vec<Value> = stdout
            .lines()
            .filter(|line| line.starts_with('{'))
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{line:?}: {e}")))
            .collect();
        for scenario in SCENARIOS {
            assert!(
                lines.iter().any(|l| l["scenario"] == scenario && l["ok"] == Value::Bool(true)),
                "{runtime}: no passing {scenario}:\n{stdout}"
            );
        }
        // Every event of the contract the scenario provokes was seen (and shape-checked).
        let events: Vec<&str> = lines
            .iter()
            .find_map(|l| l["events"].as_array())
            .map(|list| list.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for wanted in ["newRoom", "members", "join", "chat:text", "whisper", "exit", "system", "updateRoom", "removeRoom"] {
            assert!(events.contains(&wanted), "{runtime}: no {wanted} among {events:?}");
        }

        // The server's log agrees: the room was made, both sockets came and went, it was
        // deleted.
        let detail = lines
            .iter()
            .find(|l| l["scenario"] == "chat-events")
            .map(|l| l["detail"].clone())
            .unwrap_or_default();
        let room = detail["room"].as_str().unwrap_or_default().to_owned();
        let owner = detail["colourA"].as_str().unwrap_or_default().to_owned();
        let heir = detail["colourB"].as_str().unwrap_or_default().to_owned();
        server.expect_exact(&format!("방 생성 {room} npm 방 ({owner})"), WAIT).await;
        server.expect_exact(&format!("방장 변경 {room} {heir}"), WAIT).await;
        server.expect_exact(&format!("방 삭제 {room}"), WAIT).await;
        let log = server.lines_so_far();
        let joins = log.iter().filter(|l| *l == "새로운 클라이언트 접속 127.0.0.1 /chat").count();
        let leaves = log.iter().filter(|l| *l == "클라이언트 접속 해제 127.0.0.1 /chat").count();
        assert!(joins >= 2 && leaves >= 2, "{runtime}: {joins} /chat connects, {leaves} disconnects:\n{}", log.join("\n"));
        assert!(
            !log.iter().any(|l| l.contains("hello from A") || l.contains("psst")),
            "{runtime}: a chat's text in the log"
        );
    }
}
