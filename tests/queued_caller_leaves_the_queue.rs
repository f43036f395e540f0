//! A queued caller who is no longer waiting leaves the queue: one who hangs
//! up while waiting, and one re-routed to self-service while waiting (asks
//! for their balance after asking about a charge). The agent's phone never
//! registers, so nobody answers and only leaving empties the queue.

mod common;
#[path = "common/people.rs"]
mod people;
#[path = "common/phone.rs"]
mod phone;
#[path = "common/server.rs"]
mod server;

use std::time::Duration;

use ivr::board::CallPhase;
use ivr::brain::asr::Language;
use ivr::media::wav;
use ivr::sip::AgentCredential;
use people::{Caller, silence_wav, wait_until, waiting};
use server::TestServer;

fn alice() -> Vec<AgentCredential> {
    vec![AgentCredential {
        user: "alice".into(),
        password: "pw".into(),
    }]
}

#[test]
fn a_caller_who_hangs_up_while_waiting_leaves_the_queue() {
    let srv = TestServer::start_with_agents("leave-hangup", Language::En, alice());
    let caller = Caller::dial(&srv, silence_wav(&srv.dir, 500), "0", 6000);
    let mut id = None;
    let queued = wait_until(Duration::from_secs(30), || {
        id = waiting(&srv, "general").first().map(|w| w.call.clone());
        id.is_some()
    });
    assert!(queued, "the caller who pressed 0 waits in general");
    caller.finish(&srv);
    let left = wait_until(Duration::from_secs(10), || {
        waiting(&srv, "general").is_empty()
    });
    assert!(
        left,
        "queue after the hang-up: {:?}",
        waiting(&srv, "general")
    );
    let queue = srv
        .engine
        .live
        .snapshot()
        .queues
        .into_iter()
        .find(|q| q.name == "general")
        .unwrap();
    assert_eq!(queue.abandoned_today, 1);
    let calls = srv.wait_for_ended_calls(1, Duration::from_secs(10));
    assert_eq!(Some(&calls[0].id), id.as_ref());
    assert_eq!(calls[0].end_reason.as_deref(), Some("caller_hung_up"));
}

#[test]
fn a_caller_re_routed_to_self_service_leaves_the_queue() {
    let srv = TestServer::start_with_agents("leave-reroute", Language::En, alice());
    let fixture = |name: &str| {
        let path = common::repo().join(format!("audio-fixtures/{name}.wav"));
        wav::read_wav(&path).unwrap().samples
    };
    // A charge on the bill (billing queue), the transfer line and some
    // hold, then "what's my balance" (self-service).
    let mut samples = fixture("en_dispute_01");
    samples.extend(std::iter::repeat_n(0i16, 8000 * 9));
    let scratch = phone::Scratch::new("leave-reroute");
    let balance = phone::phone_wav(&scratch, "balance", "en-us", &[], "What is my balance?");
    samples.extend(wav::read_wav(&balance).unwrap().samples);
    let play = srv.dir.join("caller.wav");
    wav::write_wav_pcm16(&play, 8000, &samples).unwrap();
    let caller = Caller::dial(&srv, play, "", 9000);

    let mut id = None;
    let queued = wait_until(Duration::from_secs(40), || {
        id = waiting(&srv, "billing").first().map(|w| w.call.clone());
        id.is_some()
    });
    assert!(queued, "the caller waits in billing first");
    let id = id.unwrap();
    let mut phase = None;
    let left = wait_until(Duration::from_secs(40), || {
        phase = srv.engine.live.call(&id).map(|c| c.phase);
        waiting(&srv, "billing").is_empty()
    });
    assert!(
        left,
        "billing after the re-route: {:?}",
        waiting(&srv, "billing")
    );
    caller.finish(&srv);
    let trail = || {
        let calls = srv.wait_for_ended_calls(1, Duration::from_secs(10));
        let turns: Vec<_> = calls[0]
            .turns
            .iter()
            .map(|t| (&t.text, &t.intent))
            .collect();
        let events: Vec<_> = calls[0]
            .events
            .iter()
            .map(|e| format!("{}@{} {}", e.kind, e.at_ms, e.detail))
            .collect();
        format!("{turns:?}\n{events:?}")
    };
    assert_eq!(
        phase,
        Some(CallPhase::InMenu),
        "still on the line, talking to the engine: {}",
        trail()
    );
    let calls = srv.wait_for_ended_calls(1, Duration::from_secs(10));
    let kinds: Vec<&str> = calls[0].events.iter().map(|e| e.kind.as_str()).collect();
    assert!(kinds.contains(&"left_queue"), "{kinds:?}");
    let last = calls[0].final_decision.as_ref().expect("decisions");
    assert_eq!(last.route, "self_service");
}
