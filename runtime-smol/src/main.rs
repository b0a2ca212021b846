//! `runtime-smol`: gif-chat served by the smol runtime. Options: `--help`.

#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    gif_chat_io::start::main(runtime_smol::serve)
}
