//! The check every runtime's `tests/start.rs` runs on its own binary: started on a port already
//! taken, it prints exactly the line of `gif_chat_io`'s [`StartError`] for that refusal, and
//! nothing else, and exits with that error's code. Since the expectation comes from the one
//! table in `gif_chat_io::start`, all three runtimes print the same line and exit alike.
//!
//! Shared by `#[path]` rather than through a crate: it is test code, and each runtime's test can
//! only name its own binary (`CARGO_BIN_EXE_…`).

use std::net::Ipv4Addr;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use gif_chat_io::{listener, StartError};

/// How long a binary that refuses to start may take to exit (it is prebuilt; this only bounds a
/// machine busy compiling).
const PATIENCE: Duration = Duration::from_secs(20);

pub fn check(binary: &str) {
    let taken = listener::bind((Ipv4Addr::LOCALHOST, 0).into(), false).expect("bind");
    let addr = taken.local_addr().expect("local addr");
    // The same refusal made here: its line is what the runtime must print.
    let refused = listener::bind(addr, false).expect_err("the port is taken");
    let expected = StartError::from(refused);

    // No `.env` and no inherited settings: only what the test sets.
    let empty = tempfile::tempdir().expect("a temporary directory");
    let child = Command::new(binary)
        .env_clear()
        .env("HOST", addr.ip().to_string())
        .env("PORT", addr.port().to_string())
        .env("COOKIE_SECRET", "set, so that no warning is printed")
        .current_dir(empty.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {binary}: {e}"));
    // Waited for on a thread, so the exit is awaited, not polled; bounded, so a runtime that
    // serves anyway fails the test instead of hanging it.
    let pid = child.id();
    let (done, exited) = mpsc::channel();
    thread::spawn(move || {
        let _ = done.send(child.wait_with_output());
    });
    let output = match exited.recv_timeout(PATIENCE) {
        Ok(output) => output.expect("the child's output"),
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("{binary} did not exit on a taken port");
        }
    };
    drop(taken);

    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        format!("{}\n", expected.log_line().text),
        "{binary}'s stderr"
    );
    assert!(
        expected
            .log_line()
            .text
            .starts_with(&format!("Error: cannot listen on {addr}: ")),
        "{expected:?}"
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "",
        "{binary}'s stdout"
    );
    assert_eq!(
        output.status.code(),
        Some(i32::from(expected.exit_code())),
        "{binary}'s exit status"
    );
    assert_eq!(expected.exit_code(), gif_chat_io::start::EXIT_CANNOT_START);
}
