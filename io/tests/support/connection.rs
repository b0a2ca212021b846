//! A core `Connection` driven by hand against the shared hub, as a runtime's task would: made,
//! its output written out, a response's body read.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use gif_chat_core::testing::drain_transmit;
use gif_chat_core::{Config, Connection};
use gif_chat_io::{HubLink, SharedHub};

pub fn connection(config: &Arc<Config>) -> Connection {
    let peer: SocketAddr = "127.0.0.1:5000".parse().expect("literal");
    Connection::new(Arc::clone(config), peer, Instant::now())
}

/// Everything the connection has to send, as if the socket took it all.
pub fn written(conn: &mut Connection) -> String {
    String::from_utf8_lossy(&drain_transmit(conn, Instant::now())).into_owned()
}

/// The body of an HTTP response.
pub fn body(response: &str) -> &str {
    response.split_once("\r\n\r\n").map_or("", |(_, body)| body)
}

/// Opens an Engine.IO polling session at `path` (`/engine.io/` or `/socket.io/`) on `conn`
/// through `hub`, as connection `token`; returns its sid.
pub fn open_polling(
    hub: &SharedHub,
    conn: &mut Connection,
    link: &mut HubLink,
    token: usize,
    path: &str,
) -> String {
    let open = format!("GET {path}?EIO=4&transport=polling HTTP/1.1\r\nHost: a\r\n\r\n");
    conn.handle_input(Instant::now(), open.as_bytes());
    hub.exchange(conn, link, token);
    let answer = written(conn);
    body(&answer)
        .split("\"sid\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a sid")
        .to_owned()
}
