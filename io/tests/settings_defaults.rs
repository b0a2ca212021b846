//! Settings read from an empty environment and no `.env` file give SPEC.md's defaults (port
//! 8005, host `::`, ticks every 3000 ms) and the core's default configuration.
//!
//! This is the only test in its process: it clears the settings variables from the environment
//! and changes the working directory, which no other test may see.

use std::net::{IpAddr, Ipv6Addr};
use std::time::Duration;

use clap::CommandFactory as _;
use gif_chat_core::Config;
use gif_chat_io::settings::defaults;
use gif_chat_io::Settings;

#[test]
fn an_empty_environment_gives_the_defaults() {
    for arg in Settings::command().get_arguments() {
        if let Some(name) = arg.get_env() {
            std::env::remove_var(name);
        }
    }
    assert!(std::env::var_os("PORT").is_none(), "PORT is one of them");
    // No `.env` here or above: a fresh directory under the system's temporary directory.
    let empty = tempfile::tempdir().expect("a temporary directory");
    std::env::set_current_dir(empty.path()).expect("enter it");

    let settings = Settings::try_load_from(["gif-chat"]).expect("no arguments are valid");
    assert_eq!(settings.port, 8005);
    assert_eq!(settings.host, IpAddr::V6(Ipv6Addr::UNSPECIFIED));
    assert_eq!(settings.tick_interval_ms, 3000);
    assert_eq!(settings.port, defaults::PORT);
    assert_eq!(settings.host, defaults::HOST);
    assert!(settings.dual_stack());
    assert_eq!(settings.shutdown_timeout(), Duration::from_secs(5));

    // The settings' defaults and the core's `Config::new` (used by tests and embedders) agree.
    let config = settings.to_config(false).expect("the defaults are valid");
    let core = Config::new();
    assert_eq!(config.tick_interval, Duration::from_millis(3000));
    assert_eq!(config.tick_interval, core.tick_interval);
    assert_eq!(config.ping_interval, core.ping_interval);
    assert_eq!(config.close_timeout, core.close_timeout);
    assert_eq!(config.header_timeout, core.header_timeout);
    assert_eq!(config.keep_alive_timeout, core.keep_alive_timeout);
    assert_eq!(config.max_message_bytes, core.max_message_bytes);
    assert_eq!(config.max_body_bytes, core.max_body_bytes);
    assert_eq!(config.high_water_mark, core.high_water_mark);
    assert_eq!(
        config.http_limits.max_header_bytes,
        core.http_limits.max_header_bytes
    );
    assert_eq!(config.http_limits.max_headers, core.http_limits.max_headers);
    assert_eq!(config.app_env, core.app_env);
    // The Socket.IO settings too (HubConfig::new, from the same constants).
    assert_eq!(config.hub, core.hub);
    assert!(!config.hub.conformance);
    assert_eq!(
        config.hub.engine.ping_interval,
        Duration::from_millis(25_000)
    );
    assert_eq!(
        config.hub.socketio.recovery.as_ref().map(|r| r.window),
        Some(Duration::from_millis(120_000))
    );
    // A missing COOKIE_SECRET only warns.
    assert_eq!(settings.warnings().len(), 1);
}
