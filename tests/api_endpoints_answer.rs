//! Every API endpoint answers a logged-in supervisor (and agent) with what
//! the README says, on a real server with a real caller: sipp calls with a
//! bill dispute and waits in the billing queue (no agent's phone is
//! registered). The event stream shows the call, the supervisor puts the
//! caller first, moves them to another queue and hangs up; then the stored
//! call is searched, read, its recordings played, a note written; an agent
//! changes their own state; the session ends.

#[path = "common/api.rs"]
mod api;
mod common;
#[path = "common/server.rs"]
mod server;
#[path = "common/sipp.rs"]
mod sipp;

use std::time::{Duration, UNIX_EPOCH};

use api::Api;
use ivr::brain::asr::Language;
use ivr::sip::AgentCredential;
use serde_json::{Value, json};
use server::{TestServer, TestUser};
use sipp::run_sipp;

const CALLER: &str = "5550123";

fn is_call(message: &Value, id: &str) -> bool {
    message["type"] == "call" && message["id"] == id
}

fn waiting_in(queue: &Value, id: &str) -> bool {
    queue["waiting"]
        .as_array()
        .is_some_and(|w| w.iter().any(|c| c["call"] == id))
}

fn utc_date(unix_ms: i64) -> String {
    let at = UNIX_EPOCH + Duration::from_millis(unix_ms as u64);
    humantime::format_rfc3339(at).to_string()[..10].to_string()
}

