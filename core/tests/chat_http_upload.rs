//! Uploads (`POST /room/<id>/gif`) and files (`GET /gif/<name>`) on a [`Connection`] in memory
//! (C7): the hub asked first, the body streamed as upload steps in any chunking, refused past
//! the limit or when it is not an image with nothing kept, backpressure, and the files served.

mod chat_http_support;

use bytes::Bytes;
use chat_http_support::*;
use gif_chat_core::chat::{
    ChatAction, ChatAnswer, ChatRefusal, GifName, ImageType, StoredImage, STORED_NAME_RANDOM_BYTES,
};
use gif_chat_core::upload::{UploadFailure, UploadStep};

/// What the I/O layer would keep: the bytes of a finished upload, checked against the steps'
/// order (one Begin, pieces, then Finish or Abort, nothing after).
fn kept_file(steps: &[UploadStep]) -> Option<Vec<u8>> {
    let Some((UploadStep::Begin { .. }, rest)) = steps.split_first() else {
        assert!(steps.is_empty(), "steps without a Begin: {steps:?}");
        return None;
    };
    let mut file = Vec::new();
    for (i, step) in rest.iter().enumerate() {
        match step {
            UploadStep::Piece(bytes) => file.extend_from_slice(bytes),
            UploadStep::Finish | UploadStep::Abort => {
                assert_eq!(i, rest.len() - 1, "a step after the end: {steps:?}");
                return (*step == UploadStep::Finish).then_some(file);
            }
            UploadStep::Begin { .. } => panic!("two Begins: {steps:?}"),
        }
    }
    panic!("an upload never ended: {steps:?}")
}

fn stored_name() -> GifName {
    StoredImage::new([0xab; STORED_NAME_RANDOM_BYTES], ImageType::Gif)
        .name()
        .clone()
}

/// Sends an upload's head, allows it, then its body cut at `cut`; the client and the response.
fn upload_cut_at(config: gif_chat_core::Config, file: &[u8], cut: usize) -> (Client, Response) {
    let (id, cookie) = (visitor(3), cookie_for(&visitor(3), SECRET));
    let body = multipart(file);
    let mut client = Client::new(config);
    client.send(&upload_head(room_id(1), &cookie, body.len()));
    let asked = client.take_request();
    assert_eq!(asked.visitor, id);
    assert_eq!(asked.action, ChatAction::MayUpload { room: room_id(1) });
    client.answer(ChatAnswer::UploadAllowed);
    client.send(&body[..cut]);
    client.send(&body[cut..]);
    if client.requests.is_empty() && client.written.is_empty() {
        assert!(client.conn.awaits_chat_io(), "waits for the store");
        client.stored(Ok(stored_name()));
        let asked = client.take_request();
        assert_eq!(
            asked.action,
            ChatAction::GifStored {
                room: room_id(1),
                gif: stored_name(),
                // The file's own bytes, not the multipart body's.
                bytes: file.len() as u64,
            }
        );
        client.answer(ChatAnswer::Posted(gif_chat(room_id(1), stored_name())));
    }
    let response = client.take_response();
    (client, response)
}

fn small_limit(limit: u64) -> gif_chat_core::Config {
    let mut config = config();
    config.upload_max_bytes = limit;
    config
}

#[test]
fn an_image_is_streamed_stored_and_posted_in_any_chunking() {
    let file = gif_bytes(64);
    let body_len = multipart(&file).len();
    for cut in 0..=body_len {
        let (client, response) = upload_cut_at(small_limit(64), &file, cut);
        assert_eq!(response.status, 200, "cut at {cut}");
        assert_eq!(response.json()["chat"]["gif"], stored_name().as_str());
        assert_eq!(response.header("Connection"), Some("keep-alive"));
        assert_eq!(kept_file(&client.steps), Some(file.clone()), "cut at {cut}");
        assert_eq!(
            client.steps.first(),
            Some(&UploadStep::Begin {
                kind: ImageType::Gif
            })
        );
        assert!(!client.conn.awaits_chat_io());
    }
}

