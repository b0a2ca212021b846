//! The chat's HTTP surface (SPEC §6), as pure functions: which request is a chat route, what its
//! form or JSON body says, and the responses it gets (pages, redirects, JSON, images).
//!
//! The connection (`connection/chat.rs`) runs the exchange with the hub; this file only knows
//! HTTP. Pages are rendered by [`crate::chat::pages`], which escapes what visitors typed; the
//! only visitor text put in a response here is JSON (serde escapes it) or a percent-encoded
//! `Location`.

use serde_json::json;

use super::response::{Body, Response};
use crate::chat::{Chat, ChatKind, ImageType, InputError, RoomId, StoredImage, UnixMillis};

const HTML: &str = "text/html; charset=utf-8";
const JSON: &str = "application/json; charset=utf-8";

/// A request the chat answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChatRoute {
    /// `GET /rooms` (C1).
    Rooms,
    /// `GET /room`: the create form (C2).
    CreateForm,
    /// `POST /room` (C2).
    Create,
    /// `GET /room/<id>` (C3); `None` for an id that cannot be one.
    Enter(Option<RoomId>),
    /// `POST /room/<id>`: the password form (C3).
    Password(Option<RoomId>),
    /// `POST /room/<id>/chat` (C6).
    PostChat(Option<RoomId>),
    /// `POST /room/<id>/gif` (C7).
    Upload(Option<RoomId>),
    /// `GET /gif/<name>` for a name the server could have chosen (C7).
    File(StoredImage),
}

impl ChatRoute {
    /// The chat route for this method and path, if any; everything else is the seed's router's
    /// (so `/`, `public/` files and the 404 page are untouched). `HEAD` goes where `GET` does.
    pub fn for_request(method: &str, path: &str) -> Option<ChatRoute> {
        let get = method == "GET" || method == "HEAD";
        let post = method == "POST";
        if get && path == "/rooms" {
            return Some(ChatRoute::Rooms);
        }
        if path == "/room" {
            return match (get, post) {
                (true, _) => Some(ChatRoute::CreateForm),
                (_, true) => Some(ChatRoute::Create),
                _ => None,
            };
        }
        if let Some(rest) = path.strip_prefix("/room/") {
            let (id, action) = rest.split_once('/').unwrap_or((rest, ""));
            let id = RoomId::parse(id);
            return match (action, get, post) {
                ("", true, _) => Some(ChatRoute::Enter(id)),
                ("", _, true) => Some(ChatRoute::Password(id)),
                ("chat", _, true) => Some(ChatRoute::PostChat(id)),
                ("gif", _, true) => Some(ChatRoute::Upload(id)),
                _ => None,
            };
        }
        if get {
            return StoredImage::from_path(path).map(ChatRoute::File);
        }
        None
    }

    /// Whether the route changes something (the same-origin check applies).
    pub fn is_post(&self) -> bool {
        matches!(
            self,
            ChatRoute::Create
                | ChatRoute::Password(_)
                | ChatRoute::PostChat(_)
                | ChatRoute::Upload(_)
        )
    }

    /// Whether the route is the page's API, answered in JSON rather than with a page.
    pub fn is_api(&self) -> bool {
        matches!(self, ChatRoute::PostChat(_) | ChatRoute::Upload(_))
    }
}

/// The first value of `name` in an `application/x-www-form-urlencoded` body or query.
pub fn form_field(form: &[u8], name: &str) -> Option<String> {
    form_urlencoded::parse(form)
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// The first value of `name` in a request target's query.
pub fn query_field(target: &str, name: &str) -> Option<String> {
    let (_, query) = target.split_once('?')?;
    form_field(query.as_bytes(), name)
}

/// The text of a chat POST: `{"chat": "..."}` for a JSON body, the form field `chat` otherwise.
pub fn chat_text(content_type: Option<&str>, body: &[u8]) -> Option<String> {
    let is_json = content_type.is_some_and(|t| {
        let media = t.split(';').next().unwrap_or_default().trim();
        media.eq_ignore_ascii_case("application/json")
    });
    if is_json {
        let value: serde_json::Value = serde_json::from_slice(body).ok()?;
        return value.get("chat")?.as_str().map(str::to_owned);
    }
    form_field(body, "chat")
}

/// What a visitor reads when a form field is refused.
pub fn input_message(error: InputError) -> &'static str {
    match error {
        InputError::TitleEmpty => "방 제목을 입력하세요.",
        InputError::TitleTooLong => "방 제목은 50자까지 쓸 수 있습니다.",
        InputError::MaxNotANumber | InputError::MaxOutOfRange => {
            "허용 인원은 2명부터 10명까지입니다."
        }
        InputError::PasswordEmpty => "비밀번호를 입력하세요.",
        InputError::PasswordTooLong => "비밀번호는 128자까지 쓸 수 있습니다.",
        InputError::ChatEmpty => "채팅을 입력하세요.",
        InputError::ChatTooLong => "채팅은 1000자까지 쓸 수 있습니다.",
    }
}

