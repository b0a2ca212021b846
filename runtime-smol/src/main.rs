//! `runtime-smol`: gif-chat served by the smol runtime. Options: `--help`.

#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // The environment wins over `.env`, as with the seed's `dotenv`.
    dotenvy::dotenv().ok();
    runtime_smol::run(gif_chat_core::Settings::parse())
}
