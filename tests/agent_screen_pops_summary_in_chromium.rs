//! An agent signed in on the agent screen in headless Chromium sees the
//! caller the moment their phone rings: sipp, as the agent's phone,
//! REGISTERs with digest auth and rings a few seconds before answering;
//! another sipp dials the engine as a caller disputing a charge on their
//! bill. While the phone rings the page shows the handoff summary, the
//! caller's words and the agitation reading; after the call the agent
//! writes a disposition note, which is stored with the call record.
//! Screenshots: target/test-screenshots/agent_screen_pops_summary_in_chromium/.

#[path = "common/api.rs"]
mod api;
#[path = "common/browser.rs"]
mod browser;
mod common;
#[path = "common/server.rs"]
mod server;
#[path = "common/sipp.rs"]
mod sipp;

use std::time::{Duration, Instant};

use api::Api;
use browser::{Browser, PAGE_WAIT};
use ivr::brain::asr::Language;
use ivr::sip::AgentCredential;
use server::{TestServer, TestUser};
use sipp::{SippPhone, run_sipp};

/// Long enough for the greeting, the caller's words, recognition and the
/// transfer to the agent.
const CALL_WAIT: Duration = Duration::from_secs(45);

#[test]
fn agent_screen_shows_the_caller_when_the_phone_rings_and_saves_a_note() {
    let srv = TestServer::start_with_users(
        "agent-screen-pop",
        Language::En,
        vec![AgentCredential {
            user: "alice".into(),
            password: "s3cret".into(),
        }],
        vec![
            TestUser::agent("al", "al-pw", "alice"),
            TestUser::supervisor("sue", "sue-pw"),
        ],
    );
    let phone = SippPhone::spawn(
        "agent_registers",
        "agent_rings_then_answers",
        &[
            ("USER", "alice".to_string()),
            ("PASSWORD", "s3cret".to_string()),
            ("EXPIRES", "300".to_string()),
            ("WAIT_MS", "90000".to_string()),
            ("RING_MS", "6000".to_string()),
            ("TALK_MS", "6000".to_string()),
        ],
        srv.sip_udp(),
        &[],
        &srv.dir,
    );
    let until = Instant::now() + Duration::from_secs(20);
    while !phone.messages().contains("SIP/2.0 200 OK") && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        phone.messages().contains("SIP/2.0 200 OK"),
        "the agent's phone registered"
    );

    let mut page = Browser::start("agent_screen_pops_summary_in_chromium");
    page.login(srv.http, "/agent", "al", "al-pw");
    page.wait_until("agent alice available", PAGE_WAIT, |b| {
        (b.attrs("#agent-state", "data-state") == ["available"]).then_some(())
    });
    assert_eq!(
        page.text("#agent-registered").as_deref(),
        Some("registered")
    );
    page.wait_for("#idle-note", PAGE_WAIT);
    page.screenshot("agent waiting for a call");

    let fixture = common::repo().join("audio-fixtures/en_dispute_01.wav");
    let (sip, work) = (srv.sip_udp(), srv.dir.clone());
    let caller = std::thread::spawn(move || {
        run_sipp(
            "caller_streams_fixture",
            &[
                ("CALLER", "5557777".to_string()),
                ("AUDIO", fixture.display().to_string()),
                ("SPEAK_AFTER_MS", "1500".to_string()),
                ("LISTEN_MS", "40000".to_string()),
            ],
            sip,
            "u1",
            &work,
        )
    });

    // The phone rings: the screen pops with the caller's details before
    // the agent picks up.
    page.wait_until("the screen pop while the phone rings", CALL_WAIT, |b| {
        (b.attrs("#call-pop", "data-stage") == ["ringing"] && b.text("#call-pop").is_some())
            .then_some(())
    });
    let call_id = page.attrs("#call-pop", "data-call-id").remove(0);
    assert_eq!(page.text("#pop-caller").as_deref(), Some("5557777"));
    let summary = page.wait_until("the handoff summary", PAGE_WAIT, |b| {
        b.text("#pop-summary")
            .filter(|s| s.to_lowercase().contains("bill") || s.to_lowercase().contains("charge"))
    });
    assert!(!summary.is_empty());
    let said = page.texts("#pop-transcript .who-caller .text").join(" ");
    assert!(
        said.to_lowercase().contains("bill") || said.to_lowercase().contains("charge"),
        "transcript on the agent screen: {said}"
    );
    assert!(
        page.text("#pop-intent")
            .unwrap_or_default()
            .starts_with("bill dispute"),
        "intent on the agent screen"
    );
    // The agitation reasons (or that there are none) are spelled out.
    assert!(!page.texts("#pop-reasons li").is_empty());
    assert!(page.text("#pop-agitation-level").is_some());
    page.screenshot("phone ringing screen pop");

    page.wait_until("the call picked up", CALL_WAIT, |b| {
        (b.attrs("#call-pop", "data-stage") == ["on_call"]).then_some(())
    });
    page.screenshot("on the call");

    // The agent's phone hangs up: a note form for this call appears.
    let form = format!("form.disposition[data-call-id=\"{call_id}\"]");
    page.wait_for(&form, CALL_WAIT);
    let note = "Explained the premium services charge; refund of 12 dollars requested.";
    page.fill(&format!("{form} textarea"), note);
    page.click(&format!("{form} .disposition-save"));
    page.wait_for_text(&format!("{form} .disposition-status"), "saved", PAGE_WAIT);
    page.screenshot("disposition saved");

    // The note is stored with the call record, under the agent's login.
    let record = Api::login(srv.http, "sue", "sue-pw")
        .get(&format!("/api/calls/{call_id}"))
        .ok_json();
    let notes = record["dispositions"].as_array().expect("dispositions");
    assert_eq!(notes.len(), 1, "{record}");
    assert_eq!(notes[0]["note"], note);
    assert_eq!(notes[0]["user"], "al");
    assert_eq!(record["answered_by"], "alice");
    assert_eq!(record["queue"], "billing");

    drop(phone);
    let _ = caller.join();
}
