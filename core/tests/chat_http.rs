//! The chat's routes on a [`Connection`] in memory (SPEC §6): what each asks the hub, what each
//! answer becomes, visitors' cookies, the same-origin check, pipelining and HEAD.

mod chat_http_support;

use std::time::Duration;

use chat_http_support::*;
use gif_chat_core::chat::{
    ChatAction, ChatAnswer, ChatRefusal, ChatText, Colour, Password, RoomMax, SessionIds, Title,
};
use gif_chat_core::testing::Driver;
use gif_chat_core::{HubCall, OriginPolicy};

fn visitor_cookie() -> (gif_chat_core::chat::SessionId, String) {
    let id = visitor(3);
    let cookie = cookie_for(&id, SECRET);
    (id, cookie)
}

#[test]
fn the_room_list_asks_the_hub_and_a_new_visitor_gets_a_session_cookie() {
    let mut client = Client::new(config());
    client.send(&request("GET", "/rooms?error=%EC%97%86%EC%96%B4", "", b""));
    assert!(client.written.is_empty(), "nothing before the hub answers");
    assert!(client.conn.awaits_chat_io());
    assert_eq!(
        client.conn.poll_timeout(),
        Some(client.now + gif_chat_core::Config::new().chat_answer_timeout),
        "the answer timeout"
    );
    let asked = client.take_request();
    assert_eq!(asked.action, ChatAction::ListRooms);
    assert_eq!(asked.client_ip.to_string(), "127.0.0.1");
    // The first id the configured generator gives.
    assert_eq!(asked.visitor, SessionIds::new([9; 32]).next_id());

    client.answer(ChatAnswer::Rooms(vec![room(1, false)]));
    assert!(!client.conn.awaits_chat_io());
    let response = client.take_response();
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("Content-Type"),
        Some("text/html; charset=utf-8")
    );
    let cookie = response.header("Set-Cookie").unwrap();
    assert_eq!(cookie, set_cookie(&asked.visitor));
    assert!(
        cookie.contains("; Path=/; HttpOnly; SameSite=Lax"),
        "{cookie}"
    );
    assert!(response.text().contains("GIF 채팅방"));
    assert_eq!(response.header("Connection"), Some("keep-alive"));
    assert!(
        client
            .log
            .iter()
            .any(|l| l.starts_with("GET /rooms?error=%EC%97%86%EC%96%B4 200 ")),
        "{:?}",
        client.log
    );
}

fn set_cookie(id: &gif_chat_core::chat::SessionId) -> String {
    gif_chat_core::chat::set_cookie_header(
        id,
        &gif_chat_core::chat::CookieSecret::new(SECRET),
        false,
    )
}

#[test]
fn a_signed_cookie_is_the_visitor_and_a_forged_one_is_not() {
    let (id, cookie) = visitor_cookie();
    let mut client = Client::new(config());
    client.send(&request(
        "GET",
        "/rooms",
        &format!("Cookie: theme=dark; {cookie}\r\n"),
        b"",
    ));
    assert_eq!(client.take_request().visitor, id);
    client.answer(ChatAnswer::Rooms(Vec::new()));
    assert_eq!(client.take_response().header("Set-Cookie"), None);

    let forged = [
        cookie_for(&id, "another secret"),
        cookie.replacen("s%3A", "s%3AX", 1),
        format!("connect.sid=s%3A{}", id.as_str()),
        format!("connect.sid={}", id.as_str()),
    ];
    for forged in forged {
        client.send(&request(
            "GET",
            "/rooms",
            &format!("Cookie: {forged}\r\n"),
            b"",
        ));
        let asked = client.take_request();
        assert_ne!(asked.visitor, id, "{forged}");
        client.answer(ChatAnswer::Rooms(Vec::new()));
        let response = client.take_response();
        assert_eq!(
            response.header("Set-Cookie"),
            Some(set_cookie(&asked.visitor).as_str()),
            "a new session for {forged}"
        );
    }
}

