//! Stored calls over HTTP: search the history, read one record with its
//! notes, play its recordings, write a disposition note.

use std::path::{Component, Path as FsPath};

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use serde::Deserialize;
use serde_json::Value;
use tower_http::services::ServeFile;

use crate::auth::Action;
use crate::board::CallPhase;
use crate::call_record::CallRecord;
use crate::runtime::clock::unix_ms;
use crate::runtime::engine::SharedEngine;
use crate::runtime::http_auth::Authed;
use crate::runtime::http_json::{ApiError, ApiQuery, ApiResult, Body, parse_json};
use crate::store::{CallFilter, Disposition, StoreError};

/// Calls a search returns when it names no `limit`.
pub const DEFAULT_LIMIT: u32 = 50;
/// Most calls one search returns.
pub const MAX_LIMIT: u32 = 500;
/// Longest disposition note, in characters.
pub const MAX_NOTE_CHARS: usize = 4_000;

/// `GET /api/calls` query; empty values (a blank form field) do not filter.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Search {
    /// Part of the caller's number or SIP user.
    pub number: Option<String>,
    pub intent: Option<String>,
    pub queue: Option<String>,
    /// `YYYY-MM-DD` (UTC) or Unix ms: calls started from then on.
    pub from: Option<String>,
    /// `YYYY-MM-DD` (UTC, the whole day) or Unix ms: calls started until
    /// then, included.
    pub to: Option<String>,
    pub limit: Option<String>,
}

/// The store filter a search asks for, or what is wrong with it.
pub fn filter_of(search: &Search) -> Result<CallFilter, String> {
    let given = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let since = given(&search.from)
        .map(|v| time_bound("from", &v, false))
        .transpose()?;
    let until = given(&search.to)
        .map(|v| time_bound("to", &v, true))
        .transpose()?;
    if let (Some(since), Some(until)) = (since, until)
        && since >= until
    {
        return Err("`from` is after `to`".into());
    }
    let limit = match given(&search.limit) {
        None => DEFAULT_LIMIT,
        Some(v) => v
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| format!("limit {v:?}: give a whole number from 1 to {MAX_LIMIT}"))?,
    };
    Ok(CallFilter {
        caller_contains: given(&search.number),
        intent: given(&search.intent),
        queue: given(&search.queue),
        since_unix_ms: since,
        until_unix_ms: until,
        limit: Some(limit),
        ..CallFilter::default()
    })
}

/// A search bound in Unix ms; an `end` bound covers the whole day (or the
/// given ms) by pointing just past it.
fn time_bound(name: &str, value: &str, end: bool) -> Result<i64, String> {
    let bad = || {
        format!("{name} {value:?}: give a date as YYYY-MM-DD (UTC) or a time in Unix milliseconds")
    };
    if value.bytes().all(|b| b.is_ascii_digit()) {
        let ms: i64 = value.parse().map_err(|_| bad())?;
        return Ok(if end { ms.saturating_add(1) } else { ms });
    }
    let shaped = value.len() == 10
        && value.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    if !shaped {
        return Err(bad());
    }
    let midnight = humantime::parse_rfc3339(&format!("{value}T00:00:00Z"))
        .map_err(|_| format!("{name} {value:?} is not a date of the calendar"))?;
    let ms = midnight
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| bad())?
        .as_millis() as i64;
    const DAY_MS: i64 = 24 * 60 * 60 * 1000;
    Ok(if end { ms + DAY_MS } else { ms })
}

/// `GET /api/calls`: stored calls matching the query, newest first.
pub async fn search(
    State(engine): State<SharedEngine>,
    authed: Authed,
    ApiQuery(search): ApiQuery<Search>,
) -> ApiResult<Json<Vec<CallRecord>>> {
    authed.require(Action::ReadCalls)?;
    let filter = filter_of(&search).map_err(ApiError::bad_request)?;
    let calls = blocking(move || {
        let store = engine.store.lock().unwrap_or_else(|p| p.into_inner());
        store.list_calls(&filter)
    })
    .await?;
    Ok(Json(calls))
}

