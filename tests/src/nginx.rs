//! A real nginx for one test: one foreground process (`daemon off; master_process off;` in the
//! configuration) whose pid file, logs and temporary directories live in the test's scratch
//! directory, killed when its [`Child`] is dropped. Used by the proxy test (`tests/nginx.rs`) and
//! the fleet test (`tests/fleet.rs`), each with its own configuration template.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::net::TcpStream;
use tokio::process::{Child, Command};

use crate::WAIT;

/// Debian's nginx (installed by `tests/run.sh`); a missing one fails the test with what to do.
pub fn nginx_binary() -> PathBuf {
    ["/usr/sbin/nginx", "/usr/bin/nginx", "/usr/local/sbin/nginx"]
        .iter()
        .map(Path::new)
        .find(|path| path.is_file())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| {
            panic!(
                "nginx is not installed: `apt-get install -y nginx` (tests/run.sh does it), \
                 then run the tests again"
            )
        })
}

/// Writes `config` to `dir/nginx.conf`, starts nginx on it and waits until it accepts
/// connections on every port of `listening` (nginx prints nothing when it is ready). An error
/// says why, with nginx's error log when it exited: a free port probed earlier can be taken by
/// someone else before nginx binds it, so callers retry.
pub async fn spawn_nginx(dir: &Path, config: &str, listening: &[u16]) -> Result<Child, String> {
    let conf = dir.join("nginx.conf");
    std::fs::write(&conf, config).map_err(|e| format!("writing {}: {e}", conf.display()))?;
    let error_log = dir.join("error.log");
    let mut child = Command::new(nginx_binary())
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(&conf)
        // Before the configuration is read, nginx would open its compiled-in error log.
        .arg("-e")
        .arg(&error_log)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("spawning nginx: {e}"))?;
    let deadline = Instant::now() + WAIT;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            let log = std::fs::read_to_string(&error_log).unwrap_or_default();
            return Err(format!("nginx exited with {status}:\n{log}"));
        }
        let mut all_up = true;
        for port in listening {
            all_up &= TcpStream::connect(("127.0.0.1", *port)).await.is_ok();
        }
        if all_up {
            return Ok(child);
        }
        if Instant::now() > deadline {
            return Err(format!(
                "nginx did not listen on {listening:?} within {WAIT:?}"
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
