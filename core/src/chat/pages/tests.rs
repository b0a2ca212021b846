//! The pages' required elements (SPEC C1–C3, C9) and their escaping, read from the markup.

use super::*;
use crate::chat::{ChatId, ChatText, GifName, RoomId, Title, UnixMillis};

const RED: Colour = Colour::from_rgb([0xff, 0, 0]);
const GREEN: Colour = Colour::from_rgb([0, 0x80, 0]);
const BLUE: Colour = Colour::from_rgb([0, 0, 0xff]);
const SCRIPT: &str = "<script>alert(\"x\")</script>";

fn room(title: &str, has_password: bool) -> Room {
    Room {
        id: RoomId::from_random([7; 16]),
        title: Title::new(title).unwrap_or_else(|e| panic!("{e}")),
        max: RoomMax::new(4).unwrap_or_else(|e| panic!("{e}")),
        owner_colour: RED,
        has_password,
        created_at: UnixMillis(0),
    }
}

fn line(id: i64, user: Author, kind: ChatKind) -> Chat {
    Chat {
        id: ChatId(id),
        room: RoomId::from_random([7; 16]),
        user,
        kind,
        created_at: UnixMillis(1_700_000_000_000),
    }
}

fn text(text: &str) -> ChatText {
    ChatText::new(text).unwrap_or_else(|e| panic!("{e}"))
}

/// Asserts each fragment is in the page, naming the first missing one.
fn assert_has(page: &str, fragments: &[&str]) {
    for fragment in fragments {
        assert!(page.contains(fragment), "missing {fragment:?} in:\n{page}");
    }
}

/// Every placeholder and slot was filled: a template that names something the page function
/// does not give would otherwise show `{{name}}` to visitors.
fn assert_filled(page: &str) {
    assert!(!page.contains("{{"), "an unfilled placeholder in:\n{page}");
    assert!(!page.contains("<!--slot:"), "an unfilled slot in:\n{page}");
}

#[test]
fn the_room_list_has_every_element_of_c1() {
    let id = RoomId::from_random([7; 16]);
    let page = rooms_page(&[room("수다방", false), room("비밀 얘기", true)], None);
    assert_filled(&page);
    assert_has(
        &page,
        &[
            "<title>GIF 채팅방</title>",
            "<table id=\"room-list\">",
            "<th>방 제목</th>",
            "<th>종류</th>",
            "<th>허용 인원</th>",
            "<th>방장</th>",
            "<td class=\"room-title\">수다방</td><td class=\"room-kind\">공개방</td>",
            "<td class=\"room-title\">비밀 얘기</td><td class=\"room-kind\">비밀방</td>",
            "<td class=\"room-max\">4</td>",
            "<td class=\"room-owner\" style=\"color: #ff0000\">#ff0000</td>",
            &format!("<tr data-id=\"{id}\">"),
            &format!(
                "<button type=\"button\" class=\"join-btn\" data-id=\"{id}\" data-password=\"false\">입장</button>"
            ),
            "data-password=\"true\">입장</button>",
            "<a id=\"create-link\" class=\"button\" href=\"/room\">채팅방 생성</a>",
            "<script type=\"module\" src=\"/rooms.js\"></script>",
            "<p id=\"error\" class=\"error\" role=\"alert\"></p>",
        ],
    );
    assert_eq!(page.matches("class=\"join-btn\"").count(), 2);
}

#[test]
fn the_room_list_shows_the_error_escaped() {
    let page = rooms_page(&[], Some("존재하지 않는 방입니다."));
    assert_has(
        &page,
        &["<p id=\"error\" class=\"error\" role=\"alert\">존재하지 않는 방입니다.</p>"],
    );
    let page = rooms_page(&[], Some(SCRIPT));
    assert!(!page.contains(SCRIPT));
    assert_has(
        &page,
        &["&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"],
    );
    assert!(!page.contains("<tr data-id"));
}

