//! C10: the chat's log lines, in the seed's style: one line per room made or deleted, chat,
//! upload, owner change and kick, and the `/chat` namespace's connects and disconnects with the
//! client's IP; never a chat's text or a password. The contract says the log comes from the
//! core, so all three runtimes print the same text: one scripted session per runtime, each step
//! waiting for its line before the next, then the three compared after replacing what must
//! differ between runs (room id, colour, stored name).

use gif_chat_tests::chat::{self, enter, gif, members_of, ChatFiles, Visitor};
use gif_chat_tests::{Runtime, Signal, WAIT};
use regex::Regex;
use serde_json::json;

/// One scripted session's C10 lines, with what differs between runs (ids, colours, the stored
/// name) replaced by placeholders.
async fn logged_session(runtime: Runtime) -> Vec<String> {
    let files = ChatFiles::new();
    let mut server = chat::start(runtime, &files, &[("ROOM_EMPTY_REMOVAL_MS", "300")]).await;
    let port = server.port();
    let mut visitor = Visitor::new(port);
    visitor.get("/rooms").await;
    let secret = "hunter2-secret-word";
    let room = visitor.create_room("로그 방", 3, secret).await;
    let mut socket = enter(port, &visitor, &room).await;
    let (members, _) = socket.expect_event("members", WAIT).await;
    let (colour, _) = members_of(&members);
    server
        .expect_exact(&format!("방 생성 {room} 로그 방 ({colour})"), WAIT)
        .await;
    server
        .expect_exact("새로운 클라이언트 접속 127.0.0.1 /chat", WAIT)
        .await;
    let text = "비밀 이야기 하나";
    let answer = visitor
        .post_json(&format!("/room/{room}/chat"), &json!({ "chat": text }))
        .await;
    assert_eq!(answer.status, 200, "{runtime}: {}", answer.body_text());
    server
        .expect_exact(
            &format!("채팅 {room} {colour} {}자", text.chars().count()),
            WAIT,
        )
        .await;
    let image = gif(4, 4);
    let answer = visitor.upload(&room, "a.gif", &image).await;
    assert_eq!(answer.status, 200, "{runtime}: {}", answer.body_text());
    let (event, _) = socket.expect_event("chat", WAIT).await;
    let (event, _) = if event.payload().get("gif").is_some() {
        (event, Vec::new())
    } else {
        socket.expect_event("chat", WAIT).await
    };
    let name = event.payload()["gif"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    // The line is waited for by its start, so a wrong ending shows in the comparison below
    // with the whole transcript rather than as a time-out here.
    let upload = format!("업로드 {room} {colour} {name}");
    server
        .expect_line(|line| line.starts_with(&upload), WAIT)
        .await;
    socket.close().await;
    server
        .expect_exact("클라이언트 접속 해제 127.0.0.1 /chat", WAIT)
        .await;
    server.expect_exact(&format!("방 삭제 {room}"), WAIT).await;
    server.signal(Signal::SIGTERM);
    server.wait_exit(WAIT).await;

    let lines = server.lines_so_far();
    for line in &lines {
        assert!(
            !line.contains(secret) && !line.contains(text),
            "{runtime}: a password or a chat's text in the log: {line}"
        );
    }
    let c10 = Regex::new(r"^(방 생성|방 삭제|채팅|업로드|방장 변경|강퇴|새로운 클라이언트 접속 .* /chat$|클라이언트 접속 해제 .* /chat$)")
        .expect("a valid pattern");
    lines
        .iter()
        .filter(|line| c10.is_match(line))
        .map(|line| {
            line.replace(&room, "<room>")
                .replace(&colour, "<colour>")
                .replace(&name, "<gif>")
        })
        .collect()
}

/// C10: a create, a chat and an upload each log one line, the same text on all three runtimes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_log_lines_are_the_same_on_every_runtime() {
    let (tokio_log, smol_log, mio_log) = tokio::join!(
        logged_session(Runtime::Tokio),
        logged_session(Runtime::Smol),
        logged_session(Runtime::Mio)
    );
    let expected = vec![
        "방 생성 <room> 로그 방 (<colour>)".to_owned(),
        "새로운 클라이언트 접속 127.0.0.1 /chat".to_owned(),
        format!(
            "채팅 <room> <colour> {}자",
            "비밀 이야기 하나".chars().count()
        ),
        format!("업로드 <room> <colour> <gif> {}B", gif(4, 4).len()),
        "클라이언트 접속 해제 127.0.0.1 /chat".to_owned(),
        "방 삭제 <room>".to_owned(),
    ];
    // The runtimes agree first, so a failure below is the core's, said once.
    assert_eq!(
        smol_log, tokio_log,
        "runtime-smol's chat lines differ from runtime-tokio's"
    );
    assert_eq!(
        mio_log, tokio_log,
        "runtime-mio's chat lines differ from runtime-tokio's"
    );
    assert_eq!(tokio_log, expected, "the chat lines of all three runtimes");
}
