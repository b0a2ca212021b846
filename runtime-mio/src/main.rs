//! The `runtime-mio` binary: the settings and the start sequence are `gif_chat_io`'s, the loop
//! is the library's.

fn main() -> std::process::ExitCode {
    gif_chat_io::start::main(runtime_mio::serve)
}