/// `GET /api/calls/{id}`: the stored record with `answered_by` (the agent
/// who took the call) and its `dispositions`, oldest first.
pub async fn detail(
    State(engine): State<SharedEngine>,
    authed: Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    authed.require(Action::ReadCalls)?;
    let (record, notes) = blocking(move || {
        let store = engine.store.lock().unwrap_or_else(|p| p.into_inner());
        let Some(record) = store.get_call(&id)? else {
            return Ok(None);
        };
        Ok(Some((record, store.dispositions(&id)?)))
    })
    .await?
    .ok_or_else(no_such_call)?;
    let answered_by = answered_by(&record).map(str::to_owned);
    let mut json = serde_json::to_value(&record).map_err(|e| ApiError::internal(e.to_string()))?;
    if let Value::Object(fields) = &mut json {
        fields.insert("answered_by".into(), answered_by.into());
        fields.insert(
            "dispositions".into(),
            serde_json::to_value(notes).map_err(|e| ApiError::internal(e.to_string()))?,
        );
    }
    Ok(Json(json))
}

/// `GET /api/calls/{id}/recording/{caller|engine}`: the WAV file (range
/// requests work, so a page's player can seek).
pub async fn recording(
    State(engine): State<SharedEngine>,
    authed: Authed,
    Path((id, side)): Path<(String, String)>,
    request: Request,
) -> ApiResult<Response> {
    authed.require(Action::ReadCalls)?;
    if side != "caller" && side != "engine" {
        return Err(ApiError::bad_request(format!(
            "recording side {side:?}: use caller or engine"
        )));
    }
    let Some(folder) = engine.calls.recordings.clone() else {
        return Err(ApiError::not_found("this engine records no calls"));
    };
    let record = read_call(&engine, id.clone())
        .await?
        .ok_or_else(no_such_call)?;
    let file = match side.as_str() {
        "caller" => record.recording_caller,
        _ => record.recording_engine,
    };
    // The record names a file in the folder; anything else is not served.
    let file = file
        .filter(|f| {
            let mut parts = FsPath::new(f).components();
            matches!(
                (parts.next(), parts.next()),
                (Some(Component::Normal(_)), None)
            )
        })
        .ok_or_else(|| ApiError::not_found(format!("call {id} has no {side} recording")))?;
    let path = folder.join(file);
    if !tokio::fs::metadata(&path).await.is_ok_and(|m| m.is_file()) {
        return Err(ApiError::not_found(format!(
            "the {side} recording of call {id} is missing from the recordings folder"
        )));
    }
    let response = ServeFile::new(&path)
        .try_call(request)
        .await
        .map_err(|e| ApiError::internal(format!("cannot read the recording: {e}")))?;
    Ok(response.map(axum::body::Body::new))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoteBody {
    note: String,
}

/// `POST /api/calls/{id}/disposition {"note"}`: saved with the call;
/// answers 201 with the saved note.
pub async fn disposition(
    State(engine): State<SharedEngine>,
    authed: Authed,
    Path(id): Path<String>,
    body: Body,
) -> ApiResult<Response> {
    let record = read_call(&engine, id.clone())
        .await?
        .ok_or_else(no_such_call)?;
    // A call still with its agent has no answer in its stored trail yet.
    let live_agent = engine
        .live
        .call(&id)
        .filter(|c| c.phase == CallPhase::WithAgent)
        .and_then(|c| c.agent);
    authed.require(Action::WriteDisposition {
        answered_by: live_agent.as_deref().or(answered_by(&record)),
    })?;
    let NoteBody { note } = parse_json(&body)?;
    let note = note.trim().to_owned();
    if note.is_empty() {
        return Err(ApiError::bad_request("the note is empty"));
    }
    let chars = note.chars().count();
    if chars > MAX_NOTE_CHARS {
        return Err(ApiError::bad_request(format!(
            "the note has {chars} characters; at most {MAX_NOTE_CHARS}"
        )));
    }
    let saved = Disposition {
        call_id: id,
        user: authed.who.user.clone(),
        agent: authed.who.agent.clone(),
        note,
        at_unix_ms: unix_ms(),
    };
    let saving = saved.clone();
    blocking(move || {
        let mut store = engine.store.lock().unwrap_or_else(|p| p.into_inner());
        store.save_disposition(&saving)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(saved)).into_response())
}

/// The agent who answered the call, from its decision trail.
pub fn answered_by(record: &CallRecord) -> Option<&str> {
    record
        .events
        .iter()
        .rev()
        .find(|e| e.kind == "agent_answered")
        .map(|e| e.detail.as_str())
}

fn no_such_call() -> ApiError {
    ApiError::not_found("no call with this id")
}

async fn read_call(engine: &SharedEngine, id: String) -> ApiResult<Option<CallRecord>> {
    let engine = engine.clone();
    blocking(move || engine.get_call(&id)).await
}

/// Runs a store query off the async threads (SQLite blocks on disk).
async fn blocking<T: Send + 'static>(
    query: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> ApiResult<T> {
    tokio::task::spawn_blocking(query)
        .await
        .map_err(|_| ApiError::internal("the call store query failed"))?
        .map_err(|e| ApiError::internal(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call_record::EventRecord;

    fn search(pairs: &[(&str, &str)]) -> Result<CallFilter, String> {
        let mut s = Search::default();
        for (key, value) in pairs {
            let value = Some(value.to_string());
            match *key {
                "number" => s.number = value,
                "intent" => s.intent = value,
                "queue" => s.queue = value,
                "from" => s.from = value,
                "to" => s.to = value,
                "limit" => s.limit = value,
                _ => unreachable!(),
            }
        }
        filter_of(&s)
    }

    #[test]
    fn dates_cover_whole_utc_days() {
        let filter = search(&[("from", "2024-03-01"), ("to", "2024-03-01")]).unwrap();
        assert_eq!(filter.since_unix_ms, Some(1_709_251_200_000));
        assert_eq!(filter.until_unix_ms, Some(1_709_251_200_000 + 86_400_000));
        let leap = search(&[("from", "2024-02-29")]).unwrap();
        assert_eq!(leap.since_unix_ms, Some(1_709_164_800_000));
    }

    #[test]
    fn unix_ms_bounds_include_both_ends() {
        let filter = search(&[("from", "1000"), ("to", "2000")]).unwrap();
        assert_eq!(filter.since_unix_ms, Some(1000));
        assert_eq!(filter.until_unix_ms, Some(2001));
    }

    #[test]
    fn blank_fields_do_not_filter_and_the_limit_has_a_default() {
        let filter = search(&[("number", " "), ("intent", ""), ("to", "")]).unwrap();
        assert_eq!(
            filter,
            CallFilter {
                limit: Some(DEFAULT_LIMIT),
                ..CallFilter::default()
            }
        );
        let filter = search(&[
            ("number", "555"),
            ("intent", "pay_bill"),
            ("queue", "billing"),
        ])
        .unwrap();
        assert_eq!(filter.caller_contains.as_deref(), Some("555"));
        assert_eq!(filter.intent.as_deref(), Some("pay_bill"));
        assert_eq!(filter.queue.as_deref(), Some("billing"));
    }

    #[test]
    fn bad_searches_say_what_is_wrong() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("from", "yesterday")], "YYYY-MM-DD"),
            (&[("from", "2024-3-1")], "YYYY-MM-DD"),
            (&[("to", "2023-02-29")], "not a date"),
            (&[("to", "2024-13-01")], "not a date"),
            (&[("from", "99999999999999999999999")], "Unix milliseconds"),
            (&[("from", "2024-03-02"), ("to", "2024-03-01")], "after"),
            (&[("limit", "0")], "1 to 500"),
            (&[("limit", "501")], "1 to 500"),
            (&[("limit", "ten")], "1 to 500"),
        ];
        for (pairs, says) in cases {
            let err = search(pairs).unwrap_err();
            assert!(err.contains(says), "{pairs:?}: {err}");
        }
    }

    #[test]
    fn the_last_agent_who_answered_took_the_call() {
        let event = |kind: &str, detail: &str| EventRecord {
            at_ms: 0,
            kind: kind.into(),
            detail: detail.into(),
        };
        let mut record = CallRecord::default();
        assert_eq!(answered_by(&record), None);
        record.events = vec![
            event("agent_ringing", "bob, rung 10 ms after the queue decision"),
            event("agent_answered", "alice"),
            event("agent_hung_up", "alice"),
        ];
        assert_eq!(answered_by(&record), Some("alice"));
    }
}
