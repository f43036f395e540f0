//! A caller asking about a charge on their bill reaches an agent: sipp, as
//! the agent's phone, REGISTERs with digest auth and answers; the engine
//! INVITEs it with the handoff (intent, agitation, summary, Call-Info URL
//! whose JSON holds the transcript), and bridges the audio both ways: the
//! agent's phone echoes what it receives, so the caller hears their own
//! words come back once connected. The Call-Info URL answers a logged-in
//! client; without a session it is refused like the rest of the API.

#[path = "common/api.rs"]
mod api;
mod common;
#[path = "common/phone.rs"]
mod phone;
#[path = "common/server.rs"]
mod server;
#[path = "common/sipp.rs"]
mod sipp;

use std::time::{Duration, Instant};

use ivr::brain::asr::Language;
use ivr::media::wav;
use ivr::runtime::dialer::{DialOptions, dial};
use ivr::runtime::listen::transcribe_heard;
use ivr::sip::AgentCredential;
use server::{TestServer, TestUser};
use sipp::SippPhone;

#[test]
fn billing_caller_is_bridged_to_a_registered_agent_with_the_summary() {
    let srv = TestServer::start_with_users(
        "agent-bridge",
        Language::En,
        vec![AgentCredential {
            user: "alice".into(),
            password: "s3cret".into(),
        }],
        vec![TestUser::agent("al", "al-pw", "alice")],
    );
    let agent = SippPhone::spawn(
        "agent_registers",
        "agent_answers",
        &[
            ("USER", "alice".to_string()),
            ("PASSWORD", "s3cret".to_string()),
            ("EXPIRES", "300".to_string()),
            ("WAIT_MS", "60000".to_string()),
            ("TALK_MS", "30000".to_string()),
        ],
        srv.sip_udp(),
        &["-rtp_echo"],
        &srv.dir,
    );
    let until = Instant::now() + Duration::from_secs(20);
    while !agent.messages().contains("SIP/2.0 200 OK") && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        agent.messages().contains("SIP/2.0 200 OK"),
        "agent registered"
    );

    // The caller: the fixture, a pause while the call is put through, then
    // words for the agent.
    let scratch = phone::Scratch::new("agent-bridge");
    let later = phone::phone_wav(
        &scratch,
        "later",
        "en-us",
        &[],
        "Hello, is anybody there? I need help with my bill.",
    );
    let fixture = common::repo().join("audio-fixtures/en_dispute_01.wav");
    let mut samples = wav::read_wav(&fixture).unwrap().samples;
    samples.extend(std::iter::repeat_n(0i16, 8000 * 9));
    samples.extend(wav::read_wav(&later).unwrap().samples);
    let caller_wav = scratch.path("caller.wav");
    wav::write_wav_pcm16(&caller_wav, 8000, &samples).unwrap();

    let port = srv.sip_udp().port();
    let report = srv
        .runtime
        .block_on(dial(&DialOptions {
            target: format!("sip:hotline@127.0.0.1:{port}"),
            play: caller_wav,
            local_ip: "127.0.0.1".parse().unwrap(),
            wait_for_prompt_ms: 800,
            listen_ms: 4000,
            answer_timeout_ms: 10_000,
            dtmf: String::new(),
        }))
        .expect("the caller's call is answered");

    // The agent's INVITE carries the handoff.
    let log = agent.messages();
    let invite = log
        .split("INVITE sip:")
        .nth(1)
        .unwrap_or_else(|| panic!("the agent's phone got no INVITE:\n{log}"));
    let header = |name: &str| {
        invite
            .lines()
            .find(|l| {
                l.trim_start()
                    .to_lowercase()
                    .starts_with(&format!("{}:", name.to_lowercase()))
            })
            .map(|l| l.split_once(':').unwrap().1.trim().to_string())
            .unwrap_or_else(|| panic!("no {name} header in the agent's INVITE:\n{invite}"))
    };
    assert_eq!(header("X-IVR-Intent"), "bill_dispute");
    assert!(header("X-IVR-Agitation").contains("level="));
    let summary = header("X-IVR-Summary");
    assert!(
        summary.to_lowercase().contains("bill"),
        "summary: {summary}"
    );
    let info = header("Call-Info");
    let url = info
        .trim_start_matches('<')
        .split('>')
        .next()
        .unwrap()
        .to_string();
    assert!(info.ends_with("purpose=info"), "{info}");

    // The Call-Info URL gives the full record with the transcript.
    let path = url
        .strip_prefix(&srv.url(""))
        .unwrap_or_else(|| panic!("Call-Info {url} is not the HTTP API's"));
    assert_eq!(api::Api::anonymous(srv.http).get(path).status, 401);
    let record = api::Api::login(srv.http, "al", "al-pw").get(path).ok_json();
    let said = record["turns"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_lowercase();
    assert!(
        said.contains("bill") || said.contains("charge"),
        "turns: {}",
        record["turns"]
    );

    // Both directions: the caller heard their later words echoed by the agent's phone.
    let heard = transcribe_heard(
        &common::brain(Language::En).pool,
        &report.heard,
        Language::En,
    )
    .unwrap();
    let text: Vec<String> = heard.iter().map(|l| l.text.to_lowercase()).collect();
    assert!(
        text.iter()
            .any(|t| t.contains("hello") || t.contains("anybody") || t.contains("need help")),
        "the caller heard: {text:?}"
    );

    let calls = srv.wait_for_ended_calls(1, Duration::from_secs(15));
    let call = calls.first().expect("call record");
    let kinds: Vec<&str> = call.events.iter().map(|e| e.kind.as_str()).collect();
    assert!(
        kinds.contains(&"agent_ringing") && kinds.contains(&"agent_answered"),
        "{kinds:?}"
    );
    assert_eq!(call.queue.as_deref(), Some("billing"));
}
