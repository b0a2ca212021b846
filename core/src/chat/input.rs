//! What visitors type, checked once: a room's title, member limit and password, and a chat line.
//!
//! Each value has a type that can only hold valid input, so the store and the pages never check
//! again, and every refusal is an [`InputError`] the form can show (C2, C6). Lengths count
//! characters (Unicode scalar values), not bytes: a 50-character Korean title is 150 bytes.

use std::fmt;

/// Why a visitor's input was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// The title is empty or only spaces.
    #[error("the title is empty")]
    TitleEmpty,
    /// The title is longer than [`Title::MAX_CHARS`].
    #[error("the title is longer than {} characters", Title::MAX_CHARS)]
    TitleTooLong,
    /// The member limit is not a whole number.
    #[error("the member limit is not a number")]
    MaxNotANumber,
    /// The member limit is outside [`RoomMax::MIN`]..=[`RoomMax::MAX`].
    #[error("the member limit must be from {} to {}", RoomMax::MIN, RoomMax::MAX)]
    MaxOutOfRange,
    /// The password is empty where one is required.
    #[error("the password is empty")]
    PasswordEmpty,
    /// The password is longer than [`Password::MAX_CHARS`].
    #[error("the password is longer than {} characters", Password::MAX_CHARS)]
    PasswordTooLong,
    /// The chat line is empty or only spaces.
    #[error("the chat is empty")]
    ChatEmpty,
    /// The chat line is longer than [`ChatText::MAX_CHARS`].
    #[error("the chat is longer than {} characters", ChatText::MAX_CHARS)]
    ChatTooLong,
}

/// A room's title: 1 to 50 characters, without leading or trailing spaces.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Title(String);

impl Title {
    /// The longest title, in characters.
    pub const MAX_CHARS: usize = 50;

    /// Checks a title as typed; surrounding spaces are dropped.
    pub fn new(text: &str) -> Result<Title, InputError> {
        let text = text.trim();
        if text.is_empty() {
            Err(InputError::TitleEmpty)
        } else if text.chars().count() > Title::MAX_CHARS {
            Err(InputError::TitleTooLong)
        } else {
            Ok(Title(text.to_owned()))
        }
    }

    /// The title.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Title {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How many members a room admits: 2 to 10, 10 unless the creator says otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoomMax(u8);

impl RoomMax {
    /// The smallest limit.
    pub const MIN: u8 = 2;
    /// The largest limit.
    pub const MAX: u8 = 10;
    /// The limit when the form leaves it empty.
    pub const DEFAULT: RoomMax = RoomMax(10);

    /// Checks a limit.
    pub fn new(max: i64) -> Result<RoomMax, InputError> {
        u8::try_from(max)
            .ok()
            .filter(|max| (RoomMax::MIN..=RoomMax::MAX).contains(max))
            .map(RoomMax)
            .ok_or(InputError::MaxOutOfRange)
    }

    /// Checks a limit as a form sends it: empty means [`RoomMax::DEFAULT`].
    pub fn parse(text: &str) -> Result<RoomMax, InputError> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(RoomMax::DEFAULT);
        }
        // An optional minus and digits, what a form's number field sends; `5.5`, `+5` or `1e1`
        // are not whole numbers as typed.
        let digits = text.strip_prefix('-').unwrap_or(text);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(InputError::MaxNotANumber);
        }
        // A long run of digits is a number, just out of range.
        text.parse::<i64>()
            .map_err(|_| InputError::MaxOutOfRange)
            .and_then(RoomMax::new)
    }

    /// The limit.
    pub fn get(self) -> u8 {
        self.0
    }
}

impl Default for RoomMax {
    fn default() -> RoomMax {
        RoomMax::DEFAULT
    }
}

/// A room's password as typed: 1 to 128 characters, kept exactly (spaces count). It is hashed by
/// the store and never printed, not even by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// The longest password, in characters; it bounds the work of hashing one.
    pub const MAX_CHARS: usize = 128;

    /// Checks a password.
    pub fn new(text: &str) -> Result<Password, InputError> {
        if text.is_empty() {
            Err(InputError::PasswordEmpty)
        } else if text.chars().count() > Password::MAX_CHARS {
            Err(InputError::PasswordTooLong)
        } else {
            Ok(Password(text.to_owned()))
        }
    }

    /// Checks the optional password of the create form: empty means a public room.
    pub fn optional(text: &str) -> Result<Option<Password>, InputError> {
        if text.is_empty() {
            Ok(None)
        } else {
            Password::new(text).map(Some)
        }
    }

    /// The password itself, for the hasher only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(..)")
    }
}

