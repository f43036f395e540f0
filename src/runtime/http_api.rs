//! The HTTP API. For now: `GET /api/calls/{id}`, the call record (summary,
//! transcript, decisions) that an agent's phone finds in the INVITE's
//! Call-Info header. The supervisor board grows from here.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use serde_json::json;
use tokio::net::TcpListener;

use crate::runtime::engine::SharedEngine;

/// Binds the API and serves it in the background; returns where it listens.
pub async fn start(engine: SharedEngine, addr: SocketAddr) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let app = Router::new()
        .route("/api/calls/{id}", get(get_call))
        .with_state(engine);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!("HTTP API stopped: {e}");
        }
    });
    Ok(local)
}

async fn get_call(State(engine): State<SharedEngine>, Path(id): Path<String>) -> Response {
    let found = tokio::task::spawn_blocking(move || engine.get_call(&id)).await;
    match found {
        Ok(Ok(Some(record))) => Json(record).into_response(),
        Ok(Ok(None)) => (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": "no call with this id" })),
        )
            .into_response(),
        Ok(Err(e)) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({ "error": e.to_string() })),
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
