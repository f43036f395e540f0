//! `GET /metrics`: Prometheus text. Open without a login, like most
//! exporters, since it holds counts and timings only, no call content.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use crate::runtime::engine::SharedEngine;

/// Prometheus' text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4";

pub async fn metrics(State(engine): State<SharedEngine>) -> impl IntoResponse {
    let text = engine.metrics.render(&engine.live.snapshot());
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], text)
}
