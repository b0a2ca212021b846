//! The GIF chat room's HTTP side (SPEC C3, C4, C6, C7 and the chat contract) against every
//! runtime: what a hostile or careless client gets, byte for byte. (C10, the log: chat_log.rs.)
//!
//! A visitor here is a cookie and the headers a same-origin page sends ([`Visitor`]); a member
//! of a room is a visitor whose `/chat` socket is in it ([`ChatSocket`]), as the contract says
//! only members may post. Waits are on the server's answers, events and log lines; the one
//! poll (the upload folder emptying after a refused upload) has a deadline.

use std::time::Duration;

use gif_chat_tests::chat::{
    self, decode_query_value, enter, gif, is_colour, members_of, multipart, ChatFiles, ChatSocket,
    Visitor, BOUNDARY, NO_SUCH_ROOM, SESSION_COOKIE, UPLOAD_MAX_BYTES,
};
use gif_chat_tests::{http, runtime_matrix, Runtime, Server, WAIT};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A visitor who created a room and has its page's socket in it; the visitor's colour from
/// the `members` event the socket got on connecting.
struct Member {
    visitor: Visitor,
    room: String,
    socket: ChatSocket,
    colour: String,
}

async fn member_of_a_new_room(server: &Server, title: &str) -> Member {
    let mut visitor = Visitor::new(server.port());
    visitor.get("/rooms").await;
    let room = visitor.create_room(title, 10, "").await;
    let mut socket = enter(server.port(), &visitor, &room).await;
    let (members, _) = socket.expect_event("members", WAIT).await;
    let (owner, list) = members_of(&members);
    assert!(is_colour(&owner), "members.owner {owner:?} is not #rrggbb");
    assert_eq!(
        list,
        vec![owner.clone()],
        "the creator alone is in the new room"
    );
    Member {
        visitor,
        room,
        socket,
        colour: owner,
    }
}

/// Waits until the upload folder holds `expected` files (a refused upload's temporary file
/// goes once its request is done), with a deadline.
async fn expect_uploads(files: &ChatFiles, expected: usize) -> Vec<String> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let names = files.uploads();
        if names.len() == expected {
            return names;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the upload folder holds {names:?}, expected {expected} file(s)"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Finds a string field named `field` in `value` (top level or one object down), as the
/// answers of `/chat` and `/gif` carry the chat either bare or under a key.
fn find_field<'a>(value: &'a Value, field: &str) -> Option<&'a str> {
    if let Some(text) = value.get(field).and_then(Value::as_str) {
        return Some(text);
    }
    value
        .as_object()?
        .values()
        .find_map(|inner| inner.get(field).and_then(Value::as_str))
}

/// Sends `head` and then a body of `body_len` bytes starting with `start` (zeros after it), in
/// pieces (HTTP chunks when `chunked`), while reading the answer: a server that answers 413 and
/// closes before the body is all sent is what is tested, so a failed write is expected.
async fn send_large(
    port: u16,
    head: Vec<u8>,
    body_len: usize,
    start: Vec<u8>,
    chunked: bool,
) -> (u16, String) {
    let stream = http::connect(port).await;
    let (mut reader, mut writer) = stream.into_split();
    let writing = tokio::spawn(async move {
        let frame = |piece: &[u8]| -> Vec<u8> {
            if !chunked {
                return piece.to_vec();
            }
            let mut framed = format!("{:x}\r\n", piece.len()).into_bytes();
            framed.extend_from_slice(piece);
            framed.extend_from_slice(b"\r\n");
            framed
        };
        if writer.write_all(&head).await.is_err() || writer.write_all(&frame(&start)).await.is_err()
        {
            return;
        }
        let chunk = vec![0u8; 64 * 1024];
        let mut left = body_len - start.len();
        while left > 0 {
            let n = left.min(chunk.len());
            if writer.write_all(&frame(&chunk[..n])).await.is_err() {
                return;
            }
            left -= n;
        }
        if chunked {
            let _ = writer.write_all(b"0\r\n\r\n").await;
        }
    });
    let mut received = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let read = async {
        loop {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    received.extend_from_slice(&buf[..n]);
                    if http::find(&received, b"\r\n\r\n").is_some() {
                        break;
                    }
                }
            }
        }
    };
    tokio::time::timeout(WAIT * 3, read)
        .await
        .unwrap_or_else(|_| panic!("no answer to the large upload within {:?}", WAIT * 3));
    writing.abort();
    let head = String::from_utf8_lossy(&received).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {head:?}"));
    (status, head)
}