#[test]
fn a_title_is_text_in_every_page() {
    let hostile = room(SCRIPT, true);
    let escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;";
    for page in [
        rooms_page(std::slice::from_ref(&hostile), None),
        password_page(&hostile, None),
        room_page(&hostile, &[], BLUE),
        create_page(None, SCRIPT, "4"),
    ] {
        assert_filled(&page);
        assert!(!page.contains(SCRIPT), "{page}");
        // The page's own scripts are its only `<script` tags.
        assert!(page.matches("<script").count() <= 1, "{page}");
        assert_has(&page, &[escaped]);
    }
}

#[test]
fn the_create_form_has_every_element_of_c2() {
    let page = create_page(None, "", "");
    assert_filled(&page);
    assert_has(
        &page,
        &[
            "<title>GIF 채팅방 생성</title>",
            "<h1>GIF 채팅방 생성</h1>",
            "<form id=\"room-form\" action=\"/room\" method=\"post\">",
            "<input id=\"title\" name=\"title\" value=\"\"",
            "required maxlength=\"50\"",
            "<input id=\"max\" name=\"max\" type=\"number\" value=\"10\" min=\"2\" max=\"10\" required>",
            "<input id=\"password\" name=\"password\" type=\"password\"",
            "<button type=\"submit\">생성</button>",
            "<p id=\"error\" class=\"error\" role=\"alert\"></p>",
        ],
    );
}

#[test]
fn a_refused_form_comes_back_with_the_reason_and_the_values_but_no_password() {
    let page = create_page(Some("방 제목은 1~50자입니다."), "a \"quoted\" <b>", "11");
    assert_filled(&page);
    assert_has(
        &page,
        &[
            "<p id=\"error\" class=\"error\" role=\"alert\">방 제목은 1~50자입니다.</p>",
            "name=\"title\" value=\"a &quot;quoted&quot; &lt;b&gt;\"",
            "type=\"number\" value=\"11\"",
        ],
    );
    let password_input = page
        .lines()
        .find(|l| l.contains("name=\"password\""))
        .unwrap_or_default();
    assert!(!password_input.contains("value="), "{password_input}");
}

#[test]
fn the_password_form_posts_to_the_room() {
    let private = room("비밀 얘기", true);
    let id = private.id;
    let page = password_page(&private, None);
    assert_filled(&page);
    assert_has(
        &page,
        &[
            "<h1 id=\"room-title\">비밀 얘기</h1>",
            &format!("<form id=\"password-form\" action=\"/room/{id}\" method=\"post\">"),
            "<input id=\"password\" name=\"password\" type=\"password\" required",
            "<p id=\"error\" class=\"error\" role=\"alert\"></p>",
            "<a id=\"rooms-link\" href=\"/rooms\">",
        ],
    );
    assert!(!page.contains("method=\"get\""));
    let wrong = password_page(&private, Some("비밀번호가 틀렸습니다."));
    assert_has(
        &wrong,
        &["<p id=\"error\" class=\"error\" role=\"alert\">비밀번호가 틀렸습니다.</p>"],
    );
}

#[test]
fn the_room_page_has_every_element_of_c3_and_c9() {
    let open = room("수다방", false);
    let id = open.id;
    let page = room_page(&open, &[], BLUE);
    assert_filled(&page);
    assert_has(
        &page,
        &[
            "<title>수다방 - GIF 채팅방</title>",
            "<h1 id=\"room-title\">수다방</h1>",
            "<a id=\"exit-btn\" class=\"button\" href=\"/rooms\">방 나가기</a>",
            "<div id=\"chat-list\"",
            &format!("<form id=\"chat-form\" action=\"/room/{id}/chat\" method=\"post\">"),
            "<input id=\"chat\" name=\"chat\"",
            "<input id=\"gif\" name=\"gif\" type=\"file\"",
            "<select id=\"whisper-to\"",
            "<ul id=\"member-list\"></ul>",
            "<span id=\"member-count\">0</span>명 / 4명",
            "<p id=\"chat-error\" class=\"error\" role=\"alert\"></p>",
            &format!("data-room-id=\"{id}\" data-me=\"#0000ff\" data-owner=\"#ff0000\""),
            "<script type=\"module\" src=\"/room.js\"></script>",
        ],
    );
}

