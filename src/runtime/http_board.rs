//! The live board over HTTP: the snapshot, the WebSocket event stream,
//! supervisors' actions on live calls and agents' state changes.

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Json, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;

use crate::auth::Action;
use crate::board::Snapshot;
use crate::runtime::engine::SharedEngine;
use crate::runtime::http_auth::{AuthState, Authed};
use crate::runtime::http_json::{ApiError, ApiResult, Body, parse_json};
use crate::runtime::supervise::{AgentChange, SuperviseError, SupervisorAction};

/// `GET /api/board`: every live call, queue and agent.
pub async fn board(
    State(engine): State<SharedEngine>,
    authed: Authed,
) -> ApiResult<Json<Snapshot>> {
    authed.require(Action::ReadBoard)?;
    Ok(Json(engine.live.snapshot()))
}

/// How often an open event stream checks that its session is still live.
const SESSION_CHECK: Duration = Duration::from_secs(5);

/// WebSocket close code for "policy violation": the session ended.
const CLOSE_SESSION_ENDED: u16 = 1008;

/// `GET /api/events`: a WebSocket; the first message is the board
/// (`{"type":"snapshot",...}`), then one message per change
/// (`BoardUpdate`: `call`, `call_gone`, `queue`, `agent`). A page that
/// falls behind is sent a fresh snapshot. The stream closes when its
/// session ends (logout, idle expiry).
pub async fn events(
    State(engine): State<SharedEngine>,
    State(auth): State<Arc<AuthState>>,
    authed: Authed,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> ApiResult<Response> {
    authed.require(Action::ReadBoard)?;
    if !same_origin(&headers) {
        // A page of another site must not read the board with this
        // browser's cookie.
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "the event stream is only open to pages of this server",
        ));
    }
    let upgrade = upgrade.map_err(|e| {
        ApiError::new(
            e.status(),
            format!("/api/events is a WebSocket: {}", e.body_text()),
        )
    })?;
    let token = authed.token().to_owned();
    Ok(upgrade.on_upgrade(move |socket| stream(socket, engine, auth, token)))
}

/// No `Origin` (not a browser) or one naming this server's host.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin_host = origin
        .to_str()
        .ok()
        .and_then(|o| o.split_once("://"))
        .map(|(_, rest)| rest.trim_end_matches('/'));
    matches!((origin_host, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h))
}

async fn stream(mut socket: WebSocket, engine: SharedEngine, auth: Arc<AuthState>, token: String) {
    let (snapshot, mut updates) = engine.live.subscribe();
    if send(&mut socket, snapshot_message(&snapshot))
        .await
        .is_err()
    {
        return;
    }
    let mut session_check = tokio::time::interval(SESSION_CHECK);
    session_check.tick().await;
    loop {
        tokio::select! {
            _ = session_check.tick() => {
                if !auth.is_live(&token) {
                    let close = CloseFrame {
                        code: CLOSE_SESSION_ENDED,
                        reason: "the session ended; log in again".into(),
                    };
                    let _ = socket.send(Message::Close(Some(close))).await;
                    break;
                }
            }
            update = updates.recv() => {
                let message = match update {
                    Ok(update) => serde_json::to_value(&*update).unwrap_or(Value::Null),
                    Err(RecvError::Lagged(_)) => {
                        let (snapshot, fresh) = engine.live.subscribe();
                        updates = fresh;
                        snapshot_message(&snapshot)
                    }
                    Err(RecvError::Closed) => break,
                };
                if send(&mut socket, message).await.is_err() {
                    break;
                }
            }
            incoming = socket.recv() => match incoming {
                // Pings are answered by axum; the page sends nothing else.
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                Some(Ok(_)) => {}
            },
        }
    }
}

fn snapshot_message(snapshot: &Snapshot) -> Value {
    let mut message = serde_json::to_value(snapshot).unwrap_or(Value::Null);
    if let Value::Object(fields) = &mut message {
        fields.insert("type".into(), "snapshot".into());
    }
    message
}