#[test]
fn the_create_form_and_creating_a_room() {
    let (id, cookie) = visitor_cookie();
    let cookie_line = format!("Cookie: {cookie}\r\n");
    let mut client = Client::new(config());
    client.send(&request("GET", "/room", &cookie_line, b""));
    assert!(client.requests.is_empty(), "the form needs no hub");
    let form = client.take_response();
    assert_eq!(form.status, 200);
    assert!(form.text().contains("GIF 채팅방 생성"));

    client.send(&form_post(
        "/room",
        &cookie_line,
        "title=%EC%B1%84%ED%8C%85&max=5&password=s3cret",
    ));
    let asked = client.take_request();
    assert_eq!(asked.visitor, id);
    assert_eq!(
        asked.action,
        ChatAction::CreateRoom {
            title: Title::new("채팅").unwrap(),
            max: RoomMax::new(5).unwrap(),
            password: Some(Password::new("s3cret").unwrap()),
        }
    );
    client.answer(ChatAnswer::Created(room(4, true)));
    let created = client.take_response();
    assert_eq!(created.status, 303);
    assert_eq!(
        created.header("Location"),
        Some(format!("/room/{}", room_id(4)).as_str())
    );

    // Refused input: the form again with the reason, the hub not asked.
    for body in ["title=&max=5", "title=a&max=11", "title=a&max=x"] {
        client.send(&form_post("/room", &cookie_line, body));
        assert!(client.requests.is_empty(), "{body}");
        let again = client.take_response();
        assert_eq!(again.status, 400, "{body}");
        assert_eq!(again.header("Connection"), Some("keep-alive"));
    }
    // The store failed: the form again with its status.
    client.send(&form_post("/room", &cookie_line, "title=a"));
    client.take_request();
    client.answer(ChatAnswer::Refused(ChatRefusal::Stopping));
    assert_eq!(client.take_response().status, 503);
}

#[test]
fn entering_a_room_its_page_its_password_form_or_back_to_the_list() {
    let (_, cookie) = visitor_cookie();
    let cookie_line = format!("Cookie: {cookie}\r\n");
    let mut client = Client::new(config());
    let path = format!("/room/{}", room_id(5));

    client.send(&request("GET", &path, &cookie_line, b""));
    assert_eq!(
        client.take_request().action,
        ChatAction::Enter {
            room: room_id(5),
            password: None
        }
    );
    client.answer(ChatAnswer::Entered {
        room: room(5, false),
        history: vec![text_chat(room_id(5), "hi")],
        me: Colour::from_rgb([1, 1, 1]),
    });
    assert_eq!(client.take_response().status, 200);

    client.send(&request("GET", &path, &cookie_line, b""));
    client.take_request();
    client.answer(ChatAnswer::Refused(ChatRefusal::PasswordNeeded(room(
        5, true,
    ))));
    assert_eq!(client.take_response().status, 200, "the password form");

    for refusal in [ChatRefusal::NoSuchRoom, ChatRefusal::RoomFull] {
        client.send(&request("GET", &path, &cookie_line, b""));
        client.take_request();
        let message = refusal.message();
        client.answer(ChatAnswer::Refused(refusal));
        let away = client.take_response();
        assert_eq!(away.status, 303);
        let location = away.header("Location").unwrap();
        let encoded: String = form_urlencoded::byte_serialize(message.as_bytes()).collect();
        assert_eq!(location, format!("/rooms?error={encoded}"));
    }

    // An id that cannot be one: no hub needed.
    client.send(&request("GET", "/room/..%2f..%2fetc", &cookie_line, b""));
    assert!(client.requests.is_empty());
    let away = client.take_response();
    assert_eq!(away.status, 303);
    assert!(away
        .header("Location")
        .unwrap()
        .starts_with("/rooms?error=%EC%A1%B4"));
}

