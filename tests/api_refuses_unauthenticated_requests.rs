//! The API answers nobody without a live session (401 on every `/api`
//! route but login, the event stream included), and an agent only reads and
//! acts for themselves (403 otherwise); logging out closes the session's
//! event stream. `/metrics` and the pages stay open.

#[path = "common/api.rs"]
mod api;
mod common;
#[path = "common/server.rs"]
mod server;

use std::time::Duration;

use api::Api;
use ivr::brain::asr::Language;
use ivr::call_record::{CallRecord, EventRecord};
use ivr::sip::AgentCredential;
use serde_json::{Value, json};
use server::{TestServer, TestUser};

/// Every API route with a body that would be accepted.
fn routes() -> Vec<(&'static str, &'static str, Option<Value>)> {
    vec![
        ("GET", "/api/me", None),
        ("POST", "/api/logout", None),
        ("GET", "/api/board", None),
        ("GET", "/api/events", None),
        ("GET", "/api/calls", None),
        ("GET", "/api/calls?number=555&from=2024-01-01", None),
        ("GET", "/api/calls/taken-by-alice", None),
        ("GET", "/api/calls/taken-by-alice/recording/caller", None),
        ("GET", "/api/calls/taken-by-alice/recording/engine", None),
        (
            "POST",
            "/api/calls/taken-by-alice/disposition",
            Some(json!({ "note": "refund promised" })),
        ),
        (
            "POST",
            "/api/calls/taken-by-alice/move",
            Some(json!({ "queue": "general" })),
        ),
        ("POST", "/api/calls/taken-by-alice/front", None),
        ("POST", "/api/calls/taken-by-alice/end", None),
        (
            "POST",
            "/api/calls/taken-by-alice/listen",
            Some(json!({ "type": "offer", "sdp": "v=0" })),
        ),
        (
            "POST",
            "/api/agents/alice/state",
            Some(json!({ "state": "pause" })),
        ),
    ]
}

fn send(api: &Api, method: &str, path: &str, body: &Option<Value>) -> api::Reply {
    match (method, body) {
        ("GET", _) => api.get(path),
        (_, Some(body)) => api.post(path, body),
        (_, None) => api.post_raw(path, ""),
    }
}

fn taken_by(id: &str, agent: &str) -> CallRecord {
    CallRecord {
        id: id.into(),
        caller: "+15550100".into(),
        started_unix_ms: 1_700_000_000_000,
        ended_unix_ms: Some(1_700_000_060_000),
        events: vec![EventRecord {
            at_ms: 5_000,
            kind: "agent_answered".into(),
            detail: agent.into(),
        }],
        ..CallRecord::default()
    }
}

