//! The sans-IO session routes a call deterministically when driven on fake
//! time: real fixture audio through the VAD, and the recogniser replaced by
//! the fixture's reference transcripts. No Whisper, no clock, no threads.

mod common;

use std::sync::Arc;

use ivr::brain::asr::{Language, Transcript};
use ivr::brain::intent::Router;
use ivr::dialplan::load_dialplan;
use ivr::media::wav;
use ivr::session::{Decision, DecisionReason, Input, Output, RouteKind, Session, SessionConfig};

struct Call {
    session: Session,
    decisions: Vec<Decision>,
    asked: usize,
}

impl Call {
    fn new() -> Call {
        let dialplan = load_dialplan(&common::repo().join("dialplans/hotline.toml")).unwrap();
        let router = Arc::new(Router::new(&dialplan));
        let config = SessionConfig::new(Language::En);
        Call {
            session: Session::new(Arc::new(dialplan), router, config),
            decisions: Vec::new(),
            asked: 0,
        }
    }

    /// Plays a fixture in 20 ms frames; the n-th utterance the session asks
    /// to transcribe is answered with `said[n]`.
    fn play(&mut self, fixture: &str, said: &[&str]) {
        let audio = wav::read_wav(&common::repo().join("audio-fixtures").join(fixture)).unwrap();
        for (i, frame) in audio.samples.chunks(160).enumerate() {
            self.session
                .handle_input(i as u64 * 20, Input::Audio8k(frame));
            self.drain(said);
        }
        let end = audio.samples.len() as u64 / 8;
        self.session.handle_input(end, Input::EndOfAudio);
        self.drain(said);
    }

    fn drain(&mut self, said: &[&str]) {
        while let Some(out) = self.session.poll_output() {
            match out {
                Output::Transcribe(req) => {
                    let text = said.get(self.asked).copied().unwrap_or("").to_string();
                    self.asked += 1;
                    let t = Transcript::heard(req.utterance, text, 0.0);
                    self.session.handle_input(0, Input::Transcript(t));
                }
                Output::Decision(d) => self.decisions.push(d),
                Output::SpeechStarted { .. }
                | Output::Utterance(_)
                | Output::CancelTranscribe { .. }
                | Output::ConfirmTranscribe { .. } => {}
            }
        }
    }

    fn last(&self) -> &Decision {
        self.decisions.last().expect("a decision")
    }
}

#[test]
fn a_clear_request_is_answered_by_self_service() {
    let mut call = Call::new();
    call.play(
        "en_pay_01.wav",
        &["I'd like to pay my bill with a credit card, please."],
    );
    assert_eq!(call.asked, 1, "one utterance in the recording");
    assert_eq!(call.last().route.kind, RouteKind::SelfService);
    assert_eq!(call.last().intent.as_deref(), Some("pay_bill"));
}

#[test]
fn asking_for_an_agent_after_a_question_reaches_a_person_with_the_history() {
    let mut call = Call::new();
    call.play(
        "en_multi_then_agent.wav",
        &[
            "I have a question about charges for using my phone in Canada.",
            "Actually, can you just put me through to an agent?",
        ],
    );
    assert_eq!(call.asked, 2);
    let d = call.last();
    assert_eq!(d.route.kind, RouteKind::Queue);
    assert_eq!(d.reason, DecisionReason::AskedForPerson);
    assert_eq!(
        d.summary.utterances.len(),
        2,
        "the agent sees both utterances"
    );
}

#[test]
fn two_misunderstood_utterances_go_to_a_person_without_a_third_try() {
    let mut call = Call::new();
    call.play(
        "en_multi_then_agent.wav",
        &["blue giraffe sandwich", "purple elephant umbrella"],
    );
    let kinds: Vec<RouteKind> = call.decisions.iter().map(|d| d.route.kind).collect();
    assert_eq!(kinds, [RouteKind::Clarify, RouteKind::Queue]);
    assert_eq!(call.last().reason, DecisionReason::TooManyAttempts);
}

#[test]
fn pressing_zero_reaches_a_person_at_once() {
    let mut call = Call::new();
    call.session.handle_input(0, Input::Dtmf('0'));
    call.drain(&[]);
    assert_eq!(call.last().route.kind, RouteKind::Queue);
    assert_eq!(call.last().reason, DecisionReason::PressedZero);
}

#[test]
fn the_same_input_gives_the_same_decisions() {
    let said = [
        "Is this where I check on my pizza order?",
        "I want to pay my phone bill.",
    ];
    let mut a = Call::new();
    a.play("en_multi_oos_then_pay.wav", &said);
    let mut b = Call::new();
    b.play("en_multi_oos_then_pay.wav", &said);
    let json = |c: &Call| serde_json::to_string(&c.decisions).unwrap();
    assert_eq!(json(&a), json(&b));
    assert_eq!(a.last().intent.as_deref(), Some("pay_bill"));
}