#[test]
fn every_api_endpoint_answers() {
    let srv = TestServer::start_with_users(
        "api-endpoints",
        Language::En,
        vec![AgentCredential {
            user: "alice".into(),
            password: "alice-sip".into(),
        }],
        vec![
            TestUser::supervisor("sue", "sue-pw"),
            TestUser::agent("al", "al-pw", "alice"),
        ],
    );

    // Log in: the token, who, and the cookie.
    let login = Api::anonymous(srv.http).post(
        "/api/login",
        &json!({ "user": "sue", "password": "sue-pw" }),
    );
    let body = login.ok_json();
    assert_eq!(body["user"], "sue");
    assert_eq!(body["role"], "supervisor");
    assert_eq!(body["agent"], Value::Null);
    let token = body["token"].as_str().unwrap();
    let cookie = login.headers["set-cookie"].to_str().unwrap();
    assert!(
        cookie.starts_with(&format!("ivr_session={token};")),
        "{cookie}"
    );
    let sue = Api::login(srv.http, "sue", "sue-pw");
    assert_eq!(
        sue.get("/api/me").ok_json(),
        json!({ "user": "sue", "role": "supervisor", "agent": null })
    );

    // The event stream starts with the whole board.
    let mut events = sue.events().expect("the event stream opens");
    let snapshot = events.wait_for(Duration::from_secs(10), "the snapshot", |m| {
        m["type"] == "snapshot"
    });
    assert!(
        snapshot["agents"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["id"] == "alice"),
        "{snapshot}"
    );
    assert!(snapshot["queues"].as_array().unwrap().len() >= 2);

    // A caller with a bill dispute; nobody is there to answer, so they wait.
    let fixture = common::repo().join("audio-fixtures/en_dispute_01.wav");
    let (sip, dir) = (srv.sip_udp(), srv.dir.clone());
    let caller = std::thread::spawn(move || {
        run_sipp(
            "caller_streams_fixture",
            &[
                ("CALLER", CALLER.to_string()),
                ("AUDIO", fixture.display().to_string()),
                ("SPEAK_AFTER_MS", "1500".to_string()),
                ("LISTEN_MS", "80000".to_string()),
            ],
            sip,
            "u1",
            &dir,
        )
    });
    let heard = events.wait_for(
        Duration::from_secs(60),
        "the caller's words on the board",
        |m| {
            m["type"] == "call"
                && m["caller"] == CALLER
                && m["transcript"]
                    .as_array()
                    .is_some_and(|t| t.iter().any(|l| l["who"] == "caller"))
        },
    );
    let id = heard["id"].as_str().unwrap().to_string();
    // The call's phase and the queue's order come as separate messages, in
    // either order.
    let (mut phase_waiting, mut in_billing) = (false, false);
    let until = std::time::Instant::now() + Duration::from_secs(60);
    while !(phase_waiting && in_billing) {
        let m = events
            .next(until)
            .expect("the caller waiting in billing within 60 s");
        phase_waiting |= is_call(&m, &id) && m["phase"] == "waiting";
        in_billing |= m["type"] == "queue" && m["name"] == "billing" && waiting_in(&m, &id);
    }

    // The board and the metrics show the waiting caller.
    let board = sue.get("/api/board").ok_json();
    let call = board["calls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id.as_str())
        .expect("the call is on the board");
    assert_eq!(call["intent"], "bill_dispute");
    let billing = board["queues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["name"] == "billing")
        .expect("the billing queue");
    assert!(waiting_in(billing, &id), "{billing}");
    let metrics = Api::anonymous(srv.http).get("/metrics");
    assert_eq!(metrics.status, 200);
    assert_eq!(metrics.content_type, "text/plain; version=0.0.4");
    assert!(
        metrics
            .text()
            .contains("ivr_calls_active{phase=\"waiting\"} 1"),
        "{}",
        metrics.text()
    );

    // The record of a live call is readable (it is stored when it starts).
    assert_eq!(
        sue.get(&format!("/api/calls/{id}")).ok_json()["id"],
        id.as_str()
    );

    // Supervisor actions: first in the queue, to another queue, hang up.
    let done = json!({ "ok": true });
    let front = sue.post_raw(&format!("/api/calls/{id}/front"), "");
    assert_eq!(front.ok_json(), done);
    let moved = sue.post(
        &format!("/api/calls/{id}/move"),
        &json!({ "queue": "general" }),
    );
    assert_eq!(moved.ok_json(), done);
    events.wait_for(Duration::from_secs(10), "the caller in general", |m| {
        m["type"] == "queue" && m["name"] == "general" && waiting_in(m, &id)
    });
    let ended = sue.post_raw(&format!("/api/calls/{id}/end"), "");
    assert_eq!(ended.ok_json(), done);
    events.wait_for(Duration::from_secs(20), "the call gone", |m| {
        m["type"] == "call_gone" && m["call"] == id.as_str()
    });
    let _ = caller.join();
    srv.wait_for_ended_calls(1, Duration::from_secs(20));

    // The stored call: found by number, intent, queue and day.
    let record = sue.get(&format!("/api/calls/{id}")).ok_json();
    assert!(record["ended_unix_ms"].is_i64(), "{record}");
    assert_eq!(record["dispositions"], json!([]));
    let intent = record["final_decision"]["intent"].as_str().unwrap();
    let queue = record["queue"].as_str().expect("the call was queued");
    let day = utc_date(record["started_unix_ms"].as_i64().unwrap());
    for query in [
        "number=50123".to_string(),
        format!("intent={intent}"),
        format!("queue={queue}"),
        format!("from={day}&to={day}"),
        format!("number={CALLER}&intent={intent}&queue={queue}&from={day}&limit=1"),
    ] {
        let found = sue.get(&format!("/api/calls?{query}")).ok_json();
        let ids: Vec<&str> = found
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, [id.as_str()], "{query}");
    }
    let none = sue.get("/api/calls?number=999999&from=2001-01-01&to=2001-01-02");
    assert_eq!(none.ok_json(), json!([]));

    // Its recordings, whole and in part (players seek with ranges).
    for side in ["caller", "engine"] {
        let wav = sue.get(&format!("/api/calls/{id}/recording/{side}"));
        assert_eq!(wav.status, 200, "{side}: {}", wav.text());
        assert!(
            wav.content_type.starts_with("audio/"),
            "{}",
            wav.content_type
        );
        assert!(
            wav.body.starts_with(b"RIFF") && wav.body.len() > 44,
            "{side}"
        );
    }
    let part = sue.send(
        sue.raw()
            .get(sue.url(&format!("/api/calls/{id}/recording/caller")))
            .bearer_auth(sue.token.as_ref().unwrap())
            .header("range", "bytes=0-3"),
    );
    assert_eq!(part.status, 206);
    assert_eq!(part.body, b"RIFF");

    // A note saved with the call.
    let note = sue.post(
        &format!("/api/calls/{id}/disposition"),
        &json!({ "note": "Caller hung up on; call back about the charge." }),
    );
    assert_eq!(note.status, 201, "{}", note.text());
    let notes = sue.get(&format!("/api/calls/{id}")).ok_json()["dispositions"].clone();
    assert_eq!(notes.as_array().unwrap().len(), 1, "{notes}");
    assert_eq!(notes[0]["user"], "sue");
    assert_eq!(
        notes[0]["note"],
        "Caller hung up on; call back about the charge."
    );

    // An agent logs their own agent in, pauses, resumes and logs out.
    let al = Api::login(srv.http, "al", "al-pw");
    assert_eq!(al.get("/api/me").ok_json()["agent"], "alice");
    for (change, state) in [
        ("login", "available"),
        ("pause", "away"),
        ("resume", "available"),
        ("logout", "logged_out"),
    ] {
        let reply = al.post("/api/agents/alice/state", &json!({ "state": change }));
        assert_eq!(reply.ok_json(), done, "{change}");
        events.wait_for(Duration::from_secs(10), state, |m| {
            m["type"] == "agent" && m["id"] == "alice" && m["state"] == state
        });
    }
    // Pausing a logged-out agent is a conflict, not a malformed request.
    let conflict = al.post("/api/agents/alice/state", &json!({ "state": "pause" }));
    assert_eq!(conflict.status, 409, "{}", conflict.text());
    assert!(!conflict.error().is_empty());
    let ghost = sue.post("/api/agents/nobody/state", &json!({ "state": "login" }));
    assert_eq!(ghost.status, 404, "{}", ghost.text());
    let gone = sue.post_raw(&format!("/api/calls/{id}/end"), "");
    assert_eq!(gone.status, 404, "{}", gone.text());

    // Log out: the session is over.
    events.close();
    assert_eq!(sue.post_raw("/api/logout", "").status, 204);
    assert_eq!(sue.get("/api/me").status, 401);
}
