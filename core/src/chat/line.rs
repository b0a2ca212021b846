//! A chat line as the store keeps it: who wrote it, what it is, in which room and when.
//!
//! System lines (join, leave, kick) are stored with the others so a history reads as the room
//! lived it (C9); a whisper is stored too, and [`Chat::visible_to`] says who may see it again.

use std::fmt;

use super::{ChatId, ChatText, Colour, RoomId, UnixMillis};

/// Who wrote a line: a visitor, by colour, or the server (`"system"` on the wire).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Author {
    /// A visitor.
    Visitor(Colour),
    /// The server: join, leave and kick lines.
    System,
}

impl Author {
    /// The name the page and the store use for the server.
    pub const SYSTEM: &'static str = "system";

    /// Parses what [`Author`]'s `Display` wrote.
    pub fn parse(text: &str) -> Option<Author> {
        if text == Author::SYSTEM {
            Some(Author::System)
        } else {
            Colour::parse(text).map(Author::Visitor)
        }
    }
}

impl fmt::Display for Author {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Author::Visitor(colour) => colour.fmt(f),
            Author::System => f.write_str(Author::SYSTEM),
        }
    }
}

/// The name of an uploaded image under the upload directory, as the server chose it: one path
/// component of ASCII letters, digits, `-`, `_` and `.`, not starting with a dot, so that
/// `/gif/<name>` and deleting a room's files can reach nothing else.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct GifName(String);

impl GifName {
    /// The longest name, in bytes.
    pub const MAX_LEN: usize = 100;

    /// Checks a name; `None` unless it is a safe single file name.
    pub fn parse(text: &str) -> Option<GifName> {
        let safe = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.');
        (!text.is_empty()
            && text.len() <= GifName::MAX_LEN
            && !text.starts_with('.')
            && text.bytes().all(safe))
        .then(|| GifName(text.to_owned()))
    }

    /// The file name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for GifName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a line says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChatKind {
    /// A visitor's text.
    Text(ChatText),
    /// An uploaded image.
    Gif(GifName),
    /// A line of the server's (`…님이 입장하셨습니다.`).
    System(String),
    /// Text for one member only.
    Whisper {
        /// The member it is for.
        to: Colour,
        /// The text.
        text: ChatText,
    },
}

/// A line to store: the store adds the id and the time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewChat {
    /// The room it was said in.
    pub room: RoomId,
    /// Who said it.
    pub user: Author,
    /// What was said.
    pub kind: ChatKind,
}

/// A stored line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chat {
    /// The id, increasing in the order lines were stored.
    pub id: ChatId,
    /// The room it was said in.
    pub room: RoomId,
    /// Who said it.
    pub user: Author,
    /// What was said.
    pub kind: ChatKind,
    /// When it was stored.
    pub created_at: UnixMillis,
}

impl Chat {
    /// Whether a member of this colour may see the line: everyone, except that a whisper is for
    /// its author and its target only.
    pub fn visible_to(&self, viewer: Colour) -> bool {
        match &self.kind {
            ChatKind::Whisper { to, .. } => *to == viewer || self.user == Author::Visitor(viewer),
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::RoomId;

    #[test]
    fn an_author_is_a_colour_or_system() {
        let red = Colour::from_rgb([255, 0, 0]);
        assert_eq!(Author::Visitor(red).to_string(), "#ff0000");
        assert_eq!(Author::System.to_string(), "system");
        assert_eq!(Author::parse("#ff0000"), Some(Author::Visitor(red)));
        assert_eq!(Author::parse("system"), Some(Author::System));
        assert_eq!(Author::parse("System"), None);
        assert_eq!(Author::parse(""), None);
    }

    #[test]
    fn a_gif_name_is_one_safe_path_component() {
        assert_eq!(
            GifName::parse("a1B2-c_3.gif").map(|n| n.to_string()),
            Some("a1B2-c_3.gif".into())
        );
        for bad in [
            "", ".", "..", ".gif", "../x.gif", "a/b.gif", "a\\b.gif", "a b.gif", "é.gif", "a\0.gif",
        ] {
            assert_eq!(GifName::parse(bad), None, "{bad:?}");
        }
        assert!(GifName::parse(&"a".repeat(100)).is_some());
        assert_eq!(GifName::parse(&"a".repeat(101)), None);
    }

    #[test]
    fn a_whisper_is_visible_to_its_author_and_target_only() {
        let [a, b, c] = [1, 2, 3].map(|n| Colour::from_rgb([n, n, n]));
        let line = |user, kind| Chat {
            id: ChatId(1),
            room: RoomId::from_random([7; 16]),
            user,
            kind,
            created_at: UnixMillis(0),
        };
        let text = ChatText::new("psst").unwrap_or_else(|e| panic!("{e}"));
        let whisper = line(
            Author::Visitor(a),
            ChatKind::Whisper {
                to: b,
                text: text.clone(),
            },
        );
        assert!(whisper.visible_to(a));
        assert!(whisper.visible_to(b));
        assert!(!whisper.visible_to(c));
        let said = line(Author::Visitor(a), ChatKind::Text(text));
        assert!(said.visible_to(c));
        let system = line(
            Author::System,
            ChatKind::System("c님이 입장하셨습니다.".into()),
        );
        assert!(system.visible_to(c));
    }
}
