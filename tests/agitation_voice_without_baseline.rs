//! A caller's first utterance has no earlier speech to compare with, so the
//! voice is judged against phone-speech norms for the likely sex: loud, high
//! and fast together are strong evidence, any one of them alone is weak, and
//! an ordinary voice of either sex is no evidence at all.

use ivr::brain::agitation::{Agitation, AgitationLevel, AgitationTracker};
use ivr::media::prosody::ProsodyFeatures;

fn voice(loudness_dbfs: f32, pitch_hz: f32, syllable_rate: f32) -> ProsodyFeatures {
    ProsodyFeatures {
        duration_s: 3.5,
        pitch_median_hz: Some(pitch_hz),
        pitch_range_st: 6.0,
        loudness_dbfs,
        syllable_rate,
        voiced_ratio: 0.5,
    }
}

fn first_utterance(text: &str, prosody: &ProsodyFeatures) -> Agitation {
    AgitationTracker::default().score(text, prosody, None)
}

const NEUTRAL: &str = "I'm calling about the charges on my account";
const ANGRY: &str = "this service is a joke";

#[test]
fn ordinary_voices_of_either_sex_are_no_evidence() {
    for p in [voice(-25.0, 105.0, 4.4), voice(-24.0, 215.0, 4.6)] {
        let a = first_utterance(NEUTRAL, &p);
        assert_eq!(a.score, 0.0, "{p:?}: {a:?}");
    }
}

#[test]
fn one_raised_cue_alone_stays_calm() {
    for p in [
        voice(-13.0, 110.0, 4.4), // a loud line
        voice(-25.0, 110.0, 6.6), // a fast talker
        voice(-25.0, 280.0, 4.4), // a high female voice
    ] {
        let a = first_utterance(NEUTRAL, &p);
        assert_eq!(a.level, AgitationLevel::Calm, "{p:?}: {a:?}");
    }
}

#[test]
fn loud_fast_and_high_together_count_but_stay_below_high() {
    for p in [voice(-19.0, 150.0, 5.6), voice(-19.0, 290.0, 5.6)] {
        let single = first_utterance(NEUTRAL, &voice(-19.0, 110.0, 4.4));
        let together = first_utterance(NEUTRAL, &p);
        assert!(together.score > 2.0 * single.score, "{p:?}: {together:?}");
        assert_eq!(
            together.level,
            AgitationLevel::Elevated,
            "{p:?}: {together:?}"
        );
    }
}

#[test]
fn a_raised_male_voice_is_judged_on_male_norms() {
    // 150 Hz is ordinary for a woman, but several semitones up for a man.
    let male = first_utterance(NEUTRAL, &voice(-25.0, 150.0, 5.6));
    let female = first_utterance(NEUTRAL, &voice(-25.0, 215.0, 5.6));
    assert!(male.score > female.score, "{male:?} vs {female:?}");
    assert!(male.reasons.iter().any(|r| r.contains("male voice")));
}

#[test]
fn one_angry_phrase_in_a_raised_voice_reaches_high() {
    let calm = first_utterance(ANGRY, &voice(-25.0, 110.0, 4.4));
    assert!(calm.level != AgitationLevel::High, "{calm:?}");
    for p in [voice(-19.0, 150.0, 5.6), voice(-19.0, 290.0, 5.6)] {
        let a = first_utterance(ANGRY, &p);
        assert_eq!(a.level, AgitationLevel::High, "{p:?}: {a:?}");
    }
}