#[test]
fn the_password_form_lets_in_or_shows_the_error() {
    let (_, cookie) = visitor_cookie();
    let cookie_line = format!("Cookie: {cookie}\r\n");
    let mut client = Client::new(config());
    let path = format!("/room/{}", room_id(6));

    client.send(&form_post(&path, &cookie_line, "password=right"));
    assert_eq!(
        client.take_request().action,
        ChatAction::Enter {
            room: room_id(6),
            password: Some(Password::new("right").unwrap())
        }
    );
    client.answer(ChatAnswer::Entered {
        room: room(6, true),
        history: Vec::new(),
        me: Colour::from_rgb([1, 1, 1]),
    });
    let inside = client.take_response();
    assert_eq!(inside.status, 303);
    assert_eq!(inside.header("Location"), Some(path.as_str()));

    client.send(&form_post(&path, &cookie_line, "password=wrong"));
    client.take_request();
    client.answer(ChatAnswer::Refused(ChatRefusal::WrongPassword));
    assert!(
        client.take_written().is_empty(),
        "no answer before the form"
    );
    // The room is asked for again, to show its form.
    assert_eq!(
        client.take_request().action,
        ChatAction::Enter {
            room: room_id(6),
            password: None
        }
    );
    client.answer(ChatAnswer::Refused(ChatRefusal::PasswordNeeded(room(
        6, true,
    ))));
    let form = client.take_response();
    assert_eq!(form.status, 403);
    assert!(form.text().starts_with("<!DOCTYPE html>"));

    // An empty password is a wrong one, without the hub checking it.
    client.send(&form_post(&path, &cookie_line, "password="));
    assert_eq!(
        client.take_request().action,
        ChatAction::Enter {
            room: room_id(6),
            password: None
        }
    );
    client.answer(ChatAnswer::Refused(ChatRefusal::PasswordNeeded(room(
        6, true,
    ))));
    assert_eq!(client.take_response().status, 403);
}

#[test]
fn posting_a_chat_as_json_or_a_form() {
    let (id, cookie) = visitor_cookie();
    let mut client = Client::new(config());
    let path = format!("/room/{}/chat", room_id(7));
    let json_headers =
        format!("Origin: http://{HOST}\r\nCookie: {cookie}\r\nContent-Type: application/json\r\n");

    client.send(&request(
        "POST",
        &path,
        &json_headers,
        br#"{"chat":"<script>x</script>"}"#,
    ));
    let asked = client.take_request();
    assert_eq!(asked.visitor, id);
    assert_eq!(
        asked.action,
        ChatAction::PostChat {
            room: room_id(7),
            text: ChatText::new("<script>x</script>").unwrap()
        }
    );
    client.answer(ChatAnswer::Posted(text_chat(
        room_id(7),
        "<script>x</script>",
    )));
    let posted = client.take_response();
    assert_eq!(posted.status, 200);
    assert_eq!(
        posted.header("Content-Type"),
        Some("application/json; charset=utf-8")
    );
    let json = posted.json();
    assert_eq!(json["ok"], true);
    assert_eq!(json["chat"]["chat"], "<script>x</script>");
    assert_eq!(json["chat"]["_id"], "7");
    assert_eq!(json["chat"]["createdAt"], "1970-01-01T00:00:01.000Z");

    client.send(&form_post(
        &path,
        &format!("Cookie: {cookie}\r\n"),
        "chat=a+%26+b",
    ));
    assert_eq!(
        client.take_request().action,
        ChatAction::PostChat {
            room: room_id(7),
            text: ChatText::new("a & b").unwrap()
        }
    );
    client.answer(ChatAnswer::Refused(ChatRefusal::TooFast {
        retry_after: Duration::from_millis(1500),
    }));
    let busy = client.take_response();
    assert_eq!(busy.status, 429);
    assert_eq!(busy.header("Retry-After"), Some("2"));
    assert_eq!(
        busy.json()["error"],
        ChatRefusal::TooFast {
            retry_after: Duration::ZERO
        }
        .message()
    );

    client.send(&form_post(
        &path,
        &format!("Cookie: {cookie}\r\n"),
        "chat=hi",
    ));
    client.take_request();
    client.answer(ChatAnswer::Refused(ChatRefusal::NotAMember));
    let refused = client.take_response();
    assert_eq!(refused.status, 403);
    assert_eq!(refused.json()["error"], ChatRefusal::NotAMember.message());

    // Empty or too long: 400, the hub not asked.
    let long = format!("chat={}", "가".repeat(1001));
    for body in ["chat=+++", "other=1", long.as_str()] {
        client.send(&form_post(&path, &format!("Cookie: {cookie}\r\n"), body));
        assert!(client.requests.is_empty());
        let bad = client.take_response();
        assert_eq!(bad.status, 400);
        assert!(bad.json()["error"].is_string());
    }
    // A room id that cannot be one.
    client.send(&form_post("/room/nope/chat", "", "chat=hi"));
    assert!(client.requests.is_empty());
    assert_eq!(client.take_response().status, 404);
}