/// The text of a chat line: 1 to 1000 characters, not only spaces, kept as typed.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ChatText(String);

impl ChatText {
    /// The longest chat line, in characters.
    pub const MAX_CHARS: usize = 1000;

    /// Checks a chat line.
    pub fn new(text: &str) -> Result<ChatText, InputError> {
        if text.trim().is_empty() {
            Err(InputError::ChatEmpty)
        } else if text.chars().count() > ChatText::MAX_CHARS {
            Err(InputError::ChatTooLong)
        } else {
            Ok(ChatText(text.to_owned()))
        }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ChatText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_title_is_1_to_50_characters_trimmed() {
        assert_eq!(
            Title::new("  방 하나  ").map(|t| t.to_string()),
            Ok("방 하나".into())
        );
        assert_eq!(
            Title::new("가".repeat(50).as_str()).map(|t| t.as_str().chars().count()),
            Ok(50)
        );
        assert_eq!(Title::new(&"가".repeat(51)), Err(InputError::TitleTooLong));
        assert_eq!(Title::new(""), Err(InputError::TitleEmpty));
        assert_eq!(Title::new(" \t\n "), Err(InputError::TitleEmpty));
        assert_eq!(
            Title::new("<script>").map(|t| t.to_string()),
            Ok("<script>".into())
        );
    }

    #[test]
    fn a_member_limit_is_2_to_10_and_defaults_to_10() {
        assert_eq!(RoomMax::parse(""), Ok(RoomMax::DEFAULT));
        assert_eq!(RoomMax::DEFAULT.get(), 10);
        assert_eq!(RoomMax::default(), RoomMax::DEFAULT);
        assert_eq!(RoomMax::parse("2").map(RoomMax::get), Ok(2));
        assert_eq!(RoomMax::parse(" 10 ").map(RoomMax::get), Ok(10));
        assert_eq!(RoomMax::parse("1"), Err(InputError::MaxOutOfRange));
        assert_eq!(RoomMax::parse("11"), Err(InputError::MaxOutOfRange));
        assert_eq!(RoomMax::parse("0"), Err(InputError::MaxOutOfRange));
        assert_eq!(
            RoomMax::parse("99999999999999999999999"),
            Err(InputError::MaxOutOfRange)
        );
        assert_eq!(RoomMax::parse("-3"), Err(InputError::MaxOutOfRange));
        assert_eq!(RoomMax::parse("-"), Err(InputError::MaxNotANumber));
        assert_eq!(RoomMax::parse("+5"), Err(InputError::MaxNotANumber));
        assert_eq!(RoomMax::parse("5.5"), Err(InputError::MaxNotANumber));
        assert_eq!(RoomMax::parse("ten"), Err(InputError::MaxNotANumber));
        assert_eq!(RoomMax::new(258), Err(InputError::MaxOutOfRange));
        assert_eq!(RoomMax::new(-1), Err(InputError::MaxOutOfRange));
    }

    #[test]
    fn a_password_is_optional_kept_exactly_and_never_printed() {
        assert_eq!(Password::optional(""), Ok(None));
        let password = Password::optional(" s3cret ").ok().flatten();
        assert_eq!(password.as_ref().map(Password::expose), Some(" s3cret "));
        assert_eq!(format!("{password:?}"), "Some(Password(..))");
        assert_eq!(Password::new(""), Err(InputError::PasswordEmpty));
        assert!(Password::new(&"비".repeat(128)).is_ok());
        assert_eq!(
            Password::new(&"비".repeat(129)),
            Err(InputError::PasswordTooLong)
        );
    }

    #[test]
    fn a_chat_is_1_to_1000_characters_kept_as_typed() {
        assert_eq!(
            ChatText::new(" hi ").map(|t| t.to_string()),
            Ok(" hi ".into())
        );
        assert!(ChatText::new(&"채".repeat(1000)).is_ok());
        assert_eq!(
            ChatText::new(&"채".repeat(1001)),
            Err(InputError::ChatTooLong)
        );
        assert_eq!(ChatText::new(""), Err(InputError::ChatEmpty));
        assert_eq!(ChatText::new("   "), Err(InputError::ChatEmpty));
    }

    #[test]
    fn every_refusal_says_why() {
        assert_eq!(
            InputError::TitleTooLong.to_string(),
            "the title is longer than 50 characters"
        );
        assert_eq!(
            InputError::MaxOutOfRange.to_string(),
            "the member limit must be from 2 to 10"
        );
        assert_eq!(
            InputError::ChatTooLong.to_string(),
            "the chat is longer than 1000 characters"
        );
    }
}
