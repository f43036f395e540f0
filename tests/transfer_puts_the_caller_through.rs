//! Callers are put through to outside numbers on a new leg the engine
//! bridges, so the caller never redials and the recording goes on: a queue
//! the dialplan transfers to a SIP URI, and an agent who passes the caller
//! on with a blind REFER from their phone. sipp plays the agent's phone and
//! the outside number.

mod common;
#[path = "common/people.rs"]
mod people;
#[path = "common/server.rs"]
mod server;
#[path = "common/sipp.rs"]
mod sipp;

use std::time::Duration;

use ivr::brain::asr::Language;
use ivr::call_record::CallRecord;
use ivr::sip::AgentCredential;
use people::{Caller, silence_wav, wait_registered};
use server::TestServer;
use sipp::{SippPhone, listening_port};

fn alice() -> Vec<AgentCredential> {
    vec![AgentCredential {
        user: "alice".into(),
        password: "s3cret".into(),
    }]
}

/// The outside number: answers, talks `talk_ms`, hangs up.
fn outside(srv: &TestServer, port: u16, talk_ms: u64) -> SippPhone {
    SippPhone::listen(
        "agent_answers",
        &[("TALK_MS", talk_ms.to_string())],
        port,
        &["-rtp_echo"],
        &srv.dir,
    )
}

fn events(call: &CallRecord) -> Vec<(String, String)> {
    call.events
        .iter()
        .map(|e| (e.kind.clone(), e.detail.clone()))
        .collect()
}

#[test]
fn a_queue_that_transfers_puts_its_callers_through_to_the_number() {
    let port = listening_port();
    let target = format!("sip:sales@127.0.0.1:{port}");
    let srv = TestServer::start_tuned("transfer-queue", Language::En, alice(), &|acd| {
        for q in &mut acd.queues {
            if q.name == "general" {
                q.transfer = Some(target.clone());
            }
        }
    });
    let number = outside(&srv, port, 3000);
    let report = Caller::dial(&srv, silence_wav(&srv.dir, 500), "0", 15_000).finish(&srv);
    assert!(
        report.remote_hung_up,
        "the far end hung up, then the engine"
    );
    let log = number.messages();
    let invite = log
        .split("INVITE sip:sales@")
        .nth(1)
        .unwrap_or_else(|| panic!("the number got no INVITE:\n{log}"));
    assert!(invite.contains("X-IVR-Summary:"), "{invite}");
    let calls = srv.wait_for_ended_calls(1, Duration::from_secs(15));
    let trail = events(&calls[0]);
    assert!(
        trail
            .iter()
            .any(|(k, d)| k == "agent_answered" && d.starts_with("sip:sales@")),
        "{trail:?}"
    );
    assert!(
        trail.iter().any(|(k, _)| k == "agent_hung_up"),
        "the far end ended it: {trail:?}"
    );
    assert_eq!(calls[0].end_reason.as_deref(), Some("agent_hung_up"));
    assert!(calls[0].recording_caller.is_some());
}

#[test]
fn an_agent_passes_the_caller_on_with_refer() {
    let port = listening_port();
    let srv = TestServer::start_with_agents("transfer-refer", Language::En, alice());
    let agent = SippPhone::spawn(
        "agent_registers",
        "agent_answers_then_refers",
        &[
            ("USER", "alice".to_string()),
            ("PASSWORD", "s3cret".to_string()),
            ("EXPIRES", "300".to_string()),
            ("WAIT_MS", "60000".to_string()),
            ("REFER_AFTER_MS", "1500".to_string()),
            ("REFER_TO", format!("sip:tier2@127.0.0.1:{port}")),
        ],
        srv.sip_udp(),
        &["-rtp_echo"],
        &srv.dir,
    );
    let number = outside(&srv, port, 3000);
    assert!(wait_registered(&srv, "alice"), "alice's phone registered");
    let report = Caller::dial(&srv, silence_wav(&srv.dir, 500), "0", 20_000).finish(&srv);
    assert!(report.answered);
    let log = agent.messages();
    assert!(log.contains("SIP/2.0 202"), "REFER accepted:\n{log}");
    assert!(log.contains("NOTIFY sip:"), "progress notified:\n{log}");
    assert!(
        number.messages().contains("INVITE sip:tier2@"),
        "the transfer target is called:\n{}",
        number.messages()
    );
    let calls = srv.wait_for_ended_calls(1, Duration::from_secs(15));
    let trail = events(&calls[0]);
    let answered: Vec<&str> = trail
        .iter()
        .filter(|(k, _)| k == "agent_answered")
        .map(|(_, d)| d.as_str())
        .collect();
    assert_eq!(answered.len(), 2, "{trail:?}");
    assert_eq!(answered[0], "alice");
    assert!(answered[1].starts_with("sip:tier2@"), "{answered:?}");
    // Once the caller is through, the engine ends the agent's part.
    assert!(log.contains("BYE sip:"), "the agent's leg ended:\n{log}");
    assert_eq!(calls[0].end_reason.as_deref(), Some("agent_hung_up"));
}
