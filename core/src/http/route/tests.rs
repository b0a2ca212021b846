use super::*;
use crate::http::request::Version;
use demo_page::PublicFile;

static CSS: &[u8] = b"body { color: red }";
static FILES: &[PublicFile] = &[
    PublicFile {
        path: "/css/main.css",
        body: CSS,
        modified_unix_secs: 1_700_000_000,
    },
    PublicFile {
        path: "/favicon.ico",
        body: b"\x00\x00\x01\x00",
        modified_unix_secs: 1_600_000_000,
    },
];

fn site() -> Site {
    Site::new(demo_page::INDEX_HTML, demo_page::ERROR_HTML, FILES)
}

fn request(method: &str, target: &str) -> RequestHead {
    RequestHead {
        method: method.to_owned(),
        target: target.to_owned(),
        version: Some(Version::Http11),
        ..RequestHead::default()
    }
}

fn get(target: &str) -> Response {
    route(&request("GET", target), &site(), AppEnv::Development)
}

fn body_text(response: &Response) -> String {
    String::from_utf8(response.body.as_bytes().to_vec()).unwrap()
}

#[test]
fn the_page() {
    let site = site();
    for target in ["/", "/?x=1"] {
        let r = get(target);
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
        assert_eq!(r.header("etag"), Some(site.index_etag.as_str()));
        assert_eq!(r.body.as_bytes(), site.index_html.as_bytes());
    }
    let head = route(&request("HEAD", "/"), &site, AppEnv::Development);
    assert_eq!(head.status, 200);
    assert_eq!(head.content_length(), Some(site.index_html.len()));
}

#[test]
fn the_page_answers_304_to_a_matching_if_none_match() {
    let site = site();
    let etag = site.index_etag.clone();
    let opaque = etag.trim_start_matches("W/").to_owned();
    for (inm, status) in [
        (etag.clone(), 304),
        (opaque, 304),
        ("*".to_owned(), 304),
        (format!("\"other\", {etag}"), 304),
        (format!("\"other\",{etag} , W/\"x\""), 304),
        ("\"other\"".to_owned(), 200),
        ("W/\"other\"".to_owned(), 200),
        (String::new(), 200),
    ] {
        let mut head = request("GET", "/");
        head.if_none_match = Some(inm.clone());
        let r = route(&head, &site, AppEnv::Development);
        assert_eq!(r.status, status, "{inm}");
        if status == 304 {
            assert_eq!(r.header("etag"), Some(etag.as_str()));
            assert_eq!(r.header("content-type"), None);
            assert_eq!(r.body, Body::Empty);
            assert_eq!(r.content_length(), None);
        }
    }
    // The page has no Last-Modified, so a date alone never makes it fresh.
    let mut head = request("GET", "/");
    head.if_modified_since = Some("Fri, 01 Jan 2100 00:00:00 GMT".to_owned());
    assert_eq!(route(&head, &site, AppEnv::Development).status, 200);
}

#[test]
fn static_files_like_express_static() {
    let r = get("/css/main.css");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/css; charset=utf-8"));
    assert_eq!(r.header("cache-control"), Some("public, max-age=0"));
    assert_eq!(r.header("etag"), Some("W/\"13-18bcfe56800\""));
    assert_eq!(
        r.header("last-modified"),
        Some("Tue, 14 Nov 2023 22:13:20 GMT")
    );
    assert_eq!(r.body.as_bytes(), CSS);
    assert_eq!(r.header("set-cookie"), None);
    let r = get("/favicon.ico?v=2");
    assert_eq!(
        (r.status, r.header("content-type")),
        (200, Some("image/x-icon"))
    );
    let head = route(
        &request("HEAD", "/css/main.css"),
        &site(),
        AppEnv::Development,
    );
    assert_eq!((head.status, head.content_length()), (200, Some(CSS.len())));
    // The embedded demo favicon is served too.
    let demo = route(
        &request("GET", "/favicon.ico"),
        &Site::demo(),
        AppEnv::Production,
    );
    assert_eq!(demo.status, 200);
}