runtime_matrix! {
    /// C7: past 5 MiB the upload is refused with 413, whether its length is declared (refused
    /// from the head) or not (chunked: refused while it streams in, a temporary file begun),
    /// and nothing of it stays in UPLOAD_DIR; no chat goes out for it.
    async fn an_upload_over_five_mib_is_413_and_leaves_no_file(runtime: Runtime) {
        let files = ChatFiles::new();
        let mut server = chat::start(runtime, &files, &[]).await;
        let mut member = member_of_a_new_room(&server, "큰 파일").await;

        // A GIF's first bytes, so it passes the sniff and only its size is at fault.
        let image = gif(2, 2);
        let part_head = format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"gif\"; filename=\"big.gif\"\r\nContent-Type: image/gif\r\n\r\n"
        );
        let mut start = part_head.into_bytes();
        start.extend_from_slice(&image[..image.len() - 1]);
        let body_len = UPLOAD_MAX_BYTES + 256 * 1024;
        let origin = member.visitor.origin();
        let content_type = format!("multipart/form-data; boundary={BOUNDARY}");
        for chunked in [false, true] {
            let mut head = member.visitor.request_bytes(
                "POST",
                &format!("/room/{}/gif", member.room),
                &[("Origin", &origin), ("Content-Type", &content_type)],
                None,
            );
            // request_bytes ends the head; put the body's framing in before the blank line.
            head.truncate(head.len() - 2);
            let framing = if chunked {
                "Transfer-Encoding: chunked".to_owned()
            } else {
                format!("Content-Length: {body_len}")
            };
            head.extend_from_slice(format!("{framing}\r\n\r\n").as_bytes());
            let (status, answer) =
                send_large(server.port(), head, body_len, start.clone(), chunked).await;
            assert_eq!(status, 413, "{runtime}: an upload of {body_len} bytes ({framing}):\n{answer}");
            server
                .expect_access("POST", &format!("/room/{}/gif", member.room), 413)
                .await;
            expect_uploads(&files, 0).await;
        }

        // The room saw no image: the next chat event is a later marker.
        let posted = member
            .visitor
            .post_json(&format!("/room/{}/chat", member.room), &json!({"chat": "after"}))
            .await;
        assert_eq!(posted.status, 200, "{runtime}: {}", posted.body_text());
        let (event, _) = member.socket.expect_event("chat", WAIT).await;
        assert_eq!(event.payload()["chat"], "after", "{runtime}: {event:?}");
        assert!(files.uploads().is_empty(), "{runtime}: {:?}", files.uploads());
    }

    /// C6 and the contract's `CHAT_MAX_CHARS` and `CHAT_RATE`: a chat past the length limit is
    /// refused, over the socket (ack `{error}`) and over HTTP (400, JSON `{error}`), and sent to
    /// nobody; past the rate, 429 with `Retry-After`. Two visitors, as the rate is per visitor.
    async fn chat_length_and_rate_limits_come_from_the_settings(runtime: Runtime) {
        let files = ChatFiles::new();
        let server = chat::start(
            runtime,
            &files,
            &[("CHAT_MAX_CHARS", "10"), ("CHAT_RATE", "1/3")],
        )
        .await;
        let too_long = "열한 글자가 넘는 문장"; // 12 characters
        let mut talker = member_of_a_new_room(&server, "길이").await;
        let ack = talker.socket.emit_with_ack("chat", &json!(too_long)).await;
        assert!(ack["error"].is_string(), "{runtime}: a socket chat of 12 characters with CHAT_MAX_CHARS=10 was acked {ack}");
        let path = format!("/room/{}/chat", talker.room);
        let long = talker.visitor.post_json(&path, &json!({ "chat": too_long })).await;
        assert_eq!(long.status, 400, "{runtime}: an HTTP chat of 12 characters with CHAT_MAX_CHARS=10: {}", long.body_text());
        let error: Value = serde_json::from_slice(&long.body).unwrap_or(Value::Null);
        assert!(error["error"].is_string(), "{runtime}: no JSON error: {}", long.body_text());
        let ok = talker.visitor.post_json(&path, &json!({"chat": "열 글자 딱 맞음"})).await;
        assert_eq!(ok.status, 200, "{runtime}: 10 characters: {}", ok.body_text());
        let (event, _) = talker.socket.expect_event("chat", WAIT).await;
        assert_eq!(event.payload()["chat"], "열 글자 딱 맞음", "{runtime}: the refused chats went out: {event:?}");

        // The burst of 3, then too fast; the room saw the three, not the refused one.
        let mut fast = member_of_a_new_room(&server, "속도").await;
        let path = format!("/room/{}/chat", fast.room);
        for n in 0..3 {
            let ok = fast.visitor.post_json(&path, &json!({"chat": format!("빠른 말 {n}")})).await;
            assert_eq!(ok.status, 200, "{runtime}: chat {n} of the burst: {}", ok.body_text());
        }
        let refused = fast.visitor.post_json(&path, &json!({"chat": "너무 빨라"})).await;
        assert_eq!(refused.status, 429, "{runtime}: a fourth chat at once with CHAT_RATE=1/3");
        let retry: u64 = refused
            .header("retry-after")
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{runtime}: 429 without a Retry-After in seconds: {:?}", refused.headers));
        assert!((1..=2).contains(&retry), "{runtime}: Retry-After {retry} at 1 a second");
        for n in 0..3 {
            let (event, _) = fast.socket.expect_event("chat", WAIT).await;
            assert_eq!(event.payload()["chat"], format!("빠른 말 {n}"), "{runtime}: {event:?}");
        }
    }

    /// The contract's `UPLOAD_MAX_BYTES` moves the limit: a small one refuses a GIF just past
    /// it with 413 (no file left) and takes one within it.
    async fn upload_max_bytes_sets_the_limit(runtime: Runtime) {
        let files = ChatFiles::new();
        let server = chat::start(runtime, &files, &[("UPLOAD_MAX_BYTES", "4096")]).await;
        let mut member = member_of_a_new_room(&server, "작은 한도").await;
        // 96 × 96 pixels at 6 bits each (a clear code and the pixel), over 4 KiB; 16 × 16, under.
        let large = gif(96, 96);
        assert!(large.len() > 4096, "the large GIF is {} bytes", large.len());
        let answer = member.visitor.upload(&member.room, "large.gif", &large).await;
        assert_eq!(answer.status, 413, "{runtime}: {} bytes over UPLOAD_MAX_BYTES=4096: {}", large.len(), answer.body_text());
        expect_uploads(&files, 0).await;
        let answer = member.visitor.upload(&member.room, "small.gif", &gif(16, 16)).await;
        assert_eq!(answer.status, 200, "{runtime}: a GIF within the limit: {}", answer.body_text());
        expect_uploads(&files, 1).await;
    }

    /// C7: an image is known by its bytes, not its name: `.gif` text is refused (415 or 400),
    /// and leaves no file.
    async fn a_file_named_gif_that_is_not_an_image_is_refused(runtime: Runtime) {
        let files = ChatFiles::new();
        let server = chat::start(runtime, &files, &[]).await;
        let mut member = member_of_a_new_room(&server, "가짜 GIF").await;
        let answer = member
            .visitor
            .upload(&member.room, "cat.gif", b"<html><script>alert(1)</script></html>")
            .await;
        assert!(
            answer.status == 415 || answer.status == 400,
            "{runtime}: HTML named cat.gif answered {}: {}",
            answer.status,
            answer.body_text()
        );
        expect_uploads(&files, 0).await;

        // The same request with a real GIF is accepted: only the bytes were at fault.
        let answer = member.visitor.upload(&member.room, "cat.gif", &gif(3, 2)).await;
        assert_eq!(answer.status, 200, "{runtime}: a real GIF: {}", answer.body_text());
        expect_uploads(&files, 1).await;
    }

    /// C6: a chat is text: `<script>` comes back as the same string in JSON and in the event,
    /// and the room page shows it escaped, never as markup.
    async fn a_script_chat_is_shown_as_text(runtime: Runtime) {
        let files = ChatFiles::new();
        let server = chat::start(runtime, &files, &[]).await;
        let mut member = member_of_a_new_room(&server, "<b>제목</b>").await;
        let text = "<script>alert(\"x\")</script> & </textarea>";
        let answer = member
            .visitor
            .post_json(&format!("/room/{}/chat", member.room), &json!({ "chat": text }))
            .await;
        assert_eq!(answer.status, 200, "{runtime}: {}", answer.body_text());
        assert!(
            answer.header("content-type").unwrap_or_default().starts_with("application/json"),
            "{runtime}: {:?}",
            answer.headers
        );
        let value: Value = serde_json::from_slice(&answer.body)
            .unwrap_or_else(|e| panic!("{runtime}: the answer is not JSON ({e}): {}", answer.body_text()));
        assert_eq!(find_field(&value, "chat"), Some(text), "{runtime}: {value}");
        let (event, _) = member.socket.expect_event("chat", WAIT).await;
        let payload = event.payload();
        assert_eq!(payload["chat"], text, "{runtime}: {event:?}");
        assert_eq!(payload["user"], member.colour.as_str(), "{runtime}: {event:?}");
        assert_eq!(payload["room"], member.room.as_str(), "{runtime}: {event:?}");
        assert!(payload["_id"].is_string() && payload["createdAt"].is_string(), "{runtime}: {event:?}");

        // The same through the form encoding.
        let form = member
            .visitor
            .post_form(&format!("/room/{}/chat", member.room), &[("chat", "<img src=x onerror=alert(2)>")])
            .await;
        assert_eq!(form.status, 200, "{runtime}: {}", form.body_text());

        let page = member.visitor.get(&format!("/room/{}", member.room)).await;
        assert_eq!(page.status, 200, "{runtime}: the room page");
        let html = page.body_text();
        for raw in ["<script>alert(", "<img src=x", "<b>제목</b>", "</textarea>"] {
            assert!(!html.contains(raw), "{runtime}: the page holds {raw:?} as markup:\n{html}");
        }
        let escaped = html.contains("&lt;script&gt;alert(")
            || html.contains("\\u003cscript\\u003e")
            || html.contains("\\u003Cscript\\u003E");
        assert!(escaped, "{runtime}: the chat is not in the page, escaped:\n{html}");
        assert!(html.contains("&lt;b&gt;제목&lt;/b&gt;"), "{runtime}: the title, escaped:\n{html}");
    }

    /// The contract: every POST checks the same origin; another site's form gets 403 and
    /// changes nothing.
    async fn a_post_from_another_origin_is_refused(runtime: Runtime) {
        let files = ChatFiles::new();
        let server = chat::start(runtime, &files, &[]).await;
        let mut member = member_of_a_new_room(&server, "출처").await;
        let body = chat::form(&[("title", "침입"), ("max", "5"), ("password", "")]);
        for header in [("Origin", "http://evil.example"), ("Referer", "http://evil.example/x")] {
            let answer = member
                .visitor
                .send(
                    "POST",
                    "/room",
                    &[header, ("Content-Type", "application/x-www-form-urlencoded")],
                    Some(body.as_bytes()),
                )
                .await;
            assert_eq!(answer.status, 403, "{runtime}: POST /room with {header:?}");
        }
        let chat_body = json!({"chat": "forged"}).to_string();
        let answer = member
            .visitor
            .send(
                "POST",
                &format!("/room/{}/chat", member.room),
                &[("Origin", "http://127.0.0.1.evil.example"), ("Content-Type", "application/json")],
                Some(chat_body.as_bytes()),
            )
            .await;
        assert_eq!(answer.status, 403, "{runtime}: a chat from another origin");
        let answer = member
            .visitor
            .send(
                "POST",
                &format!("/room/{}/gif", member.room),
                &[
                    ("Origin", "http://evil.example"),
                    ("Content-Type", &format!("multipart/form-data; boundary={BOUNDARY}")),
                ],
                Some(&multipart("gif", "a.gif", "image/gif", &gif(1, 1))),
            )
            .await;
        assert_eq!(answer.status, 403, "{runtime}: an upload from another origin");
        assert!(files.uploads().is_empty(), "{runtime}: {:?}", files.uploads());

        // Nothing happened: no room made, and the next chat the room sees is a same-origin one.
        let list = member.visitor.get("/rooms").await;
        assert!(!list.body_text().contains("침입"), "{runtime}: the forged room is listed");
        member
            .visitor
            .post_json(&format!("/room/{}/chat", member.room), &json!({"chat": "real"}))
            .await;
        let (event, _) = member.socket.expect_event("chat", WAIT).await;
        assert_eq!(event.payload()["chat"], "real", "{runtime}: {event:?}");
    }

    /// C3: an unknown room sends the visitor to the list with the book's message, shown there.
    async fn an_unknown_room_redirects_with_the_books_message(runtime: Runtime) {
        let files = ChatFiles::new();
        let server = chat::start(runtime, &files, &[]).await;
        let mut visitor = Visitor::new(server.port());
        let answer = visitor.get("/room/AAAAAAAAAAAAAAAAAAAAAA").await;
        assert_eq!(answer.status, 303, "{runtime}: {:?}", answer.headers);
        let location = answer.header("location").unwrap_or_default().to_owned();
        let error = location
            .strip_prefix("/rooms?error=")
            .unwrap_or_else(|| panic!("{runtime}: redirected to {location:?}"));
        assert_eq!(decode_query_value(error), NO_SUCH_ROOM, "{runtime}: {location}");
        let list = visitor.get(&location).await;
        assert_eq!(list.status, 200, "{runtime}: {location}");
        assert!(list.body_text().contains(NO_SUCH_ROOM), "{runtime}: the list does not show the error");

        // What a visitor types into ?error= is shown as text.
        let list = visitor.get("/rooms?error=%3Cscript%3Ealert(1)%3C%2Fscript%3E").await;
        assert!(!list.body_text().contains("<script>alert(1)"), "{runtime}: ?error= as markup");
    }

    /// C4: the session cookie is HttpOnly and SameSite=Lax, sent once; a forged or tampered one
    /// is no session, and its bearer gets a fresh one. The seed's page still sets none (S14).
    async fn the_session_cookie_is_httponly_lax_and_unforgeable(runtime: Runtime) {
        let files = ChatFiles::new();
        let server = chat::start(runtime, &files, &[]).await;
        let port = server.port();
        let seed = http::get(port, "/", &[]).await;
        assert_eq!(seed.header("set-cookie"), None, "{runtime}: GET / set a cookie");

        let mut visitor = Visitor::new(port);
        let first = visitor.get("/rooms").await;
        let set_cookie = first.header("set-cookie").unwrap_or_else(|| panic!("{runtime}: no cookie from /rooms"));
        let attributes: Vec<String> = set_cookie.split(';').map(|a| a.trim().to_ascii_lowercase()).collect();
        assert!(set_cookie.starts_with(&format!("{SESSION_COOKIE}=")), "{runtime}: {set_cookie}");
        for wanted in ["httponly", "samesite=lax", "path=/"] {
            assert!(attributes.iter().any(|a| a == wanted), "{runtime}: no {wanted} in {set_cookie}");
        }
        let cookie = visitor.cookie.clone().unwrap_or_default();
        let again = visitor.get("/rooms").await;
        assert_eq!(again.header("set-cookie"), None, "{runtime}: a valid session got another cookie");

        // Forged: a well-formed id with a made-up signature; tampered: the real one, one
        // character of its id changed.
        let forged = format!("{SESSION_COOKIE}=s%3A{}.{}", "A".repeat(32), "B".repeat(43));
        let value = cookie.trim_start_matches(&format!("{SESSION_COOKIE}=")).to_owned();
        let flip_at = value.find("%3A").map(|at| at + 3).or_else(|| value.find(':').map(|at| at + 1)).unwrap_or(0) + 4;
        let mut tampered: Vec<char> = value.chars().collect();
        tampered[flip_at] = if tampered[flip_at] == 'x' { 'y' } else { 'x' };
        let tampered = format!("{SESSION_COOKIE}={}", tampered.into_iter().collect::<String>());
        for bad in [forged, tampered] {
            let mut stranger = Visitor::new(port);
            stranger.cookie = Some(bad.clone());
            let answer = stranger.get("/rooms").await;
            let fresh = answer
                .header("set-cookie")
                .and_then(chat::session_pair)
                .unwrap_or_else(|| panic!("{runtime}: {bad:?} kept without a fresh session"));
            assert_ne!(fresh, bad, "{runtime}: the forged cookie was set back");
            assert_ne!(fresh, cookie, "{runtime}: a forged cookie was given the real session");
        }
    }

    /// C7: an image is served at /gif/<name> with its type and nosniff; nothing else is.
    async fn uploaded_images_are_served_with_their_type_and_nothing_else(runtime: Runtime) {
        let files = ChatFiles::new();
        let server = chat::start(runtime, &files, &[]).await;
        let mut member = member_of_a_new_room(&server, "그림").await;
        let image = gif(5, 3);
        let answer = member.visitor.upload(&member.room, "../../etc/passwd.gif", &image).await;
        assert_eq!(answer.status, 200, "{runtime}: {}", answer.body_text());
        let (event, _) = member.socket.expect_event("chat", WAIT).await;
        let name = event.payload()["gif"].as_str().unwrap_or_else(|| panic!("{runtime}: no gif in {event:?}")).to_owned();
        assert!(!name.contains('/') && !name.contains("passwd"), "{runtime}: the client's name was used: {name}");
        assert_eq!(event.payload()["user"], member.colour.as_str(), "{runtime}: {event:?}");
        assert_eq!(files.uploads(), vec![name.clone()], "{runtime}: the stored file");
        assert_eq!(std::fs::read(files.upload_dir().join(&name)).ok(), Some(image.clone()), "{runtime}: stored bytes");

        let served = http::get(server.port(), &format!("/gif/{name}"), &[]).await;
        assert_eq!(served.status, 200, "{runtime}: /gif/{name}");
        assert_eq!(served.header("content-type"), Some("image/gif"), "{runtime}: {:?}", served.headers);
        assert_eq!(served.header("x-content-type-options"), Some("nosniff"), "{runtime}: {:?}", served.headers);
        assert_eq!(served.body, image, "{runtime}: the served bytes");

        let unknown = format!("/gif/{}.gif", "0123456789abcdef".repeat(2));
        let stem = name.split('.').next().unwrap_or_default();
        for path in [
            "/gif/../x",
            "/gif/..%2fx.db",
            "/gif/%2e%2e/x.db",
            unknown.as_str(),
            &format!("/gif/{stem}.png"),
            &format!("/gif/{name}/"),
            "/gif/",
        ] {
            let answer = http::get(server.port(), path, &[]).await;
            assert_eq!(answer.status, 404, "{runtime}: GET {path}");
        }
    }
}
