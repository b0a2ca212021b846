//! Which peers may tell us the client's address (B7), as Express's `trust proxy`.

use std::net::IpAddr;

/// `TRUST_PROXY`, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustProxy {
    _todo: (),
}

/// A `TRUST_PROXY` value that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid TRUST_PROXY entry: {0}")]
pub struct TrustProxyError(pub String);

impl Default for TrustProxy {
    /// `loopback`.
    fn default() -> Self {
        todo!()
    }
}

impl std::str::FromStr for TrustProxy {
    type Err = TrustProxyError;
    /// `true`/`false`, or a comma list of `loopback`, `linklocal`, `uniquelocal`, IPs and CIDRs.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let _ = s;
        todo!()
    }
}

impl TrustProxy {
    /// The client address: the peer itself unless trusted, else walking `X-Forwarded-For` from the
    /// right, the first untrusted entry (or the leftmost when all are trusted). Unparsable entries
    /// stop the walk at the last good address. IPv4-mapped IPv6 is shown as IPv4.
    pub fn client_ip(&self, peer: IpAddr, x_forwarded_for: Option<&str>) -> IpAddr {
        let _ = (peer, x_forwarded_for);
        todo!()
    }
}
