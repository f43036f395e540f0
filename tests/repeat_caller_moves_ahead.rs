//! A caller whose number called within the repeat window (found in the
//! call store) is a repeat caller: the queue says so and moves them ahead.

mod common;
#[path = "common/people.rs"]
mod people;
#[path = "common/server.rs"]
mod server;

use std::time::Duration;

use ivr::brain::asr::Language;
use ivr::call_record::CallRecord;
use ivr::sip::AgentCredential;
use ivr::store::Store;
use people::{Caller, silence_wav, wait_until, waiting};
use server::TestServer;

#[test]
fn a_number_that_called_an_hour_ago_waits_as_a_repeat_caller() {
    let srv = TestServer::start_with_agents(
        "repeat-caller",
        Language::En,
        vec![AgentCredential {
            user: "alice".into(),
            password: "pw".into(),
        }],
    );
    // The in-process caller calls as "caller"; it called an hour ago.
    let hour_ago = ivr::runtime::clock::unix_ms() - 3_600_000;
    Store::open(&srv.database)
        .unwrap()
        .save_call(&CallRecord {
            id: "earlier-call".into(),
            caller: "caller".into(),
            started_unix_ms: hour_ago,
            ended_unix_ms: Some(hour_ago + 60_000),
            ..CallRecord::default()
        })
        .unwrap();

    let caller = Caller::dial(&srv, silence_wav(&srv.dir, 500), "0", 4000);
    let mut why = String::new();
    let told = wait_until(Duration::from_secs(30), || {
        why = waiting(&srv, "general")
            .first()
            .map(|w| w.why.clone())
            .unwrap_or_default();
        why.contains("called before")
    });
    assert!(told, "why the caller stands first: {why:?}");
    caller.finish(&srv);
    let calls = srv.wait_for_ended_calls(2, Duration::from_secs(10));
    let call = calls.iter().find(|c| c.id != "earlier-call").unwrap();
    let kinds: Vec<&str> = call.events.iter().map(|e| e.kind.as_str()).collect();
    assert!(kinds.contains(&"repeat_caller"), "{kinds:?}");
}