#[test]
fn one_byte_past_the_limit_is_413_and_aborted_in_any_chunking() {
    let file = gif_bytes(65);
    let body = multipart(&file);
    let file_start = body.windows(6).position(|w| w == b"GIF89a").unwrap();
    // A cut well inside the file hands out its signature (the parser holds back what could
    // begin a delimiter, 29 bytes here) and so begins it before the limit is passed.
    let begun_early = file_start + 40..=file_start + 60;
    for cut in 0..=body.len() {
        let (client, response) = upload_cut_at(small_limit(64), &file, cut);
        assert_eq!(response.status, 413, "cut at {cut}");
        assert_eq!(response.header("Connection"), Some("close"));
        assert!(response.json()["error"].is_string());
        // Begun (its first bytes came in an earlier piece): aborted; else never begun.
        assert_eq!(kept_file(&client.steps), None, "cut at {cut}");
        if !client.steps.is_empty() || begun_early.contains(&cut) {
            assert_eq!(
                client.steps.last(),
                Some(&UploadStep::Abort),
                "cut at {cut}"
            );
        }
        assert!(
            client
                .log
                .iter()
                .any(|l| l.starts_with(&format!("POST /room/{}/gif 413 ", room_id(1)))),
            "{:?}",
            client.log
        );
    }
}

#[test]
fn a_client_that_expects_100_continue_gets_it_once_the_upload_is_allowed() {
    let cookie = cookie_for(&visitor(3), SECRET);
    let body = multipart(&gif_bytes(30));
    let head = String::from_utf8(upload_head(room_id(1), &cookie, body.len())).unwrap();
    let head = head.replacen("\r\n\r\n", "\r\nExpect: 100-continue\r\n\r\n", 1);
    let mut client = Client::new(config());
    client.send(head.as_bytes());
    client.take_request();
    assert!(
        client.take_written().is_empty(),
        "nothing before the hub says yes"
    );
    client.answer(ChatAnswer::UploadAllowed);
    assert_eq!(client.take_written(), b"HTTP/1.1 100 Continue\r\n\r\n");
    client.send(&body);
    assert_eq!(client.steps.last(), Some(&UploadStep::Finish));
}

#[test]
fn a_declared_length_past_the_limit_is_413_before_the_hub_is_asked() {
    let mut client = Client::new(small_limit(64));
    client.send(&upload_head(room_id(1), "", 10_000_000));
    assert!(client.requests.is_empty());
    let response = client.take_response();
    assert_eq!(response.status, 413);
    assert!(client.steps.is_empty());
}

#[test]
fn bytes_that_are_no_image_are_refused_whatever_the_name_says() {
    for file in [
        &b"<svg onload=alert(1)>"[..],
        b"GIF8",
        b"",
        b"\x89PNG\r\n\x1a\r....",
    ] {
        let body = multipart(file);
        for cut in [0, body.len() / 2, body.len()] {
            let (client, response) = upload_cut_at(config(), file, cut);
            assert_eq!(response.status, 415, "{file:?}");
            assert_eq!(response.header("Connection"), Some("close"));
            assert!(client.steps.is_empty(), "never begun: {:?}", client.steps);
        }
    }
}

#[test]
fn an_upload_the_hub_refuses_reads_no_body_and_closes() {
    let cookie = cookie_for(&visitor(3), SECRET);
    let body = multipart(&gif_bytes(30));
    let mut client = Client::new(config());
    let mut bytes = upload_head(room_id(1), &cookie, body.len());
    bytes.extend_from_slice(&body);
    client.send(&bytes);
    client.take_request();
    client.answer(ChatAnswer::Refused(ChatRefusal::NotAMember));
    let response = client.take_response();
    assert_eq!(response.status, 403);
    assert_eq!(response.header("Connection"), Some("close"));
    assert!(client.steps.is_empty());

    let mut client = Client::new(config());
    client.send(&bytes);
    client.take_request();
    client.answer(ChatAnswer::Refused(ChatRefusal::TooFast {
        retry_after: std::time::Duration::from_secs(3),
    }));
    let response = client.take_response();
    assert_eq!(response.status, 429);
    assert_eq!(response.header("Retry-After"), Some("3"));
}

#[test]
fn a_cross_site_or_malformed_upload_is_refused_from_its_head() {
    let body = multipart(&gif_bytes(30));
    let cases = [
        (
            format!("Origin: http://evil.example\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\n"),
            403,
        ),
        ("Content-Type: text/plain\r\n".to_owned(), 415),
        ("Content-Type: multipart/form-data\r\n".to_owned(), 400),
    ];
    for (headers, status) in cases {
        let mut client = Client::new(config());
        let path = format!("/room/{}/gif", room_id(1));
        client.send(&request("POST", &path, &headers, &body));
        assert!(client.requests.is_empty(), "{headers}");
        let response = client.take_response();
        assert_eq!(response.status, status, "{headers}");
        assert!(client.steps.is_empty());
    }
}

