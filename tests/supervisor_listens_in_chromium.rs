//! A supervisor listens in to a live call from the board in headless
//! Chromium: the page offers WebRTC, the engine answers, and the call's
//! audio (PCMU) arrives in the browser while sipp's caller is on the line.
//! The stored call record notes that someone listened.
//! Screenshots: target/test-screenshots/supervisor_listens_in_chromium/.

#[path = "common/browser.rs"]
mod browser;
mod common;
#[path = "common/server.rs"]
mod server;
#[path = "common/sipp.rs"]
mod sipp;

use std::time::Duration;

use browser::{Browser, PAGE_WAIT};
use ivr::brain::asr::Language;
use serde_json::{Value, json};
use server::{TestServer, TestUser};
use sipp::run_sipp;

const CALL_WAIT: Duration = Duration::from_secs(40);

#[test]
fn supervisor_hears_a_live_call_over_webrtc() {
    let srv = TestServer::start_with_users(
        "listen-in",
        Language::En,
        Vec::new(),
        vec![TestUser::supervisor("sue", "sue-pw")],
    );
    let mut page = Browser::start("supervisor_listens_in_chromium");
    page.login(srv.http, "/", "sue", "sue-pw");
    page.wait_for("#no-calls", PAGE_WAIT);

    let fixture = common::repo().join("audio-fixtures/en_dispute_01.wav");
    let (sip, work) = (srv.sip_udp(), srv.dir.clone());
    let caller = std::thread::spawn(move || {
        run_sipp(
            "caller_streams_fixture",
            &[
                ("CALLER", "5550199".to_string()),
                ("AUDIO", fixture.display().to_string()),
                ("SPEAK_AFTER_MS", "1500".to_string()),
                ("LISTEN_MS", "25000".to_string()),
            ],
            sip,
            "u1",
            &work,
        )
    });

    let card = ".call[data-call-id]";
    page.wait_for_text(card, "5550199", CALL_WAIT);
    let call_id = page.attrs(card, "data-call-id").remove(0);
    let button = format!(".call[data-call-id=\"{call_id}\"] button.listen");
    page.wait_for_text(&button, "Listen", PAGE_WAIT);
    page.click(&button);

    // Packets of the call arrive in the browser's peer connection.
    let stats = page.wait_until("call audio in the browser", CALL_WAIT, |b| {
        b.eval(
            "window.ivrListenStats(arguments[0]).then(s => { window.__listen = s; }); \
             return window.__listen || null;",
            vec![json!(call_id)],
        )
        .as_object()
        .filter(|s| s["state"] == "connected" && s["packets"].as_u64().unwrap_or(0) >= 50)
        .map(|s| Value::Object(s.clone()))
    });
    assert_eq!(stats["state"], "connected");
    page.wait_for_text(&button, "Stop listening", PAGE_WAIT);
    page.screenshot("listening in");

    let run = caller.join().unwrap();
    assert!(run.success, "sipp failed:\n{}\n{}", run.output, run.errors);
    let records = srv.wait_for_ended_calls(1, CALL_WAIT);
    assert!(
        records[0].events.iter().any(|e| e.kind == "listen_in"),
        "events: {:?}",
        records[0].events
    );
}
