//! The shared hub between connections of one process, driven by hand as the runtimes' tasks
//! drive it: one connection's input wakes another's session through the registry.

use std::sync::Arc;
use std::time::Instant;

use gif_chat_core::Config;
use gif_chat_io::{HubLink, SharedHub};

#[path = "support/connection.rs"]
mod support;
use support::{body, connection, open_polling, written};

/// A GET parked on one connection is woken (flag and token) by a POST on another, and
/// answered by its own exchange; its registration goes when it is answered.
#[test]
fn a_post_on_one_connection_wakes_the_get_parked_on_another() {
    let mut config = Config::new();
    config.hub.conformance = true;
    let config = Arc::new(config);
    let hub = SharedHub::new(&config, None, true).expect("the OS random source");

    let mut getter = connection(&config);
    let mut link = HubLink::new();
    let sid = open_polling(&hub, &mut getter, &mut link, 7, "/engine.io/");
    let get =
        format!("GET /engine.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: a\r\n\r\n");
    getter.handle_input(Instant::now(), get.as_bytes());
    hub.exchange(&mut getter, &mut link, 7);
    assert_eq!(written(&mut getter), "", "parked");
    assert!(link.is_registered());
    let listener = link.listen();
    assert!(listener.is_some());

    let mut poster = connection(&config);
    let mut poster_link = HubLink::new();
    let post = format!(
        "POST /engine.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: a\r\n\
         Content-Length: 6\r\n\r\n4hello"
    );
    poster.handle_input(Instant::now(), post.as_bytes());
    hub.exchange(&mut poster, &mut poster_link, 8);
    assert_eq!(body(&written(&mut poster)), "ok");
    assert!(!poster_link.is_registered());

    assert!(link.is_woken());
    assert_eq!(hub.take_woken_tokens(), [7]);
    hub.exchange(&mut getter, &mut link, 7);
    assert_eq!(body(&written(&mut getter)), "4hello");
    assert!(!link.is_registered());
    assert!(!link.is_woken());
}
