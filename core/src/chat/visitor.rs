//! A visitor's colour from their session id, as the book's `new ColorHash().hex(req.sessionID)`
//! gives it (C4), and names that stay unique within a room.
//!
//! The algorithm is color-hash 1.x's default (the book's version): a BKDR hash of the id with an
//! `x` appended, kept below 2^53 by dividing by 137 as the JavaScript does with doubles; hue =
//! hash mod 359; saturation and lightness picked from `[0.35, 0.5, 0.65]` by the quotients; then
//! HSL → RGB rounded as `Math.round`. Integers stay exact in `u64` because the JavaScript never
//! leaves the safe-integer range. Test vectors were computed with the npm package.
//!
//! Colours collide: there are at most 359 × 3 × 3 = 3231 of them, so in a room of 10 the chance
//! that two members share one is about 1.4 %. The colour stays the stored identity (the book's
//! `owner` and `user`), and [`unique_names`] gives the page a name per member that tells them
//! apart.

use super::session::SessionId;
use super::Colour;

/// The saturations and lightnesses color-hash picks from by default.
const LEVELS: [f64; 3] = [0.35, 0.5, 0.65];

/// The visitor's colour: color-hash of the session id.
pub fn colour_of(id: &SessionId) -> Colour {
    colour_hash(id.as_str())
}

/// color-hash 1.x's `new ColorHash().hex(text)`.
pub fn colour_hash(text: &str) -> Colour {
    let (hue, saturation, lightness) = hsl(bkdr_hash(text));
    Colour::from_rgb(hsl_to_rgb(hue, saturation, lightness))
}

/// color-hash's BKDR hash over UTF-16 code units (JavaScript's `charCodeAt`).
fn bkdr_hash(text: &str) -> u64 {
    const SEED: u64 = 131;
    const SEED2: u64 = 137;
    const MAX_SAFE: u64 = 9_007_199_254_740_991 / SEED2;
    let mut hash: u64 = 0;
    for unit in text.encode_utf16().chain("x".encode_utf16()) {
        if hash > MAX_SAFE {
            hash /= SEED2;
        }
        hash = hash * SEED + u64::from(unit);
    }
    hash
}

fn hsl(hash: u64) -> (f64, f64, f64) {
    // Every value here is below 2^53, so the conversions are exact.
    let hue = (hash % 359) as f64;
    let hash = hash / 360;
    let saturation = LEVELS[(hash % 3) as usize];
    let hash = hash / 3;
    let lightness = LEVELS[(hash % 3) as usize];
    (hue, saturation, lightness)
}

fn hsl_to_rgb(hue: f64, saturation: f64, lightness: f64) -> [u8; 3] {
    let h = hue / 360.0;
    let q = if lightness < 0.5 {
        lightness * (1.0 + saturation)
    } else {
        lightness + saturation - lightness * saturation
    };
    let p = 2.0 * lightness - q;
    [h + 1.0 / 3.0, h, h - 1.0 / 3.0].map(|mut c| {
        if c < 0.0 {
            c += 1.0;
        }
        if c > 1.0 {
            c -= 1.0;
        }
        let c = if c < 1.0 / 6.0 {
            p + (q - p) * 6.0 * c
        } else if c < 0.5 {
            q
        } else if c < 2.0 / 3.0 {
            p + (q - p) * 6.0 * (2.0 / 3.0 - c)
        } else {
            p
        };
        // In [0, 255] since p, q are in [0, 1]; `round` is `Math.round` for non-negatives.
        (c * 255.0).round().clamp(0.0, 255.0) as u8
    })
}

/// The names to show for a room's members, in the order given (the order they joined): a
/// member's colour, and for the second and later members sharing a colour, ` (2)`, ` (3)`… after
/// it, so no two members of a room read the same.
pub fn unique_names(members: &[Colour]) -> Vec<String> {
    members
        .iter()
        .enumerate()
        .map(|(i, colour)| {
            let earlier = members[..i].iter().filter(|c| *c == colour).count();
            if earlier == 0 {
                colour.to_string()
            } else {
                format!("{colour} ({})", earlier + 1)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::session::SESSION_ID_RANDOM_BYTES;

    /// `new (require('color-hash'))().hex(text)` with color-hash 1.1.1 on Node.
    const VECTORS: [(&str, &str); 7] = [
        ("", "#3a783a"),
        ("a", "#966ce0"),
        ("connect.sid", "#ac6053"),
        ("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "#d06ce0"),
        ("K2m6xv1Dz0N4cV8pB9tQ3sLwHj7eRfYa", "#1f5093"),
        ("fR3_k-9ZqLm0XwVbN8cT2yHs5PdGj1Ue", "#40bf77"),
        ("안녕", "#1f6d93"),
    ];

    #[test]
    fn colours_match_the_npm_color_hash() {
        for (text, hex) in VECTORS {
            assert_eq!(colour_hash(text).to_string(), hex, "{text:?}");
        }
        // Long enough that the hash is divided down to stay below 2^53.
        assert_eq!(colour_hash(&"x".repeat(200)).to_string(), "#71783a");
    }

    #[test]
    fn a_session_colour_is_the_hash_of_its_id() {
        let id = SessionId::from_random([7; SESSION_ID_RANDOM_BYTES]);
        assert_eq!(colour_of(&id), colour_hash(id.as_str()));
    }

    #[test]
    fn colours_do_collide_among_session_ids() {
        let mut seen = std::collections::HashMap::new();
        let collision = (0u8..=255)
            .flat_map(|a| (0u8..=255).map(move |b| [a, b]))
            .find_map(|ab| {
                let mut bytes = [0; SESSION_ID_RANDOM_BYTES];
                bytes[..2].copy_from_slice(&ab);
                let id = SessionId::from_random(bytes);
                seen.insert(colour_of(&id), id.clone())
                    .map(|other| (other, id))
            });
        let (a, b) = collision.unwrap_or_else(|| panic!("3231 colours, 65536 ids"));
        assert_ne!(a, b);
        assert_eq!(colour_of(&a), colour_of(&b));
        let names = unique_names(&[colour_of(&a), colour_of(&b)]);
        assert_ne!(names[0], names[1]);
    }

    #[test]
    fn names_in_a_room_are_unique_and_plain_when_colours_differ() {
        let [red, blue] = [[255, 0, 0], [0, 0, 255]].map(Colour::from_rgb);
        assert_eq!(
            unique_names(&[red, blue, red, red]),
            ["#ff0000", "#0000ff", "#ff0000 (2)", "#ff0000 (3)"]
        );
        assert_eq!(unique_names(&[blue, red]), ["#0000ff", "#ff0000"]);
        assert!(unique_names(&[]).is_empty());
    }
}
