//! Which peers may tell us the client's address (B7), as Express's `trust proxy`.
//!
//! `X-Forwarded-For` is written by whoever sent the request, so it is believed only as far as
//! the chain of proxies we trust reaches: starting from the TCP peer, each trusted hop vouches
//! for the address to its left, and the first address not trusted is the client. The seed read
//! the header from anyone, which let anyone forge the address in the log.

use std::net::IpAddr;

use ipnet::{IpNet, Ipv4Net};

/// `TRUST_PROXY`, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustProxy {
    rule: Rule,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Rule {
    /// `true`: every hop.
    All,
    /// A number `n`: the `n` hops nearest to us, whatever their addresses (Express's hop count).
    Hops(usize),
    /// Addresses in these networks (`false` is the empty list).
    Nets(Vec<IpNet>),
}

/// A `TRUST_PROXY` value that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid TRUST_PROXY entry: {0}")]
pub struct TrustProxyError(pub String);

impl Default for TrustProxy {
    /// [`defaults::TRUST_PROXY`](crate::defaults::TRUST_PROXY): `loopback`.
    fn default() -> Self {
        TrustProxy {
            rule: Rule::Nets(named(crate::defaults::TRUST_PROXY).unwrap_or_default()),
        }
    }
}

impl std::str::FromStr for TrustProxy {
    type Err = TrustProxyError;
    /// `true`/`false`, or a comma list of `loopback`, `linklocal`, `uniquelocal`, IPs and CIDRs.
    ///
    /// A bare number `n` trusts the `n` nearest hops, as `app.set('trust proxy', n)` does.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let trimmed = s.trim();
        let rule = if trimmed.eq_ignore_ascii_case("true") {
            Rule::All
        } else if trimmed.eq_ignore_ascii_case("false") || trimmed.is_empty() {
            Rule::Nets(Vec::new())
        } else if let Ok(hops) = trimmed.parse::<usize>() {
            Rule::Hops(hops)
        } else {
            let mut nets = Vec::new();
            for entry in trimmed.split(',').map(str::trim) {
                match named(entry) {
                    Some(group) => nets.extend(group),
                    None => nets
                        .push(parse_net(entry).ok_or_else(|| TrustProxyError(entry.to_owned()))?),
                }
            }
            Rule::Nets(nets)
        };
        Ok(TrustProxy { rule })
    }
}

impl TrustProxy {
    /// The client address: the peer itself unless trusted, else walking `X-Forwarded-For` from the
    /// right, the first untrusted entry (or the leftmost when all are trusted). Unparsable entries
    /// stop the walk at the last good address. IPv4-mapped IPv6 is shown as IPv4.
    pub fn client_ip(&self, peer: IpAddr, x_forwarded_for: Option<&str>) -> IpAddr {
        let mut client = peer.to_canonical();
        if !self.trusts(client, 0) {
            return client;
        }
        let entries = x_forwarded_for.into_iter().flat_map(|h| h.rsplit(','));
        for (hop, entry) in entries.enumerate() {
            let Ok(address) = entry.trim().parse::<IpAddr>() else {
                break;
            };
            client = address.to_canonical();
            if !self.trusts(client, hop + 1) {
                break;
            }
        }
        client
    }

    /// Whether `address`, `hop` steps away from us (0 is the TCP peer), may speak for the next.
    fn trusts(&self, address: IpAddr, hop: usize) -> bool {
        match &self.rule {
            Rule::All => true,
            Rule::Hops(n) => hop < *n,
            Rule::Nets(nets) => nets.iter().any(|net| net.contains(&address)),
        }
    }
}

/// proxy-addr's named groups.
fn named(name: &str) -> Option<Vec<IpNet>> {
    let list: &[&str] = match name {
        "loopback" => &["127.0.0.1/8", "::1/128"],
        "linklocal" => &["169.254.0.0/16", "fe80::/10"],
        "uniquelocal" => &["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"],
        _ => return None,
    };
    Some(list.iter().filter_map(|net| parse_net(net)).collect())
}