#[test]
fn the_history_shows_mine_others_and_system_lines() {
    let history = [
        line(
            1,
            Author::System,
            ChatKind::System("#ff0000님이 입장하셨습니다.".into()),
        ),
        line(2, Author::Visitor(BLUE), ChatKind::Text(text("안녕"))),
        line(3, Author::Visitor(RED), ChatKind::Text(text("반가워"))),
        line(
            4,
            Author::Visitor(RED),
            ChatKind::Gif(GifName::parse("abc_1.gif").unwrap_or_else(|| panic!("a name"))),
        ),
    ];
    let page = room_page(&room("수다방", false), &history, BLUE);
    assert_has(
        &page,
        &[
            "<div class=\"system\" data-id=\"1\"><div class=\"chat\">#ff0000님이 입장하셨습니다.</div></div>",
            "<div class=\"mine\" data-id=\"2\" data-user=\"#0000ff\" style=\"color: #0000ff\"><div class=\"user\">#0000ff</div><div class=\"chat\">안녕</div></div>",
            "<div class=\"other\" data-id=\"3\" data-user=\"#ff0000\" style=\"color: #ff0000\"><div class=\"user\">#ff0000</div><div class=\"chat\">반가워</div></div>",
            "<div class=\"other\" data-id=\"4\" data-user=\"#ff0000\" style=\"color: #ff0000\"><div class=\"user\">#ff0000</div><img class=\"gif\" src=\"/gif/abc_1.gif\" alt=\"GIF\"></div>",
        ],
    );
    // In the order given.
    let at = |needle: &str| page.find(needle).unwrap_or(usize::MAX);
    assert!(at("data-id=\"1\"") < at("data-id=\"2\""));
    assert!(at("data-id=\"3\"") < at("data-id=\"4\""));
}

#[test]
fn a_chat_is_text_never_markup() {
    let history = [line(
        9,
        Author::Visitor(RED),
        ChatKind::Text(text("</div><script>alert(1)</script>")),
    )];
    let page = room_page(&room("수다방", false), &history, BLUE);
    assert!(!page.contains("alert(1)</script>"));
    assert_has(
        &page,
        &["<div class=\"chat\">&lt;/div&gt;&lt;script&gt;alert(1)&lt;/script&gt;</div>"],
    );
    assert_eq!(page.matches("<script").count(), 1);
}

#[test]
fn a_whisper_shows_to_its_author_and_target_only() {
    let whisper = line(
        5,
        Author::Visitor(RED),
        ChatKind::Whisper {
            to: BLUE,
            text: text("비밀이야"),
        },
    );
    let open = room("수다방", false);
    let history = std::slice::from_ref(&whisper);
    let to_target = room_page(&open, history, BLUE);
    assert_has(
        &to_target,
        &["<div class=\"other whisper\" data-id=\"5\" data-user=\"#ff0000\" style=\"color: #ff0000\"><div class=\"user\">#ff0000 → #0000ff (귓속말)</div><div class=\"chat\">비밀이야</div></div>"],
    );
    let to_author = room_page(&open, history, RED);
    assert_has(
        &to_author,
        &["<div class=\"mine whisper\" data-id=\"5\"", "비밀이야"],
    );
    let to_someone_else = room_page(&open, history, GREEN);
    assert!(!to_someone_else.contains("비밀이야"));
    assert!(!to_someone_else.contains("data-id=\"5\""));
}

#[test]
fn slots_take_markup_and_placeholders_take_text() {
    let page = fill(
        "<p>{{a}}</p><!--slot:s--><i>{{a}}</i><!--slot:unknown--><!--slot:open",
        |name| (name == "a").then_some("<!--slot:s-->{{a}}"),
        |slot| (slot == "s").then_some("<b>{{a}}</b>"),
    );
    assert_eq!(
        page,
        "<p>&lt;!--slot:s--&gt;{{a}}</p><b>{{a}}</b><i>&lt;!--slot:s--&gt;{{a}}</i>\
         <!--slot:unknown--><!--slot:open"
    );
}
