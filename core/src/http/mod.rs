//! HTTP/1.1 as the seed's Express app speaks it: request heads (httparse), bodies that are read
//! and thrown away so keep-alive stays in step, routing to the page, `public/` files and error
//! pages, the WebSocket upgrade handshake, and the chat's routes (SPEC §6).

pub mod body;
pub mod chat;
pub mod error;
pub mod handshake;
pub mod request;
pub mod response;
pub mod route;

pub use body::BodyDecoder;
pub use chat::ChatRoute;
pub use error::HttpError;
pub use handshake::{accept_upgrade_for, Endpoint};
pub use request::{parse_request, HttpLimits, RequestHead};
pub use route::{error_response, route};
