//! A supervisor finds a finished call on the history page in headless
//! Chromium: sipp calls the engine asking to pay a bill and hangs up; a
//! search by the caller's number lists the call (a search for another
//! number does not), and opening it shows what the caller said, the
//! decision trail with its intent, and players for both recordings that
//! load the audio. Screenshots:
//! target/test-screenshots/history_page_finds_and_plays_call_in_chromium/.

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
use serde_json::json;
use server::{TestServer, TestUser};
use sipp::run_sipp;

#[test]
fn history_search_opens_a_call_with_transcript_trail_and_recordings() {
    let srv = TestServer::start_with_users(
        "history-page",
        Language::En,
        Vec::new(),
        vec![TestUser::supervisor("sue", "sue-pw")],
    );
    let fixture = common::repo().join("audio-fixtures/en_pay_01.wav");
    let run = run_sipp(
        "caller_streams_fixture",
        &[
            ("CALLER", "5554321".to_string()),
            ("AUDIO", fixture.display().to_string()),
            ("SPEAK_AFTER_MS", "1500".to_string()),
            ("LISTEN_MS", "7000".to_string()),
        ],
        srv.sip_udp(),
        "u1",
        &srv.dir,
    );
    assert!(run.success, "sipp failed:\n{}\n{}", run.output, run.errors);
    let calls = srv.wait_for_ended_calls(1, Duration::from_secs(15));
    let id = calls.first().expect("the call is stored").id.clone();

    let mut page = Browser::start("history_page_finds_and_plays_call_in_chromium");
    page.login(srv.http, "/history", "sue", "sue-pw");
    page.wait_for_text("#search-status", "found", PAGE_WAIT);

    // Another number: nothing.
    page.fill("#search-number", "5550000");
    page.click("#search-submit");
    page.wait_for_text("#search-status", "0 calls found", PAGE_WAIT);
    assert!(page.attrs("#results .result", "data-call-id").is_empty());

    // The caller's number: their call.
    page.fill("#search-number", "5554321");
    page.click("#search-submit");
    page.wait_for_text("#search-status", "1 call found", PAGE_WAIT);
    let row = format!("#results .result[data-call-id=\"{id}\"]");
    let listed = page.wait_for(&row, PAGE_WAIT);
    assert!(listed.contains("5554321"), "{listed}");
    assert!(listed.contains("pay bill"), "{listed}");
    page.screenshot("search by number");

    page.click(&format!("{row} .open"));
    page.wait_for_text("#detail-title", "5554321", PAGE_WAIT);
    let said = page.wait_for("#detail-turns", PAGE_WAIT).to_lowercase();
    assert!(said.contains("bill"), "what the caller said: {said}");
    let trail = page.wait_for("#detail-decisions", PAGE_WAIT);
    assert!(trail.contains("pay bill"), "decision trail: {trail}");
    assert!(
        page.wait_for("#detail-events", PAGE_WAIT)
            .contains("prompt started")
    );

    // Both players load their recording.
    for side in ["caller", "engine"] {
        let player = format!("#recording-{side}");
        page.wait_for(&player, PAGE_WAIT);
        page.eval(
            "const a = document.querySelector(arguments[0]); a.preload = 'auto'; a.load();",
            vec![json!(player)],
        );
        let seconds = page.wait_until(&format!("the {side} recording to load"), PAGE_WAIT, |b| {
            b.eval(
                "const a = document.querySelector(arguments[0]);
                 return a.readyState >= 1 && a.duration > 0 ? a.duration : null;",
                vec![json!(player)],
            )
            .as_f64()
        });
        assert!(seconds > 1.0, "the {side} recording lasts {seconds} s");
    }
    page.screenshot("call opened");
}
