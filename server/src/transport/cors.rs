//! CORS for `/rpc` and `/files` (API.md §6.3): requests from an allowed `Origin` get
//! `Access-Control-Allow-Origin: <origin>` and `Vary: Origin`; `OPTIONS` preflight answers 204; a request with a
//! disallowed `Origin` is refused with 403 `origin_not_allowed`. Requests without `Origin` pass untouched.

use crate::app::AppState;
use crate::transport::http_error::http_error;
use crate::transport::limits::origin_allowed;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

const ALLOW_METHODS: &str = "GET, HEAD, POST";
const ALLOW_HEADERS: &str = "Authorization, X-API-Key, Content-Type, Range";
const EXPOSE_HEADERS: &str = "Content-Range, Content-Disposition, Content-Length, ETag";

pub async fn cors(State(app): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let Some(origin) = request.headers().get(header::ORIGIN).cloned() else {
        return next.run(request).await;
    };
    if !origin_allowed(request.headers(), &app.config.server) {
        return http_error(StatusCode::FORBIDDEN, "origin_not_allowed", "Origin not allowed");
    }
    let mut response = if request.method() == Method::OPTIONS {
        let mut preflight = StatusCode::NO_CONTENT.into_response();
        let headers = preflight.headers_mut();
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(ALLOW_METHODS),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(ALLOW_HEADERS),
        );
        headers.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
        preflight
    } else {
        next.run(request).await
    };
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.insert(header::VARY, HeaderValue::from_static("Origin"));
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(EXPOSE_HEADERS),
    );
    response
}
