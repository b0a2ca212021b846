//! The GIF chat room (SPEC C1–C9) as people use it, in headless Chromium, on every runtime:
//! three visitors in three browser contexts create, list, join, chat, upload a GIF, whisper,
//! kick, meet a password and a full room, leave a room until it is removed, and find the rest
//! again after the server restarted on the same database.
//!
//! The browser side is `tests/chat/browser.mjs` (playwright-core from tests/browser, Debian's
//! chromium); this test owns the server: it starts it with the database and upload folder in a
//! directory of its own, runs the script's live phase, stops the server (SIGTERM, as an operator
//! would) while the pages are still open, starts it again on the same files and tells the script,
//! which then checks the list and the histories. The server's log is checked against what the
//! pages saw. Missing tools are a failure naming the install step, never a silent skip.

use std::process::Stdio;
use std::time::Duration;

use gif_chat_tests::browser::require_tools;
use gif_chat_tests::chat::{self, gif, ChatFiles};
use gif_chat_tests::{runtime_matrix, Runtime, Signal, WAIT};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// Bounds each phase of the browser run (launch, a dozen steps) on a busy two-core machine.
const PHASE_TIMEOUT: Duration = Duration::from_secs(150);
/// Short, so the room both visitors leave is removed quickly; long enough that a room just
/// created is not removed while the creator's browser is still loading its page.
const LIVE_REMOVAL_MS: &str = "1500";
/// After the restart every stored room gets its removal window again, with nobody in it (the
/// stop dropped the pages' sockets): with the live phase's short window the rooms would be gone
/// before the browser could look at them, so the restarted server gets a window longer than
/// the test. (Whether a room nobody re-enters is removed after a start is not what this test
/// looks at.)
const RESTART_REMOVAL_MS: &str = "600000";
/// One secret for both starts, so the visitors' cookies are still their sessions after the
/// restart.
const COOKIE_SECRET: &str = "chat-browser-test";

/// What the script printed: its JSON lines.
struct Transcript {
    lines: Vec<Value>,
    raw: Vec<String>,
}

impl Transcript {
    fn failures(&self) -> Vec<&Value> {
        self.lines
            .iter()
            .filter(|l| l["ok"] == Value::Bool(false))
            .collect()
    }
}

/// Reads the script's stdout until a line satisfies `done` (returned) or the stream ends.
async fn read_until(
    lines: &mut tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    transcript: &mut Transcript,
    done: impl Fn(&Value) -> bool,
) -> Option<Value> {
    while let Ok(Some(line)) = lines.next_line().await {
        transcript.raw.push(line.clone());
        if let Ok(value) = serde_json::from_str::<Value>(&line) {
            transcript.lines.push(value.clone());
            if done(&value) {
                return Some(value);
            }
        }
    }
    None
}

