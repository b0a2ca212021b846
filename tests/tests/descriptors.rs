//! B6: out of file descriptors, a server must back off, log once a second, not spin, not crash,
//! and serve again once descriptors free up.
//!
//! The server runs under `prlimit --nofile=64:64`; the test opens more connections than that,
//! each sending a request. The kernel completes every handshake into the listen backlog, so
//! connecting always succeeds: what shows the limit is that the server answers only the
//! connections it could accept, and that its `accept` fails (the `Error: accept failed` line on
//! stderr). The gap between two such lines is also the window in which the server's CPU time is
//! read from `/proc`: a server that retried `accept` in a loop would burn the whole second.

use std::time::{Duration, Instant};

use gif_chat_tests::{http, proc, runtime_matrix, spec, Runtime, Server, WAIT};
use tokio::io::AsyncWriteExt;

/// Descriptors the server may have: a handful for itself, the rest for connections.
const NOFILE: u64 = 64;
/// Connections opened: well past the limit.
const CONNECTIONS: usize = 80;

runtime_matrix! {
    async fn survives_descriptor_exhaustion(runtime: Runtime) {
        let mut server = Server::builder(runtime)
            .nofile(NOFILE)
            // Accepted connections must stay open (holding their descriptors) for the test.
            .env("HEADER_TIMEOUT_MS", "120000")
            .env("KEEP_ALIVE_TIMEOUT_MS", "120000")
            .start()
            .await;
        let port = server.port();
        let pid = server.pid();

        let mut held = Vec::with_capacity(CONNECTIONS);
        for _ in 0..CONNECTIONS {
            let mut stream = http::connect(port).await;
            stream
                .write_all(&http::get_request(port, "/", &[]))
                .await
                .expect("writing a request");
            held.push(stream);
        }

        let first = server
            .expect_stderr_line_timed(|l| l.starts_with(spec::ACCEPT_FAILED), WAIT)
            .await;
        assert!(
            first.text.contains("os error 24") || first.text.contains("os error 23"),
            "expected EMFILE/ENFILE: {}",
            first.text
        );

        // The next report is due a second later; meanwhile the server is out of descriptors
        // and must be idle, retrying only after a back-off.
        let cpu_before = proc::cpu_time(pid);
        let window_start = Instant::now();
        let second = server
            .expect_stderr_line_timed(|l| l.starts_with(spec::ACCEPT_FAILED), WAIT)
            .await;
        let cpu = proc::cpu_time(pid).saturating_sub(cpu_before);
        let window = window_start.elapsed();
        let gap = second.at - first.at;
        assert!(
            gap >= Duration::from_millis(900),
            "accept errors logged {gap:?} apart, expected at most one a second"
        );
        assert!(
            second.text.contains("more since the last report"),
            "the server should keep retrying (after a back-off) without logging each failure: {}",
            second.text
        );
        assert!(
            cpu.as_secs_f64() < 0.3 * window.as_secs_f64(),
            "{runtime} used {cpu:?} of CPU in {window:?} while out of descriptors (spinning?)"
        );
        let reports = server
            .stderr_so_far()
            .iter()
            .filter(|l| l.starts_with(spec::ACCEPT_FAILED))
            .count();
        let allowed = 2 + second.at.elapsed().as_secs() as usize;
        assert!(reports <= allowed, "{reports} accept error lines: a flood");

        assert!(server.is_running(), "the server exited");
        assert_ne!(proc::state(pid), Some('Z'));

        // Connections beyond the limit wait in the backlog, unanswered.
        let access = spec::access_pattern("GET", "/", 200);
        let answered = server
            .lines_so_far()
            .iter()
            .filter(|l| access.is_match(l))
            .count();
        assert!(
            answered > 0 && answered < CONNECTIONS,
            "{answered} of {CONNECTIONS} requests answered under a limit of {NOFILE} descriptors"
        );

        eprintln!(
            "{runtime}: {answered} of {CONNECTIONS} answered; {cpu:?} of CPU in {window:?}; {}",
            second.text
        );

        // Descriptors free up: the server serves again.
        drop(held);
        let page = http::get(port, "/", &[]).await;
        assert_eq!(page.status, 200);
        assert!(server.is_running(), "the server exited");
    }
}
