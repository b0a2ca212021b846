//! Express's `app.get('env')`: how much an error page tells.
//!
//! Its own module because both the configuration and the HTTP error pages name it: kept in either,
//! it would tie the two into an import loop.

/// Express's `app.get('env')`: how much an error page tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AppEnv {
    /// Error pages show the status and the error detail (the default, as in Express).
    #[default]
    Development,
    /// Error pages show only the message.
    Production,
}
