//! Impatience, blame and commands that will not wait are agitation even when
//! no single angry word is said; the same topics asked for politely, or
//! mentioned in passing, are not.

use ivr::brain::agitation::{Agitation, AgitationLevel, AgitationTracker};
use ivr::media::prosody::ProsodyFeatures;

fn voice(loudness_dbfs: f32, pitch_hz: f32, syllable_rate: f32) -> ProsodyFeatures {
    ProsodyFeatures {
        duration_s: 3.0,
        pitch_median_hz: Some(pitch_hz),
        pitch_range_st: 5.0,
        loudness_dbfs,
        syllable_rate,
        voiced_ratio: 0.5,
    }
}

fn calm_voice() -> ProsodyFeatures {
    voice(-25.0, 205.0, 4.4)
}

fn first_utterance(text: &str, prosody: &ProsodyFeatures) -> Agitation {
    AgitationTracker::default().score(text, prosody, None)
}

fn has_reason(a: &Agitation, head: &str) -> bool {
    a.reasons.iter().any(|r| r.starts_with(head))
}

#[test]
fn each_new_cue_registers_on_its_own() {
    let cases = [
        ("how many times do I have to explain this", "impatient"),
        (
            "this is the third time I've rung about the router",
            "impatient",
        ),
        ("I have been on hold for forty minutes", "impatient"),
        ("nobody ever helps me with this line", "impatient"),
        ("you people never fix anything", "blaming"),
        ("unblock my card right now", "demands it right now"),
        (
            "switch it back, switch it back to the old tariff",
            "repeated the demand",
        ),
        ("说了多少遍了，网还是断", "impatient"),
        ("你们这些人到底管不管", "blaming"),
        ("给我马上退钱", "demands it right now"),
    ];
    for (text, head) in cases {
        let a = first_utterance(text, &calm_voice());
        assert!(has_reason(&a, head), "{text}: {a:?}");
        assert!(a.score > 0.2, "{text}: {a:?}");
    }
}

#[test]
fn several_cues_together_reach_the_escalation_threshold() {
    let a = first_utterance(
        "how many times do I have to ask, you people never listen, reconnect my line right now",
        &calm_voice(),
    );
    assert_eq!(a.level, AgitationLevel::High, "{a:?}");
}

#[test]
fn polite_or_passing_mentions_stay_calm() {
    for text in [
        "I'd like to make a complaint about my bill",
        "could you please unblock my card right now",
        "what is my balance right now",
        "I'd like to close my account, can I close it online?",
        "I have been with your company for ten years",
        "no problem, I'm not angry, I just want to understand the fee",
        "我想投诉一下上次的维修",
        "请帮我马上转人工，谢谢",
    ] {
        let a = first_utterance(text, &calm_voice());
        assert_eq!(a.level, AgitationLevel::Calm, "{text}: {a:?}");
    }
}

#[test]
fn supporting_words_count_once_the_voice_is_raised() {
    let text = "I want to dispute this charge on your company's bill right now";
    let calm = first_utterance(text, &calm_voice());
    let raised = first_utterance(text, &voice(-18.0, 290.0, 5.8));
    assert!(calm.reasons.is_empty(), "{calm:?}");
    assert!(
        has_reason(&raised, "complaining in a raised voice"),
        "{raised:?}"
    );
}
