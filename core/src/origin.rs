//! Which `Origin`s may open a WebSocket (B8): stops cross-site WebSocket hijacking.

/// `ALLOWED_ORIGINS`, parsed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OriginPolicy {
    _todo: (),
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
        let _ = s;
        todo!()
    }
}

impl OriginPolicy {
    /// Whether an upgrade with this `Origin` and `Host` may proceed. No `Origin` (a non-browser
    /// client) is always allowed.
    pub fn allows(&self, origin: Option<&str>, host: Option<&str>) -> bool {
        let _ = (origin, host);
        todo!()
    }
}