runtime_matrix! {
    async fn the_chat_works_for_people_in_headless_chromium(runtime: Runtime) {
        require_tools();
        let files = ChatFiles::new();
        let image = files.path().join("tiny.gif");
        std::fs::write(&image, gif(8, 6)).expect("writing the GIF");
        let mut server = chat::start(
            runtime,
            &files,
            &[("ROOM_EMPTY_REMOVAL_MS", LIVE_REMOVAL_MS), ("COOKIE_SECRET", COOKIE_SECRET)],
        )
        .await;

        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("chat/browser.mjs");
        let mut child = tokio::process::Command::new("node")
            .arg(&script)
            .arg(server.url().trim_end_matches('/'))
            .arg(&image)
            .env("ROOM_EMPTY_REMOVAL_MS", LIVE_REMOVAL_MS)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("running `node` (install Node.js 20 or later): {e}"));
        let mut stdin = child.stdin.take().expect("stdin is piped");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout is piped")).lines();
        let mut transcript = Transcript { lines: Vec::new(), raw: Vec::new() };

        let live = tokio::time::timeout(
            PHASE_TIMEOUT,
            read_until(&mut lines, &mut transcript, |v| v["phase"] == "live-done"),
        )
        .await;
        let live = match live {
            Ok(Some(live)) => live,
            Ok(None) => panic!("{runtime}: browser.mjs ended before its live phase was done:\n{}\n{}", transcript.raw.join("\n"), server.transcript()),
            Err(_) => panic!("{runtime}: the live phase took over {PHASE_TIMEOUT:?}:\n{}\n{}", transcript.raw.join("\n"), server.transcript()),
        };
        assert!(
            live["ok"] == Value::Bool(true),
            "{runtime}: the live phase failed: {:#?}\n{}",
            transcript.failures(),
            server.transcript()
        );
        let room = |name: &str| live["rooms"][name].as_str().unwrap_or_default().to_owned();
        let (main, secret, short) = (room("main"), room("secret"), room("short"));
        let colour = |name: &str| live["colours"][name].as_str().unwrap_or_default().to_owned();
        let (owner, kicked) = (colour("A"), colour("C"));

        // The log says what the pages saw (C10).
        server.expect_exact(&format!("방 생성 {main} 브라우저 <방> ({owner})"), WAIT).await;
        server.expect_exact(&format!("강퇴 {main} {kicked}"), WAIT).await;
        server.expect_exact(&format!("방 생성 {secret} 비밀 방 ({owner})"), WAIT).await;
        server.expect_exact(&format!("방 생성 {short} 잠깐 방 ({owner})"), WAIT).await;
        server.expect_exact(&format!("방 삭제 {short}"), WAIT).await;
        let log = server.lines_so_far();
        let uploads = log.iter().filter(|l| l.starts_with(&format!("업로드 {main} {owner} "))).count();
        assert_eq!(uploads, 1, "{runtime}: upload lines:\n{}", log.join("\n"));

        // A stop is not a leave: with the pages still open, nothing is deleted.
        server.signal(Signal::SIGTERM);
        let status = server.wait_exit(WAIT).await;
        assert!(status.success(), "{runtime}: exit status {status}");
        let log = server.lines_so_far();
        for room in [&main, &secret] {
            assert!(!log.contains(&format!("방 삭제 {room}")), "{runtime}: room {room} deleted by the stop");
        }
        drop(server);

        let mut server = chat::start(
            runtime,
            &files,
            &[("ROOM_EMPTY_REMOVAL_MS", RESTART_REMOVAL_MS), ("COOKIE_SECRET", COOKIE_SECRET)],
        )
        .await;
        stdin
            .write_all(format!("restarted {}\n", server.url().trim_end_matches('/')).as_bytes())
            .await
            .expect("telling browser.mjs the new URL");
        stdin.flush().await.expect("flushing browser.mjs's stdin");
        let ended = tokio::time::timeout(PHASE_TIMEOUT, async {
            read_until(&mut lines, &mut transcript, |_| false).await;
            child.wait().await
        })
        .await;
        let status = match ended {
            Ok(Ok(status)) => status,
            Ok(Err(e)) => panic!("{runtime}: waiting for browser.mjs: {e}"),
            Err(_) => panic!("{runtime}: the restart phase took over {PHASE_TIMEOUT:?}:\n{}\n{}", transcript.raw.join("\n"), server.transcript()),
        };
        assert!(
            status.success() && transcript.failures().is_empty(),
            "{runtime}: browser.mjs failed ({status}): {:#?}\n{}\n{}",
            transcript.failures(),
            transcript.raw.join("\n"),
            server.transcript()
        );
        for step in [
            "a new room appears in /rooms without a reload",
            "B joins and A sees the join line",
            "A and B chat both ways, markup shown as text",
            "A uploads a GIF and both see it load",
            "a whisper reaches only its target",
            "the owner kicks C",
            "a password room refuses a wrong password and admits the right one",
            "a full room refuses the next visitor",
            "a room both left disappears from /rooms after ROOM_EMPTY_REMOVAL_MS",
            "after a restart /rooms lists the rooms that were not left",
            "after a restart each history is shown",
            "shapes",
        ] {
            assert!(
                transcript.lines.iter().any(|l| l["scenario"] == step && l["ok"] == Value::Bool(true)),
                "{runtime}: no passing step {step:?}:\n{}",
                transcript.raw.join("\n")
            );
        }
        let events: Vec<&str> = transcript
            .lines
            .iter()
            .find_map(|l| l["events"].as_array())
            .map(|list| list.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for wanted in ["newRoom", "removeRoom", "join", "exit", "members", "chat:text", "chat:gif", "whisper", "kicked"] {
            assert!(events.contains(&wanted), "{runtime}: the pages never got {wanted}: {events:?}");
        }
        // The restarted server served the old image from the same folder.
        let log = server.lines_so_far();
        assert!(
            log.iter().any(|l| l.starts_with("GET /gif/") && (l.contains(" 200 ") || l.contains(" 304 "))),
            "{runtime}: the image was not served after the restart:\n{}",
            log.join("\n")
        );
        drop(server);
    }
}
