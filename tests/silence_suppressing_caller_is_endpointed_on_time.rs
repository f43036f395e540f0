//! A phone that suppresses silence sends nothing while its caller listens to
//! the greeting, then starts sending when the caller talks, with whatever
//! noise surrounds them. Time without audio is not a silent line: taken for
//! one, the caller's background babble counted as speech and held the end of
//! the request open for up to half a second. The session must close each
//! utterance where it closes it when the same audio is streamed whole, and
//! must still hear a caller whose phone starts sending mid-word.
//!
//! Sans-IO session on fake time, fixture audio, no recogniser (the requests
//! are answered at once); only the endpoints are compared.

mod common;

use std::sync::Arc;

use ivr::brain::asr::{Language, Transcript};
use ivr::brain::intent::Router;
use ivr::dialplan::load_dialplan;
use ivr::media::vad::VadConfig;
use ivr::media::wav;
use ivr::session::{Input, Output, Session, SessionConfig};

const FRAME: usize = 160;
const FRAME_MS: u64 = 20;
/// The greeting the caller listens to in silence.
const GREETING_MS: u64 = 4_000;
/// How far an end may move between the two ways of hearing the same audio.
const TOLERANCE_MS: u64 = 60;

/// Babble, white, pink and no noise; English and Mandarin.
const FIXTURES: &[&str] = &[
    "en_balance_02",
    "en_cancel_03",
    "en_oos_pizza",
    "en_plan_02",
    "en_oos_airport",
    "en_store_02",
    "en_data_01",
    "en_refund_03",
    "zh_plan_01",
];

enum Tick<'a> {
    Audio(&'a [i16]),
    Nothing,
}

/// Utterances (start, end) in ms of the caller's audio, for what the phone
/// sends tick by tick.
fn endpoints(ticks: &[Tick]) -> Vec<(u64, u64)> {
    let dialplan = load_dialplan(&common::repo().join("dialplans/hotline.toml")).unwrap();
    let router = Arc::new(Router::new(&dialplan));
    let mut session = Session::new(Arc::new(dialplan), router, SessionConfig::new(Language::En));
    let mut found = Vec::new();
    let mut drain = |session: &mut Session| {
        while let Some(out) = session.poll_output() {
            match out {
                Output::Transcribe(req) if !req.speculative => {
                    let t = Transcript::heard(req.utterance, "hello", 0.0);
                    session.handle_input(0, Input::Transcript(t));
                }
                Output::Utterance(u) => found.push((u.start_ms, u.end_ms)),
                _ => {}
            }
        }
    };
    for (i, tick) in ticks.iter().enumerate() {
        let input = match tick {
            Tick::Audio(pcm) => Input::Audio8k(pcm),
            Tick::Nothing => Input::NoAudio8k(FRAME),
        };
        session.handle_input(i as u64 * FRAME_MS, input);
        drain(&mut session);
    }
    session.handle_input(ticks.len() as u64 * FRAME_MS, Input::EndOfAudio);
    drain(&mut session);
    found
}

fn fixture(id: &str) -> Vec<i16> {
    let path = common::repo().join(format!("audio-fixtures/{id}.wav"));
    wav::read_wav(&path).unwrap().samples
}

/// Endpoints of `pcm` sent from its first sample, as a phone that never
/// stops sending would.
fn streamed_whole(pcm: &[i16]) -> Vec<(u64, u64)> {
    let ticks: Vec<Tick> = pcm.chunks_exact(FRAME).map(Tick::Audio).collect();
    endpoints(&ticks)
}

/// The phone's ticks: nothing through the greeting, then `pcm`, then
/// nothing for a few seconds.
fn after_greeting(pcm: &[i16]) -> Vec<Tick<'_>> {
    let quiet = (GREETING_MS / FRAME_MS) as usize;
    let mut ticks: Vec<Tick> = (0..quiet).map(|_| Tick::Nothing).collect();
    ticks.extend(pcm.chunks_exact(FRAME).map(Tick::Audio));
    ticks.extend((0..quiet).map(|_| Tick::Nothing));
    ticks
}

fn shifted(found: &[(u64, u64)], by_ms: u64) -> Vec<(u64, u64)> {
    found
        .iter()
        .map(|&(s, e)| (s.saturating_sub(by_ms), e.saturating_sub(by_ms)))
        .collect()
}

#[test]
fn noise_that_comes_with_the_voice_does_not_hold_the_end_open() {
    let mut failures = Vec::new();
    for id in FIXTURES {
        let pcm = fixture(id);
        let reference = streamed_whole(&pcm);
        let got = shifted(&endpoints(&after_greeting(&pcm)), GREETING_MS);
        let ends_match = reference.len() == got.len()
            && reference
                .iter()
                .zip(&got)
                .all(|(r, g)| r.1.abs_diff(g.1) <= TOLERANCE_MS);
        println!("{id}: streamed whole {reference:?}, after a silent greeting {got:?}");
        if !ends_match {
            failures.push(format!(
                "{id}: {reference:?} streamed whole, {got:?} after a silent greeting"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_phone_that_starts_sending_mid_word_is_still_heard() {
    let mut failures = Vec::new();
    for id in FIXTURES {
        let pcm = fixture(id);
        let reference = streamed_whole(&pcm);
        // The phone's own detector clipped the first 40 ms of the first word.
        let cut_ms = reference[0].0 + 40;
        let cut = &pcm[(cut_ms * 8) as usize..];
        let got = shifted(&endpoints(&after_greeting(cut)), GREETING_MS);
        let got: Vec<(u64, u64)> = got.iter().map(|&(s, e)| (s + cut_ms, e + cut_ms)).collect();
        println!("{id}: streamed whole {reference:?}, sent from {cut_ms} ms {got:?}");
        // Every utterance is heard, and the turn ends no later than when
        // streamed whole. It may end a little earlier, inside the audio kept
        // after each end: the first moments are judged before the line's
        // noise is known.
        let early_ms = u64::from(VadConfig::default().tail_ms) + TOLERANCE_MS;
        let all_heard = reference
            .iter()
            .all(|r| got.iter().any(|g| g.0 < r.1 && r.0 < g.1));
        let turn_end = reference.last().unwrap().1;
        let ends_in_time = got
            .last()
            .is_some_and(|g| g.1 <= turn_end + TOLERANCE_MS && g.1 + early_ms >= turn_end);
        if !all_heard || !ends_in_time {
            failures.push(format!(
                "{id}: {reference:?} streamed whole, sent from {cut_ms} ms {got:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
