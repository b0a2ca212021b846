//! Room ids, chat ids and timestamps: the names the store gives to what it keeps.
//!
//! A room id appears in URLs (`/room/<id>`) and is what a visitor needs to reach a room, so the
//! server chooses it from 128 random bits: nobody can enumerate rooms by guessing. It is 22
//! characters long and never 20: a Node `@socket.io/redis-adapter` in a mixed fleet (issue 11)
//! takes a 20-character room name for a socket id and routes its broadcasts differently. The core
//! has no random source; the store passes the bytes in (from the OS RNG), as for Engine.IO sids.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

/// Bytes of randomness behind a room id.
pub const ROOM_ID_RANDOM_BYTES: usize = 16;

/// Characters in a room id: 16 bytes in URL-safe base64 without padding.
pub const ROOM_ID_LEN: usize = 22;

// A socket id (and so, to the Node redis adapter, any 20-character room name) is 20 characters.
const _: () = assert!(ROOM_ID_LEN != 20);

/// The id of one chat room: 22 URL-safe characters over 128 random bits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoomId([u8; ROOM_ID_LEN]);

impl RoomId {
    /// The room id for these random bytes (from the OS RNG in the store, fixed in a test).
    pub fn from_random(random: [u8; ROOM_ID_RANDOM_BYTES]) -> RoomId {
        let mut text = [0u8; ROOM_ID_LEN];
        // 16 bytes always encode to exactly 22 characters, so this cannot fail.
        let _ = URL_SAFE_NO_PAD.encode_slice(random, &mut text);
        RoomId(text)
    }

    /// Parses an id from a URL, a form or a row; `None` unless it is exactly one of ours (the
    /// canonical encoding of 16 bytes), so anything a visitor types is either a real id or
    /// unknown.
    pub fn parse(text: &str) -> Option<RoomId> {
        let bytes: [u8; ROOM_ID_LEN] = text.as_bytes().try_into().ok()?;
        let mut random = [0u8; ROOM_ID_RANDOM_BYTES + 2];
        match URL_SAFE_NO_PAD.decode_slice(bytes, &mut random) {
            Ok(ROOM_ID_RANDOM_BYTES) => Some(RoomId(bytes)),
            _ => None,
        }
    }

    /// The id as it appears in URLs and events.
    pub fn as_str(&self) -> &str {
        // Only base64 output is ever stored, and it is ASCII.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl fmt::Display for RoomId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for RoomId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RoomId({})", self.as_str())
    }
}

/// The id of one stored chat line: increasing in the order lines were stored, so history is
/// ordered by it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChatId(pub i64);

impl fmt::Display for ChatId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A wall-clock time in milliseconds since the Unix epoch, as JavaScript's `Date.now()`. The
/// store stamps rooms and chats with it; the core only carries it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UnixMillis(pub i64);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_room_id_is_22_url_safe_characters_and_parses_back() {
        let id = RoomId::from_random([0xff; ROOM_ID_RANDOM_BYTES]);
        assert_eq!(id.as_str(), "_____________________w");
        assert_eq!(id.as_str().len(), ROOM_ID_LEN);
        assert_eq!(RoomId::parse(id.as_str()), Some(id));
        let id = RoomId::from_random(
            *b"\x00\x10\x83\x10\x51\x87\x20\x92\x8b\x30\xd3\x8f\x41\x14\x93\xff",
        );
        assert_eq!(id.as_str(), "ABCDEFGHIJKLMNOPQRST_w");
        assert_eq!(RoomId::parse(id.as_str()), Some(id));
    }

    #[test]
    fn anything_else_is_not_a_room_id() {
        assert_eq!(RoomId::parse(""), None);
        // A socket id's length.
        assert_eq!(RoomId::parse("ABCDEFGHIJKLMNOPQRST"), None);
        assert_eq!(RoomId::parse("ABCDEFGHIJKLMNOPQRST_"), None);
        assert_eq!(RoomId::parse("ABCDEFGHIJKLMNOPQRST_w_"), None);
        // Not the alphabet.
        assert_eq!(RoomId::parse("ABCDEFGHIJKLMNOPQRST/w"), None);
        assert_eq!(RoomId::parse("../../etc/passwd______"), None);
        // Non-canonical: the last character carries bits past the 128th.
        assert_eq!(RoomId::parse("_____________________x"), None);
        // Multi-byte characters of the right byte length.
        assert_eq!(RoomId::parse("가나다라마바AAAA"), None);
    }
}
