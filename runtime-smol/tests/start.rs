//! The start sequence of the built `runtime-smol` binary, as every runtime must run it.

#[path = "../../io/tests/support/taken_port.rs"]
mod taken_port;

#[test]
fn a_taken_port_prints_the_shared_line_and_exit_code() {
    taken_port::check(env!("CARGO_BIN_EXE_runtime-smol"));
}
