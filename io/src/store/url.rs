//! `DATABASE_URL`: which database the store opens (C8, M4).
//!
//! The forms are sqlx's, which operators of Rust services already write: `sqlite://path` (a path
//! relative to the working directory; `sqlite:///abs/path` for an absolute one), `sqlite:path`,
//! and `sqlite::memory:` for a database that lives only as long as the process. `postgres://`
//! and `postgresql://` select PostgreSQL, in libpq's URL form
//! (`postgres://user:password@host:port/database?connect_timeout=10`).

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// The default: a file beside the process, as the spec says.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://gif-chat.db";

/// A parsed `DATABASE_URL`.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// An SQLite database file.
    SqliteFile(PathBuf),
    /// An SQLite database in memory, gone when the store closes.
    SqliteMemory,
    /// A PostgreSQL server; the URL is kept whole (it may hold a password, so it is never
    /// printed).
    Postgres(String),
}

/// Why a `DATABASE_URL` was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DatabaseUrlError {
    /// Nothing was given.
    #[error("DATABASE_URL is empty")]
    Empty,
    /// The scheme is not one gif-chat knows.
    #[error("DATABASE_URL has the scheme `{0}`; gif-chat knows `sqlite:` and `postgres:`")]
    UnknownScheme(String),
    /// No scheme at all: a bare path is refused rather than guessed at.
    #[error("DATABASE_URL `{0}` has no scheme; write `sqlite://{0}`")]
    NoScheme(String),
    /// `sqlite://` with no path.
    #[error(
        "DATABASE_URL names no SQLite file; write `sqlite://gif-chat.db` or `sqlite::memory:`"
    )]
    NoPath,
    /// A `?` part: sqlx's options (`?mode=ro`) are not supported, and silently ignoring them
    /// would open the database otherwise than asked.
    #[error("DATABASE_URL options (`?{0}`) are not supported")]
    Options(String),
}

impl Default for DatabaseUrl {
    fn default() -> DatabaseUrl {
        DatabaseUrl::SqliteFile(PathBuf::from("gif-chat.db"))
    }
}

impl FromStr for DatabaseUrl {
    type Err = DatabaseUrlError;

    fn from_str(text: &str) -> Result<DatabaseUrl, DatabaseUrlError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(DatabaseUrlError::Empty);
        }
        let Some((scheme, rest)) = text.split_once(':') else {
            return Err(DatabaseUrlError::NoScheme(text.to_owned()));
        };
        match scheme.to_ascii_lowercase().as_str() {
            "sqlite" => {
                if rest == ":memory:" || rest == "//:memory:" {
                    return Ok(DatabaseUrl::SqliteMemory);
                }
                let path = rest.strip_prefix("//").unwrap_or(rest);
                if let Some((_, options)) = path.split_once('?') {
                    return Err(DatabaseUrlError::Options(options.to_owned()));
                }
                if path.is_empty() {
                    return Err(DatabaseUrlError::NoPath);
                }
                Ok(DatabaseUrl::SqliteFile(PathBuf::from(path)))
            }
            "postgres" | "postgresql" => Ok(DatabaseUrl::Postgres(text.to_owned())),
            // A Windows path such as `C:\db` lands here too, as an unknown one-letter scheme.
            _ => Err(DatabaseUrlError::UnknownScheme(scheme.to_owned())),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatabaseUrl::SqliteFile(path) => write!(f, "SqliteFile({})", path.display()),
            DatabaseUrl::SqliteMemory => f.write_str("SqliteMemory"),
            DatabaseUrl::Postgres(_) => f.write_str("Postgres(..)"),
        }
    }
}

impl fmt::Display for DatabaseUrl {
    /// The URL for a log line: a PostgreSQL URL shows its scheme only, as it may hold a
    /// password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatabaseUrl::SqliteFile(path) => write!(f, "sqlite://{}", path.display()),
            DatabaseUrl::SqliteMemory => f.write_str("sqlite::memory:"),
            DatabaseUrl::Postgres(_) => f.write_str("postgres://.."),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<DatabaseUrl, DatabaseUrlError> {
        text.parse()
    }

    #[test]
    fn sqlite_urls_name_a_file_or_memory() {
        let file = |p: &str| Ok(DatabaseUrl::SqliteFile(PathBuf::from(p)));
        assert_eq!(parse(DEFAULT_DATABASE_URL), Ok(DatabaseUrl::default()));
        assert_eq!(parse("sqlite://gif-chat.db"), file("gif-chat.db"));
        assert_eq!(parse("sqlite:///var/lib/chat.db"), file("/var/lib/chat.db"));
        assert_eq!(parse("sqlite:data/chat.db"), file("data/chat.db"));
        assert_eq!(parse("SQLite://x.db"), file("x.db"));
        assert_eq!(parse("sqlite::memory:"), Ok(DatabaseUrl::SqliteMemory));
        assert_eq!(parse("sqlite://:memory:"), Ok(DatabaseUrl::SqliteMemory));
    }

    #[test]
    fn postgres_urls_are_recognised_and_never_printed() {
        let url = parse("postgres://chat:hunter2@db/chat");
        assert_eq!(
            url,
            Ok(DatabaseUrl::Postgres(
                "postgres://chat:hunter2@db/chat".into()
            ))
        );
        let url = url.unwrap_or_default();
        assert!(!format!("{url} {url:?}").contains("hunter2"));
        assert!(matches!(
            parse("postgresql://db/chat"),
            Ok(DatabaseUrl::Postgres(_))
        ));
    }

    #[test]
    fn anything_else_is_refused_with_the_reason() {
        assert_eq!(parse(""), Err(DatabaseUrlError::Empty));
        assert_eq!(parse("  "), Err(DatabaseUrlError::Empty));
        assert_eq!(
            parse("gif-chat.db"),
            Err(DatabaseUrlError::NoScheme("gif-chat.db".into()))
        );
        assert_eq!(
            parse("mysql://db"),
            Err(DatabaseUrlError::UnknownScheme("mysql".into()))
        );
        assert_eq!(parse("sqlite://"), Err(DatabaseUrlError::NoPath));
        assert_eq!(parse("sqlite:"), Err(DatabaseUrlError::NoPath));
        assert_eq!(
            parse("sqlite://x.db?mode=ro"),
            Err(DatabaseUrlError::Options("mode=ro".into()))
        );
    }
}
