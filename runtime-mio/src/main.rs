//! The `runtime-mio` binary: loads `.env`, parses the settings and runs the server (see the
//! library for everything else).

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // The environment wins over `.env`: dotenvy never overrides a variable already set.
    dotenvy::dotenv().ok();
    let settings = gif_chat_core::Settings::parse();
    runtime_mio::run(settings)
}
