//! Malformed requests get a 400 (413 for a body over the size limit) with
//! a JSON message that says what is wrong: bad JSON, missing or unknown
//! fields, an unknown queue or agent state, bad dates and limits, an empty
//! or oversize note.

#[path = "common/api.rs"]
mod api;
mod common;
#[path = "common/server.rs"]
mod server;

use api::Api;
use ivr::brain::asr::Language;
use ivr::call_record::CallRecord;
use ivr::sip::AgentCredential;
use serde_json::json;
use server::{TestServer, TestUser};

#[test]
fn api_rejects_malformed_input_with_a_clear_message() {
    let srv = TestServer::start_with_users(
        "api-malformed",
        Language::En,
        vec![AgentCredential {
            user: "alice".into(),
            password: "alice-sip".into(),
        }],
        vec![TestUser::supervisor("sue", "sue-pw")],
    );
    srv.engine
        .save_call(&CallRecord {
            id: "stored".into(),
            caller: "+15550100".into(),
            ..CallRecord::default()
        })
        .unwrap();
    let sue = Api::login(srv.http, "sue", "sue-pw");
    let nobody = Api::anonymous(srv.http);

    // (client, path, raw body, what the message must say)
    let bodies: &[(&Api, &str, &str, &str)] = &[
        (&nobody, "/api/login", "", "needs a JSON body"),
        (
            &nobody,
            "/api/login",
            "{\"user\": \"sue\"",
            "invalid JSON body",
        ),
        (
            &nobody,
            "/api/login",
            "{\"user\": \"sue\"}",
            "missing field `password`",
        ),
        (
            &nobody,
            "/api/login",
            "{\"user\": \"sue\", \"password\": \"x\", \"admin\": true}",
            "unknown field `admin`",
        ),
        (
            &nobody,
            "/api/login",
            "[\"sue\", \"sue-pw\"]",
            "invalid JSON body",
        ),
        (
            &sue,
            "/api/calls/stored/disposition",
            "not json",
            "invalid JSON body",
        ),
        (
            &sue,
            "/api/calls/stored/disposition",
            "{\"note\": 7}",
            "invalid type",
        ),
        (
            &sue,
            "/api/calls/stored/disposition",
            "{\"note\": \"  \"}",
            "the note is empty",
        ),
        (
            &sue,
            "/api/calls/stored/move",
            "{\"queue\": \"nowhere\"}",
            "unknown queue \"nowhere\"",
        ),
        (
            &sue,
            "/api/calls/stored/move",
            "{}",
            "missing field `queue`",
        ),
        (
            &sue,
            "/api/agents/alice/state",
            "{\"state\": \"sleep\"}",
            "use login, logout, pause or resume",
        ),
        (
            &sue,
            "/api/agents/alice/state",
            "{\"status\": \"pause\"}",
            "unknown field `status`",
        ),
    ];
    for (api, path, body, says) in bodies {
        let reply = api.post_raw(path, *body);
        assert_eq!(reply.status, 400, "{path} {body:?}: {}", reply.text());
        assert!(reply.content_type.starts_with("application/json"), "{path}");
        let message = reply.error();
        assert!(message.contains(says), "{path} {body:?}: {message}");
    }
    let queues = sue
        .post("/api/calls/stored/move", &json!({ "queue": "nowhere" }))
        .error();
    assert!(queues.contains("billing"), "names the queues: {queues}");

    // Too long a note, and a body over the size limit.
    let long = sue.post(
        "/api/calls/stored/disposition",
        &json!({ "note": "x".repeat(4_001) }),
    );
    assert_eq!(long.status, 400);
    assert!(long.error().contains("at most 4000"), "{}", long.error());
    let huge = sue.post(
        "/api/calls/stored/disposition",
        &json!({ "note": "x".repeat(100_000) }),
    );
    assert_eq!(huge.status, 413, "{}", huge.text());
    assert_eq!(huge.headers["connection"], "close");
    assert!(huge.error().contains("larger than"), "{}", huge.error());

    // Searches: dates, limits and parameter names.
    let searches = [
        ("from=yesterday", "YYYY-MM-DD"),
        ("to=2023-02-29", "not a date of the calendar"),
        ("from=2024-13-01", "not a date of the calendar"),
        ("from=2024-03-02&to=2024-03-01", "`from` is after `to`"),
        ("limit=0", "from 1 to 500"),
        ("limit=many", "from 1 to 500"),
        ("caller=555", "unknown field `caller`"),
    ];
    for (query, says) in searches {
        let reply = sue.get(&format!("/api/calls?{query}"));
        assert_eq!(reply.status, 400, "{query}: {}", reply.text());
        assert!(reply.error().contains(says), "{query}: {}", reply.error());
    }
    assert_eq!(sue.get("/api/calls?from=2024-02-29&to=").status, 200);

    // A recording side that does not exist, the event stream without an
    // upgrade, a call or route that does not exist.
    let side = sue.get("/api/calls/stored/recording/agent");
    assert_eq!(side.status, 400);
    assert!(
        side.error().contains("use caller or engine"),
        "{}",
        side.error()
    );
    let plain = sue.get("/api/events");
    assert_eq!(plain.status, 400, "{}", plain.text());
    assert!(plain.error().contains("WebSocket"), "{}", plain.error());
    assert_eq!(sue.get("/api/calls/no-such-call").status, 404);
    assert_eq!(sue.get("/api/nothing-here").status, 404);
    assert!(!sue.get("/api/nothing-here").error().is_empty());
}
