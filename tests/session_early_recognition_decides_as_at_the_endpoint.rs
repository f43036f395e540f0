//! Early recognition changes when a call is decided, never what: every
//! recorded fixture, replayed through the session with and without
//! speculative transcription at pauses, gets the same decisions, whether the
//! speculative transcripts come back at once or long after the endpoint.
//! The recogniser is a script keyed by the audio it is given, so an early
//! request is answered with the utterance's text only when it holds exactly
//! the utterance's audio, and with a misleading one otherwise (which must
//! never be used).

mod common;

use std::sync::Arc;

use ivr::brain::asr::{TranscribeRequest, Transcript};
use ivr::brain::intent::Router;
use ivr::dialplan::{Dialplan, load_dialplan};
use ivr::eval_fixtures::Fixture;
use ivr::media::wav;
use ivr::session::{
    Decision, DecisionReason, Input, Output, RouteKind, Session, SessionConfig, SpeculationStats,
};

/// What a misleading answer says: a confident request of its own.
const WRONG: &str = "Put me through to an agent right now.";

/// The part of a decision the caller and the agent see.
#[derive(Debug, PartialEq)]
struct Outcome {
    intent: Option<String>,
    kind: RouteKind,
    reason: DecisionReason,
    utterances: Vec<String>,
}

impl From<&Decision> for Outcome {
    fn from(d: &Decision) -> Outcome {
        Outcome {
            intent: d.intent.clone(),
            kind: d.route.kind,
            reason: d.reason,
            utterances: d.summary.utterances.clone(),
        }
    }
}

struct Call {
    session: Session,
    /// Answers not yet given, with the frame they are due at.
    due: Vec<(usize, Transcript)>,
    decisions: Vec<Outcome>,
    requests: Vec<TranscribeRequest>,
}

/// Plays `fixture` in 20 ms frames. Without `early`, the n-th request is
/// answered with the n-th reference sentence; with it, by matching audio
/// against `finals` (the requests of the run without), `delay` frames later.
fn play(
    dialplan: &Arc<Dialplan>,
    router: &Arc<Router>,
    fixture: &Fixture,
    early: bool,
    finals: &[TranscribeRequest],
    delay: usize,
) -> (Call, SpeculationStats) {
    let config = SessionConfig {
        early_recognition: early,
        ..SessionConfig::new(fixture.language)
    };
    let mut call = Call {
        session: Session::new(dialplan.clone(), router.clone(), config),
        due: Vec::new(),
        decisions: Vec::new(),
        requests: Vec::new(),
    };
    let answer = |req: &TranscribeRequest, asked: usize| -> String {
        if !early {
            return fixture.utterances.get(asked).cloned().unwrap_or_default();
        }
        match finals.iter().position(|f| f.pcm_16k == req.pcm_16k) {
            Some(n) => fixture.utterances.get(n).cloned().unwrap_or_default(),
            None => WRONG.to_string(),
        }
    };
    let audio = wav::read_wav(&fixture.wav).expect("fixture reads");
    let frames: Vec<&[i16]> = audio.samples.chunks(160).collect();
    // Some silence after the recording, for answers due late.
    let tail = vec![0i16; 160];
    let total = frames.len() + delay + 10;
    for i in 0..total {
        let frame = frames.get(i).copied().unwrap_or(&tail);
        call.session
            .handle_input(i as u64 * 20, Input::Audio8k(frame));
        let ready: Vec<Transcript> = {
            let (now, later): (Vec<_>, Vec<_>) = call.due.drain(..).partition(|(at, _)| *at <= i);
            call.due = later;
            now.into_iter().map(|(_, t)| t).collect()
        };
        for t in ready {
            call.session
                .handle_input(i as u64 * 20, Input::Transcript(t));
        }
        while let Some(out) = call.session.poll_output() {
            match out {
                Output::Transcribe(req) => {
                    let text = answer(&req, call.requests.len());
                    let t = Transcript::heard(req.utterance, text, 0.0);
                    call.due.push((i + delay, t));
                    call.requests.push(req);
                }
                Output::Decision(d) => call.decisions.push(Outcome::from(&d)),
                // As the engine does: a withdrawn guess never answers.
                Output::CancelTranscribe { utterance } => {
                    call.due.retain(|(_, t)| t.utterance != utterance)
                }
                Output::SpeechStarted { .. }
                | Output::Utterance(_)
                | Output::ConfirmTranscribe { .. } => {}
            }
        }
    }
    let stats = call.session.speculation_stats();
    (call, stats)
}

#[test]
fn early_recognition_decides_every_fixture_as_endpoint_recognition_does() {
    let dialplan = Arc::new(load_dialplan(&common::repo().join("dialplans/hotline.toml")).unwrap());
    let router = Arc::new(Router::new(&dialplan));
    let fixtures = common::fixtures();
    assert!(fixtures.len() >= 40, "the fixture set");
    let mut total = SpeculationStats::default();
    for f in &fixtures {
        let (reference, _) = play(&dialplan, &router, f, false, &[], 0);
        assert!(!reference.decisions.is_empty(), "{}: decided", f.id);
        for delay in [0, 40] {
            let (early, stats) = play(&dialplan, &router, f, true, &reference.requests, delay);
            assert_eq!(
                early.decisions, reference.decisions,
                "{} (answers {delay} frames late)",
                f.id
            );
            assert_eq!(stats.asked, stats.used + stats.wasted, "{}", f.id);
            // No utterance was asked about twice.
            let finals = early.requests.iter().filter(|r| !r.speculative).count();
            assert_eq!(
                finals + stats.used as usize,
                reference.requests.len(),
                "{}",
                f.id
            );
            total.asked += stats.asked;
            total.used += stats.used;
            total.wasted += stats.wasted;
        }
    }
    assert!(
        total.used > total.asked / 2,
        "most speculations are used: {total:?}"
    );
}
