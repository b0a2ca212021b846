//! The Redis bridge: how an instance's broadcasts, room subscriptions and incoming cluster
//! messages travel through Redis (SPEC M1–M3, issue 11), shared by the three runtimes.
//!
//! What to send is decided by the sans-IO core (`gif_chat_core::cluster::ClusterNode`: which
//! channels to `SSUBSCRIBE`, which payloads to `SPUBLISH` where, what a received payload means);
//! this module only carries it. It runs on a thread of its own with a current-thread tokio
//! runtime, so a runtime's event loops never wait on Redis: they enqueue ([`RedisBridge::publish`],
//! [`RedisBridge::subscription`]) and return at once, and received messages come back through a
//! callback on the bridge's thread.
//!
//! The client is redis-rs's multiplexed connection in RESP3, where one socket carries both the
//! sharded subscriptions (their messages arrive as pushes) and the `SPUBLISH`es, pipelined in
//! batches so that order is kept and a burst costs one round trip.
//!
//! - [`config`]: the URL and the timings ([`RedisConfig`]);
//! - [`backoff`]: the capped exponential delay between reconnection attempts;
//! - [`subscriptions`]: the set of channels wanted, which survives reconnections;
//! - [`bridge`]: the handle the rest of the process holds, and the queue into the thread;
//! - `recovery`: the commands on gif-chat's own recovery keys (SPEC M5), written in the
//!   publishes' pipeline, and the lookup a reconnecting client's CONNECT waits for;
//! - `worker`: the thread's loop: connect, subscribe, publish, deliver, and on a lost
//!   connection count what is lost, log it, and reconnect.

pub mod backoff;
pub mod bridge;
pub mod config;
mod recovery;
pub mod subscriptions;
mod traffic;
mod worker;

pub use backoff::Backoff;
pub use bridge::{check_url, BridgeEvent, RedisBridge, StartError};
pub use config::RedisConfig;
pub use subscriptions::Subscriptions;
