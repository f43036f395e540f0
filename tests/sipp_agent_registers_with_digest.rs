//! sipp as an agent's phone registers with the running server: the first
//! REGISTER is challenged (401 Digest), sipp's `[authentication]` answer is
//! accepted (200 with the Contact and its expiry), and the phone later
//! unregisters the same way; with a wrong password the answer is challenged
//! again and the phone never gets registered.

mod common;
#[path = "common/server.rs"]
mod server;
#[path = "common/sipp.rs"]
mod sipp;

use ivr::brain::asr::Language;
use ivr::sip::AgentCredential;
use server::TestServer;
use sipp::run_sipp;

fn vars(password: &str) -> Vec<(&'static str, String)> {
    vec![
        ("USER", "1001".to_string()),
        ("PASSWORD", password.to_string()),
        ("EXPIRES", "300".to_string()),
        ("WAIT_MS", "200".to_string()),
    ]
}

#[test]
fn sipp_agent_registers_with_digest_auth_and_unregisters() {
    let srv = TestServer::start_with_agents(
        "sipp-agent-reg",
        Language::En,
        vec![AgentCredential {
            user: "1001".into(),
            password: "n0t-s3cret".into(),
        }],
    );
    let run = run_sipp(
        "agent_registers",
        &vars("n0t-s3cret"),
        srv.sip_udp(),
        "u1",
        &srv.dir,
    );
    assert!(run.success, "sipp failed:\n{}\n{}", run.output, run.errors);
    let statuses: Vec<String> = run
        .flow()
        .iter()
        .filter(|l| l.starts_with("SIP/2.0 "))
        .map(|l| l[8..11].to_string())
        .collect();
    assert_eq!(statuses, ["401", "200", "401", "200"], "{:?}", run.flow());
    // The 200 to the registration lists the phone's Contact with its expiry.
    assert!(run.messages.contains(";expires=300"), "{}", run.messages);
    assert!(run.messages.contains("Authorization: Digest"));

    let wrong = run_sipp(
        "agent_registers",
        &vars("guess"),
        srv.sip_udp(),
        "u1",
        &srv.dir,
    );
    assert!(!wrong.success, "a wrong password must not register");
    let statuses: Vec<String> = wrong
        .flow()
        .iter()
        .filter(|l| l.starts_with("SIP/2.0 "))
        .map(|l| l[8..11].to_string())
        .collect();
    // Challenged, answered, challenged again (sipp then gives up).
    assert!(
        statuses.len() >= 2 && statuses.iter().all(|s| s == "401"),
        "{:?}",
        wrong.flow()
    );
}
