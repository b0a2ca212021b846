//! Room passwords, hashed with Argon2id (argon2's defaults: 19 MiB, 2 passes) and a random salt,
//! stored as a PHC string (`$argon2id$v=19$...`): a stolen database gives no password back, and
//! the parameters travel with each hash so they can be raised later without a migration.
//!
//! Hashing is slow on purpose, tens of milliseconds: it runs on the store's thread, never on an
//! event loop.

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;
use gif_chat_core::chat::Password;

/// Why a password could not be hashed or checked.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// Hashing failed (no randomness for the salt, or an argon2 error).
    #[error("hashing the room password failed: {0}")]
    Hash(String),
    /// A stored hash is not a PHC string argon2 can read.
    #[error("the stored password hash is unreadable: {0}")]
    StoredHash(String),
}

/// The PHC string to store for a password.
pub fn hash(password: &Password) -> Result<String, PasswordError> {
    Argon2::default()
        .hash_password(password.expose().as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Whether a password matches a stored PHC string, in constant time.
pub fn verify(password: &Password, stored: &str) -> Result<bool, PasswordError> {
    match Argon2::default().verify_password(password.expose().as_bytes(), stored) {
        Ok(()) => Ok(true),
        Err(argon2::password_hash::Error::PasswordInvalid) => Ok(false),
        Err(e) => Err(PasswordError::StoredHash(e.to_string())),
    }
}
