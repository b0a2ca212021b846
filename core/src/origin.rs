//! Which `Origin`s may open a WebSocket (B8): stops cross-site WebSocket hijacking.
//!
//! A browser lets any page open a WebSocket to any host and sends the user's cookies along; the
//! only thing that tells our server the page is not ours is the `Origin` header. By default an
//! upgrade is accepted only when `Origin` names the host the request was sent to. Clients that
//! are not browsers send no `Origin` and cannot be hijacked, so they are let through.
//!
//! The chat's POSTs (forms and API, SPEC §6) are checked the same way against cross-site request
//! forgery ([`OriginPolicy::allows_post`]): there the request's own host is always allowed, the
//! listed origins too, and a `Referer` stands in for a missing `Origin`.

/// `ALLOWED_ORIGINS`, parsed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OriginPolicy {
    rule: Rule,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
enum Rule {
    /// `Origin`'s host and port must be the request's `Host`.
    #[default]
    SameHost,
    /// `*`: every origin.
    Any,
    /// These origins, normalised.
    List(Vec<Origin>),
}

/// An `ALLOWED_ORIGINS` value that is not a comma list of origins (or `*`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid origin in ALLOWED_ORIGINS: {0}")]
pub struct OriginPolicyError(pub String);

impl std::str::FromStr for OriginPolicy {
    type Err = OriginPolicyError;
    /// Empty: same-host only (default). Otherwise a comma list of origins like
    /// `https://example.com`, or `*` for any.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.trim().is_empty() {
            return Ok(OriginPolicy::default());
        }
        let mut origins = Vec::new();
        for entry in s.split(',').map(str::trim) {
            if entry == "*" {
                return Ok(OriginPolicy { rule: Rule::Any });
            }
            // Pasted from an address bar, an origin often keeps its trailing slash.
            let origin = entry.strip_suffix('/').unwrap_or(entry);
            match Origin::parse(origin) {
                Some(origin) => origins.push(origin),
                None => return Err(OriginPolicyError(entry.to_owned())),
            }
        }
        Ok(OriginPolicy {
            rule: Rule::List(origins),
        })
    }
}

impl OriginPolicy {
    /// Whether an upgrade with this `Origin` and `Host` may proceed. No `Origin` (a non-browser
    /// client) is always allowed.
    pub fn allows(&self, origin: Option<&str>, host: Option<&str>) -> bool {
        let Some(origin) = origin else {
            return true;
        };
        // `null` (sandboxed frames, `file:` pages) and anything unparsable name no site we know.
        let parsed = Origin::parse(origin.trim());
        match (&self.rule, parsed) {
            (Rule::Any, _) => true,
            (_, None) => false,
            (Rule::List(allowed), Some(origin)) => allowed.contains(&origin),
            (Rule::SameHost, Some(origin)) => host
                .and_then(|h| Authority::parse(h.trim()))
                .is_some_and(|host| {
                    // A `Host` without a port means the default port of the scheme the page used.
                    host.name == origin.authority.name
                        && host.port.or(origin.default_port)
                            == origin.authority.port.or(origin.default_port)
                }),
        }
    }
}

impl OriginPolicy {
    /// Whether a chat POST comes from a page of ours: its `Origin`, or without one the origin
    /// of its `Referer`, must name the request's `Host` or an origin `ALLOWED_ORIGINS` lets in.
    /// A request with neither header was not sent by a browser page (browsers send `Origin` on
    /// every POST), so no visitor's cookie is being abused: it passes, as for upgrades.
    pub fn allows_post(
        &self,
        origin: Option<&str>,
        referer: Option<&str>,
        host: Option<&str>,
    ) -> bool {
        let claimed = match (origin, referer) {
            (Some(origin), _) => origin.trim().to_owned(),
            (None, Some(referer)) => match referer_origin(referer.trim()) {
                Some(origin) => origin,
                None => return false,
            },
            (None, None) => return true,
        };
        let same_host = OriginPolicy::default().allows(Some(&claimed), host);
        same_host || (self.rule != Rule::SameHost && self.allows(Some(&claimed), host))
    }
}

/// The `scheme://authority` a `Referer` URL begins with.
fn referer_origin(referer: &str) -> Option<String> {
    let (scheme, rest) = referer.split_once("://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some(format!("{scheme}://{}", rest.get(..end)?))
}

/// `scheme://host[:port]`, lower-cased, the scheme's default port dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Origin {
    scheme: String,
    authority: Authority,
    /// The scheme's default port, if it has one we know.
    default_port: Option<u16>,
}

impl Origin {
    fn parse(s: &str) -> Option<Origin> {
        let (scheme, rest) = s.split_once("://")?;
        let scheme = scheme.to_ascii_lowercase();
        let mut scheme_bytes = scheme.bytes();
        let scheme_ok = scheme_bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
            && scheme_bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
        if !scheme_ok {
            return None;
        }
        let default_port = match scheme.as_str() {
            "http" | "ws" => Some(80),
            "https" | "wss" => Some(443),
            _ => None,
        };
        let mut authority = Authority::parse(rest)?;
        if authority.port.is_some() && authority.port == default_port {
            authority.port = None;
        }
        Some(Origin {
            scheme,
            authority,
            default_port,
        })
    }
}

/// `host[:port]` as in a `Host` header, the host lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Authority {
    name: String,
    port: Option<u16>,
}

