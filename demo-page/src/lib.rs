//! The seed's page (`views/index.pug` as HTML), its error page (`views/error.pug`), the GIF
//! chat's page templates (the book's `main.pug`, `room.pug`, `chat.pug`) and the `public/`
//! folder, embedded into the binaries at compile time so that `cargo run` serves them from any
//! working directory. Pure data: routing, headers and filling the templates are the core's.
//!
//! The chat templates hold `{{name}}` placeholders for text (the core HTML-escapes what it puts
//! there) and `<!--slot:name-->` markers where the core puts markup it built itself (table rows,
//! chat lines). Their scripts and styles are `public/rooms.js`, `public/room.js` and
//! `public/chat.css`, over gif-chat's own Socket.IO client `public/socket.io-lite.js`.

/// A file under `public/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicFile {
    /// URL path, e.g. `/favicon.ico`.
    pub path: &'static str,
    pub body: &'static [u8],
    /// The file's modification time when it was compiled in (seconds since the Unix epoch).
    pub modified_unix_secs: u64,
}

/// The page at `/` (S2, S3).
pub const INDEX_HTML: &str = include_str!("../templates/index.html");

/// The error page, with `{{message}}`, `{{status}}` and `{{detail}}` to fill in (S11).
pub const ERROR_HTML: &str = include_str!("../templates/error.html");

/// The room list (C1): `{{error}}`, slot `rows` (the `<tr>` of each room).
pub const ROOMS_HTML: &str = include_str!("../templates/rooms.html");

/// The form that creates a room (C2): `{{error}}`, `{{title}}`, `{{max}}`.
pub const CREATE_HTML: &str = include_str!("../templates/create.html");

/// The password form of a private room (C3): `{{id}}`, `{{title}}`, `{{error}}`.
pub const PASSWORD_HTML: &str = include_str!("../templates/password.html");

/// A room (C3, C9): `{{id}}`, `{{title}}`, `{{max}}`, `{{owner}}`, `{{me}}`, slot `history`
/// (the lines already said).
pub const ROOM_HTML: &str = include_str!("../templates/room.html");

/// Every file under `public/`, sorted by path.
pub static PUBLIC: &[PublicFile] = include!(concat!(env!("OUT_DIR"), "/public.rs"));

#[cfg(test)]
mod tests {
    use super::*;

    /// The `/…` paths a template loads with `src="…"` or `href="…"` that name a file (a dot in
    /// the last segment), as opposed to a route like `/rooms`.
    fn files_loaded_by(template: &str) -> Vec<&str> {
        ["src=\"", "href=\""]
            .iter()
            .flat_map(|attribute| template.split(attribute).skip(1))
            .filter_map(|rest| rest.split('"').next())
            .filter(|path| path.starts_with('/') && !path.contains("{{"))
            .filter(|path| {
                path.rsplit('/')
                    .next()
                    .is_some_and(|last| last.contains('.'))
            })
            .collect()
    }

    #[test]
    fn every_file_a_chat_page_loads_is_embedded() {
        let embedded: Vec<&str> = PUBLIC.iter().map(|file| file.path).collect();
        for template in [ROOMS_HTML, CREATE_HTML, PASSWORD_HTML, ROOM_HTML] {
            for path in files_loaded_by(template) {
                assert!(embedded.contains(&path), "{path} is not under public/");
            }
        }
        let loaded: Vec<&str> = [ROOMS_HTML, ROOM_HTML]
            .into_iter()
            .flat_map(files_loaded_by)
            .collect();
        for path in ["/rooms.js", "/room.js", "/chat.css"] {
            assert!(loaded.contains(&path), "no page loads {path}");
        }
    }

    #[test]
    fn the_chat_scripts_import_the_embedded_client() {
        for path in ["/rooms.js", "/room.js"] {
            let script = PUBLIC
                .iter()
                .find(|file| file.path == path)
                .map(|file| String::from_utf8_lossy(file.body))
                .unwrap_or_else(|| panic!("{path} is embedded"));
            assert!(script.contains("from '/socket.io-lite.js'"), "{path}");
            // Data goes in with textContent, never as markup.
            assert!(!script.contains("innerHTML"), "{path}");
        }
    }
}
