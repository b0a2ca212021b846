//! What core/BEHAVIOUR.md says a user sees, as values the tests compare against.
//!
//! Kept apart from the core on purpose: these are the product's promises, copied from that document,
//! so a test fails when the server drifts from them, whatever the core's source says.

use regex::Regex;

/// S6: the text of every tick.
pub const TICK: &str = "서버에서 클라이언트로 메시지를 보냅니다.";
/// S3: what the page answers to each message.
pub const REPLY: &str = "클라이언트에서 서버로 답장을 보냅니다";
/// S3: what the page logs to the console when its WebSocket opens.
pub const PAGE_CONNECTED: &str = "서버와 웹 소켓 연결 성공!";
/// S2: the page's title.
pub const PAGE_TITLE: &str = "GIF 채팅방";
/// S2: the page's hint.
pub const PAGE_HINT: &str = "F12를 눌러 console 탭과 network 탭을 확인하세요.";

/// S5: `새로운 클라이언트 접속 <ip>`.
pub fn connected(ip: &str) -> String {
    format!("새로운 클라이언트 접속 {ip}")
}

/// S9: `클라이언트 접속 해제 <ip>`.
pub fn disconnected(ip: &str) -> String {
    format!("클라이언트 접속 해제 {ip}")
}

/// S1: the start line's pattern; group 1 is the port.
pub fn listening_pattern() -> Regex {
    Regex::new(r"^(\d+) 번 포트에서 대기 중$").expect("a valid pattern")
}

/// S4: morgan's `dev` line for one request, uncoloured (stdout is a pipe in tests). Group 1 is
/// the response time, group 2 the body length or `-`.
pub fn access_pattern(method: &str, path: &str, status: u16) -> Regex {
    Regex::new(&format!(
        r"^{} {} {status} (\d+\.\d{{3}}) ms - (\d+|-)$",
        regex::escape(method),
        regex::escape(path)
    ))
    .expect("a valid pattern")
}

/// B4: the first stop signal's line, for `open` connections.
pub fn stopping_prefix(open: usize) -> String {
    format!("종료 신호를 받았습니다: 연결 {open}개를 닫는 중")
}

/// B4: the last line of a graceful stop that closed everything.
pub const STOPPED: &str = "서버를 종료합니다";

/// B4: printed (to stderr) on a second stop signal.
pub const FORCED_STOP: &str = "종료 신호를 다시 받아 즉시 종료합니다";

/// B6: the start of the accept error line (stderr).
pub const ACCEPT_FAILED: &str = "Error: accept failed";

/// The settings every runtime reads from the environment (see `Settings` in the core). The
/// harness removes them all before starting a server so a developer's shell cannot leak in.
pub const SETTINGS_VARIABLES: &[&str] = &[
    "PORT",
    "HOST",
    "APP_ENV",
    "TRUST_PROXY",
    "ALLOWED_ORIGINS",
    "TICK_INTERVAL_MS",
    "PING_INTERVAL_MS",
    "CLOSE_TIMEOUT_MS",
    "HEADER_TIMEOUT_MS",
    "KEEP_ALIVE_TIMEOUT_MS",
    "SHUTDOWN_TIMEOUT_MS",
    "MAX_MESSAGE_BYTES",
    "MAX_BODY_BYTES",
    "MAX_HEADER_BYTES",
    "MAX_HEADERS",
    "HIGH_WATER_MARK_BYTES",
    "COOKIE_SECRET",
    // The chat's (SPEC §6); the chat tests set the database and upload folder themselves.
    "DATABASE_URL",
    "UPLOAD_DIR",
    "UPLOAD_MAX_BYTES",
    "CHAT_MAX_CHARS",
    "CHAT_RATE",
    "ROOM_EMPTY_REMOVAL_MS",
    "CHAT_HISTORY_LIMIT",
];