#[test]
fn a_post_from_another_site_is_refused_before_the_hub_hears_of_it() {
    let path = format!("/room/{}/chat", room_id(8));
    let cases = [
        ("Origin: http://evil.example\r\n", 403),
        ("Origin: null\r\n", 403),
        ("Referer: http://evil.example/page\r\n", 403),
        (
            "Origin: http://evil.example\r\nReferer: http://localhost:8005/room\r\n",
            403,
        ),
        ("Referer: http://localhost:8005/room/x\r\n", 200),
        ("Origin: http://localhost:8005\r\n", 200),
        ("", 200),
    ];
    for (headers, status) in cases {
        let mut client = Client::new(config());
        let headers = format!("{headers}Content-Type: application/x-www-form-urlencoded\r\n");
        client.send(&request("POST", &path, &headers, b"chat=hi"));
        if status == 200 {
            client.take_request();
            client.answer(ChatAnswer::Posted(text_chat(room_id(8), "hi")));
        } else {
            assert!(client.requests.is_empty(), "{headers}");
        }
        let response = client.take_response();
        assert_eq!(response.status, status, "{headers}");
        if status == 403 {
            assert!(response.json()["error"].is_string());
        }
    }
    // The create form answers with a page.
    let mut client = Client::new(config());
    client.send(&request(
        "POST",
        "/room",
        "Origin: https://evil.example\r\n",
        b"title=x",
    ));
    assert!(client.requests.is_empty());
    let page = client.take_response();
    assert_eq!(page.status, 403);
    assert!(page.text().contains("Forbidden"));

    // A listed origin is let in, beside the host's own.
    let mut config = config();
    config.origins = "https://chat.example".parse::<OriginPolicy>().unwrap();
    let mut client = Client::new(config);
    client.send(&request(
        "POST",
        "/room",
        "Origin: https://chat.example\r\n",
        b"title=x",
    ));
    assert_eq!(client.requests.len(), 1);
}

#[test]
fn pipelined_requests_wait_for_the_chat_answer_and_are_answered_in_order() {
    let mut client = Client::new(config());
    let mut bytes = request("GET", "/rooms", "", b"");
    bytes.extend_from_slice(&request("GET", "/", "", b""));
    bytes.extend_from_slice(&request("HEAD", "/room", "", b""));
    client.send(&bytes);
    assert!(client.written.is_empty(), "the page waits behind the rooms");
    assert_eq!(client.requests.len(), 1);
    client.take_request();
    client.answer(ChatAnswer::Rooms(Vec::new()));
    let responses = parse_responses(&client.take_written(), &[false, false, true]);
    let statuses: Vec<u16> = responses.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 200, 200]);
    assert!(
        responses[1].text().contains("F12를 눌러"),
        "the seed's page"
    );
    assert_eq!(
        responses[1].header("Set-Cookie"),
        None,
        "S14: not on the seed's page"
    );
    assert!(responses[2].body.is_empty(), "HEAD");
    assert_ne!(responses[2].header("Content-Length"), Some("0"));
}