/// An IP address (a one-address network) or a CIDR network. An IPv4-mapped IPv6 network is
/// taken as the IPv4 network it maps, since addresses are compared in their IPv4 form.
fn parse_net(entry: &str) -> Option<IpNet> {
    let net = match entry.parse::<IpAddr>() {
        Ok(address) => IpNet::from(address),
        Err(_) => entry.parse::<IpNet>().ok()?,
    };
    Some(match net {
        IpNet::V6(v6) => match (v6.addr().to_ipv4_mapped(), v6.prefix_len().checked_sub(96)) {
            (Some(v4), Some(prefix)) => IpNet::V4(Ipv4Net::new(v4, prefix).ok()?),
            _ => IpNet::V6(v6),
        },
        v4 => v4,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn trust(s: &str) -> TrustProxy {
        s.parse().unwrap()
    }

    #[test]
    fn default_is_loopback() {
        assert_eq!(TrustProxy::default(), trust("loopback"));
        let t = TrustProxy::default();
        assert_eq!(
            t.client_ip(ip("127.0.0.1"), Some("203.0.113.9")),
            ip("203.0.113.9")
        );
        assert_eq!(
            t.client_ip(ip("127.5.6.7"), Some("203.0.113.9")),
            ip("203.0.113.9")
        );
        assert_eq!(
            t.client_ip(ip("::1"), Some("203.0.113.9")),
            ip("203.0.113.9")
        );
        // A stranger's header is ignored: the seed's forgeable-IP bug.
        assert_eq!(
            t.client_ip(ip("198.51.100.1"), Some("1.2.3.4")),
            ip("198.51.100.1")
        );
        assert_eq!(t.client_ip(ip("127.0.0.1"), None), ip("127.0.0.1"));
    }

    #[test]
    fn walks_from_the_right_to_the_first_untrusted() {
        let t = trust("loopback, 10.0.0.0/8");
        let xff = Some("6.6.6.6, 203.0.113.9, 10.0.0.2 ,10.1.1.1");
        assert_eq!(t.client_ip(ip("127.0.0.1"), xff), ip("203.0.113.9"));
        // All trusted: the leftmost.
        assert_eq!(
            t.client_ip(ip("127.0.0.1"), Some("10.0.0.9, 10.0.0.8")),
            ip("10.0.0.9")
        );
        // Unparsable entries stop the walk at the last good address.
        assert_eq!(
            t.client_ip(ip("127.0.0.1"), Some("1.1.1.1, garbage, 10.0.0.3")),
            ip("10.0.0.3")
        );
        assert_eq!(t.client_ip(ip("127.0.0.1"), Some("")), ip("127.0.0.1"));
        assert_eq!(
            t.client_ip(ip("127.0.0.1"), Some("1.1.1.1,,10.0.0.3")),
            ip("10.0.0.3")
        );
        assert_eq!(
            t.client_ip(ip("127.0.0.1"), Some("1.2.3.4:80")),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn ipv4_mapped_is_ipv4() {
        let t = TrustProxy::default();
        assert_eq!(
            t.client_ip(ip("::ffff:127.0.0.1"), Some("::ffff:203.0.113.9")),
            ip("203.0.113.9")
        );
        assert_eq!(
            t.client_ip(ip("::ffff:198.51.100.1"), None),
            ip("198.51.100.1")
        );
        let t = trust("::ffff:10.0.0.0/104");
        assert_eq!(t.client_ip(ip("10.2.3.4"), Some("8.8.8.8")), ip("8.8.8.8"));
        assert_eq!(t, trust("10.0.0.0/8"));
    }

    #[test]
    fn true_false_and_hops() {
        let all = trust("true");
        assert_eq!(all, trust(" TRUE "));
        assert_eq!(
            all.client_ip(ip("198.51.100.1"), Some("1.1.1.1, 2.2.2.2")),
            ip("1.1.1.1")
        );
        let none = trust("false");
        assert_eq!(
            none.client_ip(ip("127.0.0.1"), Some("1.1.1.1")),
            ip("127.0.0.1")
        );
        let one = trust("1");
        assert_eq!(
            one.client_ip(ip("198.51.100.1"), Some("1.1.1.1, 2.2.2.2")),
            ip("2.2.2.2")
        );
        let zero = trust("0");
        assert_eq!(
            zero.client_ip(ip("198.51.100.1"), Some("1.1.1.1")),
            ip("198.51.100.1")
        );
    }

    #[test]
    fn named_groups_and_addresses() {
        let t = trust("linklocal,uniquelocal, 203.0.113.7, 2001:db8::/32");
        let trusted = [
            "169.254.1.1",
            "fe80::1",
            "10.9.9.9",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "fc00::1",
            "fd12::1",
            "203.0.113.7",
            "2001:db8::42",
        ];
        for peer in trusted {
            assert_eq!(
                t.client_ip(ip(peer), Some("8.8.8.8")),
                ip("8.8.8.8"),
                "{peer}"
            );
        }
        let untrusted = [
            "127.0.0.1",
            "172.32.0.1",
            "203.0.113.8",
            "2001:db9::1",
            "::1",
        ];
        for peer in untrusted {
            assert_eq!(t.client_ip(ip(peer), Some("8.8.8.8")), ip(peer), "{peer}");
        }
    }

    #[test]
    fn invalid_entries_are_errors() {
        for bad in [
            "yes",
            "loopback, nope",
            "10.0.0.0/33",
            "1.2.3",
            "loopback,",
            "-1",
        ] {
            assert!(bad.parse::<TrustProxy>().is_err(), "{bad}");
        }
        assert_eq!(
            "loopback, 999.1.1.1".parse::<TrustProxy>(),
            Err(TrustProxyError("999.1.1.1".to_owned()))
        );
    }
}