/// A page.
pub fn page(status: u16, html: String) -> Response {
    Response {
        status,
        headers: vec![
            ("Content-Type", HTML.to_owned()),
            // A page shows the visitor's own session's view: never from a shared cache.
            ("Cache-Control", "no-store".to_owned()),
        ],
        body: Body::Owned(html.into_bytes()),
    }
}

/// `303 See Other` to `location` (a form's answer, or a refusal to enter).
pub fn redirect(location: String) -> Response {
    Response {
        status: 303,
        headers: vec![("Location", location)],
        body: Body::Empty,
    }
}

/// `/rooms?error=<message>`, percent-encoded.
pub fn rooms_with_error(message: &str) -> String {
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("error", message)
        .finish();
    format!("/rooms?{query}")
}

/// `/room/<id>`.
pub fn room_location(id: RoomId) -> String {
    format!("/room/{id}")
}

/// An API refusal: `{"error": message}`.
pub fn json_error(status: u16, message: &str) -> Response {
    json_response(status, &json!({ "error": message }))
}

/// An API answer: `{"ok": true, "chat": <the line as the socket event has it>}`.
pub fn json_posted(chat: &Chat) -> Response {
    json_response(200, &json!({ "ok": true, "chat": chat_json(chat) }))
}

fn json_response(status: u16, value: &serde_json::Value) -> Response {
    Response {
        status,
        headers: vec![
            ("Content-Type", JSON.to_owned()),
            ("Cache-Control", "no-store".to_owned()),
        ],
        body: Body::Owned(value.to_string().into_bytes()),
    }
}

/// A line as the `chat` event carries it: `{_id, room, user, chat | gif, createdAt}`.
fn chat_json(chat: &Chat) -> serde_json::Value {
    let mut value = json!({
        "_id": chat.id.to_string(),
        "room": chat.room.as_str(),
        "user": chat.user.to_string(),
        "createdAt": iso_8601(chat.created_at),
    });
    let (key, text) = match &chat.kind {
        ChatKind::Text(text) => ("chat", text.as_str().to_owned()),
        ChatKind::Gif(name) => ("gif", name.as_str().to_owned()),
        ChatKind::System(text) => ("chat", text.clone()),
        ChatKind::Whisper { to, text } => {
            value["to"] = json!(to.to_string());
            ("chat", text.as_str().to_owned())
        }
    };
    value[key] = json!(text);
    value
}

/// `2024-05-06T07:08:09.010Z`, as JavaScript's `Date.prototype.toISOString`.
pub fn iso_8601(at: UnixMillis) -> String {
    let millis = at.0.rem_euclid(1000);
    let seconds = at.0.div_euclid(1000);
    let (days, day_seconds) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days: the proleptic Gregorian date of a day number.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        day_seconds / 3600,
        day_seconds / 60 % 60,
        day_seconds % 60
    )
}

