//! `cargo run -p runtime-tokio`: gif-chat on tokio. Loading the settings and the start sequence
//! are `gif_chat_io`'s, serving is the library's, so tests and benchmarks run the same code.

#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    gif_chat_io::start::main(runtime_tokio::serve)
}