#[test]
fn head_gets_the_get_answer_without_its_body() {
    let mut client = Client::new(config());
    client.send(&request("HEAD", "/rooms", "", b""));
    assert_eq!(client.take_request().action, ChatAction::ListRooms);
    client.answer(ChatAnswer::Rooms(vec![room(1, true)]));
    let head = client.take_head_response();
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    let length: usize = head.header("Content-Length").unwrap().parse().unwrap();
    assert!(length > 0);
    assert!(client.log.iter().any(|l| l.starts_with("HEAD /rooms 200 ")));

    // The connection is still in step: a GET after it is answered.
    client.send(&request("GET", "/", "", b""));
    assert_eq!(client.take_response().status, 200);
}

#[test]
fn engine_io_requests_carry_the_visitor_of_a_valid_cookie_only() {
    let (id, cookie) = visitor_cookie();
    for (cookie, expected) in [
        (format!("Cookie: {cookie}\r\n"), Some(id.clone())),
        (format!("Cookie: {}\r\n", cookie_for(&id, "x")), None),
        (String::new(), None),
    ] {
        let mut client = Client::new(config());
        client.send(&request(
            "GET",
            "/socket.io/?EIO=4&transport=polling",
            &cookie,
            b"",
        ));
        match client.conn.poll_hub_call() {
            Some(HubCall::Request { visitor, .. }) => assert_eq!(visitor, expected),
            other => panic!("{other:?}"),
        }
        assert!(
            client.requests.is_empty(),
            "no session is made for Engine.IO"
        );
    }
}

#[test]
fn a_hub_that_does_not_answer_in_time_gets_the_visitor_a_503() {
    // Through the testing driver, which checks the runtime contract after every step.
    let mut config = config();
    config.chat_answer_timeout = Duration::from_secs(2);
    let mut driver = Driver::new(config);
    driver.send(&request("GET", "/rooms", "", b""));
    assert!(driver.conn().awaits_chat_io());
    assert!(driver.take_written().is_empty());
    driver.advance(Duration::from_millis(1999));
    assert!(driver.take_written().is_empty());
    driver.advance(Duration::from_millis(1));
    let response = parse_responses(&driver.take_written(), &[]).remove(0);
    assert_eq!(response.status, 503);
    assert_eq!(response.header("Connection"), Some("close"));
    assert!(driver
        .log_lines()
        .iter()
        .any(|l| l.starts_with("GET /rooms 503 ")));
    assert!(!driver.conn().awaits_chat_io());

    // A late answer finds the connection gone.
    let mut client = Client::new(config_with_timeout(Duration::from_secs(2)));
    client.send(&request("GET", "/rooms", "", b""));
    client.take_request();
    client.now += Duration::from_secs(2);
    client.conn.handle_timeout(client.now);
    client.pump();
    assert_eq!(client.take_response().status, 503);
    client.answer(ChatAnswer::Rooms(Vec::new()));
    assert!(client.take_written().is_empty());
}

fn config_with_timeout(timeout: Duration) -> gif_chat_core::Config {
    let mut config = config();
    config.chat_answer_timeout = timeout;
    config
}

#[test]
fn a_stop_lets_the_chat_answer_go_out_then_closes() {
    let mut client = Client::new(config());
    client.send(&request("GET", "/rooms", "", b""));
    client.take_request();
    client.conn.handle_shutdown(client.now);
    client.pump();
    assert!(!client.conn.is_closed());
    client.answer(ChatAnswer::Refused(ChatRefusal::Stopping));
    let response = client.take_response();
    assert_eq!(response.status, 503);
    assert_eq!(response.header("Connection"), Some("close"));
}
