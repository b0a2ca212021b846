//! Session ids: unguessable, so that knowing one is the only way to speak for a session.

use std::fmt;

/// Bytes of randomness behind a sid: 120 bits, as the reference server's `base64id` draws.
pub const SID_RANDOM_BYTES: usize = 15;

const SID_LEN: usize = 20;
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// An Engine.IO session id: 20 characters of URL-safe base64 over 15 random bytes.
///
/// The core has no random source of its own; whoever creates a session passes the random bytes
/// in (drawn from the OS RNG by the runtime, or fixed in a test).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sid([u8; SID_LEN]);

impl Sid {
    /// The sid for these random bytes.
    pub fn from_random(random: [u8; SID_RANDOM_BYTES]) -> Sid {
        let mut out = [0u8; SID_LEN];
        for (chunk, dst) in random.chunks_exact(3).zip(out.chunks_exact_mut(4)) {
            let n = u32::from(chunk[0]) << 16 | u32::from(chunk[1]) << 8 | u32::from(chunk[2]);
            for (i, d) in dst.iter_mut().enumerate() {
                *d = ALPHABET[((n >> (18 - 6 * i)) & 63) as usize];
            }
        }
        Sid(out)
    }

    /// Parses a sid as a client sends it (`?sid=`); `None` unless it has the shape of ours.
    pub fn parse(text: &str) -> Option<Sid> {
        let bytes: [u8; SID_LEN] = text.as_bytes().try_into().ok()?;
        bytes
            .iter()
            .all(|b| ALPHABET.contains(b))
            .then_some(Sid(bytes))
    }

    /// The sid as sent on the wire.
    pub fn as_str(&self) -> &str {
        // Only ALPHABET bytes are ever stored, and they are ASCII.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl fmt::Display for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sid({})", self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sid_is_twenty_url_safe_characters_and_parses_back() {
        let sid = Sid::from_random([0xff; SID_RANDOM_BYTES]);
        assert_eq!(sid.as_str(), "____________________");
        let sid =
            Sid::from_random(*b"\x00\x10\x83\x10\x51\x87\x20\x92\x8b\x30\xd3\x8f\x41\x14\x93");
        assert_eq!(sid.as_str(), "ABCDEFGHIJKLMNOPQRST");
        assert_eq!(Sid::parse(sid.as_str()), Some(sid));
    }

    #[test]
    fn anything_else_is_not_a_sid() {
        assert_eq!(Sid::parse(""), None);
        assert_eq!(Sid::parse("ABCDEFGHIJKLMNOPQRS"), None);
        assert_eq!(Sid::parse("ABCDEFGHIJKLMNOPQRS="), None);
        assert_eq!(Sid::parse("ABCDEFGHIJKLMNOPQRSTU"), None);
    }
}
