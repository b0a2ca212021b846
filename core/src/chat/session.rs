//! A visitor's session (C4): its id, and the signed cookie that carries it, as Express's
//! `express-session` + `cookie-signature` write them.
//!
//! The cookie is `connect.sid=s:<id>.<signature>` (percent-encoded as `cookie` serialises it),
//! where the signature is the unpadded standard base64 of HMAC-SHA256 over the id with
//! `COOKIE_SECRET`. A browser that came to the Node server keeps its session here, and a cookie
//! someone edited is simply not a session: the visitor gets a new one. The check runs in constant
//! time (`hmac`'s `verify_slice`) so the signature cannot be guessed byte by byte.
//!
//! The core has no random source: the id's bytes are passed in by the caller, or drawn from a
//! [`SessionIds`] keyed by the runtime with bytes from the OS random source.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The cookie's name, as `express-session` names it by default.
pub const SESSION_COOKIE: &str = "connect.sid";

/// How many random bytes make a session id (as `uid-safe` in `express-session`: 24 bytes, 32
/// characters).
pub const SESSION_ID_RANDOM_BYTES: usize = 24;

/// The length of a session id in characters.
pub const SESSION_ID_LEN: usize = 32;

/// A session id: 32 characters of unpadded URL-safe base64.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SessionId(String);

impl SessionId {
    /// The id made of these random bytes.
    pub fn from_random(bytes: [u8; SESSION_ID_RANDOM_BYTES]) -> SessionId {
        SessionId(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Checks an id read back from a cookie; `None` unless it is 32 URL-safe base64 characters.
    pub fn parse(text: &str) -> Option<SessionId> {
        let safe = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
        (text.len() == SESSION_ID_LEN && text.bytes().all(safe)).then(|| SessionId(text.into()))
    }

    /// The id's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // An id is a bearer credential: logs get its first characters only.
        write!(f, "SessionId({}…)", &self.0[..6.min(self.0.len())])
    }
}

/// Where new visitors' session ids come from: HMAC-SHA256, under a key the runtime draws from
/// the OS random source at start, over a counter shared by every connection of the process.
///
/// A keyed PRF over inputs that never repeat gives ids that never repeat and that nobody without
/// the key can predict from the ones they were given, with no random source in the core and no
/// state per connection. Clones share the counter (the [`Config`](crate::Config) that carries
/// it is cloned into every runtime thread).
#[derive(Clone)]
pub struct SessionIds {
    key: [u8; 32],
    counter: Arc<AtomicU64>,
}

impl SessionIds {
    /// A generator keyed by `key`: 32 bytes from the OS random source (a fixed key in tests
    /// only: anyone who knows it can compute every id).
    pub fn new(key: [u8; 32]) -> SessionIds {
        SessionIds {
            key,
            counter: Arc::new(AtomicU64::new(0)),
        }
    }

    /// A new session id, unlike every other this generator (or a clone of it) gave.
    pub fn next_id(&self) -> SessionId {
        // Only uniqueness matters, not the order in which threads see the counter.
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let mut mac = match Hmac::<Sha256>::new_from_slice(&self.key) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC accepts keys of every length"),
        };
        mac.update(b"gif-chat session id ");
        mac.update(&n.to_be_bytes());
        let digest = mac.finalize().into_bytes();
        let mut random = [0u8; SESSION_ID_RANDOM_BYTES];
        random.copy_from_slice(&digest[..SESSION_ID_RANDOM_BYTES]);
        SessionId::from_random(random)
    }
}

impl fmt::Debug for SessionIds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionIds(..)")
    }
}

/// `COOKIE_SECRET`: the key that signs session cookies. Its `Debug` does not show it.
#[derive(Clone)]
pub struct CookieSecret(Vec<u8>);

impl CookieSecret {
    /// The secret with these bytes (an empty secret is allowed, as in Express, with a warning at
    /// start; see S14).
    pub fn new(secret: impl Into<Vec<u8>>) -> CookieSecret {
        CookieSecret(secret.into())
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC takes a key of any length; `new_from_slice` cannot fail for it.
        match Hmac::<Sha256>::new_from_slice(&self.0) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC accepts keys of every length"),
        }
    }
}

impl fmt::Debug for CookieSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CookieSecret(..)")
    }
}

/// The cookie's value before percent-encoding: `s:<id>.<signature>`.
pub fn signed_value(id: &SessionId, secret: &CookieSecret) -> String {
    let mut mac = secret.mac();
    mac.update(id.as_str().as_bytes());
    let signature = STANDARD_NO_PAD.encode(mac.finalize().into_bytes());
    format!("s:{}.{signature}", id.as_str())
}

/// Checks a cookie's value (after percent-decoding); the session id if the signature is right.
pub fn unsign(value: &str, secret: &CookieSecret) -> Option<SessionId> {
    let signed = value.strip_prefix("s:")?;
    let (id, signature) = signed.rsplit_once('.')?;
    let id = SessionId::parse(id)?;
    let signature = STANDARD_NO_PAD.decode(signature).ok()?;
    let mut mac = secret.mac();
    mac.update(id.as_str().as_bytes());
    mac.verify_slice(&signature).ok()?;
    Some(id)
}

