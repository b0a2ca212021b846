//! The listening socket, built by hand with socket2 because neither `std` nor any runtime can set
//! what the server needs before `bind`: `IPV6_V6ONLY` off, so the default host `::` serves IPv4
//! and IPv6 alike (S1, as Node does), a backlog of 1024, so a burst of connects is queued instead
//! of refused, and `SO_REUSEADDR`, so a restarted server need not wait for the old one's
//! `TIME_WAIT` sockets.
//!
//! The socket is returned as a non-blocking `std` listener: each runtime hands it to its own
//! reactor (`tokio::net::TcpListener::from_std`, `Async::new`, `mio::net::TcpListener::from_std`).

use std::io;
use std::net::{SocketAddr, TcpListener};

use gif_chat_core::CannotListen;
use socket2::{Domain, Protocol, Socket, Type};

/// Pending connections the kernel queues for us (it caps this at `net.core.somaxconn`).
pub const BACKLOG: i32 = 1024;

/// The server could not listen on `addr`; displayed as the core's [`CannotListen`] text.
#[derive(Debug)]
pub struct BindError {
    pub addr: SocketAddr,
    pub source: io::Error,
}

impl std::fmt::Display for BindError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        CannotListen {
            addr: self.addr,
            reason: &self.source,
        }
        .fmt(f)
    }
}

impl std::error::Error for BindError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// A non-blocking listener on `addr`; `dual_stack` lets an IPv6 socket take IPv4 too.
pub fn bind(addr: SocketAddr, dual_stack: bool) -> Result<TcpListener, BindError> {
    let build = || -> io::Result<TcpListener> {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
        socket.set_reuse_address(true)?;
        if addr.is_ipv6() {
            socket.set_only_v6(!dual_stack)?;
        }
        socket.set_nonblocking(true)?;
        socket.bind(&addr.into())?;
        socket.listen(BACKLOG)?;
        Ok(socket.into())
    };
    build().map_err(|source| BindError { addr, source })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr, TcpStream};

    #[test]
    fn port_zero_picks_a_free_port() {
        let listener = bind((Ipv4Addr::LOCALHOST, 0).into(), false).expect("bind");
        let port = listener.local_addr().expect("local addr").port();
        assert_ne!(port, 0);
    }

    #[test]
    fn a_port_in_use_is_a_bind_error_naming_the_address() {
        let first = bind((Ipv4Addr::LOCALHOST, 0).into(), false).expect("bind");
        let taken = first.local_addr().expect("local addr");
        let error = bind(taken, false).expect_err("the port is taken");
        assert_eq!(error.addr, taken);
        assert_eq!(error.source.kind(), io::ErrorKind::AddrInUse);
        assert_eq!(
            error.to_string(),
            format!("cannot listen on {taken}: {}", error.source)
        );
    }

    #[test]
    fn the_unspecified_ipv6_host_also_takes_ipv4() {
        let listener = bind((Ipv6Addr::UNSPECIFIED, 0).into(), true).expect("bind ::");
        let port = listener.local_addr().expect("local addr").port();
        let client = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).expect("connect over IPv4");
        listener.set_nonblocking(false).expect("blocking accept");
        let (_, peer) = listener.accept().expect("accept");
        assert_eq!(
            peer.port(),
            client.local_addr().expect("client addr").port()
        );
    }
}
