//! `cargo run -p runtime-tokio`: gif-chat on tokio. Everything but loading `.env` and parsing the
//! command line lives in the library, so tests and benchmarks run the same code.

#![forbid(unsafe_code)]

use clap::Parser as _;

fn main() -> std::process::ExitCode {
    // The environment wins over `.env`, as with the seed's `dotenv`; a missing file is fine.
    dotenvy::dotenv().ok();
    let settings = gif_chat_core::Settings::parse();
    runtime_tokio::run(settings)
}
