//! The HTTP server of `ivr serve`: the JSON API under `/api` (every route
//! but login needs a session, see `http_auth`) and the Prometheus metrics.
//! Each group of routes has its own file: `http_auth`, `http_calls`,
//! `http_board`, `http_metrics`; the pages are `http_pages`.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef};
use axum::routing::{get, post};
use tokio::net::TcpListener;

use crate::auth::Users;
use crate::runtime::engine::SharedEngine;
use crate::runtime::http_auth::{self, AuthState};
use crate::runtime::http_calls;
use crate::runtime::http_json::{ApiError, MAX_BODY_BYTES};
use crate::runtime::{http_board, http_metrics, http_pages};

/// What every handler can reach.
#[derive(Clone)]
pub struct ApiState {
    pub engine: SharedEngine,
    pub auth: Arc<AuthState>,
}

impl FromRef<ApiState> for SharedEngine {
    fn from_ref(state: &ApiState) -> SharedEngine {
        state.engine.clone()
    }
}

impl FromRef<ApiState> for Arc<AuthState> {
    fn from_ref(state: &ApiState) -> Arc<AuthState> {
        state.auth.clone()
    }
}

/// The whole application, ready to serve.
pub fn app(engine: SharedEngine, users: Users) -> Router {
    let state = ApiState {
        engine,
        auth: Arc::new(AuthState::new(users)),
    };
    let api = Router::new()
        .route("/login", post(http_auth::login))
        .route("/logout", post(http_auth::logout))
        .route("/me", get(http_auth::me))
        .route("/calls", get(http_calls::search))
        .route("/calls/{id}", get(http_calls::detail))
        .route("/calls/{id}/recording/{side}", get(http_calls::recording))
        .route("/calls/{id}/disposition", post(http_calls::disposition))
        .route("/calls/{id}/move", post(http_board::move_caller))
        .route("/calls/{id}/front", post(http_board::to_front))
        .route("/calls/{id}/end", post(http_board::end_call))
        .route(
            "/calls/{id}/listen",
            post(crate::runtime::http_listen::listen),
        )
        .route("/agents/{id}/state", post(http_board::agent_state))
        .route("/board", get(http_board::board))
        .route("/events", get(http_board::events))
        .fallback(|| async { ApiError::not_found("no such API route") });
    Router::new()
        .nest("/api", api)
        .route("/metrics", get(http_metrics::metrics))
        .merge(http_pages::page_routes())
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// Binds the HTTP server and serves it in the background; returns where it
/// listens. `users` may log in to the API.
pub async fn start(
    engine: SharedEngine,
    addr: SocketAddr,
    users: Users,
) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let app = app(engine, users);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!("HTTP server stopped: {e}");
        }
    });
    Ok(local)
}
