//! Routing: the page, `public/` files, and error pages (S2, S11, S12, S13).

use super::{RequestHead, Response};
use crate::config::AppEnv;
use crate::site::Site;

/// Answers a plain (non-upgrade) request.
pub fn route(head: &RequestHead, site: &Site, env: AppEnv) -> Response {
    let _ = (head, site, env);
    todo!()
}

/// The error page for `status` (Express's error handler): message always; status and `detail`
/// only in development. Text is HTML-escaped.
pub fn error_response(status: u16, detail: &str, site: &Site, env: AppEnv) -> Response {
    let _ = (status, detail, site, env);
    todo!()
}
