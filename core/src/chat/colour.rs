//! A visitor's colour, `#rrggbb`: their name in the chat, as color-hash gives in the book (C4).
//!
//! It is a type rather than a string so that what the store reads back as a room's owner or a
//! chat's author is known to be a colour, safe to put in a `style` attribute.

use std::fmt;

/// A colour `#rrggbb`, printed in lower case.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Colour([u8; 3]);

impl Colour {
    /// The colour with these red, green and blue components.
    pub const fn from_rgb(rgb: [u8; 3]) -> Colour {
        Colour(rgb)
    }

    /// The red, green and blue components.
    pub const fn rgb(self) -> [u8; 3] {
        self.0
    }

    /// Parses `#rrggbb` (either case); `None` for anything else.
    pub fn parse(text: &str) -> Option<Colour> {
        let hex = text.strip_prefix('#')?;
        if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let component = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
        Some(Colour([component(0)?, component(2)?, component(4)?]))
    }
}

impl fmt::Display for Colour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [r, g, b] = self.0;
        write!(f, "#{r:02x}{g:02x}{b:02x}")
    }
}

impl fmt::Debug for Colour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Colour({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_colour_prints_and_parses_as_rrggbb() {
        let colour = Colour::from_rgb([0x0a, 0xbc, 0xff]);
        assert_eq!(colour.to_string(), "#0abcff");
        assert_eq!(Colour::parse("#0abcff"), Some(colour));
        assert_eq!(Colour::parse("#0ABCFF"), Some(colour));
    }

    #[test]
    fn anything_else_is_not_a_colour() {
        for text in [
            "", "#", "0abcff", "#0abcf", "#0abcfff", "#0abcfg", "#+abcff", "#０abcf", "system",
        ] {
            assert_eq!(Colour::parse(text), None, "{text:?}");
        }
    }
}