#[test]
fn static_files_answer_304() {
    let last_modified = "Tue, 14 Nov 2023 22:13:20 GMT";
    let cases: [(Option<&str>, Option<&str>, u16); 8] = [
        (Some("W/\"13-18bcfe56800\""), None, 304),
        (Some("\"13-18bcfe56800\""), None, 304),
        (Some("\"nope\""), None, 200),
        // If-None-Match decides when present, whatever the date says.
        (Some("\"nope\""), Some(last_modified), 200),
        (None, Some(last_modified), 304),
        (None, Some("Wed, 15 Nov 2023 00:00:00 GMT"), 304),
        (None, Some("Tue, 14 Nov 2023 22:13:19 GMT"), 200),
        (None, Some("not a date"), 200),
    ];
    for (inm, ims, status) in cases {
        let mut head = request("GET", "/css/main.css");
        head.if_none_match = inm.map(str::to_owned);
        head.if_modified_since = ims.map(str::to_owned);
        let r = route(&head, &site(), AppEnv::Development);
        assert_eq!(r.status, status, "{inm:?} {ims:?}");
        if status == 304 {
            assert_eq!(r.header("etag"), Some("W/\"13-18bcfe56800\""));
            assert_eq!(r.header("last-modified"), Some(last_modified));
            assert_eq!(r.header("content-type"), None);
            assert!(r.body.is_empty());
        }
    }
}

#[test]
fn other_methods_and_paths_are_404() {
    for (method, target) in [
        ("POST", "/"),
        ("PUT", "/css/main.css"),
        ("DELETE", "/favicon.ico"),
        ("OPTIONS", "*"),
        ("GET", "/nope"),
        ("GET", "/css"),
        ("GET", "/css/"),
        ("GET", "//"),
        ("GET", "/FAVICON.ICO"),
        ("GET", "/./favicon.ico"),
    ] {
        let r = route(&request(method, target), &site(), AppEnv::Development);
        assert_eq!(r.status, 404, "{method} {target}");
        assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
        assert!(body_text(&r).contains("Not Found"));
    }
}

#[test]
fn traversal_is_refused() {
    for target in [
        "/../Cargo.toml",
        "/%2e%2e/x",
        "/%2E%2E/Cargo.toml",
        "/..%2fx",
        "/%2e%2e%2f",
        "/css%2fmain.css",
        "/css%2Fmain.css",
        "/css%5cmain.css",
        "/favicon.ico%00",
        "/public/../x",
        "/css/../favicon.ico",
        "/css/..",
        "\\..\\",
        "/\\..\\favicon.ico",
        "/%5c..%5cfavicon.ico",
    ] {
        assert_eq!(get(target).status, 404, "{target}");
    }
}

#[test]
fn malformed_encoding_is_400() {
    for target in ["/%", "/%2", "/%zz", "/%c3%28", "/favicon.ico%"] {
        let r = get(target);
        assert_eq!(r.status, 400, "{target}");
        assert!(body_text(&r).contains("Bad Request"));
    }
    // Well-formed encoding of a real name is decoded and served.
    assert_eq!(get("/css/main%2ecss").status, 200);
    assert_eq!(get("/%63ss/main.css").status, 200);
}

#[test]
fn error_pages_escape_what_they_show() {
    let r = get("/<script>alert('x')</script>&\"");
    let text = body_text(&r);
    assert_eq!(r.status, 404);
    assert!(!text.contains("<script>"), "{text}");
    assert!(text.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"));
    assert!(text.contains("NotFoundError: Not Found\n    at GET /&lt;script&gt;"));
    assert!(text.contains("<h2>404</h2>"));
}

#[test]
fn placeholders_in_the_input_stay_literal() {
    let text = body_text(&get("/{{detail}}{{message}}"));
    assert!(text.contains("at GET /{{detail}}{{message}}"), "{text}");
    assert_eq!(text.matches("NotFoundError").count(), 1);
}

#[test]
fn production_shows_only_the_message() {
    let r = route(&request("GET", "/secret-path"), &site(), AppEnv::Production);
    let text = body_text(&r);
    assert_eq!(r.status, 404);
    assert!(text.contains("<h1>Not Found</h1>"));
    assert!(text.contains("<h2></h2>"));
    assert!(!text.contains("secret-path"));
    assert!(!text.contains("404"));
}

#[test]
fn error_response_for_any_status() {
    let r = error_response(500, "Error: boom <b>", &site(), AppEnv::Development);
    let text = body_text(&r);
    assert_eq!(r.status, 500);
    assert!(text.contains("<title>Internal Server Error</title>"));
    assert!(text.contains("<pre>Error: boom &lt;b&gt;</pre>"));
    assert_eq!(r.header("set-cookie"), None);
    assert_eq!(r.content_length(), Some(text.len()));
}

#[test]
fn render_fills_known_placeholders_once() {
    let value = |name: &str| match name {
        "a" => Some("<1>"),
        "b" => Some("{{a}}"),
        _ => None,
    };
    assert_eq!(
        render("x{{a}}y{{ b }}z{{c}}{{", value),
        "x&lt;1&gt;y{{a}}z{{c}}{{"
    );
    assert_eq!(render("no placeholders", value), "no placeholders");
}