#[test]
fn upload_pieces_not_taken_stop_the_reading() {
    let cookie = cookie_for(&visitor(3), SECRET);
    let file = gif_bytes(1000);
    let body = multipart(&file);
    let mut client = Client::new(config());
    client.take_steps = false;
    client.send(&upload_head(room_id(1), &cookie, body.len()));
    client.take_request();
    client.answer(ChatAnswer::UploadAllowed);
    assert!(client.conn.wants_input());
    client.send(&body[..500]);
    assert!(!client.conn.wants_input(), "pieces wait for the I/O layer");
    assert!(client.conn.awaits_chat_io());
    client.take_upload_steps();
    assert!(client.conn.wants_input(), "taken: read on");
    client.send(&body[500..]);
    client.take_upload_steps();
    assert_eq!(client.steps.last(), Some(&UploadStep::Finish));
    client.stored(Err(UploadFailure::Storage("disk full".into())));
    let response = client.take_response();
    assert_eq!(response.status, 500);
    assert!(client.requests.is_empty(), "nothing posted");
}

#[test]
fn a_connection_cut_mid_upload_still_hands_out_the_abort() {
    let cookie = cookie_for(&visitor(3), SECRET);
    let body = multipart(&gif_bytes(1000));
    let mut client = Client::new(config());
    client.send(&upload_head(room_id(1), &cookie, body.len()));
    client.take_request();
    client.answer(ChatAnswer::UploadAllowed);
    client.take_steps = false;
    client.send(&body[..500]);
    client.eof();
    assert!(client.conn.is_closed());
    assert!(client.conn.awaits_chat_io(), "steps still owed");
    client.take_upload_steps();
    assert_eq!(kept_file(&client.steps), None);
    assert_eq!(client.steps.last(), Some(&UploadStep::Abort));
    assert!(!client.conn.awaits_chat_io());
}

#[test]
fn a_stored_image_is_served_with_its_type_and_nosniff() {
    let image = StoredImage::new([0x1f; STORED_NAME_RANDOM_BYTES], ImageType::Png);
    let mut client = Client::new(config());
    client.send(&request("GET", &image.path(), "", b""));
    assert_eq!(client.reads, [image.name().clone()]);
    assert_eq!(
        client.conn.poll_timeout(),
        Some(client.now + gif_chat_core::Config::new().chat_answer_timeout)
    );
    client.file(Some(Bytes::from_static(b"\x89PNG\r\n\x1a\nrest")));
    let response = client.take_response();
    assert_eq!(response.status, 200);
    assert_eq!(response.header("Content-Type"), Some("image/png"));
    assert_eq!(response.header("X-Content-Type-Options"), Some("nosniff"));
    assert!(response
        .header("Cache-Control")
        .unwrap()
        .starts_with("public, max-age="));
    assert_eq!(response.body, b"\x89PNG\r\n\x1a\nrest");
    assert_eq!(
        response.header("Set-Cookie"),
        None,
        "a file makes no session"
    );

    client.reads.clear();
    client.send(&request("HEAD", &image.path(), "", b""));
    client.file(Some(Bytes::from_static(b"12345")));
    let head = client.take_head_response();
    assert_eq!(head.header("Content-Length"), Some("5"));
    assert!(head.body.is_empty());

    client.reads.clear();
    client.send(&request("GET", &image.path(), "", b""));
    client.file(None);
    assert_eq!(client.take_response().status, 404);

    // Names the server could not have chosen never reach the I/O layer.
    client.reads.clear();
    for path in [
        "/gif/../../etc/passwd".to_owned(),
        format!("/gif/{}.svg", "1f".repeat(16)),
        format!("/gif/.{}.gif", "1f".repeat(16)),
    ] {
        client.send(&request("GET", &path, "", b""));
        assert!(client.reads.is_empty(), "{path}");
        assert_eq!(client.take_response().status, 404, "{path}");
    }
    assert!(client
        .log
        .iter()
        .any(|l| l.starts_with(&format!("GET {} 200 ", image.path()))));
}
