//! Agents change their state with feature codes from their SIP phone: sipp,
//! as the registered phone, dials *3 (pause), *4 (resume), *2 (logout) and
//! *1 (login) and hears the result before the engine hangs up; and keys *3
//! as SIP INFO while talking to a caller, which pauses the agent once the
//! call (and its wrap-up) is over.

mod common;
#[path = "common/people.rs"]
mod people;
#[path = "common/server.rs"]
mod server;
#[path = "common/sipp.rs"]
mod sipp;

use std::time::Duration;

use ivr::brain::asr::Language;
use ivr::sip::AgentCredential;
use people::{Caller, agent, silence_wav, wait_registered, wait_until};
use server::TestServer;
use sipp::{SippPhone, run_sipp};

fn alice() -> Vec<AgentCredential> {
    vec![AgentCredential {
        user: "alice".into(),
        password: "s3cret".into(),
    }]
}

#[test]
fn codes_dialled_from_the_registered_phone_change_the_agents_state() {
    let srv = TestServer::start_with_agents("feature-dial", Language::En, alice());
    for (code, state, away) in [
        ("*3", "away", Some("paused")),
        ("*4", "available", None),
        ("*2", "logged_out", None),
        ("*1", "available", None),
    ] {
        let run = run_sipp(
            "agent_dials_feature_code",
            &[
                ("USER", "alice".to_string()),
                ("PASSWORD", "s3cret".to_string()),
                ("CODE", code.to_string()),
            ],
            srv.sip_udp(),
            "u1",
            &srv.dir,
        );
        assert!(
            run.success,
            "{code}: sipp failed:\n{}\n{}\n{}",
            run.output, run.errors, run.messages
        );
        let flow = run.flow().join(" | ");
        assert!(
            flow.contains("SIP/2.0 200") && flow.contains("BYE sip:"),
            "{code}: answered, then hung up by the engine: {flow}"
        );
        let now = agent(&srv, "alice").expect("alice is on the board");
        assert_eq!(now.state, state, "after {code}: {now:?}");
        assert_eq!(now.away.as_deref(), away, "after {code}");
    }
    let calls = srv.calls();
    assert!(
        calls.is_empty(),
        "feature codes are not calls to the hotline: {:?}",
        calls.iter().map(|c| &c.id).collect::<Vec<_>>()
    );
}

#[test]
fn a_code_keyed_during_a_call_pauses_the_agent_after_it() {
    let srv = TestServer::start_tuned("feature-keyed", Language::En, alice(), &|acd| {
        acd.wrap_up_ms = 1000;
    });
    let _phone = SippPhone::spawn(
        "agent_registers",
        "agent_answers_then_keys",
        &[
            ("USER", "alice".to_string()),
            ("PASSWORD", "s3cret".to_string()),
            ("EXPIRES", "300".to_string()),
            ("WAIT_MS", "60000".to_string()),
            ("KEY_AFTER_MS", "1000".to_string()),
            ("KEY1", "*".to_string()),
            ("KEY2", "3".to_string()),
            ("TALK_MS", "4000".to_string()),
        ],
        srv.sip_udp(),
        &[],
        &srv.dir,
    );
    assert!(wait_registered(&srv, "alice"), "alice's phone registered");
    let caller = Caller::dial(&srv, silence_wav(&srv.dir, 500), "0", 14_000);
    let on_call = wait_until(Duration::from_secs(40), || {
        agent(&srv, "alice").is_some_and(|a| a.state == "on_call")
    });
    assert!(on_call, "alice took the call: {:?}", agent(&srv, "alice"));
    let paused = wait_until(Duration::from_secs(30), || {
        agent(&srv, "alice").is_some_and(|a| a.state == "away")
    });
    let alice = agent(&srv, "alice").unwrap();
    assert!(paused, "alice after the call: {alice:?}");
    assert_eq!(alice.away.as_deref(), Some("paused"));
    assert_eq!(alice.calls_answered, 1);
    caller.finish(&srv);
}
