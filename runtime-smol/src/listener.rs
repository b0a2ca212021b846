//! The listening socket, built with socket2 because std's `TcpListener::bind` can set neither
//! `IPV6_V6ONLY` (the default host `::` must also take IPv4, as Node does) nor the backlog (a
//! connect burst must not overflow the accept queue).

use std::io;
use std::net::{SocketAddr, TcpListener};

use socket2::{Domain, Protocol, Socket, Type};

/// Accept queue length: the kernel caps it at `net.core.somaxconn` anyway.
pub const BACKLOG: i32 = 1024;

/// Binds `addr` non-blocking, ready to hand to the reactor. `dual_stack`: an IPv6 socket also
/// accepts IPv4 (as mapped addresses).
pub fn bind(addr: SocketAddr, dual_stack: bool) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    // A restarted server must not wait for the previous one's TIME_WAIT sockets.
    socket.set_reuse_address(true)?;
    if addr.is_ipv6() {
        socket.set_only_v6(!dual_stack)?;
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    Ok(socket.into())
}