impl Authority {
    fn parse(s: &str) -> Option<Authority> {
        let (name, port) = if let Some(rest) = s.strip_prefix('[') {
            // An IPv6 literal: `[::1]` or `[::1]:8005`.
            let (inside, after) = rest.split_once(']')?;
            if inside.is_empty()
                || !inside
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
            {
                return None;
            }
            let port = match after {
                "" => None,
                _ => Some(after.strip_prefix(':')?),
            };
            (s.get(..inside.len() + 2)?, port)
        } else {
            match s.split_once(':') {
                Some((name, port)) => (name, Some(port)),
                None => (s, None),
            }
        };
        // A registered name or IPv4 address: no userinfo, path, query or fragment may follow.
        let name_ok = name.starts_with('[')
            || (!name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')));
        if !name_ok {
            return None;
        }
        let port = match port {
            None => None,
            Some(p) if !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) => {
                Some(p.parse::<u16>().ok()?)
            }
            Some(_) => return None,
        };
        Some(Authority {
            name: name.to_ascii_lowercase(),
            port,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(s: &str) -> OriginPolicy {
        s.parse().unwrap()
    }

    #[test]
    fn same_host_by_default() {
        let p = OriginPolicy::default();
        assert_eq!(p, policy(""));
        assert_eq!(p, policy("  "));
        let cases = [
            (None, None, true),
            (None, Some("localhost:8005"), true),
            (Some("http://localhost:8005"), Some("localhost:8005"), true),
            (Some("http://LOCALHOST:8005"), Some("localhost:8005"), true),
            (Some("http://localhost:8005"), Some("LocalHost:8005"), true),
            (Some("http://localhost:8005"), Some("localhost:8006"), false),
            (Some("http://localhost:8005"), Some("localhost"), false),
            (Some("http://evil.example"), Some("localhost:8005"), false),
            (Some("http://example.com"), Some("example.com"), true),
            (Some("http://example.com"), Some("example.com:80"), true),
            (Some("http://example.com:80"), Some("example.com"), true),
            (Some("https://example.com"), Some("example.com"), true),
            (Some("https://example.com"), Some("example.com:443"), true),
            (Some("https://example.com:443"), Some("example.com"), true),
            (Some("https://example.com"), Some("example.com:80"), false),
            (Some("http://example.com"), Some("example.com:443"), false),
            (Some("http://[::1]:8005"), Some("[::1]:8005"), true),
            (Some("http://[::1]:8005"), Some("[::2]:8005"), false),
            (Some("http://localhost:8005"), None, false),
            (Some("null"), Some("localhost:8005"), false),
            (Some("localhost:8005"), Some("localhost:8005"), false),
            (
                Some("http://user@localhost:8005"),
                Some("localhost:8005"),
                false,
            ),
            (
                Some("http://localhost:8005/path"),
                Some("localhost:8005"),
                false,
            ),
            (
                Some("http://localhost:8005, http://x"),
                Some("localhost:8005"),
                false,
            ),
            (
                Some("http://localhost:99999"),
                Some("localhost:99999"),
                false,
            ),
        ];
        for (origin, host, allowed) in cases {
            assert_eq!(p.allows(origin, host), allowed, "{origin:?} {host:?}");
        }
    }

    #[test]
    fn listed_origins_match_after_normalisation() {
        let p = policy("https://A.example, http://localhost:8005,https://b.example:443/");
        let cases = [
            (None, true),
            (Some("https://a.example"), true),
            (Some("https://a.example:443"), true),
            (Some("https://A.EXAMPLE"), true),
            (Some("http://a.example"), false),
            (Some("https://a.example:8443"), false),
            (Some("http://localhost:8005"), true),
            (Some("http://localhost"), false),
            (Some("https://b.example"), true),
            (Some("https://c.example"), false),
            (Some("null"), false),
        ];
        for (origin, allowed) in cases {
            // The Host header does not matter with a list.
            assert_eq!(p.allows(origin, Some("c.example")), allowed, "{origin:?}");
        }
    }

    #[test]
    fn a_post_must_come_from_the_host_or_a_listed_origin() {
        let host = Some("localhost:8005");
        let same = OriginPolicy::default();
        let cases = [
            (None, None, true),
            (Some("http://localhost:8005"), None, true),
            (Some("http://evil.example"), None, false),
            (Some("null"), None, false),
            // Origin decides when both are sent.
            (
                Some("http://evil.example"),
                Some("http://localhost:8005/room"),
                false,
            ),
            (None, Some("http://localhost:8005/room/abc?x=1"), true),
            (None, Some("http://localhost:8005?x"), true),
            (None, Some("http://evil.example/room"), false),
            (None, Some("http://localhost:8005.evil.example/"), false),
            (None, Some("/room"), false),
            (None, Some("garbage"), false),
        ];
        for (origin, referer, allowed) in cases {
            assert_eq!(
                same.allows_post(origin, referer, host),
                allowed,
                "{origin:?} {referer:?}"
            );
        }
        let listed = policy("https://chat.example");
        assert!(listed.allows_post(Some("https://chat.example"), None, host));
        assert!(listed.allows_post(Some("http://localhost:8005"), None, host));
        assert!(!listed.allows_post(Some("https://evil.example"), None, host));
        assert!(policy("*").allows_post(Some("https://any.example"), None, host));
    }

    #[test]
    fn star_allows_all() {
        let p = policy("*");
        assert!(p.allows(Some("https://anything.example"), Some("localhost")));
        assert!(p.allows(Some("null"), None));
        assert_eq!(policy("http://a.example, *"), p);
    }

    #[test]
    fn invalid_entries_are_errors() {
        for bad in [
            "a.example",
            "https://",
            "https://a.example/path",
            "https://a.example:port",
            "https://a.example:70000",
            "http://a.example,",
            "https://a b.example",
            "null",
            "://a.example",
        ] {
            assert!(bad.parse::<OriginPolicy>().is_err(), "{bad}");
        }
        assert_eq!(
            "http://ok.example, nope".parse::<OriginPolicy>(),
            Err(OriginPolicyError("nope".to_owned()))
        );
    }
}