#[test]
fn api_refuses_requests_without_a_session_or_the_role() {
    let sip = |user: &str| AgentCredential {
        user: user.into(),
        password: format!("{user}-sip"),
    };
    let srv = TestServer::start_with_users(
        "api-refuses",
        Language::En,
        vec![sip("alice"), sip("bob")],
        vec![
            TestUser::supervisor("sue", "sue-pw"),
            TestUser::agent("al", "al-pw", "alice"),
        ],
    );
    srv.engine
        .save_call(&taken_by("taken-by-alice", "alice"))
        .unwrap();
    srv.engine
        .save_call(&taken_by("taken-by-bob", "bob"))
        .unwrap();

    // No session, a made-up token, a cookie with a made-up token: 401 with
    // a JSON message, on every route.
    let nobody = Api::anonymous(srv.http);
    let mut forger = Api::anonymous(srv.http);
    forger.token = Some("00".repeat(32));
    for (method, path, body) in routes() {
        for api in [&nobody, &forger] {
            let reply = send(api, method, path, &body);
            assert_eq!(reply.status, 401, "{method} {path}: {}", reply.text());
            assert!(!reply.error().is_empty());
        }
        let cookie = nobody
            .raw()
            .get(nobody.url(path))
            .header("cookie", format!("ivr_session={}", "ab".repeat(32)));
        if method == "GET" {
            assert_eq!(nobody.send(cookie).status, 401, "{path} with a bad cookie");
        }
    }
    assert_eq!(nobody.events().err(), Some(401));
    assert_eq!(forger.events().err(), Some(401));

    // Wrong passwords and unknown users get the same 401.
    for (user, password) in [("sue", "al-pw"), ("sue", ""), ("mallory", "sue-pw")] {
        let reply = nobody.post("/api/login", &json!({ "user": user, "password": password }));
        assert_eq!(reply.status, 401, "{user}/{password}");
        assert_eq!(reply.error(), "wrong user name or password");
    }

    // The login cookie is what pages use: HttpOnly, SameSite=Strict.
    let login = nobody.post("/api/login", &json!({ "user": "al", "password": "al-pw" }));
    let cookie = login.headers["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let session = cookie.split(';').next().unwrap().to_string();
    let me = nobody.send(
        nobody
            .raw()
            .get(nobody.url("/api/me"))
            .header("cookie", &session),
    );
    assert_eq!(me.ok_json()["user"], "al");

    // An agent reads everything but acts only for their own agent and calls.
    let al = Api::login(srv.http, "al", "al-pw");
    for path in [
        "/api/me",
        "/api/board",
        "/api/calls",
        "/api/calls/taken-by-bob",
    ] {
        assert_eq!(al.get(path).status, 200, "{path}");
    }
    al.events()
        .expect("an agent reads the event stream")
        .close();
    let forbidden = [
        (
            "/api/calls/taken-by-alice/move",
            json!({ "queue": "general" }),
        ),
        ("/api/calls/taken-by-alice/front", json!({})),
        ("/api/calls/taken-by-alice/end", json!({})),
        (
            "/api/calls/taken-by-alice/listen",
            json!({ "type": "offer", "sdp": "v=0" }),
        ),
        ("/api/agents/bob/state", json!({ "state": "pause" })),
        (
            "/api/calls/taken-by-bob/disposition",
            json!({ "note": "not my call" }),
        ),
    ];
    for (path, body) in forbidden {
        let reply = al.post(path, &body);
        assert_eq!(reply.status, 403, "{path}: {}", reply.text());
        assert!(reply.error().contains("al"), "{}", reply.error());
    }
    // Their own agent and the call they took are theirs to act on.
    let own = al.post("/api/agents/alice/state", &json!({ "state": "login" }));
    assert_eq!(own.status, 200, "{}", own.text());
    let note = al.post(
        "/api/calls/taken-by-alice/disposition",
        &json!({ "note": "refund promised" }),
    );
    assert_eq!(note.status, 201, "{}", note.text());

    // The event stream is for this server's pages only.
    let sue = Api::login(srv.http, "sue", "sue-pw");
    assert_eq!(
        sue.events_with(&[("origin", "http://evil.example")]).err(),
        Some(403)
    );
    let sue_note = sue.post(
        "/api/calls/taken-by-bob/disposition",
        &json!({ "note": "supervisor's note" }),
    );
    assert_eq!(sue_note.status, 201, "{}", sue_note.text());

    // A closed session is refused from then on, and its open event stream
    // is closed.
    let mut stream = al.events().expect("the event stream opens");
    assert_eq!(al.post_raw("/api/logout", "").status, 204);
    assert_eq!(al.get("/api/me").status, 401);
    assert_eq!(stream.wait_closed(Duration::from_secs(30)), Some(1008));
    assert_eq!(sue.get("/api/me").status, 200);

    // Metrics and the pages need no login.
    let metrics = nobody.get("/metrics");
    assert_eq!(metrics.status, 200);
    assert!(
        metrics.text().contains("ivr_calls_total"),
        "{}",
        metrics.text()
    );
    assert_eq!(nobody.get("/").status, 200);
}