/// An uploaded image: its type by its name's extension (the type its bytes had), never sniffed
/// by the browser, cached for good (a name is never reused for other bytes).
pub fn image(kind: ImageType, bytes: Vec<u8>) -> Response {
    Response {
        status: 200,
        headers: vec![
            ("Content-Type", kind.mime().to_owned()),
            ("X-Content-Type-Options", "nosniff".to_owned()),
            (
                "Cache-Control",
                "public, max-age=31536000, immutable".to_owned(),
            ),
        ],
        body: Body::Owned(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::{Author, ChatId, ChatText, Colour};

    #[test]
    fn chat_routes_and_everything_else() {
        let id = RoomId::from_random([1; 16]);
        let path = format!("/room/{id}");
        let cases = [
            ("GET", "/rooms", Some(ChatRoute::Rooms)),
            ("HEAD", "/rooms", Some(ChatRoute::Rooms)),
            ("POST", "/rooms", None),
            ("GET", "/room", Some(ChatRoute::CreateForm)),
            ("POST", "/room", Some(ChatRoute::Create)),
            ("PUT", "/room", None),
            ("GET", &path, Some(ChatRoute::Enter(Some(id)))),
            ("POST", &path, Some(ChatRoute::Password(Some(id)))),
            ("GET", "/room/nope", Some(ChatRoute::Enter(None))),
            (
                "POST",
                &format!("{path}/chat"),
                Some(ChatRoute::PostChat(Some(id))),
            ),
            ("GET", &format!("{path}/chat"), None),
            (
                "POST",
                &format!("{path}/gif"),
                Some(ChatRoute::Upload(Some(id))),
            ),
            ("POST", &format!("{path}/other"), None),
            ("GET", "/", None),
            ("GET", "/favicon.ico", None),
            ("GET", "/gif/../etc/passwd", None),
        ];
        for (method, path, route) in cases {
            assert_eq!(
                ChatRoute::for_request(method, path),
                route,
                "{method} {path}"
            );
        }
        let name = format!("/gif/{}.png", "0a".repeat(16));
        assert!(matches!(
            ChatRoute::for_request("HEAD", &name),
            Some(ChatRoute::File(image)) if image.kind() == ImageType::Png
        ));
        assert_eq!(ChatRoute::for_request("POST", &name), None);
    }

    #[test]
    fn forms_json_and_queries_are_read() {
        assert_eq!(
            form_field(b"title=%EB%B0%A9+1&max=5", "title").as_deref(),
            Some("방 1")
        );
        assert_eq!(form_field(b"max=5", "title"), None);
        assert_eq!(
            query_field("/rooms?error=%EC%A1%B4", "error").as_deref(),
            Some("존")
        );
        assert_eq!(query_field("/rooms", "error"), None);
        let json = Some("application/json; charset=utf-8");
        assert_eq!(
            chat_text(json, br#"{"chat":"<b>hi</b>"}"#).as_deref(),
            Some("<b>hi</b>")
        );
        assert_eq!(chat_text(json, br#"{"chat":5}"#), None);
        assert_eq!(chat_text(json, b"chat=x"), None);
        assert_eq!(chat_text(None, b"chat=a%26b").as_deref(), Some("a&b"));
    }

    #[test]
    fn the_error_redirect_is_percent_encoded() {
        assert_eq!(
            rooms_with_error("존재하지 않는 방입니다."),
            "/rooms?error=%EC%A1%B4%EC%9E%AC%ED%95%98%EC%A7%80+%EC%95%8A%EB%8A%94+\
             %EB%B0%A9%EC%9E%85%EB%8B%88%EB%8B%A4."
        );
        let location = rooms_with_error("a&b=c\r\n");
        assert_eq!(
            query_field(&location, "error").as_deref(),
            Some("a&b=c\r\n")
        );
        assert!(!location.contains(['\r', '\n', ' ']), "{location}");
        assert_eq!(location.matches('&').count(), 0, "{location}");
    }

    #[test]
    fn a_posted_line_is_the_chat_events_json() {
        let chat = Chat {
            id: ChatId(42),
            room: RoomId::from_random([2; 16]),
            user: Author::Visitor(Colour::from_rgb([0xab, 0xcd, 0xef])),
            kind: ChatKind::Text(ChatText::new("</script>").unwrap_or_else(|_| panic!())),
            created_at: UnixMillis(1_715_000_000_123),
        };
        let response = json_posted(&chat);
        let value: serde_json::Value =
            serde_json::from_slice(response.body.as_bytes()).unwrap_or_default();
        assert_eq!(value["ok"], true);
        assert_eq!(value["chat"]["_id"], "42");
        assert_eq!(value["chat"]["user"], "#abcdef");
        assert_eq!(value["chat"]["chat"], "</script>");
        assert_eq!(value["chat"]["createdAt"], "2024-05-06T12:53:20.123Z");
    }

    #[test]
    fn iso_dates_match_javascript() {
        assert_eq!(iso_8601(UnixMillis(0)), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            iso_8601(UnixMillis(951_782_400_000)),
            "2000-02-29T00:00:00.000Z"
        );
        assert_eq!(iso_8601(UnixMillis(-1)), "1969-12-31T23:59:59.999Z");
        assert_eq!(
            iso_8601(UnixMillis(4_102_444_799_999)),
            "2099-12-31T23:59:59.999Z"
        );
    }
}
