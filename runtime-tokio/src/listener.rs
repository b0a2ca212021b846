//! The listening socket, built by hand with socket2 because `std` and tokio cannot set what the
//! server needs before `bind`: `IPV6_V6ONLY` off, so the default host `::` serves IPv4 and IPv6
//! alike (S1), and a backlog of 1024, so a burst of connects is queued instead of refused.

use std::io;
use std::net::SocketAddr;

use socket2::{Domain, Protocol, Socket, Type};

/// Pending connections the kernel queues for us (it caps this at `somaxconn`).
const BACKLOG: i32 = 1024;

/// The server could not listen.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {addr}: {source}")]
pub struct BindError {
    pub addr: SocketAddr,
    #[source]
    pub source: io::Error,
}

/// A non-blocking listener on `addr`; `dual_stack` lets an IPv6 socket take IPv4 too.
pub fn bind(addr: SocketAddr, dual_stack: bool) -> Result<std::net::TcpListener, BindError> {
    let build = || -> io::Result<std::net::TcpListener> {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
        // A restarted server must not wait for the old one's TIME_WAIT sockets to expire.
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
    fn a_port_in_use_is_a_bind_error() {
        let first = bind((Ipv4Addr::LOCALHOST, 0).into(), false).expect("bind");
        let taken = first.local_addr().expect("local addr");
        let error = bind(taken, false).expect_err("the port is taken");
        assert_eq!(error.addr, taken);
        assert_eq!(error.source.kind(), io::ErrorKind::AddrInUse);
        assert!(error.to_string().contains(&taken.to_string()));
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
