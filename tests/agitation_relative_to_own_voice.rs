//! The voice is judged against the caller's own earlier speech: a naturally
//! loud, high, fast talker is not agitated for talking the way they always do,
//! while a quiet caller who raises their voice is.

use ivr::brain::agitation::{AgitationLevel, AgitationTracker};
use ivr::media::prosody::ProsodyFeatures;

fn voice(loudness_dbfs: f32, pitch_hz: f32, syllable_rate: f32) -> ProsodyFeatures {
    ProsodyFeatures {
        duration_s: 2.0,
        pitch_median_hz: Some(pitch_hz),
        pitch_range_st: 6.0,
        loudness_dbfs,
        syllable_rate,
        voiced_ratio: 0.5,
    }
}

#[test]
fn a_naturally_animated_caller_stays_below_high() {
    let theirs = voice(-11.0, 310.0, 6.6);
    let mut tracker = AgitationTracker::default();
    let lines = [
        "hi there, I'm ringing about my phone bill",
        "it's the one from March",
        "yes that's the account, thank you",
    ];
    for line in lines {
        let a = tracker.score(line, &theirs, None);
        assert!(a.level != AgitationLevel::High, "{line}: {a:?}");
    }
    let last = tracker.score("great, thanks a lot", &theirs, None);
    assert_eq!(last.level, AgitationLevel::Calm, "{last:?}");
}

#[test]
fn a_quiet_caller_raising_their_voice_is_noticed() {
    let mut tracker = AgitationTracker::default();
    let calm = tracker.score(
        "I'm calling about my mobile signal",
        &voice(-28.0, 120.0, 4.0),
        None,
    );
    let raised = tracker.score(
        "it still drops every evening",
        &voice(-19.0, 165.0, 5.6),
        None,
    );
    assert_eq!(calm.level, AgitationLevel::Calm, "{calm:?}");
    assert!(raised.level != AgitationLevel::Calm, "{raised:?}");
    assert!(raised.score > calm.score + 0.3, "{raised:?}");
    assert!(raised.reasons.iter().any(|r| r.starts_with("raised voice")));
    assert!(raised.reasons.iter().any(|r| r.starts_with("higher pitch")));
}

#[test]
fn gradual_escalation_is_measured_from_the_start() {
    let mut tracker = AgitationTracker::default();
    let steps = [
        voice(-27.0, 125.0, 4.0),
        voice(-24.0, 135.0, 4.5),
        voice(-21.0, 150.0, 5.0),
        voice(-18.0, 170.0, 5.6),
    ];
    let lines = [
        "my router keeps restarting",
        "every few minutes the lights go off",
        "I've unplugged it twice already",
        "and it happens in the middle of my work calls",
    ];
    let scores: Vec<f32> = lines
        .iter()
        .zip(&steps)
        .map(|(line, p)| tracker.score(line, p, None).score)
        .collect();
    for pair in scores.windows(2) {
        assert!(pair[1] >= pair[0], "{scores:?}");
    }
    assert!(scores[3] > 0.6, "{scores:?}");
}
