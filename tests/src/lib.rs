//! gif-chat's behaviour suite: support code for the tests in `tests/tests/`.
//!
//! The suite is black-box on purpose. It starts the real, prebuilt binaries (`runtime-tokio`,
//! `runtime-smol`, `runtime-mio`) as child processes and talks to them over loopback TCP, the way
//! a browser, a proxy or an attacker would; it never links the core. What it expects is written
//! down in [`spec`] from core/BEHAVIOUR.md, not borrowed from the core, so a change in the core's texts
//! shows up here as a failure instead of silently moving the goalposts.
//!
//! Tests synchronise on what the server observably does (a log line printed, a message received,
//! a socket closed), never on sleeps; every wait has a generous bound that only turns a hang
//! into a failure with the server's output attached.
//!
//! Every scenario runs against all three runtimes through [`runtime_matrix!`], which gives each
//! runtime its own test function, so a failure names the runtime that broke.

#![forbid(unsafe_code)]

pub mod blocking;
pub mod browser;
pub mod chat;
pub mod chat_socket;
pub mod eio;
pub mod fleet;
pub mod http;
pub mod nginx;
// The real PostgreSQL and Redis servers a test starts: the io crate's test support, one copy.
#[path = "../../io/tests/support/postgres_server.rs"]
pub mod postgres_server;
pub mod proc;
#[path = "../../io/tests/support/redis_server.rs"]
pub mod redis_server;
pub mod server;
pub mod sio_target;
pub mod spec;
pub mod ws;

use std::fmt;
use std::time::Duration;

pub use nix::sys::signal::Signal;
pub use server::{Server, ServerBuilder};

/// A bound for waits that normally finish within milliseconds: long enough for a loaded
/// two-core machine, short enough that a hang fails the test instead of stalling the suite.
pub const WAIT: Duration = Duration::from_secs(10);

/// How much earlier than a configured interval or timeout a client may see its effect: the two
/// clocks start at slightly different moments (the server's when it has the connection or the
/// request, the client's when it has sent or read something), and the client's may be the later.
pub const EARLY: Duration = Duration::from_millis(20);

/// How much later than a configured interval or timeout a client may see its effect: the
/// server's timer fires on time, but on a loaded two-core machine either side may be scheduled
/// late. Small beside the defaults (seconds), so a setting ignored or read in the wrong unit
/// still fails.
pub const LATE: Duration = Duration::from_millis(500);

/// One of the three server binaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Runtime {
    Tokio,
    Smol,
    Mio,
}

impl Runtime {
    /// All three, in a fixed order.
    pub const ALL: [Runtime; 3] = [Runtime::Tokio, Runtime::Smol, Runtime::Mio];

    /// The binary's file name in the target directory.
    pub fn binary_name(self) -> &'static str {
        match self {
            Runtime::Tokio => "runtime-tokio",
            Runtime::Smol => "runtime-smol",
            Runtime::Mio => "runtime-mio",
        }
    }
}

impl fmt::Display for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.binary_name())
    }
}

/// Writes each scenario once and runs it against every runtime.
///
/// ```no_run
/// use gif_chat_tests::{runtime_matrix, Runtime, Server};
///
/// runtime_matrix! {
///     async fn prints_the_start_line(runtime: Runtime) {
///         let server = Server::start(runtime, &[]).await;
///         assert_ne!(server.port(), 0);
///     }
/// }
/// # fn main() {}
/// ```
///
/// defines the scenario as a plain `async fn` and, for each runtime, a `#[tokio::test]` in a
/// module named after its binary (`runtime_tokio::prints_the_start_line`, `runtime_smol::…`,
/// `runtime_mio::…`), so `cargo test` reports which runtime failed and
/// `cargo test runtime_mio::` runs one runtime alone. (Modules named plainly `tokio` would
/// shadow the tokio crate in the test file.)
#[macro_export]
macro_rules! runtime_matrix {
    ($(
        $(#[$meta:meta])*
        async fn $name:ident($runtime:ident: $runtime_type:ty) $body:block
    )*) => {
        $(
            $(#[$meta])*
            async fn $name($runtime: $runtime_type) $body
        )*
        $crate::runtime_matrix!(@runtime runtime_tokio Tokio $($name)*);
        $crate::runtime_matrix!(@runtime runtime_smol Smol $($name)*);
        $crate::runtime_matrix!(@runtime runtime_mio Mio $($name)*);
    };
    (@runtime $module:ident $variant:ident $($name:ident)*) => {
        mod $module {
            $(
                // Two workers: the WebSocket readers spawned by a scenario keep running (and
                // time-stamping what they receive) while the scenario itself waits.
                #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::Runtime::$variant).await
                }
            )*
        }
    };
}