/// The text of the `Set-Cookie` header for this session: HttpOnly, SameSite=Lax, Path=/, and
/// Secure when `secure` (behind HTTPS). No expiry: a browser session, as `express-session`'s
/// default.
pub fn set_cookie_header(id: &SessionId, secret: &CookieSecret, secure: bool) -> String {
    let value = percent_encode(&signed_value(id, secret));
    let secure = if secure { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax{secure}")
}

/// The session in a request's `Cookie` header, if it carries our cookie with a good signature.
/// As the `cookie` package does, the first `connect.sid` counts and quotes around it are taken
/// off; other cookies are ignored.
pub fn session_from_cookie_header(header: &str, secret: &CookieSecret) -> Option<SessionId> {
    let value = header.split(';').find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        (name.trim() == SESSION_COOKIE).then(|| value.trim())
    })?;
    let value = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value);
    unsign(&percent_decode(value)?, secret)
}

/// `encodeURIComponent`, which `cookie.serialize` applies to the value.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for b in text.bytes() {
        let kept = b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b);
        if kept {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `decodeURIComponent`; `None` for a broken escape or bytes that are not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Computed with Node's crypto, as cookie-signature does:
    // 's:' + val + '.' + hmac('sha256', 'keyboard cat').update(val).digest('base64') sans '='.
    const ID: &str = "K2m6xv1Dz0N4cV8pB9tQ3sLwHj7eRfYa";
    const SIGNED: &str =
        "s:K2m6xv1Dz0N4cV8pB9tQ3sLwHj7eRfYa.IFz/+ao0CFwuulpyG4IeukaUBd5Purq3JIZezkXqKeU";
    const ENCODED: &str =
        "s%3AK2m6xv1Dz0N4cV8pB9tQ3sLwHj7eRfYa.IFz%2F%2Bao0CFwuulpyG4IeukaUBd5Purq3JIZezkXqKeU";

    fn id() -> SessionId {
        SessionId::parse(ID).unwrap_or_else(|| panic!("test id"))
    }

    fn secret() -> CookieSecret {
        CookieSecret::new("keyboard cat")
    }

    #[test]
    fn an_id_is_32_url_safe_characters_of_its_random_bytes() {
        let id = SessionId::from_random([0xfb; SESSION_ID_RANDOM_BYTES]);
        assert_eq!(id.as_str().len(), SESSION_ID_LEN);
        assert_eq!(id.as_str(), "-_v7".repeat(8));
        assert_eq!(SessionId::parse(id.as_str()), Some(id));
        for bad in [
            "",
            "short",
            &"a".repeat(31),
            &"a".repeat(33),
            &"+".repeat(32),
        ] {
            assert_eq!(SessionId::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn generated_ids_differ_per_call_and_per_key_and_clones_share_the_counter() {
        let ids = SessionIds::new([7; 32]);
        let clone = ids.clone();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..100 {
            assert!(seen.insert(ids.next_id()));
            assert!(seen.insert(clone.next_id()));
        }
        let first = SessionIds::new([7; 32]).next_id();
        assert!(
            seen.contains(&first),
            "the same key gives the same sequence"
        );
        assert!(!seen.contains(&SessionIds::new([8; 32]).next_id()));
        assert_eq!(first.as_str().len(), SESSION_ID_LEN);
        assert!(SessionId::parse(first.as_str()).is_some());
    }

    #[test]
    fn the_signed_value_is_what_cookie_signature_writes() {
        assert_eq!(signed_value(&id(), &secret()), SIGNED);
        assert_eq!(unsign(SIGNED, &secret()), Some(id()));
    }

    #[test]
    fn a_changed_value_or_another_secret_is_refused() {
        assert_eq!(unsign(SIGNED, &CookieSecret::new("other")), None);
        let tampered = SIGNED.replacen("K2m6", "K2m7", 1);
        assert_eq!(unsign(&tampered, &secret()), None);
        let short_signature = &SIGNED[..SIGNED.len() - 1];
        assert_eq!(unsign(short_signature, &secret()), None);
        assert_eq!(unsign(&SIGNED[2..], &secret()), None, "no s: prefix");
        assert_eq!(unsign(&format!("s:{ID}"), &secret()), None, "no signature");
    }

    #[test]
    fn the_set_cookie_header_is_http_only_lax_and_secure_when_asked() {
        assert_eq!(
            set_cookie_header(&id(), &secret(), false),
            format!("connect.sid={ENCODED}; Path=/; HttpOnly; SameSite=Lax")
        );
        assert!(set_cookie_header(&id(), &secret(), true).ends_with("; SameSite=Lax; Secure"));
    }

    #[test]
    fn the_cookie_header_gives_back_our_session_only() {
        let s = secret();
        let header = format!("theme=dark; connect.sid={ENCODED}; other=1");
        assert_eq!(session_from_cookie_header(&header, &s), Some(id()));
        let quoted = format!("connect.sid=\"{ENCODED}\"");
        assert_eq!(session_from_cookie_header(&quoted, &s), Some(id()));
        assert_eq!(
            session_from_cookie_header(&format!("connect.sid={SIGNED}"), &s),
            Some(id())
        );
        assert_eq!(session_from_cookie_header("theme=dark", &s), None);
        assert_eq!(
            session_from_cookie_header(&format!("xconnect.sid={ENCODED}"), &s),
            None
        );
        assert_eq!(session_from_cookie_header("connect.sid=s%3", &s), None);
        assert_eq!(session_from_cookie_header("connect.sid=%FF%FE", &s), None);
        let roundtrip = set_cookie_header(&id(), &s, false);
        let value = roundtrip.split(';').next().unwrap_or_default();
        assert_eq!(session_from_cookie_header(value, &s), Some(id()));
    }
}
