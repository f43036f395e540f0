//! `POST /api/calls/{id}/listen`: a supervisor listens in to a live call in
//! the browser. The page posts its WebRTC offer (`{"type":"offer","sdp"}`)
//! and gets the answer (`{"type":"answer","sdp"}`); the call's audio then
//! flows as PCMU over WebRTC until the call ends or the page hangs up.

use std::net::IpAddr;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Json;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::auth::Action;
use crate::runtime::engine::SharedEngine;
use crate::runtime::http_auth::Authed;
use crate::runtime::http_json::{ApiError, ApiResult, Body, parse_json};
use crate::runtime::listen_in::{LISTEN_BACKLOG, ListenError, answer};
use crate::runtime::supervise::{SuperviseError, SupervisorAction};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Offer {
    #[serde(rename = "type")]
    kind: String,
    sdp: String,
}

pub async fn listen(
    State(engine): State<SharedEngine>,
    authed: Authed,
    Path(call): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<Value>> {
    authed.require(Action::ControlCalls)?;
    let offer: Offer = parse_json(&body)?;
    if offer.kind != "offer" || !offer.sdp.starts_with("v=0") {
        return Err(ApiError::bad_request(
            "expected {\"type\":\"offer\",\"sdp\":\"v=0...\"} from RTCPeerConnection.createOffer()",
        ));
    }
    if engine.live.call(&call).is_none() {
        return Err(ApiError::not_found(format!("no live call {call:?}")));
    }
    let (frames, heard) = mpsc::channel(LISTEN_BACKLOG);
    let sdp = answer(offer.sdp, media_ip(&headers), heard)
        .await
        .map_err(|e| match e {
            ListenError::BadOffer(_) => ApiError::bad_request(e.to_string()),
            ListenError::WebRtc(_) => ApiError::internal(e.to_string()),
        })?;
    engine
        .supervise(SupervisorAction::ListenIn { call, frames })
        .await
        .map_err(|e| match e {
            SuperviseError::Refused(why) => ApiError::new(StatusCode::CONFLICT, why),
            SuperviseError::NotRunning => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
            }
        })?;
    Ok(Json(json!({ "type": "answer", "sdp": sdp })))
}

/// Media goes where the page reached us: the Host header's address when it
/// is one (a loopback engine answers on loopback), else every interface.
fn media_ip(headers: &HeaderMap) -> IpAddr {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let ip = host
        .parse::<std::net::SocketAddr>()
        .map(|a| a.ip())
        .or_else(|_| host.trim_start_matches('[').trim_end_matches(']').parse());
    ip.unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
}
