//! Load generator and runtime comparison for gif-chat.
//!
//! `loadgen` puts one kind of load on a server (seed-like ticking pages, echo, connection churn,
//! keep-alive HTTP) and prints one JSON line of results, the server's memory and CPU included
//! when given its pid. `compare` builds every server, runs the same loads against each of them
//! (the three runtimes, the seed's Node app, a plain tokio-tungstenite server), and writes
//! BENCHMARKS.md with medians, ratios and charts.
//!
//! The client is hand-rolled on purpose (see [`proto`]): on a two-core machine it shares the
//! CPU with the server under test, so its own cost has to stay small and constant.

pub mod compare;
pub mod histogram;
pub mod load;
pub mod parent;
pub mod procstat;
pub mod proto;
pub mod report;
pub mod sio;
