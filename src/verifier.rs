//! The browser verifier: `/verify` and its static files (`static/verify/`), compiled into
//! the binary so the page works on a closed network. The page checks a bundle entirely in
//! the browser (`?bundle=<same-origin URL>` or a dropped file); nothing is sent back.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

const INDEX: &str = include_str!("../static/verify/index.html");
const VERIFY_JS: &str = include_str!("../static/verify/verify.js");
const NOBLE_JS: &str = include_str!("../static/verify/noble.js");
const CSS: &str = include_str!("../static/verify/verify.css");

/// Content Security Policy of the page: its own scripts only, no inline script, no
/// connection anywhere but this origin.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
}

/// The routes of the verifier page, for any router state.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route(
            "/verify",
            get(|| async { asset("text/html; charset=utf-8", INDEX) }),
        )
        .route(
            "/verify/verify.js",
            get(|| async { asset("text/javascript; charset=utf-8", VERIFY_JS) }),
        )
        .route(
            "/verify/noble.js",
            get(|| async { asset("text/javascript; charset=utf-8", NOBLE_JS) }),
        )
        .route(
            "/verify/verify.css",
            get(|| async { asset("text/css; charset=utf-8", CSS) }),
        )
}
