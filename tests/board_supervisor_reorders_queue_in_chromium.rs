//! A supervisor on the live board in headless Chromium changes a queue:
//! two sipp callers dispute a charge on their bill with no agent free and
//! wait in billing in order of arrival; "To front" on the second puts them
//! first, and "Move" sends the other to the tech queue, each change shown
//! on the page without a reload. Signed in as an agent, the same board has
//! no such buttons. Screenshots:
//! target/test-screenshots/board_supervisor_reorders_queue_in_chromium/.

#[path = "common/browser.rs"]
mod browser;
mod common;
#[path = "common/server.rs"]
mod server;
#[path = "common/sipp.rs"]
mod sipp;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::thread::JoinHandle;
use std::time::Duration;

use browser::{Browser, PAGE_WAIT};
use ivr::brain::asr::Language;
use ivr::sip::AgentCredential;
use server::{TestServer, TestUser};
use sipp::{SippRun, run_sipp};

/// Long enough for the greeting, the caller's words, recognition and the
/// transfer to the queue.
const CALL_WAIT: Duration = Duration::from_secs(45);

fn caller(number: &str, sip: SocketAddr, work: PathBuf) -> JoinHandle<SippRun> {
    let fixture = common::repo().join("audio-fixtures/en_dispute_01.wav");
    let vars = [
        ("CALLER", number.to_string()),
        ("AUDIO", fixture.display().to_string()),
        ("SPEAK_AFTER_MS", "1500".to_string()),
        ("LISTEN_MS", "50000".to_string()),
    ];
    std::thread::spawn(move || run_sipp("caller_streams_fixture", &vars, sip, "u1", &work))
}

/// The callers waiting in `queue` on the page, in order: (call id, position).
fn order(page: &Browser, queue: &str) -> Vec<(String, String)> {
    let row = format!("section.queue[data-queue={queue}] .waiting-caller");
    page.attrs(&row, "data-call-id")
        .into_iter()
        .zip(page.attrs(&row, "data-position"))
        .collect()
}

#[test]
fn supervisor_puts_a_caller_first_and_moves_another_queue() {
    let srv = TestServer::start_with_users(
        "board-reorder",
        Language::En,
        // An agent exists but no phone registers: nobody takes the calls.
        vec![AgentCredential {
            user: "alice".into(),
            password: "s3cret".into(),
        }],
        vec![
            TestUser::supervisor("sue", "sue-pw"),
            TestUser::agent("al", "al-pw", "alice"),
        ],
    );
    let mut page = Browser::start("board_supervisor_reorders_queue_in_chromium");
    page.login(srv.http, "/", "sue", "sue-pw");
    page.wait_for("#no-calls", PAGE_WAIT);

    for folder in ["first", "second"] {
        std::fs::create_dir_all(srv.dir.join(folder)).unwrap();
    }
    let first = caller("5551111", srv.sip_udp(), srv.dir.join("first"));
    std::thread::sleep(Duration::from_secs(3));
    let second = caller("5552222", srv.sip_udp(), srv.dir.join("second"));

    let ids = page.wait_until("both callers waiting in billing", CALL_WAIT, |b| {
        let order = order(b, "billing");
        (order.len() == 2).then_some(order)
    });
    let row = |id: &str| {
        format!("section.queue[data-queue=billing] .waiting-caller[data-call-id=\"{id}\"]")
    };
    let (a, b) = (ids[0].0.clone(), ids[1].0.clone());
    assert!(
        page.text(&row(&a)).unwrap().contains("5551111"),
        "first come, first in line"
    );
    assert!(page.text(&row(&b)).unwrap().contains("5552222"));
    page.screenshot("two callers in order of arrival");

    // To front: the second caller is now next.
    page.click(&format!("{} .to-front", row(&b)));
    page.wait_until("the second caller first", PAGE_WAIT, |p| {
        let order = order(p, "billing");
        (order.first().map(|(id, _)| id) == Some(&b)).then_some(())
    });
    assert_eq!(order(&page, "billing")[0].1, "1");
    let status = page.wait_for_text("#action-status", "next", PAGE_WAIT);
    assert!(status.contains("5552222"), "{status}");
    page.screenshot("second caller moved to the front");

    // Move: the other caller leaves billing for tech.
    page.select(&format!("{} select.move-to", row(&a)), "tech");
    page.click(&format!("{} .move", row(&a)));
    page.wait_until("the caller waiting in tech", PAGE_WAIT, |p| {
        order(p, "tech")
            .iter()
            .any(|(id, _)| *id == a)
            .then_some(())
    });
    page.wait_until("billing without that caller", PAGE_WAIT, |p| {
        let order = order(p, "billing");
        (order.len() == 1 && order[0].0 == b).then_some(())
    });
    page.screenshot("caller moved to tech");

    // An agent sees the same queues, with no buttons to change them.
    let mut agent_page = Browser::start("board_supervisor_reorders_queue_in_chromium-agent");
    agent_page.login(srv.http, "/", "al", "al-pw");
    agent_page.wait_for(&row(&b), PAGE_WAIT);
    assert!(
        agent_page
            .attrs(".waiting-caller button", "class")
            .is_empty()
    );
    agent_page.screenshot("agent's read-only board");

    drop(agent_page);
    drop(page);
    drop(srv);
    let _ = (first.join(), second.join());
}
