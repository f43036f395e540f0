//! A supervisor signed in on the live board in headless Chromium watches a
//! real call: sipp dials the engine and plays a caller disputing a charge
//! on their bill, with no agent to take it. Without a reload, the board
//! shows the call with the caller's number, the transcript as recognised
//! and the intent, and the billing queue shows the caller waiting and why
//! they stand there; when the caller hangs up the call leaves the board.
//! Screenshots: target/test-screenshots/board_shows_live_call_in_chromium/.

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
use server::{TestServer, TestUser};
use sipp::run_sipp;

/// Long enough for the greeting, the caller's words, recognition and the
/// transfer to the queue.
const CALL_WAIT: Duration = Duration::from_secs(40);

#[test]
fn board_shows_the_caller_transcript_intent_and_queue_place_live() {
    let srv = TestServer::start_with_users(
        "board-live-call",
        Language::En,
        Vec::new(),
        vec![TestUser::supervisor("sue", "sue-pw")],
    );
    let mut page = Browser::start("board_shows_live_call_in_chromium");
    page.login(srv.http, "/", "sue", "sue-pw");
    page.wait_for("#no-calls", PAGE_WAIT);
    page.wait_for("section.queue[data-queue=billing]", PAGE_WAIT);
    assert_eq!(page.text("#conn").as_deref(), Some("Live"));
    page.screenshot("board before the call");

    let fixture = common::repo().join("audio-fixtures/en_dispute_01.wav");
    let (sip, work) = (srv.sip_udp(), srv.dir.clone());
    let caller = std::thread::spawn(move || {
        run_sipp(
            "caller_streams_fixture",
            &[
                ("CALLER", "5551234".to_string()),
                ("AUDIO", fixture.display().to_string()),
                ("SPEAK_AFTER_MS", "1500".to_string()),
                ("LISTEN_MS", "35000".to_string()),
            ],
            sip,
            "u1",
            &work,
        )
    });

    // The call appears while the engine still talks to the caller.
    let card = ".call[data-call-id]";
    page.wait_for_text(card, "5551234", CALL_WAIT);
    let call_id = page.attrs(card, "data-call-id").remove(0);
    let this_call = format!(".call[data-call-id=\"{call_id}\"]");

    // What the caller says shows up as it is recognised.
    let said = page.wait_until("the caller's words in the transcript", CALL_WAIT, |b| {
        b.texts(&format!("{this_call} .transcript .who-caller .text"))
            .into_iter()
            .find(|t| {
                let t = t.to_lowercase();
                t.contains("bill") || t.contains("charge")
            })
    });
    assert!(!said.is_empty());
    let intent = page.wait_for(&format!("{this_call} .intent-name"), CALL_WAIT);
    assert_eq!(intent, "bill dispute");
    let confidence = page.text(&format!("{this_call} .confidence")).unwrap();
    assert!(confidence.ends_with('%'), "confidence: {confidence}");
    // The agitation trend has a point per utterance scored.
    page.wait_until("the agitation trend", PAGE_WAIT, |b| {
        (!b.attrs(
            &format!("{this_call} svg.agitation-chart polyline"),
            "points",
        )
        .is_empty())
        .then_some(())
    });
    page.screenshot("call recognised");

    // Handed to billing: nobody is free, so the caller waits there, first.
    let waiting =
        format!("section.queue[data-queue=billing] .waiting-caller[data-call-id=\"{call_id}\"]");
    let row = page.wait_for_text(&waiting, "5551234", CALL_WAIT);
    assert!(row.contains("#1"), "queue row: {row}");
    let why = page.text(&format!("{waiting} .why")).unwrap_or_default();
    assert!(!why.trim().is_empty(), "no reason for the caller's place");
    let phase = page.attrs(&this_call, "data-phase").remove(0);
    assert!(
        phase == "waiting" || phase == "ringing",
        "the call's phase on the board: {phase}"
    );
    let summary = page.wait_for(&format!("{this_call} .summary"), PAGE_WAIT);
    assert!(
        summary.to_lowercase().contains("bill") || summary.to_lowercase().contains("charge"),
        "summary: {summary}"
    );
    let count = page
        .text("section.queue[data-queue=billing] h3 .count")
        .unwrap();
    assert_eq!(count, "1 waiting");
    page.screenshot("caller waiting in billing");

    // The caller hangs up: the call and the queue entry go.
    let run = caller.join().unwrap();
    assert!(run.success, "sipp failed:\n{}\n{}", run.output, run.errors);
    page.wait_for("#no-calls", CALL_WAIT);
    page.wait_until("the billing queue to empty", PAGE_WAIT, |b| {
        b.text(&waiting).is_none().then_some(())
    });
    page.screenshot("after hang-up");
}
