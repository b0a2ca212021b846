//! S2, S3, S12 as a person sees them: the page in a real (headless) Chromium connects, shows the
//! ticks in the console, answers each one, and nothing fails, the favicon included.
//!
//! The browser side is `tests/browser/page.mjs` (playwright-core driving Debian's chromium);
//! this test starts the server, runs the script, and checks the server's log agrees with what
//! the page saw. Missing tools are a failure naming the install step, never a silent skip.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use gif_chat_tests::browser::{browser_dir, require_tools};
use gif_chat_tests::{runtime_matrix, spec, Runtime, Server, WAIT};
use regex::Regex;

/// Bounds the whole browser run (launch, page, two ticks, screenshot) on a busy machine.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(90);

runtime_matrix! {
    async fn page_works_in_headless_chromium(runtime: Runtime) {
        require_tools();
        let mut server = Server::start(runtime, &[("TICK_INTERVAL_MS", "300")]).await;
        let screenshot = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("page-{runtime}.png"));
        let _ = std::fs::remove_file(&screenshot);

        let run = tokio::process::Command::new("node")
            .arg(browser_dir().join("page.mjs"))
            .arg(server.url())
            .arg(&screenshot)
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output();
        let output = match tokio::time::timeout(BROWSER_TIMEOUT, run).await {
            Ok(Ok(output)) => output,
            Ok(Err(e)) => panic!("running `node` (install Node.js 20 or later): {e}"),
            Err(_) => panic!("the browser check took over {BROWSER_TIMEOUT:?}\n{}", server.transcript()),
        };
        let summary = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "{runtime}: page.mjs failed ({}):\n{summary}\n{}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr),
            server.transcript()
        );
        assert!(
            std::fs::metadata(&screenshot).is_ok_and(|m| m.len() > 0),
            "no screenshot at {}",
            screenshot.display()
        );

        // The server saw what the page saw: one connection, a reply for every tick.
        let ticks: usize = Regex::new(r#""ticks": (\d+)"#)
            .expect("a valid pattern")
            .captures(&summary)
            .and_then(|c| c.get(1))
            .and_then(|n| n.as_str().parse().ok())
            .unwrap_or_else(|| panic!("no tick count in the summary:\n{summary}"));
        assert!(ticks >= 2, "{summary}");
        server.expect_exact(&spec::connected("127.0.0.1"), WAIT).await;
        for _ in 0..ticks {
            server.expect_exact(spec::REPLY, WAIT).await;
        }
        server.expect_exact(&spec::disconnected("127.0.0.1"), WAIT).await;

        // The browser's own favicon request, invisible to the page, is in the access log; and
        // no request the browser made failed.
        let lines = server.lines_so_far();
        let favicon = Regex::new(r"^GET /favicon\.ico (200|304) ").expect("a valid pattern");
        assert!(lines.iter().any(|l| favicon.is_match(l)), "no favicon request: {lines:?}");
        let failed = Regex::new(r"^[A-Z]+ \S+ [45]\d\d ").expect("a valid pattern");
        let failures: Vec<&String> = lines.iter().filter(|l| failed.is_match(l)).collect();
        assert!(failures.is_empty(), "failed requests: {failures:?}");
    }
}