async fn send(socket: &mut WebSocket, message: Value) -> Result<(), axum::Error> {
    socket.send(Message::Text(message.to_string().into())).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MoveBody {
    queue: String,
}

/// `POST /api/calls/{id}/move {"queue"}`: a waiting caller to another queue.
pub async fn move_caller(
    State(engine): State<SharedEngine>,
    authed: Authed,
    Path(call): Path<String>,
    body: Body,
) -> ApiResult<Json<Value>> {
    authed.require(Action::ControlCalls)?;
    let MoveBody { queue } = parse_json(&body)?;
    if !engine.dialplan.queues.contains(&queue) {
        return Err(ApiError::bad_request(format!(
            "unknown queue {queue:?}; the queues are {}",
            engine.dialplan.queues.join(", ")
        )));
    }
    live_call(&engine, &call)?;
    act(&engine, SupervisorAction::MoveCaller { call, queue }).await
}

/// `POST /api/calls/{id}/front`: a waiting caller to the front of their queue.
pub async fn to_front(
    State(engine): State<SharedEngine>,
    authed: Authed,
    Path(call): Path<String>,
) -> ApiResult<Json<Value>> {
    authed.require(Action::ControlCalls)?;
    live_call(&engine, &call)?;
    act(&engine, SupervisorAction::ToFront { call }).await
}

/// `POST /api/calls/{id}/end`: hang up a live call.
pub async fn end_call(
    State(engine): State<SharedEngine>,
    authed: Authed,
    Path(call): Path<String>,
) -> ApiResult<Json<Value>> {
    authed.require(Action::ControlCalls)?;
    live_call(&engine, &call)?;
    act(&engine, SupervisorAction::EndCall { call }).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StateBody {
    state: String,
}

/// The agent state change a request names.
pub fn agent_change(state: &str) -> Result<AgentChange, String> {
    match state {
        "login" => Ok(AgentChange::Login),
        "logout" => Ok(AgentChange::Logout),
        "pause" => Ok(AgentChange::Pause),
        "resume" => Ok(AgentChange::Resume),
        other => Err(format!(
            "state {other:?}: use login, logout, pause or resume"
        )),
    }
}

/// `POST /api/agents/{id}/state {"state": "login"|"logout"|"pause"|"resume"}`.
pub async fn agent_state(
    State(engine): State<SharedEngine>,
    authed: Authed,
    Path(agent): Path<String>,
    body: Body,
) -> ApiResult<Json<Value>> {
    authed.require(Action::SetAgentState { agent: &agent })?;
    let StateBody { state } = parse_json(&body)?;
    let change = agent_change(&state).map_err(ApiError::bad_request)?;
    if !engine.live.snapshot().agents.iter().any(|a| a.id == agent) {
        return Err(ApiError::not_found(format!("no agent {agent:?}")));
    }
    act(&engine, SupervisorAction::AgentState { agent, change }).await
}

fn live_call(engine: &SharedEngine, call: &str) -> ApiResult<()> {
    match engine.live.call(call) {
        Some(_) => Ok(()),
        None => Err(ApiError::not_found("no live call with this id")),
    }
}

async fn act(engine: &SharedEngine, action: SupervisorAction) -> ApiResult<Json<Value>> {
    match engine.supervise(action).await {
        Ok(()) => Ok(Json(json!({ "ok": true }))),
        // The call or agent is not in a state for it (a caller no longer
        // waiting, say): the request was fine, the moment was not.
        Err(SuperviseError::Refused(why)) => Err(ApiError::new(StatusCode::CONFLICT, why)),
        Err(e @ SuperviseError::NotRunning) => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            e.to_string(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut map = HeaderMap::new();
        map.insert(header::HOST, HeaderValue::from_str(host).unwrap());
        if let Some(origin) = origin {
            map.insert(header::ORIGIN, HeaderValue::from_str(origin).unwrap());
        }
        map
    }

    #[test]
    fn only_this_servers_pages_open_the_stream() {
        assert!(same_origin(&headers(None, "127.0.0.1:8080")));
        assert!(same_origin(&headers(
            Some("http://127.0.0.1:8080"),
            "127.0.0.1:8080"
        )));
        assert!(same_origin(&headers(
            Some("http://LOCALHOST:8080"),
            "localhost:8080"
        )));
        assert!(!same_origin(&headers(
            Some("http://evil.example"),
            "127.0.0.1:8080"
        )));
        assert!(!same_origin(&headers(
            Some("http://127.0.0.1:9999"),
            "127.0.0.1:8080"
        )));
        assert!(!same_origin(&headers(Some("null"), "127.0.0.1:8080")));
    }

    #[test]
    fn agent_states_are_the_four_words() {
        assert_eq!(agent_change("pause"), Ok(AgentChange::Pause));
        assert_eq!(agent_change("login"), Ok(AgentChange::Login));
        let err = agent_change("Pause").unwrap_err();
        assert!(err.contains("login, logout, pause or resume"), "{err}");
    }

    #[test]
    fn the_snapshot_message_is_tagged() {
        let snapshot = Snapshot {
            now_unix_ms: 5,
            calls: vec![],
            queues: vec![],
            agents: vec![],
            totals: Default::default(),
        };
        let message = snapshot_message(&snapshot);
        assert_eq!(message["type"], "snapshot");
        assert_eq!(message["now_unix_ms"], 5);
    }
}
